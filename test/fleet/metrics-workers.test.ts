// Issue 16 item 7: with WORKERS=2 (PostgreSQL + Redis), a scrape of /metrics shows the whole
// node: 20 token requests spread over both workers read 20 on every scrape, whichever worker
// answers it (the primary aggregates every worker's registry over the cluster IPC channel).
import t from 'tap';
import { parseMetrics, sampleValue } from '../helpers/prometheus.js';
import { eventually } from '../helpers/time.js';
import { basicAuth, fleetBackends, registerOk, startNode } from './support.js';

t.test('WORKERS=2: 20 token requests read 20 in tokenmill_tokens_issued_total', async (t) => {
  const backends = await fleetBackends(t);
  if (!backends) return;
  const { databaseUrl, redisUrl, prefix, secrets } = backends;
  const node = await startNode(t, { name: 'workers', env: { ...secrets, DATABASE_URL: databaseUrl, REDIS_URL: redisUrl, REDIS_KEY_PREFIX: prefix, WORKERS: '2', LOG_LEVEL: 'info' } });
  // Ready means one worker answers; the round-robin only spreads connections once both listen.
  const listening = () =>
    new Set(
      node
        .jsonLines()
        .filter((l) => l.msg === 'listening')
        .map((l) => l.pid),
    ).size;
  t.ok(await eventually(() => listening() === 2, 60_000), 'both workers listen');
  const client = await registerOk(node, secrets.ADMIN_TOKEN, { client_name: 'metrics-workers', scope: 'api:read', audience: ['https://api.example.com'] });

  // A new connection per request, so the cluster spreads them over both workers.
  for (let i = 0; i < 20; i++) {
    const res = await fetch(`${node.url}/oauth2/token`, {
      method: 'POST',
      headers: { authorization: basicAuth(client.client_id, client.client_secret), 'content-type': 'application/x-www-form-urlencoded', connection: 'close' },
      body: 'grant_type=client_credentials',
    });
    t.equal(res.status, 200, `token request ${i + 1}`);
    await res.arrayBuffer();
  }
  // The workers' log lines reach the pipe a moment after their responses.
  const tokenLines = () => node.jsonLines().filter((l) => l.msg === 'request' && l.path === '/oauth2/token');
  t.ok(await eventually(() => tokenLines().length === 20), 'every token request logged');
  t.equal(new Set(tokenLines().map((l) => l.pid)).size, 2, 'both workers served token requests');

  for (let i = 0; i < 4; i++) {
    const res = await fetch(`${node.adminUrl}/metrics`, { headers: { connection: 'close' } });
    t.equal(res.status, 200, `scrape ${i + 1}`);
    const samples = parseMetrics(await res.text());
    t.equal(sampleValue(samples, 'tokenmill_tokens_issued_total'), 20, `scrape ${i + 1}: tokens issued`);
    t.equal(sampleValue(samples, 'tokenmill_token_requests_total', { auth_method: 'client_secret_basic', result: 'success' }), 20, `scrape ${i + 1}: token requests`);
    t.equal(sampleValue(samples, 'tokenmill_replay_untrusted_window_open'), 0, 'gauges are not summed');
    t.ok(sampleValue(samples, 'tokenmill_redis_command_duration_seconds_count') > 0, 'Redis commands timed');
    t.ok(
      samples.some((s) => s.name === 'process_resident_memory_bytes'),
      'process metrics',
    );
  }

  // Any stop signal, not only SIGTERM (src/lib/stop-signals.ts): the primary passes it on and exits once the workers drained.
  t.same(await node.stop('SIGHUP'), { code: 0, signal: null }, 'SIGHUP: exit 0, not killed by the signal');
  t.ok(
    node.jsonLines().some((l) => l.msg === 'stopping workers' && l.signal === 'SIGHUP'),
    'the primary passed SIGHUP on',
  );
});
