// The project subscription, where promotions create each project's environments.
//
// 1. A provisioner role (default Contributor) so the identity can create resource groups and
//    the workspaces with their dependencies. Creating a resource group needs
//    Microsoft.Resources/subscriptions/resourceGroups/write at subscription scope, which no
//    built-in role narrower than Contributor grants; docs/deploy.md explains what bounds it.
//    Contributor cannot change access (Microsoft.Authorization/*/Write is excluded).
// 2. Role Based Access Control Administrator with an ABAC condition (version 2.0): the identity
//    may create and delete role assignments only for the roles of the estate policy's access
//    matrix and only for principals of type Group. No Owner, no User Access Administrator.
//    The role list comes from infra/generated/access-matrix-roles.json; shared/setup/contract.ts
//    (abacCondition) builds the identical text, and test/unit/infra-abac.test.ts checks both.
targetScope = 'subscription'

@description('Required. Object (principal) id of aml-steward\'s managed identity.')
param principalId string

@description('Required. Role definition GUIDs of the access matrix (from infra/generated/access-matrix-roles.json).')
param accessMatrixRoleDefinitionIds array

@description('Optional. Role that lets the identity create resource groups and project resources. Default: Contributor.')
param provisionerRoleDefinitionId string = 'b24988ac-6180-42a0-ab88-20f7382dd24c'

var rbacAdministratorRoleId = 'f58310d9-a9f6-439a-9e8d-f62e7b41a168'

var roleList = join(accessMatrixRoleDefinitionIds, ', ')
var abacCondition = '((!(ActionMatches{\'Microsoft.Authorization/roleAssignments/write\'})) OR (@Request[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals {${roleList}} AND @Request[Microsoft.Authorization/roleAssignments:PrincipalType] ForAnyOfAnyValues:StringEqualsIgnoreCase {\'Group\'})) AND ((!(ActionMatches{\'Microsoft.Authorization/roleAssignments/delete\'})) OR (@Resource[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals {${roleList}} AND @Resource[Microsoft.Authorization/roleAssignments:PrincipalType] ForAnyOfAnyValues:StringEqualsIgnoreCase {\'Group\'}))'

resource provisioner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(subscription().id, principalId, provisionerRoleDefinitionId)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', provisionerRoleDefinitionId)
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'aml-steward: create project resource groups, workspaces and their dependencies'
  }
}

resource rbacAdministrator 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(subscription().id, principalId, rbacAdministratorRoleId)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', rbacAdministratorRoleId)
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'aml-steward: grant the access matrix roles to project groups, nothing else'
    condition: abacCondition
    conditionVersion: '2.0'
  }
}

output abacCondition string = abacCondition
