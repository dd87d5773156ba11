import type { Worker } from 'node:cluster';
import { InvalidCursorError } from '../storage/sql/client-store.js';
import { StoreUnavailableError } from '../storage/types.js';
import { decode, encode } from './ipc-codec.js';

/**
 * Request/response over the cluster IPC channel: a worker calls `method` of a named `target` the
 * primary exposes, with JSON-serialisable arguments (see ipc-codec), and awaits its result. Every
 * message carries a `tokenmill` member naming its kind; anything else on the channel (node's own,
 * or another module's) is ignored, and other modules can ignore these the same way.
 *
 * What one side sends in one turn of its event loop travels as one `batch`, in order: under load
 * each message is a pipe write and a wake-up of the other process, and every private_key_jwt
 * token makes a call (its replay claim). Replies and invalidation broadcasts share a worker's one
 * queue, so a reply read before an invalidation still arrives before it.
 */
type CallMessage = { tokenmill: 'call'; id: number; target: string; method: string; args: unknown[] };
type ReplyMessage =
  { tokenmill: 'reply'; id: number; ok: true; value: unknown } | { tokenmill: 'reply'; id: number; ok: false; error: { name: string; message: string; store?: string; error?: string } };
type SingleMessage =
  | CallMessage
  | ReplyMessage
  | { tokenmill: 'bus'; channel: 'clients' | 'keys'; id: string }
  // a failed-authentication block the primary's count started (lib/failure-limiter.ts)
  | { tokenmill: 'block'; source: string; ms: number };

export type IpcMessage = SingleMessage | { tokenmill: 'batch'; messages: SingleMessage[] };

export function isIpcMessage(message: unknown): message is IpcMessage {
  return typeof message === 'object' && message !== null && typeof (message as { tokenmill?: unknown }).tokenmill === 'string';
}

/** The messages one received message carries, in order (a batch holds no batches). */
function unbatch(message: IpcMessage): SingleMessage[] {
  if (message.tokenmill !== 'batch') return [message];
  return Array.isArray(message.messages) ? message.messages.filter((m: unknown) => isIpcMessage(m) && m.tokenmill !== 'batch') : [];
}

/** Queues messages and sends what one turn of the event loop queued as one message. */
class Outbox {
  private queue: SingleMessage[] = [];
  /** sends `message`, which carries `messages` (what a failed send has to answer for) */
  private readonly transmit: (message: IpcMessage, messages: SingleMessage[]) => void;

  constructor(transmit: Outbox['transmit']) {
    this.transmit = transmit;
  }

  push(message: SingleMessage): void {
    if (this.queue.push(message) === 1) setImmediate(this.flush);
  }

  private readonly flush = (): void => {
    const messages = this.queue;
    this.queue = [];
    this.transmit(messages.length === 1 ? messages[0]! : { tokenmill: 'batch', messages }, messages);
  };
}

/** The store behind a worker's proxies: what a 503 names when the primary does not answer. */
export const PRIMARY_STORE = 'primary process';

type Handler = (args: unknown[], from: Worker) => unknown;

/** The primary's side: answers calls from every attached worker, one at a time per event-loop turn. */
export class IpcServer {
  private readonly targets = new Map<string, Map<string, Handler>>();
  private readonly outboxes = new WeakMap<Worker, Outbox>();

  /** Exposes the listed methods of `impl` (only those: a worker cannot call `close`). */
  expose<T extends object>(target: string, impl: T, methods: readonly (keyof T & string)[]): void {
    for (const method of methods) {
      const fn = impl[method];
      if (typeof fn !== 'function') throw new Error(`${target}.${method} is not a method`);
      this.handle(target, method, (args) => (fn as (...a: unknown[]) => unknown).apply(impl, args));
    }
  }

  handle(target: string, method: string, handler: Handler): void {
    let methods = this.targets.get(target);
    if (!methods) this.targets.set(target, (methods = new Map()));
    methods.set(method, handler);
  }

  attach(worker: Worker): void {
    worker.on('message', (message: unknown) => {
      if (!isIpcMessage(message)) return;
      for (const m of unbatch(message)) if (m.tokenmill === 'call') void this.answer(worker, m);
    });
  }

  /** Sends `message` to `worker` after the replies queued before it. */
  send(worker: Worker, message: SingleMessage): void {
    let outbox = this.outboxes.get(worker);
    if (!outbox) {
      outbox = new Outbox((m) => {
        if (worker.isConnected()) worker.send(m, undefined, () => {});
      });
      this.outboxes.set(worker, outbox);
    }
    outbox.push(message);
  }

