// The per-request metrics kept as plain numbers until a scrape (src/lib/request-metrics.ts) must
// expose exactly what prom-client's own Counter and Histogram would for the same observations:
// the same text, the same JSON for the cluster aggregation, after every scrape.
import { AggregatorRegistry, Counter, Histogram, Registry } from 'prom-client';
import t from 'tap';
import { PendingCounter, RouteDurationHistogram } from '../src/lib/request-metrics.js';

const BUCKETS = [0.001, 0.01, 0.1, 1];
// on a bound (le is inclusive), between bounds, below the first, above the last
const DURATIONS = [0.001, 0.01, 0.1, 1, 0.0004, 0.005, 0.05, 0.5, 2.5, 0, 1.0000001];
const ROUTES = ['/oauth2/token', '/healthz', 'unmatched'];

function pair() {
  const ours = new Registry();
  const reference = new Registry();
  const counter = new PendingCounter({ name: 'demo_requests_total', help: 'h', labelNames: ['route', 'status'], registers: [ours] });
  const histogram = new RouteDurationHistogram({ name: 'demo_duration_seconds', help: 'd', buckets: BUCKETS, registry: ours });
  const refCounter = new Counter({ name: 'demo_requests_total', help: 'h', labelNames: ['route', 'status'], registers: [reference] });
  const refHistogram = new Histogram({ name: 'demo_duration_seconds', help: 'd', labelNames: ['route'], buckets: BUCKETS, registers: [reference] });
  const observe = (route: string, status: number, seconds: number) => {
    counter.add(`${route} ${status}`, () => ({ route, status: String(status) }));
    histogram.observe(route, seconds);
    refCounter.inc({ route, status: String(status) });
    refHistogram.observe({ route }, seconds);
  };
  return { ours, reference, observe, histogram, refHistogram };
}

function traffic(observe: (route: string, status: number, seconds: number) => void, seed: number, n: number) {
  for (let i = 0; i < n; i++) observe(ROUTES[(i + seed) % ROUTES.length] as string, [200, 401, 404][(i * 5 + seed) % 3] as number, DURATIONS[(i * 7 + seed) % DURATIONS.length] as number);
}

t.test('the same text as prom-client after each scrape, with traffic in between', async (t) => {
  const p = pair();
  t.equal(await p.ours.metrics(), await p.reference.metrics(), 'before any request: help and type only');
  traffic(p.observe, 1, 200);
  const first = await p.ours.metrics();
  t.equal(first, await p.reference.metrics(), 'first scrape');
  t.match(first, /demo_duration_seconds_bucket\{le="0.001",route="\/oauth2\/token"\} \d+/);
  t.match(first, /demo_requests_total\{route="\/healthz",status="401"\} \d+/);
  traffic(p.observe, 2, 77);
  t.equal(await p.ours.metrics(), await p.reference.metrics(), 'second scrape counts what came between');
  t.equal(await p.ours.metrics(), await p.reference.metrics(), 'a scrape with nothing new changes nothing');
});

t.test('a bound itself falls in its bucket; above the last only in +Inf; sum and count', async (t) => {
  const p = pair();
  for (const s of [0.001, 0.0010001, 1, 3]) p.observe('/x', 200, s);
  const json = await p.histogram.get();
  const value = (metricName: string, le?: string | number) => json.values.find((v) => v.metricName === metricName && (le === undefined || v.labels.le === le))?.value;
  t.equal(value('demo_duration_seconds_bucket', 0.001), 1);
  t.equal(value('demo_duration_seconds_bucket', 0.01), 2);
  t.equal(value('demo_duration_seconds_bucket', 1), 3);
  t.equal(value('demo_duration_seconds_bucket', '+Inf'), 4);
  t.equal(value('demo_duration_seconds_count'), 4);
  t.equal(value('demo_duration_seconds_sum'), 0.001 + 0.0010001 + 1 + 3);
  const plain = (values: readonly { metricName?: string; labels: object; value: number }[]) => values.map(({ metricName, labels, value }) => ({ metricName, labels, value }));
  t.same(plain(json.values), plain((await p.refHistogram.get()).values), 'the values prom-client gives for the same observations (without its empty exemplars)');
});

t.test('two workers aggregated by the primary: the same sums as prom-client', async (t) => {
  const w1 = pair();
  const w2 = pair();
  traffic(w1.observe, 3, 150);
  traffic(w2.observe, 4, 90);
  const ours = AggregatorRegistry.aggregate([await w1.ours.getMetricsAsJSON(), await w2.ours.getMetricsAsJSON()]);
  const reference = AggregatorRegistry.aggregate([await w1.reference.getMetricsAsJSON(), await w2.reference.getMetricsAsJSON()]);
  t.equal(await ours.metrics(), await reference.metrics());
});

t.test('resetting the registry empties the histogram like prom-client', async (t) => {
  const p = pair();
  traffic(p.observe, 5, 30);
  p.ours.resetMetrics();
  p.reference.resetMetrics();
  t.equal((await p.histogram.get()).values.length, 0);
  t.equal(await p.ours.metrics(), await p.reference.metrics());
});

t.test('a counter without labels: the same text as prom-client before, after and across a reset', async (t) => {
  const ours = new Registry();
  const reference = new Registry();
  const counter = new PendingCounter<never>({ name: 'demo_issued_total', help: 'i', labelNames: [], registers: [ours] });
  const refCounter = new Counter({ name: 'demo_issued_total', help: 'i', registers: [reference] });
  t.equal(await ours.metrics(), await reference.metrics(), 'zero before any');
  t.match(await ours.metrics(), /^demo_issued_total 0$/m);
  for (let i = 0; i < 3; i++) {
    counter.add('', () => ({}));
    refCounter.inc();
  }
  t.equal(await ours.metrics(), await reference.metrics());
  t.match(await ours.metrics(), /^demo_issued_total 3$/m);
  counter.add('', () => ({}));
  refCounter.inc();
  ours.resetMetrics();
  reference.resetMetrics();
  t.equal(await ours.metrics(), await reference.metrics(), 'a reset drops what was pending');
  t.match(await ours.metrics(), /^demo_issued_total 0$/m);
});
