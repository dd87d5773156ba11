import { hash, timingSafeEqual } from 'node:crypto';
import { checksum, randomBase62 } from '../lib/random.js';
import type { ClientSecret } from './client.js';

export const SECRET_PREFIX = 'tmsec_';
const BODY_LENGTH = 43; // 43 base62 characters ≈ 256 bits (RFC 6749 §10.10, threat model REQ-B5)
const SHOWN_PREFIX_LENGTH = SECRET_PREFIX.length + 6;
const SECRET_SHAPE = /^tmsec_[0-9A-Za-z]{49}$/;

/** A new secret: `tmsec_` + 43 random base62 characters + a 6-character CRC32 checksum (base62). */
export function generateSecretValue(): string {
  const body = SECRET_PREFIX + randomBase62(BODY_LENGTH);
  return body + checksum(body);
}

/** Offline check a secret scanner can run: right shape and a matching checksum. */
export function hasValidChecksum(value: string): boolean {
  if (!SECRET_SHAPE.test(value)) return false;
  const body = value.slice(0, -6);
  return checksum(body) === value.slice(-6);
}

export function hashSecret(value: string): Buffer {
  // One-shot hash: no Hash object per token request.
  return hash('sha256', value, 'buffer');
}

export function newClientSecret(secretId: string, now: number, expiresAt: number | null): { value: string; record: ClientSecret } {
  const value = generateSecretValue();
  return {
    value,
    record: { secretId, hash: hashSecret(value), prefix: value.slice(0, SHOWN_PREFIX_LENGTH), createdAt: now, expiresAt, lastUsedAt: null },
  };
}

/** Compared against when the client is unknown, so both paths do the same work (threat model REQ-A4). */
const DUMMY_HASH = hashSecret('tokenmill-dummy-secret-for-constant-work');

/**
 * Finds the live secret matching `presented`, comparing SHA-256 digests in constant time
 * (threat model REQ-A5). Every live secret is compared, and with none a dummy is, so the work does not
 * reveal which one matched or whether the client exists. Returns the matching secret's id.
 */
export function matchSecret(presented: string, secrets: readonly ClientSecret[] | null, now: number): string | null {
  const digest = hashSecret(presented);
  let matched: string | null = null;
  let compared = 0;
  for (const s of secrets ?? []) {
    if (s.expiresAt !== null && s.expiresAt <= now) continue;
    compared++;
    if (timingSafeEqual(digest, s.hash) && matched === null) matched = s.secretId;
  }
  if (compared === 0) timingSafeEqual(digest, DUMMY_HASH);
  return matched;
}

/**
 * Whether `presented` is one of the client's expired secrets: called only after {@link matchSecret}
 * refused it, to tell "expired" from "wrong" in the log detail and the failure metric (every
 * refusal is answered after the same floor, so the extra comparison is not observable).
 */
export function matchesExpiredSecret(presented: string, secrets: readonly ClientSecret[], now: number): boolean {
  const expired = secrets.filter((s) => s.expiresAt !== null && s.expiresAt <= now);
  if (expired.length === 0) return false;
  const digest = hashSecret(presented);
  let found = false;
  for (const s of expired) if (timingSafeEqual(digest, s.hash)) found = true;
  return found;
}
