// PostgreSQL flexible server, private access (VNet-injected into the delegated subnet, private DNS zone), with
// Microsoft Entra authentication only: no administrator password exists. The app identity is a Microsoft Entra
// administrator, so Mailroom can create its schema in the database (migrations run at start-up); its PostgreSQL
// role is the identity's name, which is the user name in DATABASE_URL. An optional Entra group of people is a
// second administrator. Server logs go to Log Analytics.
param name string
param location string
param tags object
param version string
param skuName string
param skuTier string
param storageSizeGB int
param delegatedSubnetId string
param privateDnsZoneId string
param tenantId string
param appIdentityName string
param appIdentityPrincipalId string
param adminGroupObjectId string
param adminGroupName string
param workspaceId string
param databaseName string = 'mailroom'

resource server 'Microsoft.DBforPostgreSQL/flexibleServers@2024-08-01' = {
  name: name
  location: location
  tags: tags
  sku: {
    name: skuName
    tier: skuTier
  }
  properties: {
    version: version
    storage: {
      storageSizeGB: storageSizeGB
      autoGrow: 'Enabled'
    }
    backup: {
      backupRetentionDays: 7
      geoRedundantBackup: 'Disabled'
    }
    highAvailability: {
      mode: 'Disabled'
    }
    network: {
      delegatedSubnetResourceId: delegatedSubnetId
      privateDnsZoneArmResourceId: privateDnsZoneId
      publicNetworkAccess: 'Disabled'
    }
    authConfig: {
      activeDirectoryAuth: 'Enabled'
      passwordAuth: 'Disabled'
      tenantId: tenantId
    }
  }
}

// The resource name of a Microsoft Entra administrator is the principal's object id.
resource appAdministrator 'Microsoft.DBforPostgreSQL/flexibleServers/administrators@2024-08-01' = {
  parent: server
  name: appIdentityPrincipalId
  properties: {
    principalName: appIdentityName
    principalType: 'ServicePrincipal'
    tenantId: tenantId
  }
}

// One administrator change at a time: the server refuses concurrent operations.
resource groupAdministrator 'Microsoft.DBforPostgreSQL/flexibleServers/administrators@2024-08-01' = if (!empty(adminGroupObjectId)) {
  parent: server
  name: empty(adminGroupObjectId) ? 'none' : adminGroupObjectId
  properties: {
    principalName: adminGroupName
    principalType: 'Group'
    tenantId: tenantId
  }
  dependsOn: [
    appAdministrator
  ]
}

resource database 'Microsoft.DBforPostgreSQL/flexibleServers/databases@2024-08-01' = {
  parent: server
  name: databaseName
  properties: {
    charset: 'UTF8'
    collation: 'en_US.utf8'
  }
  dependsOn: [
    appAdministrator
    groupAdministrator
  ]
}

resource diagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: server
  properties: {
    workspaceId: workspaceId
    logs: [
      {
        category: 'PostgreSQLLogs'
        enabled: true
      }
    ]
    metrics: [
      {
        category: 'AllMetrics'
        enabled: true
      }
    ]
  }
  dependsOn: [
    database
  ]
}

output fqdn string = server.properties.fullyQualifiedDomainName
output databaseName string = database.name
