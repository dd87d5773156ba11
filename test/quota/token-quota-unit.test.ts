// The quota model and the counting engine without HTTP: TOKEN_QUOTA_* configuration (precise
// errors), the token_quota member checks, the RateLimit header format, and TokenQuotas with a fake
// shared store: no shared call per request (batched), totals read back, a failing store logged once
// and counted per process meanwhile (never an error on the request path), sharing resumed.
import t from 'tap';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import { parseQuotaSpec, quotaFromJson } from '../../src/quota/token-quota.js';
import { rateLimitHeaders, rateLimitPolicy } from '../../src/quota/rate-limit-headers.js';
import { MemoryCounts, type QuotaIncrement, type SharedCounts } from '../../src/quota/shared-counts.js';
import { TokenQuotas, type UsageRow } from '../../src/quota/token-quotas.js';
import { TestClock } from '../helper.js';

const REFUSED = { status: 429, error: 'too_many_requests' } as unknown as Error;

function configMessage(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
  return '(no error)';
}

t.test('TOKEN_QUOTA_DEFAULT and the per-field variables', async (t) => {
  t.equal(loadConfig({}).tokenQuotaDefault, null, 'unset: unlimited');
  t.same(loadConfig({ TOKEN_QUOTA_DEFAULT: 'per_hour=1000,per_day=20000,enforce=true' }).tokenQuotaDefault, { perSecond: null, perHour: 1000, perDay: 20000, enforce: true });
  t.same(loadConfig({ TOKEN_QUOTA_DEFAULT: ' per_second = 5 ' }).tokenQuotaDefault, { perSecond: 5, perHour: null, perDay: null, enforce: true }, 'enforce defaults to true');
  t.same(loadConfig({ TOKEN_QUOTA_PER_HOUR: '100', TOKEN_QUOTA_ENFORCE: 'false' }).tokenQuotaDefault, { perSecond: null, perHour: 100, perDay: null, enforce: false });
  const cases: [Record<string, string>, string][] = [
    [{ TOKEN_QUOTA_DEFAULT: 'per_hour=0' }, 'invalid TOKEN_QUOTA_DEFAULT="per_hour=0": per_hour must be an integer between 1 and 1000000000 (got "0"); e.g. per_hour=1000,per_day=20000,enforce=true'],
    [
      { TOKEN_QUOTA_DEFAULT: 'per_minute=5' },
      'invalid TOKEN_QUOTA_DEFAULT="per_minute=5": unknown name "per_minute"; allowed: per_second, per_hour, per_day, enforce; e.g. per_hour=1000,per_day=20000,enforce=true',
    ],
    [{ TOKEN_QUOTA_DEFAULT: 'per_hour' }, 'invalid TOKEN_QUOTA_DEFAULT="per_hour": "per_hour" is not name=value; e.g. per_hour=1000,per_day=20000,enforce=true'],
    [
      { TOKEN_QUOTA_DEFAULT: 'enforce=false' },
      'invalid TOKEN_QUOTA_DEFAULT="enforce=false": names no limit: give at least one of per_second, per_hour, per_day; e.g. per_hour=1000,per_day=20000,enforce=true',
    ],
    [{ TOKEN_QUOTA_DEFAULT: 'per_hour=5,per_hour=6' }, 'invalid TOKEN_QUOTA_DEFAULT="per_hour=5,per_hour=6": per_hour is given twice; e.g. per_hour=1000,per_day=20000,enforce=true'],
    [
      { TOKEN_QUOTA_DEFAULT: 'per_hour=5,enforce=yes' },
      'invalid TOKEN_QUOTA_DEFAULT="per_hour=5,enforce=yes": enforce must be true or false (got "yes"); e.g. per_hour=1000,per_day=20000,enforce=true',
    ],
    [
      { TOKEN_QUOTA_DEFAULT: 'per_hour=5', TOKEN_QUOTA_PER_DAY: '10' },
      'TOKEN_QUOTA_DEFAULT and TOKEN_QUOTA_PER_DAY are both set: set the default quota one way, either TOKEN_QUOTA_DEFAULT or the TOKEN_QUOTA_PER_* variables',
    ],
    [{ TOKEN_QUOTA_ENFORCE: 'true' }, 'TOKEN_QUOTA_ENFORCE is set but no limit is: set TOKEN_QUOTA_PER_SECOND, TOKEN_QUOTA_PER_HOUR or TOKEN_QUOTA_PER_DAY too'],
    [{ TOKEN_QUOTA_PER_HOUR: 'lots' }, 'TOKEN_QUOTA_PER_HOUR must be an integer between 1 and 1000000000 (got "lots")'],
    [{ TOKEN_QUOTA_PER_SECOND: '0' }, 'TOKEN_QUOTA_PER_SECOND must be an integer between 1 and 1000000000 (got "0")'],
    [{ TOKEN_QUOTA_ENFORCE: 'maybe', TOKEN_QUOTA_PER_HOUR: '1' }, 'TOKEN_QUOTA_ENFORCE must be true or false (got "maybe")'],
  ];
  for (const [env, message] of cases) t.equal(configMessage(env), message, JSON.stringify(env));
});

