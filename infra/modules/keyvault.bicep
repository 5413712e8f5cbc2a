// Key Vault for Mailroom's secrets, read by App Service Key Vault references with the app identity
// (keyVaultReferenceIdentity): ldap-password (LDAP_PASSWORD), secret-key (SECRET_KEY) and, with
// cloudCredential = clientSecret, cloud-app-client-secret (CLIENT_SECRET). Azure RBAC, soft delete and purge
// protection. A secret is written here only when its parameter is given; otherwise an operator sets it.
param name string
param location string
param tags object
param tenantId string
param appIdentityPrincipalId string
param secretsOfficerPrincipalId string
param secretsOfficerPrincipalType string

@secure()
param ldapPassword string

@secure()
param secretKey string

@secure()
param cloudAppClientSecret string

var keyVaultSecretsUser = '4633458b-17de-408a-b874-0445c86b69e6'
var keyVaultSecretsOfficer = 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7'

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
  }
}

resource appReadsSecrets 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, appIdentityPrincipalId, keyVaultSecretsUser)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsUser)
    principalId: appIdentityPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource officerWritesSecrets 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(secretsOfficerPrincipalId)) {
  name: guid(vault.id, secretsOfficerPrincipalId, keyVaultSecretsOfficer)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsOfficer)
    principalId: secretsOfficerPrincipalId
    principalType: secretsOfficerPrincipalType
  }
}

resource ldapPasswordSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(ldapPassword)) {
  parent: vault
  name: 'ldap-password'
  properties: {
    value: ldapPassword
    contentType: 'text/plain'
  }
}

resource secretKeySecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(secretKey)) {
  parent: vault
  name: 'secret-key'
  properties: {
    value: secretKey
    contentType: 'text/plain; base64, 32 bytes'
  }
}

resource cloudAppSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(cloudAppClientSecret)) {
  parent: vault
  name: 'cloud-app-client-secret'
  properties: {
    value: cloudAppClientSecret
    contentType: 'text/plain'
  }
}

output name string = vault.name
output uri string = vault.properties.vaultUri
