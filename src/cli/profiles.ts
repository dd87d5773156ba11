import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { CliError, UsageError } from './errors.js';

/**
 * Saved logins (`tokenmill login`), like `gh auth login` or `kcadm.sh config credentials`:
 * `$XDG_CONFIG_HOME/tokenmill/config.json` (default `~/.config/tokenmill/config.json`), the
 * directory 0700 and the file 0600. A file that group or others can read, or that another user
 * owns, is refused: it holds admin tokens.
 */

export const DEFAULT_PROFILE = 'default';

export interface Profile {
  url: string;
  issuer?: string;
  admin_token: string;
}

export interface ConfigFile {
  profiles: Record<string, Profile>;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export function checkProfileName(name: string): string {
  if (!NAME.test(name)) throw new UsageError(`profile name ${JSON.stringify(name)}: letters, digits, '.', '_' and '-', at most 64`);
  return name;
}

/** The config file's path: $XDG_CONFIG_HOME/tokenmill/config.json, else ~/.config/tokenmill/config.json. */
export function configPath(env: Record<string, string | undefined>): string {
  const xdg = env.XDG_CONFIG_HOME;
  // XDG Base Directory: a relative value is invalid and ignored.
  const base = xdg && xdg.startsWith('/') ? xdg : join(env.HOME || homedir(), '.config');
  return join(base, 'tokenmill', 'config.json');
}

/** The profile to use: --profile, else TOKENMILL_PROFILE, else `default`; and whether it was asked for. */
export function profileName(flag: string | undefined, env: Record<string, string | undefined>): { name: string; explicit: boolean } {
  if (flag !== undefined) return { name: checkProfileName(flag), explicit: true };
  if (env.TOKENMILL_PROFILE) return { name: checkProfileName(env.TOKENMILL_PROFILE), explicit: true };
  return { name: DEFAULT_PROFILE, explicit: false };
}

function isProfile(v: unknown): v is Profile {
  if (!v || typeof v !== 'object') return false;
  const p = v as Record<string, unknown>;
  return typeof p.url === 'string' && typeof p.admin_token === 'string' && (p.issuer === undefined || typeof p.issuer === 'string');
}

/** The saved profiles; none when the file does not exist. */
export function readConfig(path: string): ConfigFile {
  let st;
  try {
    st = statSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { profiles: {} };
    throw new CliError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (process.platform !== 'win32') {
    if ((st.mode & 0o077) !== 0) throw new CliError(`${path} holds admin tokens but group or others can access it (mode ${(st.mode & 0o777).toString(8)}): run chmod 600 ${path}`);
    if (typeof process.getuid === 'function' && st.uid !== process.getuid()) throw new CliError(`${path} belongs to another user: refusing to use it`);
  }
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    throw new CliError(`${path} is not JSON: fix it, or remove it and log in again`);
  }
  const profiles = (value as { profiles?: unknown } | null)?.profiles;
  if (!profiles || typeof profiles !== 'object') return { profiles: {} };
  const out: Record<string, Profile> = {};
  for (const [name, p] of Object.entries(profiles)) if (NAME.test(name) && isProfile(p)) out[name] = { url: p.url, admin_token: p.admin_token, ...(p.issuer ? { issuer: p.issuer } : {}) };
  return { profiles: out };
}

/** Writes the file atomically (a 0600 temporary file renamed over it), creating the directory 0700. */
export function writeConfig(path: string, config: ConfigFile): void {
  const dir = dirname(path);
  if (!existsSync(dir)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
  }
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    writeFileSync(tmp, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
    chmodSync(tmp, 0o600);
    renameSync(tmp, path);
  } catch (err) {
    try {
      unlinkSync(tmp);
    } catch {
      // already gone
    }
    throw new CliError(`cannot write ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}
