import { createHash } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import type { Clock } from '../../lib/clock.js';
import { epochSeconds, systemClock } from '../../lib/clock.js';
import type { InvalidationBus, ReplayCache, RevocationEvent, RevocationFeedPage, RevocationStore } from '../types.js';
import { ASSERTION_MAX_FUTURE_IAT_SECONDS, REPLAY_UNTRUSTED_WINDOW_SECONDS, StoreUnavailableError } from '../types.js';
import { REVOCATION_ENTRY as E, redisKeys, type RedisKeys } from '../../protocol/index.js';

/** The logger methods the Redis stores use (a pino logger fits). */
export type RedisLogger = Pick<Logger, 'warn' | 'info'>;

/** Options of {@link openRedis}. */
export interface OpenRedisOptions {
  /** Prepended to every key and channel, e.g. `tokenmill:`. Use a hash tag (`{tokenmill}:`) on Redis Cluster. */
  keyPrefix: string;
  /**
   * The durable revocations to load when Redis comes back without them (a restart without
   * persistence, a failover to an empty replica): pass the SQL log's `live(now)`.
   */
  reseed: () => Promise<RevocationEvent[]>;
  /**
   * Whether an unseeded Redis is new (first seeding ever) rather than one that lost its data; only
   * a loss opens the replay untrusted window. Default: always a loss (the safe answer).
   */
  isFirstSeed?: (runId: string | null) => Promise<boolean>;
  /**
   * Records that the seeding of run `runId` has completed (called before the seed marker is set), so
   * that a later loss within the same run (FLUSHALL, deleted keys) is not taken for a first seeding.
   */
  markSeeded?: (runId: string | null) => Promise<void>;
  logger?: RedisLogger;
  /** "now" for dropping lapsed feed entries; Redis itself enforces every TTL (EXAT). */
  clock?: Clock;
  /** CLIENT SETNAME of the connections (the subscriber gets `-sub` appended); default `tokenmill`. */
  connectionName?: string;
  /** A command without a reply after this many ms fails as unavailable; default 2000. */
  commandTimeoutMs?: number;
}

/** The Redis-backed stores of one node, sharing one command connection (the bus adds a subscriber). */
export interface RedisStores {
  revocations: RedisRevocationStore;
  replay: RedisReplayCache;
  invalidation: RedisInvalidationBus;
  /** PING through the command connection (readiness probe); throws StoreUnavailableError. */
  ping(): Promise<void>;
  /** Redis's `maxmemory-policy`, or null when CONFIG GET is not allowed (managed Redis, ACLs). */
  evictionPolicy(): Promise<string | null>;
  /** Closes the three stores and quits every connection. */
  close(): Promise<void>;
}

/**
 * How long a stream entry is kept: token lifetimes are capped at 86400 s, and a client-wide
 * revocation's `until` adds a minute of skew leeway to that; an hour of margin covers both.
 */
const RETAIN_SECONDS = 86_400 + 3_600;
const RESEED_RETRY_MS = 1000;
/** How often a seeded store checks that its markers are still there (a FLUSHALL, an eviction, a DEL). */
const SENTINEL_CHECK_MS = 1000;
/** How long a claim that found the markers gone waits for the re-seed before answering 503. */
const CLAIM_RESEED_WAIT_MS = 2000;
const SEED_BATCH = 200;
const ERROR_LOG_EVERY_MS = 10_000;

/** Reply errors that mean "Redis cannot serve now" rather than "we sent something wrong". */
const UNAVAILABLE_REPLY = /^(MISCONF|READONLY|LOADING|BUSY|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|OOM|NOREPLICAS|NOAUTH|WRONGPASS|TMUNSEEDED)\b/;

/** Maps a failed command to StoreUnavailableError unless Redis answered and said our command was wrong. */
function toStoreError(err: unknown): Error {
  if (err instanceof StoreUnavailableError) return err;
  const e = err as { name?: unknown; message?: unknown } | null;
  if (e && e.name === 'ReplyError' && typeof e.message === 'string' && !UNAVAILABLE_REPLY.test(e.message)) return err as Error;
  return new StoreUnavailableError('redis', err);
}

function isUnseeded(err: unknown): boolean {
  return err instanceof StoreUnavailableError && /^TMUNSEEDED\b/.test(String((err.cause as { message?: unknown } | undefined)?.message ?? ''));
}

/**
 * One ioredis connection with tokenmill's failure policy: no offline queue, one retry per command,
 * reconnect every ≤ 500 ms forever, errors logged (throttled) and never thrown at the process.
 * Reference-counted so several stores can share it; the last release quits it.
 */
export class RedisConnection {
  readonly redis: Redis;
  private readonly logger: RedisLogger | undefined;
  private readonly label: string;
  private refs = 0;
  private lastErrorLog = 0;
  private wasDown = false;
  private closing: Promise<void> | null = null;

