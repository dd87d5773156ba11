import { importJWK, type JWK, type JSONWebKeySet } from 'jose';
import { InvalidClientMetadata } from '../errors/oauth-errors.js';
import { isPrivateHost } from '../lib/private-address.js';
import { checkAudienceBounds, checkScopeBounds } from './metadata-bounds.js';
import { ACCESS_TOKEN_ALGS as SIGNING_ALGS, CLIENT_AUTH_METHODS as AUTH_METHODS, parseScope } from '../protocol/index.js';
import { isSecretMethod, type AuthMethod, type Client, type SigningAlg } from './client.js';

/** The metadata a registration (RFC 7591 §2) or an update may set, validated. */
export type ClientMetadata = Pick<
  Client,
  'clientName' | 'tokenEndpointAuthMethod' | 'tokenEndpointAuthSigningAlg' | 'accessTokenSigningAlg' | 'grantTypes' | 'scopes' | 'audiences' | 'accessTokenTtl' | 'jwks' | 'jwksUri'
>;

export interface MetadataPolicy {
  production: boolean;
  /** client-assertion algorithms this deployment accepts */
  assertionAlgs: readonly string[];
}

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];
const KEPT_MEMBERS = ['kty', 'crv', 'x', 'y', 'n', 'e', 'kid', 'alg', 'use'];
const CURVES: Record<string, readonly string[]> = { EC: ['P-256', 'P-384', 'P-521'], OKP: ['Ed25519'] };
const ALG_FOR_KEY: Record<string, (jwk: JWK) => string> = {
  EC: (jwk) => ({ 'P-256': 'ES256', 'P-384': 'ES384', 'P-521': 'ES512' })[jwk.crv ?? ''] ?? 'ES256',
  RSA: () => 'PS256',
  OKP: () => 'EdDSA',
};

/**
 * The RFC 7591 §2 members (and extensions) `parseClientMetadata` reads. RFC 7592 self-service
 * (`self-service-policy.ts`) refuses a change to any of them that is not on its allow-list.
 */
export const REGISTRATION_METADATA_FIELDS = [
  'client_name',
  'token_endpoint_auth_method',
  'token_endpoint_auth_signing_alg',
  'grant_types',
  'response_types',
  'scope',
  'audience',
  'access_token_ttl',
  'access_token_signing_alg',
  'jwks',
  'jwks_uri',
  // read by the registration route (the super admin's registration into an organization)
  'org_id',
] as const;

/**
 * C0 and C1 controls, and the Unicode bidirectional formatting characters (embeddings, overrides,
 * isolates and marks) that make a name display as something else (CVE-2021-42574 "Trojan Source").
 */
const UNSAFE_TEXT = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

const bad = (field: string, why: string): InvalidClientMetadata => new InvalidClientMetadata(`${field}: ${why}`);

function optionalString(body: Record<string, unknown>, field: string, max = 2048): string | null {
  const v = body[field];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string' || v.length === 0 || v.length > max) throw bad(field, `must be a non-empty string of at most ${max} characters`);
  if (UNSAFE_TEXT.test(v)) throw bad(field, 'must not contain control characters or bidirectional formatting characters');
  return v;
}

