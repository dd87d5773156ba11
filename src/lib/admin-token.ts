import { createHash, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checksum, randomBase62 } from './random.js';

const sha256 = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

/** The bootstrap admin credential; only its SHA-256 digest is held. */
export class AdminToken {
  private readonly hash: Buffer;
  /** non-secret identifier for audit records: the first 8 hex characters of the digest */
  readonly id: string;

  constructor(hash: Buffer) {
    this.hash = hash;
    this.id = `admin-token:${hash.toString('hex').slice(0, 8)}`;
  }

  matches(presented: string): boolean {
    return timingSafeEqual(sha256(presented), this.hash);
  }
}

/**
 * ADMIN_TOKEN when configured; otherwise (development) the token generated at first start, whose
 * hash is kept in DATA_DIR. `generated` is the plaintext, returned only the first time so the
 * caller prints it once.
 */
export function resolveAdminToken(configured: string | null, dataDir: string): { token: AdminToken; generated: string | null } {
  if (configured) return { token: new AdminToken(sha256(configured)), generated: null };
  const file = join(dataDir, 'admin-token.sha256');
  if (existsSync(file)) {
    const hex = readFileSync(file, 'utf8').trim();
    if (/^[0-9a-f]{64}$/.test(hex)) return { token: new AdminToken(Buffer.from(hex, 'hex')), generated: null };
  }
  const body = `tmadm_${randomBase62(43)}`;
  const plain = body + checksum(body);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  writeFileSync(file, sha256(plain).toString('hex') + '\n', { mode: 0o600 });
  return { token: new AdminToken(sha256(plain)), generated: plain };
}
