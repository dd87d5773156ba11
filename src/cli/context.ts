import type { Command } from 'commander';
import { AdminApi } from './api.js';
import { CliError, UsageError } from './errors.js';
import { baseUrl } from './http.js';
import { safeJson } from './sanitize.js';

export const DEFAULT_URL = 'http://127.0.0.1:8081';
export const DEFAULT_ISSUER = 'http://127.0.0.1:8080';

export interface GlobalOptions {
  url?: string;
  issuer?: string;
  adminToken?: string;
  json?: boolean;
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
}

/** A token or secret given as `-` is read from stdin (the process list shows only the `-`). */
export async function fromStdinIfDash(io: Io, value: string, what: string): Promise<string> {
  if (value !== '-') return value;
  if (!io.readStdin) throw new UsageError(`${what}: cannot read stdin here`);
  return io.readStdin(what);
}

/** What every command needs: output, --json, and the admin API / issuer resolved from flags, then env, then defaults. */
export class Context {
  readonly io: Io;
  readonly json: boolean;
  readonly #opts: GlobalOptions;

  constructor(io: Io, opts: GlobalOptions) {
    this.io = io;
    this.#opts = opts;
    this.json = opts.json === true;
  }

  static of(cmd: Command, io: Io): Context {
    return new Context(io, cmd.optsWithGlobals<GlobalOptions>());
  }

  /** The admin listener's base URL: --url, TOKENMILL_URL, or the default. */
  get url(): string {
    return baseUrl(this.#opts.url ?? (this.io.env.TOKENMILL_URL || DEFAULT_URL), '--url / TOKENMILL_URL');
  }

  /** The public base URL (the issuer): --issuer, TOKENMILL_ISSUER, or the default. */
  get issuer(): string {
    return baseUrl(this.#opts.issuer ?? (this.io.env.TOKENMILL_ISSUER || DEFAULT_ISSUER), '--issuer / TOKENMILL_ISSUER');
  }

  /** Whether --issuer was given on the command line (serve passes it on as ISSUER). */
  get issuerFlag(): string | undefined {
    return this.#opts.issuer;
  }

  get adminTokenFlag(): string | undefined {
    return this.#opts.adminToken;
  }

  /** The admin token, for redaction: never printed. */
  get adminToken(): string | undefined {
    return this.#opts.adminToken ?? (this.io.env.TOKENMILL_ADMIN_TOKEN || undefined);
  }

  admin(): AdminApi {
    const token = this.adminToken;
    if (!token) throw new CliError('no admin token: set TOKENMILL_ADMIN_TOKEN or pass --admin-token');
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
