import { createHash } from 'node:crypto';
import { createLocalJWKSet, createRemoteJWKSet, customFetch, decodeProtectedHeader, errors, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { clientUsable, type Client } from '../../clients/client.js';
import { InvalidClient, InvalidRequest } from '../../errors/oauth-errors.js';
import { epochSeconds } from '../../lib/clock.js';
import { publicOnlyFetch } from '../../lib/public-fetch.js';
import type { OAuthContext } from '../context.js';
import { ASSERTION_MAX_FUTURE_IAT_SECONDS } from '../../storage/types.js';
import { MAX_CLIENT_ID, isVschar } from '../../protocol/index.js';
import { toKeyObject, verifyJwsSignature } from './assertion-signature.js';

export const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const MAX_ASSERTION_LENGTH = 8192; // REQ-JWT7
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/; // REQ-J2: one compact JWS, nothing else
const CLOCK_SKEW = 15; // seconds (threat model §3.5)
const MAX_LIFETIME = 300; // seconds: exp at most 5 minutes ahead (contract, rfc7523bis)
const ACCEPTED_TYP = new Set(['jwt', 'client-authentication+jwt', 'application/client-authentication+jwt']);

interface KeySetEntry {
  updatedAt: number;
  keySet: JWTVerifyGetKey;
}
const keySets = new Map<string, KeySetEntry>();

const guardedFetch = publicOnlyFetch();

/**
 * The client's registered keys (REQ-J9: never from jku, x5u, jwk or x5c headers). In production a
 * jwks_uri is fetched only from public addresses, checked when connecting (REQ-D8).
 */
function keySetFor(client: Client, production: boolean): JWTVerifyGetKey {
  const cached = keySets.get(client.clientId);
  if (cached && cached.updatedAt === client.updatedAt) return cached.keySet;
  let keySet: JWTVerifyGetKey;
  if (client.jwks) keySet = createLocalJWKSet(client.jwks);
  else if (client.jwksUri) {
    keySet = createRemoteJWKSet(new URL(client.jwksUri), {
      timeoutDuration: 2500,
      cooldownDuration: 30_000,
      cacheMaxAge: 600_000,
      ...(production ? { [customFetch]: guardedFetch } : {}),
    });
  } else throw new InvalidClient('client has no registered keys', 'assertion');
  if (keySets.size > 10_000) keySets.clear();
  keySets.set(client.clientId, { updatedAt: client.updatedAt, keySet });
  return keySet;
}

/** REQ-J12: the payload must be a JSON object without duplicate member names at its top level. */
function hasDuplicateTopLevelMembers(json: string): boolean {
  const seen = new Set<string>();
  let depth = 0;
  let i = 0;
  let expectKey = false;
  while (i < json.length) {
    const ch = json[i];
    if (ch === '"') {
      let j = i + 1;
      while (j < json.length && json[j] !== '"') j += json[j] === '\\' ? 2 : 1;
      if (depth === 1 && expectKey) {
        const key = JSON.parse(json.slice(i, j + 1)) as string;
        if (seen.has(key)) return true;
        seen.add(key);
        expectKey = false;
      }
      i = j + 1;
      continue;
    }
    if (ch === '{' || ch === '[') {
      depth++;
      if (depth === 1) expectKey = true;
    } else if (ch === '}' || ch === ']') depth--;
    else if (ch === ',' && depth === 1) expectKey = true;
    i++;
  }
  return false;
}

function readPayload(assertion: string): JWTPayload {
  const segment = assertion.split('.', 2)[1] ?? '';
  let json: string;
  try {
    json = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(segment, 'base64url'));
  } catch {
    throw new InvalidClient('assertion payload is not UTF-8', 'assertion');
  }
  let payload: unknown;
  try {
    payload = JSON.parse(json);
  } catch {
    throw new InvalidClient('assertion payload is not JSON', 'assertion');
  }
  if (!payload || typeof payload !== 'object' || Array.isArray(payload)) throw new InvalidClient('assertion payload is not a JSON object', 'assertion');
  if (hasDuplicateTopLevelMembers(json)) throw new InvalidClient('assertion payload has duplicate members', 'assertion');
  return payload as JWTPayload;
}

