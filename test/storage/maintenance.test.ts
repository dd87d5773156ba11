// Issue 10 (trust boundaries): revocation rows and audit rows do not grow without bound. The
// maintenance job deletes revocations whose effect has lapsed and audit events past AUDIT_RETENTION,
// on one node at a time (PostgreSQL advisory lock).
import t from 'tap';
import { SqlAuditLog } from '../../src/storage/sql/audit-log.js';
import { maintenanceJobs, runMaintenance } from '../../src/storage/sql/maintenance.js';
import { migrate } from '../../src/storage/sql/migrate.js';
import { openPostgres } from '../../src/storage/sql/postgres.js';
import { SqlRevocationLog } from '../../src/storage/sql/revocation-log.js';
import type { Sql } from '../../src/storage/types.js';
import { backendOrSkip, pgTestDatabase, type TestContext } from '../helpers/backends.js';
import { TestClock, build } from '../helper.js';

t.setTimeout(120_000);

const NOW = 1_800_000_000; // epoch seconds
const DAY_MS = 86_400_000;
const LAPSING = 2_000;
const LIVE = 50;
const OLD_AUDIT = 1_000;
const RECENT_AUDIT = 20;

const count = async (sql: Sql, table: string): Promise<number> => Number((await sql.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`)).rows[0]?.n);

/** LAPSING revocations that lapse by NOW + 100, LIVE that do not; OLD_AUDIT events 366 days old, RECENT_AUDIT of today. */
async function fill(sql: Sql): Promise<void> {
  await sql.query(`INSERT INTO revocations (kind, jti, client_id, exp, until) SELECT 'token', 'lapsing-' || i, 'c1', $1 + i % 100, $1 + i % 100 FROM generate_series(1, $2) AS i`, [NOW, LAPSING]);
  const log = new SqlRevocationLog(sql);
  for (let i = 0; i < LIVE; i++)
    await log.append(i % 2 ? { type: 'token', jti: `live-${i}`, exp: NOW + 3600, clientId: null } : { type: 'client', clientId: `c${i}`, revokedBefore: NOW, until: NOW + 86_460 });
  await sql.query(
    `INSERT INTO audit_log (at, actor, action, target, outcome) SELECT to_timestamp($1::double precision / 1000) - make_interval(secs => i), 'unauthenticated', 'admin.authenticate', NULL, 'failure' FROM generate_series(1, $2) AS i`,
    [NOW * 1000 - 366 * DAY_MS, OLD_AUDIT],
  );
  const audit = new SqlAuditLog(sql);
  for (let i = 0; i < RECENT_AUDIT; i++) await audit.record({ at: NOW * 1000 - i * 1000, actor: 'a', action: 'client.list', target: null, outcome: 'success', requestId: null });
}

function rowBounds(t: TestContext, open: (t: TestContext) => Promise<Sql>): void {
  t.test(`${LAPSING} lapsed revocations and ${OLD_AUDIT} audit events past 365 days: after the job only the ${LIVE} live revocations and ${RECENT_AUDIT} recent events remain`, async (t) => {
    const sql = await open(t);
    await fill(sql);
    t.equal(await count(sql, 'revocations'), LAPSING + LIVE);
    t.equal(await count(sql, 'audit_log'), OLD_AUDIT + RECENT_AUDIT);
    const jobs = maintenanceJobs({ auditRetentionDays: 365 });

    const clock = new TestClock(NOW * 1000);
    t.strictSame(await runMaintenance(sql, clock, jobs), ['revocations', 'audit', 'token-usage']);
    t.equal(await count(sql, 'revocations'), LAPSING + LIVE - LAPSING / 100, 'at NOW: only the revocations lapsing at NOW (i % 100 = 0) are gone');
    clock.set((NOW + 100) * 1000);
    await runMaintenance(sql, clock, jobs);
    t.equal(await count(sql, 'revocations'), LIVE, `rows after pruning = the ${LIVE} live revocations`);
    t.equal((await new SqlRevocationLog(sql).live(NOW + 100)).length, LIVE, 'every live revocation kept');
    t.equal(await count(sql, 'audit_log'), RECENT_AUDIT, `rows after pruning = the ${RECENT_AUDIT} events within retention`);
  });
}

// PGlite: the runtime's own database (one embedded database per file keeps this fast on a loaded machine).
t.test('PGlite, through the runtime (AUDIT_RETENTION in days)', async (t) => {
  const clock = new TestClock(NOW * 1000);
  const { rt } = await build(t, { AUDIT_RETENTION: '30' }, { clock });
  t.equal(rt.config.auditRetentionDays, 30);
  await rt.audit.record({ at: NOW * 1000 - 31 * DAY_MS, actor: 'a', action: 'old', target: null, outcome: 'success', requestId: null });
  await rt.audit.record({ at: NOW * 1000 - 29 * DAY_MS, actor: 'a', action: 'kept', target: null, outcome: 'success', requestId: null });
  // Console sessions: one idle past CONSOLE_SESSION_IDLE (900 s), one past CONSOLE_SESSION_MAX (43200 s), one live.
  const at = (ms: number) => new Date(NOW * 1000 - ms);
  for (const [id, created, seen] of [
    ['idle', 1000_000, 901_000],
    ['old', 43_201_000, 10_000],
    ['live', 3_600_000, 10_000],
  ] as const) {
    await rt.sql.query('INSERT INTO console_sessions (id_hash, actor, created_at, last_seen_at) VALUES ($1, $2, $3, $4)', [Buffer.from(id), id, at(created), at(seen)]);
  }
  t.strictSame(await rt.runMaintenance(), ['revocations', 'audit', 'token-usage', 'console_sessions']);
  t.strictSame(
    (await rt.audit.list(10, null)).items.map((e) => e.action),
    ['kept'],
    'events older than 30 days are gone',
  );
  t.strictSame(
    (await rt.sql.query<{ actor: string }>('SELECT actor FROM console_sessions')).rows.map((r) => r.actor),
    ['live'],
    'console sessions past their idle or absolute limit are deleted',
  );
  await rt.sql.query('TRUNCATE revocations, audit_log');
  rowBounds(t, async () => rt.sql);
});

t.test('PostgreSQL', async (t) => {
  if (!backendOrSkip(t, 'postgres')) return;
  const url = await pgTestDatabase(t);
  const open = async (t: TestContext) => {
    const sql = await openPostgres(url);
    t.teardown(() => sql.close());
    await migrate(sql);
    await sql.query('TRUNCATE revocations, audit_log');
    return sql;
  };
  rowBounds(t, open);

  t.test('a node finding the lock held skips the jobs; the holder runs them', async (t) => {
    const a = await open(t);
    const b = await open(t);
    await fill(a);
    const clock = new TestClock((NOW + 100) * 1000);
    const jobs = maintenanceJobs({ auditRetentionDays: 365 });
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let locked!: () => void;
    const isLocked = new Promise<void>((r) => (locked = r));
    const holder = a.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock(746116003)');
      locked();
      await held;
    });
    await isLocked;
    t.strictSame(await runMaintenance(b, clock, jobs), [], 'skipped while another node holds the lock');
    t.equal(await count(b, 'revocations'), LAPSING + LIVE, 'nothing deleted');
    release();
    await holder;
    t.strictSame(await runMaintenance(b, clock, jobs), ['revocations', 'audit', 'token-usage']);
    t.equal(await count(b, 'revocations'), LIVE);
  });
});
