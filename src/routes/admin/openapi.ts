import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { FastifyDynamicSwaggerOptions } from '@fastify/swagger';
import type { TSchema } from '@sinclair/typebox';
import * as admin from '../../schemas/admin.js';
import * as oauth from '../../schemas/oauth.js';
import type { Runtime } from '../../runtime.js';

/**
 * The OpenAPI 3.1 document of /admin/v1/openapi.json, for tools (client generators, validators,
 * Swagger UI):
 * - every operation has an operationId, a summary and a description (OPERATIONS below);
 * - the TypeBox schemas the routes validate with are shared `components.schemas`, referenced by
 *   `$ref` (matched by identity, so the document is built from the very objects that validate);
 * - unions of string literals are rendered as `enum`;
 * - `servers` is the admin listener; the public endpoints (/oauth2/*, JWKS, metadata) are in the
 *   same document as documentation, each path with its own `servers` entry: the issuer.
 * Nothing here changes how a request is validated or a response serialised.
 */

interface Operation {
  operationId: string;
  summary: string;
  description: string;
}

/** `METHOD url` of every admin route → its documentation. A route missing here fails the OpenAPI test. */
export const OPERATIONS: Record<string, Operation> = {
  'GET /admin/v1/openapi.json': {
    operationId: 'getOpenApi',
    summary: 'This OpenAPI document',
    description: 'The OpenAPI 3.1 description of the admin API, with the public OAuth endpoints as documentation. Needs the admin token like every /admin/v1 call.',
  },
  'GET /admin/v1/clients': {
    operationId: 'listClients',
    summary: 'List clients',
    description: 'A page of clients, newest first, filtered by status, authentication method or name prefix. Never a secret: secrets appear by their non-secret prefix.',
  },
  'POST /admin/v1/clients': {
    operationId: 'createClient',
    summary: 'Register a client',
    description: 'Registers a client from RFC 7591 metadata. For secret methods the new client_secret is in the response this once; only its hash is stored.',
  },
  'GET /admin/v1/clients/{client_id}': { operationId: 'getClient', summary: 'Read a client', description: "One client's metadata, status, secrets' metadata and last use." },
  'PATCH /admin/v1/clients/{client_id}': {
    operationId: 'updateClient',
    summary: 'Change a client',
    description:
      'Changes metadata (name, scope, audience, token lifetime, keys, authentication method), status (active / disabled) or token_quota ({per_second?, per_hour?, per_day?, enforce}, or null for the configured default). The whole resulting metadata is validated.',
  },
  'DELETE /admin/v1/clients/{client_id}': { operationId: 'deleteClient', summary: 'Delete a client', description: 'The client and every token it holds stop working on every node.' },
  'POST /admin/v1/clients/{client_id}/secrets': {
    operationId: 'rotateClientSecret',
    summary: 'Rotate a client secret',
    description: 'A new secret, shown this once. Older secrets end at once (previous_secret_ttl 0, the default) or after previous_secret_ttl seconds.',
  },
  'DELETE /admin/v1/clients/{client_id}/secrets/{secret_id}': { operationId: 'deleteClientSecret', summary: 'End one secret', description: 'The secret stops working now.' },
  'POST /admin/v1/clients/{client_id}/registration-token': {
    operationId: 'rotateRegistrationToken',
    summary: 'New RFC 7592 registration access token',
    description: 'A new registration access token, shown this once; the previous one ends now.',
  },
  'DELETE /admin/v1/clients/{client_id}/registration-token': {
    operationId: 'revokeRegistrationToken',
    summary: 'End the registration access token',
    description: 'RFC 7592 self-service then needs the admin token.',
  },
  'POST /admin/v1/clients/{client_id}/revoke-tokens': {
    operationId: 'revokeClientTokens',
    summary: "Revoke all of a client's tokens",
    description: 'Every token the client holds now is revoked (a client-wide revoked_before), on every node and in the revocation feed.',
  },
  'GET /admin/v1/clients/{client_id}/usage': {
    operationId: 'getClientUsage',
    summary: "A client's token usage",
    description:
      'Tokens issued per UTC hour for the last 48 hours and per UTC day for the last 30 days (oldest first; other nodes report within 5 s), and for each window of the quota in force its limit, the fleet-wide count now and when it resets.',
  },
  'GET /admin/v1/usage/top': {
    operationId: 'getUsageTop',
    summary: 'Clients with the most tokens this hour',
    description: 'The clients that issued the most access tokens in the current UTC hour (the per_hour quota window), most first.',
  },
  'POST /admin/v1/tokens/revoke': {
    operationId: 'revokeToken',
    summary: 'Revoke one access token',
    description: 'By the token itself, or by its jti and exp. An expired token needs no revocation: revoked is false.',
  },
  'GET /admin/v1/orgs': { operationId: 'listOrgs', summary: 'List organizations', description: 'A page of organizations, oldest first. The super admin only.' },
  'POST /admin/v1/orgs': {
    operationId: 'createOrg',
    summary: 'Create an organization',
    description: 'A new active organization with a server-generated org_… id. max_clients unset takes ORG_MAX_CLIENTS_DEFAULT; null is unlimited.',
  },
  'GET /admin/v1/orgs/{org_id}': { operationId: 'getOrg', summary: 'Read an organization', description: 'Its name, status and max_clients.' },
  'PATCH /admin/v1/orgs/{org_id}': {
    operationId: 'updateOrg',
    summary: 'Change an organization',
    description:
      'Changes name, max_clients or status. Disabled: all its clients are refused everywhere within 1 s and every token they hold is revoked (client-wide, in the revocation feed); re-enabling brings no earlier token back.',
  },
  'DELETE /admin/v1/orgs/{org_id}': {
    operationId: 'deleteOrg',
    summary: 'Delete an organization',
    description: 'Its clients end as a client DELETE does, then the organization and its initial access tokens.',
  },
  'POST /admin/v1/orgs/{org_id}/initial-access-tokens': {
    operationId: 'createOrgInitialAccessToken',
    summary: 'Issue an org-bound initial access token',
    description:
      'An RFC 7591 initial access token (at most 30 days, optionally limited to max_uses registrations), shown this once and stored hashed. Its registrations land in this organization and count against max_clients; it cannot set org_id or grant tokenmill:admin / tokenmill:org-admin.',
  },
  'DELETE /admin/v1/orgs/{org_id}/initial-access-tokens/{id}': {
    operationId: 'revokeOrgInitialAccessToken',
    summary: 'Revoke an initial access token',
    description: 'It registers nothing from now on.',
  },
  'GET /admin/v1/keys': { operationId: 'listKeys', summary: 'List signing keys', description: 'Signing keys with their state (published, active, retired) and dates. Never private parts.' },
  'POST /admin/v1/keys/rotate': {
    operationId: 'rotateKey',
    summary: 'Rotate the signing key',
    description: 'A new key, published now and signing after activate_in seconds (default: the JWKS cache max-age).',
  },
  'GET /admin/v1/audit': {
    operationId: 'listAuditEvents',
    summary: 'Read the audit log',
    description: 'A page of audit events, newest first, optionally filtered by actor, action, target and time (since).',
  },
};

