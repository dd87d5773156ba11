import { createLocalJWKSet, jwtVerify, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import { clientUsable, type Client } from '../clients/client.js';
import { TemporarilyUnavailable } from '../errors/oauth-errors.js';
import type { Keyring } from '../keys/keyring.js';
import { epochSeconds } from '../lib/clock.js';
import { randomId16 } from '../lib/random.js';
import { ACCESS_TOKEN_ALGS, ACCESS_TOKEN_TYP, type AccessTokenClaims } from '../protocol/index.js';
import type { OAuthContext } from './context.js';

const MAX_TOKEN_LENGTH = 8192;

/** RFC 9068 §2.2 claims, as tokenmill/verify documents them for resource servers. */
export type { AccessTokenClaims } from '../protocol/index.js';

export interface IssuedToken {
  accessToken: string;
  expiresIn: number;
  scope: string;
}

/** RFC 9068 §2: a JWS with `typ: at+jwt`, a kid from the JWKS, and iss, sub, client_id, aud, exp, iat, jti, scope. */
export async function mintAccessToken(client: Client, scopes: readonly string[], audience: string, ctx: OAuthContext): Promise<IssuedToken> {
  const alg = client.accessTokenSigningAlg ?? ctx.config.signingAlg;
  const key = ctx.keyring.signingKey(alg);
  if (!key) throw new TemporarilyUnavailable(`no active ${alg} signing key`);
  // After a client-wide revocation that covers the current second, new tokens start at its cut-off.
  const iat = Math.max(epochSeconds(ctx.clock), client.tokensRevokedBefore ?? 0);
  const ttl = client.accessTokenTtl ?? ctx.config.accessTokenTtl;
  const scope = scopes.join(' ');
  const claims: Record<string, unknown> = { iss: ctx.config.issuer, sub: client.clientId, client_id: client.clientId, aud: audience, exp: iat + ttl, iat, jti: randomId16() };
  if (scope) claims.scope = scope;
  // Auth0's claim name: resource servers isolate tenants with it (tokenmill/verify `org`).
  if (client.orgId !== null) claims.org_id = client.orgId;
  const accessToken = await key.signer.sign(claims);
  return { accessToken, expiresIn: ttl, scope };
}

let cachedJwks: { source: JSONWebKeySet; keySet: JWTVerifyGetKey } | null = null;
function ownKeySet(keyring: Keyring): JWTVerifyGetKey {
  const jwks = keyring.jwks();
  if (cachedJwks?.source !== jwks) cachedJwks = { source: jwks, keySet: createLocalJWKSet(jwks) };
  return cachedJwks.keySet;
}

/**
 * Verifies a token this server minted (signature by a published key, typ, iss, exp, required
 * claims). Null for anything that is not a currently valid token of ours.
 */
export async function verifyOwnAccessToken(token: string, ctx: OAuthContext, options: { allowExpired?: boolean } = {}): Promise<AccessTokenClaims | null> {
  if (token.length > MAX_TOKEN_LENGTH || !/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(token)) return null;
  try {
    const { payload } = await jwtVerify(token, ownKeySet(ctx.keyring), {
      issuer: ctx.config.issuer,
      typ: ACCESS_TOKEN_TYP,
      algorithms: [...ACCESS_TOKEN_ALGS],
      requiredClaims: ['iss', 'sub', 'client_id', 'aud', 'exp', 'iat', 'jti'],
      currentDate: new Date(options.allowExpired ? 0 : ctx.clock.now()),
    });
    if (typeof payload.client_id !== 'string' || typeof payload.jti !== 'string') return null;
    return payload as AccessTokenClaims;
  } catch {
    return null;
  }
}

/**
 * A token this server minted that is live now: signature, typ, iss and exp hold, `accept` (run
 * before any lookup; it may throw) passes, its client still exists and is active, and it is not
 * revoked (a revocation store that cannot answer throws StoreUnavailableError: 503). Null otherwise.
 * Introspection and admin authentication both decide "active" with it.
 */
export async function liveAccessToken(token: string, ctx: OAuthContext, accept: (claims: AccessTokenClaims) => boolean = () => true): Promise<{ claims: AccessTokenClaims; client: Client } | null> {
  const claims = await verifyOwnAccessToken(token, ctx);
  if (!claims || !accept(claims)) return null;
  const client = await ctx.clients.get(claims.client_id);
  if (!client || !clientUsable(client)) return null;
  if (await ctx.revocations.isRevoked(claims.jti, claims.client_id, claims.iat)) return null;
  return { claims, client };
}
