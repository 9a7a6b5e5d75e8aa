/**
 * The ML API version the segregation checks read with (the SDK's): datastores, connections and
 * data versions all exist in it. One place, so the event path, the nightly scan and promotion's
 * data-URI check read the same shapes.
 */
export const ML_API_VERSION = "2022-10-01";
