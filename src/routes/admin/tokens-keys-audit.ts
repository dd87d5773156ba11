import type { FastifyInstance } from 'fastify';
import type { Static } from '@sinclair/typebox';
import { InvalidRequest } from '../../errors/oauth-errors.js';
import { rotateKey } from '../../keys/rotation.js';
import { epochSeconds } from '../../lib/clock.js';
import { verifyOwnAccessToken } from '../../oauth/access-token.js';
import { MAX_REVOCATION_AHEAD } from '../../oauth/revocation.js';
import type { Runtime } from '../../runtime.js';
import { AdminError, AuditListQuery, AuditPage, KeyList, KeyView, RevokeTokenBody, RevokedToken, RotateKeyBody } from '../../schemas/admin.js';
import { auditView, keyView } from './views.js';

const errors = { 400: AdminError, 401: AdminError, 403: AdminError, 404: AdminError, 503: AdminError };

export function adminTokenRoutes(app: FastifyInstance, rt: Runtime): void {
  app.post<{ Body: Static<typeof RevokeTokenBody> }>('/tokens/revoke', { config: { action: 'token.revoke' }, schema: { tags: ['tokens'], body: RevokeTokenBody, response: { 200: RevokedToken, ...errors } } }, async (request) => {
    const body = request.body;
    let jti: string;
    let exp: number;
    let clientId: string | null = null;
    if ('token' in body) {
      const claims = await verifyOwnAccessToken(body.token, rt, { allowExpired: true });
      if (!claims) throw new InvalidRequest('token: is not an access token issued by this server');
      ({ jti, exp } = claims);
      clientId = claims.client_id;
    } else {
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
  });
}

export function adminKeyRoutes(app: FastifyInstance, rt: Runtime): void {
  app.get('/keys', { config: { action: 'key.list' }, schema: { tags: ['keys'], response: { 200: KeyList, ...errors } } }, async () => {
    const now = rt.clock.now();
    return { keys: rt.keyring.all().filter((k) => rt.keyring.stateOf(k, now) !== 'removed').map((k) => keyView(k, rt.keyring, now)) };
  });

  app.post<{ Body: Static<typeof RotateKeyBody> }>('/keys/rotate', { config: { action: 'key.rotate' }, schema: { tags: ['keys'], body: RotateKeyBody, response: { 201: KeyView, ...errors } } }, async (request, reply) => {
    const body = request.body ?? {};
    const alg = body.alg ?? rt.config.signingAlg;
    const activateIn = (body.activate_in ?? rt.config.jwksMaxAge) * 1000;
    const created = await rotateKey(rt.keyStore, rt.keyring, rt.clock, alg, activateIn);
    await rt.keyring.load();
    await rt.bus.publish('keys', '*');
    request.auditTarget = `kid:${created.kid}`;
    const key = rt.keyring.all().find((k) => k.kid === created.kid);
    if (!key) throw new Error('rotated key did not load');
    return reply.code(201).send(keyView(key, rt.keyring, rt.clock.now()));
  });
}

export function adminAuditRoutes(app: FastifyInstance, rt: Runtime): void {
  app.get<{ Querystring: Static<typeof AuditListQuery> }>('/audit', { config: { action: 'audit.list' }, schema: { tags: ['audit'], querystring: AuditListQuery, response: { 200: AuditPage, ...errors } } }, async (request) => {
    const { cursor = null, actor, action, target, since } = request.query;
    if (cursor !== null && !/^\d{1,18}$/.test(cursor)) throw new InvalidRequest('cursor: is not a cursor this server issued');
    const sinceMs = since === undefined ? undefined : Date.parse(since);
    if (sinceMs !== undefined && (!/^\d{4}-\d{2}-\d{2}T/.test(since ?? '') || !Number.isFinite(sinceMs))) throw new InvalidRequest('since: must be an RFC 3339 date-time, e.g. 2026-01-31T12:00:00Z');
    const page = await rt.audit.list(request.query.limit ?? 50, cursor, { actor, action, target, since: sinceMs });
    return { items: page.items.map(auditView), next_cursor: page.nextCursor };
  });
}