async function validateJwks(value: unknown): Promise<JSONWebKeySet> {
  if (!value || typeof value !== 'object' || !Array.isArray((value as { keys?: unknown }).keys)) throw bad('jwks', 'must be an object with a keys array');
  const keys = (value as { keys: unknown[] }).keys;
  if (keys.length === 0 || keys.length > 20) throw bad('jwks', 'must hold between 1 and 20 keys');
  const kids = new Set<string>();
  const out: JWK[] = [];
  for (const raw of keys) {
    if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw bad('jwks', 'every key must be a JWK object');
    const jwk = raw as JWK & Record<string, unknown>;
    if (PRIVATE_MEMBERS.some((m) => m in jwk)) throw bad('jwks', 'keys must be public: private or symmetric members are not allowed');
    const kty = jwk.kty;
    if (kty !== 'EC' && kty !== 'RSA' && kty !== 'OKP') throw bad('jwks', 'kty must be EC, RSA or OKP');
    if (CURVES[kty] && !CURVES[kty].includes(String(jwk.crv))) throw bad('jwks', `unsupported curve for ${kty}`);
    if (kty === 'RSA' && (typeof jwk.n !== 'string' || Buffer.from(jwk.n, 'base64url').length * 8 < 2048)) throw bad('jwks', 'RSA keys must be at least 2048 bits');
    if (jwk.use !== undefined && jwk.use !== 'sig') throw bad('jwks', 'use must be sig');
    if (jwk.alg !== undefined && (typeof jwk.alg !== 'string' || !/^[A-Za-z0-9]{2,16}$/.test(jwk.alg))) throw bad('jwks', 'alg must be a JWS algorithm name');
    if (jwk.kid !== undefined) {
      if (typeof jwk.kid !== 'string' || jwk.kid.length === 0 || jwk.kid.length > 256 || !/^[\x20-\x7E]+$/.test(jwk.kid)) throw bad('jwks', 'kid must be a non-empty printable ASCII string');
      if (kids.has(jwk.kid)) throw bad('jwks', 'kid values must be unique');
      kids.add(jwk.kid);
    } else if (keys.length > 1) {
      throw bad('jwks', 'every key needs a kid when there are several');
    }
    try {
      await importJWK(jwk, typeof jwk.alg === 'string' ? jwk.alg : (ALG_FOR_KEY[kty]?.(jwk) ?? 'ES256'));
    } catch {
      throw bad('jwks', 'a key could not be imported');
    }
    // Only the members a verification key needs are stored; anything else the client sent is dropped.
    const kept: Record<string, unknown> = {};
    for (const m of KEPT_MEMBERS) if (jwk[m] !== undefined) kept[m] = jwk[m];
    out.push(kept as JWK);
  }
  return { keys: out };
}

/**
 * Validates RFC 7591 §2 metadata (plus the extensions `audience`, `access_token_ttl` and
 * `access_token_signing_alg`). Unknown fields are ignored (REQ-D9); client_id and secrets supplied
 * by the caller are never used (REQ-D10).
 */
