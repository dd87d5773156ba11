import { write, writeSync } from 'node:fs';

/** Pending log text beyond this is dropped rather than held (a reader that stopped reading must not exhaust memory). */
const MAX_PENDING_BYTES = 16 * 1024 * 1024;
/**
 * Lines are gathered this long before a write starts: one write, and one hand-off to libuv's pool
 * (which also signs the tokens), per batch instead of one per few lines under load.
 */
const BATCH_MS = 10;
/** How long a synchronous flush may wait on a full pipe (EAGAIN) before it gives up. */
const FLUSH_SYNC_BUDGET_MS = 1000;
const pause = new Int32Array(new SharedArrayBuffer(4));

/**
 * pino's destination for a file descriptor (stdout). Lines are written asynchronously, in batches:
 * gathered for up to BATCH_MS, and while a write is pending, as sonic-boom does; unlike sonic-boom
 * it never spins. A write error
 * other than EAGAIN (EPIPE: the reader of a pipe is gone) stops logging for good and drops what is
 * pending, and `flushSync` gives up after a bounded wait. sonic-boom's `flushSync`, which pino runs
 * at process exit, retries EPIPE forever: with stdout a broken pipe, SIGTERM never finished.
 */
export class FdDestination {
  /** the write error that stopped logging, if any */
  failure: NodeJS.ErrnoException | null = null;
  /** lines dropped because the reader fell too far behind */
  dropped = 0;
  private pending = '';
  private writing = false;
  private timer: NodeJS.Timeout | null = null;
  private waiters: (() => void)[] = [];

  private readonly fd: number;
  private readonly onFailure: (err: NodeJS.ErrnoException) => void;

  constructor(fd: number, onFailure: (err: NodeJS.ErrnoException) => void = () => {}) {
    this.fd = fd;
    this.onFailure = onFailure;
  }

  write(line: string): boolean {
    if (this.failure) return true;
    if (this.pending.length + line.length > MAX_PENDING_BYTES) {
      this.dropped++;
      return true;
    }
    this.pending += line;
    this.schedule();
    return true;
  }

  /** Calls `cb` once everything written so far has reached the descriptor, or logging has stopped. */
  flush(cb: (err?: Error) => void = () => {}): void {
    if (this.failure || (!this.writing && this.pending === '')) return cb();
    this.waiters.push(() => cb());
    this.cancelTimer();
    this.start();
  }

  /**
   * Writes what is pending now, synchronously (for process exit). A write already in flight is left
   * to finish. Never blocks longer than about a second, and never retries a broken descriptor.
   */
  flushSync(): void {
    this.cancelTimer();
    if (this.failure || this.pending === '') return;
    let buf = Buffer.from(this.pending);
    this.pending = '';
    const deadline = Date.now() + FLUSH_SYNC_BUDGET_MS;
    while (buf.length > 0) {
      try {
        buf = buf.subarray(writeSync(this.fd, buf));
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        if (e.code === 'EAGAIN' && Date.now() < deadline) {
          Atomics.wait(pause, 0, 0, 5);
          continue;
        }
        this.fail(e);
        return;
      }
    }
  }

  /** A batch starts BATCH_MS after its first line, unless a write is in flight (its end starts the next). */
  private schedule(): void {
    if (this.writing || this.timer !== null || this.failure) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.start();
    }, BATCH_MS);
    this.timer.unref();
  }

  private cancelTimer(): void {
    if (this.timer === null) return;
    clearTimeout(this.timer);
    this.timer = null;
  }

  /** Writes what is pending now; with nothing pending, calls back whoever waits for a flush. */
  private start(): void {
    if (this.writing || this.failure) return;
    if (this.pending === '') {
      for (const w of this.waiters.splice(0)) w();
      return;
    }
    this.writing = true;
    const text = this.pending;
    this.pending = '';
    write(this.fd, text, null, 'utf8', (err, n) => {
      if (err) this.failed(err, () => this.writeBuffer(Buffer.from(text)));
      else if (n < Buffer.byteLength(text)) this.writeBuffer(Buffer.from(text).subarray(n));
      else this.written();
    });
  }

  /** A write finished: a flush waiting goes on at once; otherwise the next batch is gathered first. */
  private written(): void {
    this.writing = false;
    if (this.waiters.length > 0 || this.pending === '') this.start();
    else this.schedule();
  }

  /** EAGAIN (a full non-blocking pipe): `retry` a little later; anything else stops logging. */
  private failed(err: NodeJS.ErrnoException, retry: () => void): void {
    if (err.code === 'EAGAIN') setTimeout(retry, 10);
    else this.fail(err);
  }

  private writeBuffer(buf: Buffer): void {
    write(this.fd, buf, 0, buf.length, null, (err, n) => {
      if (err) this.failed(err, () => this.writeBuffer(buf));
      else if (n < buf.length) this.writeBuffer(buf.subarray(n));
      else this.written();
    });
  }

  private fail(err: NodeJS.ErrnoException): void {
    if (this.failure) return;
    this.failure = err;
    this.cancelTimer();
    this.pending = '';
    this.writing = false;
    for (const w of this.waiters.splice(0)) w();
    this.onFailure(err);
  }
}
