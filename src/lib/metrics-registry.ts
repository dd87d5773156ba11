import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ClientAuthFailureReason } from '../errors/oauth-errors.js';
import type { AuthEndpoint } from './failure-limiter.js';
import { PendingCounter, RouteDurationHistogram } from './request-metrics.js';

export type { ClientAuthFailureReason };

/** How the token request authenticated (detected from its shape, valid or not). */
export type AuthMethodLabel = 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt' | 'none';

/** Where the scrape-time values come from: the runtime's components, by the few methods needed. */
export interface MetricSources {
  keyring?: { all(): readonly { kid: string; alg: string; createdAt: number }[]; stateOf(key: never, now?: number): string };
  /** the replay cache; its optional `untrustedWindow()` (sync on the embedded store, async on Redis) */
  replay?: object;
  /** plain counters kept by the client cache (no prom-client on its path) */
  clientCache?: { readonly stats: { hit: number; miss: number; negativeHit: number } };
  /** plain counters kept by the revocation service */
  revocations?: { readonly recorded: { token: number; client: number } };
  /** KEY_ROTATION_INTERVAL in seconds (0: rotation off) */
  keyRotationIntervalSeconds?: number;
  clock?: { now(): number };
}

type Inc = { inc(value?: number): void };
type Observe = { observe(value: number): void };

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/**
 * Every metric of one tokenmill process, in one registry (served by plugins/metrics.ts, and under
 * WORKERS > 1 aggregated across the workers by the primary: lib/metrics-cluster.ts). The default
 * process metrics keep their standard names (`process_*`, `nodejs_*`) so stock dashboards work.
 *
 * What every request writes (its count, duration and, on the token endpoint, result) is kept as
 * plain numbers until a scrape (lib/request-metrics.ts); other hot-path methods increment label
 * children resolved once; values that live in other components (cache hits, revocations, key
 * ages, the replay window) are read at scrape time.
 */
export class Metrics {
  readonly registry = new Registry();
  private readonly httpRequests: PendingCounter<'route' | 'status' | 'error'>;
  private readonly httpDuration: RouteDurationHistogram;
  private readonly tokenRequests: PendingCounter<'auth_method' | 'result'>;
  private readonly tokensIssued: PendingCounter<never>;
  private readonly authFailures: Counter<'reason'>;
  private readonly quotaRejections = new Map<string, Inc>();
  private readonly authFailureChildren = new Map<string, Inc>();
  private readonly authThrottledCounter: Counter<'endpoint'>;
  private readonly authThrottledChildren = new Map<AuthEndpoint, Inc>();
  private readonly feedPollChildren: { caughtUp: Inc; behind: Inc };
  private readonly feedCaughtUp: Gauge;
  private readonly dbDuration: Observe;
  private readonly dbErrors: { unavailable: Inc; statement: Inc };
  private readonly redisDuration: Observe;
  private readonly redisErrors: { unavailable: Inc; reply: Inc };
  private sources: MetricSources = {};

