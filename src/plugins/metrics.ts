import type { FastifyInstance } from 'fastify';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Prometheus metrics: process defaults plus requests by route, status and OAuth error code. */
export class Metrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'route' | 'status' | 'error'>;
  private readonly duration: Histogram<'route'>;

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'tokenmill_' });
    this.requests = new Counter({ name: 'tokenmill_http_requests_total', help: 'HTTP requests by route, status and OAuth error code', labelNames: ['route', 'status', 'error'], registers: [this.registry] });
    this.duration = new Histogram({ name: 'tokenmill_http_request_duration_seconds', help: 'HTTP request duration by route', labelNames: ['route'], buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1], registers: [this.registry] });
  }

  /** Counts every response of `app` (route pattern, never the raw URL). */
  observe(app: FastifyInstance): void {
    app.addHook('onResponse', (request, reply, done) => {
      const route = request.routeOptions.url ?? 'unmatched';
      this.requests.inc({ route, status: String(reply.statusCode), error: request.failure?.error ?? '' });
      this.duration.observe({ route }, reply.elapsedTime / 1000);
      done();
    });
  }

  /** GET /metrics in the Prometheus text format. */
  serve(app: FastifyInstance): void {
    app.get('/metrics', async (_request, reply) => reply.type(this.registry.contentType).header('cache-control', 'no-store').send(await this.registry.metrics()));
  }
}
