// Child-process entry of openPglite (pglite.ts): creates a new embedded database in the directory
// given as the only argument, then exits, taking initdb's memory with it. A failure is reported
// as one line on stderr, which the parent puts into its start-up error.
import { PGlite } from '@electric-sql/pglite';
import { PGLITE_OPTIONS } from './pglite.js';

const dataDir = process.argv[2];
// Nothing initdb creates is for other users (PGlite still chmods its files 0666: the parent tightens them).
process.umask(0o077);
try {
  if (!dataDir) throw new Error('usage: pglite-init <data-dir>');
  const db = new PGlite(dataDir, PGLITE_OPTIONS);
  await db.waitReady;
  await db.close();
} catch (err) {
  // PGlite's file-system errors are { name: 'ErrnoError', errno } without a message.
  const e = err as { message?: string; name?: string; errno?: number };
  process.stderr.write(`${e.message || e.name || String(err)}${typeof e.errno === 'number' ? ` (errno ${e.errno})` : ''}\n`);
  process.exitCode = 1;
}
