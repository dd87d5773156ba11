// Heap held by tokenmill's in-process revocation store (dist/src/storage/kv/memory-store.js,
// MemoryRevocationStore) per N revoked tokens. Run with --expose-gc. Argument: path of
// memory-store.js, N (default 100000). Prints one JSON line.
// Each revocation is what the revoke endpoint hands the store: a fresh 22-character jti string
// (16 random bytes, base64url, like tokenmill's), an exp an hour ahead (not yet prunable) and a
// client id string (a fresh string per event, as when parsed from a request).
import { randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';

const [modPath, nArg = '100000'] = process.argv.slice(2);
const N = Number(nArg);
const { MemoryRevocationStore } = await import(pathToFileURL(modPath).href);
const settle = () => {
  for (let i = 0; i < 4; i++) globalThis.gc();
};
if (typeof globalThis.gc !== 'function') throw new Error('run with --expose-gc');
const clock = { now: () => Date.now() };
const clientIdBytes = Buffer.from('tmc_UFwAqDLn2AeweTpus0e7zS');
const pool = randomBytes(16 * N);
settle();
const before = process.memoryUsage();
const store = new MemoryRevocationStore(clock);
const exp = Math.floor(Date.now() / 1000) + 3600;
for (let i = 0; i < N; i++) {
  await store.revokeToken(pool.toString('base64url', i * 16, i * 16 + 16), exp, clientIdBytes.toString('latin1'));
}
settle();
const after = process.memoryUsage();
const heap = after.heapUsed - before.heapUsed;
process.stdout.write(
  JSON.stringify({
    revoked: N,
    entries: store.size(),
    heapBytes: heap,
    bytesPerToken: heap / N,
    externalBytes: after.external - before.external,
    rssBytes: after.rss - before.rss,
  }) + '\n',
);
