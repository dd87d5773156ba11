import type { FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import { adminAuth } from './auth.js';
import { limitAuthFailures } from '../failure-limit.js';
import type { Runtime } from '../../runtime.js';
import { adminClientRoutes } from './clients.js';
import { adminAuditRoutes } from './audit.js';
import { docsRoutes, swaggerOptions } from './openapi.js';
import { adminKeyRoutes } from './keys.js';
import { adminTokenRoutes } from './tokens.js';
import { adminUsageRoutes } from './usage.js';
import { adminOrgRoutes } from './orgs.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** audit target for routes whose target is not in the URL (e.g. a created client) */
    auditTarget: string | null;
  }
}

/**
 * The admin API under /admin/v1 (contract "Admin"): JSON in and out, authenticated and audited on
 * every call; its OpenAPI document, generated from the route schemas, at /admin/v1/openapi.json.
 */
export async function adminRoutes(app: FastifyInstance, rt: Runtime): Promise<void> {
  await app.register(swagger, swaggerOptions(rt));
  // Swagger UI: the page is public (it holds no data); the document it loads needs the admin token.
  docsRoutes(app);
  await app.register(
    async (admin) => {
      admin.decorateRequest('auditTarget', null);
      // Registered first: a source past AUTH_FAILURE_MAX gets 429 before its bearer token is looked at.
      limitAuthFailures(admin, rt, () => 'admin');
      adminAuth(admin, rt);
      admin.get('/openapi.json', { config: { action: 'openapi.read' }, schema: { tags: ['meta'], response: { 200: { type: 'object', additionalProperties: true } } } }, async () => app.swagger());
      adminClientRoutes(admin, rt);
      adminTokenRoutes(admin, rt);
      adminKeyRoutes(admin, rt);
      adminAuditRoutes(admin, rt);
      adminUsageRoutes(admin, rt);
      adminOrgRoutes(admin, rt);
    },
    { prefix: '/admin/v1' },
  );
}
