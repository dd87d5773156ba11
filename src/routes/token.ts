import type { FastifyInstance } from 'fastify';
import type { IssuedToken } from '../oauth/access-token.js';
import { tokenEndpoint } from '../oauth/token-endpoint.js';
import type { Runtime } from '../runtime.js';
import { methodNotAllowed, requireForm } from './http.js';

/**
 * The success body (RFC 6749 §5.1), written as text in the field order of the OpenAPI document's
 * TokenResponse (schemas/oauth.ts): the token is base64url and dots, and only the scope (scope
 * tokens: RFC 6749 §3.3 has no quote or backslash in them) goes through JSON.stringify, where a
 * schema serializer would scan the whole token for characters to escape on every response.
 */
function tokenBody(issued: IssuedToken): string {
  return `{"access_token":"${issued.accessToken}","token_type":"Bearer","expires_in":${issued.expiresIn},"scope":${JSON.stringify(issued.scope)}}`;
}

/** POST /oauth2/token (RFC 6749 §4.4). */
export function tokenRoutes(app: FastifyInstance, rt: Runtime): void {
  app.post('/oauth2/token', async (request, reply) => {
    requireForm(request);
    const issued = await tokenEndpoint({ body: request.body, query: request.query, authorization: request.headers.authorization }, rt, (id) => (request.clientId = id));
    if (issued.rateLimit.ratelimit !== undefined) reply.headers(issued.rateLimit);
    return reply.type('application/json; charset=utf-8').send(tokenBody(issued));
  });
  methodNotAllowed(app, '/oauth2/token', ['POST']);
}
