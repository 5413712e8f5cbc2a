// Microsoft Graph and Exchange Online application permissions for the app identity (cloudCredential =
// managedIdentity). Managed identities have no consent screen: app roles are assigned directly. Deployed once,
// separately from azure.bicep, by someone who may assign app roles (Privileged Role Administrator, or
// AppRoleAssignment.ReadWrite.All with Application.Read.All):
//   az deployment group create -g <resource group> -f infra/entra-permissions.bicep \
//     -p appIdentityPrincipalId=<APP_IDENTITY_PRINCIPAL_ID from env/.env.<name>>
// The Exchange Recipient Administrator directory role is not an app role; the Graph extension for Bicep does not
// assign directory roles, so that step is an `az rest` call (infra/README.md).
extension 'br:mcr.microsoft.com/bicep/extensions/microsoftgraph/v1.0:1.0.0'

@description('Object (principal) id of the app identity: output APP_IDENTITY_PRINCIPAL_ID of azure.bicep.')
param appIdentityPrincipalId string

@description('Microsoft Graph application permissions Mailroom uses (README, Connect a real tenant).')
param graphAppRoles array = [
  'User.ReadWrite.All'
  'Group.Read.All'
  'GroupMember.ReadWrite.All'
  'Organization.Read.All'
  'Synchronization.ReadWrite.All'
]

// Microsoft Graph and Office 365 Exchange Online, by their well-known application ids.
resource graph 'Microsoft.Graph/servicePrincipals@v1.0' existing = {
  appId: '00000003-0000-0000-c000-000000000000'
}

resource exchangeOnline 'Microsoft.Graph/servicePrincipals@v1.0' existing = {
  appId: '00000002-0000-0ff1-ce00-000000000000'
}

resource graphPermissions 'Microsoft.Graph/appRoleAssignedTo@v1.0' = [
  for role in graphAppRoles: {
    principalId: appIdentityPrincipalId
    resourceId: graph.id
    appRoleId: filter(graph.appRoles, r => r.value == role)[0].id
  }
]

resource manageExchangeAsApp 'Microsoft.Graph/appRoleAssignedTo@v1.0' = {
  principalId: appIdentityPrincipalId
  resourceId: exchangeOnline.id
  appRoleId: filter(exchangeOnline.appRoles, r => r.value == 'Exchange.ManageAsApp')[0].id
}
