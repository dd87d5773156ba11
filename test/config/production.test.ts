// Production refuses weak secrets and plain HTTP (contract "Running it": NODE_ENV=production turns on
// required secrets and "no plain HTTP unless behind a trusted proxy"); the admin listener binds its
// own ADMIN_HOST.
import { randomBytes } from 'node:crypto';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import { ConfigError, estimateTokenEntropyBits, loadConfig } from '../../src/config/load.js';
import { checksum, randomBase62 } from '../../src/lib/random.js';
import { selfSignedCertificate } from '../helpers/tls.js';

const KEK = randomBytes(32).toString('base64url');
const ADMIN = randomBytes(48).toString('base64');
const PROD = { NODE_ENV: 'production', ISSUER: 'https://auth.example.com', ADMIN_TOKEN: ADMIN, KEY_ENCRYPTION_KEY: KEK, TRUST_PROXY: 'true' };

function configError(t: Test, env: Record<string, string>, ...mentions: string[]): string {
  let thrown: unknown = null;
  try {
    loadConfig(env);
  } catch (err) {
    thrown = err;
  }
  t.ok(thrown instanceof ConfigError, 'a ConfigError');
  const message = thrown instanceof Error ? thrown.message : '';
  for (const m of mentions) t.match(message, m, `the message names ${m}: ${message}`);
  return message;
}

t.test('production refuses a low-entropy ADMIN_TOKEN, naming the variable and not echoing it', async (t) => {
  for (const weak of [
    'a'.repeat(32),
    'a'.repeat(128),
    'ab'.repeat(32),
    '0123456789'.repeat(4), // ten symbols, 133 bits by character counts alone, but one 10-character unit repeated
    'password'.repeat(5),
    'correct-horse-battery-staple-correct-horse-battery-staple',
    'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab',
    '01234567890123456789012345678901', // 32 characters over ten digits: 106 bits at most
  ]) {
    const message = configError(t, { ...PROD, ADMIN_TOKEN: weak }, 'ADMIN_TOKEN', 'openssl rand');
    t.notMatch(message, weak, 'the token is not echoed');
  }
});

t.test('generated admin tokens pass: openssl rand -base64 48 / -hex 32, 32 random bytes base64url, the dev generator', async (t) => {
  for (let i = 0; i < 300; i++) {
    for (const token of [randomBytes(48).toString('base64'), randomBytes(32).toString('hex'), randomBytes(32).toString('base64url'), `tmadm_${randomBase62(43)}`]) {
      const bits = estimateTokenEntropyBits(token);
      if (bits < 128) t.fail(`a generated token was refused: ${bits} bits`);
    }
  }
  const body = `tmadm_${randomBase62(43)}`;
  t.equal(loadConfig({ ...PROD, ADMIN_TOKEN: body + checksum(body) }).adminToken, body + checksum(body));
  t.ok(estimateTokenEntropyBits('a'.repeat(32)) === 0, 'one repeated character has no entropy');
});

t.test('production refuses a weak KEY_ENCRYPTION_KEY: all zeros, few distinct byte values, a repeated block', async (t) => {
  const b64 = (bytes: number[] | Buffer) => Buffer.from(bytes).toString('base64url');
  for (const [label, weak] of [
    ['all zeros', 'A'.repeat(43)],
    ['all 0xff', b64(Buffer.alloc(32, 0xff))],
    ['four distinct bytes', b64(Array.from({ length: 32 }, (_, i) => [1, 7, 42, 200][i % 4]!))],
    ['twelve distinct bytes', b64(Array.from({ length: 32 }, (_, i) => (i * 5) % 12))],
    ['a random 8-byte block four times', b64(Buffer.concat(Array(4).fill(randomBytes(8)) as Buffer[]))],
    ['a random 16-byte block twice', b64(Buffer.concat(Array(2).fill(randomBytes(16)) as Buffer[]))],
  ] as const) {
    const message = configError(t, { ...PROD, KEY_ENCRYPTION_KEY: weak }, 'KEY_ENCRYPTION_KEY');
    t.notMatch(message, weak, `${label}: not echoed`);
  }
});

t.test('random KEY_ENCRYPTION_KEYs pass', async (t) => {
  for (let i = 0; i < 500; i++) {
    const kek = randomBytes(32).toString('base64url');
    try {
      loadConfig({ ...PROD, KEY_ENCRYPTION_KEY: kek });
    } catch (err) {
      t.fail(`a random key was refused: ${(err as Error).message}`);
    }
  }
});

