import { luaScript, type Script } from './connection.js';

/**
 * The Lua scripts that write the store. Each runs atomically in Redis, so the consistency check
 * and the write it guards cannot interleave with another replica's: of two conflicting pushes
 * arriving at once, exactly one is stored and the other is refused. The check is incremental:
 * it reads only the index entries of the names and series the push touches (see keys.ts).
 *
 * The scripts decide only what depends on what Redis holds at the moment of the write; every
 * rule that needs nothing stored is applied in TypeScript first (push-semantics.ts,
 * consistency-rules.ts, codec.ts) and arrives as arguments. What stays here, and why it must:
 * - the namespace guard and the group limit: another replica's push may have just created the
 *   group, attributed it to another namespace or added the group that reaches the limit;
 * - the consistency lookups (the type other groups store under a name, the type a collision
 *   probe finds, which group holds a series, and which families a POST keeps): a check done
 *   outside the script could interleave with another replica's write, and two conflicting
 *   pushes would both be stored;
 * - recording a refused push (creating the group, the failure time) and applying a pushed
 *   push_failure_time_seconds only to a group that exists: whether it exists is Redis' state;
 * - the write itself, the generation (compare-and-delete) and the change log entry, which must
 *   be one step so that every replica's view sees the writes in commit order.
 *
 * Keys are built from the prefix in ARGV[1] (a standalone Redis or Sentinel-managed primary;
 * Redis Cluster is not supported). Numbers travel as strings and are never parsed by Lua, so
 * millisecond times keep every digit.
 */

function script(name: string, body: string): Script {
  return luaScript(name, PRELUDE + body);
}

/** Shared by the group scripts: ARGV[1] is the key prefix, ARGV[2] the group id. */
const PRELUDE = `
local P = ARGV[1]
local groupId = ARGV[2]
local kGroups, kPush, kFail, kOwner = P .. 'groups', P .. 'push', P .. 'fail', P .. 'owner'
local kSeries, kSeq, kLog = P .. 'series', P .. 'seq', P .. 'log'
local kGen, kScraped = P .. 'gen', P .. 'scraped'
local kIdx, kFam = P .. 'idx:' .. groupId, P .. 'fam:' .. groupId

-- The 32-character series hashes packed in s, in lists of at most 1000: a command takes a list
-- through unpack(), whose results must fit Lua's stack.
local function hashLists(s)
  local lists, list = {}, {}
  for j = 1, #s, 32 do
    list[#list + 1] = string.sub(s, j, j + 31)
    if #list == 1000 then
      lists[#lists + 1] = list
      list = {}
    end
  end
  if #list > 0 then lists[#lists + 1] = list end
  return lists
end

-- This group's index entry of a family: its type and its packed series hashes.
local function entryOf(name)
  local v = redis.call('HGET', kIdx, name)
  if not v then return nil, nil end
  local sp = string.find(v, ' ', 1, true)
  return string.sub(v, 1, sp - 1), string.sub(v, sp + 1)
end

-- Removes one family of this group from the index.
local function unindex(name)
  local t, packed = entryOf(name)
  if not t then return end
  local nt = P .. 'nt:' .. name
  if redis.call('HINCRBY', nt, t, -1) <= 0 then redis.call('HDEL', nt, t) end
  for _, hashes in ipairs(hashLists(packed)) do
    local holders, mine = redis.call('HMGET', kSeries, unpack(hashes)), {}
    for k, h in ipairs(hashes) do
      if holders[k] == groupId then mine[#mine + 1] = h end
    end
    if #mine > 0 then redis.call('HDEL', kSeries, unpack(mine)) end
  end
  redis.call('HDEL', kIdx, name)
end

-- True when the stored group (if any) is attributed to namespace ns: with authentication on, a
-- caller's writes are confined to its own namespace, checked atomically with the write.
local function inNamespace(ns)
  local g = redis.call('HGET', kGroups, groupId)
  if not g then return true end
  local attr = cjson.decode(g).attr
  return type(attr) == 'table' and attr.namespace == ns
end

-- The group's push generation: the number of the change that last pushed to it (accepted or
-- refused), so unique across groups and time. Groups written before generations existed have none: 0.
local function generation()
  return redis.call('HGET', kGen, groupId) or '0'
end

-- When a scrape confirmed the group's latest push ('' if none has): the mark is '<push ms> <at ms>'
-- and counts only while the push time is still the group's (a push by any writer ends it).
local function scrapedAt()
  local mark = redis.call('HGET', kScraped, groupId)
  if not mark then return '' end
  local sp = string.find(mark, ' ', 1, true)
  if string.sub(mark, 1, sp - 1) ~= (redis.call('HGET', kPush, groupId) or '0') then return '' end
  return string.sub(mark, sp + 1)
end

-- Appends the change to the log with the group's resulting meta data; returns the entry id. With
-- pushed, the change is a push (accepted or refused) and the group takes its number as generation.
-- known may hold what the caller just wrote (g: the group, p: the push time, s: the scrape mark),
-- so it is not read back.
local function emit(maxlen, op, method, families, pushed, known)
  known = known or {}
  local seq = redis.call('INCR', kSeq)
  if pushed then redis.call('HSET', kGen, groupId, seq) end
  local fields = {kLog, 'MAXLEN', '~', maxlen, '*', 'n', seq, 'op', op,
    'g', known.g or redis.call('HGET', kGroups, groupId) or '',
    'p', known.p or redis.call('HGET', kPush, groupId) or '0',
    'x', redis.call('HGET', kFail, groupId) or '0',
    'o', redis.call('HGET', kOwner, groupId) or '',
    'v', pushed and seq or generation(),
    's', known.s or scrapedAt()}
  if op == 'push' then
    fields[#fields + 1] = 'm'
    fields[#fields + 1] = method
    fields[#fields + 1] = 'f'
    fields[#fields + 1] = families
  end
  return redis.call('XADD', unpack(fields))
end
`;

