/**
 * The Lua scripts of `RedisHub`. Each one runs atomically in Redis: a change of the shared state
 * (nicknames, rooms, sessions, nodes) and the notices it sends happen in one step, in the one order
 * every node sees. ARGV[1] is always the key prefix; every key is built from it.
 *
 * Keys (P = prefix): `P nick:<nameKey>` → session id; `P s:<session>` hash (nick, nk, room, rk,
 * node); `P rooms` hash roomKey → room name; `P m:<roomKey>` set of sessions; `P rn:<roomKey>` hash
 * node → members on that node; `P ns:<node>` set of the node's sessions; `P nodes` sorted set node →
 * deadline (ms); `P gf` the guestN search floor. Channel `P node:<node>`: the events for one node.
 *
 * Notices are `ChatText` lines made in TypeScript with placeholders \u0001 \u0002 \u0003 (nickname,
 * room, other room) that `fill` replaces, each at its first occurrence (names never hold them).
 */

const PRELUDE = `
local P = ARGV[1]
local function fill(tpl, a, b, c)
  local out = tpl
  for i, v in ipairs({a or false, b or false, c or false}) do
    if v then
      local mark = string.char(i)
      local at = string.find(out, mark, 1, true)
      if at then out = string.sub(out, 1, at - 1) .. v .. string.sub(out, at + 1) end
    end
  end
  return out
end
local function publish_room(rk, text, except)
  local nodes = redis.call('HKEYS', P .. 'rn:' .. rk)
  if #nodes == 0 then return end
  local event = cjson.encode({t = 'r', r = rk, x = except, m = text})
  for _, node in ipairs(nodes) do redis.call('PUBLISH', P .. 'node:' .. node, event) end
end
local function enter(sid, node, rk, name)
  local known = redis.call('HGET', P .. 'rooms', rk)
  if known then name = known else redis.call('HSET', P .. 'rooms', rk, name) end
  redis.call('SADD', P .. 'm:' .. rk, sid)
  redis.call('HINCRBY', P .. 'rn:' .. rk, node, 1)
  return name
end
local function leave(sid, node, rk)
  if redis.call('SREM', P .. 'm:' .. rk, sid) == 0 then return end
  if redis.call('HINCRBY', P .. 'rn:' .. rk, node, -1) <= 0 then redis.call('HDEL', P .. 'rn:' .. rk, node) end
  if redis.call('SCARD', P .. 'm:' .. rk) == 0 then
    redis.call('HDEL', P .. 'rooms', rk)
    redis.call('DEL', P .. 'm:' .. rk, P .. 'rn:' .. rk)
  end
end
local function release_nick(sid, nk)
  if redis.call('GET', P .. 'nick:' .. nk) ~= sid then return end
  redis.call('DEL', P .. 'nick:' .. nk)
  local n = string.match(nk, '^guest([1-9][0-9]*)$')
  if n then
    local floor = tonumber(redis.call('GET', P .. 'gf') or '1')
    if tonumber(n) < floor then redis.call('SET', P .. 'gf', n) end
  end
end
local function members(rk)
  local nicks = {}
  for _, sid in ipairs(redis.call('SMEMBERS', P .. 'm:' .. rk)) do
    local nick = redis.call('HGET', P .. 's:' .. sid, 'nick')
    if nick then table.insert(nicks, nick) end
  end
  return nicks
end
local function forget(sid, tpl)
  local s = P .. 's:' .. sid
  local cur = redis.call('HMGET', s, 'nick', 'nk', 'room', 'rk', 'node')
  if not cur[1] then return 0 end
  release_nick(sid, cur[2])
  leave(sid, cur[5], cur[4])
  publish_room(cur[4], fill(tpl, cur[1], cur[3]), sid)
  redis.call('DEL', s)
  redis.call('SREM', P .. 'ns:' .. cur[5], sid)
  return 1
end
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
`;

