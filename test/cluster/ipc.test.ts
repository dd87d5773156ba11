// The IPC layer between the primary and its workers (src/cluster), without processes: a pair of
// linked emitters stands in for the cluster channel, which carries JSON.
import t from 'tap';
import { EventEmitter } from 'node:events';
import { availableParallelism } from 'node:os';
import type { Worker } from 'node:cluster';
import { decode, encode } from '../../src/cluster/ipc-codec.js';
import { IpcClient, IpcServer } from '../../src/cluster/ipc-rpc.js';
import { loadConfig } from '../../src/config/load.js';
import { MemoryReplayCache } from '../../src/storage/kv/memory-store.js';
import { StoreUnavailableError } from '../../src/storage/types.js';

const json = (v: unknown) => JSON.parse(JSON.stringify(v));

function channel(): {
  worker: Worker;
  port: EventEmitter & { send: (m: unknown, h?: unknown, o?: unknown, cb?: (e: Error | null) => void) => boolean; connected: boolean };
  others: unknown[];
  /** messages as sent, each way */
  sent: { toPrimary: unknown[]; toWorker: unknown[] };
} {
  const others: unknown[] = [];
  const sent = { toPrimary: [] as unknown[], toWorker: [] as unknown[] };
  const primarySide = new EventEmitter();
  const workerSide = Object.assign(new EventEmitter(), {
    connected: true,
    send(m: unknown, _h?: unknown, _o?: unknown, cb?: (e: Error | null) => void) {
      sent.toPrimary.push(json(m));
      setImmediate(() => primarySide.emit('message', json(m)));
      cb?.(null);
      return true;
    },
  });
  const worker = Object.assign(primarySide, {
    id: 1,
    isConnected: () => workerSide.connected,
    send(m: unknown, _h?: unknown, cb?: (e: Error | null) => void) {
      sent.toWorker.push(json(m));
      setImmediate(() => workerSide.emit('message', json(m)));
      cb?.(null);
      return true;
    },
  }) as unknown as Worker;
  workerSide.on('message', (m: unknown) => {
    if (!(m && typeof m === 'object' && 'tokenmill' in m)) others.push(m);
  });
  return { worker, port: workerSide, others, sent };
}

t.test('codec: Buffers, Maps, Dates, undefined and a member named like the tag survive JSON', async (t) => {
  const value = {
    hash: Buffer.from([0, 1, 2, 255]),
    batch: new Map([
      ['s1', 1],
      ['s2', 2],
    ]),
    at: new Date(1_700_000_000_000),
    list: [Buffer.from('x'), null, 3],
    nothing: undefined,
    jwks: { keys: [{ $tm: 'buf', b: 'AAAA', kty: 'EC' }] },
  };
  const back = decode(json(encode(value))) as typeof value;
  t.ok(Buffer.isBuffer(back.hash) && back.hash.equals(value.hash), 'Buffer');
  t.same([...back.batch], [...value.batch], 'Map');
  t.equal(back.at.getTime(), value.at.getTime(), 'Date');
  t.ok(Buffer.isBuffer(back.list[0]), 'Buffer inside an array');
  t.notOk('nothing' in back, 'an undefined member stays absent');
  t.same(back.jwks, value.jwks, 'client input that looks like a tag is data, not a tag');
  t.equal(decode(json(encode(undefined))), undefined, 'undefined as a value');
  const proto = decode(JSON.parse('{"__proto__":{"polluted":true}}')) as Record<string, unknown>;
  t.equal(({} as Record<string, unknown>).polluted, undefined, 'no prototype pollution');
  t.ok(Object.hasOwn(proto, '__proto__'), '__proto__ stays a member');
});

t.test('rpc: calls, errors, allow-list, broadcasts, and a primary that is gone', async (t) => {
  const { worker, port, others } = channel();
  const server = new IpcServer();
  const replay = new MemoryReplayCache({ now: () => Date.now() });
  server.expose('replay', replay, ['claim']);
  server.handle('x', 'echo', (args) => args);
  server.handle('x', 'down', () => {
    throw new StoreUnavailableError('database');
  });
  server.attach(worker);
  const client = new IpcClient(port, { timeoutMs: 500 });

  const exp = Math.floor(Date.now() / 1000) + 60;
  const claims = await Promise.all(Array.from({ length: 20 }, () => client.call('replay', 'claim', ['k', exp, null])));
  t.equal(claims.filter((c) => c === true).length, 1, 'one of 20 concurrent claims of one key wins');
  t.same(await client.call('x', 'echo', [Buffer.from('hi'), new Map([['a', 1]])]), [Buffer.from('hi'), new Map([['a', 1]])], 'arguments and results round-trip');
  await t.rejects(client.call('x', 'down', []), StoreUnavailableError, 'a store outage stays a StoreUnavailableError (503)');
  await t.rejects(client.call('replay', 'close', []), /no IPC method/, 'only exposed methods can be called');
  await t.rejects(client.call('nope', 'x', []), /no IPC method/);

  const seen: unknown[] = [];
  client.onMessage((m) => seen.push(m));
  worker.send({ tokenmill: 'bus', channel: 'clients', id: 'c1' });
  worker.send({ type: 'prom-client:getMetricsReq', requestId: 1 });
  await new Promise((r) => setTimeout(r, 20));
  t.same(seen, [{ tokenmill: 'bus', channel: 'clients', id: 'c1' }], 'broadcasts reach listeners');
  t.same(others, [{ type: 'prom-client:getMetricsReq', requestId: 1 }], 'messages of other modules pass untouched (and are ignored here)');

  port.connected = false;
  await t.rejects(client.call('x', 'echo', []), StoreUnavailableError, 'no channel: 503 at once');
  port.connected = true;
  worker.removeAllListeners('message');
  const keepAlive = setTimeout(() => {}, 5000); // the client's timer does not hold the process open
  await t.rejects(client.call('x', 'echo', []), StoreUnavailableError, 'no answer within the timeout: 503');
  clearTimeout(keepAlive);
});

