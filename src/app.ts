import { randomBytes } from 'node:crypto';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import formbody from '@fastify/formbody';
import { createErrorHandler } from './errors/error-handler.js';
import { NotFound } from './errors/oauth-errors.js';
import { Metrics } from './plugins/metrics.js';
import { requestLog } from './plugins/request-log.js';
import { adminRoutes } from './routes/admin/index.js';
import { healthRoutes } from './routes/health.js';
import { noStore } from './routes/http.js';
import { introspectRoutes } from './routes/introspect.js';
import { jwksRoutes } from './routes/jwks.js';
import { metadataRoutes } from './routes/metadata.js';
import { registerRoutes } from './routes/register.js';
import { revocationFeedRoutes } from './routes/revocations.js';
import { revokeRoutes } from './routes/revoke.js';
import { tokenRoutes } from './routes/token.js';
import type { Runtime } from './runtime.js';

export interface Apps {
  /** token, JWKS, metadata, introspection, revocation, registration (and admin when ADMIN_PORT = PORT) */
  public: FastifyInstance;
  /** admin API, console and metrics; null when it shares the public listener */
  admin: FastifyInstance | null;
  /** flips readiness to false at the start of a graceful shutdown */
  state: { shuttingDown: boolean };
}

function baseInstance(rt: Runtime): FastifyInstance {
  const app = Fastify({
    loggerInstance: rt.logger,
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: () => randomBytes(8).toString('hex'),
    requestIdHeader: false,
    trustProxy: rt.config.trustProxy,
    bodyLimit: rt.config.bodyLimit,
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    return503OnClosing: true,
    connectionTimeout: 30_000,
    requestTimeout: 15_000,
    keepAliveTimeout: 72_000,
    routerOptions: { maxParamLength: 300 },
  }) as unknown as FastifyInstance;
  app.setErrorHandler(createErrorHandler(rt.config.issuer));
  app.setNotFoundHandler(async () => {
    throw new NotFound();
  });
  requestLog(app);
  return app;
}

function publicRoutes(app: FastifyInstance, rt: Runtime): void {
  // Everything that carries credentials or tokens: form bodies, no caching (RFC 6749 §5.1, C2).
  app.register(async (oauth) => {
    await oauth.register(formbody, { bodyLimit: rt.config.bodyLimit });
    noStore(oauth);
    tokenRoutes(oauth, rt);
    introspectRoutes(oauth, rt);
    revokeRoutes(oauth, rt);
    revocationFeedRoutes(oauth, rt);
    registerRoutes(oauth, rt);
  });
  jwksRoutes(app, rt);
  metadataRoutes(app, rt);
}

/** Builds the listeners' Fastify instances with an explicit route table; `listen` is the caller's. */
export async function buildApp(rt: Runtime): Promise<Apps> {
  const state = { shuttingDown: false };
  const metrics = new Metrics();
  const pub = baseInstance(rt);
  metrics.observe(pub);
  publicRoutes(pub, rt);
  healthRoutes(pub, rt, state);
  let admin: FastifyInstance | null = null;
  if (rt.config.adminPort !== rt.config.port) {
    admin = baseInstance(rt);
    metrics.observe(admin);
    healthRoutes(admin, rt, state);
  }
  metrics.serve(admin ?? pub);
  await adminRoutes(admin ?? pub, rt);
  await pub.ready();
  if (admin) await admin.ready();
  return { public: pub, admin, state };
}