  constructor(url: string, options: { name: string; logger?: RedisLogger; commandTimeoutMs?: number; extra?: RedisOptions }) {
    if (!/^rediss?:\/\//i.test(url)) throw new TypeError('REDIS_URL must start with redis:// or rediss:// (TLS)');
    this.logger = options.logger;
    this.label = options.name;
    // A rediss:// URL turns TLS on inside ioredis; nothing here may override it.
    this.redis = new Redis(url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      retryStrategy: (times: number) => Math.min(100 * times, 500),
      connectTimeout: 3000,
      commandTimeout: options.commandTimeoutMs ?? 2000,
      connectionName: options.name,
      ...options.extra,
    });
    this.redis.on('error', (err: Error & { code?: string }) => {
      this.wasDown = true;
      const now = Date.now();
      if (now - this.lastErrorLog < ERROR_LOG_EVERY_MS) return;
      this.lastErrorLog = now;
      this.logger?.warn({ err: { message: err.message, code: err.code }, connection: this.label }, 'redis connection error');
    });
    this.redis.on('ready', () => {
      if (!this.wasDown) return;
      this.wasDown = false;
      this.lastErrorLog = 0;
      this.logger?.info({ connection: this.label }, 'redis connection restored');
    });
    this.redis.on('close', () => {
      this.wasDown = true;
    });
  }

  /** Runs one command; every failure caused by the connection becomes StoreUnavailableError('redis'). */
  async run<T>(command: (redis: Redis) => Promise<T>): Promise<T> {
    try {
      return await command(this.redis);
    } catch (err) {
      throw toStoreError(err);
    }
  }

  /** EVALSHA, loading the script on NOSCRIPT (the server restarted or its script cache was flushed). */
  async evalScript(script: LuaScript, keys: string[], args: string[]): Promise<unknown> {
    return this.run(async (r) => {
      try {
        return await r.evalsha(script.sha, keys.length, ...keys, ...args);
      } catch (err) {
        if (!/^NOSCRIPT\b/.test(String((err as { message?: unknown }).message))) throw err;
        return await r.eval(script.lua, keys.length, ...keys, ...args);
      }
    });
  }

  /** Takes one reference (each store sharing the connection holds one). */
  acquire(): this {
    this.refs++;
    return this;
  }

  /** Drops one reference; the last one quits the connection (or cuts it when it is not up). */
  async release(): Promise<void> {
    if (this.refs > 0) this.refs--;
    if (this.refs > 0) return;
    this.closing ??= (async () => {
      if (this.redis.status === 'ready') {
        try {
          await this.redis.quit();
          return;
        } catch {
          /* fall through: cut it */
        }
      }
      this.redis.disconnect();
    })();
    return this.closing;
  }
}

/** A Lua script and its SHA-1, for EVALSHA. */
export interface LuaScript {
  lua: string;
  sha: string;
}
function luaScript(lua: string): LuaScript {
  return { lua, sha: createHash('sha1').update(lua).digest('hex') };
}

/**
 * Applies a batch of revocation events atomically: key with EXAT, stream entry (trimmed to the
 * retained window), one pub/sub nudge. An event that changes nothing (already revoked as long, or
 * lapsed) is skipped, which makes seeding idempotent.
 * KEYS: marker, stream, then one state key per event. ARGV: requireSeeded ('1'|'0'), nudge channel,
 * then kind, a, b, c per event (token: jti, exp, client_id|''; client: client_id, revoked_before, until).
 */
const REVOKE = luaScript(`
if ARGV[1] == '1' and redis.call('EXISTS', KEYS[1]) == 0 then
  return redis.error_reply('TMUNSEEDED revocation store has not been seeded')
end
local now = tonumber(redis.call('TIME')[1])
local minid = tostring(now - ${RETAIN_SECONDS}) .. '000'
local applied, last = 0, ''
for i = 1, #KEYS - 2 do
  local key = KEYS[2 + i]
  local base = 2 + (i - 1) * 4
  local kind, a, b, c = ARGV[base + 1], ARGV[base + 2], ARGV[base + 3], ARGV[base + 4]
  if kind == 'token' then
    local exp = tonumber(b)
    if exp > now and redis.call('EXPIRETIME', key) < exp then
      redis.call('SET', key, '1', 'EXAT', b)
      if c == '' then
        last = redis.call('XADD', KEYS[2], 'MINID', minid, '*', '${E.type}', '${E.token}', '${E.jti}', a, '${E.exp}', b)
      else
        last = redis.call('XADD', KEYS[2], 'MINID', minid, '*', '${E.type}', '${E.token}', '${E.jti}', a, '${E.exp}', b, '${E.clientId}', c)
      end
      applied = applied + 1
    end
  else
    local before, untl = tonumber(b), tonumber(c)
    if untl > now then
      local cur = redis.call('GET', key)
      local curBefore = cur and tonumber(cur) or nil
      local curUntil = redis.call('EXPIRETIME', key)
      if curBefore == nil or curBefore < before or curUntil < untl then
        local newBefore, newUntil = b, c
        if curBefore ~= nil and curBefore > before then newBefore = cur end
        if curUntil > untl then newUntil = tostring(curUntil) end
        redis.call('SET', key, newBefore, 'EXAT', newUntil)
        last = redis.call('XADD', KEYS[2], 'MINID', minid, '*', '${E.type}', '${E.client}', '${E.clientId}', a, '${E.revokedBefore}', newBefore, '${E.until}', newUntil)
        applied = applied + 1
      end
    end
  end
end
if applied > 0 then redis.call('PUBLISH', ARGV[2], last) end
return applied
`);

