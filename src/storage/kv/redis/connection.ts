import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import { StoreUnavailableError } from '../../types.js';
import type { LuaScript } from './scripts.js';

/** The logger methods the Redis stores use (a pino logger fits). */
export type RedisLogger = Pick<Logger, 'warn' | 'info'>;

/** Failed-command logs are throttled to one per this many ms. */
export const ERROR_LOG_EVERY_MS = 10_000;

/** Reply errors that mean "Redis cannot serve now" rather than "we sent something wrong". */
const UNAVAILABLE_REPLY = /^(MISCONF|READONLY|LOADING|BUSY|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|OOM|NOREPLICAS|NOAUTH|WRONGPASS|TMUNSEEDED)\b/;

/** Maps a failed command to StoreUnavailableError unless Redis answered and said our command was wrong. */
export function toStoreError(err: unknown): Error {
  if (err instanceof StoreUnavailableError) return err;
  const e = err as { name?: unknown; message?: unknown } | null;
  if (e && e.name === 'ReplyError' && typeof e.message === 'string' && !UNAVAILABLE_REPLY.test(e.message)) return err as Error;
  return new StoreUnavailableError('redis', err);
}

export function isUnseeded(err: unknown): boolean {
  return err instanceof StoreUnavailableError && /^TMUNSEEDED\b/.test(String((err.cause as { message?: unknown } | undefined)?.message ?? ''));
}

/**
 * One ioredis connection with tokenmill's failure policy: no offline queue, one retry per command,
 * reconnect every ≤ 500 ms forever, errors logged (throttled) and never thrown at the process.
 * Reference-counted so several stores can share it; the last release quits it.
 */
/** Reports one command (a MULTI or a script counts once): seconds, and null or the failure kind. */
export type RedisObserver = (seconds: number, error: 'unavailable' | 'reply' | null) => void;

export class RedisConnection {
  readonly redis: Redis;
  private readonly logger: RedisLogger | undefined;
  private readonly label: string;
  private refs = 0;
  private lastErrorLog = 0;
  private wasDown = false;
  private closing: Promise<void> | null = null;
  private readonly observe: RedisObserver | undefined;

  constructor(url: string, options: { name: string; logger?: RedisLogger; commandTimeoutMs?: number; observe?: RedisObserver; extra?: RedisOptions }) {
    if (!/^rediss?:\/\//i.test(url)) throw new TypeError('REDIS_URL must start with redis:// or rediss:// (TLS)');
    this.logger = options.logger;
    this.observe = options.observe;
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
    const start = performance.now();
    try {
      const result = await command(this.redis);
      this.observe?.((performance.now() - start) / 1000, null);
      return result;
    } catch (err) {
      const e = toStoreError(err);
      this.observe?.((performance.now() - start) / 1000, e instanceof StoreUnavailableError ? 'unavailable' : 'reply');
      throw e;
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