t.test('development keeps accepting simple values (nothing leaves the machine there)', async (t) => {
  const c = loadConfig({ ADMIN_TOKEN: 'a'.repeat(32), KEY_ENCRYPTION_KEY: 'A'.repeat(43) });
  t.equal(c.adminToken, 'a'.repeat(32));
  t.equal(c.keyEncryptionKey, 'A'.repeat(43));
});

t.test('production without TLS files needs TRUST_PROXY; the error says what to set', async (t) => {
  const { TRUST_PROXY: _ignored, ...noProxy } = PROD;
  configError(t, noProxy, 'TLS_CERT_FILE', 'TLS_KEY_FILE', 'TRUST_PROXY');
  configError(t, { ...noProxy, TRUST_PROXY: 'false' }, 'TRUST_PROXY');
  t.equal(loadConfig(PROD).tls, null, 'behind a trusted proxy: plain HTTP to the proxy');
  t.equal(loadConfig(PROD).trustProxy, true);
});

t.test('TLS_CERT_FILE and TLS_KEY_FILE: both or neither, readable, a matching pair', async (t) => {
  const cert = selfSignedCertificate();
  t.teardown(cert.remove);
  const { TRUST_PROXY: _ignored, ...noProxy } = PROD;
  const tls = { TLS_CERT_FILE: cert.certFile, TLS_KEY_FILE: cert.keyFile };

  const c = loadConfig({ ...noProxy, ...tls });
  t.equal(c.tls?.cert, cert.cert, 'production serves HTTPS itself: no TRUST_PROXY needed');
  t.match(c.tls?.key, /-----BEGIN PRIVATE KEY-----/);
  t.equal(loadConfig({ ...tls }).tls?.cert, cert.cert, 'development may serve HTTPS too');

  configError(t, { ...noProxy, TLS_CERT_FILE: cert.certFile }, 'TLS_KEY_FILE');
  configError(t, { TLS_KEY_FILE: cert.keyFile }, 'TLS_CERT_FILE');
  configError(t, { ...noProxy, ...tls, TLS_CERT_FILE: join(cert.dir, 'missing.pem') }, 'TLS_CERT_FILE', 'missing.pem');
  configError(t, { ...noProxy, ...tls, TLS_KEY_FILE: join(cert.dir, 'missing.pem') }, 'TLS_KEY_FILE');
  const garbage = join(cert.dir, 'garbage.pem');
  writeFileSync(garbage, 'not a certificate\n');
  configError(t, { ...noProxy, ...tls, TLS_CERT_FILE: garbage }, 'TLS_CERT_FILE');
  configError(t, { ...noProxy, ...tls, TLS_KEY_FILE: garbage }, 'TLS_KEY_FILE');
  // A key that is not the certificate's.
  const other = selfSignedCertificate();
  t.teardown(other.remove);
  configError(t, { ...noProxy, TLS_CERT_FILE: cert.certFile, TLS_KEY_FILE: other.keyFile }, 'TLS_KEY_FILE', 'TLS_CERT_FILE');
  if (process.getuid?.() !== 0) {
    const unreadable = join(cert.dir, 'unreadable.pem');
    writeFileSync(unreadable, cert.cert);
    chmodSync(unreadable, 0o000);
    configError(t, { ...noProxy, ...tls, TLS_CERT_FILE: unreadable }, 'TLS_CERT_FILE');
  }
  const secret = configError(t, { ...noProxy, ...tls, TLS_KEY_FILE: garbage }, 'TLS_KEY_FILE');
  t.notMatch(secret, 'not a certificate', 'file contents are never echoed');
});

t.test('ADMIN_HOST: the admin listener binds 127.0.0.1 unless told, whatever HOST is', async (t) => {
  t.equal(loadConfig({}).adminHost, '127.0.0.1');
  t.equal(loadConfig({ HOST: '0.0.0.0' }).adminHost, '127.0.0.1', 'a public HOST does not expose the admin API');
  t.equal(loadConfig({ HOST: '0.0.0.0', ADMIN_HOST: '10.0.0.5' }).adminHost, '10.0.0.5');
  t.equal(loadConfig({ HOST: '0.0.0.0' }).host, '0.0.0.0');
});

t.test('the entropy estimate reads repeated units and stays fast on long input', async (t) => {
  t.equal(Math.round(estimateTokenEntropyBits('abcd'.repeat(16))), 8, 'abcd repeated: one unit of 4 symbols, 8 bits');
  t.equal(Math.round(estimateTokenEntropyBits('abcdabcdab')), 8, 'a partial last repeat is still the same unit');
  t.equal(Math.round(estimateTokenEntropyBits('abcd')), 8);
  const started = Date.now();
  estimateTokenEntropyBits(`${'a'.repeat(200_000)}b`);
  t.ok(Date.now() - started < 1000, 'a 200 000-character value is measured in well under a second');
});
