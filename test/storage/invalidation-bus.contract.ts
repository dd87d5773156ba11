import type { InvalidationBus } from '../../src/storage/types.js';
import type { TestContext } from '../helpers/backends.js';
import { eventually } from '../helpers/time.js';

/** Two ends of one bus: what `publisher` publishes reaches `subscriber`'s handlers (they may be one object). */
export interface BusPair {
  publisher: InvalidationBus;
  subscriber: InvalidationBus;
}

/** The InvalidationBus contract (in-process and Redis). */
export function invalidationBusContract(t: TestContext, open: (t: TestContext) => Promise<BusPair>): void {
  t.test('handlers receive every published message, in order', async (t) => {
    const { publisher, subscriber } = await open(t);
    const got: [string, string][] = [];
    const other: [string, string][] = [];
    subscriber.subscribe((channel, id) => got.push([channel, id]));
    subscriber.subscribe((channel, id) => other.push([channel, id]));
    await publisher.publish('clients', 'c1');
    await publisher.publish('keys', 'k1');
    await publisher.publish('clients', 'c "2"');
    t.ok(await eventually(() => got.length >= 3), 'delivered');
    const expected = [
      ['clients', 'c1'],
      ['keys', 'k1'],
      ['clients', 'c "2"'],
    ];
    t.strictSame(got, expected);
    t.strictSame(other, expected, 'every handler gets every message');
  });
}