t.test('token_quota members', async (t) => {
  t.same(quotaFromJson({ per_day: 3, enforce: false }), { perSecond: null, perHour: null, perDay: 3, enforce: false });
  t.throws(() => quotaFromJson({ per_day: 3 }), { message: 'token_quota.enforce: is required, true or false' });
  t.throws(() => quotaFromJson({ per_week: 3, enforce: true }), { message: 'token_quota.per_week: unknown member; allowed: per_second, per_hour, per_day, enforce' });
  t.throws(() => quotaFromJson(null), { message: 'token_quota: must be an object {per_second?, per_hour?, per_day?, enforce} or null' });
  t.throws(() => parseQuotaSpec(''), /names no limit/);
});

t.test('RateLimit headers: every window in the policy, the tightest in RateLimit', async (t) => {
  t.same(rateLimitHeaders([]), {}, 'no quota: no headers');
  t.same(
    rateLimitHeaders([
      { name: 'second', window: 'second', limit: 10, used: 1, seconds: 1, resetIn: 1 },
      { name: 'hour', window: 'hour', limit: 1000, used: 998, seconds: 3600, resetIn: 1800 },
    ]),
    { 'ratelimit-policy': '"second";q=10;w=1, "hour";q=1000;w=3600', ratelimit: '"hour";r=2;t=1800' },
  );
  t.same(
    rateLimitHeaders([
      { name: 'hour', window: 'hour', limit: 5, used: 5, seconds: 3600, resetIn: 60 },
      { name: 'day', window: 'day', limit: 9, used: 9, seconds: 86400, resetIn: 7260 },
    ]).ratelimit,
    '"day";r=0;t=7260',
    'a tie goes to the window that resets last',
  );
  const quota = quotaFromJson({ per_second: 10, per_day: 50000, enforce: true });
  t.equal(rateLimitPolicy(quota), '"second";q=10;w=1, "day";q=50000;w=86400', 'the policy of a quota, in window order');
  t.equal(rateLimitPolicy(quota, 'org-'), '"org-second";q=10;w=1, "org-day";q=50000;w=86400', "an organization's policy names");
  t.equal(rateLimitHeaders([{ name: 'hour', window: 'hour', limit: 5, used: 1, seconds: 3600, resetIn: 60 }], 'given')['ratelimit-policy'], 'given', 'a policy text given is sent as is');
});

/** A shared store that counts its calls and can be made to fail. */
class FakeShared implements SharedCounts {
  calls = 0;
  failing = false;
  readonly inner: MemoryCounts;
  constructor(clock: TestClock) {
    this.inner = new MemoryCounts(() => clock.now());
  }
  async add(increments: readonly QuotaIncrement[]): Promise<number[]> {
    this.calls++;
    if (this.failing) throw new Error('redis is unavailable');
    return this.inner.add(increments);
  }
}

