import type { Logger } from 'pino';
import { ClientCache } from './clients/client-cache.js';
import type { Config } from './config/schema.js';
import type { Keyring } from './keys/keyring.js';
import type { Clock } from './lib/clock.js';
import { errorFields } from './logger.js';
import type { Dependency } from './runtime.js';
import type { ClientStore, InvalidationBus } from './storage/types.js';

// The pieces of wiring that openRuntime (runtime.ts) and a cluster worker (cluster/worker-stores.ts) share.

const LAST_USED_FLUSH_MS = 5_000;
const KEY_RELOAD_MS = 60_000;

/**
 * Loads the keyring; a stored key that fails to load is logged and skipped (the others keep
 * signing), never fatal. The same failures are logged once, not at every reload.
 */
export function keyLoader(keyring: Keyring, logger: Logger): { load(): Promise<void>; reload(): Promise<void> } {
  let reportedFailures = '';
  const load = async () => {
    await keyring.load();
    const failures = keyring.failures();
    const summary = failures.map((f) => f.kid).join(',');
    if (summary && summary !== reportedFailures) for (const f of failures) logger.error({ kid: f.kid, reason: f.error }, 'a stored signing key cannot be loaded; skipping it');
    reportedFailures = summary;
  };
  /** `load`, a failure logged instead of thrown (the keys loaded before keep serving) */
  const reload = () => load().catch((err: unknown) => logger.warn({ err: errorFields(err) }, 'reloading signing keys failed'));
  return { load, reload };
}

/** The client cache, dropped entry by entry on the bus's client invalidations; key invalidations reload the keys. */
export function cachedClients(config: Config, store: ClientStore, clock: Clock, bus: InvalidationBus, reloadKeys: () => Promise<void>): ClientCache {
  const clientCache = new ClientCache(store, clock, { ttlMs: config.clientCacheTtl * 1000, negativeTtlMs: 2_000, staleIfErrorMs: 300_000 });
  bus.subscribe((channel, id) => {
    if (channel === 'clients') clientCache.invalidate(id);
    else void reloadKeys();
  });
  return clientCache;
}

/** ClientService's ensureSigningAlg: a client may ask for an algorithm no key serves yet: create it now, never on the token path. */
export function signingAlgEnsurer(keyring: Keyring, bus: InvalidationBus): (alg: string) => Promise<void> {
  return async (alg) => {
    if (keyring.signingKey(alg)) return;
    await keyring.ensureActiveKeys([alg]);
    await bus.publish('keys', '*');
  };
}

/**
 * last_used_at without a database write per token request: batched, written every few seconds
 * (and by `flush`), with the keys reloaded every minute. `stop` ends both timers (a last `flush` is the caller's).
 */
export function usageBatching(
  store: ClientStore,
  logger: Logger,
  reloadKeys: () => Promise<void>,
): { secretUsed(secretId: string, at: number): void; clientUsed(clientId: string, at: number): void; flush(): Promise<void>; stop(): void } {
  let secretsUsed = new Map<string, number>();
  let clientsUsed = new Map<string, number>();
  const flush = async () => {
    if (clientsUsed.size > 0) {
      const clientBatch = clientsUsed;
      clientsUsed = new Map();
      await store.touchClients(clientBatch).catch((err: unknown) => logger.warn({ err: { message: (err as Error).message } }, 'recording client last use failed'));
    }
    if (secretsUsed.size === 0) return;
    const batch = secretsUsed;
    secretsUsed = new Map();
    await store.touchSecrets(batch).catch((err: unknown) => logger.warn({ err: { message: (err as Error).message } }, 'recording secret last use failed'));
  };
  const flushTimer = setInterval(() => void flush(), LAST_USED_FLUSH_MS).unref();
  const keyTimer = setInterval(() => void reloadKeys(), KEY_RELOAD_MS).unref();
  return {
    secretUsed: (secretId, at) => void secretsUsed.set(secretId, at),
    clientUsed: (clientId, at) => void clientsUsed.set(clientId, at),
    flush,
    stop: () => {
      clearInterval(flushTimer);
      clearInterval(keyTimer);
    },
  };
}

/** /readyz: ready (the other keys sign), but a key that cannot be loaded is named. */
export function keysDependency(keyring: Keyring): Dependency {
  return {
    name: 'keys',
    check: async () => {
      const failures = keyring.failures();
      return failures.length ? `signing keys that cannot be loaded (skipped): ${failures.map((f) => f.kid).join(', ')}` : undefined;
    },
  };
}
