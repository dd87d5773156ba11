import t from 'tap';
import { openPglite } from '../../src/storage/sql/pglite.js';
import { migrate } from '../../src/storage/sql/migrate.js';
import { isFirstSeed } from '../../src/storage/sql/seed-registry.js';

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
