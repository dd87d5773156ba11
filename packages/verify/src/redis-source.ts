/**
 * Keeps the deny set in sync from the authorization server's Redis (`revocations: { redisUrl }`).
 *
 * @packageDocumentation
 */
import type { Redis as RedisClient } from 'ioredis';
import { DenySet } from './deny-set.js';
import { REVOCATION_ENTRY as E, redisKeys, type RedisKeys } from './protocol/index.js';
import { SyncBase, SyncError, backoffDelay, isId, isNumericDate, nowSeconds } from './sync.js';

/** Options of {@link RedisSource}. */
export interface RedisSourceOptions {
  /** `redis://…` or `rediss://…` URL of the server's Redis. */
  redisUrl: string;
  /** Key prefix the server uses (default `tokenmill:`). */
  keyPrefix: string;
  /** The deny set to maintain. */
  deny: DenySet;
  /** Milliseconds an `XREAD BLOCK` waits before the loop re-checks (and records a healthy round). */
  blockMs: number;
  /** Base of the retry backoff, in milliseconds. */
  retryBase: number;
  /** Cap on the retry backoff, in milliseconds. */
  maxBackoff: number;
  /**
   * Require the server's seed marker `${prefix}rev:seeded` (default true): while it is missing, or names
   * another Redis run than the one connected to, Redis may not hold every live revocation, so rounds fail
   * (the current set is kept and, past `maxStaleness`, verification fails closed).
   */
  requireSeeded: boolean;
}

/** The part of `XINFO STREAM` this source relies on (Redis ≥ 7.0). */
interface StreamInfo {
  /** `entries-added`: every entry ever appended, trimmed or not. */
  added: number;
  /** `last-generated-id`. */
  lastId: string;
}

const PAGE = 1000;

/** Compares two stream ids `ms-seq`. */
export function compareStreamIds(a: string, b: string): number {
  const [am = '0', as = '0'] = a.split('-');
  const [bm = '0', bs = '0'] = b.split('-');
  const d = BigInt(am) - BigInt(bm);
  if (d !== 0n) return d < 0n ? -1 : 1;
  const e = BigInt(as) - BigInt(bs);
  return e === 0n ? 0 : e < 0n ? -1 : 1;
}

/** Escapes glob characters for SCAN MATCH. */
function globEscape(s: string): string {
  return s.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

function fieldsToRecord(fields: unknown): Record<string, string> {
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  if (!Array.isArray(fields)) return out;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const k = fields[i];
    const v = fields[i + 1];
    if (typeof k === 'string' && typeof v === 'string') out[k] = v;
  }
  return out;
}

function parseNum(v: string | undefined): number | undefined {
  if (v === undefined || !/^\d{1,15}(\.\d+)?$/.test(v)) return undefined;
  const n = Number(v);
  return isNumericDate(n) ? n : undefined;
}

/**
 * Redis mode. The server keeps revoked jtis at `${prefix}rev:jti:${jti}`, client-wide revocations at
 * `${prefix}rev:client:${clientId}` (value = revoked_before, TTL = until the entry stops mattering), and
 * appends every revocation to the stream `${prefix}revocations` (fields `type` = `token`|`client`, `jti`,
 * `exp`, `client_id`, `revoked_before`, `until`).
 *
 * Start: full read of the stream (and, when `XINFO` shows entries were ever trimmed, a SCAN of the keys),
 * replacing the set. Then a loop: `XINFO STREAM` (entries-added, last-generated-id), `XRANGE` of the ids
 * after the last one applied up to last-generated-id, and a count check — fewer entries than
 * `entries-added` grew by means the stream was trimmed past our position, so it is re-read whole. Between
 * rounds `XREAD BLOCK` waits for the next append (so latency is one round trip), waking every `blockMs`.
 * Requires Redis ≥ 7.0 (`entries-added` in `XINFO STREAM`). Each round first checks the server's seed
 * marker `${prefix}rev:seeded` (see {@link RedisSourceOptions.requireSeeded}).
 */
export class RedisSource extends SyncBase {
  readonly mode = 'redis' as const;
  readonly #opts: RedisSourceOptions;
  readonly #keys: RedisKeys;
  readonly #stream: string;
  #redis: RedisClient | undefined;
  #lastId = '0-0';
  #seenAdded = 0;
  #needFullRead = true;
  #checkRunId = true;
  #loop: Promise<void> | undefined;

