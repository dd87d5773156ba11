import type { Counter } from 'prom-client';
import type { Clock } from '../lib/clock.js';
import type { Metrics } from '../lib/metrics-registry.js';

const HOUR = 3_600_000;

/** Tokens issued per hour, one value per hour, oldest first. */
export interface HourlySeries {
  /** start of each hour, epoch ms */
  hours: number[];
  counts: number[];
}

/**
 * Tokens issued per hour over the last 24 hours, from this process's
 * `tokenmill_tokens_issued_total` counter, sampled every minute (and at each read). This is the
 * stand-in until token usage is recorded per client (the quota work): the series then comes from
 * that data, and this class goes. It knows only what this process issued since it started.
 */
export class TokenHistory {
  private readonly counter: Counter | undefined;
  private readonly clock: Clock;
  private readonly buckets = new Map<number, number>();
  private last: number | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(metrics: Metrics, clock: Clock) {
    this.counter = metrics.registry.getSingleMetric('tokenmill_tokens_issued_total') as Counter | undefined;
    this.clock = clock;
  }

  start(everyMs = 60_000): void {
    this.timer = setInterval(() => void this.sample().catch(() => undefined), everyMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Adds what the counter grew by since the last sample to the current hour. */
  async sample(): Promise<void> {
    if (!this.counter) return;
    const value = (await this.counter.get()).values.reduce((a, v) => a + v.value, 0);
    const hour = Math.floor(this.clock.now() / HOUR) * HOUR;
    const delta = this.last === null ? value : Math.max(0, value - this.last);
    this.last = value;
    this.buckets.set(hour, (this.buckets.get(hour) ?? 0) + delta);
    for (const h of this.buckets.keys()) if (h < hour - 24 * HOUR) this.buckets.delete(h);
  }

  async last24h(): Promise<HourlySeries> {
    await this.sample();
    const current = Math.floor(this.clock.now() / HOUR) * HOUR;
    const hours = Array.from({ length: 24 }, (_, i) => current - (23 - i) * HOUR);
    return { hours, counts: hours.map((h) => this.buckets.get(h) ?? 0) };
  }
}
