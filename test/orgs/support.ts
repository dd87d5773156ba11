import type { FastifyInstance } from 'fastify';
import { admin } from '../admin/support.js';

/** Creates an organization as the super admin (POST /admin/v1/orgs); returns its view. */
export async function createOrgView(api: FastifyInstance, body: Record<string, unknown>): Promise<Record<string, unknown>> {
  const res = await admin(api, 'POST', '/admin/v1/orgs', body);
  if (res.statusCode !== 201) throw new Error(`org create failed: ${res.statusCode} ${res.body}`);
  return res.json() as Record<string, unknown>;
}

/** Creates an organization as the super admin; returns its org_id. */
export const createOrg = async (api: FastifyInstance, body: Record<string, unknown>): Promise<string> => String((await createOrgView(api, body)).org_id);