/** A stream id as a comparable pair; null when `s` is not `<ms>-<seq>`. */
function parseId(s: string): [bigint, bigint] | null {
  const m = /^(\d{1,20})-(\d{1,20})$/.exec(s);
  if (!m) return null;
  const id: [bigint, bigint] = [BigInt(m[1] as string), BigInt(m[2] as string)];
  return id[0] < 2n ** 64n && id[1] < 2n ** 64n ? id : null;
}
function compareIds(a: [bigint, bigint], b: [bigint, bigint]): number {
  if (a[0] !== b[0]) return a[0] < b[0] ? -1 : 1;
  return a[1] === b[1] ? 0 : a[1] < b[1] ? -1 : 1;
}

type StreamEntry = [id: string, fields: string[]];

interface StreamInfo {
  length: number;
  lastId: string;
  maxDeletedId: string;
  /** null on Redis < 7 (unknown: assume entries were trimmed) */
  entriesAdded: number | null;
  firstId: string | null;
}

/** XINFO STREAM reply (flat array with the default reply mapping, an object with `replyMapping: 'resp3'`). */
function parseStreamInfo(reply: unknown): StreamInfo {
  const get = (name: string): unknown => {
    if (Array.isArray(reply)) {
      for (let i = 0; i + 1 < reply.length; i += 2) if (reply[i] === name) return reply[i + 1];
      return undefined;
    }
    return reply && typeof reply === 'object' ? (reply as Record<string, unknown>)[name] : undefined;
  };
  const first = get('first-entry');
  const added = get('entries-added');
  return {
    length: Number(get('length') ?? 0),
    lastId: String(get('last-generated-id') ?? '0-0'),
    maxDeletedId: String(get('max-deleted-entry-id') ?? '0-0'),
    entriesAdded: added === undefined || added === null ? null : Number(added),
    firstId: Array.isArray(first) && typeof first[0] === 'string' ? first[0] : null,
  };
}

function toEvent(fields: string[]): RevocationEvent | null {
  const f = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) f.set(fields[i] as string, fields[i + 1] as string);
  const type = f.get(E.type);
  const num = (k: string): number => Number(f.get(k));
  if (type === E.token) {
    const jti = f.get(E.jti);
    if (!jti || !Number.isFinite(num(E.exp))) return null;
    return { type: 'token', jti, exp: num(E.exp), clientId: f.get(E.clientId) ?? null };
  }
  if (type === E.client) {
    const clientId = f.get(E.clientId);
    if (!clientId || !Number.isFinite(num(E.revokedBefore)) || !Number.isFinite(num(E.until))) return null;
    return { type: 'client', clientId, revokedBefore: num(E.revokedBefore), until: num(E.until) };
  }
  return null;
}

function checkSeconds(name: string, v: number): string {
  if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`${name} must be a non-negative integer of epoch seconds`);
  return String(v);
}

/** Options of {@link RedisRevocationStore}. */
export interface RedisRevocationStoreOptions {
  keyPrefix: string;
  reseed: () => Promise<RevocationEvent[]>;
  isFirstSeed?: (runId: string | null) => Promise<boolean>;
  markSeeded?: (runId: string | null) => Promise<void>;
  clock?: Clock;
  logger?: RedisLogger;
}

/**
 * Fleet-wide revocation state in Redis (DESIGN decision 5). A revoked jti is a key living until the
 * token's `exp`; a client-wide revocation is a key holding `revoked_before` until `until`; every
 * change is also appended to a stream (the feed) and nudged on pub/sub.
 *
 * Fail closed (SECURITY §3.1): the marker key `rev:seeded` says Redis holds every live revocation;
 * it holds the server's run_id. A second marker, `replay:epoch`, says Redis still holds every replay
 * claim made since the last seeding; claims are refused without it (see CLAIM), and a seeded store
 * checks both every SENTINEL_CHECK_MS, so a loss without a restart (FLUSHALL, eviction, DEL) is
 * noticed within a second even without traffic, and at the first claim with it. When it is missing (Redis came back empty, was flushed) or, at a
 * (re)connect, names another run (a restart or failover that may have lost the last writes), the
 * store re-seeds from the durable log and, until that has finished, every call throws
 * StoreUnavailableError: a revoked token never looks active in the gap.
 */
