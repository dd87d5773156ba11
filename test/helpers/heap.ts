// Heap-growth assertions: what a structure retains, measured between two full collections.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
const collect = runInNewContext('gc') as () => void;

/**
 * A full collection that also lets the test runner's async-resource bookkeeping let go: tap tracks
 * each promise until its destroy hook runs, which is after the collection that freed it (on Node 24
 * a loop of 200,000 awaits otherwise still showed ~12 MB of such entries right after `gc()`).
 */
async function fullGc(): Promise<void> {
  for (let i = 0; i < 3; i++) {
    collect();
    await new Promise((resolve) => setImmediate(resolve));
  }
  collect();
}

/** Bytes of heap in use after a full collection. */
export async function heapUsedAfterGc(): Promise<number> {
  await fullGc();
  return process.memoryUsage().heapUsed;
}