export async function parseClientMetadata(input: unknown, policy: MetadataPolicy): Promise<ClientMetadata> {
  if (!input || typeof input !== 'object' || Array.isArray(input)) throw new InvalidClientMetadata('the body must be a JSON object');
  const body = input as Record<string, unknown>;

  const clientName = optionalString(body, 'client_name', 200);

  const method = body.token_endpoint_auth_method ?? 'client_secret_basic';
  if (typeof method !== 'string' || !(AUTH_METHODS as readonly string[]).includes(method)) throw bad('token_endpoint_auth_method', `must be one of ${AUTH_METHODS.join(', ')}`);
  const tokenEndpointAuthMethod = method as AuthMethod;

  const grantTypes = body.grant_types ?? ['client_credentials'];
  if (!Array.isArray(grantTypes) || grantTypes.length === 0 || grantTypes.some((g) => g !== 'client_credentials')) throw bad('grant_types', 'only client_credentials is supported');

  const responseTypes = body.response_types;
  if (responseTypes !== undefined && !(Array.isArray(responseTypes) && responseTypes.length === 0)) throw bad('response_types', 'no response types are supported');

  let scopes: string[] = [];
  if (body.scope !== undefined && body.scope !== null) {
    if (typeof body.scope !== 'string') throw bad('scope', 'must be a space-separated string');
    checkScopeBounds(body.scope);
    const parsed = body.scope === '' ? [] : parseScope(body.scope);
    if (!parsed) throw bad('scope', 'must be space-separated scope tokens (RFC 6749 section 3.3)');
    scopes = parsed;
  }

  let audiences: string[] = [];
  const aud = body.audience;
  if (aud !== undefined && aud !== null) {
    const list = typeof aud === 'string' ? [aud] : aud;
    if (!Array.isArray(list) || list.some((a) => typeof a !== 'string' || a.length === 0 || /[\s\u0000-\u001f]/.test(a))) {
      throw bad('audience', 'must be an array of non-empty strings without whitespace');
    }
    checkAudienceBounds(list as string[]);
    audiences = [...new Set(list as string[])];
  }

  let accessTokenTtl: number | null = null;
  if (body.access_token_ttl !== undefined && body.access_token_ttl !== null) {
    const ttl = body.access_token_ttl;
    if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 1 || ttl > 86400) throw bad('access_token_ttl', 'must be an integer number of seconds between 1 and 86400');
    accessTokenTtl = ttl;
  }

  const signingAlg = body.access_token_signing_alg;
  if (signingAlg !== undefined && signingAlg !== null && !(SIGNING_ALGS as readonly string[]).includes(signingAlg as string))
    throw bad('access_token_signing_alg', `must be one of ${SIGNING_ALGS.join(', ')}`);

  const assertionAlg = body.token_endpoint_auth_signing_alg;
  if (assertionAlg !== undefined && assertionAlg !== null) {
    if (tokenEndpointAuthMethod !== 'private_key_jwt') throw bad('token_endpoint_auth_signing_alg', 'only applies to private_key_jwt');
    if (typeof assertionAlg !== 'string' || !policy.assertionAlgs.includes(assertionAlg)) throw bad('token_endpoint_auth_signing_alg', `must be one of ${policy.assertionAlgs.join(', ')}`);
  }

  if (body.jwks !== undefined && body.jwks !== null && body.jwks_uri !== undefined && body.jwks_uri !== null) throw bad('jwks', 'jwks and jwks_uri must not both be present');
  const jwks = body.jwks !== undefined && body.jwks !== null ? await validateJwks(body.jwks) : null;
  const jwksUri = optionalString(body, 'jwks_uri');
  if (jwksUri !== null) {
    let url: URL;
    try {
      url = new URL(jwksUri);
    } catch {
      throw bad('jwks_uri', 'must be an absolute URL');
    }
    if (url.protocol !== 'https:' && (policy.production || url.protocol !== 'http:')) throw bad('jwks_uri', 'must be an https URL');
    if (url.username || url.password || url.hash) throw bad('jwks_uri', 'must not carry credentials or a fragment');
    if (policy.production && isPrivateHost(url.hostname)) throw bad('jwks_uri', 'must not point at a private or loopback address');
  }
  if (tokenEndpointAuthMethod === 'private_key_jwt' && !jwks && !jwksUri) throw bad('jwks', 'private_key_jwt requires jwks or jwks_uri');
  if (isSecretMethod(tokenEndpointAuthMethod) && (jwks || jwksUri)) throw bad('jwks', 'keys are only used with private_key_jwt');

  return {
    clientName,
    tokenEndpointAuthMethod,
    tokenEndpointAuthSigningAlg: (assertionAlg as string | undefined) ?? null,
    accessTokenSigningAlg: (signingAlg as SigningAlg | undefined) ?? null,
    grantTypes: ['client_credentials'],
    scopes,
    audiences,
    accessTokenTtl,
    jwks,
    jwksUri,
  };
}

/** RFC 7591 §3.2.1 client information (secrets and registration token added by the caller when issued). */
export function clientToMetadata(client: Client, issuer: string, now: number): Record<string, unknown> {
  const out: Record<string, unknown> = {
    client_id: client.clientId,
    client_id_issued_at: Math.floor(client.createdAt / 1000),
    client_name: client.clientName ?? undefined,
    token_endpoint_auth_method: client.tokenEndpointAuthMethod,
    token_endpoint_auth_signing_alg: client.tokenEndpointAuthSigningAlg ?? undefined,
    grant_types: client.grantTypes,
    response_types: [],
    scope: client.scopes.join(' '),
    audience: client.audiences,
    access_token_ttl: client.accessTokenTtl ?? undefined,
    access_token_signing_alg: client.accessTokenSigningAlg ?? undefined,
    jwks: client.jwks ?? undefined,
    jwks_uri: client.jwksUri ?? undefined,
    registration_client_uri: `${issuer}/oauth2/register/${encodeURIComponent(client.clientId)}`,
    org_id: client.orgId ?? undefined,
  };
  if (isSecretMethod(client.tokenEndpointAuthMethod)) {
    // RFC 7591 §3.2.1: 0 only when a secret never expires; otherwise the latest expiry (even if past).
    const neverExpires = client.secrets.some((s) => s.expiresAt === null && s.createdAt <= now);
    const latest = client.secrets.reduce<number | null>((acc, s) => (s.expiresAt === null ? acc : Math.max(acc ?? 0, s.expiresAt)), null);
    out.client_secret_expires_at = neverExpires || latest === null ? 0 : Math.floor(latest / 1000);
  }
  for (const k of Object.keys(out)) if (out[k] === undefined) delete out[k];
  return out;
}
