// Attributes `perf record -g` samples of a server to what a token costs. (Part of bench/profile.mjs.)
//
// Each sample's call chain is walked from the leaf towards the root; the first frame that names a
// category decides it, so time in a builtin, the allocator or the kernel lands in the nearest
// frame that says what it was for (a socket write is a response write, a scavenge inside the
// token's code is GC). JIT frames carry their script's path only with
// `--perf-basic-prof-only-functions`, which bench/profile.mjs gives both servers.

/** [category, substrings of a frame's symbol], in the order a frame is tested against them. */
export const CATEGORIES = [
  ['GC', ['Scavenger', 'Heap::', 'MarkCompact', 'ArrayBufferSweeper', 'ConcurrentMarking', 'MinorMarkSweep', 'Sweeper']],
  ['signature work on the pool (OpenSSL)', ['DoThreadPoolWork']],
  ['JIT compiler', ['v8::internal::compiler::', 'v8::internal::maglev::', 'OptimizingCompileDispatcher']],
  ['libuv pool: queueing work, locks, waking threads', ['uv__queue_work', 'uv_cond_wait', 'pthread_cond_wait', '__futex_abstimed_wait', '__lll_lock_wake', 'pthread_mutex_lock']],
  ['resuming after the pool (promises, microtasks)', ['AfterThreadPoolWork']],
  ['handing the signature to the pool', ['signOneShot', 'verifyOneShot', 'ScheduleWork', 'uv_queue_work']],
  ['request log line (pino, log destination)', ['plugins/request-log.js', '/pino/', 'lib/fd-destination.js', 'sonic-boom']],
  ['request metrics', ['request-metrics.js', 'plugins/metrics.js', 'prom-client']],
  ['response write (writev, loopback TCP)', ['StreamBase::Writev', 'DoTryWrite', 'LibuvStreamWrap::DoWrite', 'uv__write']],
  ['request read (read, llhttp)', ['uv__read', 'OnStreamRead', 'llhttp', 'Parser::Execute', 'Parser::On', 'uv__stream_io']],
  ['token: claims, JSON, JWS', ['oauth/access-token.js', 'keys/signer.js']],
  ['client authentication', ['oauth/client-auth/', 'clients/']],
  ['grant: parameters, scope, audience, quota', ['oauth/grants/', 'oauth/params.js', 'oauth/scope.js', 'oauth/audience.js', 'oauth/token-endpoint.js', 'quota/']],
  ['tokenmill: routes, hooks, errors', ['/dist/src/']],
  ['Fastify: routing, hooks, reply, form parser', ['/fastify/', '/find-my-way/', '/@fastify/', 'fast-querystring', 'fast-json-stringify', 'content-type']],
  ['node:http and streams', ['_http_', 'internal/streams/', 'node:net', 'node:events']],
  ['event loop (epoll, timers)', ['uv__io_poll', 'epoll_wait', 'uv_run', 'uv__run_timers']],
];

/**
 * Parses `perf script -F tid,ip,sym` output: a sample is a line with its thread id (right-aligned,
 * so it may start with spaces) followed by one tab-indented line per frame (address, symbol),
 * leaf first, and a blank line.
 * @returns {{ tid: number, frames: string[] }[]}
 */
export function parsePerfScript(text) {
  const samples = [];
  let current = null;
  for (const line of text.split('\n')) {
    if (line.trim() === '') {
      if (current) samples.push(current);
      current = null;
    } else if (line.startsWith('\t')) {
      if (!current) continue;
      const frame = line.trim();
      const space = frame.indexOf(' ');
      current.frames.push(space === -1 ? '[unknown]' : frame.slice(space + 1).trim());
    } else {
      if (current) samples.push(current);
      const tid = Number(line.trim().split(/\s+/)[0]);
      current = Number.isInteger(tid) ? { tid, frames: [] } : null;
    }
  }
  if (current) samples.push(current);
  return samples;
}