/** ARGV: prefix, node, session, lobby key, lobby name, joined template, op. Returns {nick, room}. */
const CONNECT = `
local node, sid, lk, ln, tpl, op = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local n = tonumber(redis.call('GET', P .. 'gf') or '1')
while redis.call('EXISTS', P .. 'nick:guest' .. n) == 1 do n = n + 1 end
redis.call('SET', P .. 'gf', n + 1)
local nick = 'guest' .. n
redis.call('SET', P .. 'nick:' .. nick, sid)
local name = redis.call('HGET', P .. 'rooms', lk) or ln
publish_room(lk, fill(tpl, nick, name), sid)
enter(sid, node, lk, name)
redis.call('HSET', P .. 's:' .. sid, 'nick', nick, 'nk', nick, 'room', name, 'rk', lk, 'node', node)
redis.call('SADD', P .. 'ns:' .. node, sid)
redis.call('PUBLISH', P .. 'node:' .. node, cjson.encode({t = 'a', o = op, s = sid, r = lk}))
return {nick, name}
`;

/** ARGV: prefix, session, nick, nick key, renamed template. Returns {1, previous} | {0} taken | {-1} unknown. */
const RENAME = `
local sid, nick, nk, tpl = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local s = P .. 's:' .. sid
local cur = redis.call('HMGET', s, 'nick', 'nk', 'rk')
if not cur[1] then return {-1} end
local owner = redis.call('GET', P .. 'nick:' .. nk)
if owner and owner ~= sid then return {0} end
if cur[1] ~= nick then
  release_nick(sid, cur[2])
  redis.call('SET', P .. 'nick:' .. nk, sid)
  redis.call('HSET', s, 'nick', nick, 'nk', nk)
  publish_room(cur[3], fill(tpl, cur[1]), sid)
end
return {1, cur[1]}
`;

/**
 * ARGV: prefix, session, room key, room name, left template (\u0001 left \u0002 (joined \u0003)),
 * joined template, op. Returns {1, room, previous, members} | {0, room, members} (same room) | {-1}.
 */
const JOIN = `
local sid, rk, rname, ltpl, jtpl, op = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local s = P .. 's:' .. sid
local cur = redis.call('HMGET', s, 'nick', 'rk', 'room', 'node')
if not cur[1] then return {-1} end
if cur[2] == rk then return {0, cur[3], members(rk)} end
local to = redis.call('HGET', P .. 'rooms', rk) or rname
leave(sid, cur[4], cur[2])
publish_room(cur[2], fill(ltpl, cur[1], cur[3], to), sid)
publish_room(rk, fill(jtpl, cur[1], to), sid)
enter(sid, cur[4], rk, to)
redis.call('HSET', s, 'room', to, 'rk', rk)
redis.call('PUBLISH', P .. 'node:' .. cur[4], cjson.encode({t = 'a', o = op, s = sid, r = rk}))
return {1, to, cur[3], members(rk)}
`;

/** ARGV: prefix, room key. Returns the nicknames in the room. */
const WHO = `
return members(ARGV[2])
`;

/** ARGV: prefix. Returns {name1, count1, name2, count2, …}. */
const ROOMS = `
local list = {}
local all = redis.call('HGETALL', P .. 'rooms')
for i = 1, #all, 2 do
  local count = redis.call('SCARD', P .. 'm:' .. all[i])
  if count > 0 then
    table.insert(list, all[i + 1])
    table.insert(list, count)
  end
end
return list
`;

/** ARGV: prefix, room key, text, session to skip ('' for none). */
const SEND_TO_ROOM = `
publish_room(ARGV[2], ARGV[3], ARGV[4])
return 1
`;

/** ARGV: prefix, nick key, text. Returns the nickname as its owner spells it, or false. */
const SEND_TO_USER = `
local sid = redis.call('GET', P .. 'nick:' .. ARGV[2])
if not sid then return false end
local cur = redis.call('HMGET', P .. 's:' .. sid, 'nick', 'node')
if not cur[1] then return false end
redis.call('PUBLISH', P .. 'node:' .. cur[2], cjson.encode({t = 'u', s = sid, m = ARGV[3]}))
return cur[1]
`;

