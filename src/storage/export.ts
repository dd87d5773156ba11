import { createHash } from 'node:crypto';
import { KeyEncryption } from '../keys/key-encryption.js';
import { SqlAuditLog } from './sql/audit-log.js';
import { SqlRevocationLog } from './sql/revocation-log.js';
import { quoteIdent } from './sql/schema.js';
import type { RevocationEvent, Sql, SqlQueryable } from './types.js';

/**
 * Backup and restore (`tokenmill export` / `tokenmill import`): organizations with their initial
 * access tokens (hashes, expiry and use counts: a restored token is as spent as it was), clients
 * with their secret and registration-token hashes, signing keys as stored (private parts still JWE under the
 * key-encryption key), and the revocations still in effect, as one versioned JSON document.
 * It works on the SQL tables, not the HTTP API: hashes never leave the server by API.
 *
 * Rows travel column by column, named as in the database: a timestamp as an ISO 8601 string, a
 * bytea as base64url, jsonb as JSON. Import converts each value by the target column's type, so
 * columns added by later migrations come along without a new format version; a column the target
 * does not have is refused (an export of a newer release: upgrade the target first).
 * Not exported: the audit log, the admin token (its hash is DATA_DIR's or ADMIN_TOKEN's), the
 * key-encryption key itself (only its fingerprint), settings, web console sessions (short-lived
 * sign-ins, not data to restore) and Redis state.
 */
export const EXPORT_FORMAT = 'tokenmill-export';
export const EXPORT_VERSION = 1;

type Row = Record<string, unknown>;

export interface ExportedRevocationToken {
  type: 'token';
  jti: string;
  exp: number;
  client_id: string | null;
}
export interface ExportedRevocationClient {
  type: 'client';
  client_id: string;
  revoked_before: number;
  until: number;
}
export type ExportedRevocation = ExportedRevocationToken | ExportedRevocationClient;

export interface ExportDocument {
  format: typeof EXPORT_FORMAT;
  version: typeof EXPORT_VERSION;
  exported_at: string;
  source: { database: string; migrations: number[] };
  /** which key-encryption key the keys are encrypted under: a fingerprint, never the key */
  key_encryption_key: { fingerprint: string; hint: string } | null;
  /**
   * rows of `orgs`, each with `initial_access_tokens`: its rows of `org_initial_access_tokens`
   * (without org_id); absent in exports of releases before organizations
   */
  orgs?: (Row & { org_id: string; initial_access_tokens: Row[] })[];
  /** rows of `clients`, each with `secrets`: its rows of `client_secrets` (without client_id) */
  clients: (Row & { client_id: string; secrets: Row[] })[];
  /** rows of `signing_keys` */
  keys: (Row & { kid: string; private_jwe: string })[];
  revocations: ExportedRevocation[];
}

/** A short, one-way fingerprint of a key-encryption key: tells two keys apart, reveals nothing usable. */
export function kekFingerprint(key: string): string {
  return createHash('sha256').update('tokenmill key-encryption-key fingerprint\0').update(Buffer.from(key, 'base64url')).digest().subarray(0, 9).toString('base64url');
}

function toJson(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (v instanceof Date) return v.toISOString();
  if (v instanceof Uint8Array) return Buffer.from(v).toString('base64url');
  if (typeof v === 'bigint') return Number(v);
  return v;
}

function rowToJson(row: Row, omit: readonly string[] = []): Row {
  const out: Row = {};
  for (const [k, v] of Object.entries(row)) if (!omit.includes(k)) out[k] = toJson(v);
  return out;
}

function revocationToJson(e: RevocationEvent): ExportedRevocation {
  return e.type === 'token' ? { type: 'token', jti: e.jti, exp: e.exp, client_id: e.clientId } : { type: 'client', client_id: e.clientId, revoked_before: e.revokedBefore, until: e.until };
}

export interface ExportOptions {
  /** epoch ms */
  now: number;
  /** e.g. `pglite` or `postgresql` */
  database: string;
  kek: { key: string; from: string } | null;
}