/**
 * When no frame names a category, the leaf alone: OpenSSL's assembly keeps no frame pointer, so
 * perf cannot unwind past it and such a sample's chain ends in its leaf.
 */
const BY_LEAF = [
  ['OpenSSL assembly, chain not unwound (the signature; hashes)', /^_*(ecp_nistz256|bn_|BN_|sha\d+_block|x25519|ed25519|aes|gcm_|ossl_|EVP_|OPENSSL_)/],
  ['malloc, chain not unwound', /^(malloc|_int_malloc|_int_free|cfree|free|malloc_consolidate|unlink_chunk)/],
  ['kernel, elsewhere', /^(pvm_|__raw_|_raw_|entry_SYSCALL|do_syscall|asm_|irq)/],
];

/** The category of one sample's call chain (leaf first), else of its leaf (BY_LEAF), else 'other'. */
export function categorize(frames) {
  for (const frame of frames) {
    for (const [name, needles] of CATEGORIES) if (needles.some((n) => frame.includes(n))) return name;
  }
  const leaf = frames[0] ?? '';
  return BY_LEAF.find(([, pattern]) => pattern.test(leaf))?.[0] ?? 'other';
}

/** V8's marker in a JIT frame's name (`JS:*name …`), by the tier that compiled it. */
const JIT_TIERS = { '*': 'TurboFan', '+': 'Maglev', '^': 'Sparkplug', w: 'WebAssembly' };

/** The tier of the code a sample's leaf ran in, or null when the leaf is not JIT code or the interpreter. */
export function leafTier(frames) {
  const leaf = frames[0] ?? '';
  if (leaf.startsWith('Builtins_InterpreterEntryTrampoline')) return 'interpreter';
  return leaf.startsWith('JS:') ? (JIT_TIERS[leaf[3]] ?? 'other JIT code') : null;
}

/**
 * Samples per category, split into the event loop (the thread whose id is the process id) and
 * every other thread of the process; and the event loop's samples whose leaf is JIT code (or the
 * interpreter), by tier: on Node 22 and later, code that stays in Maglev is slower than TurboFan's.
 * @returns {{ eventLoop: Map<string, number>, otherThreads: Map<string, number>, eventLoopTiers: Map<string, number>, samples: number }}
 */
export function attribute(samples, pid) {
  const eventLoop = new Map();
  const otherThreads = new Map();
  const eventLoopTiers = new Map();
  const count = (map, key) => map.set(key, (map.get(key) ?? 0) + 1);
  for (const s of samples) {
    const onEventLoop = s.tid === pid;
    count(onEventLoop ? eventLoop : otherThreads, categorize(s.frames));
    const tier = onEventLoop ? leafTier(s.frames) : null;
    if (tier) count(eventLoopTiers, tier);
  }
  return { eventLoop, otherThreads, eventLoopTiers, samples: samples.length };
}

/**
 * A Markdown table of µs a token by category, one column per profile, largest first by the first
 * column. `profiles`: [{ label, counts: Map<category, samples>, hz, tokens }].
 */
export function microsecondsTable(profiles) {
  const us = (p, c) => ((p.counts.get(c) ?? 0) / p.hz / p.tokens) * 1e6;
  const categories = [...new Set(profiles.flatMap((p) => [...p.counts.keys()]))].sort((a, b) => us(profiles[0], b) - us(profiles[0], a));
  const total = (p) => [...p.counts.values()].reduce((s, v) => s + v, 0);
  const rows = [
    `| µs a token | ${profiles.map((p) => p.label).join(' | ')} |`,
    `|---|${profiles.map(() => '---:').join('|')}|`,
    ...categories.map((c) => `| ${c} | ${profiles.map((p) => us(p, c).toFixed(1)).join(' | ')} |`),
    `| **all** | ${profiles.map((p) => `**${((total(p) / p.hz / p.tokens) * 1e6).toFixed(1)}**`).join(' | ')} |`,
  ];
  return rows.join('\n');
}