/**
 * The signature of the assertion, as jose's jwtVerify checks it (crit, alg allow-list, one matching
 * registered key, RSA of 2048 bits or more), but verified with node:crypto on libuv's thread pool
 * (assertion-signature.ts). Throws unless the signature was verified.
 */
async function verifySignature(assertion: string, header: ReturnType<typeof decodeProtectedHeader>, algorithms: readonly string[], keySet: JWTVerifyGetKey): Promise<void> {
  const alg = header.alg;
  if (typeof alg !== 'string' || alg.length === 0) throw new InvalidClient('assertion rejected: ERR_JWS_INVALID', 'assertion');
  if (!algorithms.includes(alg)) throw new InvalidClient('assertion rejected: ERR_JOSE_ALG_NOT_ALLOWED', 'assertion');
  // RFC 7515 §4.1.11: the only extension jose understands is b64 (RFC 7797), and a JWT must not use it unencoded.
  if (header.crit !== undefined) {
    const crit: unknown = header.crit;
    if (!Array.isArray(crit) || crit.length === 0 || new Set(crit).size !== crit.length || crit.some((c) => c !== 'b64')) throw new InvalidClient('assertion rejected: unsupported crit', 'assertion');
    if (header.b64 !== true) throw new InvalidClient('assertion rejected: ERR_JWT_INVALID', 'assertion');
  }
  const [encodedHeader, encodedPayload, encodedSignature] = assertion.split('.') as [string, string, string];
  let key: unknown;
  try {
    key = await keySet({ ...header, alg }, { payload: encodedPayload, signature: encodedSignature, protected: encodedHeader } as unknown as Parameters<JWTVerifyGetKey>[1]);
  } catch (err) {
    if (err instanceof errors.JOSEError) throw new InvalidClient(`assertion rejected: ${err.code}`, 'assertion');
    throw new InvalidClient('assertion rejected', 'assertion');
  }
  const keyObject = toKeyObject(key);
  if (!keyObject) throw new InvalidClient('assertion rejected: unusable key', 'assertion');
  const verified = await verifyJwsSignature(alg, keyObject, `${encodedHeader}.${encodedPayload}`, Buffer.from(encodedSignature, 'base64url'));
  if (verified !== true) throw new InvalidClient('assertion rejected: ERR_JWS_SIGNATURE_VERIFICATION_FAILED', 'assertion');
}

/** The registered claims as jose's jwtVerify checked them (iss = sub = client_id; exp and jti required; 15 s of skew). */
function checkClaims(claims: JWTPayload, sub: string, now: number): void {
  for (const name of ['iss', 'sub', 'exp', 'jti'] as const) if (!Object.hasOwn(claims, name)) throw new InvalidClient(`assertion rejected: missing ${name}`, 'assertion');
  if (claims.iss !== sub || claims.sub !== sub) throw new InvalidClient('assertion rejected: ERR_JWT_CLAIM_VALIDATION_FAILED', 'assertion');
  if (claims.iat !== undefined && typeof claims.iat !== 'number') throw new InvalidClient('assertion iat is not a number', 'assertion');
  if (claims.nbf !== undefined) {
    if (typeof claims.nbf !== 'number') throw new InvalidClient('assertion nbf is not a number', 'assertion');
    if (claims.nbf > now + CLOCK_SKEW) throw new InvalidClient('assertion rejected: nbf in the future', 'assertion');
  }
  if (typeof claims.exp !== 'number') throw new InvalidClient('assertion exp is not a number', 'assertion');
  if (claims.exp <= now - CLOCK_SKEW) throw new InvalidClient('assertion rejected: ERR_JWT_EXPIRED', 'assertion');
}

/**
 * RFC 7523 §3 with draft-ietf-oauth-rfc7523bis: authenticates a client by its signed assertion.
 * Every failure is invalid_client (REQ-J13); the jti is claimed single-use on every node (REQ-J7),
 * and an unreachable replay cache fails closed (503).
 */
