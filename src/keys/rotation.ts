import type { Logger } from 'pino';
import type { Clock } from '../lib/clock.js';
import { MAX_TOKEN_LIFETIME } from '../protocol/index.js';
import type { InvalidationBus, KeyStore, StoredKey } from '../storage/types.js';
import type { Keyring } from './keyring.js';

/** Leeway for clocks of resource servers and nodes (threat model §3.5). */
export const CLOCK_SKEW_MS = 60_000;

export interface RotationPolicy {
  /** how long a new key is published before it signs: at least the JWKS cache max-age */
  publishLeadMs: number;
  /** automatic rotation interval (0 = never) */
  intervalMs: number;
}

/** When a key that stops signing at `retiresAt` may leave the JWKS: after the last token it signed expired. */
export const removalTime = (retiresAt: number): number => retiresAt + MAX_TOKEN_LIFETIME * 1000 + CLOCK_SKEW_MS;

/**
 * Creates a key for `alg`, published now and signing from `now + activateInMs`; the keys of that
 * alg that sign now retire at that moment and stay published until their tokens expired.
 * Runs under the cluster-wide key lock so two nodes never rotate at once.
 */
export async function rotateKey(store: KeyStore, keyring: Keyring, clock: Clock, alg: string, activateInMs: number): Promise<StoredKey> {
  return store.withLock(async (locked) => rotateLocked(locked, keyring, clock, alg, activateInMs));
}

async function rotateLocked(locked: KeyStore, keyring: Keyring, clock: Clock, alg: string, activateInMs: number): Promise<StoredKey> {
  const now = clock.now();
  const activatesAt = now + Math.max(0, activateInMs);
  const created = await keyring.createKey(locked, alg, now, activatesAt);
  for (const k of await locked.list()) {
    if (k.kid === created.kid || k.alg !== alg) continue;
    if (k.retiresAt !== null && k.retiresAt <= activatesAt) continue;
    // Superseded: signs until the new key activates (or until now, if that is sooner for a pending one).
    const retiresAt = k.activatesAt > now ? now : activatesAt;
    await locked.setRetirement(k.kid, retiresAt, removalTime(retiresAt));
  }
  return created;
}

/**
 * The scheduled job: rotates each algorithm in use whose newest key is older than the interval
 * (and has no successor waiting), and deletes keys past their removal time. One node at a time,
 * under the key lock; every node reloads through the bus.
 */
export async function runScheduledRotation(store: KeyStore, keyring: Keyring, clock: Clock, policy: RotationPolicy, algs: readonly string[]): Promise<{ rotated: string[]; removed: string[] }> {
  const result = await store.withLock(async (locked) => {
    const now = clock.now();
    const rotated: string[] = [];
    const removed: string[] = [];
    const keys = await locked.list();
    for (const k of keys) {
      if (k.removeAt !== null && k.removeAt <= now) {
        await locked.delete(k.kid);
        removed.push(k.kid);
      }
    }
    if (policy.intervalMs > 0) {
      for (const alg of algs) {
        const mine = keys.filter((k) => k.alg === alg && (k.removeAt === null || k.removeAt > now));
        const newest = mine.reduce<StoredKey | null>((a, k) => (!a || k.createdAt > a.createdAt ? k : a), null);
        if (!newest || newest.activatesAt > now) continue; // none yet (bootstrap does it) or a successor is pending
        if (now - newest.createdAt >= policy.intervalMs) rotated.push((await rotateLocked(locked, keyring, clock, alg, policy.publishLeadMs)).kid);
      }
    }
    return { rotated, removed };
  });
  return result;
}

/** Runs the scheduled rotation every `everyMs`; reloads keys and tells the fleet when something changed. */
export function scheduleRotation(deps: { store: KeyStore; keyring: Keyring; clock: Clock; bus: InvalidationBus; logger: Logger; policy: RotationPolicy; algs: () => Promise<string[]> }, everyMs = 60_000): () => void {
  let running = false;
  const tick = async () => {
    if (running) return;
    running = true;
    try {
      const { rotated, removed } = await runScheduledRotation(deps.store, deps.keyring, deps.clock, deps.policy, await deps.algs());
      if (rotated.length || removed.length) {
        deps.logger.info({ rotated, removed }, 'signing keys rotated');
        await deps.keyring.load();
        await deps.bus.publish('keys', '*');
      }
    } catch (err) {
      deps.logger.warn({ err: { message: (err as Error).message } }, 'scheduled key rotation failed; will retry');
    } finally {
      running = false;
    }
  };
  const timer = setInterval(() => void tick(), everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
