/**
 * OData string literals for ARM and Graph `$filter`s. User input never reaches a filter except
 * through `odataString`, which doubles single quotes as OData requires.
 */
export function odataString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** `field eq 'value'`, safely quoted. */
export function odataEq(field: string, value: string): string {
  if (!/^[A-Za-z][A-Za-z0-9/.]*$/.test(field)) throw new Error(`not an OData field name: ${field}`);
  return `${field} eq ${odataString(value)}`;
}

/**
 * `field eq 'value'` for the Graph client's `.filter()`, which puts the text into the URL as
 * it is: a value holding '&', '#', '+' or '%' would otherwise cut or change the query.
 * (The ARM SDKs encode query parameters themselves; use `odataEq` there.)
 */
export function graphFilterEq(field: string, value: string): string {
  return encodeURIComponent(odataEq(field, value));
}
