import { Option, type Command } from 'commander';
import type { KeyView } from '../api.js';
import { Context, type Io } from '../context.js';
import { integer } from '../parse.js';
import { ACCESS_TOKEN_ALGS } from '../../protocol/index.js';
import { keysTable } from '../views.js';

export function keysCommand(program: Command, io: Io): void {
  const keys = program.command('keys').description('signing keys');

  keys
    .command('list')
    .description('signing keys and their lifecycle (never private parts)')
    .action(async (_opts: unknown, cmd: Command) => {
      const ctx = Context.of(cmd, io);
      const res = await ctx.admin().get<{ keys: KeyView[] }>('/keys');
      if (ctx.json) return ctx.printJson(res);
      ctx.print(res.keys.length ? keysTable(res.keys) : 'no keys');
    });

  keys
    .command('rotate')
    .description('a new signing key, published now and signing after --activate-in seconds')
    .addOption(new Option('--alg <alg>', 'algorithm (default: the configured one)').choices(ACCESS_TOKEN_ALGS))
    .option('--activate-in <seconds>', 'seconds before it signs (default: the JWKS cache max-age)', integer)
    .action(async (opts: { alg?: string; activateIn?: number }, cmd: Command) => {
      const ctx = Context.of(cmd, io);
      const body: Record<string, unknown> = {};
      if (opts.alg !== undefined) body.alg = opts.alg;
      if (opts.activateIn !== undefined) body.activate_in = opts.activateIn;
      const key = await ctx.admin().request<KeyView>('POST', '/keys/rotate', body);
      if (ctx.json) return ctx.printJson(key);
      ctx.print(keysTable([key]));
    });
}
