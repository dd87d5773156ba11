import { closeSync, fchmodSync, openSync, writeSync } from 'node:fs';
import type { Command } from 'commander';
import { ImportError, exportData, importData, parseExport, type ExportDocument } from '../../storage/export.js';
import { migrationStatus } from '../../storage/sql/migrate.js';
import { embeddedDatabaseMissing, existingKeyEncryptionKey, openDatabase, openMigrated, type OpenDatabase } from '../../storage/sql/open.js';
import { safeJson } from '../sanitize.js';
import { Context, type Io } from '../context.js';
import { CliError } from '../errors.js';
import { readTextFile } from '../parse.js';
import { settingsFrom } from './migrate.js';

/** `tokenmill import`: clients or keys of the export exist here (and --replace was not given). */
export const EXIT_CONFLICT = 3;
/** `tokenmill import`: this database's key-encryption key cannot decrypt the exported signing keys (and --force was not given). */
export const EXIT_KEY_ENCRYPTION = 4;

const SENSITIVE =
  'tokenmill: warning: the export holds client secret hashes, registration access token hashes and the signing keys ' +
  '(private parts encrypted under the key-encryption key): keep it as secret as the database itself\n';

function writeSecretFile(path: string, text: string): void {
  let fd: number;
  try {
    fd = openSync(path, 'w', 0o600);
  } catch (err) {
    throw new CliError(`cannot write ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  try {
    fchmodSync(fd, 0o600); // an existing file keeps its mode through open(): tighten it
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
}

/** The database to export from: embedded is migrated as its node would be; PostgreSQL only read. */
async function openForExport(io: Io, dataDir: string | undefined): Promise<OpenDatabase> {
  const settings = settingsFrom(io, dataDir);
  if (embeddedDatabaseMissing(settings)) throw new CliError(`no embedded database in ${settings.dataDir} (DATA_DIR); set DATA_DIR, --data-dir or DATABASE_URL`);
  if (!settings.databaseUrl) return openMigrated(settings).catch((err: unknown) => Promise.reject(new CliError((err as Error).message)));
  const db = await openDatabase(settings).catch((err: unknown) => Promise.reject(new CliError((err as Error).message)));
  const status = await migrationStatus(db.sql, { schema: settings.databaseSchema });
  if (status.applied.length === 0) {
    await db.sql.close();
    if (status.legacyPublicTables.length)
      throw new CliError(`no tokenmill tables in schema ${settings.databaseSchema}, but an earlier release's in schema public: set DATABASE_SCHEMA=public to export them`);
    throw new CliError(`no tokenmill tables in ${db.description}`);
  }
  return db;
}

export function exportImportCommands(program: Command, io: Io): void {
  program
    .command('export')
    .description(
      'back up organizations (with initial access token hashes), clients (with secret hashes), signing keys (encrypted, as stored) and revocations in effect, as one JSON document, from DATABASE_URL or the embedded database in DATA_DIR',
    )
    .option('--out <file>', 'write to this file (mode 0600) instead of stdout')
    .option('--data-dir <dir>', 'embedded database directory (DATA_DIR), when DATABASE_URL is unset')
    .addHelpText(
      'after',
      '\nNot exported: the audit log, the admin token, the key-encryption key (only its fingerprint).\nStop an embedded server first: its database is not shared between processes.\nExit codes: 0 ok, 1 error, 2 usage or configuration error.',
    )
    .action(async (opts: { out?: string; dataDir?: string }, cmd: Command) => {
      const ctx = Context.of(cmd, io);
      const settings = settingsFrom(io, opts.dataDir);
      const db = await openForExport(io, opts.dataDir);
      let doc: ExportDocument;
      try {
        doc = await exportData(db.sql, { now: Date.now(), database: db.embedded ? 'pglite' : 'postgresql', kek: existingKeyEncryptionKey(settings) });
      } finally {
        await db.sql.close();
      }
      io.err(SENSITIVE);
      const text = `${safeJson(doc)}\n`;
      const orgCount = doc.orgs?.length ?? 0;
      const summary = `exported ${orgCount ? `${orgCount} organization(s), ` : ''}${doc.clients.length} client(s), ${doc.keys.length} signing key(s), ${doc.revocations.length} revocation(s) from ${db.description}`;
      if (opts.out === undefined) {
        io.out(text);
        io.err(`tokenmill: ${summary}\n`);
        return;
      }
      writeSecretFile(opts.out, text);
      if (ctx.json)
        return ctx.printJson({
          file: opts.out,
          orgs: orgCount,
          clients: doc.clients.length,
          keys: doc.keys.length,
          revocations: doc.revocations.length,
          key_encryption_key_fingerprint: doc.key_encryption_key?.fingerprint ?? null,
        });
      ctx.print(`${summary} to ${opts.out}`);
      if (doc.key_encryption_key)
        ctx.print(`the keys are encrypted under the key-encryption key with fingerprint ${doc.key_encryption_key.fingerprint}; the target needs that key as KEY_ENCRYPTION_KEY`);
    });

  program
    .command('import')
    .description('restore an export (or move an embedded deployment onto PostgreSQL) into DATABASE_URL or the embedded database in DATA_DIR, in one transaction')
    .argument('<file>', 'the export, or - for stdin')
    .option('--replace', 'overwrite clients and signing keys that already exist here')
    .option('--force', "import signing keys this database's KEY_ENCRYPTION_KEY cannot decrypt")
    .option('--data-dir <dir>', 'embedded database directory (DATA_DIR), when DATABASE_URL is unset')
    .addHelpText(
      'after',
      `\nThe target needs the source's key-encryption key as KEY_ENCRYPTION_KEY (an embedded source keeps it in DATA_DIR/key-encryption-key).\n` +
        'Import before the nodes start: running nodes pick up keys within a minute and clients within CLIENT_CACHE_TTL, and a Redis already seeded does not learn imported revocations.\n' +
        `Exit codes: 0 ok, 1 error (unreadable or unknown file), 2 usage or configuration error, ${EXIT_CONFLICT} ids already exist (--replace), ${EXIT_KEY_ENCRYPTION} key-encryption key cannot decrypt the keys (--force).`,
    )
    .action(async (file: string, opts: { replace?: boolean; force?: boolean; dataDir?: string }, cmd: Command) => {
      const ctx = Context.of(cmd, io);
      const settings = settingsFrom(io, opts.dataDir);
      let text: string;
      if (file === '-') {
        if (!io.readStdin) throw new CliError('cannot read stdin here');
        text = await io.readStdin('import -');
      } else {
        text = readTextFile(file);
      }
      let doc: ExportDocument;
      try {
        doc = parseExport(text);
      } catch (err) {
        throw new CliError(`${file}: ${(err as Error).message}`);
      }
      let db;
      try {
        db = await openMigrated(settings);
      } catch (err) {
        throw new CliError((err as Error).message);
      }
      let result;
      try {
        result = await importData(db.sql, doc, { now: Date.now(), kek: existingKeyEncryptionKey(settings), replace: opts.replace === true, force: opts.force === true });
      } catch (err) {
        if (err instanceof ImportError) throw new CliError(err.message, err.reason === 'conflict' ? EXIT_CONFLICT : err.reason === 'key-encryption' ? EXIT_KEY_ENCRYPTION : 1);
        throw err;
      } finally {
        await db.sql.close();
      }
      if (result.undecryptable.length) io.err(`tokenmill: warning: imported signing key(s) ${result.undecryptable.join(', ')} that this database's key-encryption key cannot decrypt (--force)\n`);
      if (io.env.REDIS_URL && result.revocations > 0) {
        io.err(
          'tokenmill: warning: REDIS_URL is set: nodes seed Redis from PostgreSQL only when its key prefix is new or emptied; with a Redis already seeded, these revocations reach it only after its keys under REDIS_KEY_PREFIX are deleted\n',
        );
      }
      if (ctx.json) return ctx.printJson({ database: db.description, ...result });
      ctx.print(
        `imported ${result.orgs ? `${result.orgs} organization(s), ` : ''}${result.clients} client(s) (${result.secrets} secret(s)), ${result.keys} signing key(s), ${result.revocations} revocation(s) into ${db.description}`,
      );
      if (result.revocationsPresent) ctx.print(`${result.revocationsPresent} revocation(s) were already here`);
      const replaced = [...result.replaced.orgs, ...result.replaced.clients, ...result.replaced.keys];
      if (replaced.length) ctx.print(`replaced: ${replaced.join(', ')}`);
    });
}
