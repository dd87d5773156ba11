import cluster from 'node:cluster';
import closeWithGrace from 'close-with-grace';
import { buildApp } from './app.js';
import { ConfigError, loadConfig } from './config/load.js';
import type { Config } from './config/schema.js';
import { resolveAdminToken } from './lib/admin-token.js';
import { armHardExit } from './lib/hard-exit.js';
import { withServerFlags } from './lib/node-flags.js';
import { serveClusterMetrics } from './lib/metrics-cluster.js';
import { createLogger, errorFields } from './logger.js';
import { openRuntime } from './runtime.js';
import { primaryOwnsStores, runStorePrimary } from './cluster/primary.js';
import { openWorkerRuntime } from './cluster/worker-stores.js';
import { onStopSignals } from './lib/stop-signals.js';

/** How long after the graceful deadline the watchdog kills a process whose main thread is stuck. */
const HARD_EXIT_MARGIN_MS = 3000;

function printAdminTokenBanner(config: Config, token: string): void {
  process.stdout.write(
    `\n  tokenmill generated an admin token (shown once; only its hash is kept in ${config.dataDir}):\n\n    ${token}\n\n` +
      `  Register a client with it:\n    curl -s ${config.issuer}/oauth2/register -H 'Authorization: Bearer ${token}' \\\n      -H 'Content-Type: application/json' -d '{"client_name":"demo","scope":"api:read"}'\n\n`,
  );
}

/** One process serving both listeners: stores, apps, graceful shutdown on SIGTERM/SIGINT. */
async function serve(config: Config, open = openRuntime): Promise<void> {
  const logger = createLogger(config.logLevel);
  let rt;
  try {
    rt = await open(config, { logger });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    logger.fatal({ err: { message, code: (err as { code?: string }).code } }, 'start-up failed');
    process.stderr.write(`tokenmill: cannot start: ${message}\n`);
    process.exit(1);
  }
  logger.info({ database: rt.stores.database, revocations: rt.stores.revocations, issuer: config.issuer, env: config.nodeEnv }, 'stores in use');
  if (!config.redisUrl && !cluster.isWorker) logger.warn('embedded mode: revocations and client-assertion replay markers are per-process; run one node, or set REDIS_URL for a fleet');
  if (rt.generatedAdminToken) printAdminTokenBanner(config, rt.generatedAdminToken);

  // A stop signal while the apps are being built (before the handler below exists) would kill the
  // process by default, and a cluster primary would count that worker's stop as unclean: note it,
  // and stop cleanly as soon as there is something to close.
  let stopAsked: NodeJS.Signals | null = null;
  const askStop = (signal: NodeJS.Signals) => {
    stopAsked ??= signal;
  };
  const stopAskingEarly = onStopSignals(askStop);
  const apps = await buildApp(rt);
  // SHUTDOWN_TIMEOUT is the drain's, after the delay; past both the process exits 1.
  const deadline = (config.shutdownDelay + config.shutdownTimeout) * 1000;
  const close = closeWithGrace({ delay: deadline }, async ({ signal, err }) => {
    // close-with-grace's deadline is a timer on this thread; the watchdog fires even if it is blocked.
    armHardExit(deadline + HARD_EXIT_MARGIN_MS);
    if (err) logger.error({ err: errorFields(err) }, 'closing after an error');
    apps.state.shuttingDown = true;
    if (signal && config.shutdownDelay > 0) {
      // threat model §3.7: readiness false first, so the load balancer stops routing before the listeners close.
      logger.info({ signal, delay: config.shutdownDelay }, 'shutting down: not ready; serving until the delay ends');
      await new Promise((resolve) => setTimeout(resolve, config.shutdownDelay * 1000));
    }
    logger.info({ signal }, 'shutting down: draining in-flight requests');
    apps.state.closing = true;
    await Promise.all([apps.public.close(), apps.admin?.close()]);
    await rt.close();
    logger.info('stopped');
    // Let the last lines reach stdout (a broken stdout answers at once; what is left is written at exit).
    await new Promise<void>((resolve) => {
      logger.flush(() => resolve());
      setTimeout(resolve, 1000).unref();
    });
  });
  stopAskingEarly();
  if (stopAsked) {
    logger.info({ signal: stopAsked }, 'stop asked for while starting: stopping without listening');
    close.close();
    return;
  }
  try {
    const publicAddress = await apps.public.listen({ port: config.port, host: config.host });
    const adminAddress = apps.admin ? await apps.admin.listen({ port: config.adminPort, host: config.adminHost }) : publicAddress;
    logger.info({ public: publicAddress, admin: adminAddress }, 'listening');
  } catch (err) {
    logger.fatal({ err: errorFields(err) }, 'cannot listen');
    close.close();
    process.exitCode = 1;
  }
}

/**
 * WORKERS > 1: the primary forks that many workers sharing the listeners (node:cluster), restarts
 * one that dies, and on a stop signal (lib/stop-signals.ts) passes it on and exits once all have
 * drained.
 */
function supervise(config: Config): void {
  const logger = createLogger(config.logLevel);
  const admin = resolveAdminToken(config.adminToken, config.dataDir);
  if (admin.generated) printAdminTokenBanner(config, admin.generated);
  let stopping = false;
  const fork = () => cluster.fork();
  serveClusterMetrics();
  for (let i = 0; i < config.workers; i++) fork();
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
      return;
    }
    logger.error({ worker: worker.process.pid, code, signal }, 'worker died; starting another');
    setTimeout(fork, 1000).unref();
  });
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, workers: config.workers }, 'stopping workers');
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill(signal);
    setTimeout(() => process.exit(1), (config.shutdownDelay + config.shutdownTimeout + 5) * 1000).unref();
  };
  onStopSignals(stop);
}

/** Process entry: configuration (a bad value stops here with a message naming it), then serve. */
export async function main(env: Record<string, string | undefined> = process.env): Promise<void> {
  let config: Config;
  try {
    config = loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`tokenmill: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  // Stores shared by the fleet (PostgreSQL + Redis): every worker opens its own. Otherwise they belong
  // to the primary process, and workers reach them over IPC (cluster/primary.ts).
  const shared = !primaryOwnsStores(config);
  if (config.workers > 1 && cluster.isPrimary) {
    // Workers run with the young generation's cap even when the primary was started without it.
    cluster.setupPrimary({ execArgv: withServerFlags(process.execArgv) });
    if (shared) supervise(config);
    else await runStorePrimary(config, { banner: (token) => printAdminTokenBanner(config, token) });
  } else await serve(config, cluster.isWorker && !shared ? openWorkerRuntime : openRuntime);
}
