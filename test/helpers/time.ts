// Waiting in tests. Prefer, in this order: an injected clock (TestClock in test/helper.ts) moved by
// the test; a wait on a condition under a generous deadline (`pollUntil`, `eventually`); a plain
// `sleep` only to space out actions, never as the proof that something happened. Durations are
// printed as comments (t.comment), not asserted: a loaded CI machine runs many times slower.

/** Resolves after `ms` milliseconds (at once for `ms` <= 0). */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

/** Sleeps until the wall clock has passed `epochSeconds` (a JWT NumericDate), plus `marginMs`. */
export async function sleepPast(epochSeconds: number, marginMs = 50): Promise<void> {
  await sleep(epochSeconds * 1000 + marginMs - Date.now());
}

export interface PollOptions {
  /** Give up after this many milliseconds (counted from `since`). */
  timeoutMs: number;
  /** Pause between two checks; 20 ms unless given. */
  intervalMs?: number;
  /** performance.now() at which the wait began (the elapsed time is counted from it); now unless given. */
  since?: number;
}

export interface PollResult {
  ok: boolean;
  /** Milliseconds from `since` to the check that succeeded (or to giving up): for comments. */
  elapsed: number;
}

/**
 * Calls `check` (at once, then every `intervalMs`) until it returns true or `timeoutMs` has passed;
 * resolves with whether it succeeded and the elapsed milliseconds. Never throws for a timeout.
 */
export async function pollUntil(check: () => boolean | Promise<boolean>, options: PollOptions): Promise<PollResult> {
  const since = options.since ?? performance.now();
  const end = since + options.timeoutMs;
  for (;;) {
    if (await check()) return { ok: true, elapsed: performance.now() - since };
    if (performance.now() >= end) return { ok: false, elapsed: performance.now() - since };
    await sleep(options.intervalMs ?? 20);
  }
}

/** `pollUntil` reduced to its outcome: true once `check` holds, false after `timeoutMs` (default 10 s). */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 10_000, intervalMs = 20): Promise<boolean> {
  return (await pollUntil(check, { timeoutMs, intervalMs })).ok;
}
