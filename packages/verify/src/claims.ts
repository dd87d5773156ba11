/**
 * The token checks beyond the signature: shape and size, the required claims, and the mapping of
 * jose's failures to {@link VerifyError}s.
 *
 * @packageDocumentation
 */
import type { JWTPayload } from 'jose';
import { VerifyError, invalidToken, unavailable } from './errors.js';
import { UpstreamError } from './metadata.js';
import type { AccessTokenClaims } from './protocol/index.js';

/** Longest token accepted before any parsing (REQ-JWT7): 8 KiB. */
export const MAX_TOKEN_LENGTH = 8192;

/** Claims every access token must carry (RFC 9068 §2.2). */
export const REQUIRED_CLAIMS: readonly string[] = Object.freeze(['iss', 'sub', 'aud', 'exp', 'iat', 'jti', 'client_id']);

/** A JWS compact serialisation: three base64url segments. */
export const JWS_COMPACT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** Human-readable, token-free descriptions for jose failures. */
function describeJoseError(err: { code?: unknown; claim?: unknown; reason?: unknown }): string {
  switch (err.code) {
    case 'ERR_JWT_EXPIRED':
      return 'the access token expired';
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED': {
      const claim = typeof err.claim === 'string' ? err.claim : '';
      if (err.reason === 'missing' && REQUIRED_CLAIMS.includes(claim)) return `the access token lacks the ${claim} claim`;
      if (claim === 'typ') return 'the token is not an access token (typ must be at+jwt)';
      if (claim === 'iss') return 'the access token has an unexpected issuer';
      if (claim === 'aud') return 'the access token is not intended for this resource server';
      if (claim === 'nbf') return 'the access token is not yet valid';
      if (['iat', 'exp', 'nbf'].includes(claim)) return `the access token has an invalid ${claim} claim`;
      return 'the access token claims are invalid';
    }
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return 'the access token signing algorithm is not allowed';
    case 'ERR_JOSE_NOT_SUPPORTED':
      return 'the access token signing algorithm is not supported';
    case 'ERR_JWKS_NO_MATCHING_KEY':
      return 'no signing key matches the access token';
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return 'the access token signing key is ambiguous';
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return 'the access token signature is invalid';
    case 'ERR_JWS_INVALID':
    case 'ERR_JWT_INVALID':
      return 'malformed access token';
    default:
      return 'the access token is invalid';
  }
}

/** Maps a jose (or JWKS) failure to the VerifyError the caller sees. */
export function mapError(err: unknown, realm: string): VerifyError {
  if (err instanceof VerifyError) return err;
  const e = err as { code?: unknown; name?: unknown } | null;
  if (err instanceof UpstreamError || e?.code === 'ERR_JWKS_TIMEOUT' || e?.code === 'ERR_JWKS_INVALID' || e?.code === 'ERR_JOSE_GENERIC') {
    return unavailable(realm, 'the signing keys are unavailable', err);
  }
  if (e && typeof e.code === 'string' && e.code.startsWith('ERR_')) return invalidToken(realm, describeJoseError(e as { code: string }), err);
  return invalidToken(realm, 'the access token is invalid', err);
}

/** The claim checks jose does not make: string ids within bounds, numeric times, iat not in the future, scope a string. */
export function checkClaims(p: JWTPayload, realm: string, clockTolerance: number): AccessTokenClaims {
  const str = (v: unknown, max: number) => typeof v === 'string' && v.length > 0 && v.length <= max;
  if (!str(p.sub, 1024)) throw invalidToken(realm, 'the access token has an invalid sub claim');
  if (!str(p.client_id, 1024)) throw invalidToken(realm, 'the access token has an invalid client_id claim');
  if (!str(p.jti, 1024)) throw invalidToken(realm, 'the access token has an invalid jti claim');
  if (typeof p.iss !== 'string') throw invalidToken(realm, 'the access token has an unexpected issuer');
  if (typeof p.exp !== 'number' || typeof p.iat !== 'number') throw invalidToken(realm, 'the access token has invalid time claims');
  if (p.iat > Math.floor(Date.now() / 1000) + clockTolerance) throw invalidToken(realm, 'the access token has an invalid iat claim');
  if (p.scope !== undefined && typeof p.scope !== 'string') throw invalidToken(realm, 'the access token has an invalid scope claim');
  return p as AccessTokenClaims;
}
