import { ClientCache } from '../clients/client-cache.js';
import { ClientService } from '../clients/client-service.js';
import { KeyEncryption, resolveKeyEncryptionKey } from '../keys/key-encryption.js';
import { Metrics } from '../lib/metrics-registry.js';
import { Keyring } from '../keys/keyring.js';
import { resolveAdminToken } from '../lib/admin-token.js';
import { systemClock } from '../lib/clock.js';
import { RefusalAudit } from '../lib/refusal-audit.js';
import { errorFields } from '../logger.js';
import type { Revocations } from '../oauth/revocation.js';
import type { Dependency, Runtime, RuntimeOptions } from '../runtime.js';
import type { Config } from '../config/schema.js';
import type { AuditLog, ClientStore, InvalidationBus, KeyStore, ReplayCache, Sql, StoredKey } from '../storage/types.js';
import { IpcClient, type IpcPort } from './ipc-rpc.js';
import { AUDIT_METHODS, CLIENT_STORE_METHODS, REPLAY_METHODS, REVOCATION_METHODS } from './ipc-methods.js';

const LAST_USED_FLUSH_MS = 5_000;
const KEY_RELOAD_MS = 60_000;

/** The key store of the primary; `withLock` opens a lock session there and runs `fn` against it. */
class IpcKeyStore implements KeyStore {
  private readonly ipc: IpcClient;
  private readonly lockId: string | null;
  constructor(ipc: IpcClient, lockId: string | null = null) {
    this.ipc = ipc;
    this.lockId = lockId;
  }
  private call(method: string, args: unknown[]): Promise<unknown> {
    return this.lockId === null ? this.ipc.call('keys', method, args) : this.ipc.call('keys.locked', method, [this.lockId, ...args]);
  }
  async list(): Promise<StoredKey[]> {
    return (await this.call('list', [])) as StoredKey[];
  }
  async insert(key: StoredKey): Promise<void> {
    await this.call('insert', [key]);
  }
  async setRetirement(kid: string, retiresAt: number, removeAt: number): Promise<void> {
    await this.call('setRetirement', [kid, retiresAt, removeAt]);
  }
  async delete(kid: string): Promise<void> {
    await this.call('delete', [kid]);
  }
  async withLock<T>(fn: (store: KeyStore) => Promise<T>): Promise<T> {
    if (this.lockId !== null) throw new Error('key lock is not re-entrant');
    const id = (await this.ipc.call('keys', 'lock', [])) as string;
    let ok = false;
    try {
      const result = await fn(new IpcKeyStore(this.ipc, id));
      ok = true;
      return result;
    } finally {
      // Committed only when `fn` succeeded, as the transaction of a local lock would be.
      await this.ipc.call('keys', 'unlock', [id, ok]).catch(() => {});
    }
  }
}

/** Invalidation through the primary: publishing asks it to publish; its broadcasts reach every worker. */
class IpcInvalidationBus implements InvalidationBus {
  private readonly ipc: IpcClient;
  private readonly handlers: ((channel: 'clients' | 'keys', id: string) => void)[] = [];
  constructor(ipc: IpcClient) {
    this.ipc = ipc;
    ipc.onMessage((m) => {
      if (m.tokenmill === 'bus') for (const h of this.handlers) h(m.channel, m.id);
    });
  }
  async publish(channel: 'clients' | 'keys', id: string): Promise<void> {
    // The primary sends its broadcast before its reply, so this worker has applied it on return.
    await this.ipc.call('bus', 'publish', [channel, id]);
  }
  subscribe(handler: (channel: 'clients' | 'keys', id: string) => void): void {
    this.handlers.push(handler);
  }
  async close(): Promise<void> {}
}

const noDatabase = (): Promise<never> => Promise.reject(new Error('a worker process has no database connection; its stores are those of the primary process'));
/** A worker holds no database: its stores are IPC proxies (see cluster/primary.ts). */
const NO_SQL: Sql = { query: noDatabase, transaction: noDatabase, close: async () => {} };

/**
 * The runtime of a worker process whose primary owns the stores (cluster/primary.ts): no database
 * connection, no migrations, rotation or maintenance jobs. Client records and signing keys are held
 * here (loaded through the primary, dropped on its invalidation broadcasts), so a request
 * authenticated by a client secret makes no IPC round trip; replay claims, revocations, audit
 * events and every write go to the primary.
 */
