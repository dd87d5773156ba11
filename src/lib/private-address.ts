import ipaddr from 'ipaddr.js';

/**
 * IPv6 prefixes that carry an IPv4 address inside them, or route to one: a connection there can
 * reach any IPv4 host (169.254.169.254 through NAT64 or 6to4, 127.0.0.1 as IPv4-compatible), so
 * none is fetched from, whatever IPv4 address it embeds. ipaddr.js names most of them already;
 * this list holds them on its own so that a change in its table cannot let one through.
 */
const IPV4_CARRYING: readonly [ipaddr.IPv6, number][] = [
  ipaddr.IPv6.parseCIDR('::/96'), // IPv4-compatible (RFC 4291 §2.5.5.1, deprecated); also :: and ::1
  ipaddr.IPv6.parseCIDR('::ffff:0:0/96'), // IPv4-mapped (RFC 4291 §2.5.5.2)
  ipaddr.IPv6.parseCIDR('::ffff:0:0:0/96'), // SIIT (RFC 6145)
  ipaddr.IPv6.parseCIDR('64:ff9b::/96'), // NAT64 well-known prefix (RFC 6052)
  ipaddr.IPv6.parseCIDR('64:ff9b:1::/48'), // NAT64 local-use (RFC 8215)
  ipaddr.IPv6.parseCIDR('2001::/32'), // Teredo (RFC 4380)
  ipaddr.IPv6.parseCIDR('2002::/16'), // 6to4 (RFC 3056)
];

/** The IPv6 global unicast space (RFC 4291 §2.4; IANA IPv6 address space): nothing else is public. */
const GLOBAL_UNICAST_V6 = ipaddr.IPv6.parseCIDR('2000::/3');

/**
 * Whether an IP address may be fetched from: ipaddr.js's table of the IANA special-purpose
 * registries (IPv4 and IPv6) must call it `unicast`; an IPv6 address must also be in 2000::/3 and
 * not in a prefix that embeds or routes to IPv4.
 */
function isPublicAddress(address: ipaddr.IPv4 | ipaddr.IPv6): boolean {
  if (address.kind() === 'ipv4') return address.range() === 'unicast';
  const v6 = address as ipaddr.IPv6;
  if (v6.range() !== 'unicast') return false;
  if (!v6.match(GLOBAL_UNICAST_V6)) return false;
  return !IPV4_CARRYING.some((range) => v6.match(range));
}

/**
 * A host a production server must not fetch from (threat model REQ-D8): local names (`localhost`,
 * `*.local`, `*.internal`), and any IP address outside public unicast space (see isPublicAddress):
 * private, loopback, link-local, CGNAT, unspecified, broadcast, multicast, documentation,
 * benchmarking, reserved, unique-local, site-local, discard, NAT64, 6to4, Teredo, IPv4-mapped and
 * IPv4-compatible. A trailing dot (`localhost.`), URL brackets and an IPv6 zone id are ignored. A
 * name that is not an address is checked when it resolves (public-fetch.ts).
 */
export function isPrivateHost(hostname: string): boolean {
  const host = hostname
    .replace(/^\[|\]$/g, '')
    .replace(/\.+$/, '')
    .toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost') || host.endsWith('.local') || host.endsWith('.internal')) return true;
  // isValid also takes the legacy IPv4 forms (0x7f.1, 2130706433) that inet_aton resolvers accept.
  if (!ipaddr.isValid(host)) return false;
  return !isPublicAddress(ipaddr.parse(host));
}