/** ARGV: prefix, session, left template (\u0001 left \u0002 (reason)). Returns 1 when it knew the session. */
const DISCONNECT = `
return forget(ARGV[2], ARGV[3])
`;

/**
 * ARGV: prefix, node, node timeout (ms), left template for the sessions of dead nodes. Sets this
 * node's deadline, then removes every node whose deadline passed, with its sessions (their rooms are
 * told). Returns {known, reaped}: known is 1 when this node was registered before (0 after a Redis
 * restart or when others reaped it: its sessions must be re-asserted).
 */
const HEARTBEAT = `
local node, ttl, tpl = ARGV[2], tonumber(ARGV[3]), ARGV[4]
local now = now_ms()
local known = redis.call('ZSCORE', P .. 'nodes', node) and 1 or 0
redis.call('ZADD', P .. 'nodes', now + ttl, node)
local reaped = 0
for _, dead in ipairs(redis.call('ZRANGEBYSCORE', P .. 'nodes', '-inf', now)) do
  if dead ~= node then
    for _, sid in ipairs(redis.call('SMEMBERS', P .. 'ns:' .. dead)) do reaped = reaped + forget(sid, tpl) end
    redis.call('DEL', P .. 'ns:' .. dead)
    redis.call('ZREM', P .. 'nodes', dead)
  end
end
return {known, reaped}
`;

/**
 * ARGV: prefix, node, session, nick, nick key, room name, room key. Puts a session of this node back
 * (after Redis lost it), silently. Returns 1 (back or still there) or 0 (its nickname is someone
 * else's now).
 */
const REASSERT = `
local node, sid, nick, nk, rname, rk = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local s = P .. 's:' .. sid
if redis.call('EXISTS', s) == 1 then return 1 end
local owner = redis.call('GET', P .. 'nick:' .. nk)
if owner and owner ~= sid then return 0 end
redis.call('SET', P .. 'nick:' .. nk, sid)
local name = enter(sid, node, rk, rname)
redis.call('HSET', s, 'nick', nick, 'nk', nk, 'room', name, 'rk', rk, 'node', node)
redis.call('SADD', P .. 'ns:' .. node, sid)
return 1
`;

/** ARGV: prefix, node, left template. Forgets this node and its sessions (a clean shutdown). */
const LEAVE_NODE = `
local node, tpl = ARGV[2], ARGV[3]
for _, sid in ipairs(redis.call('SMEMBERS', P .. 'ns:' .. node)) do forget(sid, tpl) end
redis.call('DEL', P .. 'ns:' .. node)
redis.call('ZREM', P .. 'nodes', node)
return 1
`;

/** ARGV: prefix, node, op. Publishes a probe to this node's own channel (is the subscription live?). */
const PROBE = `
redis.call('PUBLISH', P .. 'node:' .. ARGV[2], cjson.encode({t = 'a', o = ARGV[3]}))
return 1
`;

/** The name of one script (an ioredis command defined with `defineCommand`). */
export type ScriptName =
  | 'chatConnect'
  | 'chatRename'
  | 'chatJoin'
  | 'chatWho'
  | 'chatRooms'
  | 'chatSendToRoom'
  | 'chatSendToUser'
  | 'chatDisconnect'
  | 'chatHeartbeat'
  | 'chatReassert'
  | 'chatLeaveNode'
  | 'chatProbe';

/** The scripts' bodies, by command name (each runs after the shared prelude). */
export const SCRIPTS: Readonly<Record<ScriptName, string>> = Object.freeze({
  chatConnect: CONNECT,
  chatRename: RENAME,
  chatJoin: JOIN,
  chatWho: WHO,
  chatRooms: ROOMS,
  chatSendToRoom: SEND_TO_ROOM,
  chatSendToUser: SEND_TO_USER,
  chatDisconnect: DISCONNECT,
  chatHeartbeat: HEARTBEAT,
  chatReassert: REASSERT,
  chatLeaveNode: LEAVE_NODE,
  chatProbe: PROBE,
});

/** The full source of a script: the prelude, then its body. */
export function scriptSource(name: ScriptName): string {
  return PRELUDE + SCRIPTS[name];
}
