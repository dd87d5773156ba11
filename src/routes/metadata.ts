import type { FastifyInstance } from 'fastify';
import { ACCESS_TOKEN_ALGS, CLIENT_AUTH_METHODS } from '../protocol/index.js';
import type { Runtime } from '../runtime.js';
import { methodNotAllowed } from './http.js';

/** RFC 8414 §2 metadata, built from configuration only (never from Host: REQ-T9). */
export function buildMetadata(rt: Runtime): Record<string, unknown> {
  const issuer = rt.config.issuer;
  const authMethods = [...CLIENT_AUTH_METHODS];
  const assertionAlgs = rt.config.assertionAlgs;
  return {
    issuer,
    token_endpoint: `${issuer}/oauth2/token`,
    jwks_uri: `${issuer}/.well-known/jwks.json`,
    registration_endpoint: `${issuer}/oauth2/register`,
    introspection_endpoint: `${issuer}/oauth2/introspect`,
    revocation_endpoint: `${issuer}/oauth2/revoke`,
    revocation_feed_endpoint: `${issuer}/oauth2/revocations`,
    grant_types_supported: ['client_credentials'],
    response_types_supported: [],
    token_endpoint_auth_methods_supported: authMethods,
    token_endpoint_auth_signing_alg_values_supported: assertionAlgs,
    introspection_endpoint_auth_methods_supported: authMethods,
    introspection_endpoint_auth_signing_alg_values_supported: assertionAlgs,
    revocation_endpoint_auth_methods_supported: authMethods,
    revocation_endpoint_auth_signing_alg_values_supported: assertionAlgs,
    access_token_signing_alg_values_supported: [...ACCESS_TOKEN_ALGS],
    scopes_supported: [],
    service_documentation: 'https://github.com/tokenmill/tokenmill#readme',
  };
}

/** /.well-known/oauth-authorization-server (and the openid-configuration alias; RFC 8414 §3 path insertion too). */
export function metadataRoutes(app: FastifyInstance, rt: Runtime): void {
  const body = JSON.stringify(buildMetadata(rt));
  const path = new URL(rt.config.issuer).pathname.replace(/\/$/, '');
  const urls = new Set(['/.well-known/oauth-authorization-server', '/.well-known/openid-configuration']);
  if (path) {
    urls.add(`/.well-known/oauth-authorization-server${path}`);
    urls.add(`/.well-known/openid-configuration${path}`);
    urls.add(`${path}/.well-known/openid-configuration`);
  }
  for (const url of urls) {
    app.get(url, async (_request, reply) => reply.header('cache-control', 'public, max-age=300').type('application/json; charset=utf-8').send(body));
    methodNotAllowed(app, url, ['GET', 'HEAD']);
  }
}
