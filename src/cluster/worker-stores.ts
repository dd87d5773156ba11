import { ClientService } from '../clients/client-service.js';
import { KeyEncryption, resolveKeyEncryptionKey } from '../keys/key-encryption.js';
import { Metrics } from '../lib/metrics-registry.js';
import { Keyring } from '../keys/keyring.js';
import { resolveAdminToken } from '../lib/admin-token.js';
import { systemClock } from '../lib/clock.js';
import { FailureLimiter, type BlockBroadcast, type FailureCounter } from '../lib/failure-limiter.js';
import { RefusalAudit } from '../lib/refusal-audit.js';
import type { Revocations } from '../oauth/revocation.js';
import type { Dependency, Runtime, RuntimeOptions } from '../runtime.js';
import { cachedClients, keyLoader, keysDependency, signingAlgEnsurer, usageBatching } from '../runtime-parts.js';
import type { Config } from '../config/schema.js';
import type { AuditLog, ClientStore, InvalidationBus, KeyStore, ReplayCache, Sql, StoredKey } from '../storage/types.js';
import { IpcClient, type IpcPort } from './ipc-rpc.js';
import { AUDIT_METHODS, CLIENT_STORE_METHODS, ORG_METHODS, QUOTA_COUNT_METHODS, REPLAY_METHODS, REVOCATION_METHODS, USAGE_METHODS } from './ipc-methods.js';
import { TokenQuotas } from '../quota/token-quotas.js';
import type { SharedCounts } from '../quota/shared-counts.js';
import type { TokenUsageStore } from '../storage/sql/token-usage.js';
import type { OrgService } from '../orgs/org-service.js';

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
  // Failed authentications are counted by the primary, so the limit holds for the node, not per worker.
  const failureCounter: FailureCounter | null = config.authFailureLimit ? { consume: async (source) => Number(await ipc.call('failures', 'consume', [source])) } : null;
  // The primary counts, so it announces: each block its count starts goes to the other workers
  // (cluster/primary.ts), and this worker learns its own from the reply to `consume`.
  const blocks: BlockBroadcast = {
    announce: async () => {},
    onAnnounced: (handler) => ipc.onMessage((m) => void (m.tokenmill === 'block' && handler(m.source, m.ms))),
  };

  // The primary created the KEK and the admin-token hash in DATA_DIR (if not configured) before forking.
  const encryption = new KeyEncryption(resolveKeyEncryptionKey(config.keyEncryptionKey, config.dataDir).key);
  const admin = resolveAdminToken(config.adminToken, config.dataDir);
  const keyring = new Keyring(keyStore, encryption, clock);
  const keys = keyLoader(keyring, logger);
  await keys.load();

  const clientCache = cachedClients(config, clientStore, clock, bus, keys.reload);
  const clientService = new ClientService({
    store: clientStore,
    bus,
    revocations,
    clock,
    defaultSecretTtlMs: config.secretTtl === null ? null : config.secretTtl * 1000,
    ensureSigningAlg: signingAlgEnsurer(keyring, bus),
  });

  // Secret use only: client use (clientUsed) is not recorded by a worker.
  const usage = usageBatching(clientStore, logger, keys.reload);

  const dependencies: Dependency[] = [
    // The primary's own checks (database, Redis, replay window), asked when /readyz is.
    ...described.dependencies.map((name) => ({ name, check: async () => ((await ipc.call('runtime', 'check', [name])) as string | null) ?? undefined })),
    keysDependency(keyring),
  ];
  // This worker's requests, cache and keys; revocations are counted by the primary, which records them.
  const metrics = new Metrics();
  // Quota counts are batched to the primary like a fleet's to Redis (README "Quotas and rate limits").
  const tokenUsage = ipc.proxy<TokenUsageStore>('usage', USAGE_METHODS) as TokenUsageStore;
  const quotaCounts = ipc.proxy<SharedCounts>('quota', QUOTA_COUNT_METHODS) as SharedCounts;
  const quotas = new TokenQuotas({ defaultQuota: config.tokenQuotaDefault, clock, logger, shared: quotaCounts, usage: tokenUsage, onRejected: (window) => metrics.quotaRejection(window) });
  metrics.attach({ keyring, replay, clientCache, clock, keyRotationIntervalSeconds: config.keyRotationInterval });

  return {
    config,
    logger,
    clock,
    metrics,
    sql: NO_SQL,
    quotas,
    quota: quotas,
    tokenUsage,
    quotaCounts,
    clients: clientCache,
    clientStore,
    clientCache,
    clientService,
    // Organizations are managed by the primary (its clients' revocations and invalidations with them).
    orgs: ipc.proxy<OrgService>('orgs', ORG_METHODS) as unknown as OrgService,
    keyStore,
    keyring,
    replay,
    revocations,
    audit,
    refusalAudit,
    authFailures: new FailureLimiter({ counter: failureCounter, broadcast: blocks, logger, now: () => clock.now() }),
    failureCounter,
    bus,
    adminToken: admin.token,
    generatedAdminToken: null,
    isAdminToken: (presented) => admin.token.matches(presented),
    secretUsed: usage.secretUsed,
    stores: { database: `${described.stores.database}, in the primary process`, revocations: `${described.stores.revocations}, in the primary process` },
    dependencies,
    flushSecretUsage: usage.flush,
    runMaintenance: async () => (await ipc.call('runtime', 'runMaintenance', [])) as string[],
    close: async () => {
      usage.stop();
      await quotas.close().catch(() => {});
      await refusalAudit.close().catch(() => {});
      await usage.flush();
    },
  };
}
