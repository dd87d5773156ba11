import type { FastifyInstance, FastifyRequest } from 'fastify';
import { OAuthError } from '../errors/oauth-error.js';
import { TooManyRequests } from '../errors/oauth-errors.js';
import type { AuthEndpoint } from '../lib/failure-limiter.js';
import type { Runtime } from '../runtime.js';

/** The one description of every throttled answer: it names neither the client nor the cause. */
export const THROTTLED_DESCRIPTION = 'too many failed authentications from this address; retry later';

/** The endpoint of an OAuth route, for the metric label (bounded: never the URL itself). */
export function oauthEndpoint(request: FastifyRequest): AuthEndpoint {
  const url = request.routeOptions.url ?? '';
  if (url.startsWith('/oauth2/register')) return 'registration';
  if (url === '/oauth2/introspect') return 'introspection';
  if (url === '/oauth2/revoke') return 'revocation';
  if (url === '/oauth2/revocations') return 'revocation_feed';
  return 'token';
}

/**
 * Seconds the request's source stays blocked (0: not blocked), counted in the metric and the
 * refusal audit when it is. Nobody blocked (the usual case): not even request.ip (X-Forwarded-For
 * parsing with TRUST_PROXY) is computed.
 */
export function throttled(rt: Runtime, request: FastifyRequest, endpointOf: (request: FastifyRequest) => AuthEndpoint): number {
  const limiter = rt.authFailures;
  if (!limiter.enabled || !limiter.anyBlocked()) return 0;
  const retryAfter = limiter.check(request.ip);
  if (retryAfter === 0) return 0;
  rt.metrics.authThrottled(endpointOf(request));
  // Aggregated per source and minute like every unauthenticated refusal (lib/refusal-audit.ts).
  rt.refusalAudit.record({ actor: 'unauthenticated', action: 'auth.throttled', source: request.ip, status: 429, requestId: request.id });
  return retryAfter;
}

/**
 * The per-source failed-authentication limit on every route of `app`'s scope (docs/threat-model.md
 * REQ-A6, REQ-D11, REQ-I7). Registered before the scope's authentication hooks:
 * - onRequest: a source blocked here is answered 429 `too_many_requests` with Retry-After before
 *   anything else runs, so its request reaches no secret comparison, assertion check or client
 *   lookup. The check is a map lookup in this process (no store round trip).
 * - onError: every 401 of the scope (invalid_client at the token, introspection, revocation and
 *   feed endpoints; invalid_token from a bad admin, initial or registration access token) counts
 *   one failure for the source, whether or not the client_id it named exists. It runs before the
 *   answer is sent, so the next request from the same caller already sees the block.
 */
export function limitAuthFailures(app: FastifyInstance, rt: Runtime, endpointOf: (request: FastifyRequest) => AuthEndpoint): void {
  const limiter = rt.authFailures;
  if (!limiter.enabled) return;
  app.addHook('onRequest', (request, _reply, done) => {
    const retryAfter = throttled(rt, request, endpointOf);
    done(retryAfter === 0 ? undefined : new TooManyRequests(THROTTLED_DESCRIPTION, retryAfter));
  });
  app.addHook('onError', async (request, _reply, error) => {
    if (error instanceof OAuthError && error.status === 401) await limiter.fail(request.ip, endpointOf(request));
  });
}
