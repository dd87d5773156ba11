import type { Command } from 'commander';
import { AdminApi } from './api.js';
import { CliError, UsageError } from './errors.js';
import { baseUrl } from './http.js';
import { safeJson } from './sanitize.js';
import { configPath, profileName, readConfig, type Profile } from './profiles.js';

export const DEFAULT_URL = 'http://127.0.0.1:8081';
export const DEFAULT_ISSUER = 'http://127.0.0.1:8080';

export interface GlobalOptions {
  url?: string;
  issuer?: string;
  adminToken?: string;
  json?: boolean;
  profile?: string;
}

export interface Io {
  out(text: string): void;
  err(text: string): void;
  env: Record<string, string | undefined>;
  /**
   * Standard input, up to its end, without one trailing newline: the value of a secret given as
   * `-`, so that it never appears in the process list. At most once per run; `what` names the
   * option in errors.
   */
  readStdin?(what: string): Promise<string>;
  /** A value never to print (an admin token read from a profile): redacted from all output. */
  secret?(value: string): void;
  /** --json was given: errors are printed as JSON too (see index.ts). */
  jsonErrors?: boolean;
}

/** A token or secret given as `-` is read from stdin (the process list shows only the `-`). */
export async function fromStdinIfDash(io: Io, value: string, what: string): Promise<string> {
  if (value !== '-') return value;
  if (!io.readStdin) throw new UsageError(`${what}: cannot read stdin here`);
  return io.readStdin(what);
}

/**
 * What every command needs: output, --json, and the admin API / issuer resolved from flags, then
 * the environment (TOKENMILL_URL, TOKENMILL_ISSUER, TOKENMILL_ADMIN_TOKEN), then the profile
 * (--profile, TOKENMILL_PROFILE, or `default`, saved by `tokenmill login`), then defaults.
 */
export class Context {
  readonly io: Io;
  readonly json: boolean;
  readonly #opts: GlobalOptions;
  #profile: Profile | null | undefined;

  constructor(io: Io, opts: GlobalOptions) {
    this.io = io;
    this.#opts = opts;
    this.json = opts.json === true;
  }

  static of(cmd: Command, io: Io): Context {
    return new Context(io, cmd.optsWithGlobals<GlobalOptions>());
  }

  /** The profile's name, and whether it was asked for (--profile, TOKENMILL_PROFILE). */
  get profileName(): { name: string; explicit: boolean } {
    return profileName(this.#opts.profile, this.io.env);
  }

  /**
   * The saved profile, read only when a flag or variable leaves something to it; null when there
   * is none (an error when one was asked for by name).
   */
  profile(): Profile | null {
    if (this.#profile !== undefined) return this.#profile;
    const { name, explicit } = this.profileName;
    const path = configPath(this.io.env);
    const found = readConfig(path).profiles[name] ?? null;
    if (!found && explicit) throw new CliError(`no profile ${name} in ${path}: run \`tokenmill login --profile ${name}\``);
    if (found) this.io.secret?.(found.admin_token);
    this.#profile = found;
    return found;
  }

  /** The admin listener's base URL: --url, TOKENMILL_URL, the profile, or the default. */
  get url(): string {
    const given = this.#opts.url ?? (this.io.env.TOKENMILL_URL || undefined);
    if (given !== undefined) return baseUrl(given, '--url / TOKENMILL_URL');
    const saved = this.profile()?.url;
    return baseUrl(saved ?? DEFAULT_URL, saved ? `the url of profile ${this.profileName.name}` : '--url / TOKENMILL_URL');
  }

  /** The public base URL (the issuer): --issuer, TOKENMILL_ISSUER, the profile, or the default. */
  get issuer(): string {
    const given = this.#opts.issuer ?? (this.io.env.TOKENMILL_ISSUER || undefined);
    if (given !== undefined) return baseUrl(given, '--issuer / TOKENMILL_ISSUER');
    const saved = this.profile()?.issuer;
    return baseUrl(saved ?? DEFAULT_ISSUER, saved ? `the issuer of profile ${this.profileName.name}` : '--issuer / TOKENMILL_ISSUER');
  }

  /** Whether --issuer was given on the command line (serve passes it on as ISSUER). */
  get issuerFlag(): string | undefined {
    return this.#opts.issuer;
  }

  get adminTokenFlag(): string | undefined {
    return this.#opts.adminToken;
  }

  /** The admin token (--admin-token, TOKENMILL_ADMIN_TOKEN, the profile): never printed. */
  get adminToken(): string | undefined {
    return this.#opts.adminToken ?? (this.io.env.TOKENMILL_ADMIN_TOKEN || undefined) ?? this.profile()?.admin_token;
  }

  admin(): AdminApi {
    const token = this.adminToken;
    if (!token) throw new CliError('no admin token: run `tokenmill login`, set TOKENMILL_ADMIN_TOKEN or pass --admin-token');
    return new AdminApi(this.url, token);
  }

  print(text: string): void {
    this.io.out(text.endsWith('\n') ? text : `${text}\n`);
  }

  /** JSON for scripts; control and bidi characters inside strings are \uXXXX escapes (sanitize.ts). */
  printJson(value: unknown): void {
    this.io.out(`${safeJson(value)}\n`);
  }
}
