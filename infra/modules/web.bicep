// The App Service plan (Linux) and the web app that runs the bundle of `npm run bundle` on Node 24: start command
// as in the bundle's package.json, configuration as app settings named after Mailroom's variables (README,
// Configuration), secrets as Key Vault references resolved with the app identity, outbound traffic to the domain
// controllers through regional VNet integration, console logs (Mailroom's JSON lines) to Log Analytics.
param planName string
param siteName string
param location string
param tags object
param skuName string
param appSubnetId string
param routeAllTraffic bool
param botIdentityId string
param botIdentityClientId string
param appIdentityId string
param appIdentityClientId string
param appIdentityName string
param azureTenantId string
param m365TenantId string
param environmentName string
param cloudCredential string
param cloudAppClientId string
param keyVaultName string
param postgresFqdn string
param databaseName string
param ldapUrl string
param ldapBaseDn string
param ldapBindDn string
param ldapCaFile string
param roleAdmins string
param logLevel string
param extraSettings object
param workspaceId string

// The same command as "start" in the bundle's package.json (src/cli/bundle.ts; test/bundle checks they agree).
var startCommand = 'node --max-semi-space-size=4 --max-old-space-size=384 dist/src/cli/main.js'

// Persistent storage shared by the instances (/home); wwwroot is the read-only mounted package.
var dataDir = '/home/mailroom-data'

var mailroomSettings = {
  MAILROOM_ENV: environmentName
  HOST: '0.0.0.0'
  PORT: '8080'
  LOG_LEVEL: logLevel
  DATA_DIR: dataDir
  TENANT_ID: m365TenantId
  // the bot: Azure Bot with the bot identity (msaAppType UserAssignedMSI)
  BOT_ID: botIdentityClientId
  BOT_TYPE: 'UserAssignedMSI'
  BOT_TENANT_ID: azureTenantId
  ROLE_ADMINS: roleAdmins
  LDAP_URL: ldapUrl
  LDAP_BASE_DN: ldapBaseDn
  LDAP_BIND_DN: ldapBindDn
  LDAP_CA_FILE: ldapCaFile
  LDAP_PASSWORD: '@Microsoft.KeyVault(VaultName=${keyVaultName};SecretName=ldap-password)'
  SECRET_KEY: '@Microsoft.KeyVault(VaultName=${keyVaultName};SecretName=secret-key)'
  // PostgreSQL with a Microsoft Entra token of the app identity as password (no password in the URL).
  DATABASE_URL: 'postgres://${appIdentityName}@${postgresFqdn}:5432/${databaseName}?sslmode=verify-full'
  DATABASE_AUTH: 'UserAssignedMSI'
  DATABASE_CLIENT_ID: appIdentityClientId
}

// Graph and Exchange Online: the app identity (CLIENT_TYPE=UserAssignedMSI), or an Entra app registration with its
// secret in Key Vault.
var managedIdentityCloudSettings = {
  CLIENT_TYPE: 'UserAssignedMSI'
  CLIENT_ID: appIdentityClientId
}

var clientSecretCloudSettings = {
  CLIENT_ID: cloudAppClientId
  CLIENT_SECRET: '@Microsoft.KeyVault(VaultName=${keyVaultName};SecretName=cloud-app-client-secret)'
}

var cloudSettings = cloudCredential == 'managedIdentity' ? managedIdentityCloudSettings : clientSecretCloudSettings

var platformSettings = {
  WEBSITES_PORT: '8080'
  // the bundle is complete (production dependencies and the native module built for Node 24): no build on the server
  SCM_DO_BUILD_DURING_DEPLOYMENT: 'false'
  ENABLE_ORYX_BUILD: 'false'
  WEBSITE_RUN_FROM_PACKAGE: '1'
  // as `npm start` (package.json): two glibc malloc arenas instead of up to sixteen on two cores; about 8-10 MB less
  // RSS under load, no CPU cost measured (README, Performance)
  MALLOC_ARENA_MAX: '2'
}

var settings = union(extraSettings, mailroomSettings, cloudSettings, platformSettings)

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'linux'
  sku: {
    name: skuName
  }
  properties: {
    reserved: true
  }
}

resource site 'Microsoft.Web/sites@2024-04-01' = {
  name: siteName
  location: location
  tags: tags
  kind: 'app,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${botIdentityId}': {}
      '${appIdentityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    clientAffinityEnabled: false
    // Teams reaches /api/messages through the Bot Connector service from the internet.
    publicNetworkAccess: 'Enabled'
    virtualNetworkSubnetId: appSubnetId
    vnetRouteAllEnabled: routeAllTraffic
    keyVaultReferenceIdentity: appIdentityId
    siteConfig: {
      linuxFxVersion: 'NODE|24-lts'
      appCommandLine: startCommand
      alwaysOn: true
      healthCheckPath: '/healthz'
      http20Enabled: true
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      appSettings: [
        for s in items(settings): {
          name: s.key
          value: s.value
        }
      ]
    }
  }
}

// Deployments (Agents Toolkit zipDeploy, az webapp deploy) authenticate with Microsoft Entra; no basic auth.
resource ftpBasicAuth 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmBasicAuth 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'scm'
  properties: {
    allow: false
  }
}

resource diagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: site
  properties: {
    workspaceId: workspaceId
    logs: [
      {
        category: 'AppServiceConsoleLogs'
        enabled: true
      }
      {
        category: 'AppServiceHTTPLogs'
        enabled: true
      }
      {
        category: 'AppServicePlatformLogs'
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
}

output siteId string = site.id
output hostName string = site.properties.defaultHostName