/** The admin listener's base URL, from configuration (never from a request's Host). */
export function adminBaseUrl(config: Runtime['config']): string {
  if (config.adminPort === config.port) return new URL(config.issuer).origin;
  const wildcard = ['', '0.0.0.0', '::', '[::]'].includes(config.adminHost);
  const host = wildcard ? new URL(config.issuer).hostname : config.adminHost.includes(':') && !config.adminHost.startsWith('[') ? `[${config.adminHost}]` : config.adminHost;
  return `${config.tls ? 'https' : 'http'}://${host}:${config.adminPort}`;
}

/** Shared schemas by name; the same objects the routes validate with. */
function componentSchemas(): Map<TSchema, string> {
  const named: Record<string, unknown> = {
    AdminError: admin.AdminError,
    SecretView: admin.SecretView,
    ClientView: admin.ClientView,
    ClientPage: admin.ClientPage,
    ClientCreateBody: admin.ClientCreateBody,
    ClientPatchBody: admin.ClientPatchBody,
    CreatedClient: admin.CreatedClient,
    Lifetime: admin.Lifetime,
    RotateSecretBody: admin.RotateSecretBody,
    RotatedSecret: admin.RotatedSecret,
    RotatedRegistrationToken: admin.RotatedRegistrationToken,
    RevokeTokensResult: admin.RevokeTokensResult,
    RevokeTokenBody: admin.RevokeTokenBody,
    RevokedToken: admin.RevokedToken,
    KeyView: admin.KeyView,
    KeyList: admin.KeyList,
    RotateKeyBody: admin.RotateKeyBody,
    AuditView: admin.AuditView,
    AuditPage: admin.AuditPage,
    TokenResponse: oauth.TokenResponse,
    OAuthError: oauth.ErrorResponse,
    RevocationFeed: oauth.RevocationFeed,
  };
  const map = new Map<TSchema, string>();
  for (const [name, schema] of Object.entries(named)) if (schema) map.set(schema as TSchema, name);
  return map;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** `anyOf` of string constants → `{type: string, enum}` (TypeBox renders Type.Union(Type.Literal…) as anyOf/const). */
function asEnum(node: Record<string, unknown>): Record<string, unknown> | null {
  const members = node.anyOf;
  if (!Array.isArray(members) || members.length === 0) return null;
  if (!members.every((m) => isObject(m) && typeof m.const === 'string' && Object.keys(m).every((k) => k === 'const' || k === 'type'))) return null;
  const { anyOf: _anyOf, ...rest } = node;
  return { ...rest, type: 'string', enum: members.map((m) => (m as { const: string }).const) };
}

/**
 * TypeBox's Type.Record(Type.String(), T) is `patternProperties: {"^(.*)$": T}`: for tools, that is
 * `additionalProperties: T`, and an empty T (unknown) is `true` (some generators read `{}` as never).
 */
function recordAsAdditional(node: Record<string, unknown>): Record<string, unknown> {
  let out = node;
  const pp = node.patternProperties;
  if (isObject(pp) && Object.keys(pp).length === 1 && '^(.*)$' in pp) {
    const { patternProperties: _pp, ...rest } = node;
    out = { ...rest, additionalProperties: pp['^(.*)$'] };
  }
  if (isObject(out.additionalProperties) && Object.keys(out.additionalProperties).length === 0) out = { ...out, additionalProperties: true };
  return out;
}

/**
 * A JSON copy of `schema` in which every named component (other than `root`) is a `$ref`, and
 * every union of string literals an enum. TypeBox's symbol keys are dropped.
 */
function refify(schema: unknown, names: Map<TSchema, string>, root?: unknown): unknown {
  if (Array.isArray(schema)) return schema.map((s) => refify(s, names));
  if (!isObject(schema)) return schema;
  const name = names.get(schema as TSchema);
  if (name !== undefined && schema !== root) return { $ref: `#/components/schemas/${name}` };
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(schema)) out[k] = refify(v, names);
  return recordAsAdditional(asEnum(out) ?? out);
}

