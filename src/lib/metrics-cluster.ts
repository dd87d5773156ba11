import cluster from 'node:cluster';
import { AggregatorRegistry, type Registry } from 'prom-client';

// With WORKERS > 1 the workers share the admin listener, so a scrape lands on one of them. That
// worker asks the primary (which has no listener) over the cluster IPC channel; the primary
// gathers every worker's registry with prom-client's AggregatorRegistry (counters and histograms
// summed, gauges by their `aggregator`) and sends the aggregate back.

const REQUEST = 'tokenmill:metrics-request';
const RESPONSE = 'tokenmill:metrics-response';
/** prom-client's own gathering gives up after 5 s; this waits a little longer for its answer. */
const TIMEOUT_MS = 6_000;

interface Message {
  type: string;
  id: number;
  text?: string;
  error?: string;
}

function isMessage(value: unknown, type: string): value is Message {
  return typeof value === 'object' && value !== null && (value as Message).type === type && typeof (value as Message).id === 'number';
}

/** Primary: answers each worker's request with the cluster-wide aggregate. */
export function serveClusterMetrics(): void {
  const aggregator = new AggregatorRegistry();
  cluster.on('message', (worker, message: unknown) => {
    if (!isMessage(message, REQUEST)) return;
    const reply = (body: { text: string } | { error: string }) => {
      if (worker.isConnected()) worker.send({ type: RESPONSE, id: message.id, ...body }, () => {});
    };
    aggregator.clusterMetrics().then(
      (text) => reply({ text }),
      (err: unknown) => reply({ error: err instanceof Error ? err.message : String(err) }),
    );
  });
}

let joined = false;
let nextId = 0;
const pending = new Map<number, { resolve: (text: string) => void; reject: (err: Error) => void; timer: NodeJS.Timeout }>();

/** Worker: offers `registry` to the primary's gathering and listens for the aggregates it asked for. */
export function joinClusterMetrics(registry: Registry): void {
  if (joined || !cluster.isWorker) return;
  joined = true;
  AggregatorRegistry.setRegistries([registry]);
  // Constructing one installs prom-client's responder to the primary's requests in this worker.
  new AggregatorRegistry();
  process.on('message', (message: unknown) => {
    if (!isMessage(message, RESPONSE)) return;
    const waiter = pending.get(message.id);
    if (!waiter) return;
    pending.delete(message.id);
    clearTimeout(waiter.timer);
    if (typeof message.text === 'string') waiter.resolve(message.text);
    else waiter.reject(new Error(`aggregating the workers' metrics failed: ${message.error ?? 'no answer'}`));
  });
}

/** Worker: the cluster-wide metrics text, from the primary. */
export function clusterMetrics(): Promise<string> {
  return new Promise((resolve, reject) => {
    const id = ++nextId;
    const timer = setTimeout(() => {
      pending.delete(id);
      reject(new Error("aggregating the workers' metrics timed out"));
    }, TIMEOUT_MS);
    timer.unref();
    pending.set(id, { resolve, reject, timer });
    process.send?.({ type: REQUEST, id }, undefined, {}, (err: Error | null) => {
      if (!err) return;
      pending.delete(id);
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** Whether this process is a worker whose metrics are aggregated by a primary. */
export const isClusterWorker = (): boolean => cluster.isWorker;