  constructor(opts: RedisSourceOptions) {
    super();
    this.#opts = opts;
    this.#keys = redisKeys(opts.keyPrefix);
    this.#stream = this.#keys.revocationStream;
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.sleeper.cancel();
    this.#redis?.disconnect();
    await this.#loop;
  }

  async #connect(): Promise<RedisClient> {
    if (this.#redis) {
      if (this.#redis.status === 'wait' || this.#redis.status === 'end') await this.#redis.connect();
      return this.#redis;
    }
    const { Redis } = await import('ioredis');
    const redis = new Redis(this.#opts.redisUrl, {
      protocol: 2,
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: 5000,
      blockingTimeout: this.#opts.blockMs + 5000,
      connectionName: 'tokenmill-verifier',
    });
    redis.on('error', () => {
      /* surfaced through the failing commands and stats() */
    });
    redis.on('ready', () => {
      this.#checkRunId = true; // a (re)connect may have reached a restarted or promoted Redis
    });
    this.#redis = redis;
    if (this.closed) redis.disconnect();
    else await redis.connect();
    return redis;
  }

  async #run(): Promise<void> {
    while (!this.closed) {
      try {
        const redis = await this.#connect();
        if (this.#opts.requireSeeded) await this.#checkSeeded(redis);
        if (this.#needFullRead) await this.#fullRead(redis);
        else await this.#catchUp(redis);
        if (this.closed) break;
        this.succeeded();
        if (!this.#needFullRead) {
          // Wait for the next append (or blockMs). Content is read by the next #catchUp.
          await redis.call('XREAD', 'COUNT', '1', 'BLOCK', String(this.#opts.blockMs), 'STREAMS', this.#stream, this.#lastId);
        }
      } catch (err) {
        if (this.closed) break;
        this.failed(err instanceof Error ? new SyncError(`revocation stream: ${err.message}`, err) : err);
        await this.sleeper.wait(backoffDelay(this.#opts.retryBase, this.failures, this.#opts.maxBackoff));
      }
    }
  }

  /** Fails the round unless the server's seed marker is present (and, after a connect, names this run). */
  async #checkSeeded(redis: RedisClient): Promise<void> {
    const marker = await redis.get(this.#keys.seeded);
    if (marker === null) throw new SyncError('Redis does not hold the revocation state (rev:seeded marker missing)');
    if (!this.#checkRunId) return;
    if (/^[0-9a-f]{40}$/.test(marker)) {
      const info = String(await redis.call('INFO', 'server'));
      const runId = /^run_id:([0-9a-f]{40})\s*$/m.exec(info)?.[1];
      if (runId !== undefined && runId !== marker) {
        throw new SyncError('Redis revocation state is being re-seeded (rev:seeded names another run)');
      }
    }
    this.#checkRunId = false;
  }

  async #info(redis: RedisClient): Promise<StreamInfo> {
    let reply: unknown;
    try {
      reply = await redis.call('XINFO', 'STREAM', this.#stream);
    } catch (err) {
      if (err instanceof Error && /no such key/i.test(err.message)) return { added: 0, lastId: '0-0' };
      throw err;
    }
    const rec: Record<string, unknown> = {};
    if (Array.isArray(reply)) for (let i = 0; i + 1 < reply.length; i += 2) rec[String(reply[i])] = reply[i + 1];
    const added = Number(rec['entries-added']);
    const lastId = rec['last-generated-id'];
    if (!Number.isSafeInteger(added) || typeof lastId !== 'string') {
      throw new SyncError('XINFO STREAM lacks entries-added / last-generated-id (Redis >= 7.0 required)');
    }
    return { added, lastId };
  }

  /** Reads the entries with ids in (after, upTo], page by page, applying each. Returns how many. */
  async #readRange(redis: RedisClient, after: string | undefined, upTo: string, target: DenySet): Promise<number> {
    let start = after === undefined ? '-' : `(${after}`;
    let count = 0;
    for (;;) {
      const reply = await redis.call('XRANGE', this.#stream, start, upTo, 'COUNT', String(PAGE));
      if (!Array.isArray(reply) || reply.length === 0) return count;
      const now = nowSeconds();
      let last: string | undefined;
      for (const item of reply) {
        if (!Array.isArray(item) || typeof item[0] !== 'string') continue;
        last = item[0];
        count++;
        this.#applyEntry(fieldsToRecord(item[1]), target, now);
      }
      if (reply.length < PAGE || last === undefined) return count;
      start = `(${last}`;
    }
  }

  #applyEntry(f: Record<string, string>, target: DenySet, now: number): void {
    const type = f[E.type];
    if (type === E.token) {
      const jti = f[E.jti];
      const exp = parseNum(f[E.exp]) ?? parseNum(f[E.until]);
      if (isId(jti) && exp !== undefined) target.addToken(jti, exp, now);
      else this.malformed();
    } else if (type === E.client) {
      const clientId = f[E.clientId];
      const revokedBefore = parseNum(f[E.revokedBefore]);
      const until = parseNum(f[E.until]) ?? parseNum(f[E.exp]);
      if (isId(clientId) && revokedBefore !== undefined && until !== undefined) target.addClient(clientId, revokedBefore, until, now);
      else this.malformed();
    }
    // Unknown types are ignored (forward compatibility).
  }

  /** Builds a fresh set from the whole stream (plus the keys when entries were trimmed) and swaps it in. */
  async #fullRead(redis: RedisClient): Promise<void> {
    const info = await this.#info(redis);
    const staging = new DenySet(this.#opts.deny.graceSeconds);
    const read = info.lastId === '0-0' ? 0 : await this.#readRange(redis, undefined, info.lastId, staging);
    if (read < info.added) await this.#scanKeys(redis, staging);
    this.#opts.deny.replaceWith(staging);
    this.#lastId = info.lastId;
    this.#seenAdded = info.added;
    this.#needFullRead = false;
    this.snapshotApplied();
  }

  async #catchUp(redis: RedisClient): Promise<void> {
    const info = await this.#info(redis);
    if (info.added === this.#seenAdded && info.lastId === this.#lastId) return;
    if (info.added < this.#seenAdded || compareStreamIds(info.lastId, this.#lastId) < 0) {
      // The stream was deleted and re-created.
      await this.#fullRead(redis);
      return;
    }
    const expected = info.added - this.#seenAdded;
    // Read into a scratch set first: if entries are missing we re-read everything anyway.
    const scratch = new DenySet(this.#opts.deny.graceSeconds);
    const read = await this.#readRange(redis, this.#lastId, info.lastId, scratch);
    if (read !== expected) {
      await this.#fullRead(redis);
      return;
    }
    const now = nowSeconds();
    for (const [jti, exp] of scratch.tokens) this.#opts.deny.addToken(jti, exp, now);
    for (const [id, c] of scratch.clients) this.#opts.deny.addClient(id, c.revokedBefore, c.exp, now);
    this.#lastId = info.lastId;
    this.#seenAdded = info.added;
  }

  /** Adds every `rev:jti:*` and `rev:client:*` key (exp from the key's TTL or NumericDate value). */
  async #scanKeys(redis: RedisClient, target: DenySet): Promise<void> {
    const kinds: Array<['jti' | 'client', string]> = [
      ['jti', this.#keys.revokedTokenPrefix],
      ['client', this.#keys.revokedClientPrefix],
    ];
    for (const [kind, keyPrefix] of kinds) {
      let cursor = '0';
      do {
        const reply = (await redis.call('SCAN', cursor, 'MATCH', `${globEscape(keyPrefix)}*`, 'COUNT', '1000')) as [string, string[]];
        cursor = String(reply[0]);
        const keys = Array.isArray(reply[1]) ? reply[1].filter((k): k is string => typeof k === 'string') : [];
        if (keys.length === 0) continue;
        const pipe = redis.pipeline();
        for (const k of keys) pipe.pttl(k).get(k);
        const results = (await pipe.exec()) ?? [];
        const nowMs = Date.now();
        const now = Math.floor(nowMs / 1000);
        keys.forEach((key, i) => {
          const [ttlErr, ttl] = results[2 * i] ?? [null, null];
          const [valErr, value] = results[2 * i + 1] ?? [null, null];
          if (ttlErr || valErr) return;
          const id = key.slice(keyPrefix.length);
          const ttlMs = typeof ttl === 'number' ? ttl : Number(ttl);
          if (ttlMs === -2) return; // gone meanwhile
          const fromTtl = ttlMs > 0 ? Math.ceil((nowMs + ttlMs) / 1000) : undefined;
          const num = parseNum(typeof value === 'string' ? value : undefined);
          if (kind === 'jti') {
            const fromValue = num !== undefined && num > 1e9 ? num : undefined;
            const exp = fromValue ?? fromTtl ?? now + 86_400;
            if (isId(id)) target.addToken(id, exp, now);
          } else {
            if (num === undefined || !isId(id)) {
              this.malformed();
              return;
            }
            target.addClient(id, num, fromTtl ?? now + 86_400, now);
          }
        });
      } while (cursor !== '0' && !this.closed);
    }
  }
}
