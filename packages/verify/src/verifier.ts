/**
 * Offline verification of tokenmill access tokens (RFC 9068) for resource servers.
 *
 * @packageDocumentation
 */
import { createRemoteJWKSet, customFetch, jwtVerify } from 'jose';
import type { JWTHeaderParameters, JWTPayload, FlattenedJWSInput, JWTVerifyGetKey } from 'jose';
import { DenySet } from './deny-set.js';
import { VerifyError, invalidToken, unavailable } from './errors.js';
import { PollSource } from './poll-source.js';
import { RedisSource } from './redis-source.js';
import { CancellableSleep, backoffDelay, type RevocationSource } from './sync.js';
import { ACCESS_TOKEN_ALGS, ACCESS_TOKEN_TYP, DEFAULT_REDIS_KEY_PREFIX, isScopeToken, type AccessTokenClaims } from './protocol/index.js';

export type { AccessTokenClaims } from './protocol/index.js';

/** Asymmetric JWS algorithms a verifier can be configured with. `none` and `HS*` are never accepted. */
export type VerifierAlgorithm =
  | 'ES256'
  | 'ES384'
  | 'ES512'
  | 'RS256'
  | 'RS384'
  | 'RS512'
  | 'PS256'
  | 'PS384'
  | 'PS512'
  | 'EdDSA'
  | 'Ed25519';

const SUPPORTED_ALGORITHMS: ReadonlySet<string> = new Set<VerifierAlgorithm>([
  'ES256', 'ES384', 'ES512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'EdDSA', 'Ed25519',
]);

/** The algorithms tokenmill signs with: `['ES256', 'RS256', 'PS256', 'EdDSA']`. */
export const DEFAULT_ALGORITHMS: readonly VerifierAlgorithm[] = Object.freeze([...ACCESS_TOKEN_ALGS] as VerifierAlgorithm[]);

/** Longest token accepted before any parsing (REQ-JWT7): 8 KiB. */
export const MAX_TOKEN_LENGTH = 8192;

/** Added to `maxStaleness` for the "no round finished at all" backstop. */
const STUCK_SYNC_GRACE_MS = 60_000;

/** Claims every access token must carry (RFC 9068 §2.2). */
export const REQUIRED_CLAIMS: readonly string[] = Object.freeze(['iss', 'sub', 'aud', 'exp', 'iat', 'jti', 'client_id']);

/** Revocation sync through the authorization server's HTTP revocation feed. */
export interface PollRevocationOptions {
  /** A client registered at the authorization server, used (HTTP Basic) to read the feed. */
  clientId: string;
  /** Its secret. */
  clientSecret: string;
  /**
   * Milliseconds between polls. Default 500, so a revocation is honoured within one second
   * (poll interval + one round trip). Minimum 50.
   */
  pollInterval?: number;
}

/** Revocation sync straight from the authorization server's Redis. */
export interface RedisRevocationOptions {
  /** `redis://…` / `rediss://…` URL of the Redis the authorization server writes revocations to. */
  redisUrl: string;
  /** The server's key prefix. Default `tokenmill:`. */
  keyPrefix?: string;
  /**
   * Default `true`: sync rounds fail (the set is kept; past `maxStaleness` verification fails closed)
   * while the server's marker `${keyPrefix}rev:seeded` is missing — Redis was flushed or restarted empty
   * and the server has not re-seeded it from its durable log yet — or, after a (re)connect, holds the
   * `run_id` of another Redis run. Set `false` only for a server that does not write the marker.
   */
  requireSeeded?: boolean;
}

