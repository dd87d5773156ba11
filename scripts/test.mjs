#!/usr/bin/env node
// Runs the compiled test suite with tap and ends with one line "N passed, M failed[, K skipped]".
// `npm test` compiles first (pretest). Backends: TEST_DATABASE_URL and TEST_REDIS_URL select the
// PostgreSQL and Redis suites; without them those suites are skipped and listed here. With CI=true a
// skipped backend suite fails the run (the suites themselves turn a missing URL into a failure).
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
const tapBin = join(dirname(require.resolve('tap/package.json')), 'dist/esm/run.mjs');
const args = process.argv.slice(2);
/** Every compiled `*.test.js` under dist/test (helpers, fixtures and contract suites are not test files). */
function testFiles(dir) {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? testFiles(join(dir, e.name)) : e.name.endsWith('.test.js') ? [join(dir, e.name)] : []))
    .sort();
}
const files = args.length ? args : testFiles('dist/test');

if (!process.env.TEST_DATABASE_URL) console.log('# TEST_DATABASE_URL unset: PostgreSQL suites are skipped (embedded PGlite suites run)');
if (!process.env.TEST_REDIS_URL) console.log('# TEST_REDIS_URL unset: Redis suites are skipped (in-process store suites run)');

// tap compiles its plugin set once per install (we drop its TypeScript loader: we run tsc output).
// A marker records the plugin list it was built for, so concurrent runs do not rebuild it under each other.
const plugins = JSON.stringify(JSON.parse(readFileSync('package.json', 'utf8')).tap?.plugin ?? []);
const marker = join('node_modules', '.cache', 'tokenmill-tap-plugins.json');
const builtDir = join(dirname(require.resolve('@tapjs/test/package.json')), 'test-built');
if (!existsSync(marker) || readFileSync(marker, 'utf8') !== plugins || !existsSync(builtDir)) {
  const build = spawnSync(process.execPath, [tapBin, 'build'], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (build.status !== 0) {
    console.log('0 passed, 1 failed');
    process.exit(1);
  }
  mkdirSync(dirname(marker), { recursive: true });
  writeFileSync(marker, plugins);
}
// Streamed through as it comes (a CI log shows progress), and kept for the summary.
const child = spawn(process.execPath, [tapBin, '--reporter=tap', '--jobs=2', ...files], { stdio: ['ignore', 'pipe', 'inherit'] });
let output = '';
child.stdout.setEncoding('utf8');
child.stdout.on('data', (chunk) => {
  output += chunk;
  process.stdout.write(chunk);
});
const status = await new Promise((resolve) => child.on('close', (code) => resolve(code ?? 1)));
const summaries = [...output.matchAll(/^# \{ (.*) \}$/gm)];
const last = summaries[summaries.length - 1]?.[1] ?? '';
const count = (k) => Number(new RegExp(`${k}: (\\d+)`).exec(last)?.[1] ?? 0);
// tap counts assertions; report failing test files too, so a crashed file cannot hide.
const fileFails = [...output.matchAll(/^not ok \d+ - (\S+)/gm)].map((m) => m[1]);
if (fileFails.length) console.log(`# failing files: ${fileFails.join(' ')}`);
const failed = count('fail') + (status !== 0 && count('fail') === 0 ? 1 : 0);
const skipped = count('skip');
console.log(`${count('pass')} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
// exitCode, not exit(): exit() would drop output still queued for a piped stdout.
process.exitCode = status === 0 && failed === 0 ? 0 : 1;
