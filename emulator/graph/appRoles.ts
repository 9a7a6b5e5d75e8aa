/**
 * The Microsoft Graph service principal every Entra tenant has, with a subset of its application
 * permissions (app roles). App ids and app role ids are Microsoft's well-known values, the same in
 * every tenant (checked against Microsoft's Graph permissions reference and several published
 * lists; see docs/emulator.md). Only the object id of the service principal is the emulator's own:
 * in Azure it differs from tenant to tenant, which is why callers look it up by appId.
 */
import type { AppRole } from "../types.js";

/** Microsoft Graph's application id. */
export const GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000";
/** Object id of Microsoft Graph's service principal in the emulated tenant (tenant-specific in Azure). */
export const GRAPH_SERVICE_PRINCIPAL_ID = "6b3b6d38-2c0e-4f4b-9a57-0c1d2e3f4a5b";
/** The tenant that owns Microsoft's first-party applications (appOwnerOrganizationId). */
export const MICROSOFT_SERVICES_TENANT_ID = "f8cdef31-a31e-4b4a-93e4-5f571e91255a";

const role = (id: string, value: string, displayName: string, description: string): AppRole => ({
  id,
  value,
  displayName,
  description,
  allowedMemberTypes: ["Application"],
  isEnabled: true,
  origin: "Application",
});

/** Application permissions of Microsoft Graph that aml-steward needs, or must recognise as too broad. */
export const GRAPH_APP_ROLES: readonly AppRole[] = [
  role(
    "bf7b1a76-6e77-406b-b258-bf5c7720e98f",
    "Group.Create",
    "Create groups",
    "Lets the app create groups without a signed-in user.",
  ),
  role(
    "5b567255-7703-4780-807c-7be8301ae99b",
    "Group.Read.All",
    "Read all groups",
    "Lets the app read every group's properties and memberships without a signed-in user.",
  ),
  role(
    "62a82d76-70ea-41e2-9197-370581804d09",
    "Group.ReadWrite.All",
    "Read and write all groups",
    "Lets the app create, read, update and delete every group without a signed-in user.",
  ),
  role(
    "98830695-27a2-44f7-8c18-0c3ebc9698f6",
    "GroupMember.Read.All",
    "Read all group memberships",
    "Lets the app read the memberships of every group without a signed-in user.",
  ),
  role(
    "dbaae8cf-10b5-4b86-a4a1-f871c94c6695",
    "GroupMember.ReadWrite.All",
    "Read and write all group memberships",
    "Lets the app read and change the memberships of every group without a signed-in user.",
  ),
  role(
    "df021288-bdef-4463-88db-98f22de89214",
    "User.Read.All",
    "Read all users' full profiles",
    "Lets the app read user profiles without a signed-in user.",
  ),
  role(
    "97235f07-e226-4f63-ace3-39588e11d3a1",
    "User.ReadBasic.All",
    "Read all users' basic profiles",
    "Lets the app read a basic set of user profile properties without a signed-in user.",
  ),
  role(
    "741f803b-c850-494e-b5df-cde7c675a1ca",
    "User.ReadWrite.All",
    "Read and write all users' full profiles",
    "Lets the app read and update user profiles without a signed-in user.",
  ),
  role(
    "9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30",
    "Application.Read.All",
    "Read all applications",
    "Lets the app read applications and service principals without a signed-in user.",
  ),
  role(
    "1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9",
    "Application.ReadWrite.All",
    "Read and write all applications",
    "Lets the app create, read, update and delete applications and service principals without a signed-in user.",
  ),
  role(
    "06b708a9-e830-4db3-a914-8e69da51d44f",
    "AppRoleAssignment.ReadWrite.All",
    "Manage app permission grants and app role assignments",
    "Lets the app grant application permissions and app role assignments without a signed-in user.",
  ),
  role(
    "7ab1d382-f21e-4acd-a863-ba3e13f7da61",
    "Directory.Read.All",
    "Read directory data",
    "Lets the app read directory data such as users, groups and apps without a signed-in user.",
  ),
  role(
    "19dbc75e-c2e2-444c-a770-ec69d8559fc7",
    "Directory.ReadWrite.All",
    "Read and write directory data",
    "Lets the app read and write directory data such as users and groups without a signed-in user.",
  ),
  role(
    "9e3f62cf-ca93-4989-b6ce-bf83c28f9fe8",
    "RoleManagement.ReadWrite.Directory",
    "Read and write all directory RBAC settings",
    "Lets the app read and manage the directory's role-based access control settings without a signed-in user.",
  ),
];