function quotas(shared: SharedCounts | null, clock: TestClock, lines: string[], usage: UsageRow[][] = []) {
  const logger = { warn: (_o: object, m: string) => void lines.push(`warn ${m}`), info: (m: string) => void lines.push(`info ${m}`) } as never;
  return new TokenQuotas({ defaultQuota: null, clock, logger, shared, usage: { add: async (rows) => void usage.push([...rows]) }, flushMs: 3_600_000, usageFlushMs: 3_600_000 });
}

t.test('two processes sharing counts: batched, totals read back, outage logged once and counted locally', async (t) => {
  const clock = new TestClock();
  const shared = new FakeShared(clock);
  const lines: string[] = [];
  const a = quotas(shared, clock, lines);
  const b = quotas(shared, clock, lines);
  t.teardown(async () => {
    await a.close();
    await b.close();
  });
  const client = { clientId: 'tmc_x', tokenQuota: { perSecond: null, perHour: 10, perDay: null, enforce: true } };
  for (let i = 0; i < 4; i++) a.admit(client);
  for (let i = 0; i < 4; i++) b.admit(client);
  t.equal(shared.calls, 0, 'no shared call on the request path');
  await a.flushShared();
  await b.flushShared();
  t.equal(shared.calls, 2, 'one call per flush, whatever the number of requests');
  await a.flushShared(); // reads B's 4
  t.same(a.admit(client), { 'ratelimit-policy': '"hour";q=10;w=3600', ratelimit: '"hour";r=1;t=3600' }, 'A counts 8 shared + 1 of its own');
  t.equal(b.admit(client).ratelimit, '"hour";r=1;t=3600', 'B knew 8 at its flush; +1 of its own (A’s last is not seen yet)');
  t.equal(a.admit(client).ratelimit, '"hour";r=0;t=3600', 'A: its 10th by what it knows');
  t.throws(() => a.admit(client), REFUSED, 'A: then refused');

  shared.failing = true;
  await a.flushShared();
  await a.flushShared();
  t.same(
    lines.filter((l) => l.startsWith('warn token quota counts cannot be shared')),
    ['warn token quota counts cannot be shared: each process counts on its own until they can (limits are weaker, still on)'],
    'logged once',
  );
  t.throws(() => a.admit(client), REFUSED, 'still enforced on what A knows');
  shared.failing = false;
  await a.flushShared();
  t.ok(lines.includes('info token quota counts are shared again'), 'resumed');
  await b.flushShared();
  t.throws(() => b.admit(client), REFUSED, 'B sees the fleet total of 10 again');
});

t.test('embedded (no shared store): exact; usage rows batched per client and hour', async (t) => {
  const clock = new TestClock();
  const lines: string[] = [];
  const usage: UsageRow[][] = [];
  const q = quotas(null, clock, lines, usage);
  t.teardown(() => q.close());
  const client = { clientId: 'tmc_y', tokenQuota: { perSecond: 3, perHour: null, perDay: null, enforce: true } };
  for (let i = 0; i < 3; i++) q.admit(client);
  t.throws(() => q.admit(client), REFUSED, 'the 4th in the same second');
  clock.advance(1000);
  q.admit(client);
  clock.advance(3_600_000);
  q.admit(client);
  q.admit({ clientId: 'tmc_z', tokenQuota: null });
  await q.flushUsage();
  t.same(
    usage,
    [
      [
        { clientId: 'tmc_y', hourStart: Date.UTC(2026, 10, 23, 12), tokens: 4 },
        { clientId: 'tmc_y', hourStart: Date.UTC(2026, 10, 23, 13), tokens: 1 },
        { clientId: 'tmc_z', hourStart: Date.UTC(2026, 10, 23, 13), tokens: 1 },
      ],
    ],
    'one batch; refusals are not counted',
  );
  await q.flushUsage();
  t.equal(usage.length, 1, 'nothing new: no write');
});
