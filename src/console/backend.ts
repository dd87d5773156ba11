import type { FastifyInstance, HTTPMethods } from 'fastify';
import type { Runtime } from '../runtime.js';
import { InsufficientScope } from '../errors/oauth-errors.js';
import { ADMIN_SCOPE } from '../routes/admin/auth.js';
import { adminClientRoutes } from '../routes/admin/clients.js';
import { adminKeyRoutes } from '../routes/admin/keys.js';
import { adminAuditRoutes } from '../routes/admin/audit.js';
import { adminUsageRoutes } from '../routes/admin/usage.js';

/** The header carrying the session's actor into the in-process admin API (never on a listener). */
const ACTOR_HEADER = 'x-tokenmill-console-actor';
/** The organization an organization admin's session is confined to (absent: a super admin). */
const ORG_HEADER = 'x-tokenmill-console-org';

export interface ApiResponse {
  status: number;
  body: unknown;
}

/** The admin API as the console calls it: the same routes, schemas and validation, with the session's identity. */
export interface AdminApi {
  call(actor: string, org: string | null, method: HTTPMethods, path: string, body?: unknown): Promise<ApiResponse>;
  close(): Promise<void>;
}

/**
 * One code path for every change: the console does not reimplement the admin API; it injects
 * requests into the very route handlers of /admin/v1 (clients, keys, audit), registered on a
 * Fastify instance of their own that never listens. Only this module can reach it, so the
 * session's actor travels in a header instead of a bearer token (the console never holds the
 * admin token). Changes are audited as the API audits them — same action names, same actor
 * identifiers — with `via: "console"` in the detail; reads are not audited (page views).
 */
export async function adminApi(app: FastifyInstance, rt: Runtime): Promise<AdminApi> {
  await app.register(
    async (scope) => {
      scope.decorateRequest('auditTarget', null);
      scope.decorateRequest('adminActor', null);
      // What adminAuth decorates on the listener; an organization admin is confined as there.
      scope.decorateRequest('adminOrg', null);
      scope.decorateRequest('auditOrg', null);
      scope.addHook('onRequest', async (request) => {
        const actor = request.headers[ACTOR_HEADER];
        if (typeof actor !== 'string' || actor === '') throw new Error('console API call without an actor');
        request.adminActor = actor;
        const org = request.headers[ORG_HEADER];
        request.adminOrg = typeof org === 'string' && org !== '' ? org : null;
        if (request.adminOrg !== null && request.routeOptions.config.orgAdmin !== true) throw new InsufficientScope(ADMIN_SCOPE);
      });
      scope.addHook('onResponse', async (request, reply) => {
        if (request.method === 'GET' || request.adminActor === null) return;
        const params = (request.params ?? {}) as Record<string, string | undefined>;
        const target = params.secret_id ? `${params.client_id}/${params.secret_id}` : (params.client_id ?? request.auditTarget ?? null);
        await rt.audit
          .record({
            at: rt.clock.now(),
            actor: request.adminActor,
            action: request.routeOptions.config.action ?? `${request.method} ${request.routeOptions.url ?? 'unknown'}`,
            target,
            outcome: reply.statusCode < 400 ? 'success' : 'failure',
            requestId: request.id,
            detail: { status: reply.statusCode, via: 'console' },
            orgId: request.adminOrg ?? request.auditOrg,
          })
          .catch((err: unknown) => request.log.warn({ err: { message: (err as Error).message } }, 'audit write failed'));
      });
      adminClientRoutes(scope, rt);
      adminKeyRoutes(scope, rt);
      adminAuditRoutes(scope, rt);
      adminUsageRoutes(scope, rt);
    },
    { prefix: '/admin/v1' },
  );
  await app.ready();
  return {
    async call(actor, org, method, path, body) {
      const res = await app.inject({
        method,
        url: `/admin/v1${path}`,
        headers: { [ACTOR_HEADER]: actor, ...(org === null ? {} : { [ORG_HEADER]: org }), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
      });
      return { status: res.statusCode, body: res.body === '' ? null : (JSON.parse(res.body) as unknown) };
    },
    close: () => app.close(),
  };
}
