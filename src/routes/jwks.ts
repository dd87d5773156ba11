import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Runtime } from '../runtime.js';
import { methodNotAllowed } from './http.js';

/** GET /.well-known/jwks.json: public keys only, cacheable, with an ETag. */
export function jwksRoutes(app: FastifyInstance, rt: Runtime): void {
  let last: { jwks: object; body: string; etag: string } | null = null;
  app.get('/.well-known/jwks.json', async (request, reply) => {
    const jwks = rt.keyring.jwks();
    if (last?.jwks !== jwks) {
      const body = JSON.stringify(jwks);
      last = { jwks, body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` };
    }
    reply.header('cache-control', `public, max-age=${rt.config.jwksMaxAge}`).header('etag', last.etag).header('vary', 'accept-encoding');
    const inm = request.headers['if-none-match'];
    if (typeof inm === 'string' && inm.split(',').some((t) => t.trim().replace(/^W\//, '') === last?.etag)) return reply.code(304).send();
    return reply.type('application/json; charset=utf-8').send(last.body);
  });
  methodNotAllowed(app, '/.well-known/jwks.json', ['GET', 'HEAD']);
}
