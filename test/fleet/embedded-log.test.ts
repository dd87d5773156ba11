// A node with neither DATABASE_URL nor REDIS_URL says what it runs on: one "stores in use" line
// (embedded PGlite in DATA_DIR, in-process revocations) and a warning that embedded revocations
// and replay markers are per-process, so nobody puts two such nodes behind a load balancer.
import t from 'tap';
import { join } from 'node:path';
import { fleetSecrets, startNode } from './support.js';

t.setTimeout(120_000);

t.test('embedded mode names its stores and warns that revocations are per-process', async (t) => {
  const node = await startNode(t, { name: 'embedded', env: { ...fleetSecrets(), LOG_LEVEL: 'info' } });
  const lines = node.jsonLines();

  const stores = lines.filter((l) => l.msg === 'stores in use');
  t.equal(stores.length, 1, 'exactly one "stores in use" line');
  const line = stores[0] ?? {};
  t.match(String(line.database), /^pglite\b/, `database: ${String(line.database)}`);
  t.ok(String(line.database).includes(join(node.dataDir, 'pglite')), 'names the embedded database directory under DATA_DIR');
  t.match(String(line.revocations), /^in-process\b/, `revocations: ${String(line.revocations)}`);
  t.equal(line.issuer, node.url, 'with the issuer');

  const warnings = lines.filter((l) => l.level === 40 && /per-process/.test(String(l.msg)));
  t.equal(warnings.length, 1, 'one warning that embedded revocations are per-process');
  t.match(String(warnings[0]?.msg), /REDIS_URL/, 'pointing at REDIS_URL for a fleet');

  t.same(await node.stop(), { code: 0, signal: null }, 'SIGTERM: exit 0');
});
