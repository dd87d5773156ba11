import type { FastifyInstance } from 'fastify';
import type { Static } from '@sinclair/typebox';
import { authenticateCaller } from '../oauth/client-auth/index.js';
import { Params } from '../oauth/params.js';
import type { Runtime } from '../runtime.js';
import { RevocationFeed, RevocationFeedQuery } from '../schemas/oauth.js';
import { methodNotAllowed } from './http.js';

/**
 * GET /oauth2/revocations?since=CURSOR: what offline verifiers need to honour revocations.
 * Authenticated like introspection (client_secret_basic, private_key_jwt is not possible on GET,
 * or the admin bearer token).
 */
export function revocationFeedRoutes(app: FastifyInstance, rt: Runtime): void {
  app.get<{ Querystring: Static<typeof RevocationFeedQuery> }>('/oauth2/revocations', { schema: { querystring: RevocationFeedQuery, response: { 200: RevocationFeed } } }, async (request) => {
    const caller = await authenticateCaller(new Params(), request.headers.authorization, rt, true);
    if (caller.kind === 'client') request.clientId = caller.client.clientId;
    const limit = request.query.limit ?? 1000;
    const page = await rt.revocations.feed(request.query.since ?? null, limit);
    rt.metrics.feedPoll(page.hasMore, rt.clock.now());
    const tokens: { jti: string; exp: number }[] = [];
    const clients: { client_id: string; revoked_before: number; exp: number }[] = [];
    for (const e of page.events) {
      if (e.type === 'token') tokens.push({ jti: e.jti, exp: e.exp });
      else clients.push({ client_id: e.clientId, revoked_before: e.revokedBefore, exp: e.until });
    }
    return { tokens, clients, next_cursor: page.cursor, snapshot: page.snapshot, has_more: page.hasMore };
  });
  methodNotAllowed(app, '/oauth2/revocations', ['GET', 'HEAD']);
}
