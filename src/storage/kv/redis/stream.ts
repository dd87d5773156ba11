import { REVOCATION_ENTRY as E } from '../../../protocol/index.js';
import type { RevocationEvent } from '../../types.js';

/** A stream id as a comparable pair; null when `s` is not `<ms>-<seq>`. */
export function parseId(s: string): [bigint, bigint] | null {
  const m = /^(\d{1,20})-(\d{1,20})$/.exec(s);
  if (!m) return null;
  const id: [bigint, bigint] = [BigInt(m[1] as string), BigInt(m[2] as string)];
  return id[0] < 2n ** 64n && id[1] < 2n ** 64n ? id : null;
}
export function compareIds(a: [bigint, bigint], b: [bigint, bigint]): number {
  if (a[0] !== b[0]) return a[0] < b[0] ? -1 : 1;
  return a[1] === b[1] ? 0 : a[1] < b[1] ? -1 : 1;
}

export type StreamEntry = [id: string, fields: string[]];

export interface StreamInfo {
  length: number;
  lastId: string;
  maxDeletedId: string;
  /** null on Redis < 7 (unknown: assume entries were trimmed) */
  entriesAdded: number | null;
  firstId: string | null;
}

/** XINFO STREAM reply (flat array with the default reply mapping, an object with `replyMapping: 'resp3'`). */
export function parseStreamInfo(reply: unknown): StreamInfo {
  const get = (name: string): unknown => {
    if (Array.isArray(reply)) {
      for (let i = 0; i + 1 < reply.length; i += 2) if (reply[i] === name) return reply[i + 1];
      return undefined;
    }
    return reply && typeof reply === 'object' ? (reply as Record<string, unknown>)[name] : undefined;
  };
  const first = get('first-entry');
  const added = get('entries-added');
  return {
    length: Number(get('length') ?? 0),
    lastId: String(get('last-generated-id') ?? '0-0'),
    maxDeletedId: String(get('max-deleted-entry-id') ?? '0-0'),
    entriesAdded: added === undefined || added === null ? null : Number(added),
    firstId: Array.isArray(first) && typeof first[0] === 'string' ? first[0] : null,
  };
}

export function toEvent(fields: string[]): RevocationEvent | null {
  const f = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) f.set(fields[i] as string, fields[i + 1] as string);
  const type = f.get(E.type);
  const num = (k: string): number => Number(f.get(k));
  if (type === E.token) {
    const jti = f.get(E.jti);
    if (!jti || !Number.isFinite(num(E.exp))) return null;
    return { type: 'token', jti, exp: num(E.exp), clientId: f.get(E.clientId) ?? null };
  }
  if (type === E.client) {
    const clientId = f.get(E.clientId);
    if (!clientId || !Number.isFinite(num(E.revokedBefore)) || !Number.isFinite(num(E.until))) return null;
    return { type: 'client', clientId, revokedBefore: num(E.revokedBefore), until: num(E.until) };
  }
  return null;
}
