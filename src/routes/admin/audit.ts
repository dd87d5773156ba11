import type { FastifyInstance } from 'fastify';
import type { Static } from '@sinclair/typebox';
import { InvalidRequest } from '../../errors/oauth-errors.js';
import type { Runtime } from '../../runtime.js';
import { AdminError, AuditPage, PageQuery } from '../../schemas/admin.js';
import { auditView } from './views.js';

const errors = { 400: AdminError, 401: AdminError, 403: AdminError, 404: AdminError, 503: AdminError };

export function adminAuditRoutes(app: FastifyInstance, rt: Runtime): void {
  app.get<{ Querystring: Static<typeof PageQuery> }>('/audit', { config: { action: 'audit.list' }, schema: { tags: ['audit'], querystring: PageQuery, response: { 200: AuditPage, ...errors } } }, async (request) => {
    const cursor = request.query.cursor ?? null;
    if (cursor !== null && !/^\d{1,18}$/.test(cursor)) throw new InvalidRequest('cursor: is not a cursor this server issued');
    const page = await rt.audit.list(request.query.limit ?? 50, cursor);
    return { items: page.items.map(auditView), next_cursor: page.nextCursor };
  });
}
