import t from 'tap';
import { createHash } from 'node:crypto';
import { SECRET_PREFIX, generateSecretValue, hasValidChecksum, hashSecret, matchSecret, newClientSecret } from '../../src/clients/secret.js';
import type { ClientSecret } from '../../src/clients/client.js';

const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);

t.test('contract / REQ-B5: secrets are tmsec_ + 43 base62 (≈256 bits) + a 6-character checksum', async (t) => {
  const seen = new Set<string>();
  for (let i = 0; i < 200; i++) {
    const s = generateSecretValue();
    t.match(s, /^tmsec_[0-9A-Za-z]{49}$/);
    if (!hasValidChecksum(s)) t.fail(`checksum of ${s.slice(0, 10)}…`);
    seen.add(s);
  }
  t.equal(seen.size, 200, 'no repeats');
  t.ok(43 * Math.log2(62) >= 256, '43 base62 characters carry at least 256 bits');
  t.equal(SECRET_PREFIX, 'tmsec_');
});

t.test('contract: the checksum lets scanners verify offline; any change breaks it', async (t) => {
  const s = generateSecretValue();
  t.ok(hasValidChecksum(s));
  const flip = (c: string) => (c === 'a' ? 'b' : 'a');
  for (const i of [6, 20, 48, 49, 54]) t.notOk(hasValidChecksum(s.slice(0, i) + flip(s[i]!) + s.slice(i + 1)), `changed at ${i}`);
  t.notOk(hasValidChecksum(s.slice(0, -1)), 'too short');
  t.notOk(hasValidChecksum(`${s}a`), 'too long');
  t.notOk(hasValidChecksum(`tmsex_${s.slice(6)}`), 'other prefix');
  t.notOk(hasValidChecksum(''), 'empty');
});

t.test('REQ-A5: secrets are stored as SHA-256 digests', async (t) => {
  t.same(hashSecret('abc'), createHash('sha256').update('abc').digest());
  const { value, record } = newClientSecret('sec_1', NOW, null);
  t.same(record.hash, createHash('sha256').update(value).digest());
  t.notOk(JSON.stringify({ ...record, hash: record.hash.toString('hex') }).includes(value.slice(6)), 'the record holds no plaintext');
  t.ok(value.startsWith(record.prefix), 'the shown prefix is the start of the secret');
  t.ok(record.prefix.length <= 12, 'the prefix is short (non-secret)');
});

t.test('REQ-A5 / REQ-A8: matchSecret compares digests, skips expired secrets, never throws on length', async (t) => {
  const a = newClientSecret('sec_a', NOW, null);
  const b = newClientSecret('sec_b', NOW, NOW + 60_000);
  const secrets: ClientSecret[] = [a.record, b.record];
  t.equal(matchSecret(a.value, secrets, NOW), 'sec_a');
  t.equal(matchSecret(b.value, secrets, NOW), 'sec_b');
  t.equal(matchSecret(b.value, secrets, NOW + 59_999), 'sec_b', 'live until its expiry');
  t.equal(matchSecret(b.value, secrets, NOW + 60_000), null, 'expired at expires_at (REQ-A8)');
  t.equal(matchSecret(a.value, secrets, NOW + 60_000), 'sec_a', 'the other secret still works');
  t.equal(matchSecret('wrong', secrets, NOW), null);
  t.equal(matchSecret('', secrets, NOW), null);
  t.equal(matchSecret('x'.repeat(10_000), secrets, NOW), null, 'any length is fine (digests are compared)');
  t.equal(matchSecret(a.value, null, NOW), null, 'unknown client: no match, no throw');
  t.equal(matchSecret(a.value, [], NOW), null);
  t.equal(matchSecret(`${a.value} `, secrets, NOW), null, 'exact match only');
  t.equal(matchSecret(a.value.toUpperCase(), secrets, NOW), null, 'case-sensitive');
});