export async function authenticateAssertion(assertion: string, assertionType: string | undefined, bodyClientId: string | undefined, ctx: OAuthContext): Promise<Client> {
  if (assertionType !== ASSERTION_TYPE) throw new InvalidRequest('client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
  if (assertion.length > MAX_ASSERTION_LENGTH || !COMPACT_JWS.test(assertion)) throw new InvalidClient('assertion is not a compact JWS', 'assertion');

  const claims = readPayload(assertion);
  const sub = claims.sub;
  if (typeof sub !== 'string' || typeof claims.iss !== 'string' || claims.iss !== sub) throw new InvalidClient('assertion iss and sub must both be the client_id', 'assertion');
  if (!isVschar(sub, MAX_CLIENT_ID)) throw new InvalidClient('assertion sub is not a client_id', 'assertion');
  if (bodyClientId !== undefined && bodyClientId !== sub) throw new InvalidRequest('client_id does not match the authenticated client');

  const client = await ctx.clients.get(sub);
  if (!client) throw new InvalidClient('unknown client', 'assertion');
  if (!clientUsable(client)) throw new InvalidClient('client is disabled', 'disabled');
  if (client.tokenEndpointAuthMethod !== 'private_key_jwt') throw new InvalidClient('client is not registered for private_key_jwt', 'method_mismatch');

  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(assertion);
  } catch {
    throw new InvalidClient('assertion header is malformed', 'assertion');
  }
  if (header.typ !== undefined && (typeof header.typ !== 'string' || !ACCEPTED_TYP.has(header.typ.toLowerCase()))) throw new InvalidClient('assertion typ is not acceptable', 'assertion');

  const algorithms = client.tokenEndpointAuthSigningAlg ? [client.tokenEndpointAuthSigningAlg] : ctx.config.assertionAlgs;
  const now = epochSeconds(ctx.clock);
  await verifySignature(assertion, header, algorithms, keySetFor(client, ctx.config.production));
  checkClaims(claims, sub, now);

  // REQ-J4: the issuer identifier as the sole audience, a single string (arrays refused).
  const expected = ctx.config.assertionAudienceTokenEndpoint ? [ctx.config.issuer, `${ctx.config.issuer}/oauth2/token`] : [ctx.config.issuer];
  if (typeof claims.aud !== 'string' || !expected.includes(claims.aud)) throw new InvalidClient('assertion aud must be the issuer identifier', 'assertion');

  const exp = claims.exp as number;
  if (exp - now > MAX_LIFETIME + CLOCK_SKEW) throw new InvalidClient('assertion exp is too far in the future', 'assertion');
  if (claims.iat !== undefined) {
    if (typeof claims.iat !== 'number') throw new InvalidClient('assertion iat is not a number', 'assertion');
    // REQ-J6: a little clock skew, no more (ASSERTION_MAX_FUTURE_IAT_SECONDS, rather than up to 60 s),
    // so that after a loss of replay markers at L every assertion with iat > L + that is certainly
    // new (RFC 7523 §3 item 7, REQ-J7; see ReplayCache) and fresh assertions work again within 10 s.
    if (claims.iat > now + ASSERTION_MAX_FUTURE_IAT_SECONDS) throw new InvalidClient('assertion iat is in the future', 'assertion');
    if (exp - claims.iat > MAX_LIFETIME + CLOCK_SKEW || now - claims.iat > MAX_LIFETIME + CLOCK_SKEW) throw new InvalidClient('assertion lifetime is too long', 'assertion');
  }
  if (claims.nbf !== undefined && typeof claims.nbf !== 'number') throw new InvalidClient('assertion nbf is not a number', 'assertion');
  const jti = claims.jti;
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > 256) throw new InvalidClient('assertion jti is missing or too long', 'assertion');

  // The key is hashed so client input never shapes a store key's length or characters.
  const replayKey = createHash('sha256').update(sub).update('\u0000').update(jti).digest('base64url');
  if (!(await ctx.replay.claim(replayKey, exp + CLOCK_SKEW, typeof claims.iat === 'number' ? claims.iat : null)))
    throw new InvalidClient('assertion jti was already used (or may have been: replay state was lost)', 'replay');
  return client;
}
