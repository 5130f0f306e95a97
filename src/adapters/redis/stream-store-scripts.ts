import { LuaScript } from './client.js';

// The Lua behind RedisStreamStore: each method is one of these scripts, so one round trip.

// KEYS: stream, invisible (id → visible-at), visible (redeliverable ids, ordered by id).
// ARGV[1] group, ARGV[2] consumer, ARGV[3] store time ('' = Redis TIME).
const PRELUDE = `
local function store_now()
  if ARGV[3] ~= '' then return tonumber(ARGV[3]) end
  if redis.replicate_commands then pcall(redis.replicate_commands) end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
end
-- Ids per command where one command takes many (Lua's unpack has a limit).
local CHUNK = 500
local function valid(id) return string.match(id, '^%d+%-%d+$') ~= nil end
-- Visible members are scored by the id's ms part; ties sort by member, so the
-- sequence part is zero-padded in front of the id to keep id order.
local function visible_score(id) return tonumber(string.match(id, '^(%d+)')) end
local function visible_member(id)
  local seq = string.match(id, '%-(%d+)$')
  return string.rep('0', 20 - #seq) .. seq .. '|' .. id
end
local function promote_due(now)
  local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)
  for i = 1, #due do redis.call('ZADD', KEYS[3], visible_score(due[i]), visible_member(due[i])) end
  if #due > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now) end
end
-- Once per script run (ACK_AND_LEASE would otherwise make a failing XGROUP CREATE twice).
local group_ensured = false
local function ensure_group()
  if group_ensured then return end
  pcall(redis.call, 'XGROUP', 'CREATE', KEYS[1], ARGV[1], '0', 'MKSTREAM')
  group_ensured = true
end
-- XREADGROUP of new items; the group is created (from id 0, so it sees every
-- item) only when the read finds none: a failing XGROUP CREATE on every lease
-- costs more than the pcall.
local function read_group(count)
  local ok, r = pcall(redis.call, 'XREADGROUP', 'GROUP', ARGV[1], ARGV[2], 'COUNT', count, 'STREAMS', KEYS[1], '>')
  if ok then return r end
  local message = type(r) == 'table' and r.err or tostring(r)
  if not string.find(message, 'NOGROUP', 1, true) then error(r) end
  ensure_group()
  return redis.call('XREADGROUP', 'GROUP', ARGV[1], ARGV[2], 'COUNT', count, 'STREAMS', KEYS[1], '>')
end
`;

export const APPEND = new LuaScript(
  `
local ids = {}
for i = 1, #ARGV, 2 do ids[#ids + 1] = redis.call('XADD', KEYS[1], '*', ARGV[i], ARGV[i + 1]) end
return ids
`,
  1,
);

// Redeliveries first (their ids are older than anything not yet delivered),
// then new items. Every leased item gets a deadline of now + visibility timeout.
// Returns { { id, fields, deliveries }, ... }.
const LEASE_FN = `
local function lease(max, visibility)
  local now = store_now()
  local deadline = string.format('%.17g', now + visibility)
  promote_due(now)
  local out = {}
  local again = redis.call('ZRANGE', KEYS[3], 0, max - 1)
  if #again > 0 then
    ensure_group()
    local ids = {}
    for i = 1, #again do ids[i] = string.match(again[i], '|(.+)$') end
    for i = 1, #again, CHUNK do redis.call('ZREM', KEYS[3], unpack(again, i, math.min(i + CHUNK - 1, #again))) end
    for i = 1, #ids, CHUNK do
      local claimed = redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, unpack(ids, i, math.min(i + CHUNK - 1, #ids)))
      for j = 1, #claimed do
        local e = claimed[j]
        if e and e[2] then
          local p = redis.call('XPENDING', KEYS[1], ARGV[1], e[1], e[1], 1)
          out[#out + 1] = { e[1], e[2], p[1][4] }
          redis.call('ZADD', KEYS[2], deadline, e[1])
        end
      end
    end
  end
  if #out < max then
    local r = read_group(max - #out)
    if r then
      -- One ZADD for the new items' deadlines (in chunks: unpack has a limit).
      local entries = r[1][2]
      local scored = {}
      for i = 1, #entries do
        out[#out + 1] = { entries[i][1], entries[i][2], 1 }
        scored[#scored + 1] = deadline
        scored[#scored + 1] = entries[i][1]
        if #scored == 2 * CHUNK then
          redis.call('ZADD', KEYS[2], unpack(scored))
          scored = {}
        end
      end
      if #scored > 0 then redis.call('ZADD', KEYS[2], unpack(scored)) end
    end
  end
  return out
end
`;

