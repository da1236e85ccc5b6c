package redis

import goredis "github.com/redis/go-redis/v9"

// publishLua publishes one or more messages, each atomically and in order.
// Concurrent publishes share one call (see calls in publish.go), so what
// every call pays once (the command, the script's setup, the replication id
// read below) is paid once per group instead of once per message.
//
//	KEYS, four per message: stream, dedup key (always passed so the script
//	declares every key it may touch; ignored when its dedup TTL is 0), last
//	id, the replication id of the primary that wrote the last entry
//	ARGV[1] history length (MAXLEN ~), ARGV[2] history TTL ms, then four
//	per message: event JSON without id (starting {"topic":), dedup TTL ms
//	(0: no idempotency key), channel, the publisher's clock in ms (a floor
//	for the id's ms, see below)
//
// Returns one reply per message: {id, duplicate (0/1), original event JSON
// (with or without its id, see storedJSON) or ""}, or {"", -1, error} for a
// message that failed on its own (a wrong key type, NOPERM): a message's
// failure does not stop the messages after it, as in a pipeline of one call
// per message. A node that refuses all writes fails the whole call.
//
// Redis assigns the id (XADD *): its rule for stream ids is the bus rule
// (ms = max(now, last.ms), seq = last.seq+1 on the same ms). The entry keeps
// the body without id (field b) and readers splice the id in (bus.AttachID),
// so the script does not build the event JSON.
//
// The publisher's clock is a floor for the id's ms when it is ahead of
// both the last id and Redis's clock, by less than an hour: after a failover
// to a replica whose clock is behind, the new primary's stream lacks the
// events it never received, and ids from its clock alone would go back
// below ids subscribers already hold (and silently skip what follows). The
// clock is read (TIME) only when the floor is ahead of the last id; a
// publisher clock more than an hour ahead is ignored rather than trusted.
//
// Gap detection needs every entry and live message to name its
// predecessor. The predecessor's id is kept in a small string key (same TTL
// as the stream) because reading the stream's tail (XREVRANGE) costs Redis
// more than the rest of the script together; only when that key is missing
// (first publish after an upgrade, an evicted key) is the tail read
// instead. A stream whose key expired with the last-id key starts over at
// 0-0, so subscribers see the hole as before. The live message is
// "<prev id> <id> <body>". A topic's second and later messages in one call
// take their predecessor from the one before (the script's own state), and
// the call writes each topic's last-id key, writer key and TTL once, after
// its messages: what a message costs Redis is then the XADD and the PUBLISH
// (and the dedup key's GET and SET when it has an idempotency key).
//
// After a failover the promoted replica may lack events the old primary
// acknowledged, and its last entry then names a predecessor that readers
// resuming from before the lost events find intact: a silent gap. So the
// fourth key of each message (replicated like the rest) holds the
// replication id (master_replid of INFO replication) of the primary that
// wrote the topic's last entry; a promotion gives the new primary a new
// one. When it differs from this node's, the new entry names 0-0 as its
// predecessor and every reader crossing it hears "truncated"
// (TestChaosRedisFailoverNotDurable). The cost: one INFO replication per
// call (read at the call's first append, as a call runs on one node at one
// moment), and after every failover, planned or not, each topic's first new
// entry signals a possible gap. A missing key (a stream written by an
// earlier script, an evicted key) is trusted, so an upgrade or a rolling
// deploy signals nothing; so is a Redis whose INFO has no master_replid (a
// managed service that hides it) or refuses INFO (an ACL user without
// +info): there the check is off and publishing works as before.
//
// Field n numbers the topic's entries (the predecessor's n + 1), so Unread
// counts by subtraction instead of reading events. The last-id key holds
// "<id> <n>"; a key or tail written before n existed numbers from the
// stream's length.
const publishLua = `
local maxlen, ttl = ARGV[1], ARGV[2]
local rid -- this node's replication id: nil until read, false if unknown
local now -- Redis's clock in ms, read at most once
-- topics this call appended to, by stream key: {stream, last id, n, lkey,
-- wkey}, and in order of their first append. A topic's next message in the
-- call takes its predecessor from here, and the last-id and writer keys and
-- the TTL are written once, at the end.
local topics, order = {}, {}
local function one(k, a)
  local stream, dkey, lkey, wkey = KEYS[k + 1], KEYS[k + 2], KEYS[k + 3], KEYS[k + 4]
  local body, channel = ARGV[a], ARGV[a + 2]
  local dttl = tonumber(ARGV[a + 1])
  if dttl > 0 then
    local orig = redis.call('GET', dkey)
    if orig then
      local hit = redis.call('XRANGE', stream, orig, orig)
      if #hit > 0 then
        local f = hit[1][2]
        for i = 1, #f, 2 do
          if f[i] == 'b' or f[i] == 'e' then return {orig, 1, f[i + 1]} end
        end
      end
      return {orig, 1, ''}
    end
  end
  local t = topics[stream]
  -- top is the stream's last id, prev the predecessor this entry names
  -- (0-0 after a failover, below): the clock floor compares with top.
  local top, prev, n
  if t then
    top, n = t.last, t.n
    prev = top
  else
    local l = redis.call('GET', lkey)
    if l then
      prev, n = string.match(l, '^(%S+) (%d+)$')
      if not prev then prev = l end
    end
    if not prev then
      prev = '0-0'
      local last = redis.call('XREVRANGE', stream, '+', '-', 'COUNT', 1)
      if #last > 0 then
        prev = last[1][1]
        local f = last[1][2]
        for i = 1, #f, 2 do
          if f[i] == 'n' then n = f[i + 1] end
        end
      end
    end
    if n then n = tonumber(n) else n = redis.call('XLEN', stream) end
    top = prev
    if rid == nil then
      local info = redis.pcall('INFO', 'replication')
      rid = type(info) == 'string' and string.match(info, 'master_replid:(%w+)') or false
    end
    if rid then
      local w = redis.call('GET', wkey)
      if w and w ~= rid then prev = '0-0' end
    end
  end
  local xid = '*'
  local floor = tonumber(ARGV[a + 3] or '0') or 0
  if floor > (tonumber(string.match(top, '^(%d+)-')) or 0) then
    if not now then
      local tm = redis.call('TIME')
      now = tonumber(tm[1]) * 1000 + math.floor(tonumber(tm[2]) / 1000)
    end
    if floor > now and floor - now <= 3600000 then xid = ARGV[a + 3] .. '-*' end
  end
  n = n + 1
  local id = redis.call('XADD', stream, 'MAXLEN', '~', maxlen, xid, 'p', prev, 'b', body, 'n', n)
  if not t then
    t = {stream = stream, lkey = lkey, wkey = wkey}
    topics[stream] = t
    order[#order + 1] = t
  end
  t.last, t.n = id, n
  if dttl > 0 then
    redis.call('SET', dkey, id, 'PX', dttl)
  end
  -- notify: the one PUBLISH of the script (SPUBLISH on sharded pub/sub)
  redis.call('PUBLISH', channel, prev .. ' ' .. id .. ' ' .. body)
  return {id, 0, ''}
end
local out = {}
for i = 0, #KEYS / 4 - 1 do
  local ok, r = pcall(one, 4 * i, 3 + 4 * i)
  if ok then
    out[i + 1] = r
  else
    -- Redis 7.0 hands pcall the error as a string, 7.2 as {err = ...}.
    local msg = type(r) == 'table' and r.err or tostring(r)
    -- A node that refuses every write (a replica, a primary failing to
    -- persist or replicate, or out of memory: Redis checks that only
    -- before a script's first write) refuses the call's first write,
    -- before anything is written: the whole call fails, so the client
    -- sees it (go-redis drops a connection that answers READONLY, which is
    -- how a moved endpoint is redialled). Any other failure is the
    -- message's own, returned as {"", -1, error}, not as a nested error
    -- reply: go-redis stops reading an array at a nested error it has a
    -- type for (NOPERM, OOM, ...) and would leave the rest of the reply
    -- on the connection.
    for _, code in ipairs({'READONLY', 'MISCONF', 'NOREPLICAS', 'OOM'}) do
      if string.sub(msg, 1, #code) == code then error(redis.error_reply(msg)) end
    end
    out[i + 1] = {'', -1, msg}
  end
end
-- These cannot fail where the appends before them did not (SET and PEXPIRE
-- work on any key type); if one did, the call fails as a whole although
-- its messages were appended, and callers retry with idempotency keys.
for _, t in ipairs(order) do
  redis.call('PEXPIRE', t.stream, ttl)
  redis.call('SET', t.lkey, t.last .. ' ' .. t.n, 'PX', ttl)
  if rid then redis.call('SET', t.wkey, rid, 'PX', ttl) end
end
return out
`

