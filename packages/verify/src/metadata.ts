/**
 * Discovery: the authorization server's RFC 8414 metadata and its JWKS, as the verifier fetches them.
 *
 * @packageDocumentation
 */
import { httpUrl, type Settings } from './options.js';

/** The verifier's configuration contradicts what the authorization server publishes; it will not start. */
export class VerifierConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VerifierConfigError';
  }
}

/** Network-level failure fetching a JWKS, kept apart from token errors so it maps to 503. */
export class UpstreamError extends Error {
  constructor(message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'UpstreamError';
  }
}

/** The fields of the RFC 8414 metadata the verifier uses. */
export interface Metadata {
  issuer: string;
  jwks_uri: string;
  revocation_feed_endpoint?: string;
}

const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth', 'priv'];

/** Keeps only JWKS members that are public signing keys with a `kid` and an allowed `alg` (one key, one alg). */
function filterJwks(json: unknown, allowed: ReadonlySet<string>): unknown {
  if (typeof json !== 'object' || json === null || !Array.isArray((json as { keys?: unknown }).keys)) return json;
  const keys = (json as { keys: unknown[] }).keys.filter((k) => {
    if (typeof k !== 'object' || k === null) return false;
    const jwk = k as Record<string, unknown>;
    if (typeof jwk.kid !== 'string' || jwk.kid === '') return false;
    if (typeof jwk.alg !== 'string' || !allowed.has(jwk.alg)) return false;
    if (jwk.use !== undefined && jwk.use !== 'sig') return false;
    return !PRIVATE_JWK_MEMBERS.some((m) => m in jwk);
  });
  return { keys };
}

/** Fetches and checks `${issuer}/.well-known/oauth-authorization-server`; VerifierConfigError when it contradicts the configuration. */
export async function fetchMetadata(s: Settings, signal: AbortSignal): Promise<Metadata> {
  const url = `${s.issuer.replace(/\/+$/, '')}/.well-known/oauth-authorization-server`;
  let res: Response;
  try {
    res = await s.fetch(url, {
      headers: { accept: 'application/json' },
      redirect: 'error',
      signal: AbortSignal.any([AbortSignal.timeout(s.timeoutDuration), signal]),
    });
  } catch (cause) {
    throw new Error('authorization server metadata request failed', { cause });
  }
  if (res.status !== 200) {
    await res.body?.cancel().catch(() => {});
    throw new Error(`authorization server metadata: HTTP ${res.status}`);
  }
  let m: Record<string, unknown>;
  try {
    m = (await res.json()) as Record<string, unknown>;
  } catch (cause) {
    throw new Error('authorization server metadata is not JSON', { cause });
  }
  if (typeof m !== 'object' || m === null) throw new Error('authorization server metadata is not a JSON object');
  if (m.issuer !== s.issuer) {
    throw new VerifierConfigError('the authorization server metadata issuer does not equal the configured issuer');
  }
  if (!httpUrl(m.jwks_uri)) throw new VerifierConfigError('the authorization server metadata has no valid jwks_uri');
  const r = s.revocations;
  if (r !== undefined && !('redisUrl' in r) && !httpUrl(m.revocation_feed_endpoint)) {
    throw new VerifierConfigError('the authorization server metadata has no valid revocation_feed_endpoint');
  }
  const md: Metadata = { issuer: m.issuer, jwks_uri: m.jwks_uri };
  if (typeof m.revocation_feed_endpoint === 'string') md.revocation_feed_endpoint = m.revocation_feed_endpoint;
  return md;
}

/** fetch for jose: tags transport failures, and keeps only usable keys in the JWKS. */
export function jwksFetch(fetch: typeof globalThis.fetch, allowedAlgs: ReadonlySet<string>) {
  return async (url: string | URL, init?: RequestInit): Promise<Response> => {
    let res: Response;
    try {
      res = await fetch(url, init);
    } catch (err) {
      if (err instanceof Error && err.name === 'TimeoutError') throw err; // jose → JWKSTimeout
      throw new UpstreamError('JWKS request failed', err);
    }
    if (res.status !== 200) {
      await res.body?.cancel().catch(() => {});
      throw new UpstreamError(`JWKS: HTTP ${res.status}`);
    }
    let json: unknown;
    try {
      json = await res.json();
    } catch (cause) {
      throw new UpstreamError('JWKS is not JSON', cause);
    }
    return new Response(JSON.stringify(filterJwks(json, allowedAlgs)), {
      status: 200,
      headers: { 'content-type': 'application/json' },
    });
  };
}
