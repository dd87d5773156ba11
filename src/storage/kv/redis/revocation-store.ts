import type { Clock } from '../../../lib/clock.js';
import { epochSeconds, systemClock } from '../../../lib/clock.js';
import { Waiters } from '../../../lib/wait.js';
import { redisKeys, type RedisKeys } from '../../../protocol/index.js';
import type { RevocationEvent, RevocationFeedPage, RevocationStore, SeedVerdict } from '../../types.js';
import { REPLAY_UNTRUSTED_WINDOW_SECONDS, StoreUnavailableError } from '../../types.js';
import { ERROR_LOG_EVERY_MS, isUnseeded, toStoreError, type RedisConnection, type RedisLogger } from './connection.js';
import { REVOKE, checkSeconds } from './scripts.js';
import { compareIds, parseId, parseStreamInfo, toEvent, type StreamEntry, type StreamInfo } from './stream.js';

const RESEED_RETRY_MS = 1000;
/** How often a seeded store checks that its markers are still there (a FLUSHALL, an eviction, a DEL). */
const SENTINEL_CHECK_MS = 1000;
const SEED_BATCH = 200;
/**
 * A loss found within this long of this Redis run's seeding being recorded complete may be no loss:
 * the node that recorded it sets the markers with its next command. Such a loss waits up to
 * SEEDING_MARKERS_WAIT_MS for them before it opens the replay untrusted window.
 */
const JUST_SEEDED_MS = 2000;
const SEEDING_MARKERS_WAIT_MS = 500;
const SEEDING_MARKERS_POLL_MS = 20;

/** A marker read back from MGET: set (any value) or not. */
const isSet = (value: string | null | undefined): value is string => value !== null && value !== undefined;

/** Options of {@link RedisRevocationStore}. */
export interface RedisRevocationStoreOptions {
  keyPrefix: string;
  reseed: () => Promise<RevocationEvent[]>;
  seedVerdict?: (runId: string | null) => Promise<SeedVerdict>;
  markSeeded?: (runId: string | null) => Promise<void>;
  clock?: Clock;
  logger?: RedisLogger;
}

/**
 * Fleet-wide revocation state in Redis (architecture decision 5). A revoked jti is a key living until the
 * token's `exp`; a client-wide revocation is a key holding `revoked_before` until `until`; every
 * change is also appended to a stream (the feed) and nudged on pub/sub.
 *
 * Fail closed (threat model §3.1): the marker key `rev:seeded` says Redis holds every live revocation;
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
  private readonly seedVerdict: (runId: string | null) => Promise<SeedVerdict>;
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
  private readonly waiters = new Waiters();
  private readonly onReady = (): void => this.requestCheck();
  private readonly onClose = (): void => this.invalidate();

  constructor(conn: RedisConnection, options: RedisRevocationStoreOptions) {
    this.conn = conn.acquire();
    this.keys = redisKeys(options.keyPrefix);
    this.reseed = options.reseed;
    this.seedVerdict = options.seedVerdict ?? (async () => ({ first: false, sameRunSeededMsAgo: null }));
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
    return this.waiters.wait(timeoutMs, () => new StoreUnavailableError('redis', new Error(`revocation store not ready after ${timeoutMs} ms`)));
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
    const [byJti, revokedBefore, marker] = await this.conn.run((r) => r.mget(this.keys.revokedToken(jti), this.keys.revokedClient(clientId), this.markerKey));
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
    this.waiters.rejectAll(new StoreUnavailableError('redis', new Error('closed')));
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
        this.waiters.resolveAll();
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
    if (isSet(marker) && isSet(epoch) && (runId === null || marker === runId)) return;
    // Replay markers written before this point may be gone too: unless this Redis is new (no marker
    // at all, and the first seeding recorded in SQL), open the untrusted window before the markers
    // are set, so no claim passes between the two (Redis TIME, so every node agrees on L).
    const known = isSet(marker) || isSet(epoch);
    const verdict = known ? null : await this.seedVerdict(runId);
    if (!verdict?.first) {
      // Two nodes starting on a new Redis: this one read no markers, then the other finished the
      // first seeding (recorded in SQL, then the markers set) before this one asked the registry.
      // That is not a loss: the markers of this run are there now, or are being set (a seeding
      // recorded just now). Record the seeding again (the registry call above recorded a loss) and
      // use them, instead of opening a replay window nothing was lost for.
      const justSeeded = verdict?.sameRunSeededMsAgo != null && verdict.sameRunSeededMsAgo < JUST_SEEDED_MS;
      if (verdict && (await this.seededByAnotherNode(runId, justSeeded ? SEEDING_MARKERS_WAIT_MS : 0))) return;
      await this.conn.run(async (r) => {
        const [seconds] = await r.time();
        await r.set(this.keys.replayUntrustedBefore, String(seconds), 'EX', REPLAY_UNTRUSTED_WINDOW_SECONDS);
      });
    }
    const events = await this.reseed();
    await this.seed(events);
    this.logger?.info({ events: events.length, reason: marker === null ? 'empty' : 'new server run' }, 'revocation store seeded from the durable log');
  }

  /**
   * Both markers present and naming this server run, now or within `waitMs`: another node completed
   * the seeding meanwhile. Markers set by any node's seeding are safe to use: it was a first seeding
   * (no claim was made in this run before it) or that node opened the untrusted window first.
   */
  private async seededByAnotherNode(runId: string | null, waitMs: number): Promise<boolean> {
    const until = Date.now() + waitMs;
    for (;;) {
      const [marker, epoch] = await this.conn.run((r) => r.mget(this.markerKey, this.epochKey));
      if (isSet(marker) && isSet(epoch)) {
        if (runId !== null && marker !== runId) return false;
        await this.markSeeded(runId);
        return true;
      }
      if (Date.now() >= until || this.closed) return false;
      await new Promise((resolve) => setTimeout(resolve, SEEDING_MARKERS_POLL_MS));
    }
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
