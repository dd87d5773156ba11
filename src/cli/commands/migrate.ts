import type { Command } from 'commander';
import { MIGRATIONS, migrationStatus } from '../../storage/sql/migrate.js';
import { DatabaseSettingsError, databaseSettings, embeddedDatabaseMissing, openDatabase, openMigrated, type DatabaseSettings } from '../../storage/sql/open.js';
import { Context, type Io } from '../context.js';
import { CliError, UsageError } from '../errors.js';

/** `tokenmill migrate --status`: migrations of this release not applied yet. */
export const EXIT_PENDING = 3;

/** DATABASE_URL / DATABASE_SCHEMA / DATA_DIR / KEY_ENCRYPTION_KEY from the environment, DATA_DIR overridable by --data-dir. */
export function settingsFrom(io: Io, dataDir: string | undefined): DatabaseSettings {
  try {
    return databaseSettings(dataDir === undefined ? io.env : { ...io.env, DATA_DIR: dataDir });
  } catch (err) {
    if (err instanceof DatabaseSettingsError) throw new UsageError(err.message);
    throw err;
  }
}

const versions = (v: readonly number[]) => (v.length ? v.join(', ') : 'none');

/**
 * Applies pending migrations before a rolling deploy (the nodes of the new release then find
 * nothing to do), under the same advisory lock as a starting node; `--status` only reports.
 */
export function migrateCommand(program: Command, io: Io): void {
  program
    .command('migrate')
    .description('apply pending database migrations (DATABASE_URL and DATABASE_SCHEMA, or the embedded database in DATA_DIR), or report them with --status')
    .option('--status', `report applied and pending migrations without applying (exit ${EXIT_PENDING} when some are pending)`)
    .option('--data-dir <dir>', 'embedded database directory (DATA_DIR), when DATABASE_URL is unset')
    .addHelpText(
      'after',
      `\nExit codes: 0 up to date (or migrated), 1 error, 2 usage or configuration error, ${EXIT_PENDING} migrations pending (--status).\nStop an embedded server first: its database is not shared between processes.`,
    )
    .action(async (opts: { status?: boolean; dataDir?: string }, cmd: Command) => {
      const ctx = Context.of(cmd, io);
      const settings = settingsFrom(io, opts.dataDir);
      if (opts.status && embeddedDatabaseMissing(settings)) {
        // Not created just to be inspected.
        const pending = MIGRATIONS.map((m) => m.version);
        if (ctx.json) ctx.printJson({ database: `pglite (${settings.dataDir}/pglite): not created yet`, applied: [], pending, newer: [], legacyPublicTables: [], up_to_date: false });
        else ctx.print(`database: pglite (${settings.dataDir}/pglite): not created yet\npending: ${versions(pending)}`);
        process.exitCode = EXIT_PENDING;
        return;
      }
      if (opts.status) {
        const db = await openDatabase(settings);
        try {
          const status = await migrationStatus(db.sql, { schema: settings.databaseSchema });
          if (ctx.json) ctx.printJson({ database: db.description, ...status, up_to_date: status.pending.length === 0 });
          else {
            ctx.print(`database: ${db.description}`);
            ctx.print(`applied: ${versions(status.applied)}`);
            ctx.print(`pending: ${versions(status.pending)}`);
            if (status.newer.length) ctx.print(`applied by a newer release: ${versions(status.newer)} (this release runs on them: migrations are backward-compatible for one release)`);
            if (status.legacyPublicTables.length) {
              ctx.print(
                db.embedded
                  ? `tables of an earlier release in schema public (${status.legacyPublicTables.join(', ')}) move into ${settings.databaseSchema} at the next migration`
                  : `tables of an earlier release in schema public (${status.legacyPublicTables.join(', ')}): set DATABASE_SCHEMA=public, or move them (tokenmill migrate says how)`,
              );
            }
          }
          if (status.pending.length) process.exitCode = EXIT_PENDING;
        } finally {
          await db.sql.close();
        }
        return;
      }
      let db;
      try {
        db = await openMigrated(settings);
      } catch (err) {
        throw new CliError((err as Error).message);
      }
      try {
        const status = await migrationStatus(db.sql, { schema: settings.databaseSchema });
        if (ctx.json) return ctx.printJson({ database: db.description, applied_now: db.applied, applied: status.applied, pending: status.pending });
        ctx.print(`database: ${db.description}`);
        ctx.print(db.applied.length ? `applied now: ${versions(db.applied)}` : 'nothing to apply: up to date');
        ctx.print(`applied: ${versions(status.applied)}`);
      } finally {
        await db.sql.close();
      }
    });
}
