import type { Command } from 'commander';
import type { UsageTop } from '../api.js';
import { Context, type Io } from '../context.js';
import { positive } from '../parse.js';
import { usageTopTable } from '../views.js';

/** `tokenmill usage top`: the clients with the most tokens in the current UTC hour. */
export function usageCommand(program: Command, io: Io): void {
  const usage = program.command('usage').description('token usage across clients');
  usage
    .command('top')
    .description('the clients that issued the most tokens in the current UTC hour')
    .option('--limit <n>', 'how many clients (1-100, default 10)', positive)
    .action(async (opts: { limit?: number }, cmd: Command) => {
      const ctx = Context.of(cmd, io);
      const top = await ctx.admin().get<UsageTop>('/usage/top', { limit: opts.limit });
      if (ctx.json) return ctx.printJson(top);
      ctx.print(usageTopTable(top));
    });
}