/**
 * A push, or (mode 'fail') only the failure time of a push refused before reaching Redis.
 * ARGV: 1 prefix, 2 groupId, 3 group JSON {k, attr}, 4 mode ('push' | 'fail'), 5 method, 6 now,
 * 7 failure time override ('' = none), 8 check ('1' | '0'), 9 max groups, 10 log max length,
 * 11 number of families, 12 namespace guard ('' = none: else a group attributed to another
 * namespace is refused), then per family: name, type, value, own-typed ('1' | '0'), packed
 * series hashes, number of probes, then per probe: name, colliding types (space-separated, or
 * '*' for any type), own-typed.
 *
 * A probe is a name a suffix collision depends on that the push itself does not decide; which
 * names and which of their types collide is worked out in TypeScript (consistency-rules.ts).
 *
 * Returns {'forbidden'} | {'limit', groups} | {'failed', id} | {'ok', id} |
 * {'conflict', id, kind ('type' | 'suffix' | 'series'), family index, probe or series index, type}.
 */
export const PUSH = script(
  'push',
  `
local gjson, mode, method, now, override = ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local check, maxGroups, maxlen = ARGV[8] == '1', tonumber(ARGV[9]), ARGV[10]
if ARGV[12] ~= '' and not inNamespace(ARGV[12]) then return {'forbidden'} end
local exists = redis.call('HEXISTS', kGroups, groupId) == 1
if not exists then
  local n = redis.call('HLEN', kGroups)
  if n >= maxGroups then return {'limit', n} end
end

-- A refused push: create the group if missing, record the failure time, change nothing else.
local function fail()
  if not exists then
    redis.call('HSET', kGroups, groupId, gjson)
    redis.call('HSET', kPush, groupId, '0')
  end
  redis.call('HSET', kFail, groupId, now)
  return emit(maxlen, 'meta', nil, nil, true)
end

if mode == 'fail' then return {'failed', fail()} end

local fams, pushed = {}, {}
local i = 13
for f = 1, tonumber(ARGV[11]) do
  local fam = {name = ARGV[i], type = ARGV[i + 1], value = ARGV[i + 2], own = ARGV[i + 3] == '1', series = ARGV[i + 4], probes = {}}
  local np = tonumber(ARGV[i + 5])
  i = i + 6
  for p = 1, np do
    fam.probes[p] = {name = ARGV[i], collides = ARGV[i + 1], own = ARGV[i + 2] == '1'}
    i = i + 3
  end
  fams[f] = fam
  pushed[fam.name] = true
end

-- The type other groups store under a name (this group's own family of that name excluded).
local function typeElsewhere(name)
  local counts = redis.call('HGETALL', P .. 'nt:' .. name)
  local mine = entryOf(name)
  for j = 1, #counts, 2 do
    local c = tonumber(counts[j + 1])
    if counts[j] == mine then c = c - 1 end
    if c > 0 then return counts[j] end
  end
  return nil
end

-- The type a probed name has once this push is applied: a family the group keeps (POST),
-- else Lethe's own type (already checked by the caller), else another group's.
local function present(probe)
  if method == 'POST' and not pushed[probe.name] then
    local t = entryOf(probe.name)
    if t then return t end
  end
  if probe.own then return nil end
  return typeElsewhere(probe.name)
end

if check then
  for f, fam in ipairs(fams) do
    if not fam.own then
      local other = typeElsewhere(fam.name)
      if other and other ~= fam.type then return {'conflict', fail(), 'type', f, 0, other} end
    end
    for p, probe in ipairs(fam.probes) do
      local t = present(probe)
      if t and (probe.collides == '*' or string.find(' ' .. probe.collides .. ' ', ' ' .. t .. ' ', 1, true)) then
        return {'conflict', fail(), 'suffix', f, p, t}
      end
    end
    local before = 0
    for _, hashes in ipairs(hashLists(fam.series)) do
      local holders = redis.call('HMGET', kSeries, unpack(hashes))
      for k = 1, #hashes do
        local holder = holders[k]
        if holder and holder ~= groupId then return {'conflict', fail(), 'series', f, before + k, ''} end
      end
      before = before + #hashes
    end
  end
end

if method == 'PUT' then
  for _, name in ipairs(redis.call('HKEYS', kIdx)) do unindex(name) end
  redis.call('DEL', kFam)
else
  for _, fam in ipairs(fams) do unindex(fam.name) end
end
local values = {}
for f, fam in ipairs(fams) do
  redis.call('HINCRBY', P .. 'nt:' .. fam.name, fam.type, 1)
  for _, hashes in ipairs(hashLists(fam.series)) do
    local fields = {}
    for k, h in ipairs(hashes) do
      fields[2 * k - 1] = h
      fields[2 * k] = groupId
    end
    redis.call('HSET', kSeries, unpack(fields))
  end
  redis.call('HSET', kIdx, fam.name, fam.type .. ' ' .. fam.series)
  redis.call('HSET', kFam, fam.name, fam.value)
  values[f] = fam.value
end
redis.call('HSET', kGroups, groupId, gjson)
redis.call('HSET', kPush, groupId, now)
redis.call('HDEL', kScraped, groupId)
if exists and override ~= '' then redis.call('HSET', kFail, groupId, override) end
return {'ok', emit(maxlen, 'push', method, table.concat(values, '\\n'), true, {g = gjson, p = now, s = ''})}
`,
);

