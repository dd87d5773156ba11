/**
 * A refused client authentication is answered no sooner than this after it began. Without it the
 * time of a refusal tells an unknown client_id (a database read: no cache holds it, ~0.5 ms) from
 * a known client with a wrong secret or a bad assertion (served from the cache); the contract requires the
 * two to be indistinguishable in timing. Successes are not delayed.
 */
export const REFUSAL_FLOOR_MS = 10;

/**
 * Started when authentication begins, so every refusal waits for the same timer whatever work it
 * did first (a delay computed at the end would carry that work's sub-millisecond remainder, as
 * timers fire on whole milliseconds). Cancelled at the end of every authentication.
 */
export class RefusalFloor {
  private reached = false;
  private waiter: (() => void) | null = null;
  private readonly timer = setTimeout(() => {
    this.reached = true;
    this.waiter?.();
  }, REFUSAL_FLOOR_MS);

  /** Resolves when the floor has passed since this object was created. */
  wait(): Promise<void> {
    if (this.reached) return Promise.resolve();
    return new Promise((resolve) => (this.waiter = resolve));
  }

  cancel(): void {
    clearTimeout(this.timer);
  }
}
