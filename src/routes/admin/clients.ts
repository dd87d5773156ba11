import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Client } from '../../clients/client.js';
import { orgRefusal } from '../../orgs/errors.js';
import { ADMIN_SCOPES } from './auth.js';
import type { Static } from '@sinclair/typebox';
import { clientToMetadata, parseClientMetadata } from '../../clients/registration.js';
import { isSecretMethod } from '../../clients/client.js';
import { Conflict, InsufficientScope, InvalidRequest, NotFound } from '../../errors/oauth-errors.js';
import { InvalidCursorError } from '../../storage/sql/client-store.js';
import { quotaFromJson, type TokenQuota } from '../../quota/token-quota.js';
import type { Runtime } from '../../runtime.js';
import {
  AdminError,
  ClientCreateBody,
  ClientIdParams,
  ClientListQuery,
  ClientPage,
  ClientPatchBody,
  ClientView,
  CreatedClient,
  RevokeTokensResult,
  RotateSecretBody,
  RotatedRegistrationToken,
  RotatedSecret,
  SecretParams,
} from '../../schemas/admin.js';
import { clientView, lifetimeMs } from './views.js';

type IdParams = Static<typeof ClientIdParams>;
const errors = { 400: AdminError, 401: AdminError, 403: AdminError, 404: AdminError, 409: AdminError, 429: AdminError, 503: AdminError };
const tags = ['clients'];

/** Metadata errors are reported as the admin API's invalid_request, naming the field. */
async function validated(rt: Runtime, body: Record<string, unknown>) {
  try {
    return await parseClientMetadata(body, { production: rt.config.production, assertionAlgs: rt.config.assertionAlgs });
  } catch (err) {
    if (err instanceof Error && 'error' in err && (err as { error: string }).error === 'invalid_client_metadata') throw new InvalidRequest((err as Error).message);
    throw err;
  }
}

/** A `token_quota` object the schema accepted, checked once more by the model (names the member). */
export function checkedQuota(value: unknown): TokenQuota {
  try {
    return quotaFromJson(value);
  } catch (err) {
    throw new InvalidRequest((err as Error).message);
  }
}

/**
 * A token quota is the vendor's limit on its customers: only the super admin sets it, never an
 * organization admin (403), so a customer cannot lift its own limit.
 */
function quotaFromBody(request: FastifyRequest, value: unknown): TokenQuota | null {
  if (request.adminOrg !== null) throw new InsufficientScope(ADMIN_SCOPES[0] ?? 'tokenmill:admin');
  return value === null ? null : checkedQuota(value);
}

const NO_CLIENT = 'client_id: no such client';

/**
 * The client as the caller may see it: an organization admin sees its organization's clients only,
 * anything else is "no such client" (existence is not revealed). Records the client's organization
 * for the audit row.
 */
export async function visibleClient(rt: Runtime, request: FastifyRequest, clientId: string): Promise<Client> {
  const client = await rt.clientService.get(clientId);
  if (!client || (request.adminOrg !== null && client.orgId !== request.adminOrg)) throw new NotFound(NO_CLIENT);
  request.auditOrg = client.orgId;
  return client;
}

/** An organization admin grants neither admin scope (403); the super admin grants anything. */
function checkGrant(request: FastifyRequest, scopes: readonly string[], current: readonly string[] = []): void {
  if (request.adminOrg === null) return;
  const added = scopes.filter((s) => ADMIN_SCOPES.includes(s) && !current.includes(s));
  if (added.length) throw new InsufficientScope(added[0] ?? ADMIN_SCOPES[0] ?? '');
}

/** A creation refused for its organization → the admin API's answer (409 past max_clients or into a disabled one). */
function orgError(err: unknown): unknown {
  switch (orgRefusal(err)) {
    case 'OrgLimitReached':
    case 'OrgDisabled':
      return new Conflict((err as Error).message);
    case 'OrgMissing':
      return new InvalidRequest((err as Error).message);
    default:
      return err;
  }
}

