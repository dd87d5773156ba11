import type { FastifyInstance, FastifyRequest, HTTPMethods } from 'fastify';
import { InvalidRequest, InvalidToken, MethodNotAllowed } from '../errors/oauth-errors.js';
import { splitAuthorization } from '../oauth/client-auth/client-secret-basic.js';

const ALL_METHODS: HTTPMethods[] = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'];

/** Answers every other method on `url` with 405 invalid_request and `Allow` (RFC 9110 §15.5.6). */
export function methodNotAllowed(app: FastifyInstance, url: string, allowed: readonly HTTPMethods[]): void {
  const allow = allowed.join(', ');
  const others = ALL_METHODS.filter((m) => !allowed.includes(m) && !(m === 'HEAD' && allowed.includes('GET')));
  app.route({
    method: others,
    url,
    handler: async () => {
      throw new MethodNotAllowed(allow);
    },
  });
}

/**
 * Token, introspection and revocation accept `application/x-www-form-urlencoded` (UTF-8) only
 * (RFC 6749 §3.2, threat model REQ-T2): JSON, which Fastify would parse, is refused here.
 */
export function requireForm(request: FastifyRequest): void {
  const header = request.headers['content-type'];
  if (header === 'application/x-www-form-urlencoded') return;
  if (typeof header !== 'string') throw new InvalidRequest('the request body must be application/x-www-form-urlencoded');
  const [type, ...parameters] = header.split(';').map((s) => s.trim().toLowerCase());
  if (type !== 'application/x-www-form-urlencoded') throw new InvalidRequest('the request body must be application/x-www-form-urlencoded');
  for (const p of parameters) {
    if (p === '') continue;
    const [name, value] = p.split('=').map((s) => s.trim().replace(/^"|"$/g, ''));
    if (name === 'charset' && value !== 'utf-8' && value !== 'utf8') throw new InvalidRequest('only the UTF-8 charset is supported');
  }
}

export function requireJson(request: FastifyRequest): void {
  const header = request.headers['content-type'];
  const type = typeof header === 'string' ? header.split(';')[0]?.trim().toLowerCase() : undefined;
  if (type !== 'application/json') throw new InvalidRequest('the request body must be application/json');
}

/** RFC 6749 §5.1 / C2: nothing that carries credentials or tokens is cached. */
export function noStore(app: FastifyInstance): void {
  app.addHook('onRequest', (_request, reply, done) => {
    reply.header('cache-control', 'no-store');
    reply.header('pragma', 'no-cache');
    done();
  });
}

/**
 * The bearer credential of a request (RFC 6750 §2.1). Missing → 401 with a bare challenge (no
 * error code, §3.1); malformed or another scheme → 401 invalid_token.
 */
export function bearerCredential(request: FastifyRequest, missing = 'a bearer token is required'): string {
  const header = request.headers.authorization;
  if (header === undefined) throw new InvalidToken(missing, true);
  let parts: { scheme: string; credentials: string };
  try {
    parts = splitAuthorization(header);
  } catch {
    throw new InvalidToken('the Authorization header is malformed');
  }
  if (parts.scheme !== 'bearer') throw new InvalidToken('a bearer token is required');
  return parts.credentials;
}