t.test('rpc: what one turn sends is one message each way, in order; broadcasts queue behind replies', async (t) => {
  const { worker, port, sent } = channel();
  const server = new IpcServer();
  const replay = new MemoryReplayCache({ now: () => Date.now() });
  server.expose('replay', replay, ['claim']);
  // A read answered, then (a turn of microtasks later, same event-loop turn) an invalidation of what it read.
  server.handle('x', 'read', () => {
    queueMicrotask(() => queueMicrotask(() => server.send(worker, { tokenmill: 'bus', channel: 'clients', id: 'c1' })));
    return 'old';
  });
  server.attach(worker);
  const client = new IpcClient(port, { timeoutMs: 2000 });
  const order: string[] = [];
  client.onMessage((m) => order.push(m.tokenmill));

  const exp = Math.floor(Date.now() / 1000) + 60;
  const claims = await Promise.all(Array.from({ length: 50 }, (_, i) => client.call('replay', 'claim', [`k${i % 25}`, exp, null])));
  t.equal(claims.filter((c) => c === true).length, 25, 'each of 25 keys claimed once of its two calls');
  t.equal(sent.toPrimary.length, 1, '50 calls made in one turn: one message to the primary');
  t.match(sent.toPrimary[0], { tokenmill: 'batch' });
  t.equal((sent.toPrimary[0] as { messages: unknown[] }).messages.length, 50);
  t.same(
    (sent.toPrimary[0] as { messages: { id: number }[] }).messages.map((m) => m.id),
    Array.from({ length: 50 }, (_, i) => i + 1),
    'in the order they were made',
  );
  t.equal(sent.toWorker.length, 1, 'their 50 replies: one message back');

  sent.toPrimary.length = sent.toWorker.length = 0;
  t.equal(await client.call('x', 'read', []), 'old');
  order.push('reply');
  await new Promise((r) => setTimeout(r, 20));
  t.equal(sent.toPrimary.length, 1);
  t.match(sent.toPrimary[0], { tokenmill: 'call', method: 'read' }, 'a lone call goes as itself');
  t.same(
    (sent.toWorker as { tokenmill: string; messages?: { tokenmill: string }[] }[]).flatMap((m) => (m.messages ?? [m]).map((x) => x.tokenmill)),
    ['reply', 'bus'],
    'the invalidation queued after the reply is sent after it',
  );
  t.same(order, ['bus', 'reply'], 'delivered from one batch (the reply settles a turn later)');

  // A hostile or garbled batch: nested batches and non-messages are dropped, the rest answered.
  sent.toWorker.length = 0;
  worker.emit('message', { tokenmill: 'batch', messages: [{ tokenmill: 'batch', messages: [] }, 42, { tokenmill: 'call', id: 999, target: 'x', method: 'read', args: [] }] });
  await new Promise((r) => setTimeout(r, 20));
  t.match(sent.toWorker, [{ tokenmill: 'batch', messages: [{ tokenmill: 'reply', id: 999, ok: true }, { tokenmill: 'bus' }] }]);
  worker.emit('message', { tokenmill: 'batch', messages: 'nope' });
  await new Promise((r) => setTimeout(r, 20));
  t.equal(sent.toWorker.length, 1, 'a batch without a list is ignored');

  // Queued while the channel was up, gone by the time the turn's message is sent: every call 503s.
  sent.toPrimary.length = 0;
  const queued = Promise.allSettled([client.call('x', 'read', []), client.call('replay', 'claim', ['late', exp, null])]);
  port.connected = false;
  const results = await queued;
  t.same(
    results.map((r) => r.status),
    ['rejected', 'rejected'],
  );
  t.ok(
    results.every((r) => r.status === 'rejected' && r.reason instanceof StoreUnavailableError),
    'as StoreUnavailableError (503)',
  );
  t.equal(sent.toPrimary.length, 0, 'nothing was sent');
  port.connected = true;
});

t.test('config: WORKERS=auto is one per core; WORKERS > 1 is allowed on the embedded default', async (t) => {
  t.equal(loadConfig({ WORKERS: 'auto' }).workers, Math.min(64, availableParallelism()));
  t.equal(loadConfig({ WORKERS: '2' }).workers, 2);
  t.equal(loadConfig({ WORKERS: '2', DATABASE_URL: 'postgres://x/y' }).workers, 2, 'PostgreSQL without Redis: the primary owns the stores');
  t.equal(loadConfig({}).workers, 1, 'default 1');
  t.throws(() => loadConfig({ WORKERS: 'many' }), /WORKERS/);
  t.throws(() => loadConfig({ WORKERS: '0' }), /WORKERS/);
});
