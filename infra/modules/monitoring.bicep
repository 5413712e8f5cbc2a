// Log Analytics: the destination of the diagnostic settings of the web app (AppServiceConsoleLogs carries
// Mailroom's JSON lines from stdout/stderr) and of the PostgreSQL server.
param name string
param location string
param tags object
param retentionDays int

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: retentionDays
    features: {
      enableLogAccessUsingOnlyResourcePermissions: true
    }
  }
}

output workspaceId string = workspace.id
