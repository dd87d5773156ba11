import { InvalidRequest } from '../errors/oauth-errors.js';

export type Params = Map<string, string>;

/**
 * Reads the known parameters of a form body (RFC 6749 §3.2): a repeated parameter is
 * invalid_request (form parsing turns repeats into arrays), an empty one is omitted (REQ-T6),
 * unknown ones are ignored (REQ-T7; only own properties are read, so `__proto__` keys are inert).
 * `repeatable` names (RFC 8707 `resource`) are returned joined by a NUL, which no value can hold.
 */
export function readParams(body: unknown, names: readonly string[], repeatable: readonly string[] = []): Params {
  const params: Params = new Map();
  if (body === undefined || body === null) return params;
  if (typeof body !== 'object') throw new InvalidRequest('the request body must be application/x-www-form-urlencoded');
  for (const name of names) {
    if (!Object.hasOwn(body, name)) continue;
    const value: unknown = (body as Record<string, unknown>)[name];
    if (Array.isArray(value)) {
      if (!repeatable.includes(name)) throw new InvalidRequest(`the ${name} parameter is repeated`);
      const values = value.filter((v): v is string => typeof v === 'string' && v !== '');
      if (values.length !== value.length) throw new InvalidRequest(`the ${name} parameter is malformed`);
      if (values.length) params.set(name, values.join('\u0000'));
      continue;
    }
    if (typeof value !== 'string') throw new InvalidRequest(`the ${name} parameter is malformed`);
    if (value !== '') params.set(name, value);
  }
  return params;
}

/** RFC 6749 §2.3.1: parameters belong in the body; credentials in the URL are refused (REQ-T4). */
export function rejectQueryParams(query: unknown, names: readonly string[]): void {
  if (!query || typeof query !== 'object') return;
  for (const name of names) {
    if (Object.hasOwn(query, name)) throw new InvalidRequest('parameters must be sent in the request body, not the URL');
  }
}

/** RFC 6749 App. A: VSCHAR = %x20-7E. */
export function isVschar(value: string, maxLength: number): boolean {
  return value.length > 0 && value.length <= maxLength && /^[\x20-\x7E]+$/.test(value);
}

export const MAX_CLIENT_ID = 255;
export const MAX_CLIENT_SECRET = 512;