  constructor(options: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
    this.httpRequests = new PendingCounter({ name: 'tokenmill_http_requests_total', help: 'HTTP requests by route, status and OAuth error code', labelNames: ['route', 'status', 'error'], registers });
    this.httpDuration = new RouteDurationHistogram({
      name: 'tokenmill_http_request_duration_seconds',
      help: 'HTTP request duration by route',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registry: this.registry,
    });

    this.tokenRequests = new PendingCounter({
      name: 'tokenmill_token_requests_total',
      help: 'Token endpoint requests by client authentication method and result (success or the OAuth error code)',
      labelNames: ['auth_method', 'result'],
      registers,
    });
    this.tokensIssued = new PendingCounter({ name: 'tokenmill_tokens_issued_total', help: 'Access tokens issued', labelNames: [], registers });
    const rejections = new Counter({
      name: 'tokenmill_quota_rejections_total',
      help: 'Token requests refused by an enforced token quota, by the window that refused (second, hour, day)',
      labelNames: ['window'],
      registers,
    });
    for (const w of ['second', 'hour', 'day']) {
      const child = rejections.labels(w);
      child.inc(0); // every window's series exists from the start (0), for rate() and alerts
      this.quotaRejections.set(w, child);
    }
    this.authFailures = new Counter({
      name: 'tokenmill_client_auth_failures_total',
      help: 'Client authentication failures by coarse reason (secret = unknown client or wrong secret, never told apart)',
      labelNames: ['reason'],
      registers,
    });
    this.authThrottledCounter = new Counter({
      name: 'tokenmill_auth_throttled_total',
      help: 'Requests answered 429 by the failed-authentication limit (AUTH_FAILURE_*) before any credential check, by endpoint',
      labelNames: ['endpoint'],
      registers,
    });
    const polls = new Counter({
      name: 'tokenmill_revocation_feed_polls_total',
      help: 'Successful revocation-feed polls: caught_up reached the end of the feed, behind returned a page with more to follow',
      labelNames: ['result'],
      registers,
    });
    this.feedPollChildren = { caughtUp: polls.labels('caught_up'), behind: polls.labels('behind') };
    this.feedCaughtUp = new Gauge({
      name: 'tokenmill_revocation_feed_last_caught_up_timestamp_seconds',
      help: 'When a revocation-feed poll last reached the end of the feed (unix seconds; 0 = not since start). time() minus this bounds how stale the freshest verifier is',
      registers,
      aggregator: 'max',
    });

    const dbDuration = new Histogram({ name: 'tokenmill_db_query_duration_seconds', help: 'Database statement duration (transactions: each statement)', buckets: LATENCY_BUCKETS, registers });
    this.dbDuration = dbDuration;
    const dbErrors = new Counter({
      name: 'tokenmill_db_errors_total',
      help: 'Failed database statements: unavailable (connection) or statement (the database refused it)',
      labelNames: ['kind'],
      registers,
    });
    this.dbErrors = { unavailable: dbErrors.labels('unavailable'), statement: dbErrors.labels('statement') };
    const redisDuration = new Histogram({ name: 'tokenmill_redis_command_duration_seconds', help: 'Redis command duration (a MULTI or a script counts once)', buckets: LATENCY_BUCKETS, registers });
    this.redisDuration = redisDuration;
    const redisErrors = new Counter({
      name: 'tokenmill_redis_errors_total',
      help: 'Failed Redis commands: unavailable (connection, timeout, MISCONF…) or reply (Redis refused the command)',
      labelNames: ['kind'],
      registers,
    });
    this.redisErrors = { unavailable: redisErrors.labels('unavailable'), reply: redisErrors.labels('reply') };

    // prom-client calls collect() with the metric as `this`; the sources are read from here.
    const self = this; // eslint-disable-line @typescript-eslint/no-this-alias
    new Counter({
      name: 'tokenmill_client_cache_requests_total',
      help: 'Client-record cache lookups: hit, miss (loaded from the database) or negative_hit (a remembered unknown client_id)',
      labelNames: ['result'],
      registers,
      collect() {
        const stats = self.sources.clientCache?.stats;
        this.reset();
        this.inc({ result: 'hit' }, stats?.hit ?? 0);
        this.inc({ result: 'miss' }, stats?.miss ?? 0);
        this.inc({ result: 'negative_hit' }, stats?.negativeHit ?? 0);
      },
    });
    new Counter({
      name: 'tokenmill_revocations_total',
      help: 'Revocations recorded by this node: token (one jti) or client (every token of a client)',
      labelNames: ['type'],
      registers,
      collect() {
        const recorded = self.sources.revocations?.recorded;
        this.reset();
        this.inc({ type: 'token' }, recorded?.token ?? 0);
        this.inc({ type: 'client' }, recorded?.client ?? 0);
      },
    });
    new Gauge({
      name: 'tokenmill_signing_key_age_seconds',
      help: 'Age of each signing key still in the keyring, by kid, algorithm and state (published, active, retired)',
      labelNames: ['kid', 'alg', 'state'],
      registers,
      aggregator: 'max',
      collect() {
        this.reset();
        const keyring = self.sources.keyring;
        if (!keyring) return;
        const now = self.sources.clock?.now() ?? Date.now();
        for (const key of keyring.all()) {
          const state = keyring.stateOf(key as never, now);
          if (state === 'removed') continue;
          this.set({ kid: key.kid, alg: key.alg, state }, Math.max(0, (now - key.createdAt) / 1000));
        }
      },
    });
    new Gauge({
      name: 'tokenmill_signing_key_rotation_interval_seconds',
      help: 'KEY_ROTATION_INTERVAL (0: automatic rotation is off); compare with tokenmill_signing_key_age_seconds{state="active"}',
      registers,
      aggregator: 'max',
      collect() {
        this.set(self.sources.keyRotationIntervalSeconds ?? 0);
      },
    });
    new Gauge({
      name: 'tokenmill_replay_untrusted_window_open',
      help: '1 while the client-assertion replay markers were lost and assertions issued before the loss are refused, else 0',
      registers,
      aggregator: 'max',
      async collect() {
        const replay = self.sources.replay as { untrustedWindow?: () => unknown } | undefined;
        let open = 0;
        try {
          open = replay?.untrustedWindow && (await replay.untrustedWindow()) ? 1 : 0;
        } catch {
          // Redis unreachable: the window cannot be read; readiness and the Redis error counter say so.
        }
        this.set(open);
      },
    });
  }

