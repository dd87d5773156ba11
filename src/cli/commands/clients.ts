import { Option, type Command } from 'commander';
import { applyQuotaOptions, hasQuotaChanges, quotaLimitOptions, type QuotaLimitOptions } from '../quota-options.js';
import { ACCESS_TOKEN_ALGS, CLIENT_AUTH_METHODS as AUTH_METHODS } from '../../protocol/index.js';
import { seg, type ClientUsage, type ClientView, type CreatedClient, type Page, type RotatedRegistrationToken, type TokenQuotaView } from '../api.js';
import { Context, type Io } from '../context.js';
import { CliError, UsageError } from '../errors.js';
import { collect, lifetime, positive, readJwks } from '../parse.js';
import { clientDetails, clientsTable, secretBlock, secretsTable, usageDetails } from '../views.js';

interface MetadataOptions {
  name?: string;
  scope?: string;
  audience?: string[];
  authMethod?: string;
  ttl?: number;
  jwksFile?: string;
  jwksUri?: string;
  signingAlg?: string;
  tokenAlg?: string;
}

function metadataOptions(cmd: Command): Command {
  return cmd
    .option('--name <name>', 'client name')
    .option('--scope <scopes>', 'allowed scopes, space-separated (also the default scopes)')
    .option('--audience <url>', 'allowed audience, repeatable (the first is the default)', collect)
    .addOption(new Option('--auth-method <method>', 'token endpoint authentication method').choices(AUTH_METHODS))
    .option('--ttl <seconds>', 'access token lifetime in seconds', positive)
    .option('--jwks-file <file>', 'public keys (JWK Set or one JWK, JSON) for private_key_jwt')
    .option('--jwks-uri <url>', 'where the client publishes its keys, for private_key_jwt')
    .option('--signing-alg <alg>', 'the algorithm the client signs its assertions with (private_key_jwt)')
    .option('--token-alg <alg>', `the algorithm its access tokens are signed with (${ACCESS_TOKEN_ALGS.join(', ')})`);
}

function metadataBody(o: MetadataOptions): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  if (o.name !== undefined) body.client_name = o.name;
  if (o.scope !== undefined) body.scope = o.scope;
  if (o.audience !== undefined) body.audience = o.audience;
  if (o.authMethod !== undefined) body.token_endpoint_auth_method = o.authMethod;
  if (o.ttl !== undefined) body.access_token_ttl = o.ttl;
  if (o.jwksFile !== undefined) body.jwks = readJwks(o.jwksFile);
  if (o.jwksUri !== undefined) body.jwks_uri = o.jwksUri;
  if (o.signingAlg !== undefined) body.token_endpoint_auth_signing_alg = o.signingAlg;
  if (o.tokenAlg !== undefined) body.access_token_signing_alg = o.tokenAlg;
  return body;
}

interface QuotaOptions extends QuotaLimitOptions {
  quotaDefault?: boolean;
}

function quotaOptions(cmd: Command): Command {
  return quotaLimitOptions(cmd).option('--quota-default', "drop the client's own token quota: the configured default applies (TOKEN_QUOTA_*)");
}

/**
 * The `token_quota` member of the PATCH: null for --quota-default; else the client's own quota (or,
 * without one, the quota in force) with the given changes; undefined when no quota option was given.
 */
function quotaBody(o: QuotaOptions, current: () => Promise<ClientView>): Promise<TokenQuotaView | null | undefined> | undefined {
  const changes = hasQuotaChanges(o);
  if (o.quotaDefault) {
    if (changes) throw new UsageError('--quota-default cannot be combined with --quota-per-second, --quota-per-hour, --quota-per-day or --quota-enforce');
    return Promise.resolve(null);
  }
  if (!changes) return undefined;
  return (async () => {
    const c = await current();
    return applyQuotaOptions(o, c.token_quota ?? c.effective_token_quota);
  })();
}

