import type { KeyOrigin, KeyStore, Sql, SqlQueryable, StoredKey } from '../types.js';

interface KeyRow {
  kid: string;
  alg: string;
  public_jwk: Record<string, unknown>;
  private_jwe: string;
  origin: KeyOrigin;
  created_at: Date;
  activates_at: Date;
  retires_at: Date | null;
  remove_at: Date | null;
}

const toKey = (r: KeyRow): StoredKey => ({
  kid: r.kid,
  alg: r.alg,
  publicJwk: r.public_jwk,
  privateJwe: r.private_jwe,
  origin: r.origin,
  createdAt: r.created_at.getTime(),
  activatesAt: r.activates_at.getTime(),
  retiresAt: r.retires_at ? r.retires_at.getTime() : null,
  removeAt: r.remove_at ? r.remove_at.getTime() : null,
});

/** Arbitrary constant: the advisory lock under which keys are created and rotated. */
const KEY_LOCK = 746_116_002;

class QueryableKeyStore implements KeyStore {
  protected readonly q: SqlQueryable;
  private readonly lock: <T>(fn: (store: KeyStore) => Promise<T>) => Promise<T>;
  constructor(q: SqlQueryable, lock: <T>(fn: (store: KeyStore) => Promise<T>) => Promise<T>) {
    this.q = q;
    this.lock = lock;
  }

  async list(): Promise<StoredKey[]> {
    const { rows } = await this.q.query<KeyRow>('SELECT * FROM signing_keys ORDER BY activates_at, kid');
    return rows.map(toKey);
  }

  async insert(k: StoredKey): Promise<void> {
    await this.q.query(
      `INSERT INTO signing_keys (kid, alg, public_jwk, private_jwe, origin, created_at, activates_at, retires_at, remove_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (kid) DO NOTHING`,
      [
        k.kid,
        k.alg,
        JSON.stringify(k.publicJwk),
        k.privateJwe,
        k.origin,
        new Date(k.createdAt),
        new Date(k.activatesAt),
        k.retiresAt === null ? null : new Date(k.retiresAt),
        k.removeAt === null ? null : new Date(k.removeAt),
      ],
    );
  }

  async setRetirement(kid: string, retiresAt: number, removeAt: number): Promise<void> {
    await this.q.query('UPDATE signing_keys SET retires_at = $2, remove_at = $3 WHERE kid = $1', [kid, new Date(retiresAt), new Date(removeAt)]);
  }

  async delete(kid: string): Promise<void> {
    await this.q.query('DELETE FROM signing_keys WHERE kid = $1', [kid]);
  }

  withLock<T>(fn: (store: KeyStore) => Promise<T>): Promise<T> {
    return this.lock(fn);
  }
}

export class SqlKeyStore extends QueryableKeyStore {
  constructor(sql: Sql) {
    super(sql, (fn) =>
      sql.transaction(async (tx) => {
        await tx.query('SELECT pg_advisory_xact_lock($1)', [KEY_LOCK]);
        // Inside the lock, every read and write goes through the locked transaction.
        return fn(new QueryableKeyStore(tx, () => Promise.reject(new Error('key lock is not re-entrant'))));
      }),
    );
  }
}
