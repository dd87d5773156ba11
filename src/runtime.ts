import { join } from 'node:path';
import type { Logger } from 'pino';
import type { ClientCache } from './clients/client-cache.js';
import { ClientService } from './clients/client-service.js';
import { OrgService } from './orgs/org-service.js';
import { SqlOrgStore } from './storage/sql/org-store.js';
import type { Config } from './config/schema.js';
import { KeyEncryption, resolveKeyEncryptionKey } from './keys/key-encryption.js';
import { Keyring } from './keys/keyring.js';
import { importOperatorKeys } from './keys/import.js';
import { scheduleRotation } from './keys/rotation.js';
import { type AdminToken, resolveAdminToken } from './lib/admin-token.js';
import { secureDataDir } from './lib/data-dir.js';
import { Metrics } from './lib/metrics-registry.js';
import { systemClock, type Clock } from './lib/clock.js';
import { FailureLimiter, type FailureCounter } from './lib/failure-limiter.js';
import { RefusalAudit } from './lib/refusal-audit.js';
import type { OAuthContext } from './oauth/context.js';
import { Revocations } from './oauth/revocation.js';
import { errorFields } from './logger.js';
import { openFastStores } from './storage/kv/index.js';
import { SqlAuditLog } from './storage/sql/audit-log.js';
import { SqlClientStore } from './storage/sql/client-store.js';
import { consoleSessionLimits } from './console/limits.js';
import { SqlKeyStore } from './storage/sql/key-store.js';
import { maintenanceJobs, runMaintenance, scheduleMaintenance } from './storage/sql/maintenance.js';
import { instrumentSql } from './storage/sql/instrumented.js';
import { migrate } from './storage/sql/migrate.js';
import { openPglite } from './storage/sql/pglite.js';
import { SqlRevocationLog } from './storage/sql/revocation-log.js';
import { SqlTokenUsage, type TokenUsageStore } from './storage/sql/token-usage.js';
import { TokenQuotas } from './quota/token-quotas.js';
import { MemoryCounts, type SharedCounts } from './quota/shared-counts.js';
import { markSeeded, seedVerdict } from './storage/sql/seed-registry.js';
import { cachedClients, keyLoader, keysDependency, signingAlgEnsurer, usageBatching } from './runtime-parts.js';
import type { AuditLog, ClientStore, InvalidationBus, KeyStore, ReplayCache, Sql } from './storage/types.js';

export interface Dependency {
  name: string;
  /** throws when the dependency is not usable; a string is a note /readyz shows while ready */
  check(): Promise<string | undefined | void>;
}

/** Everything a node holds open, built once per process and shared by both listeners. */
export interface Runtime extends OAuthContext {
  config: Config;
  logger: Logger;
  sql: Sql;
  clientStore: ClientStore;
  clientCache: ClientCache;
  clientService: ClientService;
  /** organizations (docs/contract.md "Organizations"); a worker reaches the primary's */
  orgs: OrgService;
  keyStore: KeyStore;
  audit: AuditLog;
  /** unauthenticated refusals, audited as one row per source, action and minute */
  refusalAudit: RefusalAudit;
  /** the per-source failed-authentication limit (AUTH_FAILURE_*; routes/failure-limit.ts) */
  authFailures: FailureLimiter;
  /** what `authFailures` counts with (a cluster primary serves it to its workers); null when the limit is off */
  failureCounter: FailureCounter | null;
  bus: InvalidationBus;
  replay: ReplayCache;
  adminToken: AdminToken;
  /** printed once by the process entry when it was generated at this start */
  generatedAdminToken: string | null;
  /** what this node runs on, for the start-up log line */
  stores: { database: string; revocations: string };
  dependencies: Dependency[];
  /** this process's metrics (served on the admin listener's /metrics) */
  metrics: Metrics;
  /** token quotas at the token endpoint and their current windows (quota/token-quotas.ts) */
  quotas: TokenQuotas;
  /** tokens issued per client and UTC hour (SQL; a worker's primary over IPC) */
  tokenUsage: TokenUsageStore;
  /** the counts a cluster primary offers its workers: Redis when configured, else its own memory */
  quotaCounts: SharedCounts;
  /** writes the batched last-used times now (also runs every few seconds and at close) */
  flushSecretUsage(): Promise<void>;
  /** runs the database clean-ups now, if no other node is (also every 15 minutes); the names of the jobs run */
  runMaintenance(): Promise<string[]>;
  close(): Promise<void>;
}