  /** Names the components scrape-time metrics read (the runtime calls it once it has them). */
  attach(sources: MetricSources): void {
    this.sources = { ...this.sources, ...sources };
  }

  /** One HTTP response: its route pattern (never the raw URL), status, OAuth error code ('' if none) and duration. */
  httpRequest(route: string, status: number, error: string, seconds: number): void {
    this.httpRequests.add(`${route} ${status} ${error}`, () => ({ route, status: String(status), error }));
    this.httpDuration.observe(route, seconds);
  }

  /** One token endpoint response: `result` is `success` or the OAuth error code. */
  tokenRequest(authMethod: AuthMethodLabel, result: string): void {
    this.tokenRequests.add(`${authMethod} ${result}`, () => ({ auth_method: authMethod, result }));
    if (result === 'success') this.tokensIssued.add('', () => ({}));
  }

  /** A token request refused by an enforced quota: `window` is second, hour or day. */
  quotaRejection(window: 'second' | 'hour' | 'day'): void {
    this.quotaRejections.get(window)?.inc();
  }

  clientAuthFailure(reason: ClientAuthFailureReason): void {
    let child = this.authFailureChildren.get(reason);
    if (!child) this.authFailureChildren.set(reason, (child = this.authFailures.labels(reason)));
    child.inc();
  }

  /** One request refused by the per-source failed-authentication limit. */
  authThrottled(endpoint: AuthEndpoint): void {
    let child = this.authThrottledChildren.get(endpoint);
    if (!child) this.authThrottledChildren.set(endpoint, (child = this.authThrottledCounter.labels(endpoint)));
    child.inc();
  }

  /** A successful revocation-feed poll; `hasMore` false means the poller reached the end of the feed. */
  feedPoll(hasMore: boolean, nowMs: number): void {
    if (hasMore) return this.feedPollChildren.behind.inc();
    this.feedPollChildren.caughtUp.inc();
    this.feedCaughtUp.set(Math.floor(nowMs / 1000));
  }

  /** One database statement; `error` is null on success. */
  dbQuery(seconds: number, error: 'unavailable' | 'statement' | null): void {
    this.dbDuration.observe(seconds);
    if (error) this.dbErrors[error].inc();
  }

  /** One Redis command (or MULTI, or script); `error` is null on success. */
  redisCommand(seconds: number, error: 'unavailable' | 'reply' | null): void {
    this.redisDuration.observe(seconds);
    if (error) this.redisErrors[error].inc();
  }
}