// setReadLua moves a reader's read cursor forward only.
//
//	KEYS[1] read hash; ARGV[1] reader, ARGV[2] ms, ARGV[3] seq, ARGV[4] TTL ms
//
// Returns 1 when moved, 0 when the stored cursor is already at or past it.
const setReadLua = `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur then
  local cms, cseq = string.match(cur, '^(%d+)-(%d+)$')
  if cms then
    cms = tonumber(cms)
    cseq = tonumber(cseq)
    local ms = tonumber(ARGV[2])
    local seq = tonumber(ARGV[3])
    if cms > ms or (cms == ms and cseq >= seq) then
      redis.call('PEXPIRE', KEYS[1], ARGV[4])
      return 0
    end
  end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. '-' .. ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1
`

// unreadLua counts a reader's unread events without reading them: it looks
// at two entries whatever the history (the first after the read cursor and
// the last) and subtracts their numbers (field n, see publishLua). Entries
// written before n existed give the retained length, an upper bound.
//
//	KEYS[1] stream, KEYS[2] read hash; ARGV[1] reader, ARGV[2] cap
//
// Returns {count, read id or "", last id or ""}.
const unreadLua = `
local function num(e)
  local f = e[2]
  for i = 1, #f, 2 do
    if f[i] == 'n' then return tonumber(f[i + 1]) end
  end
  return nil
end
local rid = redis.call('HGET', KEYS[2], ARGV[1])
if not rid then rid = '' end
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
if #last == 0 then return {0, rid, ''} end
local lid = last[1][1]
local len = redis.call('XLEN', KEYS[1])
local n = len
if rid == '18446744073709551615-18446744073709551615' then
  n = 0 -- nothing follows the largest id, and '(' of it is an error
elseif rid ~= '' then
  local nx = redis.call('XRANGE', KEYS[1], '(' .. rid, '+', 'COUNT', 1)
  if #nx == 0 then
    n = 0
  else
    local a, b = num(nx[1]), num(last[1])
    if a and b then n = b - a + 1 end
  end
end
if n > len then n = len end
if n < 0 then n = 0 end
local cap = tonumber(ARGV[2])
if n > cap then n = cap end
return {n, rid, lid}
`

