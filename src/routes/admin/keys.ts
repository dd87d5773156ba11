import type { FastifyInstance } from 'fastify';
import type { Static } from '@sinclair/typebox';
import { rotateKey } from '../../keys/rotation.js';
import type { Runtime } from '../../runtime.js';
import { AdminError, KeyList, KeyView, RotateKeyBody } from '../../schemas/admin.js';
import { keyView } from './views.js';

const errors = { 400: AdminError, 401: AdminError, 403: AdminError, 404: AdminError, 429: AdminError, 503: AdminError };

export function adminKeyRoutes(app: FastifyInstance, rt: Runtime): void {
  app.get('/keys', { config: { action: 'key.list' }, schema: { tags: ['keys'], response: { 200: KeyList, ...errors } } }, async () => {
    const now = rt.clock.now();
    return {
      keys: rt.keyring
        .all()
        .filter((k) => rt.keyring.stateOf(k, now) !== 'removed')
        .map((k) => keyView(k, rt.keyring, now)),
    };
  });

  app.post<{ Body: Static<typeof RotateKeyBody> }>(
    '/keys/rotate',
    { config: { action: 'key.rotate' }, schema: { tags: ['keys'], body: RotateKeyBody, response: { 201: KeyView, ...errors } } },
    async (request, reply) => {
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
    },
  );
}
