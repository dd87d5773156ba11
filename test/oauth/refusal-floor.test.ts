// contract: an unknown client and a wrong secret are indistinguishable in timing. Every invalid_client
// waits for one timer started when authentication began (src/oauth/client-auth/refusal-floor.ts).
import t from 'tap';
import { REFUSAL_FLOOR_MS, RefusalFloor } from '../../src/oauth/client-auth/refusal-floor.js';
import { basic, build, register, tokenRequest } from '../helper.js';

// Timers fire on whole milliseconds of the event loop's clock, which can lag performance.now()
// by up to a millisecond: lower bounds allow for that.
const SLACK_MS = 1.5;

t.test('RefusalFloor.wait resolves once the floor has passed since creation, at once after it', async (t) => {
  const started = performance.now();
  const floor = new RefusalFloor();
  await floor.wait();
  t.ok(performance.now() - started >= REFUSAL_FLOOR_MS - SLACK_MS, 'waited for the floor');
  const later = new RefusalFloor();
  await new Promise((r) => setTimeout(r, REFUSAL_FLOOR_MS + 10));
  const first = await Promise.race([later.wait().then(() => 'floor'), new Promise((r) => setImmediate(() => r('immediate')))]);
  t.equal(first, 'floor', 'an already reached floor does not wait again');
  later.cancel();
});

t.test('RefusalFloor.cancel stops the timer: the process is not kept alive by it', async (t) => {
  const floor = new RefusalFloor();
  floor.cancel();
  const pending = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
  const other = new RefusalFloor();
  t.equal(process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length, pending + 1, 'a live floor is one timer');
  other.cancel();
  t.equal(process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length, pending, 'a cancelled one is none');
});

t.test('token endpoint: an unknown client (a database read) and a wrong secret (cached) are both refused after the floor', async (t) => {
  const { app } = await build(t);
  const client = await register(app, {});
  const timed = async (authorization: string) => {
    const started = performance.now();
    const res = await tokenRequest(app, { grant_type: 'client_credentials' }, { authorization });
    return { res, ms: performance.now() - started };
  };
  for (let i = 0; i < 5; i++) {
    const wrong = await timed(basic(client.client_id, 'tmsec_not-the-secret'));
    const unknown = await timed(basic(`tmc_unknown${i}${Date.now()}`, 'tmsec_not-the-secret'));
    t.equal(wrong.res.statusCode, 401);
    t.equal(unknown.res.statusCode, 401);
    t.equal(unknown.res.body, wrong.res.body, 'same body');
    t.ok(wrong.ms >= REFUSAL_FLOOR_MS - SLACK_MS, `wrong secret answered after ${wrong.ms.toFixed(2)} ms`);
    t.ok(unknown.ms >= REFUSAL_FLOOR_MS - SLACK_MS, `unknown client answered after ${unknown.ms.toFixed(2)} ms`);
  }
});
