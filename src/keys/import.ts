import { createPrivateKey, type KeyObject } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { JWK } from 'jose';
import type { Clock } from '../lib/clock.js';
import type { KeyStore } from '../storage/types.js';
import type { KeyEncryption } from './key-encryption.js';
import { publicOnly } from './keyring.js';
import { kidFor } from './kid.js';
import { removalTime } from './rotation.js';

/**
 * The algorithm of an imported key: the JWK's `alg` when given, else derived from the key. Either
 * way the key must fit it (RFC 8725 §3.1, REQ-J10): ES256 ↔ EC P-256, RS256 ↔ RSA ≥ 2048 bits,
 * PS256 ↔ RSA or RSA-PSS ≥ 2048 bits, EdDSA ↔ Ed25519. A key that does not is never stored: once
 * stored, it could not be loaded by any node.
 */
function algFor(key: KeyObject, fileName: string, jwkAlg: unknown): string {
  if (jwkAlg !== undefined) {
    if (typeof jwkAlg !== 'string') throw new Error(`${fileName}: "alg" must be a string`);
    const derived = algFor(key, fileName, undefined);
    const type = key.asymmetricKeyType;
    const fits = jwkAlg === derived || (jwkAlg === 'PS256' && type === 'rsa') || (jwkAlg === 'RS256' && type === 'rsa' && derived === 'PS256');
    if (!fits) throw new Error(`${fileName}: "alg" ${jwkAlg} does not match the key (${describe(key)}; expected ${type === 'rsa' ? 'RS256 or PS256' : derived})`);
    return jwkAlg;
  }
  const type = key.asymmetricKeyType;
  if (type === 'ec') {
    if (key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') throw new Error(`${fileName}: only P-256 EC keys are supported (ES256)`);
    return 'ES256';
  }
  if (type === 'rsa' || type === 'rsa-pss') {
    if ((key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) throw new Error(`${fileName}: RSA keys must be at least 2048 bits`);
    return /ps256/i.test(fileName) ? 'PS256' : 'RS256';
  }
  if (type === 'ed25519') return 'EdDSA';
  throw new Error(`${fileName}: unsupported key type ${String(type)}`);
}

function describe(key: KeyObject): string {
  const d = key.asymmetricKeyDetails;
  if (key.asymmetricKeyType === 'ec') return `EC ${String(d?.namedCurve)}`;
  if (key.asymmetricKeyType === 'rsa' || key.asymmetricKeyType === 'rsa-pss') return `${key.asymmetricKeyType.toUpperCase()} ${String(d?.modulusLength)} bits`;
  return String(key.asymmetricKeyType);
}

/**
 * Imports operator-supplied private keys (PEM PKCS#8/SEC1/PKCS#1, or private JWK `.json`) from
 * `dir`. A key already stored (same RFC 7638 kid) is skipped. A new key is published now and
 * signs after `publishLeadMs` (or at once when its algorithm has no key yet), superseding the
 * current key of its algorithm. A file that is not a usable key (unreadable, not a private key, an
 * `alg` that does not fit the key) is reported through `onInvalid` and skipped: the other keys are
 * imported and the node starts.
 */
export async function importOperatorKeys(
  dir: string,
  store: KeyStore,
  encryption: KeyEncryption,
  clock: Clock,
  publishLeadMs: number,
  onInvalid: (file: string, reason: string) => void = () => {},
): Promise<string[]> {
  if (!existsSync(dir)) return [];
  const files = readdirSync(dir).filter((f) => /\.(pem|key|json)$/i.test(f)).sort();
  if (files.length === 0) return [];
  return store.withLock(async (locked) => {
    const imported: string[] = [];
    for (const file of files) {
      let key: KeyObject;
      let alg: string;
      try {
        const raw = readFileSync(join(dir, file), 'utf8');
        let jwkAlg: unknown;
        try {
          if (file.toLowerCase().endsWith('.json')) {
            const jwk = JSON.parse(raw) as JWK;
            jwkAlg = jwk.alg;
            key = createPrivateKey({ key: jwk as import('node:crypto').JsonWebKey, format: 'jwk' });
          } else {
            key = createPrivateKey(raw);
          }
        } catch (err) {
          throw new Error(`${file}: not a private key (${(err as Error).message})`, { cause: err });
        }
        alg = algFor(key, file, jwkAlg);
      } catch (err) {
        onInvalid(file, (err as Error).message);
        continue;
      }
      const privateJwk = key.export({ format: 'jwk' }) as JWK;
      const kid = await kidFor(privateJwk);
      const existing = await locked.list();
      if (existing.some((k) => k.kid === kid)) continue;
      const now = clock.now();
      const hasKey = existing.some((k) => k.alg === alg && (k.removeAt === null || k.removeAt > now));
      const activatesAt = hasKey ? now + publishLeadMs : now;
      await locked.insert({
        kid,
        alg,
        publicJwk: publicOnly(privateJwk, kid, alg) as Record<string, unknown>,
        privateJwe: await encryption.encrypt({ ...privateJwk, kid, alg }),
        origin: 'imported',
        createdAt: now,
        activatesAt,
        retiresAt: null,
        removeAt: null,
      });
      for (const k of existing) {
        if (k.alg !== alg || (k.retiresAt !== null && k.retiresAt <= activatesAt)) continue;
        await locked.setRetirement(k.kid, activatesAt, removalTime(activatesAt));
      }
      imported.push(kid);
    }
    return imported;
  });
}