export class RedisRevocationStore implements RevocationStore {
  private readonly conn: RedisConnection;
  private readonly keys: RedisKeys;
  private readonly reseed: () => Promise<RevocationEvent[]>;
  private readonly isFirstSeed: (runId: string | null) => Promise<boolean>;
  private readonly markSeeded: (runId: string | null) => Promise<void>;
  private readonly clock: Clock;
  private readonly logger: RedisLogger | undefined;
  private readonly markerKey: string;
  private readonly epochKey: string;
  private readonly streamKey: string;
  private readonly nudgeChannel: string;
  private seeded = false;
  private generation = 0;
  private checking = false;
  private recheck = false;
  private closed = false;
  private retryTimer: NodeJS.Timeout | null = null;
  private readonly sentinelTimer: NodeJS.Timeout;
  private sentinelChecking = false;
  private lastFailureLog = 0;
  private waiters: { resolve: () => void; reject: (err: Error) => void }[] = [];
  private readonly onReady = (): void => this.requestCheck();
  private readonly onClose = (): void => this.invalidate();

  constructor(conn: RedisConnection, options: RedisRevocationStoreOptions) {
    this.conn = conn.acquire();
    this.keys = redisKeys(options.keyPrefix);
    this.reseed = options.reseed;
    this.isFirstSeed = options.isFirstSeed ?? (async () => false);
    this.markSeeded = options.markSeeded ?? (async () => {});
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger;
    this.markerKey = this.keys.seeded;
    this.epochKey = this.keys.replayEpoch;
    this.streamKey = this.keys.revocationStream;
    this.nudgeChannel = this.keys.revocationNudge;
    conn.redis.on('ready', this.onReady);
    conn.redis.on('close', this.onClose);
    if (conn.redis.status === 'ready') this.requestCheck();
    this.sentinelTimer = setInterval(() => void this.checkSentinels(), SENTINEL_CHECK_MS);
    this.sentinelTimer.unref();
  }

  /** Whether the store is seeded (its markers were present at the last look). */
  isSeeded(): boolean {
    return this.seeded;
  }

  /**
   * A claim found a marker missing: Redis lost its data. Starts the re-seed (which opens the replay
   * untrusted window first) and resolves when the store is seeded again; rejects after `timeoutMs`.
   */
  markersLost(timeoutMs: number): Promise<void> {
    if (this.closed) return Promise.reject(new StoreUnavailableError('redis', new Error('revocation store is closed')));
    if (this.seeded) this.lost();
    else if (!this.checking && this.conn.redis.status === 'ready') this.requestCheck();
    return this.ready(timeoutMs);
  }

  /** Both markers present (one EXISTS); a missing one starts the re-seed. */
  private async checkSentinels(): Promise<void> {
    if (!this.seeded || this.sentinelChecking || this.closed || this.conn.redis.status !== 'ready') return;
    this.sentinelChecking = true;
    const generation = this.generation;
    try {
      const present = await this.conn.run((r) => r.exists(this.markerKey, this.epochKey));
      if (present < 2 && this.seeded && generation === this.generation) this.lost();
    } catch {
      /* unreachable: the connection's own handlers deal with it */
    } finally {
      this.sentinelChecking = false;
    }
  }

