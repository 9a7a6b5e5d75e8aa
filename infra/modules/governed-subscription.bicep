// One governed subscription (deployed once per id in the policy's governedSubscriptions):
// Reader and Tag Contributor for aml-steward's identity at subscription scope, nothing broader,
// and the Event Grid wiring that delivers resource writes to the onResourceWrite function.
targetScope = 'subscription'

@description('Required. Region of the events resource group (the system topic itself is global).')
param location string

@description('Required. Tags of the resources created here.')
param tags object

@description('Required. Object (principal) id of aml-steward\'s managed identity.')
param principalId string

@description('Required. names from infra/generated/app-contract.json.')
param names object

@description('Required. eventFilter from infra/generated/app-contract.json.')
param eventFilter object

@description('Optional. { resourceGroup, name } of a Microsoft.Resources.Subscriptions system topic that already exists in this subscription; empty = create one.')
param existingSystemTopic object = {}

@description('Required. Create the event subscription (only once the function code is deployed).')
param deployEventSubscription bool

@description('Required. Resource id of the Function App.')
param functionAppResourceId string

@description('Required. Resource id of the storage account that holds the dead-letter container.')
param deadLetterStorageAccountResourceId string

@description('Required. Event Grid delivery attempts before dead-lettering.')
param maxDeliveryAttempts int

@description('Required. Event Grid time to live of an event, in minutes.')
param eventTimeToLiveInMinutes int

var readerRoleId = 'acdd72a7-3385-48ef-bd42-f606fba81ae7'
var tagContributorRoleId = '4a9ae827-6dc8-4573-8ac7-8239d42aa03f'

// Read resources and resource groups (tags to inherit, reconciliation scans).
resource reader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(subscription().id, principalId, readerRoleId)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', readerRoleId)
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'aml-steward: read resources and their resource groups'
  }
}

// Write tags through the Tags API only (never the resource itself).
resource tagContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(subscription().id, principalId, tagContributorRoleId)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', tagContributorRoleId)
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'aml-steward: cost and ownership tags'
  }
}

var adoptTopic = !empty(existingSystemTopic)
var topicResourceGroup = adoptTopic ? existingSystemTopic.resourceGroup : names.eventsResourceGroup

resource eventsResourceGroup 'Microsoft.Resources/resourceGroups@2024-03-01' = if (!adoptTopic) {
  name: names.eventsResourceGroup
  location: location
  tags: tags
}

module wiring 'event-wiring.bicep' = {
  name: 'steward-events-${uniqueString(subscription().id, functionAppResourceId)}'
  scope: resourceGroup(topicResourceGroup)
  dependsOn: [
    eventsResourceGroup
  ]
  params: {
    tags: tags
    systemTopicName: adoptTopic ? existingSystemTopic.name : names.systemTopic
    eventSubscriptionName: names.eventSubscription
    includedEventTypes: eventFilter.includedEventTypes
    excludedPrincipalKey: eventFilter.excludedPrincipalKey
    appPrincipalId: principalId
    deployEventSubscription: deployEventSubscription
    functionResourceId: '${functionAppResourceId}/functions/${names.resourceWriteFunction}'
    deadLetterStorageAccountResourceId: deadLetterStorageAccountResourceId
    deadLetterContainerName: names.deadLetterContainer
    maxDeliveryAttempts: maxDeliveryAttempts
    eventTimeToLiveInMinutes: eventTimeToLiveInMinutes
  }
}

output systemTopicResourceId string = wiring.outputs.systemTopicResourceId
