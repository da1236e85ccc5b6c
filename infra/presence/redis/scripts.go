package redis

import goredis "github.com/redis/go-redis/v9"

// Every script works on one topic's keys, all in the topic's hash slot:
//
//	KEYS[1] z  sorted set of present subjects (score 0: ordered by subject)
//	KEYS[2] c  hash subject -> number of nodes holding it
//	KEYS[3] i  hash subject -> display name
//	KEYS[4] h  sorted set node -> heartbeat deadline (ms, Redis clock)
//	KEYS[5] l  stream: the change log ("j" sub "n" name | "l" sub)
//
// and one set per node of the subjects it holds, named ARGV[1] .. node.
// Those names are built in the script (a dead node is only known once its
// heartbeat is read); they carry the same hash tag, so they live in the
// same slot on Redis Cluster.
//
// Common ARGV: [1] node set prefix, [2] max members (count-only above),
// [3] log length (MAXLEN ~), [4] expire batch, [5] key TTL ms, [6] log
// age ms (MINID ~). Script-specific arguments start at ARGV[7].
//
// Time is Redis's (TIME), so relays' clocks do not matter. Scripts are
// replicated by effects (Redis >= 5 default), so TIME is allowed.
const prelude = `
local z, c, inf, h, l = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local nprefix = ARGV[1]
local maxm = tonumber(ARGV[2])
local loglen = ARGV[3]
local batch = tonumber(ARGV[4])
local keyttl = ARGV[5]
local logage = tonumber(ARGV[6])
local tm = redis.call('TIME')
local now = tonumber(tm[1]) * 1000 + math.floor(tonumber(tm[2]) / 1000)

-- changes are logged only while the topic is not count-only
local function record(kind, sub, name)
  if redis.call('ZCARD', z) > maxm then return end
  if kind == 'j' then
    redis.call('XADD', l, 'MAXLEN', '~', loglen, '*', 'j', sub, 'n', name)
  else
    redis.call('XADD', l, 'MAXLEN', '~', loglen, '*', 'l', sub)
  end
end

-- a subject leaves the topic when its last node lets go of it
local function leave(ns, sub)
  if redis.call('SREM', ns, sub) == 0 then return end
  if redis.call('HINCRBY', c, sub, -1) > 0 then return end
  redis.call('HDEL', c, sub)
  redis.call('HDEL', inf, sub)
  redis.call('ZREM', z, sub)
  record('l', sub)
end

local function join(ns, sub, name)
  if redis.call('SADD', ns, sub) == 0 then return end
  if redis.call('HINCRBY', c, sub, 1) > 1 then return end
  redis.call('ZADD', z, 0, sub)
  if name ~= '' then redis.call('HSET', inf, sub, name) end
  record('j', sub, name)
end

-- expire removes up to batch members of nodes whose deadline passed. The
-- removal of each (node, subject) is one SREM inside this atomic script,
-- so whoever runs it first records the leave and nobody records it twice;
-- the node's heartbeat goes once its set is empty.
local function expire()
  local budget = batch
  local dead = redis.call('ZRANGEBYSCORE', h, '-inf', now, 'LIMIT', 0, 8)
  for _, d in ipairs(dead) do
    local ns = nprefix .. d
    local subs = redis.call('SRANDMEMBER', ns, budget)
    for _, sub in ipairs(subs) do leave(ns, sub) end
    budget = budget - #subs
    if redis.call('SCARD', ns) == 0 then redis.call('ZREM', h, d) end
    if budget <= 0 then return end
  end
end

local function cmpid(a, b)
  local am, as = string.match(a, '^(%d+)-(%d+)$')
  local bm, bs = string.match(b, '^(%d+)-(%d+)$')
  am, as, bm, bs = tonumber(am), tonumber(as), tonumber(bm), tonumber(bs)
  if am ~= bm then return am < bm and -1 or 1 end
  if as ~= bs then return as < bs and -1 or 1 end
  return 0
end
`

// syncLua is one node's sync of one topic.
//
//	ARGV[7] node, [8] TTL ms, [9] held (1: the node believes it holds
//	members here), [10] after ("" = return the current position only),
//	[11] read limit, [12] number of leaves, then the leaves, then the
//	joins as subject, name pairs.
//
// Returns {count, pos, gap (0/1), lost (0/1), entry fields...}.
const syncLua = prelude + `
local node = ARGV[7]
local ns = nprefix .. node
local lost = 0
if ARGV[9] == '1' then
  local sc = redis.call('ZSCORE', h, node)
  if not sc or tonumber(sc) <= now then lost = 1 end
end
expire()
local k = 13
for j = 1, tonumber(ARGV[12]) do leave(ns, ARGV[k]); k = k + 1 end
while k < #ARGV do join(ns, ARGV[k], ARGV[k + 1]); k = k + 2 end
if redis.call('SCARD', ns) > 0 then
  redis.call('ZADD', h, now + tonumber(ARGV[8]), node)
  redis.call('PEXPIRE', ns, keyttl)
else
  redis.call('ZREM', h, node)
end
for _, key in ipairs(KEYS) do redis.call('PEXPIRE', key, keyttl) end
-- whole stream nodes older than the log age go (approximate, cheap)
redis.call('XTRIM', l, 'MINID', '~', (now - logage) .. '-0')
local out = {redis.call('ZCARD', z), '', 0, lost}
local after = ARGV[10]
if after == '' then
  local last = redis.call('XREVRANGE', l, '+', '-', 'COUNT', 1)
  out[2] = (#last > 0) and last[1][1] or '0-0'
  return out
end
out[2] = after
-- Trimmed past after? Only asked when the oldest entry is newer than
-- after (rare: a reader that fell far behind, or a fresh log). The log is
-- only ever trimmed from its head, so if anything was trimmed the entries
-- between after and the oldest one are gone. (Redis 7.0 does not count
-- trimmed entries in max-deleted-entry-id, hence entries-added.) This
-- can report a gap when only after itself was trimmed; it never misses one.
local first = redis.call('XRANGE', l, '-', '+', 'COUNT', 1)
if #first > 0 and cmpid(first[1][1], after) > 0 then
  local info = redis.call('XINFO', 'STREAM', l)
  local added, length = 0, 0
  for j = 1, #info, 2 do
    if info[j] == 'entries-added' then added = tonumber(info[j + 1]) end
    if info[j] == 'length' then length = tonumber(info[j + 1]) end
  end
  if added > length then out[3] = 1 end
end
local entries = redis.call('XRANGE', l, '(' .. after, '+', 'COUNT', ARGV[11])
for _, e in ipairs(entries) do
  out[2] = e[1]
  table.insert(out, e[2])
end
return out
`

// membersLua is one page of members.
//
//	ARGV[7] after ("" = from the start), [8] limit.
//
// Returns {count, count_only (0/1), sub, name, sub, name, ...}.
const membersLua = prelude + `
expire()
local count = redis.call('ZCARD', z)
if count > maxm then return {count, 1} end
local lo = '-'
if ARGV[7] ~= '' then lo = '(' .. ARGV[7] end
local subs = redis.call('ZRANGEBYLEX', z, lo, '+', 'LIMIT', 0, tonumber(ARGV[8]))
local out = {count, 0}
if #subs > 0 then
  local names = redis.call('HMGET', inf, unpack(subs))
  for j, s in ipairs(subs) do
    table.insert(out, s)
    table.insert(out, names[j] or '')
  end
end
return out
`

type scripts struct {
	sync, members *goredis.Script
}

func newScripts() scripts {
	return scripts{sync: goredis.NewScript(syncLua), members: goredis.NewScript(membersLua)}
}
