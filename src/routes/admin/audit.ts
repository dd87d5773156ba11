import type { FastifyInstance } from 'fastify';
import type { Static } from '@sinclair/typebox';
import { InvalidRequest } from '../../errors/oauth-errors.js';
import type { Runtime } from '../../runtime.js';
import { AdminError, AuditListQuery, AuditPage } from '../../schemas/admin.js';
import { auditView } from './views.js';

const errors = { 400: AdminError, 401: AdminError, 403: AdminError, 404: AdminError, 429: AdminError, 503: AdminError };

export function adminAuditRoutes(app: FastifyInstance, rt: Runtime): void {
  app.get<{ Querystring: Static<typeof AuditListQuery> }>(
    '/audit',
    { config: { action: 'audit.list', orgAdmin: true }, schema: { tags: ['audit'], querystring: AuditListQuery, response: { 200: AuditPage, ...errors } } },
    async (request) => {
      const { cursor = null, actor, action, target, since } = request.query;
      if (cursor !== null && !/^\d{1,18}$/.test(cursor)) throw new InvalidRequest('cursor: is not a cursor this server issued');
      const sinceMs = since === undefined ? undefined : Date.parse(since);
      if (sinceMs !== undefined && (!/^\d{4}-\d{2}-\d{2}T/.test(since ?? '') || !Number.isFinite(sinceMs))) throw new InvalidRequest('since: must be an RFC 3339 date-time, e.g. 2026-01-31T12:00:00Z');
      const page = await rt.audit.list(request.query.limit ?? 50, cursor, { actor, action, target, since: sinceMs, ...(request.adminOrg !== null ? { orgId: request.adminOrg } : {}) });
      return { items: page.items.map(auditView), next_cursor: page.nextCursor };
    },
  );
}
