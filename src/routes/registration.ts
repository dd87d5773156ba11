import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Client } from '../clients/client.js';
import { ClientService } from '../clients/client-service.js';
import { clientToMetadata, parseClientMetadata } from '../clients/registration.js';
import { selfServiceMetadata, selfServicePatch } from '../clients/self-service-policy.js';
import { InvalidClientMetadata, InvalidRequest, InvalidToken } from '../errors/oauth-errors.js';
import { orgRefusal } from '../orgs/errors.js';
import { ADMIN_SCOPES } from './admin/auth.js';
import { matchSecret } from '../clients/secret.js';
import type { Runtime } from '../runtime.js';
import { bearerCredential, methodNotAllowed, requireJson } from './http.js';

const REGISTRATION_BODY_LIMIT = 64 * 1024; // threat model REQ-D2
const REGISTRATION_ACTIONS: Record<string, string> = { GET: 'client.read', PUT: 'client.update', DELETE: 'client.delete' };

/**
 * The organization a registration lands in: the initial access token's (which cannot name another,
 * nor name one at all), or the `org_id` the administrator sends; null for none.
 */
function registrationOrg(body: unknown, iat: { orgId: string } | undefined): string | null {
  const sent = body && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>).org_id : undefined;
  if (iat) {
    if (sent !== undefined) throw new InvalidClientMetadata('org_id: is set by the initial access token and cannot be sent');
    return iat.orgId;
  }
  if (sent === undefined || sent === null) return null;
  if (typeof sent !== 'string' || sent.length === 0 || sent.length > 100) throw new InvalidClientMetadata('org_id: must be the id of an organization');
  return sent;
}

async function audit(rt: Runtime, request: FastifyRequest, actor: string, action: string, target: string | null, outcome: 'success' | 'failure', orgId: string | null = null): Promise<void> {
  await rt.audit
    .record({ at: rt.clock.now(), actor, action, target, outcome, requestId: request.id, orgId })
    .catch((err: unknown) => request.log.warn({ err: { message: (err as Error).message } }, 'audit write failed'));
}

/**
 * RFC 7591 registration with the admin token as initial access token, and RFC 7592 management at
 * the registration_client_uri with the client's registration access token.
 */
