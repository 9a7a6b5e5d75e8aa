/**
 * The bearer token of an `Authorization` header, if it has one. Apart from the validator so
 * that reading a header does not load jose: the HTTP functions load it with their first call.
 */
export function bearerToken(header: string | null | undefined): string | undefined {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
  return m?.[1];
}
