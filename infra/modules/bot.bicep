// The Azure Bot: single tenant, authenticated as the bot's user-assigned managed identity (msaAppType
// UserAssignedMSI; msaAppId is the identity's client id, which is Mailroom's BOT_ID and the Teams manifest's
// botId), messaging endpoint on the web app, Microsoft Teams channel enabled.
param name string
param displayName string
param tags object
param sku string
param endpoint string
param botIdentityId string
param botIdentityClientId string
param tenantId string

resource bot 'Microsoft.BotService/botServices@2022-09-15' = {
  name: name
  location: 'global'
  tags: tags
  kind: 'azurebot'
  sku: {
    name: sku
  }
  properties: {
    displayName: displayName
    endpoint: endpoint
    msaAppId: botIdentityClientId
    msaAppType: 'UserAssignedMSI'
    msaAppMSIResourceId: botIdentityId
    msaAppTenantId: tenantId
  }
}

resource teams 'Microsoft.BotService/botServices/channels@2022-09-15' = {
  parent: bot
  name: 'MsTeamsChannel'
  location: 'global'
  properties: {
    channelName: 'MsTeamsChannel'
    properties: {
      isEnabled: true
    }
  }
}

output name string = bot.name