  /**
   * Resolves once the store is seeded and answering (at start-up: after the first successful seed
   * check). With `timeoutMs`, rejects with StoreUnavailableError when that takes longer.
   */
  ready(timeoutMs?: number): Promise<void> {
    if (this.closed) return Promise.reject(new StoreUnavailableError('redis'));
    if (this.seeded) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const waiter = { resolve, reject };
      this.waiters.push(waiter);
      if (timeoutMs === undefined) return;
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new StoreUnavailableError('redis', new Error(`revocation store not ready after ${timeoutMs} ms`)));
      }, timeoutMs);
      timer.unref();
      waiter.resolve = () => {
        clearTimeout(timer);
        resolve();
      };
      waiter.reject = (err) => {
        clearTimeout(timer);
        reject(err);
      };
    });
  }

  async revokeToken(jti: string, exp: number, clientId: string | null): Promise<void> {
    this.assertSeeded();
    await this.apply([{ type: 'token', jti, exp, clientId }], true);
  }

  async revokeClient(clientId: string, revokedBefore: number, until: number): Promise<void> {
    this.assertSeeded();
    await this.apply([{ type: 'client', clientId, revokedBefore, until }], true);
  }

  /** One round trip: MGET of the jti key, the client key and the seed marker. */
  async isRevoked(jti: string, clientId: string, iat: number): Promise<boolean> {
    this.assertSeeded();
    const [byJti, revokedBefore, marker] = await this.conn.run((r) =>
      r.mget(this.keys.revokedToken(jti), this.keys.revokedClient(clientId), this.markerKey),
    );
    if (marker === null || marker === undefined) throw this.lost();
    if (byJti !== null && byJti !== undefined) return true;
    return revokedBefore !== null && revokedBefore !== undefined && iat < Number(revokedBefore);
  }

  /**
   * The feed; the cursor is a stream id. A missing, unparseable, future or trimmed-away cursor gets a
   * snapshot: the stream from its start (it is trimmed to the retained window, so it holds every live
   * event); otherwise the entries after it. Either way up to `limit` entries, whose last id is the
   * cursor, so a snapshot continues with incremental pages. `hasMore` counts the entries read, before
   * lapsed ones are dropped.
   */
  async feed(since: string | null, limit: number): Promise<RevocationFeedPage> {
    this.assertSeeded();
    const count = Math.max(1, Math.floor(limit) || 1);
    const sinceId = since === null ? null : parseId(since);
    const results = await this.conn.run(async (r) => {
      const tx = r.multi().get(this.markerKey).xinfo('STREAM', this.streamKey);
      if (sinceId && since !== null) tx.xrange(this.streamKey, `(${since}`, '+', 'COUNT', count);
      return tx.exec();
    });
    if (!results) throw new StoreUnavailableError('redis', new Error('feed transaction aborted'));
    const [markerRes, infoRes, rangeRes] = results;
    if (!markerRes || markerRes[0]) throw toStoreError(markerRes?.[0] ?? new Error('no reply'));
    if (markerRes[1] === null) throw this.lost();
    let info: StreamInfo;
    if (infoRes?.[0]) {
      if (!/no such key/i.test(infoRes[0].message)) throw toStoreError(infoRes[0]);
      info = { length: 0, lastId: '0-0', maxDeletedId: '0-0', entriesAdded: 0, firstId: null };
    } else {
      info = parseStreamInfo(infoRes?.[1]);
    }
    if (sinceId && !this.needsSnapshot(sinceId, info)) {
      if (!rangeRes || rangeRes[0]) throw toStoreError(rangeRes?.[0] ?? new Error('no reply'));
      const entries = rangeRes[1] as StreamEntry[];
      const last = entries[entries.length - 1];
      return { events: this.live(entries), cursor: last ? last[0] : (since as string), snapshot: false, hasMore: entries.length >= count };
    }
    return this.snapshot(info.lastId, count);
  }

  /** Writes the events (idempotently) and marks the store as seeded. */
  async seed(events: RevocationEvent[]): Promise<void> {
    for (let i = 0; i < events.length; i += SEED_BATCH) await this.apply(events.slice(i, i + SEED_BATCH), false);
    const runId = await this.serverRunId();
    await this.markSeeded(runId);
    await this.conn.run((r) => r.mset(this.markerKey, runId ?? 'seeded', this.epochKey, String(this.clock.now())));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.seeded = false;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    clearInterval(this.sentinelTimer);
    this.conn.redis.off('ready', this.onReady);
    this.conn.redis.off('close', this.onClose);
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w.reject(new StoreUnavailableError('redis', new Error('closed')));
    await this.conn.release();
  }

  private needsSnapshot(since: [bigint, bigint], info: StreamInfo): boolean {
    const last = parseId(info.lastId) ?? [0n, 0n];
    if (compareIds(since, last) > 0) return true; // a cursor from the future: another Redis, or a rewound one
    const maxDeleted = parseId(info.maxDeletedId) ?? [0n, 0n];
    if (compareIds(since, maxDeleted) < 0) return true;
    const trimmed = info.entriesAdded === null || info.entriesAdded > info.length;
    if (!trimmed) return false;
    // Entries were trimmed at some point: an older cursor may have missed some of them.
    const first = info.firstId === null ? null : parseId(info.firstId);
    return first ? compareIds(since, first) < 0 : compareIds(since, last) < 0;
  }

  private async snapshot(lastGenerated: string, count: number): Promise<RevocationFeedPage> {
    const entries = await this.conn.run((r) => r.xrange(this.streamKey, '-', '+', 'COUNT', count));
    const hasMore = entries.length >= count;
    const last = entries[entries.length - 1];
    let cursor = lastGenerated;
    if (last) {
      const a = parseId(last[0]);
      const b = parseId(cursor);
      // A full page ends at its last entry; the last page at whichever is later (entries may have
      // been added after XINFO was read).
      if (hasMore || (a && (!b || compareIds(a, b) > 0))) cursor = last[0];
    }
    return { events: this.live(entries), cursor, snapshot: true, hasMore };
  }

  private live(entries: StreamEntry[]): RevocationEvent[] {
    const now = epochSeconds(this.clock);
    const out: RevocationEvent[] = [];
    for (const [, fields] of entries) {
      const e = toEvent(fields);
      if (e && (e.type === 'token' ? e.exp : e.until) > now) out.push(e);
    }
    return out;
  }

  private async apply(events: RevocationEvent[], requireSeeded: boolean): Promise<void> {
    if (events.length === 0) return;
    const keys = [this.markerKey, this.streamKey];
    const args = [requireSeeded ? '1' : '0', this.nudgeChannel];
    for (const e of events) {
      if (e.type === 'token') {
        if (!e.jti) throw new RangeError('jti must not be empty');
        keys.push(this.keys.revokedToken(e.jti));
        args.push('token', e.jti, checkSeconds('exp', e.exp), e.clientId ?? '');
      } else {
        if (!e.clientId) throw new RangeError('clientId must not be empty');
        keys.push(this.keys.revokedClient(e.clientId));
        args.push('client', e.clientId, checkSeconds('revokedBefore', e.revokedBefore), checkSeconds('until', e.until));
      }
    }
    try {
      await this.conn.evalScript(REVOKE, keys, args);
    } catch (err) {
      if (isUnseeded(err)) this.invalidate(true);
      throw err;
    }
  }

  private assertSeeded(): void {
    if (this.seeded) return;
    if (!this.closed && !this.checking && !this.retryTimer && this.conn.redis.status === 'ready') this.requestCheck();
    throw new StoreUnavailableError('redis', new Error(this.closed ? 'revocation store is closed' : 'revocation store is re-seeding'));
  }

  /** The marker is gone: Redis lost its data. Close the gate and re-seed. */
  private lost(): StoreUnavailableError {
    if (this.seeded) this.logger?.warn({ store: 'redis' }, 'redis lost its revocation or replay state; refusing assertions issued before now and re-seeding from the durable log');
    this.invalidate(true);
    return new StoreUnavailableError('redis', new Error('revocation state lost; re-seeding'));
  }

  private invalidate(check = false): void {
    this.generation++;
    this.seeded = false;
    if (check) this.requestCheck();
  }

  private requestCheck(): void {
    if (this.closed) return;
    if (this.checking) {
      this.recheck = true;
      return;
    }
    if (this.retryTimer) {
      clearTimeout(this.retryTimer);
      this.retryTimer = null;
    }
    this.checking = true;
    this.recheck = false;
    const generation = this.generation;
    this.checkSeed().then(
      () => {
        this.checking = false;
        if (this.closed) return;
        if (generation !== this.generation || this.recheck) return this.requestCheck();
        this.seeded = true;
        const waiters = this.waiters;
        this.waiters = [];
        for (const w of waiters) w.resolve();
      },
      (err: unknown) => {
        this.checking = false;
        if (this.closed) return;
        if (Date.now() - this.lastFailureLog >= ERROR_LOG_EVERY_MS) {
          this.lastFailureLog = Date.now();
          this.logger?.warn({ err: { message: (err as Error).message } }, 'revocation seed check failed; answering 503 until it succeeds');
        }
        if (this.recheck) return this.requestCheck();
        // A new 'ready' also triggers a check; the timer covers a reseed source (SQL) that was down.
        this.retryTimer = setTimeout(() => {
          this.retryTimer = null;
          if (this.conn.redis.status === 'ready') this.requestCheck();
        }, RESEED_RETRY_MS);
        this.retryTimer.unref();
      },
    );
  }

  /**
   * Re-seeds when a marker is missing (Redis came back empty, was flushed, evicted or lost keys) or
   * the seed marker names another server run (Redis restarted or failed over: persistence or
   * replication may have lost the last writes).
   */
  private async checkSeed(): Promise<void> {
    const [[marker, epoch], runId] = await Promise.all([this.conn.run((r) => r.mget(this.markerKey, this.epochKey)), this.serverRunId()]);
    if (marker !== null && marker !== undefined && epoch !== null && epoch !== undefined && (runId === null || marker === runId)) return;
    // Replay markers written before this point may be gone too: unless this Redis is new (no marker
    // at all, and the first seeding recorded in SQL), open the untrusted window before the markers
    // are set, so no claim passes between the two (Redis TIME, so every node agrees on L).
    const known = (marker !== null && marker !== undefined) || (epoch !== null && epoch !== undefined);
    if (known || !(await this.isFirstSeed(runId))) {
      await this.conn.run(async (r) => {
        const [seconds] = await r.time();
        await r.set(this.keys.replayUntrustedBefore, String(seconds), 'EX', REPLAY_UNTRUSTED_WINDOW_SECONDS);
      });
    }
    const events = await this.reseed();
    await this.seed(events);
    this.logger?.info({ events: events.length, reason: marker === null ? 'empty' : 'new server run' }, 'revocation store seeded from the durable log');
  }

  /** INFO's run_id (new at every server start); null when INFO is not allowed (then only an empty Redis is detected). */
  private async serverRunId(): Promise<string | null> {
    try {
      const info = await this.conn.run((r) => r.info('server'));
      return /^run_id:([0-9a-f]+)\s*$/m.exec(info)?.[1] ?? null;
    } catch (err) {
      if (err instanceof StoreUnavailableError) throw err;
      return null;
    }
  }

}

