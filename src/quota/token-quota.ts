/**
 * A client's token quota (docs/contract.md "Quotas"): limits on the access tokens issued per UTC
 * second, hour and day, each optional, and whether a limit refuses (`enforce`) or only counts.
 */
export interface TokenQuota {
  perSecond: number | null;
  perHour: number | null;
  perDay: number | null;
  enforce: boolean;
}

/** The wire shape (admin API, CLI, the `clients.token_quota` column): snake_case, unset limits omitted. */
export interface TokenQuotaJson {
  per_second?: number;
  per_hour?: number;
  per_day?: number;
  enforce: boolean;
}

export type QuotaWindowName = 'second' | 'hour' | 'day';

/** The windows a quota can limit, shortest first: length in ms, and the field holding the limit. */
export const QUOTA_WINDOWS: readonly { name: QuotaWindowName; ms: number; field: 'perSecond' | 'perHour' | 'perDay'; json: 'per_second' | 'per_hour' | 'per_day' }[] = [
  { name: 'second', ms: 1000, field: 'perSecond', json: 'per_second' },
  { name: 'hour', ms: 3_600_000, field: 'perHour', json: 'per_hour' },
  { name: 'day', ms: 86_400_000, field: 'perDay', json: 'per_day' },
];

/** The largest limit accepted (a count in one window; far above any token rate a node reaches). */
export const MAX_QUOTA_LIMIT = 1_000_000_000;

export function quotaToJson(q: TokenQuota): TokenQuotaJson {
  const out: TokenQuotaJson = { enforce: q.enforce };
  if (q.perSecond !== null) out.per_second = q.perSecond;
  if (q.perHour !== null) out.per_hour = q.perHour;
  if (q.perDay !== null) out.per_day = q.perDay;
  // Key order as documented: limits first, then enforce.
  const { enforce, ...limits } = out;
  return { ...limits, enforce };
}

function isLimit(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= MAX_QUOTA_LIMIT;
}

/**
 * A `token_quota` object from the admin API or the database, checked member by member; throws an
 * Error whose message names the member (the admin route answers 400 invalid_request with it).
 */
export function quotaFromJson(value: unknown, where = 'token_quota'): TokenQuota {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error(`${where}: must be an object {per_second?, per_hour?, per_day?, enforce} or null`);
  const v = value as Record<string, unknown>;
  for (const key of Object.keys(v)) {
    if (!['per_second', 'per_hour', 'per_day', 'enforce'].includes(key)) throw new Error(`${where}.${key}: unknown member; allowed: per_second, per_hour, per_day, enforce`);
  }
  if (typeof v.enforce !== 'boolean') throw new Error(`${where}.enforce: is required, true or false`);
  const out: TokenQuota = { perSecond: null, perHour: null, perDay: null, enforce: v.enforce };
  for (const w of QUOTA_WINDOWS) {
    const limit = v[w.json];
    if (limit === undefined) continue;
    if (!isLimit(limit)) throw new Error(`${where}.${w.json}: must be an integer between 1 and ${MAX_QUOTA_LIMIT}`);
    out[w.field] = limit;
  }
  return out;
}

/** Whether the quota limits anything (a quota without limits, `{"enforce": true}`, exempts a client from the default). */
export function hasLimits(q: TokenQuota | null): q is TokenQuota {
  return q !== null && (q.perSecond !== null || q.perHour !== null || q.perDay !== null);
}

/**
 * TOKEN_QUOTA_DEFAULT: `per_hour=1000,per_day=20000,enforce=true` (comma-separated `name=value`,
 * each name at most once; `enforce` defaults to true). Throws an Error naming the bad part.
 */
export function parseQuotaSpec(spec: string): TokenQuota {
  const out: TokenQuota = { perSecond: null, perHour: null, perDay: null, enforce: true };
  const seen = new Set<string>();
  for (const part of spec.split(',')) {
    const item = part.trim();
    if (item === '') continue;
    const eq = item.indexOf('=');
    if (eq < 0) throw new Error(`${JSON.stringify(item)} is not name=value`);
    const name = item.slice(0, eq).trim();
    const raw = item.slice(eq + 1).trim();
    if (seen.has(name)) throw new Error(`${name} is given twice`);
    seen.add(name);
    if (name === 'enforce') {
      if (raw !== 'true' && raw !== 'false') throw new Error(`enforce must be true or false (got ${JSON.stringify(raw)})`);
      out.enforce = raw === 'true';
      continue;
    }
    const w = QUOTA_WINDOWS.find((x) => x.json === name);
    if (!w) throw new Error(`unknown name ${JSON.stringify(name)}; allowed: per_second, per_hour, per_day, enforce`);
    const n = /^\d+$/.test(raw) ? Number(raw) : NaN;
    if (!isLimit(n)) throw new Error(`${name} must be an integer between 1 and ${MAX_QUOTA_LIMIT} (got ${JSON.stringify(raw)})`);
    out[w.field] = n;
  }
  if (!hasLimits(out)) throw new Error('names no limit: give at least one of per_second, per_hour, per_day');
  return out;
}
