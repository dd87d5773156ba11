// /proc sampling: RSS and CPU of a process tree, and how busy the rest of the machine is. (Part of bench/run.mjs.)
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';

export function descendants(pid) {
  const byParent = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (!byParent.has(ppid)) byParent.set(ppid, []);
      byParent.get(ppid).push(Number(d));
    } catch {
      /* raced */
    }
  }
  const out = [pid];
  for (let i = 0; i < out.length; i++) out.push(...(byParent.get(out[i]) ?? []));
  return out;
}

export function rssKb(pid) {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/**
 * Where a process's resident memory is, in MB, from /proc/PID/smaps: `file` (file-backed pages: the
 * node binary and shared libraries), `wasm` (WebAssembly memories: a read-write anonymous mapping
 * directly followed by V8's PROT_NONE guard region of 4 GiB or more; in tokenmill, PGlite's linear
 * memory), `malloc` (the main malloc heap, `[heap]`) and `otherAnon` (every other anonymous
 * mapping: V8's heap pages and compiled code, the threads' malloc arenas, stacks). null once the process is gone.
 */
export function memoryParts(pid) {
  let text;
  try {
    text = readFileSync(`/proc/${pid}/smaps`, 'utf8');
  } catch {
    return null;
  }
  const maps = [];
  for (const line of text.split('\n')) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) maps.push({ start: parseInt(head[1], 16), end: parseInt(head[2], 16), perms: head[3], name: head[4], rssKb: 0 });
    else if (line.startsWith('Rss:') && maps.length) maps[maps.length - 1].rssKb = Number(line.split(/\s+/)[1]);
  }
  const parts = { rss: 0, file: 0, wasm: 0, malloc: 0, otherAnon: 0 };
  maps.forEach((m, i) => {
    const next = maps[i + 1];
    const guarded = m.name === '' && m.perms.startsWith('rw') && next?.name === '' && next.perms.startsWith('---') && next.start === m.end && next.end - next.start >= 4 * 2 ** 30;
    const part = m.name.startsWith('/') ? 'file' : m.name === '[heap]' ? 'malloc' : guarded ? 'wasm' : m.name === '' || m.name.startsWith('[anon') ? 'otherAnon' : null;
    parts.rss += m.rssKb;
    if (part) parts[part] += m.rssKb;
  });
  return Object.fromEntries(Object.entries(parts).map(([k, v]) => [k, v / 1024]));
}

/** utime and stime (clock ticks) of a /proc `stat` file: a process's or one of its threads'. */
function userSysTicks(statPath) {
  const s = readFileSync(statPath, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return { user: Number(f[11]), sys: Number(f[12]) };
}

export function cpuTicks(pid) {
  try {
    const { user, sys } = userSysTicks(`/proc/${pid}/stat`);
    return user + sys;
  } catch {
    return 0;
  }
}
/**
 * CPU ticks of each thread of a process tree (/proc/PID/task/TID/stat), keyed by thread id, with
 * whether it is an event loop (a process's main thread, tid = pid) or another thread (libuv's
 * pool, which signs; V8's GC and compiler threads).
 */
function threadTicks(pids) {
  const ticks = new Map();
  for (const pid of pids) {
    let tids;
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue; // the process ended
    }
    for (const tid of tids) {
      try {
        ticks.set(tid, { loop: Number(tid) === pid, ...userSysTicks(`/proc/${pid}/task/${tid}/stat`) });
      } catch {
        /* the thread ended */
      }
    }
  }
  return ticks;
}

/** CPU seconds between two threadTicks readings, by kind of thread (threads seen in both). */
function threadSecondsBetween(before, after) {
  const secs = { loopUser: 0, loopSys: 0, otherUser: 0, otherSys: 0 };
  for (const [tid, b] of after) {
    const a = before.get(tid);
    if (!a) continue;
    secs[b.loop ? 'loopUser' : 'otherUser'] += (b.user - a.user) / CLK_TCK;
    secs[b.loop ? 'loopSys' : 'otherSys'] += (b.sys - a.sys) / CLK_TCK;
  }
  return secs;
}

export const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** Busy and total jiffies of the whole machine (/proc/stat), to see how busy it was during a run. */
export function systemTicks() {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = f[3] + (f[4] ?? 0);
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

/** Samples the max RSS (sum over the process tree, and the largest single process) until stopped. */
export function sampleRss(rootPid) {
  const pids = descendants(rootPid);
  const loadgen = new Map(); // pid of the load generator -> [first, last] CPU ticks seen
  const self0 = process.cpuUsage();
  const cpu0 = pids.reduce((a, p) => a + cpuTicks(p), 0);
  const threads0 = threadTicks(pids);
  const t0 = process.hrtime.bigint();
  const sys0 = systemTicks();
  let maxTotal = 0,
    maxOne = 0;
  const tick = () => {
    let total = 0;
    for (const p of pids) {
      const k = rssKb(p);
      total += k;
      if (k > maxOne) maxOne = k;
    }
    if (total > maxTotal) maxTotal = total;
    for (const [p, v] of loadgen) {
      const c = cpuTicks(p);
      if (c) v[1] = c;
    }
  };
  tick();
  const timer = setInterval(tick, 200);
  const stop = () => {
    clearInterval(timer);
    tick();
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpu = (pids.reduce((a, p) => a + cpuTicks(p), 0) - cpu0) / CLK_TCK / secs;
    // CPU seconds spent during the measurement, by kind of thread (divided by the tokens later)
    const threadSecs = threadSecondsBetween(threads0, threadTicks(pids));
    const loadgenSecs = [...loadgen.values()].reduce((a, [f, l]) => a + (l - f), 0) / CLK_TCK;
    const sys1 = systemTicks();
    const machineBusy = ((sys1.busy - sys0.busy) / (sys1.total - sys0.total)) * availableParallelism();
    const loadgenCores = loadgenSecs / secs;
    const self = process.cpuUsage(self0);
    const harnessCores = (self.user + self.system) / 1e6 / secs;
    // CPU used by anything else on the machine during the measurement: another job disturbs it
    const otherCores = Math.max(0, machineBusy - cpu - loadgenCores - harnessCores);
    return {
      rssMaxMB: maxTotal / 1024,
      rssMaxOneMB: maxOne / 1024,
      processes: pids.length,
      cpuCores: cpu,
      threadSecs,
      loadgenSecs,
      machineBusyCores: machineBusy,
      loadgenCores,
      otherCores,
      disturbed: otherCores > DISTURBED_CORES,
    };
  };
  stop.watch = (pid) => {
    const c = cpuTicks(pid);
    loadgen.set(pid, [c, c]);
  };
  return stop;
}
/** A measurement during which other processes used more than this many cores is "disturbed". */
export const DISTURBED_CORES = 0.3;
