// The failed-authentication limiter on its own: source keys, the local block map, and a counter
// that fails (never thrown at the request, logged once per outage).
import t from 'tap';
import { FailureLimiter, memoryFailureCounter, sourceKey, type FailureCounter } from '../../src/lib/failure-limiter.js';

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

t.test('off: no counter, nothing is counted or blocked', async (t) => {
  const { logger } = capture();
  const limiter = new FailureLimiter({ counter: null, logger });
  t.equal(limiter.enabled, false);
  for (let i = 0; i < 100; i++) await limiter.fail('192.0.2.4', 'token');
  t.equal(limiter.check('192.0.2.4'), 0);
});
