// The failed-authentication limiter on its own: source keys, the local block map, and a counter
// that fails (never thrown at the request, logged once per outage).
import t from 'tap';
import { FailureLimiter, memoryFailureCounter, sourceKey, type BlockBroadcast, type FailureCounter } from '../../src/lib/failure-limiter.js';

function capture(): { logger: { warn(obj: object, msg: string): void }; lines: { obj: object; msg: string }[] } {
  const lines: { obj: object; msg: string }[] = [];
  return { logger: { warn: (obj, msg) => void lines.push({ obj, msg }) }, lines };
}

t.test('sourceKey: IPv4 as is, IPv4-mapped as IPv4, IPv6 by its /64, anything else bounded', async (t) => {
  t.equal(sourceKey('203.0.113.7'), '203.0.113.7');
  t.equal(sourceKey('::ffff:203.0.113.7'), '203.0.113.7');
  t.equal(sourceKey('2001:db8:1:2::5'), '2001:db8:1:2::/64');
  t.equal(sourceKey('2001:0db8:0001:0002:ffff:ffff:ffff:ffff'), '2001:db8:1:2::/64', 'leading zeros and the host part do not matter');
  t.equal(sourceKey('2001:db8::1'), '2001:db8:0:0::/64', ':: expanded');
  t.equal(sourceKey('::1'), '0:0:0:0::/64');
  t.equal(sourceKey('x'.repeat(500)), 'x'.repeat(64), 'a forwarded value that is not an address: cut to 64 characters');
});

t.test('a block from the counter is remembered locally until it ends', async (t) => {
  let now = 1_000_000;
  const { logger, lines } = capture();
  const limiter = new FailureLimiter({ counter: memoryFailureCounter({ max: 2, windowSeconds: 60, blockSeconds: 30 }), logger, now: () => now });
  t.equal(limiter.enabled, true);
  t.equal(limiter.check('192.0.2.1'), 0, 'nothing blocked yet');
  await limiter.fail('192.0.2.1', 'token');
  await limiter.fail('192.0.2.1', 'token');
  t.equal(limiter.check('192.0.2.1'), 0, 'two failures (MAX = 2): not blocked');
  await limiter.fail('192.0.2.1', 'admin');
  t.equal(limiter.check('192.0.2.1'), 30, 'the third blocks for 30 s');
  t.equal(limiter.check('192.0.2.2'), 0, 'another source is not blocked');
  t.equal(lines.length, 1, 'one log line');
  t.same(lines[0]?.obj, { source: '192.0.2.1', key: '192.0.2.1', endpoint: 'admin', blockSeconds: 30 });
  await limiter.fail('192.0.2.1', 'token');
  t.equal(lines.length, 1, 'a failure during the block (another node, in flight) logs nothing more');
  now += 29_001;
  t.equal(limiter.check('192.0.2.1'), 1, 'Retry-After rounds up');
  now += 1_000;
  t.equal(limiter.check('192.0.2.1'), 0, 'over');
  t.equal(limiter.blockedSources(), 0, 'and forgotten');
  t.equal(limiter.anyBlocked(), false, 'nothing blocked: the per-request check is skipped');

  // A block that ends without its source coming back is swept, so the check is skipped again.
  await limiter.fail('192.0.2.5', 'token');
  await limiter.fail('192.0.2.5', 'token');
  await limiter.fail('192.0.2.5', 'token');
  t.equal(limiter.anyBlocked(), true, 'a source is blocked');
  now += 31_000;
  t.equal(limiter.anyBlocked(), false, 'its block has ended and is swept');
});

t.test('a counter that fails: the failure is not counted, nothing is thrown, logged once per outage', async (t) => {
  const { logger, lines } = capture();
  let down = true;
  const counter: FailureCounter = {
    consume: async () => {
      if (down) throw new Error('connection refused');
      return 5_000;
    },
  };
  const limiter = new FailureLimiter({ counter, logger });
  for (let i = 0; i < 5; i++) await limiter.fail('192.0.2.3', 'token');
  t.equal(limiter.check('192.0.2.3'), 0, 'not blocked');
  t.equal(lines.length, 1, 'logged once');
  t.match(lines[0]?.msg, /unavailable/);
  down = false;
  await limiter.fail('192.0.2.3', 'token');
  t.equal(lines.filter((l) => l.msg === 'failed-authentication counter restored').length, 1, 'the recovery is logged');
  t.equal(limiter.check('192.0.2.3'), 5, 'and counting resumes');
});

/** One broadcast for several processes: an announcement reaches every handler (the announcer's own too), in order. */
function sharedBroadcast(): { join(): BlockBroadcast; announced: [string, number][]; heardBy: number; failing: boolean } {
  const handlers: ((source: string, ms: number) => void)[] = [];
  const state = {
    announced: [] as [string, number][],
    heardBy: 0,
    failing: false,
    join: (): BlockBroadcast => ({
      announce: async (source, ms) => {
        if (state.failing) throw new Error('redis unavailable');
        state.announced.push([source, ms]);
        for (const h of handlers) h(source, ms);
      },
      onAnnounced: (handler) => {
        state.heardBy++;
        handlers.push(handler);
      },
    }),
  };
  return state;
}

