/**
 * Azure built-in role definitions the estate policy may grant. Their GUIDs are the same in
 * every tenant. `includes` lists the roles whose permissions a role fully contains; it lets
 * the policy check compare the privilege of two role sets ("prod is more restrictive than
 * dev") without calling Azure.
 */
export interface BuiltInRole {
  id: string;
  name: string;
  includes: readonly string[];
}

export const BUILT_IN_ROLES: readonly BuiltInRole[] = [
  { id: "8e3af657-a8ff-443c-a75c-2fe8c4bcb635", name: "Owner", includes: ["*"] },
  {
    id: "b24988ac-6180-42a0-ab88-20f7382dd24c",
    name: "Contributor",
    includes: ["Reader", "AzureML Data Scientist", "AzureML Compute Operator", "Tag Contributor"],
  },
  { id: "acdd72a7-3385-48ef-bd42-f606fba81ae7", name: "Reader", includes: [] },
  { id: "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9", name: "User Access Administrator", includes: [] },
  {
    id: "f58310d9-a9f6-439a-9e8d-f62e7b41a168",
    name: "Role Based Access Control Administrator",
    includes: [],
  },
  { id: "4a9ae827-6dc8-4573-8ac7-8239d42aa03f", name: "Tag Contributor", includes: [] },
  { id: "f6c7c914-8db3-469d-8ca1-694a8f32e121", name: "AzureML Data Scientist", includes: [] },
  { id: "e503ece1-11d0-4e8e-8e2c-7a6c3bf38815", name: "AzureML Compute Operator", includes: [] },
  { id: "1823dd4f-9b8c-4ab6-ab4e-7397a3684615", name: "AzureML Registry User", includes: [] },
  { id: "b78c5d69-af96-48a3-bf8d-a8b4d589de94", name: "Azure AI Administrator", includes: [] },
  { id: "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1", name: "Storage Blob Data Reader", includes: [] },
  {
    id: "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
    name: "Storage Blob Data Contributor",
    includes: ["Storage Blob Data Reader"],
  },
];

const byId = new Map(BUILT_IN_ROLES.map((r) => [r.id, r]));

export function builtInRoleById(id: string): BuiltInRole | undefined {
  return byId.get(id.toLowerCase());
}

/** Every built-in role name a set of role ids grants, directly or through `includes`. */
export function effectivePrivileges(roleIds: readonly string[]): Set<string> {
  const out = new Set<string>();
  const visit = (name: string) => {
    if (out.has(name)) return;
    out.add(name);
    const role = BUILT_IN_ROLES.find((r) => r.name === name);
    for (const inc of role?.includes ?? []) {
      if (inc === "*") BUILT_IN_ROLES.forEach((r) => visit(r.name));
      else visit(inc);
    }
  };
  for (const id of roleIds) visit(builtInRoleById(id)?.name ?? id.toLowerCase());
  return out;
}
