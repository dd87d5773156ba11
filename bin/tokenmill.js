#!/usr/bin/env node
// The `tokenmill` command: a shim over the compiled CLI (dist/src/cli/index.js, from `npm run build`).
import { existsSync } from 'node:fs';

const entry = new URL('../dist/src/cli/index.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('tokenmill: the CLI is not built: run `npm run build` first\n');
  process.exit(1);
}
// A reader that goes away (`tokenmill clients list | head`) ends the output, not with a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
}
const { run } = await import(entry.href);
process.exitCode = await run(process.argv, process.env);
