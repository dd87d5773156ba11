import { exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK, type JSONWebKeySet, type KeyObject } from 'jose';
import type { Clock } from '../lib/clock.js';
import type { KeyStore, StoredKey } from '../storage/types.js';
import { kidFor } from './kid.js';
import type { KeyEncryption } from './key-encryption.js';
import { createSigner, type JwsSigner } from './signer.js';

export type KeyState = 'published' | 'active' | 'retired';

export interface SigningKey {
  kid: string;
  alg: string;
  privateKey: CryptoKey | KeyObject;
  /** signs access tokens with this key (header pre-serialised) */
  signer: JwsSigner;
  /** public JWK with kid, alg and use: "sig" (never a private member) */
  publicJwk: JWK;
  createdAt: number;
  activatesAt: number;
  retiresAt: number | null;
  removeAt: number | null;
  origin: StoredKey['origin'];
}

export class KeyDecryptionError extends Error {
  constructor(kid: string, cause: unknown) {
    super(`cannot decrypt signing key ${kid}: KEY_ENCRYPTION_KEY does not match the key that encrypted it (set the original KEY_ENCRYPTION_KEY)`, { cause });
    this.name = 'KeyDecryptionError';
  }
}

const PUBLIC_MEMBERS: Record<string, readonly string[]> = {
  EC: ['kty', 'crv', 'x', 'y'],
  RSA: ['kty', 'n', 'e'],
  OKP: ['kty', 'crv', 'x'],
};

/** Only the public members of a JWK, plus kid, alg and use (RFC 7517; threat model REQ-M3). */
export function publicOnly(jwk: JWK, kid: string, alg: string): JWK {
  const members = PUBLIC_MEMBERS[jwk.kty ?? ''];
  if (!members) throw new Error(`unsupported key type ${String(jwk.kty)}`);
  const source = jwk as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const m of members) if (source[m] !== undefined) out[m] = source[m];
  return { ...out, kid, alg, use: 'sig' } as JWK;
}

/**
 * The signing keys, with states derived from time: published (in the JWKS, not yet signing) →
 * active (signs) → retired (still published until `removeAt`) → removed. The store is the truth
 * shared by every node; this holds the decrypted keys in memory and is reloaded on invalidation.
 */
export class Keyring {
  private readonly store: KeyStore;
  private readonly encryption: KeyEncryption;
  private readonly clock: Clock;
  private keys: SigningKey[] = [];
  private failed: { kid: string; error: string }[] = [];
  private jwksCache: { at: number; jwks: JSONWebKeySet } | null = null;

  constructor(store: KeyStore, encryption: KeyEncryption, clock: Clock) {
    this.store = store;
    this.encryption = encryption;
    this.clock = clock;
  }

  /**
   * Reads every key from the store and decrypts the private parts. A key that cannot be loaded (a
   * corrupt row, an alg that does not fit the key) is skipped and listed by `failures()`; the
   * others keep working. Only when no key at all can be decrypted is that an error (a wrong
   * KEY_ENCRYPTION_KEY: starting would only generate keys no other node can read).
   */
  async load(): Promise<void> {
    const stored = await this.store.list();
    const loaded: SigningKey[] = [];
    const failed: { kid: string; error: string }[] = [];
    const decryptErrors: KeyDecryptionError[] = [];
    const previous = new Map(this.keys.map((k) => [k.kid, k]));
    for (const s of stored) {
      const known = previous.get(s.kid);
      if (known) {
        loaded.push({ ...known, activatesAt: s.activatesAt, retiresAt: s.retiresAt, removeAt: s.removeAt });
        continue;
      }
      let privateJwk: JWK;
      try {
        privateJwk = await this.encryption.decrypt(s.privateJwe);
      } catch (err) {
        const e = new KeyDecryptionError(s.kid, err);
        decryptErrors.push(e);
        failed.push({ kid: s.kid, error: e.message });
        continue;
      }
      try {
        loaded.push({
          kid: s.kid,
          alg: s.alg,
          privateKey: (await importJWK(privateJwk, s.alg)) as CryptoKey,
          signer: createSigner(privateJwk, s.kid, s.alg),
          publicJwk: publicOnly(s.publicJwk as JWK, s.kid, s.alg),
          createdAt: s.createdAt,
          activatesAt: s.activatesAt,
          retiresAt: s.retiresAt,
          removeAt: s.removeAt,
          origin: s.origin,
        });
      } catch (err) {
        failed.push({ kid: s.kid, error: `cannot load signing key ${s.kid} (${s.alg}): ${(err as Error).message}` });
      }
    }
    if (stored.length > 0 && decryptErrors.length === stored.length) throw decryptErrors[0] as KeyDecryptionError;
    this.keys = loaded;
    this.failed = failed;
    this.jwksCache = null;
  }

