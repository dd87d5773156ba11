import Fastify, { LogController, type FastifyInstance } from 'fastify';
import formbody from '@fastify/formbody';
import { Ajv } from 'ajv';
import { createErrorHandler } from './errors/error-handler.js';
import { NotFound, TemporarilyUnavailable } from './errors/oauth-errors.js';
import { observeMetrics, serveMetrics } from './plugins/metrics.js';
import { requestLog } from './plugins/request-log.js';
import { adminRoutes } from './routes/admin/index.js';
import { limitAuthFailures, oauthEndpoint } from './routes/failure-limit.js';
import { adminApi } from './console/backend.js';
import { consoleRoutes } from './console/routes.js';
import { healthRoutes } from './routes/health.js';
import { noStore } from './routes/http.js';
import { introspectRoutes } from './routes/introspect.js';
import { jwksRoutes } from './routes/jwks.js';
import { metadataRoutes } from './routes/metadata.js';
import { registerRoutes } from './routes/registration.js';
import { revocationFeedRoutes } from './routes/revocation-feed.js';
import { revokeRoutes } from './routes/revoke.js';
import { tokenRoutes } from './routes/token.js';
import type { Runtime } from './runtime.js';

export interface Apps {
  /** token, JWKS, metadata, introspection, revocation, registration (and admin when ADMIN_PORT = PORT) */
  public: FastifyInstance;
  /** admin API, console and metrics; null when it shares the public listener */
  admin: FastifyInstance | null;
  state: ShutdownState;
}

/** A graceful shutdown in two steps: not ready (still serving), then closing. */
export interface ShutdownState {
  /** /readyz answers 503, so load balancers stop routing here; requests are still served */
  shuttingDown: boolean;
  /** the listeners are closing: a request on a kept-alive connection gets 503 and Connection: close */
  closing: boolean;
}

let requestCounter = 0;
const requestIdPrefix = `${process.pid.toString(36)}${Date.now().toString(36)}-`;
const nextRequestId = (): string => requestIdPrefix + (++requestCounter).toString(36);

/**
 * JSON bodies are validated as sent: no type coercion (null stays null, "5" is not 5) and unknown
 * fields are an error, never silently dropped. Query strings and path parameters are text, so
 * they are coerced to the schema's types.
 */
const bodyValidator = new Ajv({ coerceTypes: false, removeAdditional: false, useDefaults: true, strict: false });
const textValidator = new Ajv({ coerceTypes: 'array', removeAdditional: false, useDefaults: true, strict: false });

export function baseInstance(rt: Runtime, state: ShutdownState): FastifyInstance {
  const app = Fastify({
    loggerInstance: rt.logger,
    logController: new LogController({ disableRequestLogging: true }),
    // Request ids correlate log lines; they need to be unique, not secret.
    genReqId: nextRequestId,
    requestIdHeader: false,
    trustProxy: rt.config.trustProxy,
    // TLS_CERT_FILE / TLS_KEY_FILE: both listeners serve HTTPS themselves (contract: no plain HTTP in production unless behind a trusted proxy).
    ...(rt.config.tls ? { https: { cert: rt.config.tls.cert, key: rt.config.tls.key } } : {}),
    bodyLimit: rt.config.bodyLimit,
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    // Requests arriving on kept-alive connections during shutdown get our 503 (see the onRequest hook).
    return503OnClosing: false,
    // Malformed URLs and similar faults Fastify detects before routing: rendered by our error handler.
    frameworkErrors: (error, request, reply) => {
      void createErrorHandler(rt.config.issuer)(error, request, reply);
    },
    connectionTimeout: 30_000,
    requestTimeout: 15_000,
    keepAliveTimeout: 72_000,
    routerOptions: { maxParamLength: 300 },
  }) as unknown as FastifyInstance;
  // threat model §3.7: once the listeners close, a request on a kept-alive connection gets a 503 it can
  // retry elsewhere, with our headers, and the connection is closed.
  // Callback style: no promise per request on the hot path.
  app.addHook('onRequest', (_request, reply, done) => {
    if (!state.closing) return done();
    reply.header('connection', 'close');
    done(new TemporarilyUnavailable('the server is shutting down; retry', 1));
  });
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? bodyValidator : textValidator).compile(schema));
  app.setErrorHandler(createErrorHandler(rt.config.issuer));
  app.setNotFoundHandler(async () => {
    throw new NotFound();
  });
  requestLog(app, { tokenSuccessSample: rt.config.logTokenSample });
  return app;
}

function publicRoutes(app: FastifyInstance, rt: Runtime): void {
  // Everything that carries credentials or tokens: form bodies, no caching (RFC 6749 §5.1, C2).
  app.register(async (oauth) => {
    await oauth.register(formbody, { bodyLimit: rt.config.bodyLimit });
    noStore(oauth);
    // Before any route's own hooks: a source past AUTH_FAILURE_MAX is refused before its credentials are read.
    limitAuthFailures(oauth, rt, oauthEndpoint);
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
  const state: ShutdownState = { shuttingDown: false, closing: false };
  const pub = baseInstance(rt, state);
  observeMetrics(pub, rt.metrics);
  publicRoutes(pub, rt);
  healthRoutes(pub, rt, state);
  let admin: FastifyInstance | null = null;
  if (rt.config.adminPort !== rt.config.port) {
    admin = baseInstance(rt, state);
    observeMetrics(admin, rt.metrics);
    healthRoutes(admin, rt, state);
  }
  serveMetrics(admin ?? pub, rt.metrics);
  await adminRoutes(admin ?? pub, rt);
  // The web console drives the admin API's handlers on an instance of their own that never listens.
  await consoleRoutes(admin ?? pub, rt, await adminApi(baseInstance(rt, state), rt));
  await pub.ready();
  if (admin) await admin.ready();
  return { public: pub, admin, state };
}
