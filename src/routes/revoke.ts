import type { FastifyInstance } from 'fastify';
import { revocationEndpoint } from '../oauth/revoke-endpoint.js';
import type { Runtime } from '../runtime.js';
import { methodNotAllowed, requireForm } from './http.js';

/** POST /oauth2/revoke (RFC 7009): 200 with an empty body once stored. */
export function revokeRoutes(app: FastifyInstance, rt: Runtime): void {
  app.post('/oauth2/revoke', async (request, reply) => {
    requireForm(request);
    await revocationEndpoint({ body: request.body, query: request.query, authorization: request.headers.authorization }, rt, (id) => (request.clientId = id));
    return reply.code(200).send();
  });
  methodNotAllowed(app, '/oauth2/revoke', ['POST']);
}
