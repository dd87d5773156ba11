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
 * With TRUST_PROXY, `request.ip` comes from X-Forwarded-For, which the caller writes: only text
 * shaped like an IPv4 or IPv6 address is logged, anything else as `invalid`.
 */
const IP_SHAPE = /^[0-9A-Fa-f:.]{2,45}$/;

/** The revocation feed's route: verifiers poll it every few seconds, so its successes log at debug. */
const FEED_ROUTE = '/oauth2/revocations';
const TOKEN_ROUTE = '/oauth2/token';

/**
 * One JSON line per request (pino), with no secret, token, assertion, header or query string in
 * it (threat model REQ-O1): method, route path, status, time, the client address (`ip`: the peer, or
 * with TRUST_PROXY the forwarded address), the authenticated client_id where there is one, the
 * admin caller (`actor`, a non-secret identifier) and, for failures, the error code and its
 * private detail. A successful revocation-feed poll is logged at `debug`, not `info`: pollers
 * would otherwise write most of the log (its volume is in tokenmill_revocation_feed_polls_total).
 * With `tokenSuccessSample` N > 1 (LOG_TOKEN_SAMPLE), only the 1st, (N+1)th, … successful token
 * request of this process writes its line, which then carries `"sample": N`; every refusal and
 * every other request is still logged, and tokenmill_token_requests_total still counts them all.
 */
export function requestLog(app: FastifyInstance, options: { tokenSuccessSample: number }): void {
  app.decorateRequest('clientId', null);
  app.decorateRequest('failure', null);
  const sample = options.tokenSuccessSample;
  let tokenSuccesses = 0;
  // Callback style: no promise per request on the hot path.
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url;
    const sampled = sample > 1 && route === TOKEN_ROUTE && reply.statusCode === 200;
    if (sampled && tokenSuccesses++ % sample !== 0) return done();
    const quiet = route === FEED_ROUTE && reply.statusCode === 200;
    if (quiet && !(request.log as unknown as { isLevelEnabled(level: string): boolean }).isLevelEnabled('debug')) return done();
    const line: Record<string, unknown> = {
      method: request.method,
      path: route ?? request.url.split('?', 1)[0],
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime * 100) / 100,
      ip: IP_SHAPE.test(request.ip) ? request.ip : 'invalid',
    };
    if (request.clientId) line.client_id = request.clientId;
    if (request.adminActor) line.actor = request.adminActor;
    if (request.failure) {
      line.error = request.failure.error;
      if (request.failure.detail) line.detail = request.failure.detail;
    }
    if (sampled) line.sample = sample;
    if (quiet) request.log.debug(line, 'request');
    else request.log.info(line, 'request');
    done();
  });
}
