import cluster, { type Worker } from 'node:cluster';
import { randomUUID } from 'node:crypto';
import type { Config } from '../config/schema.js';
import { armHardExit } from '../lib/hard-exit.js';
import { createLogger } from '../logger.js';
import { serveClusterMetrics } from '../lib/metrics-cluster.js';
import { openRuntime, type Runtime } from '../runtime.js';
import type { KeyStore } from '../storage/types.js';
import { AUDIT_METHODS, CLIENT_STORE_METHODS, KEY_STORE_METHODS, ORG_METHODS, QUOTA_COUNT_METHODS, REPLAY_METHODS, REVOCATION_METHODS, USAGE_METHODS } from './ipc-methods.js';
import { IpcServer } from './ipc-rpc.js';
import { onStopSignals } from '../lib/stop-signals.js';

/** Worker processes reach the primary's stores when they are not shared by the fleet (no Redis, or no PostgreSQL). */
export function primaryOwnsStores(config: Pick<Config, 'databaseUrl' | 'redisUrl'>): boolean {
  return !(config.databaseUrl && config.redisUrl);
}

/** How long a worker may hold the key lock (it generates one key pair inside; RSA takes a second or so). */
const KEY_LOCK_MAX_MS = 60_000;
/** How long after a worker died before another is started (a crash loop does not spin). */
const RESTART_DELAY_MS = 1000;

interface LockSession {
  locked: KeyStore;
  worker: number;
  end(commit: boolean): void;
}

/**
 * Exposes the runtime's stores to workers: ClientStore, KeyStore (the key lock as a session a worker
 * opens and closes, so key creation keeps its all-or-nothing transaction), Revocations, ReplayCache,
 * AuditLog, the invalidation bus, readiness checks and maintenance. The primary is single-threaded,
 * so a replay claim is atomic across workers as it is within one process.
 */
export function exposeRuntime(server: IpcServer, rt: Runtime, workers: () => Worker[]): { releaseLocksOf(worker: Worker): void } {
  server.expose('clients', rt.clientStore, CLIENT_STORE_METHODS);
  server.expose('keys', rt.keyStore, KEY_STORE_METHODS);
  server.expose('revocations', rt.revocations, REVOCATION_METHODS);
  server.expose('replay', rt.replay, REPLAY_METHODS);
  server.expose('audit', rt.audit, AUDIT_METHODS);
  server.expose('usage', rt.tokenUsage, USAGE_METHODS);
  // Workers add their quota counts here in batches (Redis when configured, else this process's memory).
  server.expose('quota', rt.quotaCounts, QUOTA_COUNT_METHODS);
  server.expose('orgs', rt.orgs, ORG_METHODS);

  const sessions = new Map<string, LockSession>();
  server.handle(
    'keys',
    'lock',
    (_args, worker) =>
      new Promise<string>((acquired, failed) => {
        const id = randomUUID();
        rt.keyStore
          .withLock(
            (locked) =>
              new Promise<void>((commit, rollback) => {
                const timer = setTimeout(() => session.end(false), KEY_LOCK_MAX_MS);
                timer.unref();
                const session: LockSession = {
                  locked,
                  worker: worker.id,
                  end(ok) {
                    clearTimeout(timer);
                    sessions.delete(id);
                    if (ok) commit();
                    else rollback(new Error('key lock released without commit'));
                  },
                };
                sessions.set(id, session);
                acquired(id);
              }),
          )
          .catch((err: unknown) => failed(err));
      }),
  );
  server.handle('keys', 'unlock', ([id, commit]) => void sessions.get(String(id))?.end(commit === true));
  for (const method of KEY_STORE_METHODS) {
    server.handle('keys.locked', method, ([id, ...args]) => {
      const s = sessions.get(String(id));
      if (!s) throw new Error('the key lock was released (held too long, or its worker died)');
      return (s.locked[method] as (...a: unknown[]) => unknown).apply(s.locked, args);
    });
  }

  server.handle('bus', 'publish', ([channel, id]) => {
    if (channel !== 'clients' && channel !== 'keys') throw new Error('unknown invalidation channel');
    return rt.bus.publish(channel, String(id));
  });
  // Every invalidation, whichever process caused it, reaches every worker.
  rt.bus.subscribe((channel, id) => {
    // Through each worker's queue: after the replies read before this change (see cluster/ipc-rpc.ts).
    for (const w of workers()) server.send(w, { tokenmill: 'bus', channel, id });
  });

  // WORKERS > 1 without a shared Redis: failed authentications are counted here, for every worker
  // at once. Each worker keeps its own map of blocked sources (lib/failure-limiter.ts), so a block
  // is sent to the other workers in the same turn as the reply to the worker whose failure started
  // it: they have it queued before that failure is answered. That worker learns it from the reply
  // (and logs the start of the block: a block it had heard of first would not be logged anywhere).
  server.handle('failures', 'consume', async ([source], from) => {
    if (!rt.failureCounter) return 0;
    const key = String(source);
    const ms = await rt.failureCounter.consume(key);
    if (ms > 0) for (const w of workers()) if (w !== from) server.send(w, { tokenmill: 'block', source: key, ms });
    return ms;
  });

  server.handle('runtime', 'describe', () => ({ stores: rt.stores, dependencies: rt.dependencies.map((d) => d.name).filter((n) => n !== 'keys') }));
  server.handle('runtime', 'check', async ([name]) => {
    const dep = rt.dependencies.find((d) => d.name === name);
    if (!dep) throw new Error('no such dependency');
    return (await dep.check()) ?? null;
  });
  server.handle('runtime', 'runMaintenance', () => rt.runMaintenance());

  return {
    releaseLocksOf(worker) {
      for (const s of [...sessions.values()]) if (s.worker === worker.id) s.end(false);
    },
  };
}

