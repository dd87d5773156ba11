import closeWithGrace from 'close-with-grace';
import { buildApp } from './app.js';
import { ConfigError, loadConfig } from './config/load.js';
import { createLogger } from './logger.js';
import { openRuntime } from './runtime.js';

/** Process entry: configuration, logger, stores, listeners, graceful shutdown on SIGTERM/SIGINT. */
export async function main(env: Record<string, string | undefined> = process.env): Promise<void> {
  let config;
  try {
    config = loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`tokenmill: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger(config.logLevel);
  let rt;
  try {
    rt = await openRuntime(config, { logger });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    logger.fatal({ err: { message, code: (err as { code?: string }).code } }, 'start-up failed');
    process.stderr.write(`tokenmill: cannot start: ${message}\n`);
    process.exit(1);
  }
  logger.info({ database: rt.stores.database, revocations: rt.stores.revocations, issuer: config.issuer, env: config.nodeEnv }, 'stores in use');
  if (!config.redisUrl) logger.warn('embedded mode: revocations and client-assertion replay markers are per-process; run one node, or set REDIS_URL for a fleet');
  if (rt.generatedAdminToken) {
    process.stdout.write(
      `\n  tokenmill generated an admin token (shown once; only its hash is kept in ${config.dataDir}):\n\n    ${rt.generatedAdminToken}\n\n` +
        `  Register a client with it:\n    curl -s ${config.issuer}/oauth2/register -H 'Authorization: Bearer ${rt.generatedAdminToken}' \\\n      -H 'Content-Type: application/json' -d '{"client_name":"demo","scope":"api:read"}'\n\n`,
    );
  }

  const apps = await buildApp(rt);
  const close = closeWithGrace({ delay: config.shutdownTimeout * 1000 }, async ({ signal, err }) => {
    if (err) logger.error({ err }, 'closing after an error');
    logger.info({ signal }, 'shutting down: draining in-flight requests');
    apps.state.shuttingDown = true;
    await Promise.all([apps.public.close(), apps.admin?.close()]);
    await rt.close();
    logger.info('stopped');
  });
  try {
    const publicAddress = await apps.public.listen({ port: config.port, host: config.host });
    const adminAddress = apps.admin ? await apps.admin.listen({ port: config.adminPort, host: config.host }) : publicAddress;
    logger.info({ public: publicAddress, admin: adminAddress }, 'listening');
  } catch (err) {
    logger.fatal({ err }, 'cannot listen');
    close.close();
    process.exitCode = 1;
  }
}

await main();
