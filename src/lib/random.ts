import { randomFillSync, randomInt } from 'node:crypto';
import { crc32 } from 'node:zlib';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** Uniformly random base62 string of the given length (rejection sampling via randomInt). */
export function randomBase62(length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += BASE62[randomInt(62)];
  return out;
}

/** Fixed-width base62 encoding of an unsigned 32-bit integer (6 characters cover 2^32). */
export function base62Fixed(value: number, width: number): string {
  let out = '';
  let v = value >>> 0;
  for (let i = 0; i < width; i++) {
    out = BASE62[v % 62] + out;
    v = Math.floor(v / 62);
  }
  return out;
}

/** CRC32 checksum of a token body in 6 base62 characters, as secret scanners expect (GitHub-style tokens). */
export function checksum(body: string): string {
  return base62Fixed(crc32(body), 6);
}

const POOL_SIZE = 4096;
let pool = Buffer.alloc(0);
let offset = POOL_SIZE;

/**
 * 16 bytes from the CSPRNG, base64url (a token `jti`). Draws from a 4 KiB buffer refilled by
 * randomFillSync, so the hot path makes one entropy call per 256 tokens instead of one each.
 */
export function randomId16(): string {
  if (offset + 16 > POOL_SIZE) {
    pool = randomFillSync(Buffer.allocUnsafe(POOL_SIZE));
    offset = 0;
  }
  const id = pool.toString('base64url', offset, offset + 16);
  pool.fill(0, offset, offset + 16);
  offset += 16;
  return id;
}