export interface PrimaryOptions {
  /** prints the generated admin token once */
  banner(token: string): void;
}

/**
 * WORKERS > 1 where the stores belong to one process (the embedded default, or PostgreSQL without
 * Redis): this process opens the runtime (migrations, keys, rotation, maintenance, revocations and
 * replay markers), serves no HTTP, forks the workers that do, and answers their store calls over
 * IPC. A worker that dies is replaced; workers exit when this process does (node:cluster exits a
 * worker whose IPC channel closes). Stop signals (lib/stop-signals.ts) are passed on; once every
 * worker has drained, the runtime closes and the process exits 0 (1 if a worker did not exit
 * cleanly).
 */
export async function runStorePrimary(config: Config, options: PrimaryOptions): Promise<void> {
  const logger = createLogger(config.logLevel);
  let rt: Runtime;
  try {
    rt = await openRuntime(config, { logger });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    logger.fatal({ err: { message, code: (err as { code?: string }).code } }, 'start-up failed');
    process.stderr.write(`tokenmill: cannot start: ${message}\n`);
    process.exit(1);
  }
  logger.info(
    { database: rt.stores.database, revocations: rt.stores.revocations, issuer: config.issuer, env: config.nodeEnv, workers: config.workers },
    'stores in use (primary process; workers reach them over IPC)',
  );
  if (!config.redisUrl) logger.warn("embedded mode: revocations and client-assertion replay markers are held by this node's primary process; run one node, or set REDIS_URL for a fleet");
  if (rt.generatedAdminToken) options.banner(rt.generatedAdminToken);

  const server = new IpcServer();
  const live = () => Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
  const locks = exposeRuntime(server, rt, live);
  let stopping: NodeJS.Signals | null = null;
  let unclean = false;
  const fork = () => {
    if (stopping) return;
    server.attach(cluster.fork());
  };
  serveClusterMetrics(); // /metrics on any worker answers for all of them
  for (let i = 0; i < config.workers; i++) fork();

  const finish = async () => {
    await rt.close();
    logger.info('stopped');
    await new Promise<void>((resolve) => {
      logger.flush(() => resolve());
      setTimeout(resolve, 1000).unref();
    });
    process.exit(unclean ? 1 : 0);
  };
  cluster.on('exit', (worker, code, signal) => {
    locks.releaseLocksOf(worker);
    if (stopping) {
      // Killed by the very signal passed on: it was still starting (no handler yet), with nothing to drain.
      if (code !== 0 && signal !== stopping) unclean = true;
      if (live().length === 0) void finish();
      return;
    }
    logger.error({ worker: worker.process.pid, code, signal }, 'worker died; starting another');
    setTimeout(fork, RESTART_DELAY_MS).unref();
  });
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = signal;
    const deadline = (config.shutdownDelay + config.shutdownTimeout + 5) * 1000;
    armHardExit(deadline + 3000);
    setTimeout(() => {
      logger.error('workers did not stop in time');
      process.exit(1);
    }, deadline).unref();
    logger.info({ signal, workers: config.workers }, 'stopping workers');
    const workers = live();
    for (const w of workers) w.process.kill(signal);
    if (workers.length === 0) void finish();
  };
  onStopSignals(stop);
}