/** Options of {@link createVerifier}. */
export interface VerifierOptions {
  /**
   * The issuer identifier, exactly as in the tokens' `iss` and the metadata's `issuer` (compared as
   * strings). Metadata is fetched from `${issuer}/.well-known/oauth-authorization-server`.
   */
  issuer: string;
  /** This resource server's identifier(s): a token is accepted when its `aud` contains one of them. */
  audience: string | readonly string[];
  /** Allowed JWS algorithms. Default {@link DEFAULT_ALGORITHMS}. `none` and `HS*` are rejected. */
  algorithms?: readonly VerifierAlgorithm[];
  /** Leeway for `exp`, `nbf` and `iat`, in seconds. Default 30, at most 300. */
  clockTolerance?: number;
  /**
   * Keep a revocation deny set in sync: `{ clientId, clientSecret, pollInterval? }` polls the HTTP feed,
   * `{ redisUrl, keyPrefix? }` follows the server's Redis. Without it revoked tokens stay valid until `exp`.
   */
  revocations?: PollRevocationOptions | RedisRevocationOptions;
  /**
   * Fail closed (default `true`): when revocations are configured and the sync has been failing for
   * longer than `maxStaleness` — or has not succeeded even once yet — `verify` throws a 503
   * `temporarily_unavailable` {@link VerifyError} instead of accepting a token that may have been revoked.
   * (Revoked tokens already in the deny set are still answered 401.) With `false`, tokens are then
   * accepted on the last known deny set (or on none).
   */
  failClosed?: boolean;
  /**
   * Milliseconds the revocation sync may keep failing before the deny set counts as stale. Default 30000.
   * (As a backstop, it also counts as stale when no round has succeeded for `maxStaleness` + 60 s.)
   */
  maxStaleness?: number;
  /** JWKS cache lifetime in milliseconds (jose `cacheMaxAge`). Default 600000. */
  cacheMaxAge?: number;
  /**
   * Minimum milliseconds between two JWKS fetches triggered by an unknown `kid` (jose `cooldownDuration`,
   * the refetch rate limit). Default 30000.
   */
  cooldownDuration?: number;
  /** Milliseconds before a metadata, JWKS or feed request is abandoned. Default 5000. */
  timeoutDuration?: number;
  /** How often expired deny-set entries are dropped, in milliseconds. Default 1000. */
  pruneInterval?: number;
  /** `fetch` to use for metadata, JWKS and feed requests (tests, proxies). Default `globalThis.fetch`. */
  fetch?: typeof globalThis.fetch;
  /** Called with each failed revocation-sync round or discovery attempt (for logging / metrics). */
  onSyncError?: (err: Error) => void;
}

/** Options of {@link Verifier.verify}. */
export interface VerifyOptions {
  /** Scopes the request needs, as an array or a space-separated string; every one must be granted. */
  scope?: string | readonly string[];
}

/** What {@link Verifier.stats} reports. */
export interface VerifierStats {
  /** Metadata fetched and, when configured, a first revocation sync done. */
  ready: boolean;
  /** `none`, `poll` or `redis`. */
  revocationMode: 'none' | 'poll' | 'redis';
  /** Revoked `jti`s held. */
  revokedTokens: number;
  /** Client-wide revocations held. */
  revokedClients: number;
  /** Last successful sync (ms since the epoch), `null` if none. */
  lastSyncAt: number | null;
  /** The last sync round succeeded (always `true` without revocations). */
  syncHealthy: boolean;
  /** The sync has failed for longer than `maxStaleness`, or never succeeded: with `failClosed`, verify answers 503. */
  stale: boolean;
  /** Failed sync rounds in a row. */
  consecutiveFailures: number;
  /** Message of the last sync failure. */
  lastSyncError: string | undefined;
  /** Feed / stream entries skipped as malformed. */
  malformedEntries: number;
  /** Snapshots / full re-reads applied. */
  snapshots: number;
}

