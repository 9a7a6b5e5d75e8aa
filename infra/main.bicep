// aml-steward: everything `azd provision` deploys, with least privilege.
//
// Deployed at subscription scope into the subscription azd targets (AZURE_SUBSCRIPTION_ID),
// which holds the app's own resource group. Everything organisation-specific comes from the
// estate policy through infra/generated/*.json (`npm run infra:generate`): the project
// subscription, the governed subscriptions and the roles of the access matrix.
//
// Two-phase on first install: an Event Grid subscription with an Azure Function destination can
// only be created once the function exists, i.e. after `azd deploy`. The postdeploy hook
// (infra/hooks/postdeploy.*) waits until the app lists the function, sets
// DEPLOY_EVENT_SUBSCRIPTIONS=true and provisions again.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('Required. Name of the azd environment; used for the resource group name and a stable token in resource names.')
param environmentName string

@minLength(1)
@description('Required. Region of the app\'s resources. Use a region with Flex Consumption.')
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@description('Optional. Resource group of the app. Default: rg-aml-steward-<environmentName>.')
param resourceGroupName string = ''

@allowed([
  'true'
  'false'
])
@description('Optional. Create the Event Grid subscriptions to the onResourceWrite function. Must stay false until the function code is deployed once (the postdeploy hook switches it on).')
param deployEventSubscriptions string = 'false'

@description('Optional. Governed subscriptions that already have a Microsoft.Resources.Subscriptions system topic (Azure allows one per subscription): { "<subscriptionId>": { "resourceGroup": "...", "name": "..." } }. The template adopts that topic instead of creating one. Normally left empty: the preprovision hook finds such topics (adoptedSystemTopics); an entry here wins over what it found.')
param existingSystemTopics object = {}

@description('Optional. Set by the preprovision hook (infra/hooks/preprovision.ts) from STEWARD_ADOPTED_SYSTEM_TOPICS: the existing subscription system topics it found, as <subscriptionId>/<resourceGroup>/<name> joined with commas; "none" or empty for none.')
param adoptedSystemTopics string = ''

@description('Optional. Path of the estate policy file inside the deployed package; empty = the bundled default policy. infra/generated must have been generated from the same file.')
param policyPath string = ''

@minLength(36)
@maxLength(36)
@description('Required. Client id of aml-steward\'s API app registration (docs/deploy.md: "The API app registration"): the audience of the tokens requesters and approvers send.')
param apiClientId string

@description('Optional. NCRONTAB schedule (six fields) of the nightly cost-tag reconciliation.')
param reconcileSchedule string = '0 0 2 * * *'

@allowed([
  'debug'
  'info'
  'warn'
  'error'
])
@description('Optional. Log level of the app.')
param logLevel string = 'info'

@minValue(40)
@maxValue(1000)
@description('Optional. Flex Consumption: maximum number of instances.')
param maximumInstanceCount int = 40

@allowed([
  512
  2048
  4096
])
@description('Optional. Flex Consumption: memory per instance in MB.')
param instanceMemoryMB int = 2048

@minValue(1)
@maxValue(30)
@description('Optional. Event Grid: delivery attempts before an event is dead-lettered.')
param eventMaxDeliveryAttempts int = 10

@minValue(1)
@maxValue(1440)
@description('Optional. Event Grid: minutes an event may wait for delivery before it is dead-lettered.')
param eventTimeToLiveInMinutes int = 1440

// Generated from the estate policy by `npm run infra:generate`; never edit by hand.
var contract = loadJsonContent('generated/app-contract.json')
var matrix = loadJsonContent('generated/access-matrix-roles.json')
var appRoles = loadJsonContent('generated/app-roles.json')

// A plain string from the hook rather than a JSON object: azd substitutes environment values into
// main.parameters.json as text, and ids and names need no escaping there.
var adoptedTopicParts = filter(map(split(adoptedSystemTopics, ','), entry => split(trim(entry), '/')), parts => length(parts) == 3)
var adoptedTopics = toObject(adoptedTopicParts, parts => toLower(parts[0]), parts => {
  resourceGroup: parts[1]
  name: parts[2]
})
var systemTopicsToAdopt = union(adoptedTopics, existingSystemTopics)

var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
  managedBy: 'aml-steward'
}

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: !empty(resourceGroupName) ? resourceGroupName : 'rg-aml-steward-${environmentName}'
  location: location
  tags: tags
}

// The Function App, its identity, storage, monitoring, and the identity's data-plane roles on them.
module app 'modules/app.bicep' = {
  name: 'steward-app-${resourceToken}'
  scope: rg
  params: {
    location: location
    tags: tags
    resourceToken: resourceToken
    storageNames: contract.storage
    promotionSenders: contract.promotionSenders
    apiClientId: apiClientId
    policyPath: policyPath
    reconcileSchedule: reconcileSchedule
    logLevel: logLevel
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
  }
}

// Project subscription: the custom promotion role (no Contributor); assign only the access
// matrix's roles, only to groups (RBAC Administrator with an ABAC condition).
module project 'modules/project-subscription.bicep' = {
  name: 'steward-project-${resourceToken}'
  scope: subscription(contract.projectSubscriptionId)
  params: {
    principalId: app.outputs.identityPrincipalId
    accessMatrixRoleDefinitionIds: matrix.roleDefinitionIds
    deleteRoleDefinitionIds: matrix.deleteRoleDefinitionIds
    deletePrincipalTypes: matrix.deletePrincipalTypes
    promotionRole: appRoles.promotionRole
  }
}

// Every governed subscription: Reader + Tag Contributor, and the Event Grid wiring.
module governed 'modules/governed-subscription.bicep' = [
  for subscriptionId in contract.governedSubscriptionIds: {
    name: 'steward-governed-${take(subscriptionId, 8)}-${resourceToken}'
    scope: subscription(subscriptionId)
    params: {
      location: location
      tags: tags
      principalId: app.outputs.identityPrincipalId
      names: contract.names
      eventFilter: contract.eventFilter
      existingSystemTopic: systemTopicsToAdopt[?subscriptionId] ?? {}
      deployEventSubscription: deployEventSubscriptions == 'true'
      functionAppResourceId: app.outputs.functionAppResourceId
      deadLetterStorageAccountResourceId: app.outputs.storageAccountResourceId
      maxDeliveryAttempts: eventMaxDeliveryAttempts
      eventTimeToLiveInMinutes: eventTimeToLiveInMinutes
    }
  }
]

output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = app.outputs.functionAppName
output STEWARD_TENANT_ID string = tenant().tenantId
output STEWARD_IDENTITY_OBJECT_ID string = app.outputs.identityPrincipalId
output STEWARD_IDENTITY_CLIENT_ID string = app.outputs.identityClientId
output AzureWebJobsStorage__accountName string = app.outputs.storageAccountName
output DEPLOY_EVENT_SUBSCRIPTIONS string = deployEventSubscriptions