export function adminClientRoutes(app: FastifyInstance, rt: Runtime): void {
  app.get<{ Querystring: Static<typeof ClientListQuery> }>(
    '/clients',
    { config: { action: 'client.list', orgAdmin: true }, schema: { tags, querystring: ClientListQuery, response: { 200: ClientPage, ...errors } } },
    async (request) => {
      const q = request.query;
      // An organization admin lists its organization's clients, whatever it asks for (another org_id: an empty page).
      if (request.adminOrg !== null && q.org_id !== undefined && q.org_id !== request.adminOrg) return { items: [], next_cursor: null };
      const orgId = request.adminOrg ?? q.org_id;
      try {
        const page = await rt.clientStore.list(q.limit ?? 50, q.cursor ?? null, { status: q.status, authMethod: q.auth_method, namePrefix: q.name_prefix, ...(orgId ? { orgId } : {}) });
        const now = rt.clock.now();
        return { items: page.items.map((c) => clientView(c, now, rt.quotas.defaultQuota)), next_cursor: page.nextCursor };
      } catch (err) {
        if (err instanceof InvalidCursorError) throw new InvalidRequest('cursor: is not a cursor this server issued');
        throw err;
      }
    },
  );

  app.post<{ Body: Static<typeof ClientCreateBody> }>(
    '/clients',
    { config: { action: 'client.create', orgAdmin: true }, schema: { tags, body: ClientCreateBody, response: { 201: CreatedClient, ...errors } } },
    async (request, reply) => {
      const { secret_expires_in, org_id, token_quota, ...metadata } = request.body;
      // An organization admin's clients land in its organization; naming another is "no such organization".
      if (request.adminOrg !== null && org_id !== undefined && org_id !== request.adminOrg) throw new InvalidRequest('org_id: no such organization');
      const orgId = request.adminOrg ?? org_id ?? null;
      const tokenQuota = token_quota === undefined ? null : quotaFromBody(request, token_quota);
      const meta = await validated(rt, metadata);
      checkGrant(request, meta.scopes);
      request.auditOrg = orgId;
      let registered;
      try {
        registered = await rt.clientService.register(meta, lifetimeMs(secret_expires_in), orgId === null ? undefined : { orgId }, tokenQuota);
      } catch (err) {
        throw orgError(err);
      }
      request.auditTarget = registered.client.clientId;
      return reply
        .code(201)
        .send({ client: clientView(registered.client, rt.clock.now(), rt.quotas.defaultQuota), client_secret: registered.clientSecret, secret_id: registered.client.secrets[0]?.secretId ?? null });
    },
  );

  app.get<{ Params: IdParams }>(
    '/clients/:client_id',
    { config: { action: 'client.read', orgAdmin: true }, schema: { tags, params: ClientIdParams, response: { 200: ClientView, ...errors } } },
    async (request) => clientView(await visibleClient(rt, request, request.params.client_id), rt.clock.now(), rt.quotas.defaultQuota),
  );

  app.patch<{ Params: IdParams; Body: Static<typeof ClientPatchBody> }>(
    '/clients/:client_id',
    { config: { action: 'client.update', orgAdmin: true }, schema: { tags, params: ClientIdParams, body: ClientPatchBody, response: { 200: ClientView, ...errors } } },
    async (request) => {
      const current = await visibleClient(rt, request, request.params.client_id);
      const { status, token_quota, ...changes } = request.body;
      const quotaPatch = token_quota === undefined ? {} : { tokenQuota: quotaFromBody(request, token_quota) };
      // Validate the whole resulting metadata, so a change never leaves an inconsistent client.
      const merged: Record<string, unknown> = { ...clientToMetadata(current, rt.config.issuer, rt.clock.now()), ...changes };
      if ('jwks_uri' in changes && changes.jwks_uri !== null) delete merged.jwks;
      if ('jwks' in changes && changes.jwks !== null) delete merged.jwks_uri;
      if (changes.token_endpoint_auth_method && isSecretMethod(changes.token_endpoint_auth_method as never)) {
        if (!('jwks' in changes)) delete merged.jwks;
        if (!('jwks_uri' in changes)) delete merged.jwks_uri;
        delete merged.token_endpoint_auth_signing_alg;
      }
      for (const k of Object.keys(merged)) if (merged[k] === null) delete merged[k];
      const meta = await validated(rt, merged);
      checkGrant(request, meta.scopes, current.scopes);
      const updated = await rt.clientService.update(current.clientId, { ...meta, ...quotaPatch, ...(status === undefined ? {} : { status }) });
      if (!updated) throw new NotFound('client_id: no such client');
      return clientView(updated.client, rt.clock.now(), rt.quotas.defaultQuota);
    },
  );

  app.delete<{ Params: IdParams }>(
    '/clients/:client_id',
    { config: { action: 'client.delete', orgAdmin: true }, schema: { tags, params: ClientIdParams, response: { 204: { type: 'null' }, ...errors } } },
    async (request, reply) => {
      await visibleClient(rt, request, request.params.client_id);
      if (!(await rt.clientService.delete(request.params.client_id))) throw new NotFound('client_id: no such client');
      return reply.code(204).send();
    },
  );

  app.post<{ Params: IdParams; Body: Static<typeof RotateSecretBody> }>(
    '/clients/:client_id/secrets',
    { config: { action: 'secret.rotate', orgAdmin: true }, schema: { tags, params: ClientIdParams, body: RotateSecretBody, response: { 201: RotatedSecret, ...errors } } },
    async (request, reply) => {
      const client = await visibleClient(rt, request, request.params.client_id);
      if (!isSecretMethod(client.tokenEndpointAuthMethod)) throw new Conflict(`the client authenticates with ${client.tokenEndpointAuthMethod}; it has no secrets`);
      const body = request.body ?? {};
      const rotated = await rt.clientService.rotateSecret(client.clientId, { expiresInMs: lifetimeMs(body.expires_in), previousSecretTtlMs: (body.previous_secret_ttl ?? 0) * 1000 });
      if (!rotated) throw new NotFound('client_id: no such client');
      return reply.code(201).send({
        secret_id: rotated.secret.secretId,
        client_secret: rotated.clientSecret,
        expires_at: rotated.secret.expiresAt === null ? null : new Date(rotated.secret.expiresAt).toISOString(),
        prefix: rotated.secret.prefix,
      });
    },
  );

  app.delete<{ Params: Static<typeof SecretParams> }>(
    '/clients/:client_id/secrets/:secret_id',
    { config: { action: 'secret.delete', orgAdmin: true }, schema: { tags, params: SecretParams, response: { 204: { type: 'null' }, ...errors } } },
    async (request, reply) => {
      await visibleClient(rt, request, request.params.client_id);
      if (!(await rt.clientService.deleteSecret(request.params.client_id, request.params.secret_id))) throw new NotFound('secret_id: no such secret');
      return reply.code(204).send();
    },
  );

  // RFC 7592 registration access token: a new one (the old one ends now), shown this once; or none.
  app.post<{ Params: IdParams }>(
    '/clients/:client_id/registration-token',
    { config: { action: 'registration_token.rotate', orgAdmin: true }, schema: { tags, params: ClientIdParams, response: { 201: RotatedRegistrationToken, ...errors } } },
    async (request, reply) => {
      await visibleClient(rt, request, request.params.client_id);
      const token = await rt.clientService.rotateRegistrationToken(request.params.client_id);
      if (token === null) throw new NotFound('client_id: no such client');
      // RFC 6749 §5.1 (C2): a response that carries a credential is never cached.
      reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
      return reply.code(201).send({ registration_access_token: token, registration_client_uri: `${rt.config.issuer}/oauth2/register/${encodeURIComponent(request.params.client_id)}` });
    },
  );

  app.delete<{ Params: IdParams }>(
    '/clients/:client_id/registration-token',
    { config: { action: 'registration_token.revoke', orgAdmin: true }, schema: { tags, params: ClientIdParams, response: { 204: { type: 'null' }, ...errors } } },
    async (request, reply) => {
      await visibleClient(rt, request, request.params.client_id);
      if (!(await rt.clientService.revokeRegistrationToken(request.params.client_id))) throw new NotFound('client_id: no such client');
      return reply.code(204).send();
    },
  );

  app.post<{ Params: IdParams }>(
    '/clients/:client_id/revoke-tokens',
    { config: { action: 'client.revoke_tokens', orgAdmin: true }, schema: { tags, params: ClientIdParams, response: { 200: RevokeTokensResult, ...errors } } },
    async (request) => {
      await visibleClient(rt, request, request.params.client_id);
      const result = await rt.clientService.revokeTokens(request.params.client_id);
      if (!result) throw new NotFound('client_id: no such client');
      return { client_id: request.params.client_id, revoked_before: result.revokedBefore };
    },
  );
}