/** A resource-server verifier; see {@link createVerifier}. */
export interface Verifier {
  /** The configured issuer (also the realm of every challenge). */
  readonly issuer: string;
  /**
   * Verifies an access token and returns its claims, or throws a {@link VerifyError}: 401 `invalid_request`
   * (bare challenge) when `token` is missing, 401 `invalid_token`, 403 `insufficient_scope`, or 503
   * `temporarily_unavailable`. Order: length and shape (≤ 8 KiB, compact JWS), signature with a key from
   * the issuer's JWKS and an allowed `alg`, `typ` (`at+jwt` or `application/at+jwt`, case-insensitive),
   * `iss`, `aud`, `exp`/`nbf`/`iat` with the clock tolerance, required claims, revocation, then scope.
   */
  verify(token: string | null | undefined, options?: VerifyOptions): Promise<AccessTokenClaims>;
  /**
   * Resolves once the metadata has been fetched and validated and, when revocations are configured, the
   * first sync has succeeded. Rejects with a {@link VerifierConfigError} when the metadata contradicts the
   * configuration (issuer mismatch, missing endpoints) — the verifier then never starts — or with the
   * error of the next failed attempt while the authorization server is unreachable (it keeps retrying in
   * the background; call `ready()` again to wait for the next attempt).
   */
  ready(): Promise<void>;
  /** Stops the background sync and timers and closes connections. `verify` then answers 503. */
  close(): Promise<void>;
  /** Deny-set sizes and sync health. */
  stats(): VerifierStats;
}

/** The verifier's configuration contradicts what the authorization server publishes; it will not start. */
export class VerifierConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VerifierConfigError';
  }
}

/** Network-level failure fetching a JWKS, kept apart from token errors so it maps to 503. */
class UpstreamError extends Error {
  constructor(message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'UpstreamError';
  }
}

/** The fields of the RFC 8414 metadata the verifier uses. */
interface Metadata {
  issuer: string;
  jwks_uri: string;
  revocation_feed_endpoint?: string;
}

const JWS_COMPACT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth', 'priv'];

/** Splits and validates required scopes. Throws `TypeError` on a value outside the RFC 6749 grammar. */
export function normalizeScopes(scope: string | readonly string[] | undefined): string[] {
  if (scope === undefined) return [];
  const list = typeof scope === 'string' ? scope.split(' ').filter((s) => s !== '') : [...scope];
  for (const s of list) {
    if (typeof s !== 'string' || !isScopeToken(s)) throw new TypeError('required scope values must be RFC 6749 scope-tokens');
  }
  return [...new Set(list)];
}

function httpUrl(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  try {
    const u = new URL(value);
    return u.protocol === 'https:' || u.protocol === 'http:';
  } catch {
    return false;
  }
}

function positive(name: string, value: number | undefined, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new TypeError(`${name} must be a number between ${min} and ${max}`);
  }
  return value;
}

interface Settings {
  issuer: string;
  audience: string[];
  algorithms: string[];
  clockTolerance: number;
  failClosed: boolean;
  maxStaleness: number;
  cacheMaxAge: number;
  cooldownDuration: number;
  timeoutDuration: number;
  pruneInterval: number;
  fetch: typeof globalThis.fetch;
  revocations: VerifierOptions['revocations'];
  onSyncError: ((err: Error) => void) | undefined;
}

