import t from 'tap';
import { openPglite } from '../../src/storage/sql/pglite.js';
import { migrate } from '../../src/storage/sql/migrate.js';
import { markSeeded, seedVerdict } from '../../src/storage/sql/seed-registry.js';

const FIRST = { first: true, sameRunSeededMsAgo: null };
const LOSS = { first: false, sameRunSeededMsAgo: null };

t.test('a fast store is new on its first seeding (and for nodes seeding the same new Redis), lost after a restart', async (t) => {
  const sql = await openPglite(null);
  t.teardown(() => sql.close());
  await migrate(sql);
  t.strictSame(await seedVerdict(sql, 'redis-seeded:a:', 'run-1'), FIRST, 'the first seeding of a prefix');
  t.strictSame(await seedVerdict(sql, 'redis-seeded:a:', 'run-1'), FIRST, 'another node seeding the same new Redis run');
  t.strictSame(await seedVerdict(sql, 'redis-seeded:a:', 'run-2'), LOSS, 'Redis restarted (another run) and came back unseeded: a loss');
  t.strictSame(await seedVerdict(sql, 'redis-seeded:a:', 'run-2'), LOSS, 'another node of the restarted run hears a loss too (not a first seeding)');
  await markSeeded(sql, 'redis-seeded:a:', 'run-2');
  t.strictSame(await seedVerdict(sql, 'redis-seeded:a:', null), LOSS, 'no run id: a known store counts as a loss');
  t.strictSame(await seedVerdict(sql, 'redis-seeded:b:', null), FIRST, 'another prefix is its own store');
  t.strictSame(await seedVerdict(sql, 'redis-seeded:b:', null), LOSS, 'no run id: a second node cannot tell a new store from a lost one');
});

t.test('once a run has been seeded, an unseeded store of the same run lost its data (FLUSHALL, eviction, DEL)', async (t) => {
  const sql = await openPglite(null);
  t.teardown(() => sql.close());
  await migrate(sql);
  t.strictSame(await seedVerdict(sql, 'redis-seeded:c:', 'run-1'), FIRST, 'first seeding');
  t.strictSame(await seedVerdict(sql, 'redis-seeded:c:', 'run-1'), FIRST, 'another node, same seeding under way');
  await markSeeded(sql, 'redis-seeded:c:', 'run-1');
  const lost = await seedVerdict(sql, 'redis-seeded:c:', 'run-1');
  t.equal(lost.first, false, 'the same run unseeded again: a loss');
  t.ok(lost.sameRunSeededMsAgo !== null && lost.sameRunSeededMsAgo >= 0 && lost.sameRunSeededMsAgo < 5000, 'with how long ago the seeding was recorded', { lost });
  t.strictSame(await seedVerdict(sql, 'redis-seeded:c:', 'run-1'), LOSS, 'a second node of the same run hears a loss too, never a first seeding');
  await markSeeded(sql, 'redis-seeded:c:', 'run-1');
  t.strictSame(await seedVerdict(sql, 'redis-seeded:c:', 'run-2'), LOSS, 'a restart after a seeding: a loss, with no age (another run)');
});

t.test('the age of a seeding is read from the database clock', async (t) => {
  const sql = await openPglite(null);
  t.teardown(() => sql.close());
  await migrate(sql);
  await markSeeded(sql, 'redis-seeded:d:', 'run-1');
  await sql.query("UPDATE settings SET updated_at = now() - interval '30 seconds' WHERE name = $1", ['redis-seeded:d:']);
  const v = await seedVerdict(sql, 'redis-seeded:d:', 'run-1');
  t.equal(v.first, false);
  t.ok(v.sameRunSeededMsAgo !== null && v.sameRunSeededMsAgo >= 29_000 && v.sameRunSeededMsAgo < 40_000, 'about 30 s', { v });
});