export async function openWorkerRuntime(config: Config, options: RuntimeOptions, port: IpcPort = process): Promise<Runtime> {
  const { logger } = options;
  const clock = options.clock ?? systemClock;
  const ipc = new IpcClient(port);
  if (port === process) process.once('disconnect', () => ipc.failAll());

  const described = (await ipc.call('runtime', 'describe', [])) as { stores: Runtime['stores']; dependencies: string[] };
  const clientStore = ipc.proxy<ClientStore>('clients', CLIENT_STORE_METHODS) as ClientStore;
  const keyStore = new IpcKeyStore(ipc);
  const audit = ipc.proxy<AuditLog>('audit', AUDIT_METHODS) as AuditLog;
  audit.prune = () => Promise.reject(new Error('audit retention runs in the primary process'));
  const replay: ReplayCache = { ...ipc.proxy<ReplayCache>('replay', REPLAY_METHODS), close: async () => {} };
  // Every revocation is written (log, then store) in one call to the primary.
  const revocations = ipc.proxy<Revocations>('revocations', REVOCATION_METHODS) as unknown as Revocations;
  const bus = new IpcInvalidationBus(ipc);
  const refusalAudit = new RefusalAudit(audit, clock, { logger });

  // The primary created the KEK and the admin-token hash in DATA_DIR (if not configured) before forking.
  const encryption = new KeyEncryption(resolveKeyEncryptionKey(config.keyEncryptionKey, config.dataDir).key);
  const admin = resolveAdminToken(config.adminToken, config.dataDir);
  const keyring = new Keyring(keyStore, encryption, clock);
  let reportedFailures = '';
  const loadKeys = async () => {
    await keyring.load();
    const failures = keyring.failures();
    const summary = failures.map((f) => f.kid).join(',');
    if (summary && summary !== reportedFailures) for (const f of failures) logger.error({ kid: f.kid, reason: f.error }, 'a stored signing key cannot be loaded; skipping it');
    reportedFailures = summary;
  };
  await loadKeys();

  const clientCache = new ClientCache(clientStore, clock, { ttlMs: config.clientCacheTtl * 1000, negativeTtlMs: 2_000, staleIfErrorMs: 300_000 });
  bus.subscribe((channel, id) => {
    if (channel === 'clients') clientCache.invalidate(id);
    else loadKeys().catch((err: unknown) => logger.warn({ err: errorFields(err) }, 'reloading signing keys failed'));
  });
  const clientService = new ClientService({
    store: clientStore,
    bus,
    revocations,
    clock,
    defaultSecretTtlMs: config.secretTtl === null ? null : config.secretTtl * 1000,
    ensureSigningAlg: async (alg) => {
      if (keyring.signingKey(alg)) return;
      await keyring.ensureActiveKeys([alg]);
      await bus.publish('keys', '*');
    },
  });

  let lastUsed = new Map<string, number>();
  const flushLastUsed = async () => {
    if (lastUsed.size === 0) return;
    const batch = lastUsed;
    lastUsed = new Map();
    await clientStore.touchSecrets(batch).catch((err: unknown) => logger.warn({ err: { message: (err as Error).message } }, 'recording secret last use failed'));
  };
  const flushTimer = setInterval(() => void flushLastUsed(), LAST_USED_FLUSH_MS).unref();
  const keyTimer = setInterval(() => void loadKeys().catch((err: unknown) => logger.warn({ err: errorFields(err) }, 'reloading signing keys failed')), KEY_RELOAD_MS).unref();

  const dependencies: Dependency[] = [
    // The primary's own checks (database, Redis, replay window), asked when /readyz is.
    ...described.dependencies.map((name) => ({ name, check: async () => ((await ipc.call('runtime', 'check', [name])) as string | null) ?? undefined })),
    {
      name: 'keys',
      check: async () => {
        const failures = keyring.failures();
        return failures.length ? `signing keys that cannot be loaded (skipped): ${failures.map((f) => f.kid).join(', ')}` : undefined;
      },
    },
  ];
  // This worker's requests, cache and keys; revocations are counted by the primary, which records them.
  const metrics = new Metrics();
  metrics.attach({ keyring, replay, clientCache, clock, keyRotationIntervalSeconds: config.keyRotationInterval });

  return {
    config,
    logger,
    clock,
    metrics,
    sql: NO_SQL,
    clients: clientCache,
    clientStore,
    clientCache,
    clientService,
    keyStore,
    keyring,
    replay,
    revocations,
    audit,
    refusalAudit,
    bus,
    adminToken: admin.token,
    generatedAdminToken: null,
    isAdminToken: (presented) => admin.token.matches(presented),
    secretUsed: (secretId, at) => void lastUsed.set(secretId, at),
    stores: { database: `${described.stores.database}, in the primary process`, revocations: `${described.stores.revocations}, in the primary process` },
    dependencies,
    flushSecretUsage: flushLastUsed,
    runMaintenance: async () => (await ipc.call('runtime', 'runMaintenance', [])) as string[],
    close: async () => {
      clearInterval(flushTimer);
      clearInterval(keyTimer);
      await refusalAudit.close().catch(() => {});
      await flushLastUsed();
    },
  };
}
