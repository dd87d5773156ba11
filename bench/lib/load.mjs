// The load generators: wrk with token.lua when on PATH, else autocannon in a child process. (Part of bench/run.mjs.)
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { basicCredentials } from '@tokenmill/verify/protocol';
import { HERE } from './constants.mjs';
import { track } from './processes.mjs';

export const urlenc = (s) => new URLSearchParams({ x: s }).toString().slice(2);
export const ASSERTION_PREFIX = 'grant_type=client_credentials&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=';

export function runChild(name, cmd, args, env, timeoutMs, onSpawn) {
  return new Promise((res, rej) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    if (child.pid) onSpawn?.(child.pid);
    const entry = track(name, child);
    let out = '',
      err = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      err += d;
    });
    const t = setTimeout(() => {
      try {
        child.kill('SIGKILL');
      } catch {
        /* gone */
      }
    }, timeoutMs);
    child.once('error', (e) => {
      clearTimeout(t);
      rej(e);
    });
    entry.done.then(() => {
      clearTimeout(t);
      res({ code: entry.code, signal: entry.signal, out, err });
    });
  });
}

/** One load run; returns {secs, requests, ok, non2xx, sockErr, timeouts, p50, p90, p99, max, wraps}. */
export async function load(opts, { url, auth, client, assertions, duration, onSpawn }) {
  if (opts.loadgen === 'wrk') {
    const env = {
      ...process.env,
      AUTH: auth,
      THREADS: String(opts.threads),
      SCOPE_ENC: '',
      ASSERTIONS: assertions ?? '',
      CLIENT_ID_ENC: urlenc(client.id ?? ''),
      CLIENT_SECRET_ENC: urlenc(client.secret ?? ''),
      BASIC: basicCredentials(client.id ?? '', client.secret ?? '').slice('Basic '.length),
    };
    const r = await runChild('wrk', 'wrk', [`-t${opts.threads}`, `-c${opts.conns}`, `-d${duration}s`, '--timeout', '5s', '-s', join(HERE, 'token.lua'), url], env, (duration + 60) * 1000, onSpawn);
    const line = r.out.split('\n').find((l) => l.startsWith('RESULT '));
    if (!line) throw new Error(`wrk failed (code ${r.code}): ${(r.err || r.out).trim().slice(0, 500)}`);
    const f = Object.fromEntries(
      line
        .slice(7)
        .trim()
        .split(' ')
        .map((kv) => kv.split('='))
        .map(([k, v]) => [k, Number(v)]),
    );
    return {
      secs: f.secs,
      requests: f.requests,
      ok: f.requests - f.non2xx,
      non2xx: f.non2xx,
      sockErr: f.sock_err,
      timeouts: f.timeouts,
      p50: f.p50_ms,
      p90: f.p90_ms,
      p99: f.p99_ms,
      max: f.max_ms,
      wraps: f.assertion_wraps,
    };
  }
  const headers = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
  let body = 'grant_type=client_credentials';
  if (auth === 'basic') headers.authorization = basicCredentials(client.id, client.secret);
  if (auth === 'post') body += `&client_id=${urlenc(client.id)}&client_secret=${urlenc(client.secret)}`;
  const cfg = { url, conns: opts.conns, duration, headers, body, assertions: auth === 'pkjwt' ? assertions : null, prefix: ASSERTION_PREFIX };
  const r = await runChild('autocannon', process.execPath, [join(HERE, 'lib/autocannon-child.mjs'), JSON.stringify(cfg)], process.env, (duration + 60) * 1000, onSpawn);
  const line = r.out.trim().split('\n').pop();
  if (r.code !== 0 || !line?.startsWith('{')) throw new Error(`autocannon failed (code ${r.code}): ${r.err.trim().slice(0, 500)}`);
  return JSON.parse(line);
}