/** The same normalisation over a document subtree (schemas @fastify/swagger flattened, e.g. query parameters). */
function enumify(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(enumify);
  if (!isObject(node)) return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) out[k] = enumify(v);
  return recordAsAdditional(asEnum(out) ?? out);
}

const json = (schemaRef: string, description: string) => ({ description, content: { 'application/json': { schema: { $ref: `#/components/schemas/${schemaRef}` } } } });
const oauthErrors = {
  '400': json('OAuthError', 'invalid_request and the other RFC 6749 §5.2 errors'),
  '401': json('OAuthError', 'invalid_client'),
  '429': json('OAuthError', 'too_many_requests: too many failed authentications from this address (Retry-After)'),
  '503': json('OAuthError', 'temporarily_unavailable (with Retry-After)'),
};
const form = (properties: Record<string, unknown>, required: string[] = []) => ({
  required: true,
  content: { 'application/x-www-form-urlencoded': { schema: { type: 'object', properties, required } } },
});
const clientAuthFields = {
  client_id: { type: 'string', description: 'client_secret_post and private_key_jwt (optional with an assertion)' },
  client_secret: { type: 'string', description: 'client_secret_post' },
  client_assertion_type: { type: 'string', enum: ['urn:ietf:params:oauth:client-assertion-type:jwt-bearer'], description: 'private_key_jwt (RFC 7523)' },
  client_assertion: { type: 'string', description: 'private_key_jwt: a JWT with iss = sub = client_id, aud = the issuer, exp at most 5 minutes ahead, a single-use jti' },
};