export function clientsCommand(program: Command, io: Io): void {
  const clients = program.command('clients').description('register and manage clients');

  metadataOptions(clients.command('create').description('register a client (--name is required); its secret is shown once'))
    .option('--secret-expires <lifetime>', 'secret lifetime: 7d, 30d, 60d, 90d, 180d, 1y, never, or seconds', lifetime)
    .option('--org <org_id>', 'the organization it belongs to (an organization admin: always its own)')
    .action(async (opts: MetadataOptions & { secretExpires?: number | string; org?: string }, cmd: Command) => {
      // A client without a name is a row nobody can recognise in a list or an audit trail.
      if (opts.name === undefined || opts.name.trim() === '') throw new UsageError('clients create needs --name <name>');
      const ctx = Context.of(cmd, io);
      const body = metadataBody(opts);
      if (opts.secretExpires !== undefined) body.secret_expires_in = opts.secretExpires;
      if (opts.org !== undefined) body.org_id = opts.org;
      const created = await ctx.admin().request<CreatedClient>('POST', '/clients', body);
      if (ctx.json) return ctx.printJson(created);
      ctx.print(clientDetails(created.client));
      if (created.client_secret) {
        const secret = created.client.secrets.find((s) => s.secret_id === created.secret_id);
        ctx.print(`\n${secretBlock(created.secret_id, created.client_secret, secret?.expires_at ?? null)}`);
      }
    });

  clients
    .command('list')
    .description('list clients (never a secret)')
    .addOption(new Option('--status <status>', 'only clients with this status').choices(['active', 'disabled']))
    .addOption(new Option('--auth-method <method>', 'only clients using this method').choices(AUTH_METHODS))
    .option('--name-prefix <prefix>', 'only clients whose name starts with this')
    .option('--org <org_id>', "only this organization's clients")
    .option('--limit <n>', 'clients per page (1-500)', positive)
    .option('--cursor <cursor>', 'the page after this cursor')
    .option('--all', 'follow next_cursor to the last page')
    .action(async (opts: { status?: string; authMethod?: string; namePrefix?: string; org?: string; limit?: number; cursor?: string; all?: boolean }, cmd: Command) => {
      const ctx = Context.of(cmd, io);
      const api = ctx.admin();
      const query = { status: opts.status, auth_method: opts.authMethod, name_prefix: opts.namePrefix, org_id: opts.org, limit: opts.limit ?? (opts.all ? 500 : undefined) };
      let page = await api.get<Page<ClientView>>('/clients', { ...query, cursor: opts.cursor });
      const items = [...page.items];
      const seen = new Set<string>();
      while (opts.all && page.next_cursor && !seen.has(page.next_cursor)) {
        seen.add(page.next_cursor);
        page = await api.get<Page<ClientView>>('/clients', { ...query, cursor: page.next_cursor });
        items.push(...page.items);
      }
      const next = opts.all ? null : page.next_cursor;
      if (ctx.json) return ctx.printJson({ items, next_cursor: next });
      ctx.print(items.length ? clientsTable(items) : 'no clients');
      if (next) io.err(`more clients: --cursor ${next} (or --all)\n`);
    });

  clients
    .command('show')
    .description("one client's metadata, status and secrets' metadata")
    .argument('<client_id>')
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const ctx = Context.of(cmd, io);
      const client = await ctx.admin().get<ClientView>(`/clients/${seg(id)}`);
      if (ctx.json) return ctx.printJson(client);
      ctx.print(clientDetails(client));
      if (client.secrets.length) ctx.print(`\n${secretsTable(client.secrets)}`);
    });

  quotaOptions(metadataOptions(clients.command('update').description("change a client's metadata or token quota").argument('<client_id>'))).action(
    async (id: string, opts: MetadataOptions & QuotaOptions, cmd: Command) => {
      const ctx = Context.of(cmd, io);
      const body = metadataBody(opts);
      const quota = quotaBody(opts, () => ctx.admin().get<ClientView>(`/clients/${seg(id)}`));
      if (quota !== undefined) body.token_quota = await quota;
      if (Object.keys(body).length === 0)
        throw new UsageError(
          'nothing to update: pass at least one of --name, --scope, --audience, --auth-method, --ttl, --jwks-file, --jwks-uri, --signing-alg, --token-alg, --quota-per-second, --quota-per-hour, --quota-per-day, --quota-enforce, --quota-default',
        );
      const client = await ctx.admin().request<ClientView>('PATCH', `/clients/${seg(id)}`, body);
      if (ctx.json) return ctx.printJson(client);
      ctx.print(clientDetails(client));
    },
  );

  clients
    .command('usage')
    .description("a client's tokens per UTC hour (48 h) and day (30 d), and its quota windows now")
    .argument('<client_id>')
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const ctx = Context.of(cmd, io);
      const usage = await ctx.admin().get<ClientUsage>(`/clients/${seg(id)}/usage`);
      if (ctx.json) return ctx.printJson(usage);
      ctx.print(usageDetails(usage));
    });

  for (const [name, status, does] of [
    ['disable', 'disabled', 'refuse the client on every node: its tokens are revoked (offline verifiers too) and its registration access token ends'],
    ['enable', 'active', 'allow a disabled client again'],
  ] as const) {
    clients
      .command(name)
      .description(does)
      .argument('<client_id>')
      .action(async (id: string, _opts: unknown, cmd: Command) => {
        const ctx = Context.of(cmd, io);
        const client = await ctx.admin().request<ClientView>('PATCH', `/clients/${seg(id)}`, { status });
        if (ctx.json) return ctx.printJson(client);
        ctx.print(`client ${client.client_id} is ${client.status}`);
      });
  }

  clients
    .command('delete')
    .description('delete a client: it and every token it holds stop working')
    .argument('<client_id>')
    .option('--yes', 'really delete it (required)')
    .action(async (id: string, opts: { yes?: boolean }, cmd: Command) => {
      const ctx = Context.of(cmd, io);
      if (!opts.yes) throw new CliError(`refusing to delete client ${id} without --yes`);
      await ctx.admin().request('DELETE', `/clients/${seg(id)}`);
      if (ctx.json) return ctx.printJson({ client_id: id, deleted: true });
      ctx.print(`deleted client ${id}`);
    });

  clients
    .command('revoke-tokens')
    .description('revoke every token the client holds now (its registration access token ends too)')
    .argument('<client_id>')
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const ctx = Context.of(cmd, io);
      const res = await ctx.admin().request<{ client_id: string; revoked_before: number }>('POST', `/clients/${seg(id)}/revoke-tokens`);
      if (ctx.json) return ctx.printJson(res);
      ctx.print(`revoked every token of client ${res.client_id} issued before ${new Date(res.revoked_before * 1000).toISOString()}`);
    });

  const rat = clients.command('registration-token').description("the client's RFC 7592 registration access token");
  rat
    .command('rotate')
    .description('a new registration access token, shown once; the old one ends now')
    .argument('<client_id>')
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const ctx = Context.of(cmd, io);
      const res = await ctx.admin().request<RotatedRegistrationToken>('POST', `/clients/${seg(id)}/registration-token`);
      if (ctx.json) return ctx.printJson(res);
      ctx.print(`new registration access token for client ${id}; the previous one has ended`);
      ctx.print(`registration_access_token:  ${res.registration_access_token}\nregistration_client_uri:    ${res.registration_client_uri}\nstore this token now: it cannot be shown again`);
    });
  rat
    .command('revoke')
    .description('end the registration access token now (RFC 7592 then needs the admin token)')
    .argument('<client_id>')
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const ctx = Context.of(cmd, io);
      await ctx.admin().request('DELETE', `/clients/${seg(id)}/registration-token`);
      if (ctx.json) return ctx.printJson({ client_id: id, registration_token_revoked: true });
      ctx.print(`revoked the registration access token of client ${id}`);
    });
}
