import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { isPrivateHost } from './private-address.js';

/** Resolves a name to every address it has (`dns.lookup` with `all: true`). */
export type Resolver = (hostname: string, callback: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void) => void;

const systemResolver: Resolver = (hostname, callback) => dnsLookup(hostname, { all: true }, callback);

const MAX_BODY_BYTES = 512 * 1024;

export class PrivateAddressError extends Error {
  override readonly name = 'PrivateAddressError';
  readonly code = 'EPRIVATEADDR';
  constructor(hostname: string) {
    super(`${hostname} resolves to a private, loopback or link-local address`);
  }
}

/**
 * A socket `lookup` that refuses a name if any of its addresses is private (REQ-D8): checked when
 * the connection is made, so a name that passed registration cannot be re-pointed at an internal
 * service later (DNS rebinding). The connection uses the addresses checked here.
 */
export function publicOnlyLookup(resolve: Resolver = systemResolver, isBlocked: (address: string) => boolean = isPrivateHost): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname, (err, addresses) => {
      if (err) return callback(err, '', 0);
      const allowed = addresses.filter((a) => options.family === undefined || options.family === 0 || a.family === options.family);
      if (allowed.length === 0) return callback(Object.assign(new Error(`${hostname} has no usable address`), { code: 'ENOTFOUND' }), '', 0);
      if (addresses.some((a) => isBlocked(a.address))) return callback(new PrivateAddressError(hostname), '', 0);
      if (options.all) (callback as unknown as (err: null, addresses: LookupAddress[]) => void)(null, allowed);
      else callback(null, allowed[0]?.address ?? '', allowed[0]?.family ?? 4);
    });
  };
}

function toResponse(res: IncomingMessage, body: Buffer): Response {
  const status = res.statusCode ?? 502;
  if (status !== 200) return new Response(null, { status: status >= 200 && status <= 599 ? status : 502 });
  return new Response(body, { status, headers: { 'content-type': String(res.headers['content-type'] ?? 'application/json') } });
}

/**
 * A fetch for jose's remote key sets in production: GET only, no redirects, at most 512 KiB, and
 * never to a private, loopback or link-local address, whether named literally or resolved.
 * `resolve` and `isBlocked` are for tests.
 */
export function publicOnlyFetch(
  resolve: Resolver = systemResolver,
  isBlocked: (host: string) => boolean = isPrivateHost,
): (url: string, init: { headers: Headers; signal: AbortSignal }) => Promise<Response> {
  const lookup = publicOnlyLookup(resolve, isBlocked);
  return (url, init) =>
    new Promise((resolvePromise, reject) => {
      const target = new URL(url);
      if (target.protocol !== 'https:' && target.protocol !== 'http:') return reject(new Error(`unsupported scheme ${target.protocol}`));
      if (isBlocked(target.hostname)) return reject(new PrivateAddressError(target.hostname));
      const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
      const req = send(target, { method: 'GET', headers: Object.fromEntries(init.headers), lookup, signal: init.signal }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_BODY_BYTES) req.destroy(new Error('the JWKS response is too large'));
          else chunks.push(chunk);
        });
        res.on('end', () => resolvePromise(toResponse(res, Buffer.concat(chunks))));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
}
