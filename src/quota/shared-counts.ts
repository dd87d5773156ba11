/**
 * Where the nodes of a fleet (Redis) or the workers of one node (the primary process, over IPC) add
 * up their quota counts. `add` adds each increment (0 only reads) to its key, keeps the key until
 * `expiresAt` (epoch ms: the end of its window, plus a margin), and returns the totals in order.
 */
export interface SharedCounts {
  add(increments: readonly QuotaIncrement[]): Promise<number[]>;
}

export interface QuotaIncrement {
  key: string;
  by: number;
  expiresAt: number;
}

/** Counts in this process: the primary process sums its workers' counts with it. */
export class MemoryCounts implements SharedCounts {
  private readonly counts = new Map<string, { value: number; expiresAt: number }>();
  private readonly now: () => number;
  private lastSweep = 0;
  constructor(now: () => number = Date.now) {
    this.now = now;
  }
  async add(increments: readonly QuotaIncrement[]): Promise<number[]> {
    const now = this.now();
    if (now - this.lastSweep > 10_000) {
      this.lastSweep = now;
      for (const [k, v] of this.counts) if (v.expiresAt <= now) this.counts.delete(k);
    }
    return increments.map((inc) => {
      let entry = this.counts.get(inc.key);
      if (!entry || entry.expiresAt <= now) this.counts.set(inc.key, (entry = { value: 0, expiresAt: inc.expiresAt }));
      entry.value += inc.by;
      entry.expiresAt = Math.max(entry.expiresAt, inc.expiresAt);
      return entry.value;
    });
  }
}
