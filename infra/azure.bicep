// Mailroom on Azure (infra/README.md): a Linux App Service on Node 24 running the bundle of `npm run bundle`,
// regionally VNet-integrated to reach the domain controllers over LDAPS (the VPN or ExpressRoute to them is the
// operator's), an Azure Bot (single tenant, user-assigned managed identity), PostgreSQL flexible server with
// Microsoft Entra authentication only, Key Vault for the LDAP password and SECRET_KEY, and console logs in Log
// Analytics. Deployed by the Agents Toolkit (m365agents.yml, parameters in azure.parameters.json) or by
// `az deployment group create` (azure.bicepparam). Outputs are written to env/.env.<name> by the Toolkit.
targetScope = 'resourceGroup'

@description('Prefix of the resource names: lower-case letters, digits and dashes, e.g. mailroom-prod. Globally unique names get a suffix derived from the resource group.')
@minLength(3)
@maxLength(20)
param resourceBaseName string

@description('MAILROOM_ENV: the Mailroom environment name; the app also reads env/.env.<name> from the bundle (committed, no secrets).')
@minLength(1)
@maxLength(32)
param environmentName string

param location string = resourceGroup().location

@description('TENANT_ID: the Entra tenant whose recipients Mailroom manages. Managed identities authenticate only in the tenant of this subscription; another tenant needs cloudCredential = clientSecret.')
param m365TenantId string = subscription().tenantId

@description('How Mailroom authenticates to Microsoft Graph and Exchange Online: managedIdentity (the app identity of this template; needs the code change listed in infra/README.md) or clientSecret (an Entra app registration, secret in Key Vault; works with the code as it is).')
@allowed([
  'managedIdentity'
  'clientSecret'
])
param cloudCredential string = 'managedIdentity'

@description('With cloudCredential = clientSecret: application (client) id of the Entra app registration that calls Graph and Exchange Online. Its secret goes into Key Vault as cloud-app-client-secret.')
param cloudAppClientId string = ''

@description('LDAP_URL: ldaps://<domain controller>:636, reachable from the VNet.')
param ldapUrl string

@description('LDAP_BASE_DN, e.g. DC=corp,DC=example,DC=com.')
param ldapBaseDn string

@description('LDAP_BIND_DN: the AD service account (UPN or DN). Its password goes into Key Vault as ldap-password.')
param ldapBindDn string

@description('LDAP_CA_FILE: path in the bundle of the PEM of the CA that issued the domain controllers\' certificates, e.g. certs/corp-ca.pem (npm run bundle ships certs/*.pem). Empty: the system CAs.')
param ldapCaFile string = ''

@description('ROLE_ADMINS: user:<object id> / group:<group id>, comma-separated.')
param roleAdmins string

@description('More Mailroom settings (README, Configuration), e.g. ROLE_REQUESTERS, ROLE_APPROVERS, OU_USERS, LICENSING, SYNC_MODE. Non-secret values only. Settings this template manages win over these.')
param appSettings object = {}

@allowed([
  'debug'
  'info'
  'warn'
  'error'
])
param logLevel string = 'info'

@description('App Service plan SKU (Linux). Regional VNet integration needs Basic or higher.')
param appServicePlanSku string = 'B1'

param vnetAddressPrefix string = '10.60.0.0/24'

@description('Subnet delegated to Microsoft.Web/serverFarms for regional VNet integration (/26 or larger recommended).')
param appSubnetPrefix string = '10.60.0.0/26'

@description('Subnet delegated to Microsoft.DBforPostgreSQL/flexibleServers (/28 or larger).')
param postgresSubnetPrefix string = '10.60.0.64/28'

@description('DNS servers of the VNet; empty: Azure-provided DNS (resolves the PostgreSQL private zone). See infra/README.md before pointing this at the domain controllers.')
param dnsServers array = []

@description('Route all outbound traffic of the app through the VNet (vnetRouteAllEnabled). Needs internet egress in the VNet or the hub (NAT gateway or firewall) for Teams, Graph and Exchange Online.')
param routeAllTraffic bool = false

@description('PostgreSQL major version.')
param postgresVersion string = '16'

param postgresSkuName string = 'Standard_B1ms'

@allowed([
  'Burstable'
  'GeneralPurpose'
  'MemoryOptimized'
])
param postgresSkuTier string = 'Burstable'

param postgresStorageSizeGB int = 32

@description('Optional: object id of an Entra group of people who administer the database (a second Microsoft Entra administrator).')
param postgresAdminGroupObjectId string = ''

@description('Display name of that group (its PostgreSQL role name).')
param postgresAdminGroupName string = ''

@description('Optional: object id of the person or group who sets the Key Vault secrets (Key Vault Secrets Officer).')
param secretsOfficerPrincipalId string = ''

@allowed([
  'User'
  'Group'
  'ServicePrincipal'
])
param secretsOfficerPrincipalType string = 'User'

@description('Optional: the AD service account password, stored as Key Vault secret ldap-password. Empty: set the secret yourself (infra/README.md).')
@secure()
param ldapPassword string = ''

@description('Optional: SECRET_KEY (32 bytes, base64), stored as Key Vault secret secret-key. Empty: set the secret yourself; keep it for the life of the data.')
@secure()
param secretKey string = ''

@description('Optional, cloudCredential = clientSecret: the app registration\'s client secret, stored as Key Vault secret cloud-app-client-secret.')
@secure()
param cloudAppClientSecret string = ''

