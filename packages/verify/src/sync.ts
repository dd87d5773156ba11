/**
 * Shared bookkeeping for revocation sync sources (HTTP feed polling and Redis stream).
 *
 * @packageDocumentation
 */

/** Health of a revocation sync source, as reported by `stats()`. */
export interface SyncStatus {
  /** When the last successful sync round finished (ms since the epoch), or `null` if none yet. */
  lastSyncAt: number | null;
  /** Whether the last round succeeded. */
  healthy: boolean;
  /** Rounds that failed in a row (0 when healthy). */
  consecutiveFailures: number;
  /** Message of the last failure (never holds a credential or a token). */
  lastError: string | undefined;
  /** Rounds attempted so far. */
  attempts: number;
  /** Start of the current run of failed rounds (ms since the epoch), `null` while healthy. */
  unhealthySince: number | null;
  /** Feed / stream entries skipped because they were malformed. */
  malformedEntries: number;
  /** Full re-reads (snapshots) applied so far. */
  snapshots: number;
}

/** A source that keeps a {@link DenySet} in sync. */
export interface RevocationSource {
  /** `poll` (HTTP revocation feed) or `redis` (the server's Redis stream). */
  readonly mode: 'poll' | 'redis';
  /** Starts the background sync. */
  start(): void;
  /** Stops the background sync and releases connections. */
  close(): Promise<void>;
  /** Settles (never rejects) once the first round has finished, successfully or not. */
  readonly firstAttempt: Promise<void>;
  /** Current health. */
  status(): SyncStatus;
}

/** Callback invoked after each round. */
export type SyncResultListener = (ok: boolean, err?: Error) => void;

/** Error raised by a sync round; its message never holds credentials. */
export class SyncError extends Error {
  constructor(message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'SyncError';
  }
}

/** Exponential backoff with ±20 % jitter: base·2^(n-1), capped. */
export function backoffDelay(base: number, failures: number, cap: number): number {
  const raw = Math.min(cap, base * 2 ** Math.max(0, Math.min(failures - 1, 20)));
  return Math.round(raw * (0.8 + Math.random() * 0.4));
}

/** A sleep that {@link CancellableSleep.cancel} ends at once, together with every later one. */
export class CancellableSleep {
  #timer: NodeJS.Timeout | undefined;
  #resolve: (() => void) | undefined;
  #cancelled = false;

  /** Waits `ms` milliseconds (the timer does not keep the process alive); resolves at once once cancelled. */
  wait(ms: number): Promise<void> {
    if (this.#cancelled) return Promise.resolve();
    return new Promise((resolve) => {
      this.#resolve = resolve;
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#resolve = undefined;
        resolve();
      }, ms);
      this.#timer.unref();
    });
  }

  /** Ends the current wait, if any, and makes later waits return at once. */
  cancel(): void {
    this.#cancelled = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    const r = this.#resolve;
    this.#resolve = undefined;
    r?.();
  }
}

/** Base class: health bookkeeping and the first-attempt signal. */
export abstract class SyncBase implements RevocationSource {
  abstract readonly mode: 'poll' | 'redis';
  /** Listener told about every round's outcome. */
  onResult: SyncResultListener | undefined;
  readonly firstAttempt: Promise<void>;
  protected closed = false;
  protected readonly sleeper = new CancellableSleep();
  #resolveFirst: () => void = () => {};
  #lastSyncAt: number | null = null;
  #healthy = false;
  #failures = 0;
  #lastError: string | undefined;
  #attempts = 0;
  #unhealthySince: number | null = null;
  #malformed = 0;
  #snapshots = 0;

  constructor() {
    this.firstAttempt = new Promise<void>((resolve) => {
      this.#resolveFirst = resolve;
    });
  }

  abstract start(): void;
  abstract close(): Promise<void>;

  /** Records a successful round. */
  protected succeeded(): void {
    this.#attempts++;
    this.#lastSyncAt = Date.now();
    this.#healthy = true;
    this.#failures = 0;
    this.#unhealthySince = null;
    this.#resolveFirst();
    this.onResult?.(true);
  }

  /** Records a failed round. */
  protected failed(err: unknown): void {
    this.#attempts++;
    this.#healthy = false;
    this.#failures++;
    this.#unhealthySince ??= Date.now();
    const e = err instanceof Error ? err : new SyncError(String(err));
    this.#lastError = e.message;
    this.#resolveFirst();
    this.onResult?.(false, e);
  }

  /** Counts a skipped malformed entry. */
  protected malformed(): void {
    this.#malformed++;
  }

  /** Counts an applied snapshot / full re-read. */
  protected snapshotApplied(): void {
    this.#snapshots++;
  }

  /** Consecutive failures so far (for backoff). */
  protected get failures(): number {
    return this.#failures;
  }

  status(): SyncStatus {
    return {
      lastSyncAt: this.#lastSyncAt,
      healthy: this.#healthy,
      consecutiveFailures: this.#failures,
      lastError: this.#lastError,
      attempts: this.#attempts,
      unhealthySince: this.#unhealthySince,
      malformedEntries: this.#malformed,
      snapshots: this.#snapshots,
    };
  }
}

/** Current NumericDate. */
export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** A NumericDate: a finite non-negative number. */
export function isNumericDate(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0;
}

/** A non-empty string of at most `max` characters. */
export function isId(v: unknown, max = 1024): v is string {
  return typeof v === 'string' && v.length > 0 && v.length <= max;
}
