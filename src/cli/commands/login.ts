import type { Command } from 'commander';
import { AdminApi } from '../api.js';
import { Context, DEFAULT_URL, fromStdinIfDash, type Io } from '../context.js';
import { CliError, UsageError } from '../errors.js';
import { baseUrl } from '../http.js';
import { configPath, readConfig, writeConfig, type Profile } from '../profiles.js';
import { table } from '../table.js';

/**
 * `tokenmill login`, `logout` and `profiles`: saved admin credentials, like `gh auth login`.
 * The token is checked with one admin call before it is saved; `profiles` never shows a token.
 */
export function loginCommands(program: Command, io: Io): void {
  program
    .command('login')
    .description('check an admin token against the admin API, then save it with the URLs as a profile (--profile, default "default")')
    .option('--token-stdin', 'read the admin token from stdin (else --admin-token or TOKENMILL_ADMIN_TOKEN)')
    .addHelpText(
      'after',
      '\nExample: tokenmill login --url https://admin.example:8081 --issuer https://auth.example --token-stdin < token.txt\nSaved in $XDG_CONFIG_HOME/tokenmill/config.json (default ~/.config/tokenmill/config.json), mode 0600.',
    )
    .action(async (opts: { tokenStdin?: boolean }, cmd: Command) => {
      const ctx = Context.of(cmd, io);
      const globals = cmd.optsWithGlobals<{ url?: string; issuer?: string; adminToken?: string }>();
      let token: string | undefined;
      if (opts.tokenStdin) {
        if (globals.adminToken !== undefined) throw new UsageError('pass either --token-stdin or --admin-token, not both');
        token = await fromStdinIfDash(io, '-', '--token-stdin');
      } else {
        token = globals.adminToken ?? (io.env.TOKENMILL_ADMIN_TOKEN || undefined);
      }
      if (!token) throw new UsageError('pass the admin token on stdin with --token-stdin (or --admin-token / TOKENMILL_ADMIN_TOKEN)');
      const url = baseUrl(globals.url ?? (io.env.TOKENMILL_URL || DEFAULT_URL), '--url / TOKENMILL_URL');
      const issuerGiven = globals.issuer ?? (io.env.TOKENMILL_ISSUER || undefined);
      const issuer = issuerGiven === undefined ? undefined : baseUrl(issuerGiven, '--issuer / TOKENMILL_ISSUER');
      // One admin call: the token works here, or nothing is saved.
      await new AdminApi(url, token).get('/clients', { limit: 1 });
      const { name } = ctx.profileName;
      const path = configPath(io.env);
      const config = readConfig(path);
      const profile: Profile = { url, admin_token: token, ...(issuer ? { issuer } : {}) };
      config.profiles[name] = profile;
      writeConfig(path, config);
      if (ctx.json) return ctx.printJson({ profile: name, url, issuer: issuer ?? null, path });
      ctx.print(`logged in to ${url} as profile ${name} (saved in ${path})`);
    });

  program
    .command('logout')
    .description('forget a saved profile (--profile, TOKENMILL_PROFILE, or "default")')
    .action(async (_opts: unknown, cmd: Command) => {
      const ctx = Context.of(cmd, io);
      const { name } = ctx.profileName;
      const path = configPath(io.env);
      const config = readConfig(path);
      if (!config.profiles[name]) throw new CliError(`no profile ${name} in ${path}`);
      delete config.profiles[name];
      writeConfig(path, config);
      if (ctx.json) return ctx.printJson({ profile: name, removed: true });
      ctx.print(`removed profile ${name} from ${path}`);
    });

  program
    .command('profiles')
    .description('the saved profiles: names and URLs (never a token)')
    .action(async (_opts: unknown, cmd: Command) => {
      const ctx = Context.of(cmd, io);
      const current = ctx.profileName.name;
      const path = configPath(io.env);
      const entries = Object.entries(readConfig(path).profiles).sort(([a], [b]) => a.localeCompare(b));
      const rows = entries.map(([name, p]) => ({ name, url: p.url, issuer: p.issuer ?? null, current: name === current }));
      if (ctx.json) return ctx.printJson({ path, profiles: rows });
      if (!rows.length) return ctx.print(`no profiles in ${path}: run \`tokenmill login\``);
      ctx.print(
        table(
          ['NAME', 'URL', 'ISSUER', 'CURRENT'],
          rows.map((r) => [r.name, r.url, r.issuer, r.current ? 'yes' : null]),
        ),
      );
    });
}
