// What the CLI prints never drives the terminal: C0/C1 controls (ESC, CSI U+009B…) and bidi
// overrides/isolates/marks (Trojan Source, CVE-2021-42574) become visible \u{…} text in human
// output and \uXXXX escapes in JSON output, which still parses back to the original value.
import t from 'tap';
import { Context, type Io } from '../../src/cli/context.js';
import { safeJson, safeText } from '../../src/cli/sanitize.js';

const UNSAFE = [
  ...Array.from({ length: 0x20 }, (_, i) => i).filter((c) => c !== 0x09 && c !== 0x0a),
  0x7f,
  ...Array.from({ length: 0x20 }, (_, i) => 0x80 + i),
  0x061c,
  0x200e,
  0x200f,
  0x202a,
  0x202b,
  0x202c,
  0x202d,
  0x202e,
  0x2066,
  0x2067,
  0x2068,
  0x2069,
].map((c) => String.fromCodePoint(c));

t.test('safeText replaces every unsafe character with visible \\u{…} text, and keeps the rest', async (t) => {
  for (const ch of UNSAFE) {
    const out = safeText(`a${ch}b`);
    t.equal(out, `a\\u{${ch.codePointAt(0)!.toString(16)}}b`, `U+${ch.codePointAt(0)!.toString(16).padStart(4, '0')}`);
  }
  t.equal(safeText('name\u009b31mred'), 'name\\u{9b}31mred', 'CSI (U+009B) never reaches the terminal');
  t.equal(safeText('\u001b[2J'), '\\u{1b}[2J', 'ESC');
  t.equal(safeText('invoice\u202Egnp.exe'), 'invoice\\u{202e}gnp.exe', 'RLO');
  t.equal(safeText('tab\there\nnext line'), 'tab\there\nnext line', 'tab and newline are layout, kept');
  t.equal(safeText('héllo — 日本 🙂 ü'), 'héllo — 日本 🙂 ü', 'ordinary non-ASCII text is untouched');
});

t.test('safeJson escapes C0, DEL, C1 and bidi characters as \\uXXXX; the value round-trips', async (t) => {
  const value = { client_name: `x${UNSAFE.join('')}y`, nested: [{ ['k\u202e']: 'v\u009b' }], plain: 'héllo 🙂' };
  const text = safeJson(value);
  for (const ch of UNSAFE) t.notOk(text.includes(ch), `no raw U+${ch.codePointAt(0)!.toString(16).padStart(4, '0')}`);
  t.match(text, '\\u009b');
  t.match(text, '\\u202e');
  t.match(text, 'héllo 🙂', 'ordinary text stays readable');
  t.strictSame(JSON.parse(text), value, 'parses back to exactly the value');
  t.equal(safeJson({ a: 1 }), JSON.stringify({ a: 1 }, null, 2), 'pretty-printed as before');
});

t.test('Context.printJson and Context.print write only safe text', async (t) => {
  let out = '';
  const io: Io = { out: (s) => void (out += s), err: () => {}, env: {} };
  const ctx = new Context(io, { json: true });
  ctx.printJson({ client_name: 'evil\u009b\u202e' });
  t.strictSame(JSON.parse(out), { client_name: 'evil\u009b\u202e' });
  t.notOk(/[\u009b\u202e]/.test(out), 'no raw control or bidi character');
});
