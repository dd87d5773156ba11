import { InvalidClientMetadata } from '../errors/oauth-errors.js';

/**
 * Bounds on registered metadata that ends up in access tokens. With them the largest token a
 * client can be issued (every scope, the longest audience) stays well under the 8 KiB a verifier
 * accepts (threat model REQ-JWT7), leaving room for the issuer, org ids and RSA-4096 signatures.
 */
export const MAX_SCOPE_TOKEN_LENGTH = 128;
export const MAX_SCOPE_TOKENS = 100;
/** the whole space-separated `scope` string */
export const MAX_SCOPE_LENGTH = 2048;
export const MAX_AUDIENCES = 20;
export const MAX_AUDIENCE_LENGTH = 512;

/** An audience is a URI (RFC 8707 §2) or a plain identifier: printable ASCII, no spaces. */
const AUDIENCE_CHARS = /^[\x21-\x7E]+$/;

/** Throws invalid_client_metadata naming `scope` when the scope string is past a bound. */
export function checkScopeBounds(scope: string): void {
  if (scope.length > MAX_SCOPE_LENGTH) throw new InvalidClientMetadata(`scope: must be at most ${MAX_SCOPE_LENGTH} characters`);
  const tokens = scope.split(' ');
  if (tokens.length > MAX_SCOPE_TOKENS) throw new InvalidClientMetadata(`scope: at most ${MAX_SCOPE_TOKENS} scope tokens`);
  if (tokens.some((s) => s.length > MAX_SCOPE_TOKEN_LENGTH)) throw new InvalidClientMetadata(`scope: each scope token must be at most ${MAX_SCOPE_TOKEN_LENGTH} characters`);
}

/** Throws invalid_client_metadata naming `audience` when the list (already known to hold non-empty strings) is past a bound. */
export function checkAudienceBounds(audiences: readonly string[]): void {
  if (audiences.length > MAX_AUDIENCES) throw new InvalidClientMetadata(`audience: at most ${MAX_AUDIENCES} audiences`);
  if (audiences.some((a) => a.length > MAX_AUDIENCE_LENGTH)) throw new InvalidClientMetadata(`audience: each audience must be at most ${MAX_AUDIENCE_LENGTH} characters`);
  if (audiences.some((a) => !AUDIENCE_CHARS.test(a))) throw new InvalidClientMetadata('audience: must be printable ASCII (a URI or identifier)');
}
