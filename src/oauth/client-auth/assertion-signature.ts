import { KeyObject, constants, verify, type VerifyKeyObjectInput } from 'node:crypto';

/**
 * JWS signature verification for client assertions with node:crypto: `verify` with a callback runs
 * on libuv's thread pool, off the event loop (as access tokens are signed, keys/signer.ts). jose
 * still parses the header, selects the registered key and the claims are checked as before; only
 * the signature check itself moves here. The algorithm fixes the hash, the padding and the key
 * type; a key of another type (an RSA key for ES256, a P-384 key for ES256, an Ed448 key for EdDSA,
 * RSA under 2048 bits) is refused before any verification, and only `true` from OpenSSL accepts.
 */
interface Params {
  hash: 'sha256' | 'sha384' | 'sha512' | null;
  /** the key type (KeyObject.asymmetricKeyType) and, for EC, the curve the algorithm requires */
  keyTypes: readonly string[];
  curve?: string;
  /** ECDSA: R || S of this many bytes (RFC 7518 §3.4), not DER */
  p1363Bytes?: number;
  padding?: number;
  saltLength?: number;
}

const RSA = ['rsa', 'rsa-pss'] as const;
const PARAMS: Record<string, Params> = {
  ES256: { hash: 'sha256', keyTypes: ['ec'], curve: 'prime256v1', p1363Bytes: 64 },
  ES384: { hash: 'sha384', keyTypes: ['ec'], curve: 'secp384r1', p1363Bytes: 96 },
  ES512: { hash: 'sha512', keyTypes: ['ec'], curve: 'secp521r1', p1363Bytes: 132 },
  RS256: { hash: 'sha256', keyTypes: ['rsa'], padding: constants.RSA_PKCS1_PADDING },
  RS384: { hash: 'sha384', keyTypes: ['rsa'], padding: constants.RSA_PKCS1_PADDING },
  RS512: { hash: 'sha512', keyTypes: ['rsa'], padding: constants.RSA_PKCS1_PADDING },
  // RFC 7518 §3.5: MGF1 with the same hash, salt length = hash length.
  PS256: { hash: 'sha256', keyTypes: RSA, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 },
  PS384: { hash: 'sha384', keyTypes: RSA, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 48 },
  PS512: { hash: 'sha512', keyTypes: RSA, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 64 },
  // RFC 8037 / RFC 9864: EdDSA (as jose verifies it) and Ed25519 are Ed25519 only; no pre-hash.
  EdDSA: { hash: null, keyTypes: ['ed25519'] },
  Ed25519: { hash: null, keyTypes: ['ed25519'] },
};

/** The JWS algorithms this module verifies (asymmetric only: never HS*, never none). */

const MIN_RSA_BITS = 2048;

/** Whether `key` is a public key of the type `alg` requires (the alg/key-type binding). */
export function keyFitsAlg(alg: string, key: KeyObject): boolean {
  const p = Object.hasOwn(PARAMS, alg) ? PARAMS[alg] : undefined;
  if (!p || key.type !== 'public' || !key.asymmetricKeyType || !p.keyTypes.includes(key.asymmetricKeyType)) return false;
  const details = key.asymmetricKeyDetails ?? {};
  if (p.curve !== undefined && details.namedCurve !== p.curve) return false;
  if (key.asymmetricKeyType.startsWith('rsa') && !((details.modulusLength ?? 0) >= MIN_RSA_BITS)) return false;
  // An RSA-PSS key restricted to another hash cannot verify this alg.
  if (key.asymmetricKeyType === 'rsa-pss' && details.hashAlgorithm !== undefined && details.hashAlgorithm !== p.hash) return false;
  return true;
}

/**
 * Resolves true only when `signature` is a valid `alg` signature of `signingInput` (the ASCII
 * `header.payload`) under `key`; false for anything else: an unknown alg, a key that does not fit
 * it, a signature of the wrong length, an error from OpenSSL. Never rejects.
 */
export function verifyJwsSignature(alg: string, key: KeyObject, signingInput: string, signature: Buffer): Promise<boolean> {
  const p = Object.hasOwn(PARAMS, alg) ? PARAMS[alg] : undefined;
  if (!p || !keyFitsAlg(alg, key)) return Promise.resolve(false);
  if (p.p1363Bytes !== undefined && signature.length !== p.p1363Bytes) return Promise.resolve(false);
  // RFC 8017 §8.1.2 and §8.2.2, step 1: an RSA signature is exactly as long as the modulus. OpenSSL
  // alone takes a shorter one as if left-padded with zeros (a second encoding of one signature).
  if (p.padding !== undefined && signature.length !== Math.ceil((key.asymmetricKeyDetails?.modulusLength ?? 0) / 8)) return Promise.resolve(false);
  const options: VerifyKeyObjectInput & { saltLength?: number } = { key };
  if (p.p1363Bytes !== undefined) options.dsaEncoding = 'ieee-p1363';
  if (p.padding !== undefined) options.padding = p.padding;
  if (p.saltLength !== undefined) options.saltLength = p.saltLength;
  return new Promise((resolve) => {
    try {
      verify(p.hash, Buffer.from(signingInput, 'ascii'), options, signature, (err, ok) => resolve(!err && ok === true));
    } catch {
      resolve(false);
    }
  });
}

const fromCryptoKey = new WeakMap<object, KeyObject>();

/** The KeyObject of what jose's key set returned (a CryptoKey, cached; or already a KeyObject); null for anything else. */
export function toKeyObject(key: unknown): KeyObject | null {
  if (key instanceof KeyObject) return key;
  if (typeof key !== 'object' || key === null) return null;
  let out = fromCryptoKey.get(key);
  if (!out) {
    try {
      out = KeyObject.from(key as Parameters<typeof KeyObject.from>[0]);
    } catch {
      return null;
    }
    fromCryptoKey.set(key, out);
  }
  return out;
}