// XACK + XDEL of the ids in ARGV[from..]; returns how many were deleted.
// No group needed: XACK on a missing group or stream acks nothing. Each
// command takes a chunk of ids at once (a call costs more than an id in it).
// An id is in at most one of the two sets (leased: invisible; let go:
// visible), so the visible set is only touched when some id was not leased.
const ACK_FN = `
local function ack_chunk(ids)
  redis.call('XACK', KEYS[1], ARGV[1], unpack(ids))
  if redis.call('ZREM', KEYS[2], unpack(ids)) < #ids then
    local members = {}
    for i = 1, #ids do members[i] = visible_member(ids[i]) end
    redis.call('ZREM', KEYS[3], unpack(members))
  end
  return redis.call('XDEL', KEYS[1], unpack(ids))
end
local function ack_ids(from)
  local removed = 0
  local ids = {}
  for i = from, #ARGV do
    local id = ARGV[i]
    if valid(id) then
      ids[#ids + 1] = id
      if #ids == CHUNK then
        removed = removed + ack_chunk(ids)
        ids = {}
      end
    end
  end
  if #ids > 0 then removed = removed + ack_chunk(ids) end
  return removed
end
`;

// ARGV[4] max, ARGV[5] visibility timeout. Reply: as LEASE_FN.
export const LEASE = new LuaScript(`${PRELUDE}${LEASE_FN}return lease(tonumber(ARGV[4]), tonumber(ARGV[5]))`, 3);

// ARGV[4..] ids. Reply: how many were removed.
export const ACK = new LuaScript(`${PRELUDE}${ACK_FN}return ack_ids(4)`, 3);

// The acks, then the lease, atomically: ARGV[4] max, ARGV[5] visibility
// timeout, ARGV[6..] ids. Reply: { removed, leased (as LEASE_FN) }.
export const ACK_AND_LEASE = new LuaScript(
  `${PRELUDE}${LEASE_FN}${ACK_FN}
local removed = ack_ids(6)
return { removed, lease(tonumber(ARGV[4]), tonumber(ARGV[5])) }
`,
  3,
);

// The producers' commit, the consumers' acks and the next lease in one
// atomic script, in that order (so the lease can hand out the items just
// appended): ARGV[4] lease max (0: no lease), ARGV[5] visibility timeout,
// ARGV[6] item count n, ARGV[7 .. 6 + 2n] the items as field/data pairs,
// then the ids to ack. Reply: { appended ids, removed, leased (as LEASE_FN) }.
export const EXCHANGE = new LuaScript(
  `${PRELUDE}${LEASE_FN}${ACK_FN}
local n = tonumber(ARGV[6])
local ids = {}
for i = 7, 6 + 2 * n, 2 do ids[#ids + 1] = redis.call('XADD', KEYS[1], '*', ARGV[i], ARGV[i + 1]) end
local removed = 0
if #ARGV > 6 + 2 * n then removed = ack_ids(7 + 2 * n) end
local max = tonumber(ARGV[4])
local leased = {}
if max > 0 then leased = lease(max, tonumber(ARGV[5])) end
return { ids, removed, leased }
`,
  3,
);

export const NACK = new LuaScript(
  `${PRELUDE}
local id = ARGV[4]
local delay = tonumber(ARGV[5])
if not valid(id) then return 0 end
ensure_group()
if #redis.call('XPENDING', KEYS[1], ARGV[1], id, id, 1) == 0 then return 0 end
redis.call('ZREM', KEYS[3], visible_member(id))
if delay > 0 then
  redis.call('ZADD', KEYS[2], string.format('%.17g', store_now() + delay), id)
else
  redis.call('ZREM', KEYS[2], id)
  redis.call('ZADD', KEYS[3], visible_score(id), visible_member(id))
end
return 1
`,
  3,
);

export const NEXT_VISIBLE = new LuaScript(
  `${PRELUDE}
local now = store_now()
local first = redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. string.format('%.17g', now), '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
if #first == 0 then return false end
return string.format('%.17g', tonumber(first[2]) - now)
`,
  3,
);

// Oldest visible first: redeliverable ones, then those never delivered
// (after the group's last-delivered id). Leased and delayed items stay.
export const DROP_OLDEST = new LuaScript(
  `${PRELUDE}
local count = tonumber(ARGV[4])
ensure_group()
promote_due(store_now())
local out = {}
local again = redis.call('ZRANGE', KEYS[3], 0, count - 1)
for i = 1, #again do
  local id = string.match(again[i], '|(.+)$')
  redis.call('ZREM', KEYS[3], again[i])
  redis.call('XACK', KEYS[1], ARGV[1], id)
  if redis.call('XDEL', KEYS[1], id) == 1 then out[#out + 1] = id end
end
if #out < count then
  local last = '0-0'
  for _, g in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
    local fields = {}
    for j = 1, #g, 2 do fields[g[j]] = g[j + 1] end
    if fields['name'] == ARGV[1] then last = fields['last-delivered-id'] end
  end
  local fresh = redis.call('XRANGE', KEYS[1], '(' .. last, '+', 'COUNT', count - #out)
  for i = 1, #fresh do
    redis.call('XDEL', KEYS[1], fresh[i][1])
    out[#out + 1] = fresh[i][1]
  end
end
return out
`,
  3,
);