@maxLength(42)
param botDisplayName string = 'Mailroom'

@allowed([
  'F0'
  'S1'
])
param botSku string = 'F0'

param logRetentionDays int = 30

param tags object = {}

var base = toLower(resourceBaseName)
var suffix = take(uniqueString(resourceGroup().id, base), 6)
var allTags = union({ application: 'mailroom', 'mailroom-env': environmentName }, tags)
var postgresServerName = 'psql-${base}-${suffix}'

// Two identities: the bot's (Bot Framework only) and the app's (Graph, Exchange Online, PostgreSQL, Key Vault).
resource botIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: 'id-${base}-bot'
  location: location
  tags: allTags
}

resource appIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: 'id-${base}-app'
  location: location
  tags: allTags
}

module monitoring './modules/monitoring.bicep' = {
  name: '${base}-monitoring'
  params: {
    name: 'log-${base}'
    location: location
    tags: allTags
    retentionDays: logRetentionDays
  }
}

module network './modules/network.bicep' = {
  name: '${base}-network'
  params: {
    name: 'vnet-${base}'
    location: location
    tags: allTags
    addressPrefix: vnetAddressPrefix
    appSubnetPrefix: appSubnetPrefix
    postgresSubnetPrefix: postgresSubnetPrefix
    dnsServers: dnsServers
    postgresDnsZoneName: '${postgresServerName}.private.postgres.database.azure.com'
  }
}

module keyVault './modules/keyvault.bicep' = {
  name: '${base}-keyvault'
  params: {
    name: 'kv${take(replace(base, '-', ''), 13)}${suffix}'
    location: location
    tags: allTags
    tenantId: subscription().tenantId
    appIdentityPrincipalId: appIdentity.properties.principalId
    secretsOfficerPrincipalId: secretsOfficerPrincipalId
    secretsOfficerPrincipalType: secretsOfficerPrincipalType
    ldapPassword: ldapPassword
    secretKey: secretKey
    cloudAppClientSecret: cloudAppClientSecret
  }
}

module postgres './modules/postgres.bicep' = {
  name: '${base}-postgres'
  params: {
    name: postgresServerName
    location: location
    tags: allTags
    version: postgresVersion
    skuName: postgresSkuName
    skuTier: postgresSkuTier
    storageSizeGB: postgresStorageSizeGB
    delegatedSubnetId: network.outputs.postgresSubnetId
    privateDnsZoneId: network.outputs.postgresDnsZoneId
    tenantId: subscription().tenantId
    appIdentityName: appIdentity.name
    appIdentityPrincipalId: appIdentity.properties.principalId
    adminGroupObjectId: postgresAdminGroupObjectId
    adminGroupName: postgresAdminGroupName
    workspaceId: monitoring.outputs.workspaceId
  }
}

module web './modules/web.bicep' = {
  name: '${base}-web'
  params: {
    planName: 'asp-${base}'
    siteName: 'app-${base}-${suffix}'
    location: location
    tags: allTags
    skuName: appServicePlanSku
    appSubnetId: network.outputs.appSubnetId
    routeAllTraffic: routeAllTraffic
    botIdentityId: botIdentity.id
    botIdentityClientId: botIdentity.properties.clientId
    appIdentityId: appIdentity.id
    appIdentityClientId: appIdentity.properties.clientId
    appIdentityName: appIdentity.name
    azureTenantId: subscription().tenantId
    m365TenantId: m365TenantId
    environmentName: environmentName
    cloudCredential: cloudCredential
    cloudAppClientId: cloudAppClientId
    keyVaultName: keyVault.outputs.name
    postgresFqdn: postgres.outputs.fqdn
    databaseName: postgres.outputs.databaseName
    ldapUrl: ldapUrl
    ldapBaseDn: ldapBaseDn
    ldapBindDn: ldapBindDn
    ldapCaFile: ldapCaFile
    roleAdmins: roleAdmins
    logLevel: logLevel
    extraSettings: appSettings
    workspaceId: monitoring.outputs.workspaceId
  }
}

module bot './modules/bot.bicep' = {
  name: '${base}-bot'
  params: {
    name: 'bot-${base}-${suffix}'
    displayName: botDisplayName
    tags: allTags
    sku: botSku
    endpoint: 'https://${web.outputs.hostName}/api/messages'
    botIdentityId: botIdentity.id
    botIdentityClientId: botIdentity.properties.clientId
    tenantId: subscription().tenantId
  }
}

// The Agents Toolkit writes these to env/.env.<name> (upper case): the deploy stage uses
// AZURE_APP_SERVICE_RESOURCE_ID, the Teams manifest BOT_ID and BOT_DOMAIN.
output AZURE_APP_SERVICE_RESOURCE_ID string = web.outputs.siteId
output BOT_ID string = botIdentity.properties.clientId
output BOT_DOMAIN string = web.outputs.hostName
output BOT_ENDPOINT string = 'https://${web.outputs.hostName}/api/messages'
output BOT_AZURE_RESOURCE_NAME string = bot.outputs.name
output APP_IDENTITY_NAME string = appIdentity.name
output APP_IDENTITY_CLIENT_ID string = appIdentity.properties.clientId
output APP_IDENTITY_PRINCIPAL_ID string = appIdentity.properties.principalId
output KEY_VAULT_NAME string = keyVault.outputs.name
output POSTGRES_SERVER_FQDN string = postgres.outputs.fqdn
output LOG_ANALYTICS_WORKSPACE_ID string = monitoring.outputs.workspaceId
