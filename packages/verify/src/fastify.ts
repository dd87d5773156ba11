/**
 * Fastify plugin guarding routes with tokenmill access tokens.
 *
 * @packageDocumentation
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { extractBearerToken } from './bearer.js';
import { VerifyError } from './errors.js';
import { normalizeOrg, normalizeScopes, orgOf, type GuardOptions, type VerifierOptions } from './options.js';
import { createVerifier, type AccessTokenClaims, type Verifier } from './verifier.js';

/** Options of {@link tokenmillAuth}: verifier options, or an existing verifier. */
export type TokenmillAuthOptions = (VerifierOptions | { verifier: Verifier }) & {
  /**
   * Wait for `verifier.ready()` during registration (default `true`), so the app does not start when the
   * metadata contradicts the configuration or the authorization server cannot be reached.
   */
  awaitReady?: boolean;
};

/** What the plugin decorates the Fastify instance with, as `app.tokenmill`. */
export interface TokenmillFastify {
  /** The verifier in use. */
  readonly verifier: Verifier;
  /**
   * A preHandler that requires a valid bearer token (and the given scopes, and organization: a fixed
   * id or `{ param: 'org' }` to take it from the route's `:org`). On success it sets
   * `request.tokenClaims`; otherwise it replies 400/401/403/503 with the RFC 6750 `WWW-Authenticate`
   * header and a JSON `{"error","error_description"}` body.
   */
  require(options?: GuardOptions): preHandlerAsyncHookHandler;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Added by the tokenmill `tokenmillAuth` plugin. */
    tokenmill: TokenmillFastify;
  }
  interface FastifyRequest {
    /** The verified access-token claims, set by `app.tokenmill.require()`; `null` before. */
    tokenClaims: AccessTokenClaims | null;
  }
}

/** Sends a {@link VerifyError} as the RFC 6750 response on a Fastify reply. */
export function sendVerifyError(reply: FastifyReply, err: VerifyError): FastifyReply {
  reply.code(err.status);
  if (err.wwwAuthenticate !== undefined) reply.header('www-authenticate', err.wwwAuthenticate);
  if (err.retryAfter !== undefined) reply.header('retry-after', String(err.retryAfter));
  reply.header('cache-control', 'no-store');
  reply.type('application/json; charset=utf-8');
  return reply.send(JSON.stringify(err.toJSON()));
}

async function plugin(app: FastifyInstance, opts: TokenmillAuthOptions): Promise<void> {
  const { awaitReady = true, ...rest } = opts;
  const owned = !('verifier' in rest);
  const verifier: Verifier = 'verifier' in rest ? rest.verifier : createVerifier(rest as VerifierOptions);
  if (owned) app.addHook('onClose', async () => verifier.close());
  if (awaitReady) {
    try {
      await verifier.ready();
    } catch (err) {
      if (owned) await verifier.close();
      throw err;
    }
  }

  const decoration: TokenmillFastify = {
    verifier,
    require(options: GuardOptions = {}): preHandlerAsyncHookHandler {
      const scope = normalizeScopes(options.scope); // validate once, at route definition
      const org = normalizeOrg(options.org);
      return async function tokenmillRequire(this: FastifyInstance, request: FastifyRequest, reply: FastifyReply) {
        try {
          const token = extractBearerToken(request.raw, verifier.issuer);
          request.tokenClaims = await verifier.verify(token, { scope, ...orgOf(org, request.params) });
        } catch (err) {
          if (!(err instanceof VerifyError)) throw err;
          return sendVerifyError(reply, err);
        }
      };
    },
  };
  app.decorate('tokenmill', decoration);
  app.decorateRequest('tokenClaims', null);
}

/**
 * Marks a plugin as encapsulation-free, as fastify-plugin does (the symbols are Fastify's documented
 * plugin metadata), so its decorations reach the instance that registers it without a dependency.
 */
function unencapsulated<T extends object>(plugin: T, meta: { fastify: string; name: string }): T {
  return Object.assign(plugin, {
    [Symbol.for('skip-override')]: true,
    [Symbol.for('fastify.display-name')]: meta.name,
    [Symbol.for('plugin-meta')]: meta,
  });
}

/**
 * Fastify plugin (encapsulation-free).
 *
 * @example
 * ```ts
 * await app.register(tokenmillAuth, { issuer, audience: 'https://api.example.com', revocations });
 * app.get('/orders', { preHandler: app.tokenmill.require({ scope: 'orders:read' }) }, async (req) => req.tokenClaims);
 * // tenant isolation: the token's org_id must be the URL's :org
 * app.get('/orgs/:org/orders', { preHandler: app.tokenmill.require({ org: { param: 'org' } }) }, async (req) => req.tokenClaims);
 * ```
 * The verifier it creates is closed in `onClose`; a verifier passed as `{ verifier }` is left to its owner.
 */
export const tokenmillAuth = unencapsulated(plugin, { fastify: '5.x', name: 'tokenmill-auth' });
