import { InvalidArgumentError } from 'commander';

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 7 * 86400 };

/** `90`, `90s`, `30m`, `1h`, `7d`, `2w` → seconds; null when it is none of these. */
export function durationSeconds(value: string): number | null {
  const m = /^(\d{1,9})([smhdw]?)$/.exec(value.trim());
  if (!m) return null;
  return Number(m[1]) * UNITS[m[2] || 's']!;
}

/** commander argParser: a duration (`90`, `90s`, `30m`, `1h`, `7d`) in seconds. */
export function duration(value: string): number {
  const s = durationSeconds(value);
  if (s === null) throw new InvalidArgumentError('expected a duration such as 90s, 30m, 1h or 7d (or a number of seconds).');
  return s;
}

/** commander argParser for --since: a duration back from now (`1h`, `30m`) or an ISO 8601 time → an ISO string. */
export function since(value: string, now = Date.now()): string {
  const s = durationSeconds(value);
  if (s !== null) return new Date(now - s * 1000).toISOString();
  if (/^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(value)) {
    const ms = Date.parse(/T/.test(value) && !/(Z|[+-]\d{2}:?\d{2})$/.test(value) ? `${value}Z` : value);
    if (Number.isFinite(ms)) return new Date(ms).toISOString();
  }
  throw new InvalidArgumentError('expected a duration back from now (30m, 1h, 7d) or an ISO time (2026-01-31T12:00:00Z; UTC unless it says otherwise).');
}
