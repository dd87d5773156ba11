// The stop signals the cluster primaries pass on (src/lib/stop-signals.ts) must be ones every
// process answers with the graceful stop, which is close-with-grace's (src/main.ts): a signal it
// did not handle would kill each worker it reaches.
import t from 'tap';
import { createRequire } from 'node:module';
import { STOP_SIGNALS, onStopSignals } from '../../src/lib/stop-signals.js';

const { signalEvents } = createRequire(import.meta.url)('close-with-grace/events/signal.events.js') as { signalEvents: string[] };

t.test('close-with-grace answers every stop signal', async (t) => {
  for (const signal of STOP_SIGNALS) t.ok(signalEvents.includes(signal), `${signal} is one of close-with-grace's signals`);
});

t.test('onStopSignals adds one listener per stop signal, and its remover takes them all away again', async (t) => {
  const before = STOP_SIGNALS.map((s) => process.listenerCount(s));
  const handler = (): void => {};
  const remove = onStopSignals(handler);
  t.same(
    STOP_SIGNALS.map((s) => process.listenerCount(s)),
    before.map((n) => n + 1),
    'one listener more on each',
  );
  // Checked by identity, not by emitting a signal: the test runner listens for some of them too.
  t.ok(
    STOP_SIGNALS.every((s) => process.listeners(s).includes(handler)),
    'the listener is the handler',
  );
  remove();
  t.same(
    STOP_SIGNALS.map((s) => process.listenerCount(s)),
    before,
    'back to what it was',
  );
});
