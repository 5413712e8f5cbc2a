// Parameters for `az deployment group create --template-file infra/azure.bicep --parameters infra/azure.bicepparam`
// (without the Agents Toolkit). Values come from the environment, e.g. after `set -a; . env/.env.prod; set +a`;
// nothing secret is written here. The @secure() parameters (ldapPassword, secretKey, cloudAppClientSecret) are
// left out on purpose: set the Key Vault secrets as infra/README.md shows.
using './azure.bicep'

param resourceBaseName = readEnvironmentVariable('RESOURCE_BASE_NAME', 'mailroom-prod')
param environmentName = readEnvironmentVariable('MAILROOM_ENV', 'prod')
param botDisplayName = 'Mailroom${readEnvironmentVariable('APP_NAME_SUFFIX', '')}'
param ldapUrl = readEnvironmentVariable('LDAP_URL')
param ldapBaseDn = readEnvironmentVariable('LDAP_BASE_DN')
param ldapBindDn = readEnvironmentVariable('LDAP_BIND_DN')
param ldapCaFile = readEnvironmentVariable('LDAP_CA_FILE', '')
param roleAdmins = readEnvironmentVariable('ROLE_ADMINS')
param cloudCredential = readEnvironmentVariable('CLOUD_CREDENTIAL', 'managedIdentity')
param cloudAppClientId = readEnvironmentVariable('CLOUD_APP_CLIENT_ID', '')
param secretsOfficerPrincipalId = readEnvironmentVariable('SECRETS_OFFICER_PRINCIPAL_ID', '')
param postgresAdminGroupObjectId = readEnvironmentVariable('POSTGRES_ADMIN_GROUP_OBJECT_ID', '')
param postgresAdminGroupName = readEnvironmentVariable('POSTGRES_ADMIN_GROUP_NAME', '')
param appServicePlanSku = 'B1'
param vnetAddressPrefix = '10.60.0.0/24'
param appSubnetPrefix = '10.60.0.0/26'
param postgresSubnetPrefix = '10.60.0.64/28'
