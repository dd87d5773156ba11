import type { Command } from 'commander';
import type { AuditView, Page } from '../api.js';
import { Context, type Io } from '../context.js';
import { since } from '../duration.js';
import { positive } from '../parse.js';
import { shortDate, table } from '../table.js';

export function auditCommand(program: Command, io: Io): void {
  program
    .command('audit')
    .description('the audit log, newest first')
    .option('--limit <n>', 'events per page (1-500)', positive)
    .option('--cursor <cursor>', 'the page after this cursor')
    .option('--actor <actor>', 'only events by this actor (admin-token:…, client:ID)')
    .option('--action <action>', 'only events with this action (client.create, secret.rotate, key.rotate…)')
    .option('--target <target>', 'only events about this target (a client_id, client_id/secret_id, kid:…, jti:…)')
    .option('--since <when>', 'only events since a duration ago (30m, 1h, 7d) or an ISO time', (v: string) => since(v))
    .action(async (opts: { limit?: number; cursor?: string; actor?: string; action?: string; target?: string; since?: string }, cmd: Command) => {
      const ctx = Context.of(cmd, io);
      const page = await ctx.admin().get<Page<AuditView>>('/audit', { limit: opts.limit, cursor: opts.cursor, actor: opts.actor, action: opts.action, target: opts.target, since: opts.since });
      if (ctx.json) return ctx.printJson(page);
      if (!page.items.length) ctx.print('no events');
      else
        ctx.print(
          table(
            ['AT', 'ACTOR', 'ACTION', 'TARGET', 'OUTCOME', 'STATUS'],
            page.items.map((e) => [shortDate(e.at), e.actor, e.action, e.target, e.outcome, e.status]),
          ),
        );
      if (page.next_cursor) io.err(`more events: --cursor ${page.next_cursor}\n`);
    });
}
