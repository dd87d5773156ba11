import { createHash, randomBytes } from 'node:crypto';
import t from 'tap';
import { ClaimTable } from '../../src/storage/kv/claim-table.js';
import { heapUsedAfterGc } from '../helpers/heap.js';

/** A replay key as private_key_jwt makes it: base64url SHA-256 of client id and jti. */
const digestKey = (i: number): string => createHash('sha256').update(`client\u0000jti-${i}`).digest('base64url');
const NOW = 1_800_000_000;

t.test('each of 200,000 distinct keys is claimed once, through growth; none twice', async (t) => {
  const table = new ClaimTable();
  let firsts = 0;
  for (let i = 0; i < 200_000; i++) if (table.claim(digestKey(i), NOW + 300, NOW)) firsts++;
  t.equal(firsts, 200_000, 'every new key is claimed');
  let seconds = 0;
  for (let i = 0; i < 200_000; i++) if (table.claim(digestKey(i), NOW + 300, NOW)) seconds++;
  t.equal(seconds, 0, 'no key is claimed twice');
  t.equal(table.size, 200_000);
  t.ok(table.bytes <= 200_000 * 32, `at most 32 bytes a marker after growth: ${table.bytes} bytes`);
});

t.test('keys of any other shape are fingerprinted by their hash', async (t) => {
  const table = new ClaimTable();
  t.equal(table.claim('client-a:jti-1', NOW + 300, NOW), true);
  t.equal(table.claim('client-a:jti-1', NOW + 300, NOW), false);
  t.equal(table.claim('client-a:jti-2', NOW + 300, NOW), true);
  // 43 characters that are not base64url take the hash path, so they cannot alias a digest key.
  const odd = `${'!'.repeat(16)}${digestKey(1).slice(16)}`;
  t.equal(table.claim(digestKey(1), NOW + 300, NOW), true);
  t.equal(table.claim(odd, NOW + 300, NOW), true);
  t.equal(table.claim('', NOW + 300, NOW), true);
  t.equal(table.claim('', NOW + 300, NOW), false);
});

t.test('a claim ends at its expiry; the slot is claimed again and held anew', async (t) => {
  const table = new ClaimTable();
  const key = digestKey(7);
  t.equal(table.claim(key, NOW + 10, NOW), true);
  t.equal(table.claim(key, NOW + 900, NOW + 9), false, 'a later expiry does not reopen it');
  t.equal(table.claim(key, NOW + 70, NOW + 10), true, 'expired at its second');
  t.equal(table.claim(key, NOW + 70, NOW + 69), false, 'held until the new expiry');
  t.equal(table.size, 1, 'the same slot');
  t.equal(table.claim(digestKey(8), NOW + 10.2, NOW + 10), true, 'a fractional expiry rounds up');
  t.equal(table.claim(digestKey(8), NOW + 90, NOW + 10), false);
});

t.test('compact() drops expired markers, keeps live ones and shrinks the table', async (t) => {
  const table = new ClaimTable();
  for (let i = 0; i < 100_000; i++) table.claim(digestKey(i), NOW + (i < 99_000 ? 60 : 600), NOW);
  const grown = table.bytes;
  table.compact(NOW + 60);
  t.equal(table.size, 1_000, 'only the live markers remain');
  t.ok(table.bytes < grown / 16, `shrunk from ${grown} to ${table.bytes} bytes`);
  for (let i = 99_000; i < 100_000; i++) if (table.claim(digestKey(i), NOW + 900, NOW + 61)) t.fail(`live key ${i} was claimed again`);
  t.equal(table.claim(digestKey(5), NOW + 900, NOW + 61), true, 'a dropped key can be claimed again');
});

t.test('200,000 live markers hold under half the memory a Map of their keys does', async (t) => {
  // Keys made in the loop, as requests make them: only the structure keeps them.
  const base = await heapUsedAfterGc();
  const map = new Map<string, number>();
  for (let i = 0; i < 200_000; i++) map.set(randomBytes(32).toString('base64url'), NOW + 300);
  const mapBytes = (await heapUsedAfterGc()) - base;
  map.clear();

  const before = await heapUsedAfterGc();
  const table = new ClaimTable();
  for (let i = 0; i < 200_000; i++) table.claim(randomBytes(32).toString('base64url'), NOW + 300, NOW);
  const tableBytes = (await heapUsedAfterGc()) - before + table.bytes; // typed arrays' storage is off the JS heap
  t.equal(table.size, 200_000);
  const mb = (n: number): string => (n / 1048576).toFixed(1);
  t.ok(tableBytes <= 200_000 * 32, `table: ${mb(tableBytes)} MB`);
  t.ok(tableBytes * 2 < mapBytes, `table ${mb(tableBytes)} MB against a Map's ${mb(mapBytes)} MB`);
});