export interface RuntimeOptions {
  logger: Logger;
  clock?: Clock;
  /** tests: PGlite in memory instead of DATA_DIR */
  inMemoryDatabase?: boolean;
  /** the metrics to record into (default: new ones, with the process defaults) */
  metrics?: Metrics;
}

async function connectPostgres(url: string, logger: Logger, schema: string): Promise<Sql> {
  try {
    // Loaded only when configured: an embedded node does not carry pg in memory.
    const { openPostgres } = await import('./storage/sql/postgres.js');
    return await openPostgres(url, logger, { schema });
  } catch (err) {
    const u = new URL(url);
    const cause = (err as Error).cause as Error | undefined;
    throw new Error(`cannot reach PostgreSQL at ${u.host}${u.pathname} (DATABASE_URL): ${cause?.message ?? (err as Error).message}`, { cause: err });
  }
}

/** Opens the stores named by the configuration, migrates, loads keys, and wires caches to invalidation. */
export async function openRuntime(config: Config, options: RuntimeOptions): Promise<Runtime> {
  const { logger } = options;
  const clock = options.clock ?? systemClock;
  const closers: (() => Promise<void>)[] = [];
  const close = async () => {
    for (const fn of closers.reverse()) await fn().catch((err: unknown) => logger.warn({ err: errorFields(err) }, 'error while closing'));
    closers.length = 0;
  };
  // A previous process of this node died before this one started (its replay markers with it).
  const startedAt = Math.floor(Math.min(clock.now(), performance.timeOrigin) / 1000);
  // DATA_DIR (0700, files 0600) holds the embedded database, the generated KEK and admin token hash.
  const usesDataDir = (!config.databaseUrl && !options.inMemoryDatabase) || !config.keyEncryptionKey || !config.adminToken;
  const tightenDataDir = (atStart: boolean) => {
    if (!usesDataDir) return;
    const report = secureDataDir(config.dataDir);
    if (atStart && report.tightened > 0) logger.warn({ dataDir: config.dataDir, paths: report.tightened }, 'DATA_DIR held files or directories readable by other users: tightened to 0600 / 0700');
    if (report.failed.length > 0) logger.warn({ dataDir: config.dataDir, failed: report.failed.slice(0, 10) }, 'DATA_DIR: could not tighten the mode of some paths');
  };
  const metrics = options.metrics ?? new Metrics();
  try {
    tightenDataDir(true);
    const schema = config.databaseSchema;
    const rawSql = config.databaseUrl ? await connectPostgres(config.databaseUrl, logger, schema) : await openPglite(options.inMemoryDatabase ? null : join(config.dataDir, 'pglite'), { schema });
    const sql = instrumentSql(rawSql, (seconds, error) => metrics.dbQuery(seconds, error));
    closers.push(async () => {
      await sql.close();
      tightenDataDir(false);
    });
    // Embedded: an earlier release's tables in public move into the schema; PostgreSQL: refused with how to move them.
    const applied = await migrate(sql, {
      schema,
      legacyTables: config.databaseUrl ? 'refuse' : 'move',
      onMoved: (tables) => logger.warn({ tables, schema }, 'moved the tables of an earlier release from schema public into DATABASE_SCHEMA'),
    });
    tightenDataDir(false);
    const audit = new SqlAuditLog(sql);
    const refusalAudit = new RefusalAudit(audit, clock, { logger });
    closers.push(() => refusalAudit.close()); // closed before the database

    const fast = await openFastStores(config, clock, logger, {
      reseed: () => new SqlRevocationLog(sql).live(Math.floor(clock.now() / 1000)),
      seedVerdict: (runId) => seedVerdict(sql, `redis-seeded:${config.redisKeyPrefix}`, runId),
      markSeeded: (runId) => markSeeded(sql, `redis-seeded:${config.redisKeyPrefix}`, runId),
      replayLostAt: applied.includes(1) ? null : startedAt,
      observeRedis: (seconds, error) => metrics.redisCommand(seconds, error),
    });
    closers.push(() => fast.close());

    const revocations = new Revocations(new SqlRevocationLog(sql), fast.revocations, clock);
    if (!config.redisUrl) await revocations.reseed();

    const kek = resolveKeyEncryptionKey(config.keyEncryptionKey, config.dataDir);
    const encryption = new KeyEncryption(kek.key);
    const keyStore = new SqlKeyStore(sql);
    const keyring = new Keyring(keyStore, encryption, clock);
    const clientStore = new SqlClientStore(sql);
    const publishLeadMs = config.jwksMaxAge * 1000;
    const imported = await importOperatorKeys(config.keysDir, keyStore, encryption, clock, publishLeadMs, (file, reason) =>
      logger.error({ file: join(config.keysDir, file), reason }, 'skipping an operator-supplied signing key that cannot be used (not stored)'),
    );
    if (imported.length) logger.info({ kids: imported, dir: config.keysDir }, 'imported operator-supplied signing keys');
    const algsInUse = async () => [...new Set([config.signingAlg, ...(await clientStore.signingAlgsInUse())])];
    const keys = keyLoader(keyring, logger);
    await keys.load();
    await keyring.ensureActiveKeys(await algsInUse());

    const clientCache = cachedClients(config, clientStore, clock, fast.bus, keys.reload);
    const clientService = new ClientService({
      store: clientStore,
      bus: fast.bus,
      revocations,
      clock,
      defaultSecretTtlMs: config.secretTtl === null ? null : config.secretTtl * 1000,
      ensureSigningAlg: signingAlgEnsurer(keyring, fast.bus),
    });
    const orgs = new OrgService({ store: new SqlOrgStore(sql), clients: clientService, bus: fast.bus, clock, defaultMaxClients: config.orgMaxClientsDefault });
    const stopRotation = scheduleRotation({
      store: keyStore,
      keyring,
      clock,
      bus: fast.bus,
      logger,
      policy: { publishLeadMs, intervalMs: config.keyRotationInterval * 1000 },
      algs: algsInUse,
    });
    closers.push(async () => stopRotation());
    // Lapsed revocations and audit events past AUDIT_RETENTION, one node at a time.
    const jobs = maintenanceJobs({ auditRetentionDays: config.auditRetentionDays, consoleSessions: consoleSessionLimits(config) });
    const stopMaintenance = scheduleMaintenance({ sql, clock, logger, jobs });
    closers.push(async () => stopMaintenance());

    const usage = usageBatching(clientStore, logger, keys.reload);
    closers.push(async () => {
      usage.stop();
      await usage.flush();
    });

    const tokenUsage = new SqlTokenUsage(sql);
    const quotas = new TokenQuotas({
      defaultQuota: config.tokenQuotaDefault,
      clock,
      logger,
      shared: fast.quotaCounts,
      usage: tokenUsage,
      onRejected: (window) => metrics.quotaRejection(window),
    });
    closers.push(() => quotas.close()); // before the database and Redis close

    metrics.attach({ keyring, replay: fast.replay, clientCache, revocations, clock, keyRotationIntervalSeconds: config.keyRotationInterval });

    const admin = resolveAdminToken(config.adminToken, config.dataDir);
    const dependencies: Dependency[] = [{ name: 'database', check: async () => void (await sql.query('SELECT 1')) }, ...fast.dependencies, keysDependency(keyring)];

    return {
      config,
      logger,
      clock,
      sql,
      clients: clientCache,
      clientStore,
      clientCache,
      clientService,
      orgs,
      keyStore,
      keyring,
      replay: fast.replay,
      revocations,
      audit,
      refusalAudit,
      authFailures: new FailureLimiter({ counter: fast.failures, broadcast: fast.blocks, logger, now: () => clock.now() }),
      failureCounter: fast.failures,
      bus: fast.bus,
      adminToken: admin.token,
      generatedAdminToken: admin.generated,
      isAdminToken: (presented) => admin.token.matches(presented),
      secretUsed: usage.secretUsed,
      clientUsed: usage.clientUsed,
      stores: { database: config.databaseUrl ? 'postgresql' : options.inMemoryDatabase ? 'pglite (in memory)' : `pglite (${join(config.dataDir, 'pglite')})`, revocations: fast.description },
      dependencies,
      metrics,
      quotas,
      quota: quotas,
      tokenUsage,
      quotaCounts: fast.quotaCounts ?? new MemoryCounts(() => clock.now()),
      flushSecretUsage: usage.flush,
      runMaintenance: () => runMaintenance(sql, clock, jobs),
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
