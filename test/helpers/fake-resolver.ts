import type { LookupAddress } from 'node:dns';
import type { Resolver } from '../../src/lib/public-fetch.js';

/** A resolver over a fixed table (name → addresses); a name not in it is ENOTFOUND. Nothing is looked up. */
export const fakeResolver =
  (table: Record<string, string[]>): Resolver =>
  (hostname, callback) => {
    const list = table[hostname];
    if (!list) return callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), []);
    callback(
      null,
      list.map((address): LookupAddress => ({ address, family: address.includes(':') ? 6 : 4 })),
    );
  };
