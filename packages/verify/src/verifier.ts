/**
 * Offline verification of tokenmill access tokens (RFC 9068) for resource servers.
 *
 * @packageDocumentation
 */
import { createRemoteJWKSet, customFetch, jwtVerify } from 'jose';
import type { JWTHeaderParameters, JWTPayload, FlattenedJWSInput, JWTVerifyGetKey } from 'jose';
import { JWS_COMPACT, MAX_TOKEN_LENGTH, REQUIRED_CLAIMS, checkClaims, mapError } from './claims.js';
import { DenySet } from './deny-set.js';
import { VerifyError, invalidToken, unavailable } from './errors.js';
import { VerifierConfigError, fetchMetadata, jwksFetch, type Metadata } from './metadata.js';
import { normalizeScopes, settings, type Settings, type VerifierOptions, type VerifyOptions } from './options.js';
import { PollSource } from './poll-source.js';
import { RedisSource } from './redis-source.js';
import { CancellableSleep, backoffDelay, type RevocationSource } from './sync.js';
import { ACCESS_TOKEN_TYP, DEFAULT_REDIS_KEY_PREFIX, type AccessTokenClaims } from './protocol/index.js';

export type { AccessTokenClaims } from './protocol/index.js';

/** Added to `maxStaleness` for the "no round finished at all" backstop. */
const STUCK_SYNC_GRACE_MS = 60_000;

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

  async #run(): Promise<void> {
    let failures = 0;
    let meta: Metadata | undefined;
    while (!this.#closed && meta === undefined) {
      try {
        meta = await fetchMetadata(this.#s, this.#closing.signal);
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
      [customFetch]: jwksFetch(this.#s.fetch, this.#allowedAlgs),
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
    if (options.org !== undefined && (typeof options.org !== 'string' || options.org === '')) throw new TypeError('org must be a non-empty organization id');
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
      throw mapError(err, this.issuer);
    }
    const claims = checkClaims(payload, this.issuer, this.#s.clockTolerance);
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
    if (options.org !== undefined && claims.org_id !== options.org) {
      // Tenant isolation: a valid token of another tenant lacks the right to this one's resources (RFC 6750 §3.1).
      throw new VerifyError({
        status: 403,
        code: 'insufficient_scope',
        description: typeof claims.org_id === 'string' ? 'the access token belongs to another organization' : 'the access token belongs to no organization',
        realm,
      });
    }
    return claims;
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