/** Schemas of the public endpoints that have no route schema of their own. */
const PUBLIC_COMPONENTS: Record<string, unknown> = {
  IntrospectionResponse: {
    type: 'object',
    description: 'RFC 7662 §2.2: {"active": false} for anything expired, revoked, malformed or foreign; otherwise active with the claims',
    required: ['active'],
    properties: {
      active: { type: 'boolean' },
      scope: { type: 'string' },
      client_id: { type: 'string' },
      token_type: { type: 'string' },
      exp: { type: 'integer' },
      iat: { type: 'integer' },
      sub: { type: 'string' },
      aud: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] },
      iss: { type: 'string' },
      jti: { type: 'string' },
    },
  },
  ClientMetadata: {
    type: 'object',
    description: 'RFC 7591 client metadata with the extensions audience and access_token_ttl',
    properties: {
      client_name: { type: 'string' },
      token_endpoint_auth_method: { type: 'string', enum: ['client_secret_basic', 'client_secret_post', 'private_key_jwt'] },
      grant_types: { type: 'array', items: { type: 'string', enum: ['client_credentials'] } },
      scope: { type: 'string' },
      jwks: { type: 'object', properties: { keys: { type: 'array', items: { type: 'object' } } }, required: ['keys'] },
      jwks_uri: { type: 'string', format: 'uri' },
      token_endpoint_auth_signing_alg: { type: 'string' },
      audience: { type: 'array', items: { type: 'string' } },
      access_token_ttl: { type: 'integer', minimum: 1 },
    },
  },
  RegisteredClient: {
    description: 'RFC 7591 §3.2.1: the metadata as stored, with the credentials shown this once',
    allOf: [
      { $ref: '#/components/schemas/ClientMetadata' },
      {
        type: 'object',
        required: ['client_id', 'client_id_issued_at', 'registration_access_token', 'registration_client_uri'],
        properties: {
          client_id: { type: 'string' },
          client_secret: { type: 'string' },
          client_id_issued_at: { type: 'integer' },
          client_secret_expires_at: { type: 'integer', description: '0 = never' },
          registration_access_token: { type: 'string' },
          registration_client_uri: { type: 'string' },
        },
      },
    ],
  },
  JsonWebKeySet: {
    type: 'object',
    required: ['keys'],
    properties: {
      keys: {
        type: 'array',
        items: {
          type: 'object',
          required: ['kty', 'kid', 'alg', 'use'],
          properties: { kty: { type: 'string' }, kid: { type: 'string' }, alg: { type: 'string' }, use: { type: 'string', enum: ['sig'] } },
        },
      },
    },
  },
  ServerMetadata: {
    type: 'object',
    description: 'RFC 8414 authorization server metadata',
    required: ['issuer', 'token_endpoint', 'jwks_uri'],
    properties: {
      issuer: { type: 'string' },
      token_endpoint: { type: 'string' },
      jwks_uri: { type: 'string' },
      registration_endpoint: { type: 'string' },
      introspection_endpoint: { type: 'string' },
      revocation_endpoint: { type: 'string' },
      revocation_feed_endpoint: { type: 'string' },
      grant_types_supported: { type: 'array', items: { type: 'string' } },
      token_endpoint_auth_methods_supported: { type: 'array', items: { type: 'string' } },
    },
  },
};

