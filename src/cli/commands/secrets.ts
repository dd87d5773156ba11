import type { Command } from 'commander';
import { seg, type RotatedSecret } from '../api.js';
import { Context, type Io } from '../context.js';
import { integer, lifetime } from '../parse.js';
import { secretBlock } from '../views.js';

export function secretsCommand(program: Command, io: Io): void {
  const secrets = program.command('secrets').description("rotate and end clients' secrets");

  secrets
    .command('rotate')
    .description('a new secret, shown once; older secrets end now (and the registration access token with them) or after --grace seconds')
    .argument('<client_id>')
    .option('--expires <lifetime>', 'new secret lifetime: 7d, 30d, 60d, 90d, 180d, 1y, never, or seconds', lifetime)
    .option('--grace <seconds>', 'how long the previous secrets keep working (default 0: they end now)', integer)
    .action(async (id: string, opts: { expires?: number | string; grace?: number }, cmd: Command) => {
      const ctx = Context.of(cmd, io);
      const body: Record<string, unknown> = {};
      if (opts.expires !== undefined) body.expires_in = opts.expires;
      if (opts.grace !== undefined) body.previous_secret_ttl = opts.grace;
      const rotated = await ctx.admin().request<RotatedSecret>('POST', `/clients/${seg(id)}/secrets`, body);
      if (ctx.json) return ctx.printJson(rotated);
      ctx.print(`new secret for client ${id} (prefix ${rotated.prefix})`);
      ctx.print(opts.grace ? `previous secrets keep working for ${opts.grace}s` : 'previous secrets and the registration access token have ended');
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
