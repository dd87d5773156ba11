import { QUOTA_WINDOWS, type QuotaWindowName, type TokenQuota } from './token-quota.js';

/** One configured window of a client's quota as the token endpoint saw it after deciding. */
export interface WindowState {
  /** the policy name: the window (`hour`), or `org-hour` for a window of the client's organization's quota */
  name: string;
  window: QuotaWindowName;
  limit: number;
  /** tokens counted in the window, this request included when it was issued */
  used: number;
  /** window length, seconds (the policy's `w`) */
  seconds: number;
  /** seconds until the window resets, at least 1 (the `t` of RateLimit) */
  resetIn: number;
}

/**
 * The tightest window: the fewest tokens remaining; on a tie the one that resets last (it holds a
 * client back longest).
 */
export function tightest(windows: readonly WindowState[]): WindowState | undefined {
  let best: WindowState | undefined;
  for (const w of windows) {
    if (!best) {
      best = w;
      continue;
    }
    const r = Math.max(0, w.limit - w.used);
    const rb = Math.max(0, best.limit - best.used);
    if (r < rb || (r === rb && w.resetIn > best.resetIn)) best = w;
  }
  return best;
}

/** One RateLimit-Policy item: `"hour";q=1000;w=3600`. */
const policyItem = (name: string, limit: number, seconds: number): string => `"${name}";q=${limit};w=${seconds}`;

/** The RateLimit-Policy items of every window of `quota`, names prefixed with `prefix` (`org-`). */
export function rateLimitPolicy(quota: TokenQuota, prefix = ''): string {
  const items: string[] = [];
  for (const w of QUOTA_WINDOWS) {
    const limit = quota[w.field];
    if (limit !== null) items.push(policyItem(prefix + w.name, limit, w.ms / 1000));
  }
  return items.join(', ');
}

/**
 * draft-ietf-httpapi-ratelimit-headers (-08 and later; Structured Field lists, RFC 9651):
 * `RateLimit-Policy` lists every window of the client's quota (`"hour";q=1000;w=3600`), `RateLimit`
 * names the tightest one with what is left of it (`"hour";r=998;t=1800`). Nothing when the client
 * has no quota. `policy`: the policy text when the caller has it already (`rateLimitPolicy`).
 */
export function rateLimitHeaders(windows: readonly WindowState[], policy?: string): Record<string, string> {
  const t = tightest(windows);
  if (!t) return {};
  return {
    'ratelimit-policy': policy ?? windows.map((w) => policyItem(w.name, w.limit, w.seconds)).join(', '),
    ratelimit: `"${t.name}";r=${Math.max(0, t.limit - t.used)};t=${t.resetIn}`,
  };
}