/** Reads everything in one read-only, repeatable-read transaction: a consistent snapshot. */
export async function exportData(sql: Sql, options: ExportOptions): Promise<ExportDocument> {
  const doc = await sql.transaction(async (tx) => {
    await tx.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
    const migrations = (await tx.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version')).rows.map((r) => Number(r.version));
    const orgs = (await tx.query('SELECT * FROM orgs ORDER BY created_at, org_id')).rows;
    const iats = (await tx.query<Row & { org_id: string }>('SELECT * FROM org_initial_access_tokens ORDER BY org_id, created_at, id')).rows;
    const byOrg = new Map<string, Row[]>();
    for (const i of iats) byOrg.set(i.org_id, [...(byOrg.get(i.org_id) ?? []), rowToJson(i, ['org_id'])]);
    const clients = (await tx.query('SELECT * FROM clients ORDER BY created_at, client_id')).rows;
    const secrets = (await tx.query<Row & { client_id: string }>('SELECT * FROM client_secrets ORDER BY client_id, created_at, secret_id')).rows;
    const keys = (await tx.query('SELECT * FROM signing_keys ORDER BY activates_at, kid')).rows;
    const revocations = await new SqlRevocationLog(tx).live(Math.floor(options.now / 1000));
    const byClient = new Map<string, Row[]>();
    for (const s of secrets) byClient.set(s.client_id, [...(byClient.get(s.client_id) ?? []), rowToJson(s, ['client_id'])]);
    return {
      format: EXPORT_FORMAT,
      version: EXPORT_VERSION,
      exported_at: new Date(options.now).toISOString(),
      source: { database: options.database, migrations },
      key_encryption_key: options.kek
        ? {
            fingerprint: kekFingerprint(options.kek.key),
            hint: `the keys are encrypted under the key-encryption key of the source (${options.kek.from}); give the target that key as KEY_ENCRYPTION_KEY`,
          }
        : null,
      orgs: orgs.map((o) => ({ ...rowToJson(o), initial_access_tokens: byOrg.get(String(o.org_id)) ?? [] })) as NonNullable<ExportDocument['orgs']>,
      clients: clients.map((c) => ({ ...rowToJson(c), secrets: byClient.get(String(c.client_id)) ?? [] })) as ExportDocument['clients'],
      keys: keys.map((k) => rowToJson(k)) as ExportDocument['keys'],
      revocations: revocations.map(revocationToJson),
    } satisfies ExportDocument;
  });
  await new SqlAuditLog(sql).record({
    at: options.now,
    actor: 'cli',
    action: 'data.export',
    target: null,
    outcome: 'success',
    requestId: null,
    detail: { orgs: doc.orgs?.length ?? 0, clients: doc.clients.length, keys: doc.keys.length, revocations: doc.revocations.length },
  });
  return doc;
}

/** Why an import was refused; the CLI turns `reason` into its exit code. */
export class ImportError extends Error {
  readonly reason: 'invalid' | 'conflict' | 'key-encryption';
  constructor(reason: ImportError['reason'], message: string) {
    super(message);
    this.name = 'ImportError';
    this.reason = reason;
  }
}

const isObject = (v: unknown): v is Row => typeof v === 'object' && v !== null && !Array.isArray(v);
const isString = (v: unknown): v is string => typeof v === 'string' && v.length > 0;
const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** Checks the document's shape (format and version first); throws ImportError('invalid'). */
export function parseExport(text: string): ExportDocument {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new ImportError('invalid', `not JSON: ${(err as Error).message}`);
  }
  if (!isObject(doc) || doc.format !== EXPORT_FORMAT)
    throw new ImportError('invalid', `not a tokenmill export (format ${JSON.stringify(isObject(doc) ? (doc.format ?? null) : null)}, expected "${EXPORT_FORMAT}")`);
  if (doc.version !== EXPORT_VERSION) throw new ImportError('invalid', `unsupported export version ${JSON.stringify(doc.version ?? null)}: this release reads version ${EXPORT_VERSION}`);
  const bad = (what: string) => new ImportError('invalid', `malformed export: ${what}`);
  if (!Array.isArray(doc.clients) || !Array.isArray(doc.keys) || !Array.isArray(doc.revocations)) throw bad('clients, keys and revocations must be arrays');
  if (doc.orgs !== undefined && !Array.isArray(doc.orgs)) throw bad('orgs must be an array');
  (doc.orgs ?? []).forEach((o: unknown, i) => {
    if (!isObject(o) || !isString(o.org_id) || !Array.isArray(o.initial_access_tokens)) throw bad(`orgs[${i}] needs org_id and initial_access_tokens`);
    o.initial_access_tokens.forEach((x: unknown, j) => {
      if (!isObject(x) || !isString(x.id)) throw bad(`orgs[${i}].initial_access_tokens[${j}] needs id`);
    });
  });
  doc.clients.forEach((c: unknown, i) => {
    if (!isObject(c) || !isString(c.client_id) || !Array.isArray(c.secrets)) throw bad(`clients[${i}] needs client_id and secrets`);
    c.secrets.forEach((s: unknown, j) => {
      if (!isObject(s) || !isString(s.secret_id)) throw bad(`clients[${i}].secrets[${j}] needs secret_id`);
    });
  });
  doc.keys.forEach((k: unknown, i) => {
    if (!isObject(k) || !isString(k.kid) || !isString(k.private_jwe)) throw bad(`keys[${i}] needs kid and private_jwe`);
  });
  doc.revocations.forEach((r: unknown, i) => {
    const ok =
      isObject(r) &&
      ((r.type === 'token' && isString(r.jti) && isNumber(r.exp) && (r.client_id === null || isString(r.client_id))) ||
        (r.type === 'client' && isString(r.client_id) && isNumber(r.revoked_before) && isNumber(r.until)));
    if (!ok) throw bad(`revocations[${i}] is neither a token nor a client revocation`);
  });
  return doc as unknown as ExportDocument;
}

