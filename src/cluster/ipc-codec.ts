/**
 * Values crossing the cluster IPC channel, which carries JSON (Node's default serialisation, left
 * as is so other users of the channel are unaffected). Store arguments and results hold Buffers
 * (secret and registration-token digests), Maps (batched last-used times) and Dates; they travel
 * as tagged objects. An object that happens to have the tag member itself is wrapped, so client
 * input (JWKS members, audit details) never decodes into something else.
 */
const TAG = '$tm';

type Tagged = { [TAG]: 'buf'; b: string } | { [TAG]: 'map'; e: unknown[] } | { [TAG]: 'date'; t: number } | { [TAG]: 'undef' } | { [TAG]: 'obj'; v: Record<string, unknown> };

export function encode(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value === undefined ? { [TAG]: 'undef' } : value;
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) return { [TAG]: 'buf', b: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') };
  if (value instanceof Date) return { [TAG]: 'date', t: value.getTime() };
  if (value instanceof Map) return { [TAG]: 'map', e: [...value].map(([k, v]) => [encode(k), encode(v)]) };
  if (Array.isArray(value)) return value.map(encode);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (v !== undefined) setMember(out, k, encode(v));
  return Object.hasOwn(out, TAG) ? { [TAG]: 'obj', v: out } : out;
}

export function decode(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(decode);
  const obj = value as Record<string, unknown>;
  if (Object.hasOwn(obj, TAG)) {
    const t = obj as Tagged;
    switch (t[TAG]) {
      case 'buf':
        return Buffer.from(t.b, 'base64');
      case 'date':
        return new Date(t.t);
      case 'map':
        return new Map(t.e.map((pair) => (pair as unknown[]).map(decode) as [unknown, unknown]));
      case 'undef':
        return undefined;
      case 'obj':
        return decodeMembers(t.v);
      default:
        throw new Error('unknown IPC value tag');
    }
  }
  return decodeMembers(obj);
}

function decodeMembers(obj: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) setMember(out, k, decode(v));
  return out;
}

/** Assignment that keeps a member named __proto__ a member (JSON.parse makes it one). */
function setMember(obj: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  else obj[key] = value;
}
