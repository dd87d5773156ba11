// Ratios, targets and the Markdown report. (Part of bench/run.mjs.)
import { RSS_LIMIT_MB, SERVER_NODE_ARGS } from './constants.mjs';
import { log } from './processes.mjs';
import { DISTURBED_CORES } from './system.mjs';
import { median } from './measure.mjs';

/** The parts of a measurement's CPU per token (measure.mjs `cpuPerToken`). */
const CPU_PARTS = ['loopUser', 'loopSys', 'otherUser', 'otherSys', 'loadgen'];

export const fmtInt = (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '—');
export const fmt = (x, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : '—');
export const pct = (x) => (Number.isFinite(x) ? `${(x * 100).toFixed(0)}%` : '—');

export function summarise(ctx, results) {
  const byKey = new Map();
  for (const m of results) {
    const k = `${m.row}/${m.role}`;
    if (!byKey.has(k)) byKey.set(k, []);
    byKey.get(k).push(m);
  }
  // Measurements disturbed by other load on the machine are left out when undisturbed rounds exist.
  const good = (row, role) => {
    const ok = (byKey.get(`${row}/${role}`) ?? []).filter((m) => !m.error);
    const calm = ok.filter((m) => !m.disturbed);
    return calm.length ? calm : ok;
  };
  const med = (row, role, field) => median(good(row, role).map((m) => m[field]));
  const sum = (row, role, field) => (byKey.get(`${row}/${role}`) ?? []).reduce((a, m) => a + (m[field] ?? 0), 0);
  const maxOf = (row, role, field) => Math.max(-Infinity, ...(byKey.get(`${row}/${role}`) ?? []).filter((m) => !m.error).map((m) => m[field]));
  const perRound = (row, role, round) => results.find((m) => m.row === row && m.role === role && m.round === round && !m.error);
  /** the rounds' [a, b] measurements; only the undisturbed pairs when there are any */
  const roundPairs = (rowA, roleA, rowB, roleB) => {
    const pairs = Array.from({ length: ctx.opts.rounds }, (_, i) => [perRound(rowA, roleA, i + 1), perRound(rowB, roleB, i + 1)]).filter(([a, b]) => a && b);
    const calm = pairs.filter(([a, b]) => !a.disturbed && !b.disturbed);
    return calm.length ? calm : pairs;
  };
  /** median over rounds of (a in round r) / (b in round r) */
  const ratio = (rowA, roleA, rowB, roleB) => median(roundPairs(rowA, roleA, rowB, roleB).map(([a, b]) => a.tps / b.tps));
  /**
   * median over rounds of the ratio of server CPU per token, each divided by the load generator's
   * CPU per token in the same measurement: the load generator does the same work for every request,
   * so its cost tracks how fast the machine ran during that measurement
   */
  const cpuRatio = (rowA, roleA, rowB, roleB) => {
    const relative = (m) => {
      const c = m?.cpuPerToken;
      return c && c.loadgen > 0 ? (c.loopUser + c.loopSys + c.otherUser + c.otherSys) / c.loadgen : NaN;
    };
    return median(roundPairs(rowA, roleA, rowB, roleB).map(([a, b]) => relative(a) / relative(b)));
  };
  const lines = [];
  const ratios = [];
  for (const row of ctx.rows) {
    for (const role of ['ours', 'without', 'peer', 'ceiling']) {
      const ms = byKey.get(`${row.id}/${role}`);
      if (!ms) continue;
      const errors = ms.filter((m) => m.error).map((m) => m.error);
      lines.push({
        row: row.id,
        role,
        target: ms[0].target,
        tps: med(row.id, role, 'tps'),
        p50: med(row.id, role, 'p50'),
        p99: med(row.id, role, 'p99'),
        non2xx: sum(row.id, role, 'non2xx'),
        sockErr: sum(row.id, role, 'sockErr'),
        wraps: sum(row.id, role, 'wraps'),
        /** warm-ups with a non-2xx answer or a re-sent assertion (the measurement after them is suspect) */
        warmupProblems: ms.filter((m) => m.warmup?.non2xx || m.warmup?.wraps).length,
        rssMaxMB: maxOf(row.id, role, 'rssMaxMB'),
        rssMaxOneMB: maxOf(row.id, role, 'rssMaxOneMB'),
        cpuCores: med(row.id, role, 'cpuCores'),
        cpuPerToken: Object.fromEntries(CPU_PARTS.map((k) => [k, median(good(row.id, role).map((m) => m.cpuPerToken?.[k]))])),
        processes: ms[0].processes,
        logWarnings: sum(row.id, role, 'logWarnings'),
        logErrors: sum(row.id, role, 'logErrors'),
        logSamples: [...new Set(ms.flatMap((m) => m.logSamples ?? []))].slice(0, 5),
        errors,
        rounds: ms.filter((m) => !m.error).length,
        disturbed: ms.filter((m) => !m.error && m.disturbed).length,
        used: good(row.id, role).length,
      });
    }
    const peerRow = row.compareWith ?? row.id;
    if (byKey.has(`${row.id}/ours`)) {
      ratios.push({ row: row.id, oursPeer: ratio(row.id, 'ours', peerRow, 'peer'), oursCeiling: ratio(row.id, 'ours', peerRow, 'ceiling'), against: peerRow });
    }
  }
  const get = (row, role) => lines.find((l) => l.row === row && l.role === role);
  const R = (row) => ratios.find((r) => r.row === row);
  const targets = [];
  const add = (name, measured, pass, note = '') => targets.push({ name, measured, result: pass === null ? 'n/a' : pass ? 'PASS' : 'FAIL', note });
  const b = get('es256-basic', 'ours');
  add(
    'ES256 client_secret_basic ≥ 10,000 tokens/s',
    b ? `${fmtInt(b.tps)} tokens/s at ${ctx.opts.conns} connections` : 'not measured',
    b ? b.tps >= 10000 : null,
    ctx.opts.conns !== 50 ? 'target is for 50 connections' : '',
  );
  add('ES256 client_secret_basic p99 ≤ 15 ms', b ? `p99 ${fmt(b.p99)} ms` : 'not measured', b ? b.p99 <= 15 : null);
  add(
    'ES256 basic ≥ 4× oidc-provider (same run)',
    R('es256-basic') && get('es256-basic', 'peer') ? `${fmt(R('es256-basic').oursPeer)}×` : 'not measured',
    R('es256-basic') && get('es256-basic', 'peer') ? R('es256-basic').oursPeer >= 4 : null,
  );
  add(
    'ES256 basic ≥ 60% of the bare-Fastify ceiling (same run)',
    R('es256-basic') && get('es256-basic', 'ceiling') ? pct(R('es256-basic').oursCeiling) : 'not measured',
    R('es256-basic') && get('es256-basic', 'ceiling') ? R('es256-basic').oursCeiling >= 0.6 : null,
  );
  // Paired: the same process, the client without a quota measured in alternating slices in each round (measure.mjs measurePair).
  const quotaPaired = byKey.has('quota-es256-basic/without');
  const quotaBasic = quotaPaired ? ratio('quota-es256-basic', 'ours', 'quota-es256-basic', 'without') : ratio('quota-es256-basic', 'ours', 'es256-basic', 'ours');
  const quotaCpu = quotaPaired ? cpuRatio('quota-es256-basic', 'ours', 'quota-es256-basic', 'without') : NaN;
  add(
    'ES256 basic with a token quota (never reached) within 5% of without',
    Number.isFinite(quotaBasic) ? `with quota = ${pct(quotaBasic)} of without${quotaPaired ? ' (alternating slices)' : ''}` : 'not measured',
    Number.isFinite(quotaBasic) ? quotaBasic >= 0.95 : null,
    Number.isFinite(quotaCpu) ? `server CPU per token over the load generator's, with / without: ${pct(quotaCpu)}` : '',
  );
  const postBasic = ratio('es256-post', 'ours', 'es256-basic', 'ours');
  add(
    'client_secret_post within 5% of client_secret_basic',
    Number.isFinite(postBasic) ? `post = ${pct(postBasic)} of basic` : 'not measured',
    Number.isFinite(postBasic) ? postBasic >= 0.95 && postBasic <= 1.05 : null,
  );
  add(
    'private_key_jwt ≥ 4× the peer’s private_key_jwt',
    R('es256-pkjwt') && get('es256-pkjwt', 'peer') ? `${fmt(R('es256-pkjwt').oursPeer)}×` : 'not measured',
    R('es256-pkjwt') && get('es256-pkjwt', 'peer') ? R('es256-pkjwt').oursPeer >= 4 : null,
  );
  const rs = get('rs256-basic', 'ours');
  const rsaLimit = ctx.signingLimits?.find((s) => s.alg === 'RS256' && s.threads === ctx.rsaThreads)?.perSec;
  const rsVsLimit = rs && rsaLimit ? rs.tps / rsaLimit : NaN;
  add(
    `RS256 within 10% of the RSA signing limit (${fmtInt(rsaLimit)}/s on ${ctx.rsaThreads} pool thread${ctx.rsaThreads > 1 ? 's' : ''})`,
    Number.isFinite(rsVsLimit) ? `RS256 = ${pct(rsVsLimit)} of the limit` : 'not measured',
    Number.isFinite(rsVsLimit) ? rsVsLimit >= 0.9 : null,
  );
  const rsaAll = ctx.signingLimits?.find((x) => x.alg === 'RS256' && x.threads === ctx.hw.nproc && x.threads !== ctx.rsaThreads)?.perSec;
  const rsVsAll = rs && rsaAll ? rs.tps / rsaAll : NaN;
  /** What the largest tokenmill process held at the end of any load of these rows (measure.mjs `memory`). */
  const memoryNote = (rowIds) => {
    let best = null;
    for (const m of results) if (rowIds.includes(m.row) && !m.error) for (const p of m.memory ?? []) if (!best || p.rss > best.p.rss) best = { m, p };
    if (!best) return '';
    const { m, p } = best;
    const who = m.memory.length > 1 ? (p.primary ? 'the primary' : 'a worker') : 'the process';
    return `largest at the end of a load: ${who}, ${fmt(p.rss, 0)} MB (${m.row}, round ${m.round}) = file-backed ${fmt(p.file, 0)} (the node binary, libraries)${p.wasm > 0 ? ` + WebAssembly memory ${fmt(p.wasm, 0)} (PGlite)` : ''} + malloc heap ${fmt(p.malloc, 0)} + other anonymous ${fmt(p.otherAnon, 0)} (V8's heap and compiled code, thread arenas, stacks)`;
  };
  for (const [deploy, label] of [
    ['embedded', 'embedded'],
    ['pg', 'PostgreSQL + Redis, WORKERS=1'],
  ]) {
    const ls = lines.filter((l) => l.role === 'ours' && ctx.rows.find((r) => r.id === l.row)?.deploy.replace(/-rsa$/, '') === deploy && Number.isFinite(l.rssMaxMB));
    if (!ls.length) continue;
    const mx = Math.max(...ls.map((l) => l.rssMaxMB));
    add(`RSS ≤ ${RSS_LIMIT_MB} MB under load (${label})`, `max ${fmt(mx, 0)} MB`, mx <= RSS_LIMIT_MB, memoryNote(ls.map((l) => l.row)));
  }
  for (const [prefix, label] of [
    ['pg2-', 'WORKERS=2'],
    ['emb2-', 'embedded, WORKERS=2'],
  ]) {
    const w2 = lines.filter((l) => l.role === 'ours' && l.row.startsWith(prefix) && Number.isFinite(l.rssMaxOneMB));
    if (!w2.length) continue;
    const one = Math.max(...w2.map((l) => l.rssMaxOneMB)),
      tot = Math.max(...w2.map((l) => l.rssMaxMB));
    add(`RSS ≤ ${RSS_LIMIT_MB} MB per process under load (${label})`, `largest process ${fmt(one, 0)} MB; primary + workers ${fmt(tot, 0)} MB`, one <= RSS_LIMIT_MB, memoryNote(w2.map((l) => l.row)));
  }

  const bad = lines.filter((l) => l.non2xx > 0 || l.sockErr > 0 || l.wraps > 0 || l.warmupProblems > 0 || l.errors.length);
  add('no non-2xx, socket errors or failed rows', bad.length ? bad.map((l) => `${l.row}/${l.role}`).join(', ') : 'none', bad.length === 0);
  const info = [];
  const w1 = get('pg-es256-basic', 'ours'),
    w2b = get('pg2-es256-basic', 'ours');
  if (w1 && w2b)
    info.push(
      `WORKERS=2 vs WORKERS=1 (PostgreSQL + Redis, ES256 basic): ${fmtInt(w2b.tps)} vs ${fmtInt(w1.tps)} tokens/s; per-round ratio ${fmt(ratio('pg2-es256-basic', 'ours', 'pg-es256-basic', 'ours'))}×`,
    );
  const w1p = get('pg-es256-pkjwt', 'ours'),
    w2p = get('pg2-es256-pkjwt', 'ours');
  if (w1p && w2p)
    info.push(
      `WORKERS=2 vs WORKERS=1 (PostgreSQL + Redis, ES256 private_key_jwt): ${fmtInt(w2p.tps)} vs ${fmtInt(w1p.tps)} tokens/s; per-round ratio ${fmt(ratio('pg2-es256-pkjwt', 'ours', 'pg-es256-pkjwt', 'ours'))}×`,
    );
  for (const auth of ['basic', 'pkjwt']) {
    const e1 = get(`es256-${auth}`, 'ours'),
      e2 = get(`emb2-es256-${auth}`, 'ours');
    if (e1 && e2)
      info.push(
        `WORKERS=2 vs WORKERS=1 (embedded, ES256 ${auth === 'basic' ? 'basic' : 'private_key_jwt'}): ${fmtInt(e2.tps)} vs ${fmtInt(e1.tps)} tokens/s; per-round ratio ${fmt(ratio(`emb2-es256-${auth}`, 'ours', `es256-${auth}`, 'ours'))}×`,
      );
  }
  const dist = results.filter((m) => !m.error && m.disturbed);
  if (dist.length) {
    info.push(
      `Disturbed: ${dist.length} measurement(s) ran while other processes used more than ${DISTURBED_CORES} cores (${dist.map((m) => `${m.row}/${m.role} round ${m.round}: ${fmt(m.otherCores)} cores`).join('; ')}); medians and ratios leave them out wherever an undisturbed round of the same row exists (marked *)`,
    );
  }
  // The ceiling does the same work every time: how much it moved between rounds shows how much
  // the machine itself drifted (other load, a noisy host) during the run.
  // (per row, across rounds: the same request every time).
  let drift = -1,
    driftRow = null;
  for (const row of ctx.rows) {
    const c = results.filter((m) => m.row === row.id && m.role === 'ceiling' && !m.error).map((m) => m.tps);
    if (c.length < 2) continue;
    const d = Math.max(...c) / Math.min(...c) - 1;
    if (d > drift) [drift, driftRow] = [d, `${row.id}: ${c.map(fmtInt).join(', ')}`];
  }
  if (drift >= 0) {
    info.push(
      `Machine drift: the ceiling's req/s varied by up to ${pct(drift)} between rounds (${driftRow})${drift > 0.15 ? ' — more than 15%: the machine was not steady; treat the figures with caution' : ''}`,
    );
    if (drift > 0.15) log(`warning: the ceiling varied by ${pct(drift)} between rounds: the machine was not steady`);
  }
  if (Number.isFinite(rsVsAll))
    info.push(`RS256 against the RSA limit with one pool thread per core (${fmtInt(rsaAll)}/s on ${ctx.hw.nproc} threads): ${pct(rsVsAll)}; RS256 ours/peer ${fmt(R('rs256-basic')?.oursPeer)}×`);
  if (w1 && b) info.push(`PostgreSQL + Redis vs embedded (ES256 basic, WORKERS=1): ${fmt(ratio('pg-es256-basic', 'ours', 'es256-basic', 'ours'))}×`);
  return { lines, ratios, targets, info, rsVsLimit, postBasic };
}

