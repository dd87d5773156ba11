/**
 * What a tokenmill access token is on the wire (RFC 9068): its `typ`, the algorithms it can be
 * signed with, and its claims.
 *
 * @packageDocumentation
 */
import type { JWTPayload } from 'jose';

/** The algorithms tokenmill signs access tokens with (SIGNING_ALG, a client's `access_token_signing_alg`). */
export const ACCESS_TOKEN_ALGS = Object.freeze(['ES256', 'RS256', 'PS256', 'EdDSA'] as const);
/** One of {@link ACCESS_TOKEN_ALGS}. */
export type AccessTokenAlg = (typeof ACCESS_TOKEN_ALGS)[number];

/** The JOSE header `typ` of every access token (RFC 9068 §2.1). */
export const ACCESS_TOKEN_TYP = 'at+jwt';

/** Longest lifetime any access token can have, in seconds (ACCESS_TOKEN_TTL and access_token_ttl are capped at it). */
export const MAX_TOKEN_LIFETIME = 86_400;

/** The claims of a tokenmill access token (RFC 9068 §2.2). */
export interface AccessTokenClaims extends JWTPayload {
  iss: string;
  /** The client id (client-credentials tokens). */
  sub: string;
  client_id: string;
  aud: string | string[];
  exp: number;
  iat: number;
  jti: string;
  /** Space-separated granted scopes, when any. */
  scope?: string;
  /** The organization of the client (Auth0's claim name), when it belongs to one. */
  org_id?: string;
}
