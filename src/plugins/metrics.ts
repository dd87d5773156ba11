import type { FastifyInstance, FastifyRequest } from 'fastify';
import { InvalidClient } from '../errors/oauth-errors.js';
import { clusterMetrics, isClusterWorker, joinClusterMetrics } from '../lib/metrics-cluster.js';
import type { AuthMethodLabel, Metrics } from '../lib/metrics-registry.js';

const BASIC = /^basic /i;

/** The client authentication method a token request used, from its shape (valid or not). */
function authMethodOf(request: FastifyRequest): AuthMethodLabel {
  const authorization = request.headers.authorization;
  if (authorization !== undefined && BASIC.test(authorization)) return 'client_secret_basic';
  const body = request.body as Record<string, unknown> | null | undefined;
  if (body && typeof body === 'object') {
    if (body.client_assertion !== undefined || body.client_assertion_type !== undefined) return 'private_key_jwt';
    if (body.client_secret !== undefined) return 'client_secret_post';
  }
  return 'none';
}

/**
 * Counts every response of `app` (route pattern, never the raw URL), token requests by method and
 * result, and client-authentication failures by reason class (lib/metrics-registry.ts).
 */
export function observeMetrics(app: FastifyInstance, metrics: Metrics): void {
  // Callback style: no promise per request on the hot path.
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.httpRequest(route, reply.statusCode, request.failure?.error ?? '', reply.elapsedTime / 1000);
    if (route === '/oauth2/token' && request.method === 'POST') metrics.tokenRequest(authMethodOf(request), reply.statusCode === 200 ? 'success' : (request.failure?.error ?? 'unknown'));
    done();
  });
  app.addHook('onError', (_request, _reply, error, done) => {
    if (error instanceof InvalidClient) metrics.clientAuthFailure(error.reason);
    done();
  });
}

/**
 * GET /metrics in the Prometheus text format. In a worker of WORKERS > 1, the whole cluster's
 * (lib/metrics-cluster.ts); a failed aggregation is a 503, never one worker's numbers.
 */
export function serveMetrics(app: FastifyInstance, metrics: Metrics): void {
  const clustered = isClusterWorker();
  if (clustered) joinClusterMetrics(metrics.registry);
  app.get('/metrics', async (request, reply) => {
    reply.type(metrics.registry.contentType).header('cache-control', 'no-store');
    if (!clustered) return reply.send(await metrics.registry.metrics());
    try {
      return reply.send(await clusterMetrics());
    } catch (err) {
      request.log.warn({ err: { message: (err as Error).message } }, 'metrics aggregation failed');
      return reply.code(503).type('text/plain; charset=utf-8').send('metrics aggregation across workers failed; retry\n');
    }
  });
}