t.test('a block is announced before the failure that started it returns: the other processes refuse the source at once', async (t) => {
  let now = 5_000_000;
  const counter = memoryFailureCounter({ max: 2, windowSeconds: 60, blockSeconds: 30 });
  const shared = sharedBroadcast();
  const a = capture();
  const b = capture();
  const A = new FailureLimiter({ counter, broadcast: shared.join(), logger: a.logger, now: () => now });
  const B = new FailureLimiter({ counter, broadcast: shared.join(), logger: b.logger, now: () => now });
  await A.fail('198.51.100.7', 'token');
  await B.fail('198.51.100.7', 'token');
  t.same(shared.announced, [], 'nothing announced before the block');
  await A.fail('198.51.100.7', 'token');
  t.same(shared.announced, [['198.51.100.7', 30_000]], 'the block is announced once, with its length');
  t.equal(B.check('198.51.100.7'), 30, 'B refuses the source without a failure of its own there');
  t.equal(B.anyBlocked(), true, 'and its per-request check runs');
  t.equal(B.check('198.51.100.8'), 0, 'another source is not blocked at B');
  t.equal(a.lines.length, 1, 'A logs the start of the block');
  t.equal(b.lines.length, 0, 'B does not log a block it only heard of');
  await B.fail('198.51.100.7', 'token');
  t.equal(shared.announced.length, 1, 'a failure in flight at B during the block announces nothing');
  now += 30_000;
  t.equal(B.check('198.51.100.7'), 0, 'the block ends at B when it ends at A');
  t.equal(A.check('198.51.100.7'), 0);
});

t.test('announced blocks: never shortened, bounded, malformed ones ignored, a failed announcement swallowed', async (t) => {
  const now = 1_000;
  const shared = sharedBroadcast();
  const announcer = shared.join();
  const { logger } = capture();
  const L = new FailureLimiter({ counter: memoryFailureCounter({ max: 1, windowSeconds: 60, blockSeconds: 60 }), broadcast: shared.join(), logger, now: () => now });
  await announcer.announce('192.0.2.9', 60_000);
  await announcer.announce('192.0.2.9', 5_000);
  t.equal(L.check('192.0.2.9'), 60, 'a shorter announcement does not shorten a block');
  await announcer.announce('192.0.2.10', 30 * 86_400_000);
  t.equal(L.check('192.0.2.10'), 86_400, 'at most one day (the largest AUTH_FAILURE_BLOCK)');
  for (const [source, ms] of [
    ['', 1_000],
    ['x'.repeat(65), 1_000],
    ['192.0.2.11', 0],
    ['192.0.2.11', -5],
    ['192.0.2.11', Number.NaN],
    ['192.0.2.11', Number.POSITIVE_INFINITY],
  ] as [string, number][])
    await announcer.announce(source, ms);
  t.equal(L.blockedSources(), 2, 'an empty or over-long source, or a length that is not a positive number, is ignored');
  t.equal(L.check('x'.repeat(65)), 0);

  shared.failing = true;
  await L.fail('192.0.2.12', 'token');
  await L.fail('192.0.2.12', 'token');
  t.equal(L.check('192.0.2.12'), 60, 'an announcement that fails does not fail the request, and the block holds here');
});

t.test('an announcement flood cannot grow the map past 100,000 sources: the oldest block is dropped first', async (t) => {
  const now = 1_000;
  const shared = sharedBroadcast();
  const announcer = shared.join();
  const { logger } = capture();
  const L = new FailureLimiter({ counter: memoryFailureCounter({ max: 5, windowSeconds: 60, blockSeconds: 60 }), broadcast: shared.join(), logger, now: () => now });
  for (let i = 0; i < 100_001; i++) await announcer.announce(`flood-${i}`, 60_000);
  t.equal(L.blockedSources(), 100_000, 'at most 100,000 blocked sources are held');
  t.equal(L.check('flood-0'), 0, 'the oldest was dropped');
  t.equal(L.check('flood-1'), 60, 'the next oldest is still blocked');
  t.equal(L.check('flood-100000'), 60, 'the newest is blocked');
});

t.test('off: no counter, nothing is counted or blocked', async (t) => {
  const { logger } = capture();
  const shared = sharedBroadcast();
  const limiter = new FailureLimiter({ counter: null, broadcast: shared.join(), logger });
  t.equal(limiter.enabled, false);
  t.equal(shared.heardBy, 0, 'announced blocks are not listened to');
  for (let i = 0; i < 100; i++) await limiter.fail('192.0.2.4', 'token');
  t.equal(limiter.check('192.0.2.4'), 0);
});
