import type { RevocationEvent, RevocationLog } from '../../src/storage/types.js';
import type { TestContext } from '../helpers/backends.js';

const NOW = 1_700_000_000;

/** The RevocationLog (durable revocation record) contract. `open` returns an empty log. */
export function revocationLogContract(t: TestContext, open: (t: TestContext) => Promise<RevocationLog>): void {
  const events: RevocationEvent[] = [
    { type: 'token', jti: 'j1', exp: NOW + 60, clientId: 'c1' },
    { type: 'client', clientId: 'c2', revokedBefore: NOW - 5, until: NOW + 3600 },
    { type: 'token', jti: 'j2', exp: NOW + 1, clientId: null },
    { type: 'token', jti: 'lapsed', exp: NOW, clientId: 'c1' },
    { type: 'client', clientId: 'c3', revokedBefore: NOW - 100, until: NOW - 1 },
  ];

  t.test('live returns the events whose effect has not lapsed, in append order', async (t) => {
    const log = await open(t);
    t.strictSame(await log.live(NOW), []);
    for (const e of events) await log.append(e);
    t.strictSame(await log.live(NOW), events.slice(0, 3));
    t.strictSame(await log.live(NOW + 1), events.slice(0, 2), 'an event lapses at its exp/until');
    t.strictSame(await log.live(0), events, 'nothing is dropped until pruned');
  });

  t.test('prune deletes only lapsed events', async (t) => {
    const log = await open(t);
    for (const e of events) await log.append(e);
    await log.prune(NOW);
    t.strictSame(await log.live(0), events.slice(0, 3));
    await log.prune(NOW + 60);
    t.strictSame(await log.live(0), [events[1]]);
  });
}