/** The public listener's endpoints, documented (they are served by the public listener, at the issuer). */
export function publicPaths(issuer: string): Record<string, unknown> {
  const servers = [{ url: issuer, description: 'the public listener (the issuer)' }];
  const tags = ['oauth2'];
  const clientSecurity = [{ clientBasic: [] }, {}];
  return {
    '/oauth2/token': {
      servers,
      post: {
        tags,
        operationId: 'oauth2Token',
        summary: 'Get an access token (client credentials)',
        description:
          'RFC 6749 §4.4 client-credentials grant. Exactly one client authentication: client_secret_basic (Authorization: Basic), client_secret_post or private_key_jwt (RFC 7523). Answers an RFC 9068 JWT access token.',
        security: clientSecurity,
        requestBody: form(
          {
            grant_type: { type: 'string', enum: ['client_credentials'] },
            scope: { type: 'string' },
            resource: { type: 'array', items: { type: 'string' }, description: 'RFC 8707, repeatable' },
            audience: { type: 'string' },
            ...clientAuthFields,
          },
          ['grant_type'],
        ),
        responses: {
          '200': json('TokenResponse', 'the access token (Cache-Control: no-store)'),
          ...oauthErrors,
          '429': json('OAuthError', "too_many_requests: past the client's quota (Retry-After)"),
        },
      },
    },
    '/oauth2/introspect': {
      servers,
      post: {
        tags,
        operationId: 'oauth2Introspect',
        summary: 'Introspect a token (RFC 7662)',
        description: 'Authenticated by a registered client or by the admin token (Authorization: Bearer). Never active for a revoked token.',
        security: [{ clientBasic: [] }, { bearer: [] }, {}],
        requestBody: form({ token: { type: 'string' }, token_type_hint: { type: 'string' }, ...clientAuthFields }, ['token']),
        responses: { '200': json('IntrospectionResponse', "the token's state"), ...oauthErrors },
      },
    },
    '/oauth2/revoke': {
      servers,
      post: {
        tags,
        operationId: 'oauth2Revoke',
        summary: 'Revoke a token (RFC 7009)',
        description: 'Client-authenticated; a client revokes only its own tokens. 200 for unknown or already revoked tokens.',
        security: clientSecurity,
        requestBody: form({ token: { type: 'string' }, token_type_hint: { type: 'string' }, ...clientAuthFields }, ['token']),
        responses: { '200': { description: 'revoked (or nothing to revoke)' }, ...oauthErrors },
      },
    },
    '/oauth2/revocations': {
      servers,
      get: {
        tags,
        operationId: 'oauth2RevocationFeed',
        summary: 'The revocation feed',
        description: 'Revoked jtis (with their exp) and client-wide revocations after the cursor, for resource servers that verify offline. Authenticated like introspection.',
        security: [{ clientBasic: [] }, { bearer: [] }],
        parameters: [
          { in: 'query', name: 'since', schema: { type: 'string', maxLength: 200 }, description: 'the next_cursor of the previous page' },
          { in: 'query', name: 'limit', schema: { type: 'integer', minimum: 1, maximum: 10000 } },
        ],
        responses: { '200': json('RevocationFeed', 'revocations after the cursor'), ...oauthErrors },
      },
    },
    '/oauth2/register': {
      servers,
      post: {
        tags,
        operationId: 'oauth2Register',
        summary: 'Register a client (RFC 7591)',
        description: 'Authorization: Bearer with an initial access token (the admin token). The client_secret and the registration access token are shown this once.',
        security: [{ bearer: [] }],
        requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/ClientMetadata' } } } },
        responses: {
          '201': json('RegisteredClient', 'the registered client'),
          '400': json('OAuthError', 'invalid_client_metadata'),
          '401': json('OAuthError', 'missing or wrong initial access token'),
          '429': json('OAuthError', 'too_many_requests: too many failed authentications from this address (Retry-After)'),
        },
      },
    },
    '/.well-known/jwks.json': {
      servers,
      get: {
        tags,
        operationId: 'getJwks',
        summary: 'The signing keys (JWKS)',
        security: [],
        description: 'Public keys only, each with kid, alg and use "sig"; cacheable. A key is published before it signs and stays until the last token it signed has expired.',
        responses: { '200': json('JsonWebKeySet', 'the JWK Set') },
      },
    },
    '/.well-known/oauth-authorization-server': {
      servers,
      get: {
        tags,
        operationId: 'getServerMetadata',
        summary: 'Authorization server metadata (RFC 8414)',
        security: [],
        description: 'Also at /.well-known/openid-configuration.',
        responses: { '200': json('ServerMetadata', 'the metadata') },
      },
    },
  };
}

