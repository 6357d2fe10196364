/**
 * The store's Lua scripts (the append, the unlock of a lock) and how they are run: EVALSHA, then EVAL
 * when Redis does not have the script.
 */
import { createHash } from 'node:crypto';
import type { RedisClient } from './client';

/**
 * KEYS: chain, anchor, idx:entered, tree, anchor-tree, then per item: record key, caller index key.
 * ARGV: expected seq, expected hash, item count, trim seq (0: none), trim hash, trim min id, tree after the
 * append ('' : none), anchor tree of the trim ('' : none), then per item 12 values: event id, seq, prev,
 * hash, body, has record (1/0), uniqueid, record JSON, stage, enteredMs, caller index mode
 * (add/remove/none), and the record's `last` field as read before (the call's last entry, "<seq>:<hash>",
 * '' when absent): if another writer moved it since, nothing is written ('call-conflict'). Every entry
 * about a call sets `last`. A stage below every other (-1) only indexes the event under the record.
 */
const APPEND_LUA = `
local chain, anchorKey, idx, treeKey, anchorTreeKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local expSeq, expHash, n = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3])
local trimSeq, trimHash, trimMin = tonumber(ARGV[4]), ARGV[5], ARGV[6]
local newTree, trimTree = ARGV[7], ARGV[8]
local headSeq, headHash = 0, string.rep('0', 64)
local last = redis.call('XREVRANGE', chain, '+', '-', 'COUNT', 1)
if #last > 0 then
  local f = last[1][2]
  for i = 1, #f, 2 do
    if f[i] == 'seq' then headSeq = tonumber(f[i + 1]) elseif f[i] == 'hash' then headHash = f[i + 1] end
  end
else
  local a = redis.call('GET', anchorKey)
  if a then
    local s, h = string.match(a, '^(%d+):(%x+)$')
    if s then headSeq, headHash = tonumber(s), h end
  end
end
if headSeq ~= expSeq or headHash ~= expHash then
  return {'conflict', tostring(headSeq), headHash, redis.call('GET', treeKey) or ''}
end
local dups = {}
for i = 0, n - 1 do
  local a = 9 + i * 12
  if ARGV[a + 5] == '1' and redis.call('HEXISTS', KEYS[6 + i * 2], 'ev:' .. ARGV[a]) == 1 then
    dups[#dups + 1] = ARGV[a]
  end
end
if #dups > 0 then return {'duplicate', unpack(dups)} end
for i = 0, n - 1 do
  local a = 9 + i * 12
  if ARGV[a + 5] == '1' and (redis.call('HGET', KEYS[6 + i * 2], 'last') or '') ~= ARGV[a + 11] then
    return {'call-conflict', ARGV[a + 6]}
  end
end
if trimSeq > 0 then
  local t = redis.call('XRANGE', chain, ARGV[4] .. '-0', ARGV[4] .. '-0')
  local ok = false
  if #t > 0 then
    local f = t[1][2]
    for i = 1, #f, 2 do if f[i] == 'hash' and f[i + 1] == trimHash then ok = true end end
  end
  if not ok then return redis.error_reply('LEDGER trim target is not in the chain') end
  local a = redis.call('GET', anchorKey)
  if a then
    local s = tonumber(string.match(a, '^(%d+):'))
    if s and s >= trimSeq then return redis.error_reply('LEDGER chain already trimmed past the target') end
  end
end
for i = 0, n - 1 do
  local a = 9 + i * 12
  local seq = ARGV[a + 1]
  redis.call('XADD', chain, seq .. '-0', 'seq', seq, 'prev', ARGV[a + 2], 'hash', ARGV[a + 3], 'body', ARGV[a + 4])
  if ARGV[a + 5] == '1' then
    local rec, callerKey, uid = KEYS[6 + i * 2], KEYS[7 + i * 2], ARGV[a + 6]
    local stage = tonumber(ARGV[a + 8])
    local cur = tonumber(redis.call('HGET', rec, 'stage') or '0')
    redis.call('HSET', rec, 'ev:' .. ARGV[a], seq, 'last', seq .. ':' .. ARGV[a + 3])
    if stage >= cur then
      redis.call('HSET', rec, 'record', ARGV[a + 7], 'stage', ARGV[a + 8], 'seq', seq, 'enteredMs', ARGV[a + 9])
      redis.call('ZADD', idx, ARGV[a + 9], uid)
      if ARGV[a + 10] == 'add' then
        redis.call('SADD', callerKey, uid)
      elseif ARGV[a + 10] == 'remove' then
        redis.call('SREM', callerKey, uid)
      end
    end
  end
end
if newTree ~= '' then redis.call('SET', treeKey, newTree) end
if trimSeq > 0 then
  redis.call('SET', anchorKey, ARGV[4] .. ':' .. trimHash)
  if trimTree ~= '' then redis.call('SET', anchorTreeKey, trimTree) else redis.call('DEL', anchorTreeKey) end
  redis.call('XTRIM', chain, 'MINID', trimMin)
end
return {'ok'}
`;

const UNLOCK_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

/**
 * KEYS: recording-keys. ARGV: uniqueid, the key (JSON). Stores it unless an erasure left its tombstone
 * there; returns 1 when stored, 0 when not.
 */
const PUT_KEY_LUA = `
local v = redis.call('HGET', KEYS[1], ARGV[1])
if v and string.find(v, '"destroyedAtMs"', 1, true) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
`;

class Script {
  readonly sha: string;
  constructor(readonly lua: string) {
    this.sha = createHash('sha1').update(lua).digest('hex');
  }

  async run(client: RedisClient, keys: string[], args: (string | number)[]): Promise<unknown> {
    try {
      return await client.call('EVALSHA', this.sha, keys.length, ...keys, ...args);
    } catch (e) {
      if (!(e instanceof Error) || !e.message.startsWith('NOSCRIPT')) throw e;
      return client.call('EVAL', this.lua, keys.length, ...keys, ...args);
    }
  }
}

export const appendScript = new Script(APPEND_LUA);
export const unlockScript = new Script(UNLOCK_LUA);
export const putKeyScript = new Script(PUT_KEY_LUA);
