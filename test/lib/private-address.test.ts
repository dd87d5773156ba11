// REQ-D8: the address check covers every entry of the IANA IPv4 and IPv6 special-purpose address
// registries, and the IPv6 forms that embed an IPv4 address (NAT64, 6to4, Teredo, IPv4-mapped,
// IPv4-compatible), checked in process with a fake resolver: nothing here connects anywhere.
import type { LookupAddress } from 'node:dns';
import t from 'tap';
import { isPrivateHost } from '../../src/lib/private-address.js';
import { PrivateAddressError, publicOnlyFetch, publicOnlyLookup } from '../../src/lib/public-fetch.js';
import { fakeResolver } from '../helpers/fake-resolver.js';

/** [address inside the range, the range it stands for] */
const REFUSED: [string, string][] = [
  // IANA IPv4 special-purpose address registry
  ['0.0.0.0', '0.0.0.0/8'],
  ['0.1.2.3', '0.0.0.0/8'],
  ['10.0.0.1', '10/8'],
  ['10.255.255.255', '10/8'],
  ['100.64.0.1', '100.64/10'],
  ['100.127.255.254', '100.64/10'],
  ['127.0.0.1', '127/8'],
  ['127.255.255.254', '127/8'],
  ['169.254.169.254', '169.254/16'],
  ['172.16.0.1', '172.16/12'],
  ['172.31.255.255', '172.16/12'],
  ['192.0.0.8', '192.0.0/24'],
  ['192.0.0.170', '192.0.0/24'],
  ['192.0.2.1', '192.0.2/24'],
  ['192.88.99.1', '192.88.99/24'],
  ['192.168.1.1', '192.168/16'],
  ['198.18.0.1', '198.18/15'],
  ['198.19.255.254', '198.18/15'],
  ['198.51.100.7', '198.51.100/24'],
  ['203.0.113.9', '203.0.113/24'],
  ['224.0.0.1', '224/4'],
  ['239.255.255.250', '224/4'],
  ['240.0.0.1', '240/4'],
  ['255.255.255.254', '240/4'],
  ['255.255.255.255', '255.255.255.255/32'],
  // IANA IPv6 special-purpose address registry
  ['::1', '::1/128'],
  ['::', '::/128'],
  ['::ffff:127.0.0.1', '::ffff:0:0/96'],
  ['::ffff:8.8.8.8', '::ffff:0:0/96 (even of a public IPv4 address)'],
  ['::ffff:7f00:1', '::ffff:0:0/96, hex form'],
  ['64:ff9b::a9fe:a9fe', '64:ff9b::/96 (NAT64 of 169.254.169.254)'],
  ['64:ff9b::808:808', '64:ff9b::/96 (NAT64 of a public address)'],
  ['64:ff9b:1::a00:1', '64:ff9b:1::/48'],
  ['100::1', '100::/64'],
  ['2001::1', '2001::/23 (Teredo 2001::/32)'],
  ['2001:0:4136:e378:8000:63bf:3fff:fdd2', '2001::/32 Teredo'],
  ['2001:2::1', '2001::/23 (benchmarking 2001:2::/48)'],
  ['2001:1ff::1', '2001::/23'],
  ['2001:db8::1', '2001:db8::/32'],
  ['2002:7f00:1::1', '2002::/16 (6to4 of 127.0.0.1)'],
  ['2002:a9fe:a9fe::1', '2002::/16 (6to4 of 169.254.169.254)'],
  ['fc00::1', 'fc00::/7'],
  ['fd12:3456:789a::1', 'fc00::/7'],
  ['fe80::1', 'fe80::/10'],
  ['febf::1', 'fe80::/10'],
  ['fec0::1', 'fec0::/10 (deprecated site-local)'],
  ['feff::1', 'fec0::/10'],
  ['ff02::1', 'ff00::/8'],
  ['ff0e::1', 'ff00::/8'],
  // IPv4-compatible (deprecated): ::/96 embeds an IPv4 address
  ['::127.0.0.1', '::/96 (IPv4-compatible)'],
  ['::a9fe:a9fe', '::/96 (IPv4-compatible)'],
  ['::8.8.8.8', '::/96 (IPv4-compatible, of a public address)'],
  // SIIT (RFC 6145 ::ffff:0:0:0/96)
  ['::ffff:0:a00:1', '::ffff:0:0:0/96'],
];

const ALLOWED = ['8.8.8.8', '1.1.1.1', '93.184.216.34', '2606:4700::1111', '2a00:1450:4001:80b::200e', '2001:4860:4860::8888'];

t.test('isPrivateHost refuses an address in every special-purpose range', async (t) => {
  for (const [address, range] of REFUSED) {
    t.equal(isPrivateHost(address), true, `${address} (${range})`);
    if (address.includes(':')) t.equal(isPrivateHost(`[${address}]`), true, `[${address}] as a URL host`);
  }
  t.equal(isPrivateHost('fe80::1%eth0'), true, 'a zone id does not hide a link-local address');
});

t.test('isPrivateHost lets ordinary public addresses through', async (t) => {
  for (const address of ALLOWED) t.equal(isPrivateHost(address), false, address);
  t.equal(isPrivateHost('[2606:4700::1111]'), false, 'bracketed');
  t.equal(isPrivateHost('keys.example.com'), false, 'a public name is checked when it resolves, not here');
});

t.test('isPrivateHost still refuses local names', async (t) => {
  for (const name of ['localhost', 'LOCALHOST.', 'a.localhost', 'printer.local', 'db.internal']) t.equal(isPrivateHost(name), true, name);
});

t.test('publicOnlyLookup refuses a name resolving into any special-purpose range; passes public ones', async (t) => {
  const table: Record<string, string[]> = {};
  REFUSED.forEach(([address], i) => (table[`r${i}.example.com`] = [address]));
  table['public.example.com'] = ALLOWED;
  const lookup = publicOnlyLookup(fakeResolver(table));
  for (const [i, [address, range]] of REFUSED.entries()) {
    const err = await new Promise<NodeJS.ErrnoException | null>((resolve) => lookup(`r${i}.example.com`, { all: true }, (e) => resolve(e)));
    t.type(err, PrivateAddressError, `${address} (${range})`);
  }
  const ok = await new Promise<{ err: NodeJS.ErrnoException | null; addresses: unknown }>((resolve) => lookup('public.example.com', { all: true }, (err, addresses) => resolve({ err, addresses })));
  t.equal(ok.err, null);
  t.equal((ok.addresses as LookupAddress[]).length, ALLOWED.length);
});

t.test('publicOnlyFetch refuses a literal address in these ranges before any connection', async (t) => {
  let resolved = 0;
  const fetchJwks = publicOnlyFetch((hostname, callback) => {
    resolved++;
    callback(Object.assign(new Error(`unexpected lookup of ${hostname}`), { code: 'ENOTFOUND' }), []);
  });
  for (const literal of ['[64:ff9b::a9fe:a9fe]', '[2002:a9fe:a9fe::1]', '[::127.0.0.1]', '[fec0::1]', '198.18.0.1', '[::ffff:169.254.169.254]']) {
    await t.rejects(fetchJwks(`https://${literal}/jwks`, { headers: new Headers(), signal: AbortSignal.timeout(1000) }), { name: 'PrivateAddressError', code: 'EPRIVATEADDR' }, literal);
  }
  t.equal(resolved, 0, 'never resolved, never connected');
});
