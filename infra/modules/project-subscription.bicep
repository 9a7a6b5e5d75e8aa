// The project subscription, where promotions create each project's environments.
//
// 1. A custom role, "aml-steward promotion", listing exactly the actions a promotion needs
//    (resource groups, the workspace and its dependency types, promoted assets, budgets: read and
//    write, no deletes, no reading of keys, nothing under Microsoft.Authorization). Its definition is
//    generated from shared/setup/contract.ts into infra/generated/app-roles.json; docs/deploy.md
//    says why each action is there. No Contributor.
// 2. Role Based Access Control Administrator with an ABAC condition (version 2.0): the identity
//    may create role assignments only for the roles of the estate policy's access matrix and
//    only for principals of type Group, and delete only those (with access.drift: restore, also
//    hand-made assignments of the privileged roles, to users and service principals: it can
//    remove them from the project's scopes, never create them). No Owner, no User Access
//    Administrator.
//    The role list comes from infra/generated/access-matrix-roles.json; shared/setup/contract.ts
//    (abacCondition) builds the identical text, and test/unit/infra-abac.test.ts checks both.
targetScope = 'subscription'

@description('Required. Object (principal) id of aml-steward\'s managed identity.')
param principalId string

@description('Required. Role definition GUIDs of the access matrix (from infra/generated/access-matrix-roles.json).')
param accessMatrixRoleDefinitionIds array

@description('Required. Role definition GUIDs the app may delete assignments of (access-matrix-roles.json deleteRoleDefinitionIds).')
param deleteRoleDefinitionIds array

@description('Required. Principal types the app may delete assignments to (access-matrix-roles.json deletePrincipalTypes).')
param deletePrincipalTypes array

@description('Required. The generated custom promotion role (infra/generated/app-roles.json: promotionRole).')
param promotionRole object

var rbacAdministratorRoleId = 'f58310d9-a9f6-439a-9e8d-f62e7b41a168'

var roleList = join(accessMatrixRoleDefinitionIds, ', ')
var deleteRoleList = join(deleteRoleDefinitionIds, ', ')
var deleteTypeList = join(map(deletePrincipalTypes, t => '\'${t}\''), ', ')
var abacCondition = '((!(ActionMatches{\'Microsoft.Authorization/roleAssignments/write\'})) OR (@Request[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals {${roleList}} AND @Request[Microsoft.Authorization/roleAssignments:PrincipalType] ForAnyOfAnyValues:StringEqualsIgnoreCase {\'Group\'})) AND ((!(ActionMatches{\'Microsoft.Authorization/roleAssignments/delete\'})) OR (@Resource[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals {${deleteRoleList}} AND @Resource[Microsoft.Authorization/roleAssignments:PrincipalType] ForAnyOfAnyValues:StringEqualsIgnoreCase {${deleteTypeList}}))'

resource promotionRoleDefinition 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: promotionRole.id
  properties: {
    roleName: promotionRole.roleName
    description: promotionRole.description
    type: 'CustomRole'
    permissions: [
      {
        actions: promotionRole.actions
        notActions: []
        dataActions: []
        notDataActions: []
      }
    ]
    assignableScopes: [
      subscription().id
    ]
  }
}

resource promotion 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(subscription().id, principalId, promotionRole.id)
  properties: {
    roleDefinitionId: promotionRoleDefinition.id
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'aml-steward: create project resource groups, workspaces with their dependencies, promoted assets and budgets'
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
