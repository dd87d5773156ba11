import type { FastifyInstance } from 'fastify';
import { withTimeout } from '../lib/wait.js';
import type { Runtime } from '../runtime.js';

const CHECK_TIMEOUT_MS = 1000;

/** GET /healthz (the process is alive) and GET /readyz (each dependency answers), on both listeners. */
export function healthRoutes(app: FastifyInstance, rt: Runtime, state: { shuttingDown: boolean }): void {
  app.get('/healthz', async (_request, reply) => reply.header('cache-control', 'no-store').send({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const checks: Record<string, string> = {};
    const notes: Record<string, string> = {};
    await Promise.all(
      rt.dependencies.map(async (d) => {
        try {
          const note = await withTimeout(d.check(), CHECK_TIMEOUT_MS, () => new Error('timeout'));
          checks[d.name] = 'ok';
          if (typeof note === 'string') notes[d.name] = note;
        } catch {
          checks[d.name] = 'unavailable';
        }
      }),
    );
    checks.signing_key = rt.keyring.signingKey(rt.config.signingAlg) ? 'ok' : 'missing';
    const ready = !state.shuttingDown && Object.values(checks).every((v) => v === 'ok');
    return reply
      .code(ready ? 200 : 503)
      .header('cache-control', 'no-store')
      .send({ status: ready ? 'ready' : state.shuttingDown ? 'shutting_down' : 'unavailable', checks, ...(Object.keys(notes).length ? { notes } : {}) });
  });
}