// pageLua reads a page of entries bounded in bytes as well as in count, in
// chunks sized so that no single range read copies much more than what is
// left of the byte budget: a page of 64 KiB events costs Redis about the
// budget, not count x 64 KiB (H2 of the 2026-12 review: one history
// request made Redis build a 64 MB reply).
//
//	KEYS[1] stream; ARGV[1] start, ARGV[2] end (XRANGE order, or XREVRANGE
//	order when ARGV[5] is 1), ARGV[3] count, ARGV[4] byte budget,
//	ARGV[6] expected largest entry in bytes (sizes the chunks)
//
// Returns {more, entries}: more is 1 when the page stopped at the byte
// budget with entries left in range. The first entry is always returned,
// whatever its size.
const pageLua = `
local rev = ARGV[5] == '1'
local start, stop = ARGV[1], ARGV[2]
local left = tonumber(ARGV[3])
local budget = tonumber(ARGV[4])
local hint = tonumber(ARGV[6])
local out = {}
local used = 0
while left > 0 do
  local chunk = math.floor((budget - used) / hint)
  if chunk < 1 then chunk = 1 end
  if chunk > left then chunk = left end
  local xs
  if rev then
    xs = redis.call('XREVRANGE', KEYS[1], start, stop, 'COUNT', chunk)
  else
    xs = redis.call('XRANGE', KEYS[1], start, stop, 'COUNT', chunk)
  end
  for _, x in ipairs(xs) do
    local size = #x[1]
    for i = 1, #x[2] do size = size + #x[2][i] end
    if #out > 0 and used + size > budget then return {1, out} end
    used = used + size
    out[#out + 1] = x
    left = left - 1
    start = '(' .. x[1]
  end
  if #xs < chunk then break end
end
return {0, out}
`

// scripts are compiled once per Bus (no package-level state).
type scripts struct {
	publish, setRead, unread, page *goredis.Script
}

func newScripts() scripts {
	return scripts{
		publish: goredis.NewScript(publishLua),
		setRead: goredis.NewScript(setReadLua),
		unread:  goredis.NewScript(unreadLua),
		page:    goredis.NewScript(pageLua),
	}
}
