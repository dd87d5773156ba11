import t from 'tap';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

// bench/ is plain JavaScript outside the compiled tree: loaded by path from dist/test/bench.
const MODULE = pathToFileURL(join(dirname(fileURLToPath(import.meta.url)), '../../../bench/lib/perf-profile.mjs')).href;

interface Sample {
  tid: number;
  frames: string[];
}
interface Attribution {
  eventLoop: Map<string, number>;
  otherThreads: Map<string, number>;
  eventLoopTiers: Map<string, number>;
  samples: number;
}
interface PerfProfile {
  parsePerfScript(text: string): Sample[];
  categorize(frames: string[]): string;
  leafTier(frames: string[]): string | null;
  attribute(samples: Sample[], pid: number): Attribution;
  microsecondsTable(profiles: { label: string; counts: Map<string, number>; hz: number; tokens: number }[]): string;
}
const { parsePerfScript, categorize, leafTier, attribute, microsecondsTable } = (await import(MODULE)) as PerfProfile;

// The shape of `perf script -F tid,ip,sym`: a thread id, then a tab-indented address and symbol per
// frame (leaf first; symbols may hold spaces), then a blank line.
const SCRIPT = [
  '  4242 ',
  '\tffffffff81e7a132 sock_def_readable',
  '\tffffffff8207e955 __tcp_push_pending_frames',
  '\t           fde9d __GI___writev',
  '\t         1c0ffee non-virtual thunk to node::LibuvStreamWrap::DoTryWrite(uv_buf_t**, unsigned long*)',
  '\t    7f1a2b3c4d5e JS:*clearBuffer node:internal/streams/writable:744:21',
  '\t    7f1a2b3c4d5f JS:*mintAccessToken file:///srv/tokenmill/dist/src/oauth/access-token.js:9:38',
  '',
  '  4242 ',
  '\t    7f1a2b3c0001 v8::internal::Scavenger::ScavengeObject<v8::internal::FullHeapObjectSlot>',
  '\t    7f1a2b3c0002 JS:*write /srv/tokenmill/node_modules/pino/lib/proto.js:200:15',
  '\t    7f1a2b3c0003 JS:* file:///srv/tokenmill/dist/src/plugins/request-log.js:26:31',
  '',
  '  4243 ',
  '\t          a1b2c3 ecp_nistz256_ord_sqr_montx',
  '\t          a1b2c4 EVP_DigestSignFinal',
  '\t          a1b2c5 node::crypto::CryptoJob<node::crypto::SignTraits>::DoThreadPoolWork()',
  '\t          a1b2c6 worker',
  '',
  '  4243 ',
  '\tffffffff81000001 pvm_irq_enable',
  '\tffffffff81000002 schedule',
  '',
].join('\n');

t.test('parsePerfScript reads each sample: its thread and its frames, leaf first, symbols with their spaces', async (t) => {
  const samples = parsePerfScript(SCRIPT);
  t.equal(samples.length, 4);
  t.same(
    samples.map((s) => s.tid),
    [4242, 4242, 4243, 4243],
  );
  t.equal(samples[0]?.frames.length, 6);
  t.equal(samples[0]?.frames[0], 'sock_def_readable');
  t.equal(samples[0]?.frames[3], 'non-virtual thunk to node::LibuvStreamWrap::DoTryWrite(uv_buf_t**, unsigned long*)');
  t.equal(samples[3]?.frames[1], 'schedule');
  t.same(parsePerfScript(''), [], 'no samples in an empty script');
  t.equal(parsePerfScript('  77 \n\tffff leaf').length, 1, 'the last sample counts without a trailing blank line');
});