/**
 * ARGV: 1 prefix, 2 groupId, 3 log max length, 4 namespace guard ('' = none), 5 generation ('' = any:
 * else the group is deleted only while it has this generation, compare-and-delete). Returns {0}
 * when missing or pushed to since that generation, {-1} when the group belongs to another
 * namespace than the guard, else {1, id, group JSON, owner JSON or ''}.
 */
export const DELETE = script(
  'delete',
  `
if redis.call('HEXISTS', kGroups, groupId) == 0 then return {0} end
if (ARGV[4] or '') ~= '' and not inNamespace(ARGV[4]) then return {-1} end
if (ARGV[5] or '') ~= '' and generation() ~= ARGV[5] then return {0} end
for _, name in ipairs(redis.call('HKEYS', kIdx)) do unindex(name) end
redis.call('DEL', kFam, kIdx)
local id = emit(ARGV[3], 'delete')
local gjson, owner = redis.call('HGET', kGroups, groupId), redis.call('HGET', kOwner, groupId) or ''
redis.call('HDEL', kGroups, groupId)
redis.call('HDEL', kPush, groupId)
redis.call('HDEL', kFail, groupId)
redis.call('HDEL', kOwner, groupId)
redis.call('HDEL', kGen, groupId)
redis.call('HDEL', kScraped, groupId)
return {1, id, gjson, owner}
`,
);

/**
 * Records that a scrape served these groups: ARGV 1 prefix, 2 '' (no single group), 3 now, 4 log
 * max length, then pairs of groupId and the generation the scrape rendered. A group is marked only
 * while it still has that generation and no mark yet; each mark is a log entry (op meta, with
 * 's'), so every replica's view learns it. Returns {marked, id of the last entry or ''}.
 */
export const CONFIRM_SCRAPED = script(
  'confirm-scraped',
  `
local now, maxlen, marked, last = ARGV[3], ARGV[4], 0, ''
for i = 5, #ARGV - 1, 2 do
  groupId = ARGV[i]
  if redis.call('HEXISTS', kGroups, groupId) == 1 and generation() == ARGV[i + 1] and scrapedAt() == '' then
    redis.call('HSET', kScraped, groupId, (redis.call('HGET', kPush, groupId) or '0') .. ' ' .. now)
    last = emit(maxlen, 'meta')
    marked = marked + 1
  end
end
return {marked, last}
`,
);

/** ARGV: 1 prefix, 2 groupId, 3 owner JSON ('' = none), 4 log max length. {0} when nothing changed, else {1, id}. */
export const SET_OWNER = script(
  'set-owner',
  `
if redis.call('HEXISTS', kGroups, groupId) == 0 then return {0} end
if (redis.call('HGET', kOwner, groupId) or '') == ARGV[3] then return {0} end
if ARGV[3] == '' then redis.call('HDEL', kOwner, groupId) else redis.call('HSET', kOwner, groupId, ARGV[3]) end
return {1, emit(ARGV[4], 'meta')}
`,
);
