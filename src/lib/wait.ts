/**
 * `promise`, or — when `timeoutMs` is set and passes first — a rejection with `onTimeout()`. The
 * timer is cleared when `promise` settles and never keeps the process alive.
 */
export function withTimeout<T>(promise: Promise<T>, timeoutMs: number | undefined, onTimeout: () => Error): Promise<T> {
  if (timeoutMs === undefined) return promise;
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(onTimeout()), timeoutMs);
    timer.unref();
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}

/** Callers waiting for one condition (a store seeded, a subscription live), released together. */
export class Waiters {
  #waiting: { resolve: () => void; reject: (err: Error) => void }[] = [];

  /**
   * Resolves at the next `resolveAll`, rejects at the next `rejectAll`; with `timeoutMs`, rejects
   * with `onTimeout()` after that long and stops waiting.
   */
  wait(timeoutMs: number | undefined, onTimeout: () => Error): Promise<void> {
    let waiter: { resolve: () => void; reject: (err: Error) => void } | undefined;
    const released = new Promise<void>((resolve, reject) => {
      waiter = { resolve, reject };
      this.#waiting.push(waiter);
    });
    return withTimeout(released, timeoutMs, () => {
      this.#waiting = this.#waiting.filter((w) => w !== waiter);
      return onTimeout();
    });
  }

  resolveAll(): void {
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const w of waiting) w.resolve();
  }

  rejectAll(err: Error): void {
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const w of waiting) w.reject(err);
  }
}
