import type { FastifyInstance } from 'fastify';
import type { Static } from '@sinclair/typebox';
import { InvalidRequest, NotFound } from '../../errors/oauth-errors.js';
import type { Runtime } from '../../runtime.js';
import { AdminError, IatCreateBody, IssuedIat, OrgCreateBody, OrgIatParams, OrgIdParams, OrgListQuery, OrgPage, OrgPatchBody, OrgView } from '../../schemas/admin.js';
import { checkedQuota } from './clients.js';
import { orgView } from './views.js';

type OrgParams = Static<typeof OrgIdParams>;
const errors = { 400: AdminError, 401: AdminError, 403: AdminError, 404: AdminError, 409: AdminError, 503: AdminError };
const tags = ['orgs'];
const NO_ORG = 'org_id: no such organization';

/** /admin/v1/orgs (docs/contract.md "Organizations"): the super admin's only (an organization admin gets 403 from adminAuth). */
export function adminOrgRoutes(app: FastifyInstance, rt: Runtime): void {
  app.get<{ Querystring: Static<typeof OrgListQuery> }>(
    '/orgs',
    { config: { action: 'org.list' }, schema: { tags, querystring: OrgListQuery, response: { 200: OrgPage, ...errors } } },
    async (request) => {
      try {
        const page = await rt.orgs.list(request.query.limit ?? 50, request.query.cursor ?? null);
        return { items: page.items.map(orgView), next_cursor: page.nextCursor };
      } catch (err) {
        if (err instanceof Error && err.name === 'InvalidCursorError') throw new InvalidRequest('cursor: is not a cursor this server issued');
        throw err;
      }
    },
  );

  app.post<{ Body: Static<typeof OrgCreateBody> }>(
    '/orgs',
    { config: { action: 'org.create' }, schema: { tags, body: OrgCreateBody, response: { 201: OrgView, ...errors } } },
    async (request, reply) => {
      const quota = request.body.token_quota;
      const org = await rt.orgs.create(request.body.name, request.body.max_clients, quota === undefined || quota === null ? null : checkedQuota(quota));
      request.auditTarget = org.orgId;
      request.auditOrg = org.orgId;
      return reply.code(201).send(orgView(org));
    },
  );

  app.get<{ Params: OrgParams }>('/orgs/:org_id', { config: { action: 'org.read' }, schema: { tags, params: OrgIdParams, response: { 200: OrgView, ...errors } } }, async (request) => {
    request.auditOrg = request.params.org_id;
    const org = await rt.orgs.get(request.params.org_id);
    if (!org) throw new NotFound(NO_ORG);
    return orgView(org);
  });

  app.patch<{ Params: OrgParams; Body: Static<typeof OrgPatchBody> }>(
    '/orgs/:org_id',
    { config: { action: 'org.update' }, schema: { tags, params: OrgIdParams, body: OrgPatchBody, response: { 200: OrgView, ...errors } } },
    async (request) => {
      request.auditOrg = request.params.org_id;
      const b = request.body;
      const org = await rt.orgs.update(request.params.org_id, {
        ...(b.name !== undefined ? { name: b.name } : {}),
        ...(b.max_clients !== undefined ? { maxClients: b.max_clients } : {}),
        ...(b.status !== undefined ? { status: b.status } : {}),
        ...(b.token_quota !== undefined ? { tokenQuota: b.token_quota === null ? null : checkedQuota(b.token_quota) } : {}),
      });
      if (!org) throw new NotFound(NO_ORG);
      return orgView(org);
    },
  );

  app.delete<{ Params: OrgParams }>(
    '/orgs/:org_id',
    { config: { action: 'org.delete' }, schema: { tags, params: OrgIdParams, response: { 204: { type: 'null' }, ...errors } } },
    async (request, reply) => {
      request.auditOrg = request.params.org_id;
      if (!(await rt.orgs.delete(request.params.org_id))) throw new NotFound(NO_ORG);
      return reply.code(204).send();
    },
  );

  app.post<{ Params: OrgParams; Body: Static<typeof IatCreateBody> }>(
    '/orgs/:org_id/initial-access-tokens',
    { config: { action: 'org.iat.create' }, schema: { tags, params: OrgIdParams, body: IatCreateBody, response: { 201: IssuedIat, ...errors } } },
    async (request, reply) => {
      request.auditOrg = request.params.org_id;
      const issued = await rt.orgs.createInitialAccessToken(request.params.org_id, request.body.expires_in, request.body.max_uses ?? null);
      if (!issued) throw new NotFound(NO_ORG);
      request.auditTarget = `${request.params.org_id}/${issued.id}`;
      // RFC 6749 §5.1 (C2): a response that carries a credential is never cached.
      reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
      return reply.code(201).send({ id: issued.id, token: issued.token, expires_at: new Date(issued.expiresAt).toISOString(), max_uses: issued.maxUses });
    },
  );

  app.delete<{ Params: Static<typeof OrgIatParams> }>(
    '/orgs/:org_id/initial-access-tokens/:id',
    { config: { action: 'org.iat.revoke' }, schema: { tags, params: OrgIatParams, response: { 204: { type: 'null' }, ...errors } } },
    async (request, reply) => {
      request.auditOrg = request.params.org_id;
      if (!(await rt.orgs.revokeInitialAccessToken(request.params.org_id, request.params.id))) throw new NotFound('id: no such initial access token in this organization');
      return reply.code(204).send();
    },
  );
}
