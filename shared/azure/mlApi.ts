/**
 * The ML API version of the ML SDK the app pins, for the generic ARM reads of ML resources
 * (workspaces, datastores, connections, data versions all exist in it). One place, so the
 * access checks, the segregation checks and promotion's data-URI check read the same shapes.
 */
export const ML_API_VERSION = "2022-10-01";
