import type { FastifyInstance } from 'fastify';
import type { Static } from '@sinclair/typebox';
import { InsufficientScope, InvalidRequest, NotFound } from '../../errors/oauth-errors.js';
import { ADMIN_SCOPE } from './auth.js';
import { epochSeconds } from '../../lib/clock.js';
import { verifyOwnAccessToken } from '../../oauth/access-token.js';
import { MAX_REVOCATION_AHEAD } from '../../oauth/revocation.js';
import type { Runtime } from '../../runtime.js';
import { AdminError, RevokeTokenBody, RevokedToken } from '../../schemas/admin.js';

const errors = { 400: AdminError, 401: AdminError, 403: AdminError, 404: AdminError, 429: AdminError, 503: AdminError };

export function adminTokenRoutes(app: FastifyInstance, rt: Runtime): void {
  app.post<{ Body: Static<typeof RevokeTokenBody> }>(
    '/tokens/revoke',
    { config: { action: 'token.revoke', orgAdmin: true }, schema: { tags: ['tokens'], body: RevokeTokenBody, response: { 200: RevokedToken, ...errors } } },
    async (request) => {
      const body = request.body;
      let jti: string;
      let exp: number;
      let clientId: string | null;
      if ('token' in body) {
        const claims = await verifyOwnAccessToken(body.token, rt, { allowExpired: true });
        if (!claims) throw new InvalidRequest('token: is not an access token issued by this server');
        // An organization admin revokes its organization's tokens only; another's is not there for it.
        if (request.adminOrg !== null) {
          const owner = await rt.clientService.get(claims.client_id);
          if (!owner || owner.orgId !== request.adminOrg) throw new NotFound('token: no such token');
        }
        ({ jti, exp } = claims);
        clientId = claims.client_id;
      } else {
        // By jti the owner cannot be checked: the super admin's call.
        if (request.adminOrg !== null) throw new InsufficientScope(ADMIN_SCOPE);
        ({ jti, exp } = body);
        clientId = body.client_id ?? null;
        // A revocation lives until exp: a far one would be permanent (and beyond bigint, a 500).
        if (!Number.isSafeInteger(exp) || exp > epochSeconds(rt.clock) + MAX_REVOCATION_AHEAD) {
          throw new InvalidRequest(`exp: must be at most ${MAX_REVOCATION_AHEAD} seconds from now (the longest token lifetime plus clock skew)`);
        }
      }
      request.auditTarget = `jti:${jti}`;
      const live = exp > epochSeconds(rt.clock);
      if (live) await rt.revocations.revokeToken(jti, exp, clientId);
      return { jti, exp, revoked: live };
    },
  );
}
