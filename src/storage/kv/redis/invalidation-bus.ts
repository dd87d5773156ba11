import { Waiters } from '../../../lib/wait.js';
import { redisKeys } from '../../../protocol/index.js';
import type { BlockBroadcast } from '../../../lib/failure-limiter.js';
import type { InvalidationBus } from '../../types.js';
import { StoreUnavailableError } from '../../types.js';
import { RedisConnection, type RedisLogger } from './connection.js';

type InvalidationChannel = 'clients' | 'keys';
type InvalidationHandler = (channel: InvalidationChannel, id: string) => void;

/**
 * Cross-node cache invalidation over Redis pub/sub. Messages are `{"channel","id"}` JSON on
 * `<prefix>invalidate`. Pub/sub does not queue for absent subscribers, so after the subscriber
 * re-connects every handler gets `('clients','*')` and `('keys','*')`: flush everything (threat model §3.2).
 *
 * The same subscriber hears the failed-authentication blocks of every node (lib/failure-limiter.ts):
 * `{"source","ms"}` JSON on `<prefix>authblock`. A block missed while reconnecting is learnt at the
 * source's next failure at this node, from the shared count.
 */
export class RedisInvalidationBus implements InvalidationBus, BlockBroadcast {
  private readonly conn: RedisConnection;
  private readonly url: string;
  private readonly channel: string;
  private readonly blockChannel: string;
  private readonly blockHandlers: ((source: string, ms: number) => void)[] = [];
  private readonly name: string;
  private readonly logger: RedisLogger | undefined;
  private readonly commandTimeoutMs: number | undefined;
  private readonly handlers: InvalidationHandler[] = [];
  private subscriber: RedisConnection | null = null;
  private subscribedOnce = false;
  private live = false;
  private readonly liveWaiters = new Waiters();
  private closed = false;

  constructor(conn: RedisConnection, url: string, options: { keyPrefix: string; connectionName?: string; logger?: RedisLogger; commandTimeoutMs?: number }) {
    this.conn = conn.acquire();
    this.url = url;
    this.channel = redisKeys(options.keyPrefix).invalidation;
    this.blockChannel = `${options.keyPrefix}authblock`;
    this.name = `${options.connectionName ?? 'tokenmill'}-sub`;
    this.logger = options.logger;
    this.commandTimeoutMs = options.commandTimeoutMs;
  }

  async publish(channel: InvalidationChannel, id: string): Promise<void> {
    if (this.closed) throw new StoreUnavailableError('redis', new Error('invalidation bus is closed'));
    const message = JSON.stringify({ channel, id });
    await this.conn.run((r) => r.publish(this.channel, message));
  }

  async announce(source: string, ms: number): Promise<void> {
    if (this.closed) throw new StoreUnavailableError('redis', new Error('invalidation bus is closed'));
    const message = JSON.stringify({ source, ms });
    await this.conn.run((r) => r.publish(this.blockChannel, message));
  }

  /** Registers a handler of announced blocks (this node's own included); opens the subscriber connection. */
  onAnnounced(handler: (source: string, ms: number) => void): void {
    if (this.closed) throw new Error('invalidation bus is closed');
    this.blockHandlers.push(handler);
    this.open();
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
    return this.liveWaiters.wait(timeoutMs, () => new StoreUnavailableError('redis', new Error(`not subscribed after ${timeoutMs} ms`)));
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
      if (channel === this.blockChannel) return this.deliverBlock(message);
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
      sub.redis.subscribe(this.channel, this.blockChannel).then(
        () => {
          if (this.closed) return;
          // Flush after the subscription is live, so no change can fall between flush and subscription.
          if (this.subscribedOnce) {
            this.deliver('clients', '*');
            this.deliver('keys', '*');
          }
          this.subscribedOnce = true;
          this.live = true;
          this.liveWaiters.resolveAll();
        },
        (err: unknown) => this.logger?.warn({ err: { message: (err as Error).message } }, 'redis subscribe failed; waiting for the next connection'),
      );
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.handlers.length = 0;
    this.blockHandlers.length = 0;
    this.liveWaiters.rejectAll(new StoreUnavailableError('redis', new Error('closed')));
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

  private deliverBlock(message: string): void {
    const block = parseBlock(message);
    if (!block) {
      this.logger?.warn({ channel: this.blockChannel }, 'ignoring a malformed block announcement');
      return;
    }
    for (const h of this.blockHandlers) h(block.source, block.ms);
  }
}

function parseBlock(message: string): { source: string; ms: number } | null {
  try {
    const v: unknown = JSON.parse(message);
    if (!v || typeof v !== 'object') return null;
    const { source, ms } = v as { source?: unknown; ms?: unknown };
    if (typeof source === 'string' && typeof ms === 'number') return { source, ms };
  } catch {
    /* malformed */
  }
  return null;
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
