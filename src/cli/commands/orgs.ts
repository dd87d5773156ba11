import { InvalidArgumentError, type Command } from 'commander';
import { seg, type IssuedIat, type OrgView, type Page } from '../api.js';
import { Context, type Io } from '../context.js';
import { duration } from '../duration.js';
import { CliError, UsageError } from '../errors.js';
import { integer, positive } from '../parse.js';
import { applyQuotaOptions, hasQuotaChanges, quotaLimitOptions, type QuotaLimitOptions } from '../quota-options.js';
import { iatBlock, orgsTable } from '../views.js';

/** --max-clients: a number, or `unlimited` (kept as the word: commander treats a null result as no value). */
function maxClients(value: string): number | 'unlimited' {
  if (value === 'unlimited') return value;
  try {
    return integer(value);
  } catch {
    throw new InvalidArgumentError('expected a number of clients or unlimited.');
  }
}
const limit = (v: number | 'unlimited'): number | null => (v === 'unlimited' ? null : v);

function orgDetails(o: OrgView): string {
  return orgsTable([o]);
}

/** `tokenmill orgs …`: organizations (docs/contract.md "Organizations"), the super admin's calls. */
export function orgsCommand(program: Command, io: Io): void {
  const orgs = program.command('orgs').description('organizations: groups of clients of one customer (super admin)');

  const create = orgs
    .command('create')
    .description('create an organization')
    .requiredOption('--name <name>', 'its name')
    .option('--max-clients <n>', 'most clients it may hold, or unlimited (default: ORG_MAX_CLIENTS_DEFAULT)', maxClients);
  quotaLimitOptions(create).action(async (opts: { name: string; maxClients?: number | 'unlimited' } & QuotaLimitOptions, cmd: Command) => {
    const ctx = Context.of(cmd, io);
    const body: Record<string, unknown> = { name: opts.name };
    if (opts.maxClients !== undefined) body.max_clients = limit(opts.maxClients);
    // The organization's own token quota, over all its clients (none without a --quota-* option).
    if (hasQuotaChanges(opts)) body.token_quota = applyQuotaOptions(opts, null);
    const org = await ctx.admin().request<OrgView>('POST', '/orgs', body);
    if (ctx.json) return ctx.printJson(org);
    ctx.print(orgDetails(org));
  });

  orgs
    .command('list')
    .description('list organizations')
    .option('--limit <n>', 'organizations per page (1-500)', positive)
    .option('--cursor <cursor>', 'the page after this cursor')
    .action(async (opts: { limit?: number; cursor?: string }, cmd: Command) => {
      const ctx = Context.of(cmd, io);
      const page = await ctx.admin().get<Page<OrgView>>('/orgs', { limit: opts.limit, cursor: opts.cursor });
      if (ctx.json) return ctx.printJson(page);
      ctx.print(page.items.length ? orgsTable(page.items) : 'no organizations');
      if (page.next_cursor) io.err(`more organizations: --cursor ${page.next_cursor}\n`);
    });

  orgs
    .command('get')
    .description('one organization')
    .argument('<org_id>')
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const ctx = Context.of(cmd, io);
      const org = await ctx.admin().get<OrgView>(`/orgs/${seg(id)}`);
      if (ctx.json) return ctx.printJson(org);
      ctx.print(orgDetails(org));
    });

  const update = orgs
    .command('update')
    .description("change an organization's name, max_clients or token quota")
    .argument('<org_id>')
    .option('--name <name>', 'new name')
    .option('--max-clients <n>', 'most clients it may hold, or unlimited', maxClients);
  quotaLimitOptions(update)
    .option('--quota-none', "drop the organization's token quota")
    .action(async (id: string, opts: { name?: string; maxClients?: number | 'unlimited'; quotaNone?: boolean } & QuotaLimitOptions, cmd: Command) => {
      const ctx = Context.of(cmd, io);
      const body: Record<string, unknown> = {};
      if (opts.name !== undefined) body.name = opts.name;
      if (opts.maxClients !== undefined) body.max_clients = limit(opts.maxClients);
      if (opts.quotaNone) {
        if (hasQuotaChanges(opts)) throw new UsageError('--quota-none cannot be combined with --quota-per-second, --quota-per-hour, --quota-per-day or --quota-enforce');
        body.token_quota = null;
      } else if (hasQuotaChanges(opts)) {
        body.token_quota = applyQuotaOptions(opts, (await ctx.admin().get<OrgView>(`/orgs/${seg(id)}`)).token_quota);
      }
      if (Object.keys(body).length === 0) throw new UsageError('nothing to update: pass --name, --max-clients, --quota-per-second, --quota-per-hour, --quota-per-day, --quota-enforce or --quota-none');
      const org = await ctx.admin().request<OrgView>('PATCH', `/orgs/${seg(id)}`, body);
      if (ctx.json) return ctx.printJson(org);
      ctx.print(orgDetails(org));
    });

  for (const [name, status, does] of [
    ['disable', 'disabled', 'refuse all its clients on every node: their tokens are revoked (offline verifiers too)'],
    ['enable', 'active', 'allow a disabled organization again (its earlier tokens stay revoked)'],
  ] as const) {
    orgs
      .command(name)
      .description(does)
      .argument('<org_id>')
      .action(async (id: string, _opts: unknown, cmd: Command) => {
        const ctx = Context.of(cmd, io);
        const org = await ctx.admin().request<OrgView>('PATCH', `/orgs/${seg(id)}`, { status });
        if (ctx.json) return ctx.printJson(org);
        ctx.print(orgDetails(org));
      });
  }

  orgs
    .command('delete')
    .description('delete an organization and all its clients (their tokens stop working)')
    .argument('<org_id>')
    .option('--yes', 'really delete it (required)')
    .action(async (id: string, opts: { yes?: boolean }, cmd: Command) => {
      const ctx = Context.of(cmd, io);
      if (!opts.yes) throw new CliError(`refusing to delete organization ${id} and its clients without --yes`);
      await ctx.admin().request('DELETE', `/orgs/${seg(id)}`);
      if (ctx.json) return ctx.printJson({ org_id: id, deleted: true });
      ctx.print(`deleted organization ${id}`);
    });

  const iat = orgs.command('iat').description('initial access tokens that register clients into an organization (RFC 7591)');
  iat
    .command('create')
    .description('a new initial access token, shown once (at most 30 days)')
    .argument('<org_id>')
    .requiredOption('--expires-in <duration>', 'lifetime: 90s, 30m, 1h, 7d (at most 30d)', duration)
    .option('--max-uses <n>', 'registrations it allows (default: unlimited until it expires)', positive)
    .action(async (id: string, opts: { expiresIn: number; maxUses?: number }, cmd: Command) => {
      const ctx = Context.of(cmd, io);
      const body: Record<string, unknown> = { expires_in: opts.expiresIn };
      if (opts.maxUses !== undefined) body.max_uses = opts.maxUses;
      const issued = await ctx.admin().request<IssuedIat>('POST', `/orgs/${seg(id)}/initial-access-tokens`, body);
      if (ctx.json) return ctx.printJson(issued);
      ctx.print(iatBlock(issued));
    });
  iat
    .command('revoke')
    .description('revoke an initial access token')
    .argument('<org_id>')
    .argument('<id>')
    .action(async (orgId: string, id: string, _opts: unknown, cmd: Command) => {
      const ctx = Context.of(cmd, io);
      await ctx.admin().request('DELETE', `/orgs/${seg(orgId)}/initial-access-tokens/${seg(id)}`);
      if (ctx.json) return ctx.printJson({ org_id: orgId, id, revoked: true });
      ctx.print(`revoked initial access token ${id}`);
    });
}
