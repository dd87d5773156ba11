import type { Command } from 'commander';
import { Context, type Io } from '../context.js';
import { UsageError } from '../errors.js';
import { positive } from '../parse.js';
import { shortEpoch } from '../table.js';

interface RevokeOptions {
  token?: string;
  jti?: string;
  exp?: number;
  clientId?: string;
}

export function tokensCommand(program: Command, io: Io): void {
  const tokens = program.command('tokens').description('access tokens');

  tokens
    .command('revoke')
    .description('revoke one access token: --token T, or --jti J --exp E')
    .option('--token <token>', 'the access token, or - to read it from stdin')
    .option('--jti <jti>', "the token's jti")
    .option('--exp <epoch>', "the token's exp (seconds since the epoch), with --jti", positive)
    .option('--client-id <client_id>', 'the client the jti belongs to, with --jti (optional)')
    .action(async (opts: RevokeOptions, cmd: Command) => {
      let body: Record<string, unknown>;
      if (opts.token !== undefined) {
        if (opts.jti !== undefined || opts.exp !== undefined || opts.clientId !== undefined) throw new UsageError('pass either --token, or --jti with --exp, not both');
        body = { token: opts.token };
      } else if (opts.jti !== undefined && opts.exp !== undefined) {
        body = { jti: opts.jti, exp: opts.exp };
        if (opts.clientId !== undefined) body.client_id = opts.clientId;
      } else {
        throw new UsageError('pass --token, or --jti with --exp');
      }
      const ctx = Context.of(cmd, io);
      const res = await ctx.admin().request<{ jti: string; exp: number; revoked: boolean }>('POST', '/tokens/revoke', body);
      if (ctx.json) return ctx.printJson(res);
      ctx.print(res.revoked ? `revoked token ${res.jti} (it would have expired ${shortEpoch(res.exp)})` : `token ${res.jti} has already expired: nothing to revoke`);
    });
}
