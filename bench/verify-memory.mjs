#!/usr/bin/env node
// Measures what @tokenmill/verify holds in memory per revoked token (a measurement, not a test):
// the deny set alone, and a verifier synced from the feed of a stand-in authorization server.
// Run after `npm run build`: node bench/verify-memory.mjs [N]
import { randomUUID } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createVerifier } from '@tokenmill/verify';
import { DenySet } from '../packages/verify/dist/deny-set.js';
import { StandInAS } from '../dist/test/verify/fixtures/stand-in-as.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc');
const heap = () => {
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage().heapUsed;
};
const N = Number(process.argv[2] ?? 100_000);
/** A UUID as a flat string (randomUUID() returns a cons-string tree that V8 flattens later, skewing heap deltas). */
const flatUUID = () => JSON.parse(`"${randomUUID()}"`);
const mib = (b) => `${(b / 1024 / 1024).toFixed(2)} MiB`;
const nowSec = () => Math.floor(Date.now() / 1000);
const waitFor = async (cond, ms) => {
  const t0 = performance.now();
  while (!cond()) {
    if (performance.now() - t0 > ms) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
  return performance.now() - t0;
};

{
  const jtis = Array.from({ length: N }, flatUUID);
  const now = nowSec();
  const before = heap();
  const set = new DenySet(0);
  for (const j of jtis) set.addToken(JSON.parse(`"${j}"`), now + 2, now);
  const after = heap();
  console.log(`DenySet with ${N} UUID jtis: ${mib(after - before)} (${((after - before) / N).toFixed(0)} B per entry; ${jtis.length} kept alive)`);
}

{
  const as = await new StandInAS({ pageSize: 10_000 }).start();
  const v = createVerifier({
    issuer: as.issuer,
    audience: 'https://api.example.com',
    clockTolerance: 0,
    pruneInterval: 200,
    revocations: { clientId: as.opts.feedClientId, clientSecret: as.opts.feedClientSecret },
  });
  await v.ready();
  const exp = nowSec() + 6;
  for (let i = 0; i < N; i++) as.revokeToken(flatUUID(), exp);
  const before = heap();
  const ms = await waitFor(() => v.stats().revokedTokens === N, 10_000);
  const after = heap();
  console.log(`verifier synced ${N} revoked tokens from the feed in ${ms.toFixed(0)} ms: ${mib(after - before)} (${((after - before) / N).toFixed(0)} B per entry)`);
  const token = await as.mint();
  const t0 = performance.now();
  for (let i = 0; i < 1000; i++) await v.verify(token);
  console.log(`verify() with ${N} entries in the deny set: ${((performance.now() - t0) / 1000).toFixed(3)} ms per call`);
  await waitFor(() => v.stats().revokedTokens === 0, 15_000);
  console.log(`after exp: ${v.stats().revokedTokens} entries; heap ${mib(heap() - before)} relative to before the sync`);
  await v.close();
  await as.close();
}