t.test('categorize: the first frame from the leaf that names a category decides', async (t) => {
  const [write, gcInLog, signature, idle] = parsePerfScript(SCRIPT);
  t.equal(categorize(write!.frames), 'response write (writev, loopback TCP)', 'kernel time of the socket write is the response write, not the token code below it');
  t.equal(categorize(gcInLog!.frames), 'GC', 'a scavenge counts as GC wherever it ran');
  t.equal(categorize(gcInLog!.frames.slice(1)), 'request log line (pino, log destination)');
  t.equal(categorize(signature!.frames), 'signature work on the pool (OpenSSL)');
  t.equal(categorize(idle!.frames), 'kernel, elsewhere', 'kernel frames that name nothing');
  t.equal(categorize(['ecp_nistz256_ord_sqr_montx']), 'OpenSSL assembly, chain not unwound (the signature; hashes)', 'a chain perf could not unwind past OpenSSL goes by its leaf');
  t.equal(categorize(['_int_free', '[unknown]']), 'malloc, chain not unwound');
  t.equal(categorize(['__futex_abstimed_wait_common', 'pthread_cond_wait@@GLIBC_2.3.2', 'worker', 'start_thread']), 'libuv pool: queueing work, locks, waking threads');
  t.equal(categorize(['Builtins_LoadIC', 'JS:*resolveScopes file:///x/dist/src/oauth/scope.js:3:1']), 'grant: parameters, scope, audience, quota');
  t.equal(categorize(['Builtins_LoadIC', 'JS:*handler file:///x/bench/ceiling.mjs:20:1']), 'other', 'nothing named: other');
  t.equal(
    categorize(['JS:*signOneShot node:internal/crypto/sig:157:20', 'node::crypto::CryptoJob<node::crypto::SignTraits>::AfterThreadPoolWork(int)']),
    'handing the signature to the pool',
    'a signature started from a pool callback (the assertion check) is a hand-off',
  );
  t.equal(categorize(['Builtins_ResumeGeneratorTrampoline', 'node::crypto::CryptoJob<node::crypto::SignTraits>::AfterThreadPoolWork(int)']), 'resuming after the pool (promises, microtasks)');
});

t.test('attribute splits the event loop (thread id = process id) from the other threads', async (t) => {
  const a = attribute(parsePerfScript(SCRIPT), 4242);
  t.equal(a.samples, 4);
  t.same(Object.fromEntries(a.eventLoop), { 'response write (writev, loopback TCP)': 1, GC: 1 });
  t.same(Object.fromEntries(a.otherThreads), { 'signature work on the pool (OpenSSL)': 1, 'kernel, elsewhere': 1 });
  t.same(Object.fromEntries(a.eventLoopTiers), {}, 'no event-loop sample has its leaf in JIT code');
  const jit = attribute(
    [
      { tid: 7, frames: ['JS:*mintAccessToken file:///x/dist/src/oauth/access-token.js:9:38'] },
      { tid: 7, frames: ['JS:+readParams file:///x/dist/src/oauth/params.js:47:27'] },
      { tid: 8, frames: ['JS:*elsewhere file:///x/y.js:1:1'] },
    ],
    7,
  );
  t.same(Object.fromEntries(jit.eventLoopTiers), { TurboFan: 1, Maglev: 1 }, 'JIT tiers are counted for the event loop only');
});

t.test("leafTier reads V8's marker in the leaf frame", async (t) => {
  t.equal(leafTier(['JS:*f file:///a.js:1:1', 'JS:^g file:///a.js:2:1']), 'TurboFan');
  t.equal(leafTier(['JS:+f file:///a.js:1:1']), 'Maglev');
  t.equal(leafTier(['JS:^f file:///a.js:1:1']), 'Sparkplug');
  t.equal(leafTier(['Builtins_InterpreterEntryTrampoline', 'JS:*g file:///a.js:2:1']), 'interpreter');
  t.equal(leafTier(['Builtins_LoadIC', 'JS:*g file:///a.js:2:1']), null, 'a builtin leaf is not JIT code');
  t.equal(leafTier([]), null);
});

t.test('microsecondsTable gives µs a token per category, largest first by the first column, and the total', async (t) => {
  const table = microsecondsTable([
    {
      label: 'tokenmill',
      counts: new Map([
        ['GC', 10],
        ['response write (writev, loopback TCP)', 30],
      ]),
      hz: 1000,
      tokens: 1000,
    },
    {
      label: 'ceiling',
      counts: new Map([
        ['response write (writev, loopback TCP)', 20],
        ['other', 5],
      ]),
      hz: 1000,
      tokens: 2000,
    },
  ]);
  t.equal(
    table,
    [
      '| µs a token | tokenmill | ceiling |',
      '|---|---:|---:|',
      '| response write (writev, loopback TCP) | 30.0 | 10.0 |',
      '| GC | 10.0 | 0.0 |',
      '| other | 0.0 | 2.5 |',
      '| **all** | **40.0** | **12.5** |',
    ].join('\n'),
  );
});