export function renderMarkdown(ctx, sum) {
  const o = ctx.opts;
  const out = [];
  out.push(`# tokenmill benchmark — ${ctx.startedAt}`, '');
  out.push(
    `Machine: ${ctx.hw.nproc} CPUs (${ctx.hw.cpu}), ${ctx.hw.memGiB} GiB RAM, Linux ${ctx.hw.kernel}, Node ${process.version}; ${fmt(ctx.hw.busyAtStart)} cores busy just before the run (load average at start ${ctx.hw.loadStart}, at the end ${ctx.hw.loadEnd}).`,
  );
  out.push(
    `Load: ${ctx.loadgenVersion} on the same machine, ${o.threads} thread${o.threads > 1 ? 's' : ''}, ${o.conns} connections, ${o.duration} s per measurement after a ${o.warmup} s warm-up, ${o.rounds} round${o.rounds > 1 ? 's' : ''} (medians; order alternates between rounds and rows). tokenmill LOG_LEVEL=${o.logLevel}, UV_THREADPOOL_SIZE=${ctx.uvThreads} (its own default here; ${ctx.rsaThreads} with SIGNING_ALG=RS256), Node options as \`npm start\`: ${SERVER_NODE_ARGS.join(' ') || 'none'}.`,
  );
  out.push(
    'Targets: ours = tokenmill, peer = oidc-provider ' +
      ctx.peerVersion +
      ' (same algorithm, same client authentication), ceiling = bare Fastify 5 + @fastify/formbody returning a fixed ~800-byte token response.',
    '',
  );
  out.push('| row | target | tokens/s | p50 ms | p99 ms | non-2xx | max RSS MB |', '|---|---|---:|---:|---:|---:|---:|');
  for (const l of sum.lines) {
    const flag = l.non2xx > 0 || l.sockErr > 0 || l.wraps > 0 ? ' ⚠' : '';
    const rss = l.processes > 1 && l.role === 'ours' ? `${fmt(l.rssMaxMB, 0)} (${l.processes} proc.)` : fmt(l.rssMaxMB, 0);
    const tps = l.errors.length && !l.rounds ? `failed: ${l.errors[0].split('\n')[0].slice(0, 120)}` : `${fmtInt(l.tps)}${l.disturbed && l.used < l.rounds ? '*' : l.disturbed ? ' (disturbed)' : ''}`;
    out.push(
      `| ${l.row} | ${l.role === 'ours' ? l.target : l.role === 'without' ? `${l.target}, client without quota` : l.role === 'peer' ? `peer (${l.target})` : 'ceiling'} | ${tps} | ${fmt(l.p50)} | ${fmt(l.p99)} | ${fmtInt(l.non2xx)}${flag}${l.sockErr ? ` (+${l.sockErr} socket errors)` : ''}${l.wraps ? ` (${l.wraps} assertion wraps)` : ''} | ${rss} |`,
    );
  }
  out.push('', '| row | ours/peer | ours/ceiling | compared with |', '|---|---:|---:|---|');
  for (const r of sum.ratios)
    out.push(
      `| ${r.row} | ${Number.isFinite(r.oursPeer) ? `${fmt(r.oursPeer)}×` : '—'} | ${pct(r.oursCeiling)} | ${r.against === r.row ? 'same row' : `peer and ceiling of ${r.against}, same round`} |`,
    );
  out.push('');
  const withCpu = sum.lines.filter((l) => Number.isFinite(l.cpuPerToken?.loopUser));
  if (withCpu.length) {
    out.push(
      'Where the CPU goes, in µs per token (medians; user + kernel time from /proc/PID/task/TID/stat): the event loop is each process’s main thread; the other threads are libuv’s pool (where tokenmill signs, and verifies client assertions) and V8’s GC and compiler threads; the load generator shares the machine.',
      '',
      '| row | target | event loop user | event loop kernel | other threads user | other threads kernel | all server threads | load generator |',
      '|---|---|---:|---:|---:|---:|---:|---:|',
    );
    for (const { row, role, cpuPerToken: c } of withCpu) {
      const all = c.loopUser + c.loopSys + c.otherUser + c.otherSys;
      out.push(`| ${row} | ${role} | ${fmt(c.loopUser, 1)} | ${fmt(c.loopSys, 1)} | ${fmt(c.otherUser, 1)} | ${fmt(c.otherSys, 1)} | ${fmt(all, 1)} | ${fmt(c.loadgen, 1)} |`);
    }
    out.push('');
  }
  if (ctx.signingLimits?.length) {
    out.push('Signing limits of this machine (node:crypto async sign on the libuv pool, access-token-sized input, nothing else running):');
    for (const s of ctx.signingLimits)
      out.push(
        `- ${s.alg}: ${fmtInt(s.perSec)} signatures/s with ${s.threads} pool thread${s.threads > 1 ? 's' : ''}${s.threads === ctx.uvThreads ? ' (tokenmill’s pool size here)' : ''}${s.threads === ctx.rsaThreads && s.threads !== ctx.uvThreads ? ' (tokenmill’s pool size with SIGNING_ALG=RS256)' : ''}`,
      );
    if (Number.isFinite(sum.rsVsLimit)) out.push(`- RS256 row: ${pct(sum.rsVsLimit)} of the RSA limit at tokenmill’s pool size`);
    out.push('');
  }
  if (ctx.revocation) {
    const r = ctx.revocation;
    out.push(
      `In-process revocation store (MemoryRevocationStore): ${fmt(r.heapBytes / 1048576, 1)} MB of heap per ${fmtInt(r.revoked)} revoked tokens (${fmtInt(r.bytesPerToken)} bytes each, after GC; entries live until the token would have expired).`,
      '',
    );
  }
  out.push('| target | measured | result |', '|---|---|---|');
  for (const t of sum.targets) out.push(`| ${t.name} | ${t.measured}${t.note ? ` (${t.note})` : ''} | ${t.result} |`);
  if (sum.info.length) out.push('', ...sum.info.map((s) => `- ${s}`));
  const warnLines = sum.lines.filter((l) => l.logWarnings || l.logErrors || l.warmupProblems || l.errors.length);
  if (warnLines.length) {
    out.push('', 'Problems seen:');
    for (const l of warnLines) {
      if (l.errors.length) out.push(`- ${l.row}/${l.role}: ${l.errors.length} failed measurement(s): ${l.errors[0].split('\n')[0].slice(0, 300)}`);
      if (l.warmupProblems)
        out.push(
          `- ${l.row}/${l.role}: ${l.warmupProblems} warm-up(s) got non-2xx answers or re-sent assertions; the measurements after them may have met tokenmill's failed-authentication limit (429)`,
        );
      if (l.logWarnings || l.logErrors)
        out.push(`- ${l.row}/${l.role}: tokenmill logged ${l.logErrors} error and ${l.logWarnings} warning lines under load, e.g. ${l.logSamples.map((s) => `\`${s}\``).join('; ')}`);
    }
  }
  return out.join('\n') + '\n';
}
