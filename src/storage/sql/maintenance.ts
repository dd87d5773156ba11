import type { Logger } from 'pino';
import type { Clock } from '../../lib/clock.js';
import type { Sql, SqlQueryable } from '../types.js';
import { SqlAuditLog } from './audit-log.js';
import { SqlRevocationLog } from './revocation-log.js';
import { SqlTokenUsage, USAGE_RETENTION_DAYS } from './token-usage.js';
import { ConsoleSessions, type SessionLimits } from '../../console/sessions.js';

/** Arbitrary constant (next to the key lock's): the advisory lock under which maintenance runs. */
const MAINTENANCE_LOCK = 746_116_003;
/** How often a node tries to run maintenance; the first run is a minute after start. */
export const MAINTENANCE_EVERY_MS = 15 * 60_000;
const FIRST_RUN_MS = 60_000;

/** One periodic clean-up; `run` gets the locked transaction and "now" (epoch ms). */
export interface MaintenanceJob {
  name: string;
  run(tx: SqlQueryable, now: number): Promise<void>;
}

/** The database clean-ups every node schedules (revocations, audit, token usage, console sessions) (one node at a time runs them). */
export function maintenanceJobs(options: { auditRetentionDays: number; consoleSessions?: SessionLimits }): MaintenanceJob[] {
  const jobs: MaintenanceJob[] = [
    // A revocation whose token (or client-wide cut-off) has expired protects nothing any more.
    { name: 'revocations', run: (tx, now) => new SqlRevocationLog(tx).prune(Math.floor(now / 1000)) },
    { name: 'audit', run: (tx, now) => new SqlAuditLog(tx).prune(now - options.auditRetentionDays * 86_400_000) },
    // The usage view shows 30 days; a day more covers the one in progress.
    { name: 'token-usage', run: (tx, now) => new SqlTokenUsage(tx).prune(now - USAGE_RETENTION_DAYS * 86_400_000) },
  ];
  const limits = options.consoleSessions;
  // Console sessions past their idle or absolute limit (each request checks them too; this frees the rows).
  if (limits) jobs.push({ name: 'console_sessions', run: (tx, now) => new ConsoleSessions(tx, { now: () => now }, limits).prune(now) });
  return jobs;
}

/**
 * Runs each job in its own transaction under a PostgreSQL advisory transaction lock, taken with
 * `pg_try_advisory_xact_lock`: a node that finds another node at work skips the job rather than
 * queueing behind it (on PGlite, one process, transactions are serialised anyway). Returns the
 * names of the jobs this call ran; a failing job throws after the others ran.
 */
export async function runMaintenance(sql: Sql, clock: Clock, jobs: readonly MaintenanceJob[]): Promise<string[]> {
  const ran: string[] = [];
  let failure: unknown = null;
  for (const job of jobs) {
    try {
      const locked = await sql.transaction(async (tx) => {
        const { rows } = await tx.query<{ locked: boolean }>('SELECT pg_try_advisory_xact_lock($1) AS locked', [MAINTENANCE_LOCK]);
        if (rows[0]?.locked !== true) return false;
        await job.run(tx, clock.now());
        return true;
      });
      if (locked) ran.push(job.name);
    } catch (err) {
      failure ??= new Error(`maintenance job ${job.name} failed: ${(err as Error).message}`, { cause: err });
    }
  }
  if (failure) throw failure;
  return ran;
}

/** Runs the maintenance jobs a minute after start and then every `everyMs`; returns the stop function. */
export function scheduleMaintenance(deps: { sql: Sql; clock: Clock; logger: Pick<Logger, 'warn'>; jobs: readonly MaintenanceJob[] }, everyMs = MAINTENANCE_EVERY_MS): () => void {
  let running = false;
  const tick = async () => {
    if (running) return;
    running = true;
    try {
      await runMaintenance(deps.sql, deps.clock, deps.jobs);
    } catch (err) {
      deps.logger.warn({ err: { message: (err as Error).message } }, 'database maintenance failed; will retry');
    } finally {
      running = false;
    }
  };
  const first = setTimeout(() => void tick(), Math.min(FIRST_RUN_MS, everyMs)).unref();
  const timer = setInterval(() => void tick(), everyMs).unref();
  return () => {
    clearTimeout(first);
    clearInterval(timer);
  };
}