/**
 * Claims a client-assertion jti: refuses while either marker is missing (Redis lost its data, or
 * came back and the revocation store has not restored its state yet: fail closed, and the caller
 * starts the re-seed), refuses, while the untrusted window lasts, assertions without iat or with
 * iat ≤ L + the accepted future skew (see ReplayCache), then `SET NX EXAT`.
 * KEYS: seed marker, replay epoch, untrusted-before, jti key. ARGV: exat, iat ('' when absent), future skew.
 */
const CLAIM = luaScript(`
if redis.call('EXISTS', KEYS[1], KEYS[2]) < 2 then
  return redis.error_reply('TMUNSEEDED replay state has not been restored')
end
local ub = redis.call('GET', KEYS[3])
if ub and (ARGV[2] == '' or tonumber(ARGV[2]) <= tonumber(ub) + tonumber(ARGV[3])) then
  return 0
end
if redis.call('SET', KEYS[4], '1', 'NX', 'EXAT', ARGV[1]) then
  return 1
end
return 0
`);

/**
 * Single-use client-assertion `jti`s shared by the fleet (see CLAIM). `onMarkersLost` (the revocation
 * store's `markersLost`) is called when a claim finds a marker gone; the claim is retried once when
 * it resolves (the store re-seeded, the untrusted window open), else it fails closed (503).
 */
