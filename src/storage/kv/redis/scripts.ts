import { createHash } from 'node:crypto';
import { REVOCATION_ENTRY as E } from '../../../protocol/index.js';

/**
 * How long a stream entry is kept: token lifetimes are capped at 86400 s, and a client-wide
 * revocation's `until` adds a minute of skew leeway to that; an hour of margin covers both.
 */
const RETAIN_SECONDS = 86_400 + 3_600;

/** A Lua script and its SHA-1, for EVALSHA. */
export interface LuaScript {
  lua: string;
  sha: string;
}
function luaScript(lua: string): LuaScript {
  return { lua, sha: createHash('sha1').update(lua).digest('hex') };
}

/**
 * Applies a batch of revocation events atomically: key with EXAT, stream entry (trimmed to the
 * retained window), one pub/sub nudge. An event that changes nothing (already revoked as long, or
 * lapsed) is skipped, which makes seeding idempotent.
 * KEYS: marker, stream, then one state key per event. ARGV: requireSeeded ('1'|'0'), nudge channel,
 * then kind, a, b, c per event (token: jti, exp, client_id|''; client: client_id, revoked_before, until).
 */
export const REVOKE = luaScript(`
if ARGV[1] == '1' and redis.call('EXISTS', KEYS[1]) == 0 then
  return redis.error_reply('TMUNSEEDED revocation store has not been seeded')
end
local now = tonumber(redis.call('TIME')[1])
local minid = tostring(now - ${RETAIN_SECONDS}) .. '000'
local applied, last = 0, ''
for i = 1, #KEYS - 2 do
  local key = KEYS[2 + i]
  local base = 2 + (i - 1) * 4
  local kind, a, b, c = ARGV[base + 1], ARGV[base + 2], ARGV[base + 3], ARGV[base + 4]
  if kind == 'token' then
    local exp = tonumber(b)
    if exp > now and redis.call('EXPIRETIME', key) < exp then
      redis.call('SET', key, '1', 'EXAT', b)
      if c == '' then
        last = redis.call('XADD', KEYS[2], 'MINID', minid, '*', '${E.type}', '${E.token}', '${E.jti}', a, '${E.exp}', b)
      else
        last = redis.call('XADD', KEYS[2], 'MINID', minid, '*', '${E.type}', '${E.token}', '${E.jti}', a, '${E.exp}', b, '${E.clientId}', c)
      end
      applied = applied + 1
    end
  else
    local before, untl = tonumber(b), tonumber(c)
    if untl > now then
      local cur = redis.call('GET', key)
      local curBefore = cur and tonumber(cur) or nil
      local curUntil = redis.call('EXPIRETIME', key)
      if curBefore == nil or curBefore < before or curUntil < untl then
        local newBefore, newUntil = b, c
        if curBefore ~= nil and curBefore > before then newBefore = cur end
        if curUntil > untl then newUntil = tostring(curUntil) end
        redis.call('SET', key, newBefore, 'EXAT', newUntil)
        last = redis.call('XADD', KEYS[2], 'MINID', minid, '*', '${E.type}', '${E.client}', '${E.clientId}', a, '${E.revokedBefore}', newBefore, '${E.until}', newUntil)
        applied = applied + 1
      end
    end
  end
end
if applied > 0 then redis.call('PUBLISH', ARGV[2], last) end
return applied
`);

/**
 * Claims a client-assertion jti: refuses while either marker is missing (Redis lost its data, or
 * came back and the revocation store has not restored its state yet: fail closed, and the caller
 * starts the re-seed), refuses, while the untrusted window lasts, assertions without iat or with
 * iat ≤ L + the accepted future skew (see ReplayCache), then `SET NX EXAT`.
 * KEYS: seed marker, replay epoch, untrusted-before, jti key. ARGV: exat, iat ('' when absent), future skew.
 */
export const CLAIM = luaScript(`
if redis.call('EXISTS', KEYS[1], KEYS[2]) < 2 then
  return redis.error_reply('TMUNSEEDED replay state has not been restored')
end
local ub = redis.call('GET', KEYS[3])
if ub and (ARGV[2] == '' or tonumber(ARGV[2]) <= tonumber(ub) + tonumber(ARGV[3])) then
  return 0
end
if redis.call('SET', KEYS[4], '1', 'NX', 'EXAT', ARGV[1]) then
  return 1
end
return 0
`);

/** An epoch-seconds script argument; RangeError unless a non-negative safe integer. */
export function checkSeconds(name: string, v: number): string {
  if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`${name} must be a non-negative integer of epoch seconds`);
  return String(v);
}
