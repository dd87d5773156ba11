import { createHash } from 'node:crypto';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { assertion, type ClientKey } from '../fixtures/assertion.js';
import { ADMIN_TOKEN, ISSUER, basic, form, type Built } from '../helper.js';

/** The admin listener of a build (the public one when ADMIN_PORT = PORT). */
export const adminApp = (b: Built): FastifyInstance => b.apps.admin ?? b.app;

/** The audit actor the server records for ADMIN_TOKEN: `admin-token:` + 8 hex of its SHA-256. */
export const ADMIN_ACTOR = `admin-token:${createHash('sha256').update(ADMIN_TOKEN).digest('hex').slice(0, 8)}`;

export const REALM = 'Bearer realm="http://tokenmill.test"';
export const INVALID_CLIENT = { error: 'invalid_client', error_description: 'client authentication failed' };

/** An admin API call with the bootstrap token (or `token`; null sends no Authorization). */
export function admin(app: FastifyInstance, method: InjectOptions['method'], url: string, body?: unknown, token: string | null = ADMIN_TOKEN) {
  const headers: Record<string, string> = {};
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  return app.inject({ method, url, headers, ...(body !== undefined ? { payload: JSON.stringify(body) } : {}) });
}

/** POST /oauth2/introspect authenticated with the admin token; returns the parsed body. */
export async function introspect(app: FastifyInstance, token: string): Promise<Record<string, unknown>> {
  const res = await app.inject({
    method: 'POST',
    url: '/oauth2/introspect',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/x-www-form-urlencoded' },
    payload: form({ token }),
  });
  if (res.statusCode !== 200) throw new Error(`introspection failed: ${res.statusCode} ${res.body}`);
  return res.json() as Record<string, unknown>;
}

/** A client_credentials request with client_secret_basic. */
export function tokenBasic(app: FastifyInstance, clientId: string, secret: string, params: Record<string, string> = {}) {
  return app.inject({
    method: 'POST',
    url: '/oauth2/token',
    headers: { authorization: basic(clientId, secret), 'content-type': 'application/x-www-form-urlencoded' },
    payload: form({ grant_type: 'client_credentials', ...params }),
  });
}

/** A client_credentials request with client_secret_post. */
export function tokenPost(app: FastifyInstance, clientId: string, secret: string, params: Record<string, string> = {}) {
  return app.inject({
    method: 'POST',
    url: '/oauth2/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: form({ grant_type: 'client_credentials', client_id: clientId, client_secret: secret, ...params }),
  });
}

/** A client_credentials request with private_key_jwt: an assertion signed with `key`, issued at `iat` (seconds). */
export async function tokenPrivateKeyJwt(app: FastifyInstance, clientId: string, key: ClientKey, iat: number): Promise<LightMyRequestResponse> {
  return app.inject({
    method: 'POST',
    url: '/oauth2/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: form({
      grant_type: 'client_credentials',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: await assertion(key, clientId, ISSUER, iat),
    }),
  });
}

/** The access token of a successful token response; throws with the body otherwise. */
export async function accessToken(res: Promise<{ statusCode: number; body: string; json(): unknown }> | { statusCode: number; body: string; json(): unknown }): Promise<string> {
  const r = await res;
  if (r.statusCode !== 200) throw new Error(`token request failed: ${r.statusCode} ${r.body}`);
  return (r.json() as { access_token: string }).access_token;
}

/** The decoded protected header of a compact JWS. */
export const jwsHeader = (jws: string): Record<string, unknown> => JSON.parse(Buffer.from(jws.split('.')[0] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
export const jwsPayload = (jws: string): Record<string, unknown> => JSON.parse(Buffer.from(jws.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;

/** Lets hooks that run after a response (audit onResponse) finish their writes: waits for every write in flight. */
export const settle = (b: Pick<Built, 'auditIdle'>): Promise<void> => b.auditIdle();
