import type { Command } from 'commander';
import { seg, type RotatedSecret } from '../api.js';
import { Context, type Io } from '../context.js';
import { duration } from '../duration.js';
import { UsageError } from '../errors.js';
import { lifetime } from '../parse.js';
import { secretBlock } from '../views.js';

export function secretsCommand(program: Command, io: Io): void {
  const secrets = program.command('secrets').description("rotate and end clients' secrets");

  secrets
    .command('rotate')
    .description('a new secret, shown once; say what happens to the older ones: --grace <duration> (they keep working that long) or --now (they end now, with the registration access token)')
    .argument('<client_id>')
    .option('--expires <lifetime>', 'new secret lifetime: 7d, 30d, 60d, 90d, 180d, 1y, never, or seconds', lifetime)
    .option('--grace <duration>', 'how long the previous secrets keep working: 90s, 30m, 1h, 7d (at most 30d), or seconds', duration)
    .option('--now', 'the previous secrets end now (a leaked secret)')
    .action(async (id: string, opts: { expires?: number | string; grace?: number; now?: boolean }, cmd: Command) => {
      // No silent default: the person rotating says whether the old secret still works.
      if (opts.grace !== undefined && opts.now) throw new UsageError('pass either --grace <duration> or --now, not both');
      if (opts.grace === undefined && !opts.now)
        throw new UsageError('say what happens to the previous secrets: --grace <duration> (e.g. --grace 1h: they keep working that long) or --now (they end now)');
      const grace = opts.now ? 0 : (opts.grace ?? 0);
      const ctx = Context.of(cmd, io);
      const body: Record<string, unknown> = { previous_secret_ttl: grace };
      if (opts.expires !== undefined) body.expires_in = opts.expires;
      const startedAt = Date.now();
      const rotated = await ctx.admin().request<RotatedSecret>('POST', `/clients/${seg(id)}/secrets`, body);
      // The server ends them at (about) now + grace; a secret that expires earlier ends earlier.
      const endsAt = new Date(startedAt + grace * 1000).toISOString();
      if (ctx.json) return ctx.printJson({ ...rotated, previous_secrets_end_at: endsAt });
      ctx.print(`new secret for client ${id} (prefix ${rotated.prefix})`);
      ctx.print(grace > 0 ? `old secrets end at ${endsAt} (grace ${grace}s)` : `previous secrets and the registration access token have ended now (${endsAt})`);
      ctx.print(secretBlock(rotated.secret_id, rotated.client_secret, rotated.expires_at));
    });

  secrets
    .command('delete')
    .description('end one secret now')
    .argument('<client_id>')
    .argument('<secret_id>')
    .action(async (id: string, secretId: string, _opts: unknown, cmd: Command) => {
      const ctx = Context.of(cmd, io);
      await ctx.admin().request('DELETE', `/clients/${seg(id)}/secrets/${seg(secretId)}`);
      if (ctx.json) return ctx.printJson({ client_id: id, secret_id: secretId, deleted: true });
      ctx.print(`deleted secret ${secretId} of client ${id}`);
    });
}
