/**
 * Client authentication at the token endpoint: the methods tokenmill supports (RFC 7591
 * `token_endpoint_auth_method`) and the RFC 6749 §2.3.1 HTTP Basic credentials.
 *
 * @packageDocumentation
 */

/** The `token_endpoint_auth_method` values tokenmill supports. */
export const CLIENT_AUTH_METHODS = Object.freeze(['client_secret_basic', 'client_secret_post', 'private_key_jwt'] as const);
/** One of {@link CLIENT_AUTH_METHODS}. */
export type ClientAuthMethod = (typeof CLIENT_AUTH_METHODS)[number];

/**
 * `application/x-www-form-urlencoded` encoding of one credential half, as RFC 6749 §2.3.1 requires for
 * `client_secret_basic` (space → `+`, everything but unreserved characters percent-encoded).
 */
export function formEncode(value: string): string {
  return encodeURIComponent(value)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+');
}

/**
 * The `Authorization` value for `client_secret_basic` (RFC 6749 §2.3.1):
 * `Basic base64(formEncode(clientId) ":" formEncode(clientSecret))`.
 */
export function basicCredentials(clientId: string, clientSecret: string): string {
  return `Basic ${Buffer.from(`${formEncode(clientId)}:${formEncode(clientSecret)}`, 'utf8').toString('base64')}`;
}
