import { Option, type Command } from 'commander';
import type { TokenQuotaView } from './api.js';
import { positive } from './parse.js';

/** The token-quota options a command takes (docs/contract.md "Quotas"). */
export interface QuotaLimitOptions {
  quotaPerSecond?: number | 'none';
  quotaPerHour?: number | 'none';
  quotaPerDay?: number | 'none';
  quotaEnforce?: 'true' | 'false';
}

/** A quota limit: a positive integer, or `none` to remove it. */
function limitOrNone(value: string): number | 'none' {
  return value === 'none' ? 'none' : positive(value);
}

/** Adds --quota-per-second, --quota-per-hour, --quota-per-day and --quota-enforce. */
export function quotaLimitOptions(cmd: Command): Command {
  return cmd
    .option('--quota-per-second <n>', 'token quota: tokens per second (none: no such limit)', limitOrNone)
    .option('--quota-per-hour <n>', 'token quota: tokens per UTC hour (none: no such limit)', limitOrNone)
    .option('--quota-per-day <n>', 'token quota: tokens per UTC day (none: no such limit)', limitOrNone)
    .addOption(new Option('--quota-enforce <bool>', 'token quota: refuse past a limit (true) or only count and log (false)').choices(['true', 'false']));
}

export const hasQuotaChanges = (o: QuotaLimitOptions): boolean => [o.quotaPerSecond, o.quotaPerHour, o.quotaPerDay, o.quotaEnforce].some((v) => v !== undefined);

/** `base` (the quota now; none: enforced without limits) with the options' changes. */
export function applyQuotaOptions(o: QuotaLimitOptions, base: TokenQuotaView | null): TokenQuotaView {
  const from = base ?? { enforce: true };
  const q: TokenQuotaView = { enforce: from.enforce };
  for (const [field, value] of [
    ['per_second', o.quotaPerSecond ?? from.per_second],
    ['per_hour', o.quotaPerHour ?? from.per_hour],
    ['per_day', o.quotaPerDay ?? from.per_day],
  ] as const)
    if (value !== undefined && value !== 'none') q[field] = value;
  if (o.quotaEnforce !== undefined) q.enforce = o.quotaEnforce === 'true';
  return q;
}
