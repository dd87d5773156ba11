/**
 * The in-memory revocation deny set kept by a verifier.
 *
 * @packageDocumentation
 */

/** A client-wide revocation: every token of the client issued before `revokedBefore` is refused. */
export interface ClientRevocation {
  /** NumericDate: tokens with `iat` strictly below this are revoked. */
  revokedBefore: number;
  /** NumericDate: when the entry stops mattering (no token it covers can still be valid). */
  exp: number;
}

/**
 * Revoked `jti`s and client-wide revocations, with bounded memory: every entry is dropped once its `exp`
 * plus the grace (the verifier's clock tolerance, during which an expired token still passes the `exp`
 * check) has passed. Stored as `Map<jti, exp>` and `Map<clientId, {revokedBefore, exp}>`.
 */
export class DenySet {
  /** Revoked token ids → their `exp` (NumericDate). */
  readonly tokens = new Map<string, number>();
  /** Client ids → client-wide revocation. */
  readonly clients = new Map<string, ClientRevocation>();
  /** Seconds added to an entry's `exp` before it is dropped. */
  readonly graceSeconds: number;
  #nextExpiry = Number.POSITIVE_INFINITY;

  /** @param graceSeconds - seconds an entry outlives its `exp` (use the verifier's clock tolerance). */
  constructor(graceSeconds: number) {
    this.graceSeconds = graceSeconds;
  }

  /**
   * Records a revoked token. Ignored when already past `exp + grace`. A repeated `jti` keeps the later exp.
   * @param nowSeconds - current NumericDate.
   */
  addToken(jti: string, exp: number, nowSeconds: number): void {
    const until = exp + this.graceSeconds;
    if (until <= nowSeconds) return;
    const prev = this.tokens.get(jti);
    if (prev !== undefined && prev >= exp) return;
    this.tokens.set(jti, exp);
    if (until < this.#nextExpiry) this.#nextExpiry = until;
  }

  /**
   * Records a client-wide revocation; merged with an existing one by taking the later `revokedBefore`
   * and the later `exp` (revocations only ever widen).
   * @param nowSeconds - current NumericDate.
   */
  addClient(clientId: string, revokedBefore: number, exp: number, nowSeconds: number): void {
    const prev = this.clients.get(clientId);
    const merged: ClientRevocation = prev ? { revokedBefore: Math.max(prev.revokedBefore, revokedBefore), exp: Math.max(prev.exp, exp) } : { revokedBefore, exp };
    const until = merged.exp + this.graceSeconds;
    if (until <= nowSeconds) return;
    this.clients.set(clientId, merged);
    if (until < this.#nextExpiry) this.#nextExpiry = until;
  }

  /** True when the token's `jti` is listed, or its client was revoked after (strictly) its `iat`. */
  isRevoked(jti: string, clientId: string, iat: number): boolean {
    if (this.tokens.has(jti)) return true;
    const client = this.clients.get(clientId);
    return client !== undefined && client.revokedBefore > iat;
  }

  /**
   * Drops every entry whose `exp + grace` has passed. Cheap when nothing is due (tracks the next expiry).
   * @returns how many entries were dropped.
   */
  prune(nowSeconds: number): number {
    if (nowSeconds < this.#nextExpiry) return 0;
    let dropped = 0;
    let next = Number.POSITIVE_INFINITY;
    const grace = this.graceSeconds;
    for (const [jti, exp] of this.tokens) {
      const until = exp + grace;
      if (until <= nowSeconds) {
        this.tokens.delete(jti);
        dropped++;
      } else if (until < next) next = until;
    }
    for (const [clientId, entry] of this.clients) {
      const until = entry.exp + grace;
      if (until <= nowSeconds) {
        this.clients.delete(clientId);
        dropped++;
      } else if (until < next) next = until;
    }
    this.#nextExpiry = next;
    return dropped;
  }

  /** Replaces this set's content with another's (used when a snapshot completes). */
  replaceWith(other: DenySet): void {
    this.tokens.clear();
    this.clients.clear();
    for (const [k, v] of other.tokens) this.tokens.set(k, v);
    for (const [k, v] of other.clients) this.clients.set(k, v);
    this.#nextExpiry = other.#nextExpiry;
  }

  /** Empties the set. */
  clear(): void {
    this.tokens.clear();
    this.clients.clear();
    this.#nextExpiry = Number.POSITIVE_INFINITY;
  }
}
