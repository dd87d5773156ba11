// Runs one autocannon load (the fallback when wrk is not installed) in its own process, so the
// harness's event loop stays free for RSS sampling. Argument: JSON {url, conns, duration, headers,
// body, assertions (file, pkjwt), prefix (pkjwt body before the assertion), timeout}.
// Prints one JSON line: {secs, requests, ok, non2xx, sockErr, timeouts, p50, p90, p99, max, wraps}.
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';

const cfg = JSON.parse(process.argv[2]);
const opts = {
  url: cfg.url,
  method: 'POST',
  connections: cfg.conns,
  duration: cfg.duration,
  timeout: cfg.timeout ?? 5,
  headers: cfg.headers,
  body: cfg.body,
  pipelining: 1,
};
let wraps = 0;
if (cfg.assertions) {
  const list = readFileSync(cfg.assertions, 'utf8').split('\n').filter(Boolean);
  let i = 0;
  delete opts.body;
  // One unique assertion per request: setupRequest runs before every request is sent.
  opts.requests = [
    {
      method: 'POST',
      path: new URL(cfg.url).pathname,
      headers: cfg.headers,
      setupRequest(req) {
        if (i >= list.length) {
          i = 0;
          wraps++;
        }
        return { ...req, body: cfg.prefix + list[i++] };
      },
    },
  ];
}
const r = await autocannon(opts);
const ok = r['2xx'] ?? 0;
process.stdout.write(
  JSON.stringify({
    secs: r.duration,
    requests: ok + (r.non2xx ?? 0),
    ok,
    non2xx: r.non2xx ?? 0,
    sockErr: r.errors ?? 0,
    timeouts: r.timeouts ?? 0,
    p50: r.latency.p50,
    p90: r.latency.p90,
    p99: r.latency.p99,
    max: r.latency.max,
    wraps,
  }) + '\n',
);
