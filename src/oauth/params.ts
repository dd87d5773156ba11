import { InvalidRequest } from '../errors/oauth-errors.js';

/**
 * The known parameters of a request. A parameter the endpoint allows to repeat (RFC 8707
 * `resource`) keeps every value, in order; `get` is for the ones that cannot repeat.
 */
export class Params {
  readonly #values: ReadonlyMap<string, readonly string[]>;

  constructor(values: ReadonlyMap<string, readonly string[]> = new Map()) {
    this.#values = values;
  }

  /** The one value of `name`, or undefined. A parameter that arrived repeated is refused here, never narrowed to one. */
  get(name: string): string | undefined {
    const values = this.#values.get(name);
    if (values === undefined) return undefined;
    if (values.length !== 1) throw new InvalidRequest(`the ${name} parameter is repeated`);
    return values[0];
  }

  /** Every value of `name` (empty when absent). */
  getAll(name: string): readonly string[] {
    return this.#values.get(name) ?? [];
  }

  has(name: string): boolean {
    return this.#values.has(name);
  }
}

/**
 * C0 controls (NUL included), DEL and C1 controls. No parameter the endpoints read may hold one:
 * client-id and client-secret are VSCHAR, scope-token is NQCHAR (RFC 6749 App. A), resource and
 * audience are URIs (RFC 3986), grant_type a name, and tokens and assertions are JWS compact
 * serialisations. A NUL is also what PostgreSQL refuses in `text` (REQ-T8).
 */
const CONTROL = /[\u0000-\u001F\u007F-\u009F]/;
/**
 * Parameters judged by the endpoint rather than refused here: a `token` that is not one of ours is
 * `{"active": false}` at introspection (RFC 7662 §2.2) and 200 at revocation (RFC 7009 §2.2).
 */
const JUDGED_BY_ENDPOINT = new Set(['token', 'token_type_hint']);

/**
 * Reads the known parameters of a form body (RFC 6749 §3.2): a repeated parameter is
 * invalid_request (form parsing turns repeats into arrays), an empty one is omitted (REQ-T6),
 * unknown ones are ignored (REQ-T7; only own properties are read, so `__proto__` keys are inert),
 * and a value holding a control character is invalid_request (but see JUDGED_BY_ENDPOINT). `repeatable` names (RFC 8707
 * `resource`) keep each value as sent: read them with `getAll`.
 */
export function readParams(body: unknown, names: readonly string[], repeatable: readonly string[] = []): Params {
  const params = new Map<string, readonly string[]>();
  if (body === undefined || body === null) return new Params(params);
  if (typeof body !== 'object') throw new InvalidRequest('the request body must be application/x-www-form-urlencoded');
  for (const name of names) {
    if (!Object.hasOwn(body, name)) continue;
    const value: unknown = (body as Record<string, unknown>)[name];
    if (Array.isArray(value)) {
      if (!repeatable.includes(name)) throw new InvalidRequest(`the ${name} parameter is repeated`);
      const values = value.filter((v): v is string => typeof v === 'string' && v !== '');
      if (values.length !== value.length) throw new InvalidRequest(`the ${name} parameter is malformed`);
      if (!JUDGED_BY_ENDPOINT.has(name) && values.some((v) => CONTROL.test(v))) throw new InvalidRequest(`the ${name} is malformed`);
      if (values.length) params.set(name, values);
      continue;
    }
    if (typeof value !== 'string') throw new InvalidRequest(`the ${name} parameter is malformed`);
    if (!JUDGED_BY_ENDPOINT.has(name) && CONTROL.test(value)) throw new InvalidRequest(`the ${name} is malformed`);
    if (value !== '') params.set(name, [value]);
  }
  return new Params(params);
}
/** RFC 6749 §2.3.1: parameters belong in the body; credentials in the URL are refused (REQ-T4). */
export function rejectQueryParams(query: unknown, names: readonly string[]): void {
  if (!query || typeof query !== 'object') return;
  for (const name of names) {
    if (Object.hasOwn(query, name)) throw new InvalidRequest('parameters must be sent in the request body, not the URL');
  }
}