export class RedisReplayCache implements ReplayCache {
  private readonly conn: RedisConnection;
  private readonly keys: RedisKeys;
  private readonly onMarkersLost: ((timeoutMs: number) => Promise<void>) | undefined;
  private closed = false;

  constructor(conn: RedisConnection, options: { keyPrefix: string; onMarkersLost?: (timeoutMs: number) => Promise<void> }) {
    this.conn = conn.acquire();
    this.keys = redisKeys(options.keyPrefix);
    this.onMarkersLost = options.onMarkersLost;
  }

  async claim(key: string, expiresAtSeconds: number, issuedAtSeconds: number | null = null): Promise<boolean> {
    if (this.closed) throw new StoreUnavailableError('redis', new Error('replay cache is closed'));
    const exat = checkSeconds('expiresAtSeconds', expiresAtSeconds);
    const keys = [this.keys.seeded, this.keys.replayEpoch, this.keys.replayUntrustedBefore, this.keys.replayClaim(key)];
    const args = [String(exat), issuedAtSeconds === null ? '' : String(issuedAtSeconds), String(ASSERTION_MAX_FUTURE_IAT_SECONDS)];
    try {
      return (await this.conn.evalScript(CLAIM, keys, args)) === 1;
    } catch (err) {
      if (!isUnseeded(err) || !this.onMarkersLost) throw err;
      await this.onMarkersLost(CLAIM_RESEED_WAIT_MS).catch(() => {
        throw err;
      });
      return (await this.conn.evalScript(CLAIM, keys, args)) === 1;
    }
  }

  /** The untrusted window in force now (epoch seconds, Redis time), or null. */
  async untrustedWindow(): Promise<{ since: number; until: number; refusesIatUpTo: number } | null> {
    const key = this.keys.replayUntrustedBefore;
    const [since, ttl] = await this.conn.run(async (r) => Promise.all([r.get(key), r.ttl(key)]));
    if (since === null || ttl <= 0) return null;
    const l = Number(since);
    return { since: l, until: l + REPLAY_UNTRUSTED_WINDOW_SECONDS, refusesIatUpTo: l + ASSERTION_MAX_FUTURE_IAT_SECONDS };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.conn.release();
  }
}

type InvalidationChannel = 'clients' | 'keys';
type InvalidationHandler = (channel: InvalidationChannel, id: string) => void;

/**
 * Cross-node cache invalidation over Redis pub/sub. Messages are `{"channel","id"}` JSON on
 * `<prefix>invalidate`. Pub/sub does not queue for absent subscribers, so after the subscriber
 * re-connects every handler gets `('clients','*')` and `('keys','*')`: flush everything (SECURITY §3.2).
 */
export class RedisInvalidationBus implements InvalidationBus {
  private readonly conn: RedisConnection;
  private readonly url: string;
  private readonly channel: string;
  private readonly name: string;
  private readonly logger: RedisLogger | undefined;
  private readonly commandTimeoutMs: number | undefined;
  private readonly handlers: InvalidationHandler[] = [];
  private subscriber: RedisConnection | null = null;
  private subscribedOnce = false;
  private live = false;
  private liveWaiters: { resolve: () => void; reject: (err: Error) => void }[] = [];
  private closed = false;

  constructor(conn: RedisConnection, url: string, options: { keyPrefix: string; connectionName?: string; logger?: RedisLogger; commandTimeoutMs?: number }) {
    this.conn = conn.acquire();
    this.url = url;
    this.channel = redisKeys(options.keyPrefix).invalidation;
    this.name = `${options.connectionName ?? 'tokenmill'}-sub`;
    this.logger = options.logger;
    this.commandTimeoutMs = options.commandTimeoutMs;
  }

  async publish(channel: InvalidationChannel, id: string): Promise<void> {
    if (this.closed) throw new StoreUnavailableError('redis', new Error('invalidation bus is closed'));
    const message = JSON.stringify({ channel, id });
    await this.conn.run((r) => r.publish(this.channel, message));
  }

  /** Registers a handler; the first call opens the dedicated subscriber connection. */
  subscribe(handler: InvalidationHandler): void {
    if (this.closed) throw new Error('invalidation bus is closed');
    this.handlers.push(handler);
    this.open();
  }

