import type { FastifyInstance, FastifyRequest } from 'fastify';
import { InsufficientScope, InvalidToken } from '../../errors/oauth-errors.js';
import { liveAccessToken } from '../../oauth/access-token.js';
import { bearerCredential } from '../http.js';
import type { Runtime } from '../../runtime.js';

export const ADMIN_SCOPE = 'tokenmill:admin';
/** An organization's admin (docs/contract.md "Organizations"): only the super admin grants it. */
export const ORG_ADMIN_SCOPE = 'tokenmill:org-admin';
/** The scopes only the super admin may grant. */
export const ADMIN_SCOPES: readonly string[] = [ADMIN_SCOPE, ORG_ADMIN_SCOPE];

declare module 'fastify' {
  interface FastifyRequest {
    /** who is calling the admin API, by a non-secret identifier (`admin-token:…` or `client:…`) */
    adminActor: string | null;
    /** the organization an organization admin is confined to; null for the super admin */
    adminOrg: string | null;
    /** the organization an audit row concerns when the caller is the super admin (set by routes) */
    auditOrg: string | null;
  }
  interface FastifyContextConfig {
    /** the audit action name of an admin route */
    action?: string;
    /** an organization admin may call this route (confined to its organization by the route) */
    orgAdmin?: boolean;
  }
}

/**
 * Resolves the admin caller: the bootstrap ADMIN_TOKEN (constant-time), or an access token this
 * server minted with scope `tokenmill:admin`, verified as a resource server would (signature,
 * typ, iss, exp, audience = this issuer, client active, not revoked), whose client's registered
 * scopes still include `tokenmill:admin`. Missing or bad → 401; valid without the scope, in the
 * token or on the client → 403 (RFC 6750 §3.1). A token with `tokenmill:org-admin` whose client
 * belongs to an (active) organization and still holds that scope is an organization admin: `org`
 * is its organization, and routes confine it there (docs/contract.md "Organizations").
 */
export async function authenticateAdmin(request: FastifyRequest, rt: Runtime): Promise<{ actor: string; org: string | null }> {
  const token = bearerCredential(request, 'admin credentials are required');
  if (rt.isAdminToken(token)) return { actor: rt.adminToken.id, org: null };
  const live = await liveAccessToken(token, rt, (claims) => {
    const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    if (!aud.includes(rt.config.issuer)) throw new InvalidToken('the access token is not meant for this server');
    return true;
  });
  if (!live) throw new InvalidToken();
  const { claims, client } = live;
  // The caller is known from here on: a 403 is audited under its name, not as unauthenticated.
  request.adminActor = `client:${claims.client_id}`;
  const granted = (claims.scope ?? '').split(' ');
  // Rights come from the client as registered now, not from the token: a token minted before
  // tokenmill:admin was taken away stops working at once (the cache above is invalidated on every
  // node through the bus), not at its exp.
  if (granted.includes(ADMIN_SCOPE) && client.scopes.includes(ADMIN_SCOPE)) return { actor: request.adminActor, org: null };
  // An organization admin: a client of an (active: liveAccessToken checked it) organization.
  if (granted.includes(ORG_ADMIN_SCOPE) && client.scopes.includes(ORG_ADMIN_SCOPE) && client.orgId !== null) return { actor: request.adminActor, org: client.orgId };
  throw new InsufficientScope(ADMIN_SCOPE);
}

/** Authenticates every route of this scope, and records every call in the audit log. */
export function adminAuth(app: FastifyInstance, rt: Runtime): void {
  app.decorateRequest('adminActor', null);
  app.decorateRequest('adminOrg', null);
  app.decorateRequest('auditOrg', null);
  app.addHook('onRequest', async (request) => {
    const caller = await authenticateAdmin(request, rt);
    request.adminActor = caller.actor;
    request.adminOrg = caller.org;
    // Organizations, keys and the document are the super admin's (docs/contract.md "Organizations").
    if (caller.org !== null && request.routeOptions.config.orgAdmin !== true) throw new InsufficientScope(ADMIN_SCOPE);
  });
  app.addHook('onResponse', async (request, reply) => {
    const params = (request.params ?? {}) as Record<string, string | undefined>;
    const target = params.secret_id
      ? `${params.client_id}/${params.secret_id}`
      : params.org_id && params.id
        ? `${params.org_id}/${params.id}`
        : (params.client_id ?? params.org_id ?? request.auditTarget ?? null);
    const action = request.routeOptions.config.action ?? (reply.statusCode === 401 || reply.statusCode === 403 ? 'admin.authenticate' : `${request.method} ${request.routeOptions.url ?? 'unknown'}`);
    // Anyone can be refused: those rows are aggregated per source and minute (authenticated calls never are).
    if (request.adminActor === null) {
      // A 429 before authentication is the failed-authentication limit, which audits it itself (routes/failure-limit.ts).
      if (reply.statusCode === 429) return;
      rt.refusalAudit.record({ actor: 'unauthenticated', action, source: request.ip, status: reply.statusCode, requestId: request.id });
      return;
    }
    await rt.audit
      .record({
        at: rt.clock.now(),
        actor: request.adminActor,
        action,
        target,
        outcome: reply.statusCode < 400 ? 'success' : 'failure',
        requestId: request.id,
        detail: { status: reply.statusCode },
        orgId: request.adminOrg ?? request.auditOrg,
      })
      .catch((err: unknown) => request.log.warn({ err: { message: (err as Error).message } }, 'audit write failed'));
  });
}
