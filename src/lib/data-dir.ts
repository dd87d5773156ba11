import { chmodSync, lstatSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** What {@link secureDataDir} changed or could not change. */
export interface DataDirReport {
  /** paths whose mode was looser than 0700 (directories) or 0600 (files) and was tightened */
  tightened: number;
  /** paths that could not be tightened (not ours), with the error */
  failed: { path: string; error: string }[];
}

/**
 * Creates DATA_DIR (0700) and tightens everything under it: directories to 0700, files to 0600.
 * DATA_DIR holds the embedded database, the key-encryption key and the admin token hash. PGlite
 * creates its files 0666 whatever the umask, so this runs at start (before and after the database
 * is opened) and at close; between those, the 0700 directories keep other users out of new files.
 * Symbolic links are neither followed nor changed.
 */
export function secureDataDir(dir: string): DataDirReport {
  const report: DataDirReport = { tightened: 0, failed: [] };
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const visit = (path: string): void => {
    let st;
    try {
      st = lstatSync(path);
    } catch (err) {
      report.failed.push({ path, error: (err as Error).message });
      return;
    }
    if (st.isSymbolicLink()) return;
    const want = st.isDirectory() ? 0o700 : 0o600;
    if ((st.mode & 0o777 & ~want) !== 0) {
      try {
        chmodSync(path, want);
        report.tightened++;
      } catch (err) {
        report.failed.push({ path, error: (err as Error).message });
      }
    }
    if (st.isDirectory()) {
      let entries: string[] = [];
      try {
        entries = readdirSync(path);
      } catch (err) {
        report.failed.push({ path, error: (err as Error).message });
      }
      for (const e of entries) visit(join(path, e));
    }
  };
  visit(dir);
  return report;
}