/** Column name → data_type of a table in the connection's schema. */
async function columnTypes(q: SqlQueryable, table: string): Promise<Map<string, string>> {
  const { rows } = await q.query<{ column_name: string; data_type: string }>(
    'SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1',
    [table],
  );
  return new Map(rows.map((r) => [r.column_name, r.data_type]));
}

function fromJson(v: unknown, type: string, where: string): unknown {
  if (v === null || v === undefined) return null;
  if (type === 'bytea') {
    if (typeof v !== 'string') throw new ImportError('invalid', `${where}: expected a base64url string`);
    return Buffer.from(v, 'base64url');
  }
  if (type.startsWith('timestamp') || type === 'date') {
    const d = new Date(v as string | number);
    if (typeof v === 'boolean' || Number.isNaN(d.getTime())) throw new ImportError('invalid', `${where}: expected a date`);
    return d;
  }
  if (type === 'json' || type === 'jsonb') return JSON.stringify(v);
  return v;
}

/** INSERT … ON CONFLICT (key) DO UPDATE: every column the row names, converted by the target's type. */
async function upsert(q: SqlQueryable, table: string, key: string, row: Row, types: Map<string, string>, where: string): Promise<void> {
  const names = Object.keys(row);
  const unknown = names.filter((n) => !types.has(n));
  if (unknown.length)
    throw new ImportError('invalid', `${where}: column(s) ${unknown.join(', ')} do not exist in table ${table} of this database (an export of a newer release? upgrade this one first)`);
  const params = names.map((n) => fromJson(row[n], types.get(n)!, `${where}.${n}`));
  const cols = names.map(quoteIdent);
  const updates = names.filter((n) => n !== key).map((n) => `${quoteIdent(n)} = EXCLUDED.${quoteIdent(n)}`);
  await q.query(
    `INSERT INTO ${quoteIdent(table)} (${cols.join(', ')}) VALUES (${names.map((_, i) => `$${i + 1}`).join(', ')})
     ON CONFLICT (${quoteIdent(key)}) DO ${updates.length ? `UPDATE SET ${updates.join(', ')}` : 'NOTHING'}`,
    params,
  );
}

export interface ImportOptions {
  /** epoch ms */
  now: number;
  /** the key-encryption key of the target (KEY_ENCRYPTION_KEY or DATA_DIR's), null when it has none */
  kek: { key: string; from: string } | null;
  /** overwrite clients and keys that exist in the target */
  replace?: boolean;
  /** import signing keys the target's key-encryption key cannot decrypt */
  force?: boolean;
}

