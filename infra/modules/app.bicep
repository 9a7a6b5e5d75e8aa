// The app: a Flex Consumption Function App (Node 22) running as a user-assigned managed
// identity, its storage (identity-based only: shared keys are disabled), Log Analytics and
// Application Insights (local auth disabled: ingestion is Entra-authenticated), and the
// identity's data-plane roles on those resources and nothing else.
//
// Azure Verified Modules (https://aka.ms/avm); parameters as documented in each module's README
// and e2e tests in Azure/bicep-registry-modules. docs/deploy.md says how this was verified.

@description('Required. Region of the resources.')
param location string

@description('Required. Tags of every resource.')
param tags object

@description('Required. Stable token that makes globally unique names unique.')
param resourceToken string

@description('Required. { queues: string[], tables: string[], containers: string[] } from infra/generated/app-contract.json.')
param storageNames object

@description('Required. { queue: string, groupIds: string[] } from infra/generated/app-contract.json: who may send promotion requests and approvals.')
param promotionSenders object

@description('Required. STEWARD_API_CLIENT_ID: client id of aml-steward\'s API app registration (the audience of requesters\' tokens).')
param apiClientId string

@description('Optional. STEWARD_POLICY_PATH; empty = bundled default policy.')
param policyPath string = ''

@description('Optional. STEWARD_RECONCILE_SCHEDULE.')
param reconcileSchedule string = '0 0 2 * * *'

@description('Optional. STEWARD_LOG_LEVEL.')
param logLevel string = 'info'

@description('Optional. Flex Consumption maximum instance count.')
param maximumInstanceCount int = 40

@description('Optional. Flex Consumption instance memory (MB).')
param instanceMemoryMB int = 2048

var functionAppName = 'func-aml-steward-${resourceToken}'
// Flex Consumption pulls the deployment package from this container with the app's identity.
var deploymentContainerName = 'app-package-${take(resourceToken, 12)}'

// Built-in roles (the same GUIDs in every tenant).
var roles = {
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  storageQueueDataMessageSender: 'c6a89b2d-59bc-44d0-9896-0f6e12d7b80a'
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
}

module identity 'br/public:avm/res/managed-identity/user-assigned-identity:0.4.1' = {
  name: 'steward-identity'
  params: {
    name: 'id-aml-steward-${resourceToken}'
    location: location
    tags: tags
  }
}

module logAnalytics 'br/public:avm/res/operational-insights/workspace:0.11.1' = {
  name: 'steward-log-analytics'
  params: {
    name: 'log-aml-steward-${resourceToken}'
    location: location
    tags: tags
    dataRetention: 30
  }
}

module appInsights 'br/public:avm/res/insights/component:0.6.0' = {
  name: 'steward-app-insights'
  params: {
    name: 'appi-aml-steward-${resourceToken}'
    location: location
    tags: tags
    workspaceResourceId: logAnalytics.outputs.resourceId
    // No instrumentation-key ingestion: telemetry must carry an Entra token.
    disableLocalAuth: true
    roleAssignments: [
      {
        roleDefinitionIdOrName: roles.monitoringMetricsPublisher
        principalId: identity.outputs.principalId
        principalType: 'ServicePrincipal'
      }
    ]
  }
}

module storage 'br/public:avm/res/storage/storage-account:0.32.1' = {
  name: 'steward-storage'
  params: {
    name: take('staml${resourceToken}', 24)
    location: location
    tags: tags
    skuName: 'Standard_LRS'
    // Identity-based access only: no account key, no SAS signed with one.
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    allowBlobPublicAccess: false
    minimumTlsVersion: 'TLS1_2'
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
    blobServices: {
      containers: [
        for name in concat(storageNames.containers, [deploymentContainerName]): {
          name: name
          publicAccess: 'None'
        }
      ]
    }
    queueServices: {
      queues: [
        for name in storageNames.queues: {
          name: name
          // Requesters and approvers may send to the promotion queue only (never read, delete,
          // or reach the app's internal queues); their messages still need a valid token.
          roleAssignments: name == promotionSenders.queue
            ? map(promotionSenders.groupIds, groupId => {
                roleDefinitionIdOrName: roles.storageQueueDataMessageSender
                principalId: groupId
                principalType: 'Group'
              })
            : []
        }
      ]
    }
    tableServices: {
      tables: [
        for name in storageNames.tables: {
          name: name
        }
      ]
    }
    roleAssignments: [
      // The Functions host (AzureWebJobsStorage: leases, deployment package) and the reports container.
      {
        roleDefinitionIdOrName: roles.storageBlobDataOwner
        principalId: identity.outputs.principalId
        principalType: 'ServicePrincipal'
      }
      // Queue triggers, poison queues, the promotion and reconcile fan-out.
      {
        roleDefinitionIdOrName: roles.storageQueueDataContributor
        principalId: identity.outputs.principalId
        principalType: 'ServicePrincipal'
      }
      // The ledgers (audit, violations, promotions, reconcile runs, leases).
      {
        roleDefinitionIdOrName: roles.storageTableDataContributor
        principalId: identity.outputs.principalId
        principalType: 'ServicePrincipal'
      }
    ]
  }
}

module plan 'br/public:avm/res/web/serverfarm:0.5.0' = {
  name: 'steward-plan'
  params: {
    name: 'asp-aml-steward-${resourceToken}'
    location: location
    tags: tags
    skuName: 'FC1'
    reserved: true
  }
}

module site 'br/public:avm/res/web/site:0.19.4' = {
  name: 'steward-function-app'
  params: {
    name: functionAppName
    location: location
    tags: union(tags, { 'azd-service-name': 'steward' })
    kind: 'functionapp,linux'
    serverFarmResourceId: plan.outputs.resourceId
    httpsOnly: true
    managedIdentities: {
      userAssignedResourceIds: [
        identity.outputs.resourceId
      ]
    }
    siteConfig: {
      alwaysOn: false
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
    }
    basicPublishingCredentialsPolicies: [
      {
        name: 'ftp'
        allow: false
      }
      {
        name: 'scm'
        allow: false
      }
    ]
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.outputs.primaryBlobEndpoint}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identity.outputs.resourceId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'node'
        version: '22'
      }
    }
    configs: [
      {
        name: 'appsettings'
        // With identity authentication the module sets AzureWebJobsStorage__accountName and the
        // blob/queue/table service URIs, never a connection string.
        storageAccountResourceId: storage.outputs.resourceId
        storageAccountUseIdentityAuthentication: true
        applicationInsightResourceId: appInsights.outputs.resourceId
        properties: {
          AzureWebJobsStorage__credential: 'managedidentity'
          AzureWebJobsStorage__clientId: identity.outputs.clientId
          APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identity.outputs.clientId};Authorization=AAD'
          STEWARD_TENANT_ID: tenant().tenantId
          STEWARD_IDENTITY_OBJECT_ID: identity.outputs.principalId
          STEWARD_IDENTITY_CLIENT_ID: identity.outputs.clientId
          STEWARD_API_CLIENT_ID: apiClientId
          STEWARD_POLICY_PATH: policyPath
          STEWARD_RECONCILE_SCHEDULE: reconcileSchedule
          STEWARD_LOG_LEVEL: logLevel
        }
      }
    ]
  }
}

output functionAppName string = site.outputs.name
output functionAppResourceId string = site.outputs.resourceId
output identityPrincipalId string = identity.outputs.principalId
output identityClientId string = identity.outputs.clientId
output identityResourceId string = identity.outputs.resourceId
output storageAccountName string = storage.outputs.name
output storageAccountResourceId string = storage.outputs.resourceId
