/** Time source, injected so expiry and rotation are tested exactly. Milliseconds since the epoch. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** Seconds since the epoch (JWT NumericDate). */
export function epochSeconds(clock: Clock): number {
  return Math.floor(clock.now() / 1000);
}