export interface ImportResult {
  orgs: number;
  clients: number;
  secrets: number;
  keys: number;
  revocations: number;
  /** revocations already in the target */
  revocationsPresent: number;
  /** ids that existed and were overwritten (--replace) */
  replaced: { orgs: string[]; clients: string[]; keys: string[] };
  /** kids the target's key-encryption key cannot decrypt (imported with --force) */
  undecryptable: string[];
}

const list = (ids: readonly string[], max = 20) => (ids.length > max ? `${ids.slice(0, max).join(', ')} and ${ids.length - max} more` : ids.join(', '));

/** Which signing keys `kek` cannot decrypt (every key when there is none). */
async function undecryptableKeys(doc: ExportDocument, kek: ImportOptions['kek']): Promise<string[]> {
  if (!kek) return doc.keys.map((k) => k.kid);
  let encryption: KeyEncryption;
  try {
    encryption = new KeyEncryption(kek.key);
  } catch {
    return doc.keys.map((k) => k.kid);
  }
  const failed: string[] = [];
  for (const k of doc.keys) await encryption.decrypt(k.private_jwe).catch(() => failed.push(k.kid));
  return failed;
}

/**
 * Imports a parsed export in one transaction, into a migrated database. Refuses (ImportError):
 * ids that exist unless `replace`; signing keys the target's key-encryption key cannot decrypt
 * (checked by decrypting each) unless `force`. Revocations already present are not repeated.
 */
