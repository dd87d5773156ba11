import type { FastifyInstance } from 'fastify';

declare module 'fastify' {
  interface FastifyRequest {
    /** the authenticated client, when there is one (a non-secret identifier, safe to log) */
    clientId: string | null;
    /** what the one-line request log records about a failure (code and private detail, never input) */
    failure: { error: string; detail?: string } | null;
  }
}

/**
 * One JSON line per request (pino), with no secret, token, assertion, header or query string in
 * it (SECURITY REQ-O1): method, route path, status, time, client_id and, for failures, the error
 * code and its private detail.
 */
export function requestLog(app: FastifyInstance): void {
  app.decorateRequest('clientId', null);
  app.decorateRequest('failure', null);
  // Callback style: no promise per request on the hot path.
  app.addHook('onResponse', (request, reply, done) => {
    const line: Record<string, unknown> = {
      method: request.method,
      path: request.routeOptions.url ?? request.url.split('?', 1)[0],
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime * 100) / 100,
    };
    if (request.clientId) line.client_id = request.clientId;
    if (request.failure) {
      line.error = request.failure.error;
      if (request.failure.detail) line.detail = request.failure.detail;
    }
    request.log.info(line, 'request');
    done();
  });
}
