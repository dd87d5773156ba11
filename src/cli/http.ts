import { CliError, HttpError, NetworkError, networkReason } from './errors.js';

const TIMEOUT_MS = 30_000;

/** What a base URL flag or variable holds: an http(s) URL, without its trailing slash. */
export function baseUrl(value: string, what: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new CliError(`${what} is not a URL: ${JSON.stringify(value)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new CliError(`${what} must be an http(s) URL: ${JSON.stringify(value)}`);
  if (url.username || url.password) throw new CliError(`${what} must not carry credentials`);
  return url.href.replace(/\/+$/, '');
}

export interface Response {
  status: number;
  body: unknown;
}

/**
 * fetch with a timeout; a network failure becomes `cannot reach <url>: <reason>`, a non-2xx
 * `<status> <error>: <error_description>` (both CliError, exit 1). The body is JSON-parsed when it is JSON.
 */
export async function send(url: string, init: RequestInit): Promise<Response> {
  let res: globalThis.Response;
  let text: string;
  try {
    res = await fetch(url, { ...init, redirect: 'error', signal: AbortSignal.timeout(TIMEOUT_MS) });
    text = await res.text();
  } catch (err) {
    throw new NetworkError(`cannot reach ${url}: ${networkReason(err)}`);
  }
  if (res.status < 200 || res.status > 299) throw new HttpError(res.status, res.statusText, text);
  let body: unknown = null;
  if (text) {
    try {
      body = JSON.parse(text);
    } catch {
      throw new CliError(`${res.status} from ${url} is not JSON`);
    }
  }
  return { status: res.status, body };
}