function settings(o: VerifierOptions): Settings {
  if (!o || typeof o !== 'object') throw new TypeError('options are required');
  if (!httpUrl(o.issuer) || /[^\x21\x23-\x5b\x5d-\x7e]/.test(o.issuer)) throw new TypeError('issuer must be an http(s) URL');
  const audience = typeof o.audience === 'string' ? [o.audience] : Array.isArray(o.audience) ? [...(o.audience as string[])] : [];
  if (audience.length === 0 || audience.some((a) => typeof a !== 'string' || a === '')) throw new TypeError('audience must be a non-empty string or array of strings');
  const algorithms = [...(o.algorithms ?? DEFAULT_ALGORITHMS)];
  if (algorithms.length === 0 || algorithms.some((a) => !SUPPORTED_ALGORITHMS.has(a))) {
    throw new TypeError(`algorithms must be a non-empty subset of ${[...SUPPORTED_ALGORITHMS].join(', ')} (never none or HS*)`);
  }
  const r = o.revocations;
  if (r !== undefined) {
    if ('redisUrl' in r) {
      if (typeof r.redisUrl !== 'string' || !/^rediss?:\/\//.test(r.redisUrl)) throw new TypeError('revocations.redisUrl must be a redis:// or rediss:// URL');
      if (r.keyPrefix !== undefined && typeof r.keyPrefix !== 'string') throw new TypeError('revocations.keyPrefix must be a string');
    } else {
      if (typeof r.clientId !== 'string' || r.clientId === '' || typeof r.clientSecret !== 'string' || r.clientSecret === '') {
        throw new TypeError('revocations needs { clientId, clientSecret } or { redisUrl }');
      }
      positive('revocations.pollInterval', r.pollInterval, 500, 50, 60_000);
    }
  }
  const f = o.fetch ?? globalThis.fetch;
  if (typeof f !== 'function') throw new TypeError('fetch must be a function');
  return {
    issuer: o.issuer,
    audience,
    algorithms,
    clockTolerance: positive('clockTolerance', o.clockTolerance, 30, 0, 300),
    failClosed: o.failClosed ?? true,
    maxStaleness: positive('maxStaleness', o.maxStaleness, 30_000, 0),
    cacheMaxAge: positive('cacheMaxAge', o.cacheMaxAge, 600_000, 0),
    cooldownDuration: positive('cooldownDuration', o.cooldownDuration, 30_000, 0),
    timeoutDuration: Math.round(positive('timeoutDuration', o.timeoutDuration, 5_000, 1)),
    pruneInterval: positive('pruneInterval', o.pruneInterval, 1_000, 10),
    fetch: f,
    revocations: r,
    onSyncError: o.onSyncError,
  };
}

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

class TokenVerifier implements Verifier {
  readonly issuer: string;
  readonly #s: Settings;
  readonly #deny: DenySet;
  readonly #sleeper = new CancellableSleep();
  readonly #closing = new AbortController();
  readonly #allowedAlgs: ReadonlySet<string>;
  #source: RevocationSource | undefined;
  #keys: JWTVerifyGetKey | undefined;
  #fatal: VerifierConfigError | undefined;
  #closed = false;
  #isReady = false;
  #waiters: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
  #firstDiscovery: Promise<void>;
  #resolveFirstDiscovery: () => void = () => {};
  #pruneTimer: NodeJS.Timeout;
  #lifecycle: Promise<void>;

  constructor(options: VerifierOptions) {
    this.#s = settings(options);
    this.issuer = this.#s.issuer;
    this.#allowedAlgs = new Set(this.#s.algorithms);
    this.#deny = new DenySet(this.#s.clockTolerance);
    this.#firstDiscovery = new Promise<void>((resolve) => {
      this.#resolveFirstDiscovery = resolve;
    });
    this.#pruneTimer = setInterval(() => this.#deny.prune(Math.floor(Date.now() / 1000)), this.#s.pruneInterval);
    this.#pruneTimer.unref();
    this.#lifecycle = this.#run();
  }

  // ---- lifecycle -------------------------------------------------------------------------------------

  #markReady(): void {
    if (this.#isReady) return;
    this.#isReady = true;
    const w = this.#waiters;
    this.#waiters = [];
    for (const x of w) x.resolve();
  }

  #rejectWaiters(err: Error): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const x of w) x.reject(err);
  }

  #reportError(err: Error): void {
    try {
      this.#s.onSyncError?.(err);
    } catch {
      /* a listener must not break the sync */
    }
  }

  async #fetchMetadata(): Promise<Metadata> {
    const url = `${this.issuer.replace(/\/+$/, '')}/.well-known/oauth-authorization-server`;
    let res: Response;
    try {
      res = await this.#s.fetch(url, {
        headers: { accept: 'application/json' },
        redirect: 'error',
        signal: AbortSignal.any([AbortSignal.timeout(this.#s.timeoutDuration), this.#closing.signal]),
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
    if (m.issuer !== this.issuer) {
      throw new VerifierConfigError('the authorization server metadata issuer does not equal the configured issuer');
    }
    if (!httpUrl(m.jwks_uri)) throw new VerifierConfigError('the authorization server metadata has no valid jwks_uri');
    const r = this.#s.revocations;
    if (r !== undefined && !('redisUrl' in r) && !httpUrl(m.revocation_feed_endpoint)) {
      throw new VerifierConfigError('the authorization server metadata has no valid revocation_feed_endpoint');
    }
    const md: Metadata = { issuer: m.issuer, jwks_uri: m.jwks_uri };
    if (typeof m.revocation_feed_endpoint === 'string') md.revocation_feed_endpoint = m.revocation_feed_endpoint;
    return md;
  }

  /** fetch for jose: tags transport failures, and keeps only usable keys in the JWKS. */
  #jwksFetch = async (url: string | URL, init?: RequestInit): Promise<Response> => {
    let res: Response;
    try {
      res = await this.#s.fetch(url, init);
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
    return new Response(JSON.stringify(filterJwks(json, this.#allowedAlgs)), {
      status: 200,
      headers: { 'content-type': 'application/json' },
    });
  };

  async #run(): Promise<void> {
    let failures = 0;
    let meta: Metadata | undefined;
    while (!this.#closed && meta === undefined) {
      try {
        meta = await this.#fetchMetadata();
      } catch (err) {
        if (this.#closed) break;
        const e = err instanceof Error ? err : new Error(String(err));
        if (e instanceof VerifierConfigError) {
          this.#fatal = e;
          this.#rejectWaiters(e);
          this.#reportError(e);
          this.#resolveFirstDiscovery();
          return;
        }
        this.#rejectWaiters(e);
        this.#reportError(e);
        this.#resolveFirstDiscovery();
        await this.#sleeper.wait(backoffDelay(250, ++failures, 10_000));
      }
    }
    if (this.#closed || meta === undefined) {
      this.#resolveFirstDiscovery();
      return;
    }
    const remote = createRemoteJWKSet(new URL(meta.jwks_uri), {
      cacheMaxAge: this.#s.cacheMaxAge,
      cooldownDuration: this.#s.cooldownDuration,
      timeoutDuration: this.#s.timeoutDuration,
      [customFetch]: this.#jwksFetch,
    });
    this.#keys = async (header: JWTHeaderParameters, token: FlattenedJWSInput) => {
      // RFC 9068 tokens always name their key; kid is only ever a lookup key (REQ-JWT5).
      if (typeof header.kid !== 'string' || header.kid === '' || header.kid.length > 256) {
        throw invalidToken(this.issuer, 'the access token header lacks a valid kid');
      }
      return remote(header, token);
    };
    this.#resolveFirstDiscovery();
    // Warm the key cache; failures here are retried on demand by jose.
    remote.reload().catch(() => {});

    const r = this.#s.revocations;
    if (r === undefined) {
      this.#markReady();
      return;
    }
    const source: RevocationSource & { onResult?: (ok: boolean, err?: Error) => void } =
      'redisUrl' in r
        ? new RedisSource({
            redisUrl: r.redisUrl,
            keyPrefix: r.keyPrefix ?? DEFAULT_REDIS_KEY_PREFIX,
            deny: this.#deny,
            blockMs: Math.max(50, Math.min(1000, Math.floor(this.#s.maxStaleness / 3))),
            retryBase: 200,
            maxBackoff: 5_000,
            requireSeeded: r.requireSeeded ?? true,
          })
        : new PollSource({
            endpoint: meta.revocation_feed_endpoint as string,
            clientId: r.clientId,
            clientSecret: r.clientSecret,
            pollInterval: r.pollInterval ?? 500,
            timeout: this.#s.timeoutDuration,
            maxBackoff: 5_000,
            deny: this.#deny,
            fetch: this.#s.fetch,
          });
    source.onResult = (ok, err) => {
      if (ok) this.#markReady();
      else if (err) {
        if (!this.#isReady) this.#rejectWaiters(err);
        this.#reportError(err);
      }
    };
    this.#source = source;
    source.start();
  }

  ready(): Promise<void> {
    if (this.#isReady) return Promise.resolve();
    if (this.#fatal) return Promise.reject(this.#fatal);
    if (this.#closed) return Promise.reject(new Error('the verifier is closed'));
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#closing.abort();
    clearInterval(this.#pruneTimer);
    this.#sleeper.cancel();
    this.#rejectWaiters(new Error('the verifier is closed'));
    await this.#lifecycle;
    await this.#source?.close();
  }

  stats(): VerifierStats {
    const st = this.#source?.status();
    return {
      ready: this.#isReady,
      revocationMode: this.#s.revocations === undefined ? 'none' : 'redisUrl' in this.#s.revocations ? 'redis' : 'poll',
      revokedTokens: this.#deny.tokens.size,
      revokedClients: this.#deny.clients.size,
      lastSyncAt: st?.lastSyncAt ?? null,
      syncHealthy: this.#s.revocations === undefined ? true : (st?.healthy ?? false),
      stale: this.#s.revocations === undefined ? false : this.#isStale(),
      consecutiveFailures: st?.consecutiveFailures ?? 0,
      lastSyncError: st?.lastError,
      malformedEntries: st?.malformedEntries ?? 0,
      snapshots: st?.snapshots ?? 0,
    };
  }

  /**
   * Stale: never synced, or every round has failed for longer than `maxStaleness`, or (a backstop for a
   * stuck loop) no round has succeeded for `maxStaleness` + 60 s.
   */
  #isStale(): boolean {
    const st = this.#source?.status();
    if (!st || st.lastSyncAt === null) return true;
    const now = Date.now();
    if (st.unhealthySince !== null && now - st.unhealthySince > this.#s.maxStaleness) return true;
    return now - st.lastSyncAt > this.#s.maxStaleness + STUCK_SYNC_GRACE_MS;
  }

  // ---- verification ----------------------------------------------------------------------------------

  async verify(token: string | null | undefined, options: VerifyOptions = {}): Promise<AccessTokenClaims> {
    const realm = this.issuer;
    const required = normalizeScopes(options.scope);
    if (token === undefined || token === null || token === '') {
      throw new VerifyError({ status: 401, code: 'invalid_request', description: 'a bearer access token is required', realm, missingToken: true });
    }
    if (typeof token !== 'string') throw invalidToken(realm, 'malformed access token');
    if (token.length > MAX_TOKEN_LENGTH) throw invalidToken(realm, 'the access token is too large');
    if (!JWS_COMPACT.test(token)) throw invalidToken(realm, 'malformed access token');
    if (this.#closed) throw unavailable(realm, 'the verifier is closed');

    if (this.#keys === undefined) {
      await this.#firstDiscovery;
      if (this.#keys === undefined) {
        throw unavailable(realm, this.#fatal ? 'the verifier is misconfigured' : 'the authorization server metadata is unavailable', this.#fatal);
      }
    }

    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.#keys, {
        algorithms: this.#s.algorithms,
        issuer: this.issuer,
        audience: this.#s.audience,
        typ: ACCESS_TOKEN_TYP,
        clockTolerance: this.#s.clockTolerance,
        requiredClaims: [...REQUIRED_CLAIMS],
      }));
    } catch (err) {
      throw this.#mapError(err);
    }
    const claims = this.#checkClaims(payload);
    await this.#checkRevocation(claims);

    if (required.length > 0) {
      const granted = new Set((claims.scope ?? '').split(' '));
      const missing = required.filter((s) => !granted.has(s));
      if (missing.length > 0) {
        throw new VerifyError({
          status: 403,
          code: 'insufficient_scope',
          description: 'the access token lacks a required scope',
          realm,
          scope: required,
        });
      }
    }
    return claims;
  }

  #mapError(err: unknown): VerifyError {
    const realm = this.issuer;
    if (err instanceof VerifyError) return err;
    const e = err as { code?: unknown; name?: unknown } | null;
    if (
      err instanceof UpstreamError ||
      e?.code === 'ERR_JWKS_TIMEOUT' ||
      e?.code === 'ERR_JWKS_INVALID' ||
      e?.code === 'ERR_JOSE_GENERIC'
    ) {
      return unavailable(realm, 'the signing keys are unavailable', err);
    }
    if (e && typeof e.code === 'string' && e.code.startsWith('ERR_')) return invalidToken(realm, describeJoseError(e as { code: string }), err);
    return invalidToken(realm, 'the access token is invalid', err);
  }

  #checkClaims(p: JWTPayload): AccessTokenClaims {
    const realm = this.issuer;
    const str = (v: unknown, max: number) => typeof v === 'string' && v.length > 0 && v.length <= max;
    if (!str(p.sub, 1024)) throw invalidToken(realm, 'the access token has an invalid sub claim');
    if (!str(p.client_id, 1024)) throw invalidToken(realm, 'the access token has an invalid client_id claim');
    if (!str(p.jti, 1024)) throw invalidToken(realm, 'the access token has an invalid jti claim');
    if (typeof p.iss !== 'string') throw invalidToken(realm, 'the access token has an unexpected issuer');
    if (typeof p.exp !== 'number' || typeof p.iat !== 'number') throw invalidToken(realm, 'the access token has invalid time claims');
    if (p.iat > Math.floor(Date.now() / 1000) + this.#s.clockTolerance) throw invalidToken(realm, 'the access token has an invalid iat claim');
    if (p.scope !== undefined && typeof p.scope !== 'string') throw invalidToken(realm, 'the access token has an invalid scope claim');
    return p as AccessTokenClaims;
  }

  async #checkRevocation(claims: AccessTokenClaims): Promise<void> {
    if (this.#s.revocations === undefined) return;
    const source = this.#source;
    if (source !== undefined && source.status().attempts === 0) await source.firstAttempt;
    if (this.#deny.isRevoked(claims.jti, claims.client_id, claims.iat)) {
      throw invalidToken(this.issuer, 'the access token has been revoked');
    }
    if (this.#s.failClosed && this.#isStale()) {
      throw unavailable(this.issuer, 'the revocation list is unavailable');
    }
  }
}

/**
 * Creates a resource-server verifier for tokenmill access tokens.
 *
 * It starts at once in the background: fetches `${issuer}/.well-known/oauth-authorization-server`
 * (refusing to start if its `issuer` differs from `options.issuer`), uses the `jwks_uri` through jose's
 * remote key set (cached for `cacheMaxAge`, refetched on an unknown `kid` at most once per
 * `cooldownDuration`), and, with `revocations`, keeps a deny set in sync — by polling the
 * `revocation_feed_endpoint` every `pollInterval` (500 ms) or by following the server's Redis stream.
 * Deny-set entries are dropped once their `exp` (plus the clock tolerance) has passed.
 *
 * @example
 * ```ts
 * import { createVerifier } from 'tokenmill/verify';
 * const verifier = createVerifier({
 *   issuer: 'https://auth.example.com',
 *   audience: 'https://api.example.com',
 *   revocations: { clientId: process.env.RS_CLIENT_ID!, clientSecret: process.env.RS_CLIENT_SECRET! },
 * });
 * await verifier.ready();
 * const claims = await verifier.verify(token, { scope: 'orders:read' });
 * ```
 *
 * @throws TypeError when the options are invalid (e.g. `none` or `HS256` among `algorithms`).
 */
export function createVerifier(options: VerifierOptions): Verifier {
  return new TokenVerifier(options);
}
