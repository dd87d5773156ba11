import { Counter, type Histogram, type Registry } from 'prom-client';

// The metrics written on every request (lib/metrics-registry.ts) are kept here as plain numbers and
// handed to prom-client when it collects them (docs/architecture.md "Metrics on the request path").

type Labels<L extends string> = Partial<Record<L, string | number>>;

interface Series<L extends string> {
  readonly labels: Labels<L>;
  pending: number;
}

/**
 * A prom-client counter whose increments are counted per label set as a number and added to it when
 * it is collected (scrape time, and the cluster aggregation's collection). Same name, labels, type
 * and values as incrementing it directly; a registry reset drops what was pending too.
 */
export class PendingCounter<L extends string> extends Counter<L> {
  private readonly series: Map<string, Series<L>>;

  constructor(config: { name: string; help: string; labelNames: readonly L[]; registers: Registry[] }) {
    const series = new Map<string, Series<L>>();
    super({
      ...config,
      collect() {
        for (const s of series.values()) {
          if (s.pending === 0) continue;
          this.inc(s.labels, s.pending);
          s.pending = 0;
        }
      },
    });
    this.series = series;
  }

  /** One more for the series `key` stands for; `labels` is called the first time `key` is seen only. */
  add(key: string, labels: () => Labels<L>): void {
    const s = this.series.get(key);
    if (s) s.pending++;
    else this.series.set(key, { labels: labels(), pending: 1 });
  }

  override reset(): void {
    super.reset();
    // prom-client's constructor resets before this class has set its own fields
    this.series?.clear();
  }
}

interface RouteDurations {
  /** observations per bucket (not cumulative); the last slot is above the largest bound (+Inf) */
  readonly counts: Float64Array;
  sum: number;
  count: number;
}

interface ExportedValue {
  metricName: string;
  labels: Record<string, string | number>;
  value: number;
}

/**
 * A histogram with one label, `route`, written as a few array updates a request and exported in
 * prom-client's histogram form (`_bucket` with cumulative counts and `le`, `_sum`, `_count`), so
 * the registry prints it and the cluster aggregation sums it like a prom-client Histogram.
 */
export class RouteDurationHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly name: string;
  readonly help: string;
  private readonly upperBounds: readonly number[];
  private readonly routes = new Map<string, RouteDurations>();

  constructor(config: { name: string; help: string; buckets: readonly number[]; registry: Registry }) {
    this.name = config.name;
    this.help = config.help;
    this.upperBounds = [...config.buckets];
    const registry = config.registry;
    // prom-client's registry takes any metric that answers get() and reset(); its type lists only its own classes.
    registry.registerMetric(this as unknown as Histogram<'route'>);
  }

  observe(route: string, seconds: number): void {
    let r = this.routes.get(route);
    if (!r) this.routes.set(route, (r = { counts: new Float64Array(this.upperBounds.length + 1), sum: 0, count: 0 }));
    let i = 0;
    while (i < this.upperBounds.length && seconds > (this.upperBounds[i] as number)) i++;
    (r.counts[i] as number)++;
    r.sum += seconds;
    r.count++;
  }

  async get(): Promise<{ name: string; help: string; type: 'histogram'; aggregator: 'sum'; values: ExportedValue[] }> {
    const values: ExportedValue[] = [];
    const bucket = `${this.name}_bucket`;
    for (const [route, r] of this.routes) {
      let cumulative = 0;
      this.upperBounds.forEach((le, i) => {
        cumulative += r.counts[i] as number;
        values.push({ metricName: bucket, labels: { le, route }, value: cumulative });
      });
      values.push({ metricName: bucket, labels: { le: '+Inf', route }, value: r.count });
      values.push({ metricName: `${this.name}_sum`, labels: { route }, value: r.sum });
      values.push({ metricName: `${this.name}_count`, labels: { route }, value: r.count });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    this.routes.clear();
  }
}