  /** Stored keys the last load skipped, with why (logged by the caller, reported by /readyz). */
  failures(): readonly { kid: string; error: string }[] {
    return this.failed;
  }

  stateOf(key: SigningKey, now = this.clock.now()): KeyState | 'removed' {
    if (key.removeAt !== null && key.removeAt <= now) return 'removed';
    if (key.activatesAt > now) return 'published';
    if (key.retiresAt !== null && key.retiresAt <= now) return 'retired';
    // A newer active key of the same algorithm supersedes this one.
    const newer = this.keys.some((k) => k.alg === key.alg && k !== key && k.activatesAt > key.activatesAt && k.activatesAt <= now && (k.removeAt === null || k.removeAt > now));
    return newer ? 'retired' : 'active';
  }

  all(): readonly SigningKey[] {
    return this.keys;
  }

  /** The key that signs now for `alg`: the most recently activated active key. */
  signingKey(alg: string): SigningKey | null {
    const now = this.clock.now();
    let best: SigningKey | null = null;
    for (const k of this.keys) {
      if (k.alg !== alg || this.stateOf(k, now) !== 'active') continue;
      if (!best || k.activatesAt > best.activatesAt) best = k;
    }
    return best;
  }

  /** Algorithms that have an active key now. */
  activeAlgorithms(): string[] {
    return [...new Set(this.keys.filter((k) => this.stateOf(k) === 'active').map((k) => k.alg))];
  }

  /** Every key not yet removed: published, active and retired (threat model §3.4). */
  jwks(): JSONWebKeySet {
    const now = this.clock.now();
    if (this.jwksCache && now - this.jwksCache.at < 1000) return this.jwksCache.jwks;
    const jwks = { keys: this.keys.filter((k) => this.stateOf(k, now) !== 'removed').map((k) => k.publicJwk) };
    this.jwksCache = { at: now, jwks };
    return jwks;
  }

  /** Creates a key for each algorithm that has none usable, under the cluster-wide key lock (threat model §3.6). */
  async ensureActiveKeys(algs: readonly string[]): Promise<string[]> {
    const created = await this.store.withLock(async (locked) => {
      const existing = await locked.list();
      const now = this.clock.now();
      const made: string[] = [];
      for (const alg of algs) {
        const usable = existing.some((k) => k.alg === alg && (k.retiresAt === null || k.retiresAt > now) && (k.removeAt === null || k.removeAt > now));
        if (usable) continue;
        // Bootstrap: no token was ever signed for this alg, so nothing waits on a pre-published key.
        made.push((await this.createKey(locked, alg, now, now)).kid);
      }
      return made;
    });
    await this.load();
    return created;
  }

  /** Generates a key and stores it encrypted; it is published now and signs from `activatesAt`. */
  async createKey(store: KeyStore, alg: string, now: number, activatesAt: number): Promise<StoredKey> {
    const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true, ...(alg.startsWith('RS') || alg.startsWith('PS') ? { modulusLength: 2048 } : {}) });
    const publicJwk = await exportJWK(publicKey);
    const kid = await kidFor(publicJwk);
    const stored: StoredKey = {
      kid,
      alg,
      publicJwk: publicOnly(publicJwk, kid, alg) as Record<string, unknown>,
      privateJwe: await this.encryption.encrypt({ ...(await exportJWK(privateKey)), kid, alg }),
      origin: 'generated',
      createdAt: now,
      activatesAt,
      retiresAt: null,
      removeAt: null,
    };
    await store.insert(stored);
    return stored;
  }
}
