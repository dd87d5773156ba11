/**
 * Extraction of the bearer token from an `Authorization` header (RFC 6750 §2.1).
 *
 * @packageDocumentation
 */
import type { IncomingMessage } from 'node:http';
import { VerifyError } from './errors.js';

const SCHEME_AND_REST = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+)(?:[ ]+(.*))?$/s;
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

/**
 * Returns the bearer token of a request, or `undefined` when the request carries no `Authorization`
 * header or one with another scheme (then `verify(undefined)` answers 401 with a bare challenge).
 *
 * The scheme is matched case-insensitively. Throws a 400 `invalid_request` {@link VerifyError} when there
 * are several `Authorization` headers, the `Bearer` credentials are empty, or there is more than one
 * token; throws 401 `invalid_token` when the credentials are not RFC 6750 `b64token` characters.
 *
 * @param req - the incoming request (only its headers are read).
 * @param realm - the realm for the challenge (the issuer).
 */
export function extractBearerToken(req: Pick<IncomingMessage, 'headers'> & { headersDistinct?: NodeJS.Dict<string[]> }, realm: string): string | undefined {
  const distinct = req.headersDistinct?.authorization;
  const raw = req.headers.authorization;
  const values = distinct ?? (raw === undefined ? [] : [raw]);
  if (values.length === 0) return undefined;
  if (values.length > 1) {
    throw new VerifyError({ status: 400, code: 'invalid_request', description: 'more than one Authorization header', realm });
  }
  const value = (values[0] ?? '').trim();
  if (value === '') return undefined;
  const m = SCHEME_AND_REST.exec(value);
  if (!m) throw new VerifyError({ status: 400, code: 'invalid_request', description: 'malformed Authorization header', realm });
  if ((m[1] ?? '').toLowerCase() !== 'bearer') return undefined;
  const credentials = (m[2] ?? '').trim();
  if (credentials === '') throw new VerifyError({ status: 400, code: 'invalid_request', description: 'bearer token missing from the Authorization header', realm });
  if (/\s/.test(credentials)) throw new VerifyError({ status: 400, code: 'invalid_request', description: 'exactly one bearer token is expected', realm });
  if (!B64TOKEN.test(credentials)) throw new VerifyError({ status: 401, code: 'invalid_token', description: 'malformed access token', realm });
  return credentials;
}
