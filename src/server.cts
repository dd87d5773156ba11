// Process entry (`npm start`, `node dist/src/server.cjs`, `tokenmill serve`).
//
// Access tokens are signed on libuv's thread pool (keys/signer.ts). Its default of four threads
// oversubscribes small machines: on two cores, four signing threads and the event loop preempt one
// another and throughput drops by a fifth or more. With ES256 or EdDSA (tens of µs a signature)
// the event loop is the busier side, so the pool gets the cores left over after the event loops of
// this machine's worker processes, at least one (2 cores: 1 thread beat 2 by ~15%). An RSA
// signature costs ~0.3–0.8 ms and the pool is the bottleneck, so with SIGNING_ALG RS256 or PS256
// it gets every core of its process (2 cores: +40% RS256 tokens/s). An explicit
// UV_THREADPOOL_SIZE wins. libuv reads the variable when the pool first starts, and Node's ESM
// loader can start it before an ES module's first line runs; a CommonJS entry runs first, sets
// it, and only then loads the server.
const { availableParallelism } = require('node:os') as typeof import('node:os');

const workers = process.env.WORKERS?.trim() === 'auto' ? availableParallelism() : Math.max(1, Number.parseInt(process.env.WORKERS ?? '1', 10) || 1);
const coresPerProcess = Math.floor(availableParallelism() / workers);
const rsa = process.env.SIGNING_ALG === 'RS256' || process.env.SIGNING_ALG === 'PS256';
process.env.UV_THREADPOOL_SIZE ??= String(Math.max(1, rsa ? coresPerProcess : coresPerProcess - 1));

// Embedded mode runs PostgreSQL as WebAssembly (PGlite). V8's optimising tier for it costs ~50 MB
// of resident memory and compile time, for queries that are off the token path; the baseline
// compiler alone starts faster and runs this workload faster too (measured: 179 → 127 MB RSS,
// 500 queries 439 → 141 ms). Set before the module is compiled, and only for WebAssembly. Set at
// run time, `--liftoff-only` does not bring its implications along, and Node 24 then still tiers
// up (measured idle: 285 MB RSS, 198 MB with the two below), so they are set explicitly.
if (!process.env.DATABASE_URL) {
  const v8 = require('v8') as typeof import('node:v8');
  for (const flag of ['--liftoff-only', '--no-wasm-tier-up', '--no-wasm-dynamic-tiering']) v8.setFlagsFromString(flag);
}

import('./main.js')
  .then(({ main }: { main: () => Promise<void> }) => main())
  .catch((err: unknown) => {
    process.stderr.write(`tokenmill: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