const RESPONSE_TEXT: Record<string, string> = {
  '200': 'OK',
  '201': 'Created',
  '400': 'invalid_request: a parameter or the body is wrong',
  '401': 'invalid_token: missing or bad admin credentials',
  '403': 'insufficient_scope: valid credentials without the admin scope',
  '404': 'not_found',
  '409': 'conflict',
  '429': 'too_many_requests: too many failed authentications from this address (Retry-After)',
  '503': 'temporarily_unavailable: a store is unreachable (Retry-After)',
};

/** Options for @fastify/swagger on the listener that serves /admin/v1. */
export function swaggerOptions(rt: Runtime): FastifyDynamicSwaggerOptions {
  const names = componentSchemas();
  return {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'tokenmill admin API',
        version: '1',
        description:
          'The admin API of tokenmill, on the admin listener under /admin/v1, authenticated with Authorization: Bearer (ADMIN_TOKEN, or an access token with scope tokenmill:admin). The public OAuth endpoints (tag oauth2) are documented here too; they are served by the public listener, the issuer.',
      },
      servers: [{ url: adminBaseUrl(rt.config), description: 'the admin listener' }],
      tags: [
        { name: 'clients', description: 'clients and their secrets' },
        { name: 'tokens', description: 'access tokens' },
        { name: 'keys', description: 'signing keys' },
        { name: 'audit', description: 'the audit log' },
        { name: 'usage', description: 'token usage and quotas' },
        { name: 'orgs', description: 'organizations and their initial access tokens' },
        { name: 'meta', description: 'this document' },
        { name: 'oauth2', description: 'the public OAuth 2.0 endpoints (served at the issuer, not on the admin listener)' },
      ],
      components: {
        securitySchemes: {
          bearer: {
            type: 'http',
            scheme: 'bearer',
            description:
              "ADMIN_TOKEN, or an access token with scope tokenmill:admin; or one with tokenmill:org-admin (an organization admin: the client, secret, usage and audit calls, on its organization's clients only; it cannot set token_quota)",
          },
          clientBasic: { type: 'http', scheme: 'basic', description: 'client_secret_basic: base64(urlencode(client_id) ":" urlencode(client_secret))' },
        },
      },
      security: [{ bearer: [] }],
    },
    hideUntagged: true,
    transform: ({ schema, url, route }) => {
      const method = (Array.isArray(route.method) ? route.method[0] : route.method) as string;
      const openApiUrl = url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
      const op = OPERATIONS[`${method} ${openApiUrl}`];
      if (!schema) return { schema: schema as never, url };
      const out = refify(schema, names) as Record<string, unknown>;
      // A response's description: @fastify/swagger reads it next to the $ref.
      if (isObject(out.response)) {
        for (const [status, r] of Object.entries(out.response)) if (isObject(r) && typeof r.$ref === 'string') out.response[status] = { ...r, description: RESPONSE_TEXT[status] ?? 'response' };
      }
      if (op) Object.assign(out, op);
      return { schema: out as never, url };
    },
    transformObject: (documentObject) => {
      const doc = (documentObject as { openapiObject: Record<string, unknown> }).openapiObject as { paths: Record<string, unknown>; components: { schemas?: Record<string, unknown> } };
      const schemas: Record<string, unknown> = {};
      for (const [schema, name] of names) schemas[name] = refify(schema, names, schema);
      Object.assign(schemas, PUBLIC_COMPONENTS);
      doc.components.schemas = { ...(doc.components.schemas ?? {}), ...schemas };
      doc.paths = enumify({ ...doc.paths, ...publicPaths(rt.config.issuer) }) as Record<string, unknown>;
      return doc as never;
    },
  };
}

