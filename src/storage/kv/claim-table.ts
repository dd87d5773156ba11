import { createHash } from 'node:crypto';

const INITIAL_CAPACITY = 1024;
const DIGEST_KEY = /^[A-Za-z0-9_-]{43}$/;

/**
 * Single-use markers with an expiry, in typed arrays: a slot is a 64-bit fingerprint of the key and
 * the expiry in epoch seconds (12 bytes), at most three quarters full (linear probing). At a high
 * private_key_jwt rate (~10,000 assertions a second, each held for up to 5 minutes) a Map of the
 * string keys holds ~110 bytes a marker; this table 16–32 (docs/architecture.md, decision 9).
 *
 * The fingerprint is the key's first 64 bits when the key is a base64url SHA-256 digest (the replay
 * key of private_key_jwt), else the first 64 bits of the key's SHA-256. A new key whose fingerprint
 * matches one of n live markers (n/2⁶⁴: 10⁻¹³ at 3 million) is refused as if replayed: a false
 * refusal, never a replay accepted. Expired slots stay until the next rebuild (growth or `compact()`).
 */
export class ClaimTable {
  private capacity = INITIAL_CAPACITY;
  private fp0 = new Uint32Array(INITIAL_CAPACITY);
  private fp1 = new Uint32Array(INITIAL_CAPACITY);
  /** 0: empty slot */
  private expires = new Uint32Array(INITIAL_CAPACITY);
  private used = 0;

  /**
   * Claims `key` until `expiresAtSeconds` unless a claim of it is still live at `nowSeconds`.
   * Returns whether this call made the claim.
   */
  claim(key: string, expiresAtSeconds: number, nowSeconds: number): boolean {
    const fp = fingerprint(key);
    const expires = Math.max(1, Math.min(0xffffffff, Math.ceil(expiresAtSeconds)));
    const mask = this.capacity - 1;
    for (let i = fp[0]! & mask; ; i = (i + 1) & mask) {
      const held = this.expires[i]!;
      if (held === 0) {
        this.put(i, fp, expires);
        return true;
      }
      if (this.fp0[i] === fp[0] && this.fp1[i] === fp[1]) {
        if (held > nowSeconds) return false;
        this.expires[i] = expires;
        return true;
      }
    }
  }

  /** Drops markers expired at `nowSeconds`, shrinking the table when most of it is free. */
  compact(nowSeconds: number): void {
    let live = 0;
    for (let i = 0; i < this.capacity; i++) if (this.expires[i]! > nowSeconds) live++;
    let capacity = INITIAL_CAPACITY;
    while (capacity < live * 2) capacity *= 2;
    this.rebuild(capacity, nowSeconds);
  }

  /** Slots in use, expired ones included until the next rebuild. */
  get size(): number {
    return this.used;
  }

  /** Bytes held by the table's arrays. */
  get bytes(): number {
    return this.capacity * 12;
  }

  private put(i: number, fp: Uint32Array, expires: number): void {
    this.fp0[i] = fp[0]!;
    this.fp1[i] = fp[1]!;
    this.expires[i] = expires;
    this.used++;
    if (this.used * 4 > this.capacity * 3) this.rebuild(this.capacity * 2, 0);
  }

  /** Re-inserts every slot expiring after `dropUpToSeconds` into a table of `capacity` slots. */
  private rebuild(capacity: number, dropUpToSeconds: number): void {
    const [fp0, fp1, expires, old] = [this.fp0, this.fp1, this.expires, this.capacity];
    this.capacity = capacity;
    this.fp0 = new Uint32Array(capacity);
    this.fp1 = new Uint32Array(capacity);
    this.expires = new Uint32Array(capacity);
    this.used = 0;
    const mask = capacity - 1;
    for (let j = 0; j < old; j++) {
      const e = expires[j]!;
      if (e === 0 || e <= dropUpToSeconds) continue;
      let i = fp0[j]! & mask;
      while (this.expires[i] !== 0) i = (i + 1) & mask;
      this.fp0[i] = fp0[j]!;
      this.fp1[i] = fp1[j]!;
      this.expires[i] = e;
      this.used++;
    }
  }
}

const scratch = new Uint32Array(2);

/** The key's 64-bit fingerprint, in a shared scratch array (read it before the next call). */
function fingerprint(key: string): Uint32Array {
  const bytes = DIGEST_KEY.test(key) ? Buffer.from(key.slice(0, 11), 'base64url') : createHash('sha256').update(key).digest();
  scratch[0] = bytes.readUInt32LE(0);
  scratch[1] = bytes.readUInt32LE(4);
  return scratch;
}
