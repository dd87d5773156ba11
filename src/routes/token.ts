import type { FastifyInstance } from 'fastify';
import { tokenEndpoint } from '../oauth/token-endpoint.js';
import type { Runtime } from '../runtime.js';
import { TokenResponse } from '../schemas/oauth.js';
import { methodNotAllowed, requireForm } from './http.js';

/** POST /oauth2/token (RFC 6749 §4.4). */
export function tokenRoutes(app: FastifyInstance, rt: Runtime): void {
  app.post('/oauth2/token', { schema: { response: { 200: TokenResponse } } }, async (request, reply) => {
    requireForm(request);
    const issued = await tokenEndpoint({ body: request.body, query: request.query, authorization: request.headers.authorization }, rt, (id) => (request.clientId = id));
    if (issued.rateLimit.ratelimit !== undefined) reply.headers(issued.rateLimit);
    return { access_token: issued.accessToken, token_type: 'Bearer' as const, expires_in: issued.expiresIn, scope: issued.scope };
  });
  methodNotAllowed(app, '/oauth2/token', ['POST']);
}
