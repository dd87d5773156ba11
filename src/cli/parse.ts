import { InvalidArgumentError } from 'commander';
import { readFileSync } from 'node:fs';
import { CliError } from './errors.js';

/** commander argParser: a non-negative integer (seconds, limits…). */
export function integer(value: string): number {
  if (!/^\d{1,15}$/.test(value)) throw new InvalidArgumentError('not a non-negative integer.');
  return Number(value);
}

/** commander argParser: a positive integer. */
export function positive(value: string): number {
  const n = integer(value);
  if (n < 1) throw new InvalidArgumentError('must be at least 1.');
  return n;
}

/** commander argParser for repeatable options: collects every value. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

export const LIFETIME_PRESETS = ['7d', '30d', '60d', '90d', '180d', '1y', 'never'] as const;

/** commander argParser: a secret lifetime, a preset (7d…1y, never) or seconds. */
export function lifetime(value: string): number | string {
  if ((LIFETIME_PRESETS as readonly string[]).includes(value)) return value;
  if (/^\d{1,15}$/.test(value) && Number(value) >= 1) return Number(value);
  throw new InvalidArgumentError(`expected ${LIFETIME_PRESETS.join(', ')} or a number of seconds.`);
}

/** A file's text; a file that cannot be read is a CliError naming it. */
export function readTextFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new CliError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** A file's JSON value; a file that cannot be read or parsed is a CliError naming it. */
export function readJsonFile(file: string): unknown {
  const text = readTextFile(file);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new CliError(`${file} is not JSON`);
  }
}

/** A JWK Set from a file: `{"keys":[…]}`, or a single JWK (wrapped into a set). */
export function readJwks(file: string): { keys: Record<string, unknown>[] } {
  const value = readJsonFile(file);
  if (value && typeof value === 'object' && Array.isArray((value as { keys?: unknown }).keys)) return value as { keys: Record<string, unknown>[] };
  if (value && typeof value === 'object' && typeof (value as { kty?: unknown }).kty === 'string') return { keys: [value as Record<string, unknown>] };
  throw new CliError(`${file} holds neither a JWK Set ({"keys":[…]}) nor a JWK`);
}
