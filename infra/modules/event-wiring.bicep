// The subscription's Event Grid system topic (Microsoft.Resources.Subscriptions, location global)
// and the event subscription to the onResourceWrite function:
// - Microsoft.Resources.ResourceWriteSuccess, and ResourceDeleteSuccess for deleted role
//   assignments (access drift);
// - aml-steward's own writes dropped at the source by the principal whose role assignment
//   allowed them (data.authorization.evidence.principalId, which Azure writes without dashes),
//   so its tagging costs no invocation and cannot loop, while everyone else's tag writes
//   (portal, az tag) still arrive and are corrected within seconds;
// - a retry policy, then dead-lettering to a blob container with the topic's system-assigned
//   identity (the storage account accepts no keys).
// Resource shapes as in Microsoft.EventGrid 2025-02-15 (the API version the AVM system-topic
// module uses); written out here because the condition-critical filter must be readable and tested.

@description('Required. Tags of the system topic.')
param tags object

@description('Required. Name of the system topic (created, or adopted when it already exists).')
param systemTopicName string

@description('Required. Name of the event subscription.')
param eventSubscriptionName string

@description('Required. Create the event subscription (the function must already exist).')
param deployEventSubscription bool

@description('Required. Event types delivered (app-contract.json eventFilter.includedEventTypes).')
param includedEventTypes array

@description('Required. The event field naming the principal whose role assignment allowed the write.')
param excludedPrincipalKey string

@description('Required. Object id of aml-steward\'s managed identity: its own writes are not delivered.')
param appPrincipalId string

@description('Required. Resource id of the onResourceWrite function: <functionAppId>/functions/onResourceWrite.')
param functionResourceId string

@description('Required. Storage account of the dead-letter container.')
param deadLetterStorageAccountResourceId string

@description('Required. Dead-letter blob container.')
param deadLetterContainerName string

@minValue(1)
@maxValue(30)
param maxDeliveryAttempts int

@minValue(1)
@maxValue(1440)
param eventTimeToLiveInMinutes int

resource systemTopic 'Microsoft.EventGrid/systemTopics@2025-02-15' = {
  name: systemTopicName
  location: 'global'
  tags: tags
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    source: subscription().id
    topicType: 'Microsoft.Resources.Subscriptions'
  }
}

// The topic's identity may write dead-lettered events into that one container, nothing more.
module deadLetterAccess 'dead-letter-access.bicep' = {
  name: 'steward-deadletter-${uniqueString(systemTopic.id)}'
  scope: resourceGroup(split(deadLetterStorageAccountResourceId, '/')[2], split(deadLetterStorageAccountResourceId, '/')[4])
  params: {
    storageAccountName: last(split(deadLetterStorageAccountResourceId, '/'))
    containerName: deadLetterContainerName
    principalId: systemTopic.identity.principalId
  }
}

resource eventSubscription 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2025-02-15' = if (deployEventSubscription) {
  parent: systemTopic
  name: eventSubscriptionName
  dependsOn: [
    deadLetterAccess
  ]
  properties: {
    destination: {
      endpointType: 'AzureFunction'
      properties: {
        resourceId: functionResourceId
        // The v4 Node model hands one event to each invocation.
        maxEventsPerBatch: 1
        preferredBatchSizeInKilobytes: 64
      }
    }
    eventDeliverySchema: 'EventGridSchema'
    filter: {
      includedEventTypes: includedEventTypes
      advancedFilters: [
        {
          operatorType: 'StringNotIn'
          key: excludedPrincipalKey
          // Both spellings, as shared/setup/contract.ts excludedPrincipalValues lists them.
          values: union([replace(toLower(appPrincipalId), '-', '')], [toLower(appPrincipalId)])
        }
      ]
    }
    retryPolicy: {
      maxDeliveryAttempts: maxDeliveryAttempts
      eventTimeToLiveInMinutes: eventTimeToLiveInMinutes
    }
    deadLetterWithResourceIdentity: {
      identity: {
        type: 'SystemAssigned'
      }
      deadLetterDestination: {
        endpointType: 'StorageBlob'
        properties: {
          resourceId: deadLetterStorageAccountResourceId
          blobContainerName: deadLetterContainerName
        }
      }
    }
  }
}

output systemTopicResourceId string = systemTopic.id