export function registerRoutes(app: FastifyInstance, rt: Runtime): void {
  const policy = { production: rt.config.production, assertionAlgs: rt.config.assertionAlgs };
  const issuer = rt.config.issuer;

  // The credential is checked on arrival, before the body is read: an unauthenticated caller learns
  // nothing about body limits or content types (RFC 7591 §3, RFC 6750 §3.1). The admin token
  // registers anywhere; an org-bound initial access token only into its organization.
  const initialAccess = new WeakMap<FastifyRequest, { id: string; orgId: string }>();
  const requireInitialAccessToken = async (request: FastifyRequest) => {
    const token = bearerCredential(request);
    if (rt.isAdminToken(token)) return;
    const iat = await rt.orgs.usableInitialAccessToken(token);
    if (!iat) {
      rt.refusalAudit.record({ actor: 'unauthenticated', action: 'client.register', source: request.ip, status: 401, requestId: request.id });
      throw new InvalidToken('the initial access token is invalid');
    }
    initialAccess.set(request, iat);
  };
  app.post('/oauth2/register', { bodyLimit: REGISTRATION_BODY_LIMIT, onRequest: requireInitialAccessToken, config: { schemaErrorCode: 'invalid_client_metadata' } }, async (request, reply) => {
    requireJson(request);
    const iat = initialAccess.get(request);
    const org = registrationOrg(request.body, iat);
    const meta = await parseClientMetadata(request.body, policy);
    // Only the super admin grants the admin scopes (docs/contract.md "Organizations").
    if (iat) for (const s of meta.scopes) if (ADMIN_SCOPES.includes(s)) throw new InvalidClientMetadata(`scope: ${s} can only be granted by the administrator`);
    let registered;
    try {
      registered = await rt.clientService.register(meta, undefined, org === null ? undefined : { orgId: org, ...(iat ? { initialAccessTokenId: iat.id } : {}) });
    } catch (err) {
      const refusal = orgRefusal(err);
      // Used up, expired or revoked since the check on arrival (a concurrent registration took the last use).
      if (refusal === 'InitialAccessTokenSpent' || (iat && refusal === 'OrgDisabled')) throw new InvalidToken('the initial access token is invalid');
      if (refusal !== null) throw new InvalidClientMetadata((err as Error).message);
      throw err;
    }
    const { client, clientSecret, registrationAccessToken } = registered;
    request.clientId = client.clientId;
    await audit(rt, request, iat ? `initial-access-token:${iat.id}` : rt.adminToken.id, 'client.register', client.clientId, 'success', client.orgId);
    const body: Record<string, unknown> = { ...clientToMetadata(client, issuer, rt.clock.now()), registration_access_token: registrationAccessToken };
    if (clientSecret !== null) body.client_secret = clientSecret;
    return reply.code(201).send(body);
  });
  methodNotAllowed(app, '/oauth2/register', ['POST']);

  const callers = new WeakMap<FastifyRequest, { client: Client; actor: string }>();
  /** RFC 7592 §2: the registration access token (or the admin token) authorises; an unknown client looks the same as a bad token. */
  async function authenticate(request: FastifyRequest): Promise<void> {
    try {
      callers.set(request, await resolveCaller(request as FastifyRequest<{ Params: { clientId: string } }>));
    } catch (err) {
      // Refusals are aggregated per source and minute (the client id in the URL is the caller's choice: not kept).
      if (err instanceof InvalidToken)
        rt.refusalAudit.record({ actor: 'unauthenticated', action: REGISTRATION_ACTIONS[request.method] ?? 'client.read', source: request.ip, status: 401, requestId: request.id });
      throw err;
    }
  }
  function authorised(request: FastifyRequest): { client: Client; actor: string } {
    const caller = callers.get(request);
    if (!caller) throw new InvalidToken('the registration access token is invalid');
    return caller;
  }
  async function resolveCaller(request: FastifyRequest<{ Params: { clientId: string } }>): Promise<{ client: Client; actor: string }> {
    const token = bearerCredential(request);
    const client = await rt.clientService.get(request.params.clientId);
    const registrationOk = ClientService.registrationTokenMatches(client, token);
    const adminOk = rt.isAdminToken(token);
    if (!client || (!registrationOk && !adminOk)) throw new InvalidToken('the registration access token is invalid');
    request.clientId = client.clientId;
    return { client, actor: adminOk ? rt.adminToken.id : `registration:${client.clientId}` };
  }

  const url = '/oauth2/register/:clientId';
  app.get<{ Params: { clientId: string } }>(url, { onRequest: authenticate }, async (request) => {
    const { client } = authorised(request);
    return clientToMetadata(client, issuer, rt.clock.now());
  });

  app.put<{ Params: { clientId: string } }>(url, { bodyLimit: REGISTRATION_BODY_LIMIT, onRequest: authenticate, config: { schemaErrorCode: 'invalid_client_metadata' } }, async (request) => {
    const { client, actor } = authorised(request);
    requireJson(request);
    const body = request.body as Record<string, unknown> | null;
    // RFC 7592 §2.2: client_id must be present and unchanged; a client_secret, if sent, must be a current one.
    if (!body || typeof body !== 'object' || body.client_id !== client.clientId) throw new InvalidRequest('client_id must be included and match');
    if (body.client_secret !== undefined) {
      const ok = typeof body.client_secret === 'string' && matchSecret(body.client_secret, client.secrets, rt.clock.now()) !== null;
      if (!ok) throw new InvalidRequest('client_secret does not match the current secret');
    }
    // Self-service changes only what grants nothing, whoever presents the token: privileges are
    // changed through the admin API (RFC 7592 §2.2 lets the server refuse a value).
    const requested = selfServiceMetadata(clientToMetadata(client, issuer, rt.clock.now()), body);
    const meta = await parseClientMetadata(requested, policy);
    // RFC 7592 §2.2: a new registration access token with every successful update; the old one ends with this write.
    const updated = await rt.clientService.update(client.clientId, selfServicePatch(meta), { rotateRegistrationToken: true });
    if (!updated) throw new InvalidToken('the registration access token is invalid');
    await audit(rt, request, actor, 'client.update', client.clientId, 'success', client.orgId);
    const out: Record<string, unknown> = clientToMetadata(updated.client, issuer, rt.clock.now());
    if (updated.clientSecret !== null) out.client_secret = updated.clientSecret;
    if (updated.registrationAccessToken !== null) out.registration_access_token = updated.registrationAccessToken;
    return out;
  });

  app.delete<{ Params: { clientId: string } }>(url, { onRequest: authenticate }, async (request, reply) => {
    const { client, actor } = authorised(request);
    await rt.clientService.delete(client.clientId);
    await audit(rt, request, actor, 'client.delete', client.clientId, 'success', client.orgId);
    return reply.code(204).send();
  });
  methodNotAllowed(app, url, ['GET', 'PUT', 'DELETE']);
}