export async function importData(sql: Sql, doc: ExportDocument, options: ImportOptions): Promise<ImportResult> {
  const undecryptable = await undecryptableKeys(doc, options.kek);
  if (undecryptable.length && !options.force) {
    const source = doc.key_encryption_key?.fingerprint;
    const target = options.kek
      ? `the key-encryption key of this database (${options.kek.from}, fingerprint ${kekFingerprint(options.kek.key)})`
      : 'this database has no key-encryption key (no KEY_ENCRYPTION_KEY, none in DATA_DIR)';
    throw new ImportError(
      'key-encryption',
      `${options.kek ? `${target} cannot decrypt` : `${target} to decrypt`} signing key(s) ${list(undecryptable)}` +
        `${source ? ` (the export was made under a key with fingerprint ${source})` : ''}: set KEY_ENCRYPTION_KEY to the source's key ` +
        '(an embedded source keeps it in DATA_DIR/key-encryption-key), or pass --force to import them anyway (they will neither sign nor be usable until that key is set)',
    );
  }
  return sql.transaction(async (tx) => {
    const orgs = doc.orgs ?? [];
    const orgIds = orgs.map((o) => o.org_id);
    const existingOrgs = (await tx.query<{ org_id: string }>('SELECT org_id FROM orgs WHERE org_id = ANY($1) ORDER BY org_id', [orgIds])).rows.map((r) => r.org_id);
    const iatIds = orgs.flatMap((o) => o.initial_access_tokens.map((x) => String(x.id)));
    const foreignIats = (await tx.query<{ id: string }>('SELECT id FROM org_initial_access_tokens WHERE id = ANY($1) AND NOT (org_id = ANY($2)) ORDER BY id', [iatIds, orgIds])).rows.map((r) => r.id);
    if (foreignIats.length) throw new ImportError('conflict', `initial access token id(s) ${list(foreignIats)} belong to other organizations in this database`);
    const clientIds = doc.clients.map((c) => c.client_id);
    const kids = doc.keys.map((k) => k.kid);
    const secretIds = doc.clients.flatMap((c) => c.secrets.map((s) => String(s.secret_id)));
    const existingClients = (await tx.query<{ client_id: string }>('SELECT client_id FROM clients WHERE client_id = ANY($1) ORDER BY client_id', [clientIds])).rows.map((r) => r.client_id);
    const existingKeys = (await tx.query<{ kid: string }>('SELECT kid FROM signing_keys WHERE kid = ANY($1) ORDER BY kid', [kids])).rows.map((r) => r.kid);
    // A secret id held by a client the export does not carry would be taken from that client.
    const foreignSecrets = (
      await tx.query<{ secret_id: string }>('SELECT secret_id FROM client_secrets WHERE secret_id = ANY($1) AND NOT (client_id = ANY($2)) ORDER BY secret_id', [secretIds, clientIds])
    ).rows.map((r) => r.secret_id);
    if (foreignSecrets.length) throw new ImportError('conflict', `secret id(s) ${list(foreignSecrets)} belong to other clients in this database`);
    if ((existingOrgs.length || existingClients.length || existingKeys.length) && !options.replace) {
      const parts = [
        existingOrgs.length ? `organization(s) ${list(existingOrgs)}` : '',
        existingClients.length ? `client(s) ${list(existingClients)}` : '',
        existingKeys.length ? `signing key(s) ${list(existingKeys)}` : '',
      ].filter(Boolean);
      throw new ImportError('conflict', `${parts.join(' and ')} already exist in this database: pass --replace to overwrite them with the exported ones`);
    }
    // Organizations first: clients name them.
    const orgTypes = await columnTypes(tx, 'orgs');
    const iatTypes = await columnTypes(tx, 'org_initial_access_tokens');
    for (const [i, o] of orgs.entries()) {
      const { initial_access_tokens: rows, ...org } = o;
      await upsert(tx, 'orgs', 'org_id', org, orgTypes, `orgs[${i}]`);
      await tx.query('DELETE FROM org_initial_access_tokens WHERE org_id = $1 AND NOT (id = ANY($2))', [o.org_id, rows.map((x) => String(x.id))]);
      for (const [j, x] of rows.entries()) await upsert(tx, 'org_initial_access_tokens', 'id', { ...x, org_id: o.org_id }, iatTypes, `orgs[${i}].initial_access_tokens[${j}]`);
    }
    const clientTypes = await columnTypes(tx, 'clients');
    const secretTypes = await columnTypes(tx, 'client_secrets');
    const keyTypes = await columnTypes(tx, 'signing_keys');
    let secrets = 0;
    for (const [i, c] of doc.clients.entries()) {
      const { secrets: rows, ...client } = c;
      await upsert(tx, 'clients', 'client_id', client, clientTypes, `clients[${i}]`);
      // Replaced: the client's secrets are the exported ones, no others.
      await tx.query('DELETE FROM client_secrets WHERE client_id = $1 AND NOT (secret_id = ANY($2))', [c.client_id, rows.map((s) => String(s.secret_id))]);
      for (const [j, s] of rows.entries()) await upsert(tx, 'client_secrets', 'secret_id', { ...s, client_id: c.client_id }, secretTypes, `clients[${i}].secrets[${j}]`);
      secrets += rows.length;
    }
    for (const [i, k] of doc.keys.entries()) await upsert(tx, 'signing_keys', 'kid', k, keyTypes, `keys[${i}]`);

    const log = new SqlRevocationLog(tx);
    const nowSeconds = Math.floor(options.now / 1000);
    const id = (e: ExportedRevocation) => (e.type === 'token' ? `t ${e.jti}` : `c ${e.client_id} ${e.revoked_before}`);
    const present = new Set((await log.live(nowSeconds)).map((e) => id(revocationToJson(e))));
    let revocations = 0;
    let revocationsPresent = 0;
    for (const r of doc.revocations) {
      if ((r.type === 'token' ? r.exp : r.until) <= nowSeconds) continue; // lapsed since the export
      if (present.has(id(r))) {
        revocationsPresent++;
        continue;
      }
      await log.append(
        r.type === 'token' ? { type: 'token', jti: r.jti, exp: r.exp, clientId: r.client_id } : { type: 'client', clientId: r.client_id, revokedBefore: r.revoked_before, until: r.until },
      );
      present.add(id(r));
      revocations++;
    }
    const result: ImportResult = {
      orgs: orgs.length,
      clients: doc.clients.length,
      secrets,
      keys: doc.keys.length,
      revocations,
      revocationsPresent,
      replaced: { orgs: existingOrgs, clients: existingClients, keys: existingKeys },
      undecryptable,
    };
    await new SqlAuditLog(tx).record({
      at: options.now,
      actor: 'cli',
      action: 'data.import',
      target: null,
      outcome: 'success',
      requestId: null,
      detail: {
        exported_at: doc.exported_at,
        orgs: result.orgs,
        clients: result.clients,
        keys: result.keys,
        revocations: result.revocations,
        replaced_clients: existingClients.length,
        replaced_keys: existingKeys.length,
        forced_keys: undecryptable.length,
      },
    });
    return result;
  });
}
