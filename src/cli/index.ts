import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { auditCommand } from './commands/audit.js';
import { clientsCommand } from './commands/clients.js';
import { completionCommand } from './commands/completion.js';
import { exportImportCommands } from './commands/export-import.js';
import { inspectCommand } from './commands/inspect.js';
import { keysCommand } from './commands/keys.js';
import { loginCommands } from './commands/login.js';
import { migrateCommand } from './commands/migrate.js';
import { orgsCommand } from './commands/orgs.js';
import { secretsCommand } from './commands/secrets.js';
import { serveCommand } from './commands/serve.js';
import { tokenCommand } from './commands/token.js';
import { tokensCommand } from './commands/tokens.js';
import { usageCommand } from './commands/usage.js';
import { DEFAULT_ISSUER, DEFAULT_URL, fromStdinIfDash, type GlobalOptions, type Io } from './context.js';
import { CliError, HttpError, UsageError } from './errors.js';
import { safeJson, safeText } from './sanitize.js';

function version(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** The program: global options, then every command (each inherits the error and output settings). */
export function buildProgram(io: Io): Command {
  const program = new Command('tokenmill')
    .description('tokenmill: OAuth 2.0 client-credentials authorization server')
    .version(version(), '-V, --version')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.out(s),
      writeErr: (s) => io.err(s),
      // One line: `tokenmill: <reason>` (with --json: the JSON error object, on stderr too).
      outputError: (s, write) => {
        const reason = s
          .trim()
          .replace(/^error: /, '')
          .replace(/\s*\n\s*/g, ' ');
        write(io.jsonErrors ? `${safeJson({ error: 'usage_error', error_description: reason }).replace(/\n\s*/g, ' ')}\n` : `tokenmill: ${reason}\n`);
      },
    })
    .configureHelp({ showGlobalOptions: true })
    .option('--url <url>', `admin listener base URL (env TOKENMILL_URL, default ${DEFAULT_URL})`)
    .option('--issuer <url>', `public base URL, the issuer, for token and inspect (env TOKENMILL_ISSUER, default ${DEFAULT_ISSUER})`)
    .option('--admin-token <token>', 'admin bearer token, or - to read it from stdin (env TOKENMILL_ADMIN_TOKEN; a value given as a flag shows in `ps`)')
    .option('--json', 'print JSON for scripts instead of tables; errors too: {"error","error_description"} on stderr')
    .option('--profile <name>', 'the saved login to use (env TOKENMILL_PROFILE, default "default"); see `tokenmill login`')
    .addHelpText(
      'after',
      '\nSettings: flags, then TOKENMILL_URL / TOKENMILL_ISSUER / TOKENMILL_ADMIN_TOKEN, then the profile saved by `tokenmill login`.\nExit codes: 0 ok, 1 error (one line on stderr; with --json a JSON object), 2 usage error.',
    )
    // Secrets given as `-` come from stdin, before any command runs (one of them per run).
    .hook('preAction', async (root, action) => {
      const adminToken = root.opts<GlobalOptions>().adminToken;
      if (adminToken !== undefined) root.setOptionValue('adminToken', await fromStdinIfDash(io, adminToken, '--admin-token -'));
      for (const [key, flag] of [
        ['token', '--token'],
        ['clientSecret', '--client-secret'],
      ] as const) {
        const value: unknown = action.getOptionValue(key);
        if (typeof value === 'string') action.setOptionValue(key, await fromStdinIfDash(io, value, `${flag} -`));
      }
    });
  serveCommand(program, io);
  clientsCommand(program, io);
  secretsCommand(program, io);
  keysCommand(program, io);
  orgsCommand(program, io);
  tokensCommand(program, io);
  usageCommand(program, io);
  auditCommand(program, io);
  tokenCommand(program, io);
  inspectCommand(program, io);
  migrateCommand(program, io);
  exportImportCommands(program, io);
  loginCommands(program, io);
  completionCommand(program, io);
  return program;
}

/** Values never to print: the admin token, from the environment or the command line. */
function secretsIn(argv: readonly string[], env: Record<string, string | undefined>): string[] {
  const found = [env.TOKENMILL_ADMIN_TOKEN ?? ''];
  argv.forEach((a, i) => {
    if (a === '--admin-token') found.push(argv[i + 1] ?? '');
    else if (a.startsWith('--admin-token=')) found.push(a.slice('--admin-token='.length));
  });
  return found.filter((s) => s.length >= 8);
}

export function redactor(secrets: readonly string[]): (text: string) => string {
  return (text) => secrets.reduce((t, s) => t.split(s).join('<redacted>'), text);
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  stream.setEncoding('utf8');
  for await (const chunk of stream) text += chunk as string;
  return text;
}

/** Whether --json is among the arguments (before a `--`): errors are then printed as JSON. */
function wantsJson(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).includes('--json');
}

/**
 * An error as printed: one line `tokenmill: <message>[; hint: …]`, or with --json the object
 * `{"error", "error_description", "status"?, "hint"?}` (on stderr as well: stdout carries only
 * results). Exit codes are the same either way.
 */
export function errorText(err: unknown, json: boolean): string {
  const message = (err instanceof Error ? err.message : String(err)).replace(/\s*\n\s*/g, ' ');
  const hint = err instanceof CliError ? err.hint : undefined;
  if (!json) return `tokenmill: ${message}${hint ? `; hint: ${hint}` : ''}\n`;
  const body: Record<string, unknown> = { error: err instanceof CliError ? err.code : 'cli_error', error_description: err instanceof HttpError ? (err.description ?? message) : message };
  if (err instanceof HttpError) body.status = err.status;
  if (hint) body.hint = hint;
  // One line, like the text form (the newlines of safeJson's indentation are outside strings).
  return `${safeJson(body).replace(/\n\s*/g, ' ')}\n`;
}

/**
 * Runs the CLI on `argv` (process.argv shape) and resolves with the exit code. Everything printed
 * passes through the redactor (the admin token, secrets read from stdin) and then safeText, so no
 * control or bidi character from a server reaches the terminal raw.
 */
export async function run(argv: readonly string[] = process.argv, env: Record<string, string | undefined> = process.env): Promise<number> {
  const secrets = secretsIn(argv, env);
  const redact = redactor(secrets);
  let stdinRead = false;
  const jsonErrors = wantsJson(argv);
  const io: Io = {
    jsonErrors,
    secret: (value) => {
      if (value.length >= 8) secrets.push(value);
    },
    out: (s) => void process.stdout.write(safeText(redact(s))),
    err: (s) => void process.stderr.write(safeText(redact(s))),
    env,
    readStdin: async (what) => {
      if (stdinRead) throw new UsageError('only one value can be read from stdin (-) per run');
      stdinRead = true;
      const value = (await readAll(process.stdin)).replace(/\r?\n$/, '');
      if (value === '') throw new UsageError(`${what}: stdin is empty`);
      if (value.length >= 8) secrets.push(value);
      return value;
    },
  };
  const program = buildProgram(io);
  try {
    await program.parseAsync([...argv]);
    return Number(process.exitCode ?? 0);
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    io.err(errorText(err, jsonErrors));
    return err instanceof CliError ? err.exitCode : 1;
  }
}
