import t from 'tap';
import { openPglite } from '../../src/storage/sql/pglite.js';
import { migrate } from '../../src/storage/sql/migrate.js';
import { isFirstSeed, markSeeded } from '../../src/storage/sql/seed-registry.js';

t.test('a fast store is new on its first seeding (and for nodes seeding the same new Redis), lost after a restart', async (t) => {
  const sql = await openPglite(null);
  t.teardown(() => sql.close());
  await migrate(sql);
  t.equal(await isFirstSeed(sql, 'redis-seeded:a:', 'run-1'), true, 'the first seeding of a prefix');
  t.equal(await isFirstSeed(sql, 'redis-seeded:a:', 'run-1'), true, 'another node seeding the same new Redis run');
  t.equal(await isFirstSeed(sql, 'redis-seeded:a:', 'run-2'), false, 'Redis restarted (another run) and came back unseeded: a loss');
  t.equal(await isFirstSeed(sql, 'redis-seeded:a:', 'run-2'), true, 'the restarted run is now the recorded one');
  t.equal(await isFirstSeed(sql, 'redis-seeded:a:', null), false, 'no run id: a known store counts as a loss');
  t.equal(await isFirstSeed(sql, 'redis-seeded:b:', null), true, 'another prefix is its own store');
});

t.test('once a run has been seeded, an unseeded store of the same run lost its data (FLUSHALL, eviction, DEL)', async (t) => {
  const sql = await openPglite(null);
  t.teardown(() => sql.close());
  await migrate(sql);
  t.equal(await isFirstSeed(sql, 'redis-seeded:c:', 'run-1'), true, 'first seeding');
  t.equal(await isFirstSeed(sql, 'redis-seeded:c:', 'run-1'), true, 'another node, same seeding under way');
  await markSeeded(sql, 'redis-seeded:c:', 'run-1');
  t.equal(await isFirstSeed(sql, 'redis-seeded:c:', 'run-1'), false, 'the same run unseeded again: a loss');
  t.equal(await isFirstSeed(sql, 'redis-seeded:c:', 'run-1'), true, 'recorded again: the nodes re-seeding it together');
  await markSeeded(sql, 'redis-seeded:c:', 'run-1');
  t.equal(await isFirstSeed(sql, 'redis-seeded:c:', 'run-2'), false, 'a restart after a seeding: a loss');
});
