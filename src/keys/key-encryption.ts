import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { CompactEncrypt, compactDecrypt, type JWK } from 'jose';

/** Encrypts private JWKs at rest as compact JWE (`dir` + `A256GCM`) under KEY_ENCRYPTION_KEY. */
export class KeyEncryption {
  private readonly key: Uint8Array;

  constructor(keyB64url: string) {
    const key = Buffer.from(keyB64url, 'base64url');
    if (key.length !== 32) throw new Error('KEY_ENCRYPTION_KEY must be 32 bytes, base64url-encoded (43 characters)');
    this.key = new Uint8Array(key);
  }

  encrypt(privateJwk: JWK): Promise<string> {
    return new CompactEncrypt(new TextEncoder().encode(JSON.stringify(privateJwk))).setProtectedHeader({ alg: 'dir', enc: 'A256GCM', cty: 'jwk+json' }).encrypt(this.key);
  }

  async decrypt(jwe: string): Promise<JWK> {
    const { plaintext } = await compactDecrypt(jwe, this.key, { keyManagementAlgorithms: ['dir'], contentEncryptionAlgorithms: ['A256GCM'] });
    return JSON.parse(new TextDecoder().decode(plaintext)) as JWK;
  }
}

/**
 * The configured KEK, or in development a generated one kept in DATA_DIR (0600). Production
 * requires KEY_ENCRYPTION_KEY (checked by config).
 */
export function resolveKeyEncryptionKey(configured: string | null, dataDir: string): { key: string; generated: boolean } {
  if (configured) return { key: configured, generated: false };
  const file = join(dataDir, 'key-encryption-key');
  if (existsSync(file)) return { key: readFileSync(file, 'utf8').trim(), generated: false };
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const key = randomBytes(32).toString('base64url');
  writeFileSync(file, key + '\n', { mode: 0o600 });
  return { key, generated: true };
}
