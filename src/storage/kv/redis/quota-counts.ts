import type { QuotaIncrement, SharedCounts } from '../../../quota/shared-counts.js';
import { StoreUnavailableError } from '../../types.js';
import { toStoreError, type RedisConnection } from './connection.js';

/**
 * Token-quota counts shared by the fleet: one pipeline per flush, INCRBY + PEXPIREAT per client
 * window (INCRBY 0 reads), the totals read back from the INCRBY replies. Keys:
 * `<prefix>quota:<window>:<window start, epoch s>:<client_id>`.
 */
export class RedisQuotaCounts implements SharedCounts {
  private readonly conn: RedisConnection;
  private readonly prefix: string;
  private closed = false;

  constructor(conn: RedisConnection, options: { keyPrefix: string }) {
    this.conn = conn.acquire();
    this.prefix = options.keyPrefix;
  }

  async add(increments: readonly QuotaIncrement[]): Promise<number[]> {
    if (this.closed) throw new StoreUnavailableError('redis', new Error('quota counts are closed'));
    if (increments.length === 0) return [];
    const replies = await this.conn.run((r) => {
      const p = r.pipeline();
      for (const inc of increments) {
        const key = this.prefix + inc.key;
        p.incrby(key, inc.by);
        p.pexpireat(key, inc.expiresAt);
      }
      return p.exec();
    });
    if (!replies) throw new StoreUnavailableError('redis', new Error('pipeline aborted'));
    return increments.map((_, i) => {
      const [err, value] = replies[2 * i] ?? [new Error('missing reply'), null];
      if (err) throw toStoreError(err);
      return Number(value);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.conn.release();
  }
}