  private async answer(worker: Worker, call: CallMessage): Promise<void> {
    let reply: ReplyMessage;
    try {
      const handler = this.targets.get(call.target)?.get(call.method);
      if (!handler) throw new Error(`no IPC method ${call.target}.${call.method}`);
      const args = Array.isArray(call.args) ? (decode(call.args) as unknown[]) : [];
      reply = { tokenmill: 'reply', id: call.id, ok: true, value: encode(await handler(args, worker)) };
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      const error: { name: string; message: string; store?: string; error?: string } = { name: e.name, message: e.message };
      if (e instanceof StoreUnavailableError) error.store = e.store;
      const code = (e as { error?: unknown }).error;
      if (typeof code === 'string') error.error = code;
      reply = { tokenmill: 'reply', id: call.id, ok: false, error };
    }
    this.send(worker, reply);
  }
}

/** What a worker sends on and listens to: `process` in a cluster worker. */
export interface IpcPort {
  send?: (message: unknown, sendHandle?: undefined, options?: undefined, callback?: (err: Error | null) => void) => boolean;
  connected?: boolean;
  on(event: 'message', listener: (message: unknown) => void): unknown;
}

interface Pending {
  resolve(value: unknown): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

function rebuildError(e: { name: string; message: string; store?: string; error?: string }): Error {
  if (e.name === 'StoreUnavailableError') return new StoreUnavailableError(e.store ?? PRIMARY_STORE);
  if (e.name === 'InvalidCursorError') return new InvalidCursorError();
  const err = new Error(e.message);
  err.name = e.name;
  if (e.error !== undefined) (err as Error & { error?: string }).error = e.error;
  return err;
}

/** A worker's side: calls into the primary; a call unanswered within `timeoutMs` is a 503. */
export class IpcClient {
  private readonly port: IpcPort;
  private readonly timeoutMs: number;
  private readonly pending = new Map<number, Pending>();
  private readonly listeners: ((message: IpcMessage) => void)[] = [];
  private readonly outbox: Outbox;
  private seq = 0;

  constructor(port: IpcPort, options: { timeoutMs?: number } = {}) {
    this.port = port;
    this.timeoutMs = options.timeoutMs ?? 15_000;
    this.outbox = new Outbox((message, messages) => {
      const failed = (err?: Error): void => {
        for (const m of messages) if (m.tokenmill === 'call') this.settle(m.id, new StoreUnavailableError(PRIMARY_STORE, err));
      };
      const send = this.port.send;
      if (!send || this.port.connected === false) return failed();
      send.call(this.port, message, undefined, undefined, (err) => {
        if (err) failed(err);
      });
    });
    port.on('message', (message: unknown) => {
      if (!isIpcMessage(message)) return;
      for (const m of unbatch(message)) {
        if (m.tokenmill !== 'reply') for (const l of this.listeners) l(m);
        else if (m.ok) this.settle(m.id, null, decode(m.value));
        else this.settle(m.id, rebuildError(m.error));
      }
    });
  }

  /** Messages the primary sends unasked (invalidation broadcasts, failed-authentication blocks). */
  onMessage(listener: (message: IpcMessage) => void): void {
    this.listeners.push(listener);
  }

  call(target: string, method: string, args: readonly unknown[]): Promise<unknown> {
    if (!this.port.send || this.port.connected === false) return Promise.reject(new StoreUnavailableError(PRIMARY_STORE));
    const id = ++this.seq;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.settle(id, new StoreUnavailableError(PRIMARY_STORE)), this.timeoutMs);
      timer.unref();
      this.pending.set(id, { resolve, reject, timer });
      this.outbox.push({ tokenmill: 'call', id, target, method, args: encode(args) as unknown[] });
    });
  }

  /** An object whose listed methods are calls to `target` on the primary. */
  proxy<T extends object>(target: string, methods: readonly (keyof T & string)[]): Pick<T, (typeof methods)[number]> {
    const out: Record<string, unknown> = {};
    for (const method of methods) out[method] = (...args: unknown[]) => this.call(target, method, args);
    return out as Pick<T, (typeof methods)[number]>;
  }

  /** Fails every call in flight (the primary is gone). */
  failAll(): void {
    for (const id of [...this.pending.keys()]) this.settle(id, new StoreUnavailableError(PRIMARY_STORE));
  }

  /** Ends call `id` (once): rejected with `err`, else resolved with `value`. */
  private settle(id: number, err: Error | null, value?: unknown): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    clearTimeout(p.timer);
    if (err) p.reject(err);
    else p.resolve(value);
  }
}