  /**
   * Resolves once the subscription is live (opening the subscriber connection if needed), so that
   * nothing published afterwards can be missed. With `timeoutMs`, rejects with StoreUnavailableError.
   */
  ready(timeoutMs?: number): Promise<void> {
    if (this.closed) return Promise.reject(new StoreUnavailableError('redis'));
    this.open();
    if (this.live) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = timeoutMs === undefined ? null : setTimeout(() => {
        this.liveWaiters = this.liveWaiters.filter((w) => w !== waiter);
        reject(new StoreUnavailableError('redis', new Error(`not subscribed after ${timeoutMs} ms`)));
      }, timeoutMs);
      timer?.unref();
      const waiter = {
        resolve: () => {
          if (timer) clearTimeout(timer);
          resolve();
        },
        reject: (err: Error) => {
          if (timer) clearTimeout(timer);
          reject(err);
        },
      };
      this.liveWaiters.push(waiter);
    });
  }

  private open(): void {
    if (this.subscriber) return;
    const sub = new RedisConnection(this.url, {
      name: this.name,
      commandTimeoutMs: this.commandTimeoutMs,
      // We subscribe on every 'ready' ourselves, so we know when a re-subscription is live.
      extra: { autoResubscribe: false },
      ...(this.logger ? { logger: this.logger } : {}),
    }).acquire();
    this.subscriber = sub;
    sub.redis.on('message', (channel: string, message: string) => {
      if (channel !== this.channel) return;
      const parsed = parseInvalidation(message);
      if (!parsed) {
        this.logger?.warn({ channel }, 'ignoring a malformed invalidation message');
        return;
      }
      this.deliver(parsed.channel, parsed.id);
    });
    sub.redis.on('close', () => {
      this.live = false;
    });
    sub.redis.on('ready', () => {
      sub.redis.subscribe(this.channel).then(
        () => {
          if (this.closed) return;
          // Flush after the subscription is live, so no change can fall between flush and subscription.
          if (this.subscribedOnce) {
            this.deliver('clients', '*');
            this.deliver('keys', '*');
          }
          this.subscribedOnce = true;
          this.live = true;
          const waiters = this.liveWaiters;
          this.liveWaiters = [];
          for (const w of waiters) w.resolve();
        },
        (err: unknown) => this.logger?.warn({ err: { message: (err as Error).message } }, 'redis subscribe failed; waiting for the next connection'),
      );
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.handlers.length = 0;
    const waiters = this.liveWaiters;
    this.liveWaiters = [];
    for (const w of waiters) w.reject(new StoreUnavailableError('redis', new Error('closed')));
    await Promise.all([this.subscriber?.release(), this.conn.release()]);
  }

  private deliver(channel: InvalidationChannel, id: string): void {
    for (const h of this.handlers) {
      try {
        h(channel, id);
      } catch (err) {
        this.logger?.warn({ err: { message: (err as Error).message } }, 'invalidation handler threw');
      }
    }
  }
}

function parseInvalidation(message: string): { channel: InvalidationChannel; id: string } | null {
  try {
    const v: unknown = JSON.parse(message);
    if (!v || typeof v !== 'object') return null;
    const { channel, id } = v as { channel?: unknown; id?: unknown };
    if ((channel === 'clients' || channel === 'keys') && typeof id === 'string') return { channel, id };
  } catch {
    /* malformed */
  }
  return null;
}

/**
 * Opens the Redis stores of one node: one command connection shared by the revocation store, the
 * replay cache and the invalidation bus (which adds a subscriber connection on first subscribe).
 * `rediss://` URLs use TLS. Await `stores.revocations.ready()` before serving.
 */
export function openRedis(url: string, options: OpenRedisOptions): RedisStores {
  const name = options.connectionName ?? 'tokenmill';
  const common = {
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.commandTimeoutMs !== undefined ? { commandTimeoutMs: options.commandTimeoutMs } : {}),
  };
  const conn = new RedisConnection(url, { name, ...common });
  const revocations = new RedisRevocationStore(conn, {
    keyPrefix: options.keyPrefix,
    reseed: options.reseed,
    ...(options.isFirstSeed ? { isFirstSeed: options.isFirstSeed } : {}),
    ...(options.markSeeded ? { markSeeded: options.markSeeded } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
  });
  const replay = new RedisReplayCache(conn, { keyPrefix: options.keyPrefix, onMarkersLost: (ms) => revocations.markersLost(ms) });
  const invalidation = new RedisInvalidationBus(conn, url, { keyPrefix: options.keyPrefix, connectionName: name, ...common });
  return {
    revocations,
    replay,
    invalidation,
    async ping() {
      await conn.run((r) => r.ping());
    },
    async evictionPolicy() {
      try {
        const reply = (await conn.run((r) => r.config('GET', 'maxmemory-policy'))) as unknown;
        const flat = Array.isArray(reply) ? reply : reply && typeof reply === 'object' ? Object.entries(reply).flat() : [];
        const i = flat.indexOf('maxmemory-policy');
        return i >= 0 && typeof flat[i + 1] === 'string' ? (flat[i + 1] as string) : null;
      } catch {
        return null;
      }
    },
    async close() {
      await Promise.all([revocations.close(), replay.close(), invalidation.close()]);
    },
  };
}
