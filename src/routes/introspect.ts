import type { FastifyInstance } from 'fastify';
import { introspectionEndpoint } from '../oauth/introspection.js';
import type { Runtime } from '../runtime.js';
import { methodNotAllowed, requireForm } from './http.js';

/** POST /oauth2/introspect (RFC 7662). */
export function introspectRoutes(app: FastifyInstance, rt: Runtime): void {
  app.post('/oauth2/introspect', async (request) => {
    requireForm(request);
    return introspectionEndpoint({ body: request.body, query: request.query, authorization: request.headers.authorization }, rt, (id) => (request.clientId = id));
  });
  methodNotAllowed(app, '/oauth2/introspect', ['POST']);
}