const swaggerUiDir = (): string => dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));

const DOCS_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>tokenmill admin API</title>
<link rel="stylesheet" href="./swagger-ui.css">
<style>body{margin:0;font-family:sans-serif}#login{padding:1em 2em;background:#fafafa;border-bottom:1px solid #ddd}#login input{width:28em}</style>
</head>
<body>
<form id="login"><label>Admin token (kept in this page only): <input id="token" type="password" autocomplete="off"></label> <button type="submit">Load the API</button> <span id="status"></span></form>
<div id="swagger-ui"></div>
<script src="./swagger-ui-bundle.js"></script>
<script src="./docs.js"></script>
</body>
</html>
`;

/**
 * The page loads the document with the token the person types (openapi.json needs the admin
 * token), and "Try it out" sends the same token. The token is never stored by the page.
 */
const DOCS_JS = `'use strict';
document.getElementById('login').addEventListener('submit', async (event) => {
  event.preventDefault();
  const token = document.getElementById('token').value.trim();
  const status = document.getElementById('status');
  status.textContent = 'loading…';
  const res = await fetch('../openapi.json', { headers: { authorization: 'Bearer ' + token, accept: 'application/json' } });
  if (!res.ok) { status.textContent = res.status === 401 ? 'that token is not accepted (401)' : 'error ' + res.status; return; }
  const spec = await res.json();
  status.textContent = '';
  const ui = SwaggerUIBundle({ spec, dom_id: '#swagger-ui', deepLinking: true, persistAuthorization: false });
  ui.preauthorizeApiKey('bearer', token);
});
`;

const ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'application/javascript; charset=utf-8',
};

/**
 * GET /admin/v1/docs/: Swagger UI from the swagger-ui-dist package (no CDN). The page and its
 * assets hold no data, so they are served without credentials; the document they show still needs
 * the admin token, which the page asks for.
 */
export function docsRoutes(app: FastifyInstance): void {
  const dir = swaggerUiDir();
  const headers = {
    'cache-control': 'no-cache',
    'x-content-type-options': 'nosniff',
    'content-security-policy':
      "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'",
    'referrer-policy': 'no-referrer',
  };
  app.get('/admin/v1/docs', async (_request, reply) => reply.redirect('/admin/v1/docs/'));
  app.get('/admin/v1/docs/', async (_request, reply) => reply.headers(headers).type('text/html; charset=utf-8').send(DOCS_HTML));
  app.get('/admin/v1/docs/docs.js', async (_request, reply) => reply.headers(headers).type('application/javascript; charset=utf-8').send(DOCS_JS));
  for (const [file, type] of Object.entries(ASSETS)) {
    let body: Buffer | null = null;
    app.get(`/admin/v1/docs/${file}`, async (_request, reply) => {
      body ??= readFileSync(join(dir, file));
      return reply
        .headers({ ...headers, 'cache-control': 'public, max-age=86400' })
        .type(type)
        .send(body);
    });
  }
}
