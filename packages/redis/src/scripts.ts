import { createHash } from "node:crypto";
import { luaFragmentTable } from "./keys.js";

/**
 * Every Lua script, in one place. Each script touches the keys of one hash tag only (see keys.ts), so it
 * runs atomically on plain Redis and on Redis Cluster alike. `KEYS[1]` is always one key of that tag;
 * the script derives the tag's other keys from it, which also carries a client-side `keyPrefix`.
 *
 * Notes that shape the code:
 * - Lua compares strings with `strcoll`, which follows the server's locale; ordering uses `lt` (bytewise,
 *   the order `ZRANGE BYLEX` uses) instead.
 * - Values that must stay binary-safe (checkpoints, blobs, writes) are length-prefixed lists
 *   (`<byte length>:<bytes>`...), never JSON.
 * - Filters are evaluated with `cjson`, which cannot tell `[]` from `{}` and compares strings bytewise; where
 *   that could differ from the JavaScript rules the evaluator answers "unsure" and the caller re-checks in
 *   JavaScript, so pushed-down filters never change an answer.
 */
export interface RedisScript {
  name: string;
  lua: string;
  sha: string;
}

const ALL: RedisScript[] = [];

/** One top-level definition of a library (`local function name` or `local name = ...`) with the comments above it. */
interface Definition {
  name: string;
  text: string;
}

function definitions(lib: string): Definition[] {
  const out: Definition[] = [];
  let comments: string[] = [];
  let current: Definition | undefined;
  for (const line of lib.split("\n")) {
    const m = /^local (?:function )?([A-Za-z_]\w*)/.exec(line);
    if (m) {
      current = { name: m[1], text: [...comments, line].join("\n") };
      out.push(current);
      comments = [];
    } else if (line.startsWith("--")) {
      comments.push(line);
    } else if (current && line !== "") {
      current.text += `\n${line}`;
    }
  }
  return out;
}

const mentions = (text: string, name: string) => new RegExp(`\\b${name}\\b`).test(text);

/**
 * A script: its body after the library definitions it uses, directly or through other definitions. Every
 * call runs the whole chunk, so leaving unused helpers out keeps the fixed cost of a call low.
 */
function script(name: string, body: string, libs: string[] = []): RedisScript {
  const defs = [LIB, ...libs].flatMap(definitions);
  const used = new Set<Definition>();
  let scope = body;
  for (let grew = true; grew; ) {
    grew = false;
    for (const d of defs) {
      if (!used.has(d) && mentions(scope, d.name)) {
        used.add(d);
        scope += `\n${d.text}`;
        grew = true;
      }
    }
  }
  const lua = [...defs.filter((d) => used.has(d)).map((d) => d.text), body].join("\n");
  const s = { name, lua, sha: createHash("sha1").update(lua).digest("hex") };
  ALL.push(s);
  return s;
}

/** Every script, for preloading at setup. */
export function allScripts(): readonly RedisScript[] {
  return ALL;
}

const LIB = String.raw`
local function unpack_list(s)
  local out, pos, n = {}, 1, #s
  while pos <= n do
    local c = string.find(s, ':', pos, true)
    local len = tonumber(string.sub(s, pos, c - 1))
    out[#out + 1] = string.sub(s, c + 1, c + len)
    pos = c + 1 + len
  end
  return out
end

-- Element k of a packed list that starts at byte pos (default 1).
local function nth(s, k, pos)
  pos = pos or 1
  for i = 1, k do
    local c = string.find(s, ':', pos, true)
    if not c then return nil end
    local len = tonumber(string.sub(s, pos, c - 1))
    if i == k then return string.sub(s, c + 1, c + len) end
    pos = c + 1 + len
  end
end

local function pack_list(t)
  local parts = {}
  for i = 1, #t do parts[i] = #t[i] .. ':' .. t[i] end
  return table.concat(parts)
end

local function lt(a, b)
  if a == b then return false end
  local n = math.min(#a, #b)
  for i = 1, n do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return #a < #b
end

local function batched(cmd, key, items, out)
  for i = 1, #items, 500 do
    local r = redis.call(cmd, key, unpack(items, i, math.min(i + 499, #items)))
    if out then for k = 1, #r do out[#out + 1] = r[k] end end
  end
  return out
end

local function hmget(key, fields)
  if #fields == 0 then return {} end
  return batched('HMGET', key, fields, {})
end

local function is_array(t)
  return rawget(t, 1) ~= nil
end

-- JSON deep equality on cjson-decoded values: true, false, or nil when cjson cannot tell ([] vs {}).
local function deep_eq(a, b)
  local ta, tb = type(a), type(b)
  if ta ~= tb then return false end
  if ta ~= 'table' then return a == b end
  local ea, eb = next(a) == nil, next(b) == nil
  if ea or eb then
    if ea and eb then return nil end
    return false
  end
  local aa = is_array(a)
  if aa ~= is_array(b) then return false end
  local unsure = false
  if aa then
    if #a ~= #b then return false end
    for i = 1, #a do
      local r = deep_eq(a[i], b[i])
      if r == false then return false end
      if r == nil then unsure = true end
    end
  else
    for k, v in pairs(a) do
      local w = b[k]
      if w == nil then return false end
      local r = deep_eq(v, w)
      if r == false then return false end
      if r == nil then unsure = true end
    end
    for k in pairs(b) do
      if a[k] == nil then return false end
    end
  end
  if unsure then return nil end
  return true
end
`;

/**
 * Per-thread helpers. A thread's keys: `<tag>:ns` and, per namespace, `:cp:` (sorted set of rows), `:w:`
 * (writes) and `:b:` (blobs).
 */
const THREAD_LIB = String.raw`
local KINDS = {':cp:', ':w:', ':b:'}
local FRAGMENTS = ${luaFragmentTable()}

local function touch(base, ttl)
  if ttl == '0' then return end
  redis.call('PEXPIRE', base .. ':ns', ttl)
  for _, ns in ipairs(redis.call('ZRANGE', base .. ':ns', 0, -1)) do
    for _, kind in ipairs(KINDS) do redis.call('PEXPIRE', base .. kind .. ns, ttl) end
  end
end

local function forget_ns_if_empty(base, ns)
  for _, kind in ipairs(KINDS) do
    if redis.call('EXISTS', base .. kind .. ns) == 1 then return end
  end
  redis.call('ZREM', base .. ':ns', ns)
end

-- A checkpoint is the member '<id>\0<row>' of '<tag>:cp:<ns>' (score 0): members sort by id, and
-- ZRANGE BYLEX finds one id ('[<id>\0' to '(<id>\1') or a page before a cursor; the latest is the last rank.
local function member_id(m)
  return string.sub(m, 1, string.find(m, '\0', 1, true) - 1)
end

local function member_of(cpk, id)
  return redis.call('ZRANGE', cpk, '[' .. id .. '\0', '(' .. id .. '\1', 'BYLEX', 'LIMIT', 0, 1)[1]
end

local function remove_id(cpk, id)
  return redis.call('ZREMRANGEBYLEX', cpk, '[' .. id .. '\0', '(' .. id .. '\1')
end

-- Field k of a member's row.
local function row_field(m, k)
  return nth(m, k, string.find(m, '\0', 1, true) + 1)
end

-- Every member has score 0, so rank order is byte order: the last rank is the latest id.
local function latest(base, ns)
  return redis.call('ZRANGE', base .. ':cp:' .. ns, -1, -1)[1]
end

-- The checkpoint that describes the thread: the root namespace's latest, else the newest of any namespace.
-- Returns id, root flag, ns, member.
local function thread_head(base)
  local root = latest(base, '')
  if root then return member_id(root), '1', '', root end
  local best, best_ns, best_m
  for _, ns in ipairs(redis.call('ZRANGE', base .. ':ns', 0, -1)) do
    local m = latest(base, ns)
    if m then
      local top = member_id(m)
      if best == nil or lt(best, top) then best, best_ns, best_m = top, ns, m end
    end
  end
  if best then return best, '0', best_ns, best_m end
  return '', '0', '', nil
end

-- Row fields: 1 run ('' = none, else '=' .. run_id), 2 parent (same), 3 blob refs (packed channel, key,
-- channel, key...), 4 metadata JSON, 5 checkpoint type, 6 checkpoint bytes, then, only when the metadata is
-- not JSON stored as metadataJson alone, 7 metadata type and 8 metadata bytes. Types: '' = JSON (stored
-- with FRAGMENTS replaced by their byte), else '=' .. type. Metadata JSON is always stored that way.

-- Stored JSON text → the text.
local function unpack_json(s)
  if string.byte(s, 1) == 0 then return string.sub(s, 2) end
  return (string.gsub(s, '[\1-\31]', FRAGMENTS))
end

-- A chain key '<base>~<2 base-36 digits>~<link>' → base, seq (nil when the key is a plain version).
local function parse_chain_key(key)
  local b, ss = string.match(key, '^(.+)~([^~][^~])~[^~]*$')
  if not b then return nil end
  local seq = tonumber(ss, 36)
  if not seq or seq < 1 or seq ~= math.floor(seq) then return nil end
  return b, seq
end

local B36 = '0123456789abcdefghijklmnopqrstuvwxyz'

-- Walks the chain ending at (channel, key) in the blob hash bk, newest first: each link is a blob whose type
-- is '+' .. <id of the previous link>; the link before '<base>~<seq>~<id>' is '<base>~<seq - 1>~<previous id>',
-- or the base snapshot '<base>' before link 1. Stops at a blob that is not a delta, or at a missing link.
-- Appends each blob's value ('<n>:<type><n>:<bytes>') to out (when given). With a seen table, records each
-- field in it and stops at a field already recorded: the links from there on were visited before (out then
-- ends with '', which no value is: the rest of the chain is the one sent earlier from that link).
local function walk_chain(bk, channel, key, out, seen)
  local call, find, byte, sub, char = redis.call, string.find, string.byte, string.sub, string.char
  local pc = #channel .. ':' .. channel
  local f = pc .. #key .. ':' .. key
  local n = 0
  if seen then
    if seen[f] then
      if out then out[1] = '' end
      return
    end
    seen[f] = true
  end
  local v = call('HGET', bk, f)
  if not v then return end
  if out then
    n = 1
    out[1] = v
  end
  local c = find(v, ':', 1, true)
  if byte(v, c + 1) ~= 43 then return end
  local b, seq = parse_chain_key(key)
  if not b then return end
  local bp = b .. '~'
  -- Field prefix '<channel><key length>:<base>~' for link ids of the current length.
  local head, head_tl = nil, -1
  while seq > 1 do
    seq = seq - 1
    -- This blob's type is '+' .. the previous link's id.
    local tl = 0
    for p = 1, c - 1 do tl = tl * 10 + byte(v, p) - 48 end
    if tl ~= head_tl then
      head, head_tl = pc .. (#bp + 2 + tl) .. ':' .. bp, tl
    end
    local d1 = seq % 36 + 1
    local d0 = (seq - d1 + 1) / 36 + 1
    f = head .. char(byte(B36, d0), byte(B36, d1), 126) .. sub(v, c + 2, c + tl)
    if seen then
      if seen[f] then
        if out then out[n + 1] = '' end
        return
      end
      seen[f] = true
    end
    v = call('HGET', bk, f)
    if not v then return end
    if out then
      n = n + 1
      out[n] = v
    end
    c = find(v, ':', 1, true)
    if byte(v, c + 1) ~= 43 then return end
  end
  f = pc .. #b .. ':' .. b
  if seen then
    if seen[f] then
      if out then out[n + 1] = '' end
      return
    end
    seen[f] = true
  end
  v = call('HGET', bk, f)
  if v and out then out[n + 1] = v end
end

-- {ns, member, writes, chain per ref}: each chain is the list of its blobs' values, newest first. Bundles of
-- one reply share a seen table per namespace, so a link is sent once per reply (see walk_chain). A ref whose
-- blob field is in known (the caller holds its value) gets an empty chain.
local function bundle(base, ns, m, seen, known)
  local find, sub = string.find, string.sub
  local z = find(m, '\0', 1, true)
  local out = {ns, m, redis.call('HGET', base .. ':w:' .. ns, sub(m, 1, z - 1)) or ''}
  local refs = nth(m, 3, z + 1)
  if refs ~= '' then
    local bk = base .. ':b:' .. ns
    local pos, n = 1, #refs
    while pos <= n do
      local c = find(refs, ':', pos, true)
      local e = c + tonumber(sub(refs, pos, c - 1))
      local c2 = find(refs, ':', e + 1, true)
      local e2 = c2 + tonumber(sub(refs, e + 1, c2 - 1))
      local chain = {}
      if not (known and known[sub(refs, pos, e2)]) then
        walk_chain(bk, sub(refs, c + 1, e), sub(refs, c2 + 1, e2), chain, seen)
      end
      out[#out + 1] = chain
      pos = e2 + 1
    end
  end
  return out
end

local function decode_filter(s)
  if s == '' then return nil end
  local ok, f = pcall(cjson.decode, s)
  if ok and type(f) == 'table' then return f end
  return nil
end

-- Top-level metadata keys deep-equal the filter's: true, false or nil (unsure, re-checked by the caller).
local function metadata_match(filter, m)
  local ok, md = pcall(cjson.decode, unpack_json(row_field(m, 4)))
  if not ok or type(md) ~= 'table' then return nil end
  local unsure = false
  for k, v in pairs(filter) do
    local actual = md[k]
    if actual == nil then return false end
    local r = deep_eq(actual, v)
    if r == false then return false end
    if r == nil then unsure = true end
  end
  if unsure then return nil end
  return true
end

-- Drops the blobs of ns that no remaining checkpoint reaches: every link of every ref's chain is live.
local function gc_blobs(base, ns)
  local bk = base .. ':b:' .. ns
  local live = {}
  for _, m in ipairs(redis.call('ZRANGE', base .. ':cp:' .. ns, 0, -1)) do
    local refs = unpack_list(row_field(m, 3))
    for i = 1, #refs, 2 do walk_chain(bk, refs[i], refs[i + 1], nil, live) end
  end
  local drop = {}
  for _, f in ipairs(redis.call('HKEYS', bk)) do
    if not live[f] then drop[#drop + 1] = f end
  end
  if #drop > 0 then batched('HDEL', bk, drop) end
end
`;

/**
 * Global index helpers (tag `{<prefix>:i}`): `:cps` every checkpoint, `:threads` + `:heads` each
 * thread's describing checkpoint, `:run:<id>` + `:runs` checkpoints by run.
 */
const INDEX_LIB = String.raw`
local function cp_member(id, thread, ns)
  return id .. '\0' .. pack_list({thread, ns})
end

-- Replaces the thread's head (cur: its current packed (id, root flag) when the caller read it, else nil).
local function move_head(ibase, thread, cur, r, root)
  if cur then redis.call('ZREM', ibase .. ':threads', nth(cur, 1) .. '\0' .. thread) end
  if r == '' then
    redis.call('HDEL', ibase .. ':heads', thread)
    return
  end
  redis.call('ZADD', ibase .. ':threads', 0, r .. '\0' .. thread)
  redis.call('HSET', ibase .. ':heads', thread, #r .. ':' .. r .. #root .. ':' .. root)
end

local function set_head(ibase, thread, r, root)
  move_head(ibase, thread, redis.call('HGET', ibase .. ':heads', thread), r, root)
end

local function index_add(ibase, thread, ns, id, run)
  redis.call('ZADD', ibase .. ':cps', 0, cp_member(id, thread, ns))
  if run ~= '' then
    local r = string.sub(run, 2)
    redis.call('SADD', ibase .. ':run:' .. r, pack_list({thread, ns, id}))
    redis.call('ZADD', ibase .. ':runs', 0, r)
  end
end

-- A put moves the thread's head forward only: root checkpoints win over other namespaces.
local function head_bump(ibase, thread, ns, id)
  local cur = redis.call('HGET', ibase .. ':heads', thread)
  if cur then
    local r, root = nth(cur, 1), nth(cur, 2)
    if ns == '' then
      if root ~= '0' and not lt(r, id) then return end
    elseif root ~= '0' or not lt(r, id) then
      return
    end
  end
  move_head(ibase, thread, cur, id, ns == '' and '1' or '0')
end

local function run_forget(ibase, thread, ns, id, run)
  if run == '' then return end
  local r = string.sub(run, 2)
  redis.call('SREM', ibase .. ':run:' .. r, pack_list({thread, ns, id}))
  if redis.call('EXISTS', ibase .. ':run:' .. r) == 0 then redis.call('ZREM', ibase .. ':runs', r) end
end

local function index_remove(ibase, thread, ns, id, run)
  redis.call('ZREM', ibase .. ':cps', cp_member(id, thread, ns))
  run_forget(ibase, thread, ns, id, run)
end

-- removed / stale / added are flat lists of (ns, id, run) triples; head_r == nil leaves the head alone.
local function index_apply(ibase, thread, removed, stale, added, head_r, head_root)
  for i = 1, #removed, 3 do index_remove(ibase, thread, removed[i], removed[i + 1], removed[i + 2]) end
  for i = 1, #stale, 3 do run_forget(ibase, thread, stale[i], stale[i + 1], stale[i + 2]) end
  for i = 1, #added, 3 do index_add(ibase, thread, added[i], added[i + 1], added[i + 2]) end
  if head_r ~= nil then set_head(ibase, thread, head_r, head_root) end
end

-- Thread scripts on a standalone server update the index in the same script (KEYS[2] = '<index tag>:cps');
-- on Cluster they return the changes and the caller applies them with INDEX_APPLY.
local function finish(base, thread, removed, stale, added)
  local r, root = thread_head(base)
  if KEYS[2] then
    index_apply(string.sub(KEYS[2], 1, -5), thread, removed, stale, added, r, root)
    return {r, root, {}, {}, {}}
  end
  return {r, root, removed, stale, added}
end
`;

const THREAD_BASE = "local base = string.sub(KEYS[1], 1, -4)";

/**
 * put: ARGV ns, id, member ('<id>\0<row>'), ttl ms ('0' = none), thread id, run ('' | '=' .. run_id), then
 * (field, value) pairs of blobs, which are insert-if-absent. A checkpoint put again replaces its row.
 */
export const PUT = script(
  "put",
  String.raw`
${THREAD_BASE}
local ns, id = ARGV[1], ARGV[2]
local cpk = base .. ':cp:' .. ns
redis.call('ZADD', base .. ':ns', 0, ns)
remove_id(cpk, id)
redis.call('ZADD', cpk, 0, ARGV[3])
local bk = base .. ':b:' .. ns
for i = 7, #ARGV, 2 do redis.call('HSETNX', bk, ARGV[i], ARGV[i + 1]) end
touch(base, ARGV[4])
if KEYS[2] then
  local ibase = string.sub(KEYS[2], 1, -5)
  index_add(ibase, ARGV[5], ns, id, ARGV[6])
  head_bump(ibase, ARGV[5], ns, id)
end
return 1
`,
  [THREAD_LIB, INDEX_LIB],
);

/**
 * putWrites: ARGV ns, id, ttl, then the writes as one packed list of entries (task, idx, ...), at most one
 * per (task, idx). All writes of a checkpoint are one packed list in `<tag>:w:<ns>` field `id`. The first
 * writes of a checkpoint are stored as sent (one HSETNX); later ones are merged: idx < 0 replaces, others are
 * insert-if-absent, new entries are appended, and the list is only rebuilt when an entry is replaced.
 */
export const PUT_WRITES = script(
  "putWrites",
  String.raw`
${THREAD_BASE}
local ns, id = ARGV[1], ARGV[2]
local wk = base .. ':w:' .. ns
if redis.call('HSETNX', wk, id, ARGV[4]) == 0 then
  local cur = redis.call('HGET', wk, id)
  -- (task, idx) of each stored entry → its position, read without copying the entries.
  local pos, count, p, n = {}, 0, 1, #cur
  while p <= n do
    local c = string.find(cur, ':', p, true)
    local task = nth(cur, 1, c + 1)
    count = count + 1
    pos[#task .. ':' .. task .. nth(cur, 2, c + 1)] = count
    p = c + 1 + tonumber(string.sub(cur, p, c - 1))
  end
  local entries, added = nil, {}
  for _, e in ipairs(unpack_list(ARGV[4])) do
    local task, idx = nth(e, 1), nth(e, 2)
    local at = pos[#task .. ':' .. task .. idx]
    if not at then
      added[#added + 1] = #e .. ':' .. e
    elseif tonumber(idx) < 0 then
      entries = entries or unpack_list(cur)
      entries[at] = e
    end
  end
  if entries then
    redis.call('HSET', wk, id, pack_list(entries) .. table.concat(added))
  elseif #added > 0 then
    redis.call('HSET', wk, id, cur .. table.concat(added))
  end
end
redis.call('ZADD', base .. ':ns', 0, ns)
touch(base, ARGV[3])
return 1
`,
  [THREAD_LIB],
);

/**
 * getTuple: ARGV ns, id ('' = latest), refresh ttl ('0' = none), then the blob fields of values the caller
 * holds: a ref to one of them gets an empty chain. Returns a bundle or {}.
 */
export const GET = script(
  "get",
  String.raw`
${THREAD_BASE}
local ns, id = ARGV[1], ARGV[2]
local m
if id == '' then m = latest(base, ns) else m = member_of(base .. ':cp:' .. ns, id) end
if not m then return {} end
local known
if #ARGV > 3 then
  known = {}
  for i = 4, #ARGV do known[ARGV[i]] = true end
end
local out = bundle(base, ns, m, nil, known)
touch(base, ARGV[3])
return out
`,
  [THREAD_LIB],
);

/**
 * One page of a thread's checkpoints, newest first (id desc, then namespace asc).
 * ARGV: 1 '1' = one namespace / '0' = all, 2 ns, 3 only this id ('' = any), 4 before ('' = none),
 * 5 cursor id ('' = start), 6 cursor ns, 7 page size, 8 scan budget, 9 filter JSON ('' = none), 10 refresh ttl.
 * Returns {more, cursor id, cursor ns, bundles}. At most `budget` candidates are examined per call, so
 * a selective filter never turns one call into a scan of the whole thread.
 */
export const LIST = script(
  "list",
  String.raw`
${THREAD_BASE}
local namespaces
if ARGV[1] == '1' then namespaces = {ARGV[2]} else namespaces = redis.call('ZRANGE', base .. ':ns', 0, -1) end
local only, before, cid, cns = ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local limit, budget = tonumber(ARGV[7]), tonumber(ARGV[8])
local filter = decode_filter(ARGV[9])
local cand, truncated = {}, false
for _, ns in ipairs(namespaces) do
  local cpk = base .. ':cp:' .. ns
  if only ~= '' then
    if (before == '' or lt(only, before)) and (cid == '' or lt(only, cid) or (only == cid and lt(cns, ns))) then
      local m = member_of(cpk, only)
      if m then cand[#cand + 1] = {only, ns, m} end
    end
  else
    -- Members are '<id>\0<row>': '(' .. x excludes id x, '(' .. x .. '\1' includes it.
    local hi = '+'
    if cid ~= '' then
      if lt(cns, ns) then hi = '(' .. cid .. '\1' else hi = '(' .. cid end
    elseif before ~= '' then
      hi = '(' .. before
    end
    -- Without a filter every candidate is a hit, so a page needs no more than limit ids per namespace.
    local want = budget
    if not filter then want = math.min(budget, limit) end
    local got = redis.call('ZRANGE', cpk, hi, '-', 'BYLEX', 'REV', 'LIMIT', 0, want)
    if #got >= want then truncated = true end
    for _, m in ipairs(got) do cand[#cand + 1] = {member_id(m), ns, m} end
  end
end
if #namespaces > 1 then
  table.sort(cand, function(a, b)
    if a[1] ~= b[1] then return lt(b[1], a[1]) end
    return lt(a[2], b[2])
  end)
end
local rows, found, last = {}, 0, nil
local examined, seen = 0, {}
for i = 1, #cand do
  if examined >= budget or found >= limit then break end
  examined = i
  local ns, m = cand[i][2], cand[i][3]
  last = cand[i]
  local ok = true
  if filter then ok = metadata_match(filter, m) end
  if ok ~= false then
    seen[ns] = seen[ns] or {}
    rows[#rows + 1] = bundle(base, ns, m, seen[ns])
    found = found + 1
  end
end
if examined < #cand then truncated = true end
touch(base, ARGV[10])
return {truncated and 1 or 0, last and last[1] or '', last and last[2] or '', rows}
`,
  [THREAD_LIB],
);

/**
 * Checkpoints of one thread by (ns, id), for cross-thread listing. ARGV: thread id, filter JSON, refresh
 * ttl, then (ns, id) pairs. Returns one entry per pair: a bundle, 0 (filtered out) or nil (gone).
 */
export const FETCH = script(
  "fetch",
  String.raw`
${THREAD_BASE}
local thread = ARGV[1]
local filter = decode_filter(ARGV[2])
local out, any, seen = {}, false, {}
for i = 4, #ARGV, 2 do
  local ns, id = ARGV[i], ARGV[i + 1]
  local m = member_of(base .. ':cp:' .. ns, id)
  if not m then
    out[#out + 1] = false
    -- Standalone: the index lives on this node, so a gone checkpoint leaves the index atomically.
    if KEYS[2] then redis.call('ZREM', KEYS[2], cp_member(id, thread, ns)) end
  else
    any = true
    local ok = true
    if filter then ok = metadata_match(filter, m) end
    if ok == false then
      out[#out + 1] = 0
    else
      seen[ns] = seen[ns] or {}
      out[#out + 1] = bundle(base, ns, m, seen[ns])
    end
  end
end
if any then touch(base, ARGV[3]) end
return out
`,
  [THREAD_LIB, INDEX_LIB],
);

/**
 * The run field of rows by (ns, id), for the index sweep: ARGV (ns, id) pairs. Returns the run field
 * ('' or '=' .. run id) per pair, or nil when the row is gone.
 */
export const ROW_RUNS = script(
  "rowRuns",
  String.raw`
${THREAD_BASE}
local out = {}
for i = 1, #ARGV, 2 do
  local m = member_of(base .. ':cp:' .. ARGV[i], ARGV[i + 1])
  out[#out + 1] = m and row_field(m, 1) or false
end
return out
`,
  [THREAD_LIB],
);

/**
 * listThreads: the thread's describing checkpoint. ARGV: thread id, filter JSON. Returns
 * {id, root flag, ns, match, member}, or {''} when the thread is gone. On a standalone server (KEYS[2]) a
 * head the index got wrong is corrected in the same script.
 */
export const HEAD = script(
  "head",
  String.raw`
${THREAD_BASE}
local r, root, ns, m = thread_head(base)
if KEYS[2] then
  local ibase = string.sub(KEYS[2], 1, -5)
  local cur = redis.call('HGET', ibase .. ':heads', ARGV[1])
  if (not cur and r ~= '') or (cur and (nth(cur, 1) ~= r or nth(cur, 2) ~= root)) then set_head(ibase, ARGV[1], r, root) end
end
if not m then return {''} end
local filter = decode_filter(ARGV[2])
local ok = 1
if filter and metadata_match(filter, m) == false then ok = 0 end
return {r, root, ns, ok, ok == 1 and m or false}
`,
  [THREAD_LIB, INDEX_LIB],
);

/** Appends (ns, id, run) of each member to a list of removed checkpoints. */
const REMOVED_LIB = String.raw`
local function note_removed(list, ns, members)
  for _, m in ipairs(members) do
    local z = string.find(m, '\0', 1, true)
    list[#list + 1] = ns
    list[#list + 1] = string.sub(m, 1, z - 1)
    list[#list + 1] = nth(m, 1, z + 1)
  end
end
`;

/** deleteThread: ARGV thread id. Deletes every key of the thread. */
export const DELETE_THREAD = script(
  "deleteThread",
  String.raw`
${THREAD_BASE}
local removed = {}
for _, ns in ipairs(redis.call('ZRANGE', base .. ':ns', 0, -1)) do
  local cpk = base .. ':cp:' .. ns
  note_removed(removed, ns, redis.call('ZRANGE', cpk, 0, -1))
  redis.call('DEL', cpk, base .. ':w:' .. ns, base .. ':b:' .. ns)
end
redis.call('DEL', base .. ':ns')
return finish(base, ARGV[1], removed, {}, {})
`,
  [THREAD_LIB, INDEX_LIB, REMOVED_LIB],
);

/** prune keep_latest: ARGV thread id. Keeps each namespace's newest checkpoint, its writes and the blobs it reaches. */
export const PRUNE = script(
  "prune",
  String.raw`
${THREAD_BASE}
local removed = {}
for _, ns in ipairs(redis.call('ZRANGE', base .. ':ns', 0, -1)) do
  local cpk, wk, bk = base .. ':cp:' .. ns, base .. ':w:' .. ns, base .. ':b:' .. ns
  local keep = latest(base, ns)
  if keep then
    local keep_id = member_id(keep)
    -- Every member but the last (members sort by id).
    note_removed(removed, ns, redis.call('ZRANGE', cpk, 0, -2))
    redis.call('ZREMRANGEBYRANK', cpk, 0, -2)
    local drop = {}
    for _, f in ipairs(redis.call('HKEYS', wk)) do
      if f ~= keep_id then drop[#drop + 1] = f end
    end
    if #drop > 0 then batched('HDEL', wk, drop) end
    gc_blobs(base, ns)
  else
    redis.call('DEL', wk, bk)
  end
  forget_ns_if_empty(base, ns)
end
return finish(base, ARGV[1], removed, {}, {})
`,
  [THREAD_LIB, INDEX_LIB, REMOVED_LIB],
);

/**
 * deleteForRuns, one thread: ARGV thread id, then (ns, id, run id) candidates from the run index. A
 * candidate is deleted only if its row still carries that run id; others are reported as stale.
 */
export const DELETE_CHECKPOINTS = script(
  "deleteCheckpoints",
  String.raw`
${THREAD_BASE}
local removed, stale, touched = {}, {}, {}
for i = 2, #ARGV, 3 do
  local ns, id, run = ARGV[i], ARGV[i + 1], '=' .. ARGV[i + 2]
  local cpk = base .. ':cp:' .. ns
  local m = member_of(cpk, id)
  local list = stale
  if m and row_field(m, 1) == run then
    remove_id(cpk, id)
    redis.call('HDEL', base .. ':w:' .. ns, id)
    touched[ns] = true
    list = removed
  end
  list[#list + 1] = ns
  list[#list + 1] = id
  list[#list + 1] = run
end
for ns in pairs(touched) do
  gc_blobs(base, ns)
  forget_ns_if_empty(base, ns)
end
return finish(base, ARGV[1], removed, stale, {})
`,
  [THREAD_LIB, INDEX_LIB],
);

/** copyThread, read side: every namespace as {ns, checkpoint members, w pairs, b pairs}. */
export const DUMP = script(
  "dump",
  String.raw`
${THREAD_BASE}
local out = {}
for _, ns in ipairs(redis.call('ZRANGE', base .. ':ns', 0, -1)) do
  out[#out + 1] = {
    ns,
    redis.call('ZRANGE', base .. ':cp:' .. ns, 0, -1),
    redis.call('HGETALL', base .. ':w:' .. ns),
    redis.call('HGETALL', base .. ':b:' .. ns),
  }
end
return out
`,
  [THREAD_LIB],
);

/**
 * copyThread, write side: ARGV thread id, ttl, then per namespace: ns, member count, members, w pair count,
 * pairs, b pair count, pairs. Everything lands in one script, so the copy appears whole.
 */
export const LOAD = script(
  "load",
  String.raw`
${THREAD_BASE}
local added = {}
local i = 3
local function take_pairs(key)
  local n = tonumber(ARGV[i])
  i = i + 1
  local args = {}
  for k = 0, 2 * n - 1 do args[#args + 1] = ARGV[i + k] end
  i = i + 2 * n
  if #args > 0 then
    for s = 1, #args, 500 do redis.call('HSET', key, unpack(args, s, math.min(s + 499, #args))) end
  end
end
while i <= #ARGV do
  local ns = ARGV[i]
  local n = tonumber(ARGV[i + 1])
  i = i + 2
  local cpk = base .. ':cp:' .. ns
  for k = 0, n - 1 do
    local m = ARGV[i + k]
    local z = string.find(m, '\0', 1, true)
    local id = string.sub(m, 1, z - 1)
    remove_id(cpk, id)
    redis.call('ZADD', cpk, 0, m)
    added[#added + 1] = ns
    added[#added + 1] = id
    added[#added + 1] = nth(m, 1, z + 1)
  end
  i = i + n
  take_pairs(base .. ':w:' .. ns)
  take_pairs(base .. ':b:' .. ns)
  redis.call('ZADD', base .. ':ns', 0, ns)
end
touch(base, ARGV[2])
return finish(base, ARGV[1], {}, {}, added)
`,
  [THREAD_LIB, INDEX_LIB],
);

/** Cluster: the index half of a put. ARGV thread, ns, id, run. */
export const INDEX_PUT = script(
  "indexPut",
  String.raw`
local ibase = string.sub(KEYS[1], 1, -5)
index_add(ibase, ARGV[1], ARGV[2], ARGV[3], ARGV[4])
head_bump(ibase, ARGV[1], ARGV[2], ARGV[3])
return 1
`,
  [INDEX_LIB],
);

/**
 * Cluster: the index half of deleteThread / prune / deleteForRuns / copyThread. ARGV thread, head id
 * ('' = the thread is empty), head root flag ('keep' = leave the head alone), then three counted lists of (ns, id, run) triples:
 * removed, stale, added.
 */
export const INDEX_APPLY = script(
  "indexApply",
  String.raw`
local ibase = string.sub(KEYS[1], 1, -5)
local lists, i = {}, 4
for l = 1, 3 do
  local n = tonumber(ARGV[i])
  local t = {}
  for k = 1, 3 * n do t[k] = ARGV[i + k] end
  lists[l] = t
  i = i + 1 + 3 * n
end
local head_r = ARGV[2]
if ARGV[3] == 'keep' then head_r = nil end
index_apply(ibase, ARGV[1], lists[1], lists[2], lists[3], head_r, ARGV[3])
return 1
`,
  [INDEX_LIB],
);

/**
 * Repairs thread heads found stale by a read: ARGV (thread, expected id, new id, root flag) quadruples.
 * A head is replaced only if it is still the one the reader saw, so a concurrent put is never undone.
 */
export const INDEX_FIX_HEADS = script(
  "indexFixHeads",
  String.raw`
local ibase = string.sub(KEYS[1], 1, -5)
for i = 1, #ARGV, 4 do
  local thread = ARGV[i]
  local cur = redis.call('HGET', ibase .. ':heads', thread)
  if cur and nth(cur, 1) == ARGV[i + 1] then set_head(ibase, thread, ARGV[i + 2], ARGV[i + 3]) end
end
return 1
`,
  [INDEX_LIB],
);

/** Members of several run sets at once: ARGV run ids. */
export const RUN_MEMBERS = script(
  "runMembers",
  String.raw`
local ibase = string.sub(KEYS[1], 1, -5)
local out = {}
for i = 1, #ARGV do out[i] = redis.call('SMEMBERS', ibase .. ':run:' .. ARGV[i]) end
return out
`,
);

/** Setup lock release: deletes the lock only if this process still holds it. */
export const UNLOCK = script(
  "unlock",
  String.raw`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`,
);

// ------------------------------------------------------------------------------------------ store

/**
 * Store helpers. Tag `{<prefix>:s}`: `:nss` namespaces (score 0), `:ord:<ns>` key → updatedAt,
 * `:item:<len>:<ns><key>` hash {v, c, u, t, x}.
 */
const STORE_LIB = String.raw`
local base = string.sub(KEYS[1], 1, -5)
local NSS = KEYS[1]

local function item_key(ns, key)
  return base .. ':item:' .. #ns .. ':' .. ns .. key
end

local function namespaces_under(has, exact)
  if has == '0' then return redis.call('ZRANGE', NSS, 0, -1) end
  local out = {}
  if redis.call('ZSCORE', NSS, exact) then out[1] = exact end
  for _, n in ipairs(redis.call('ZRANGE', NSS, '[' .. exact .. '.', '(' .. exact .. '/', 'BYLEX')) do out[#out + 1] = n end
  return out
end

-- An ordering member whose item expired: drop it, and the namespace once it holds nothing.
local function forget_item(ns, key)
  local ok = base .. ':ord:' .. ns
  redis.call('ZREM', ok, key)
  if redis.call('EXISTS', ok) == 0 then redis.call('ZREM', NSS, ns) end
end

local MISSING = {}

local function get_path(v, path)
  local cur = v
  for _, part in ipairs(path) do
    if type(cur) ~= 'table' then return MISSING end
    local x
    if is_array(cur) then
      if not (part == '0' or string.match(part, '^[1-9][0-9]*$')) then return MISSING end
      x = rawget(cur, tonumber(part) + 1)
    else
      x = rawget(cur, part)
    end
    if x == nil then return MISSING end
    cur = x
  end
  return cur
end

-- UTF-8 byte order equals code point order; JavaScript compares UTF-16 code units, which differs
-- only around supplementary characters (4-byte sequences): then the answer is "unsure".
local function compare(a, b)
  local ta, tb = type(a), type(b)
  if ta == 'number' and tb == 'number' then
    if a < b then return -1 elseif a > b then return 1 else return 0 end
  end
  if ta == 'string' and tb == 'string' then
    if a == b then return 0 end
    if string.find(a, '[\240-\247]') or string.find(b, '[\240-\247]') then return nil end
    if lt(a, b) then return -1 end
    return 1
  end
  return false
end

local function eval_cond(value, c)
  local actual = get_path(value, c.p)
  local missing = actual == MISSING
  local op = c.o
  if op == '$exists' then
    if c.v then return not missing end
    return missing
  elseif op == '$eq' then
    if missing then return false end
    return deep_eq(actual, c.v)
  elseif op == '$ne' then
    if missing then return true end
    local r = deep_eq(actual, c.v)
    if r == nil then return nil end
    return not r
  elseif op == '$in' or op == '$nin' then
    if missing then return op == '$nin' end
    local unsure = false
    for _, x in ipairs(c.v) do
      local r = deep_eq(actual, x)
      if r == true then return op == '$in' end
      if r == nil then unsure = true end
    end
    if unsure then return nil end
    return op == '$nin'
  end
  if missing then return false end
  local d = compare(actual, c.v)
  if d == false then return false end
  if d == nil then return nil end
  if op == '$gt' then return d > 0 elseif op == '$gte' then return d >= 0 elseif op == '$lt' then return d < 0 end
  return d <= 0
end

local function matches(conds, json)
  if conds == nil then return true end
  if conds == false then return nil end
  local ok, value = pcall(cjson.decode, json)
  if not ok then return nil end
  local unsure = false
  for _, c in ipairs(conds) do
    local r = eval_cond(value, c)
    if r == false then return false end
    if r == nil then unsure = true end
  end
  if unsure then return nil end
  return true
end
`;

/**
 * One store `batch()`: reads (against the state before the batch), then writes, in one atomic script.
 * ARGV: now ms, refresh ('1'/'0'), then counted sections:
 *   gets: ns, key
 *   searches: mode ('p' paged / 'v' every candidate with vectors), has prefix ('0'/'1'), exact prefix, limit, offset, conditions JSON
 *   listNamespaces: has prefix, exact prefix
 *   puts: ns, key, op ('d'/'p'), value JSON, ttl ms ('' = none), vectors mode ('k' keep / 'r' replace), vector bytes
 * Returns {gets, searches, lists}.
 */
export const STORE_BATCH = script(
  "storeBatch",
  String.raw`
local now, refresh = ARGV[1], ARGV[2] == '1'
local a = 3
local function arg()
  local v = ARGV[a]
  a = a + 1
  return v
end

local gets = {}
for g = 1, tonumber(arg()) do
  local ns, key = arg(), arg()
  local ik = item_key(ns, key)
  local r = redis.call('HMGET', ik, 'v', 'c', 'u', 't')
  if r[1] then
    gets[g] = {r[1], r[2], r[3]}
    if refresh and r[4] then redis.call('PEXPIRE', ik, r[4]) end
  else
    gets[g] = false
  end
end

local searches = {}
for s = 1, tonumber(arg()) do
  local mode, has, exact, limit, offset, cj = arg(), arg(), arg(), tonumber(arg()), tonumber(arg()), arg()
  local conds = nil
  if cj ~= '' then
    local ok, c = pcall(cjson.decode, cj)
    if ok then conds = c else conds = false end
  end
  local entries = {}
  for _, ns in ipairs(namespaces_under(has, exact)) do
    local m = redis.call('ZRANGE', base .. ':ord:' .. ns, 0, -1, 'WITHSCORES')
    for j = 1, #m, 2 do entries[#entries + 1] = {tonumber(m[j + 1]), m[j], ns} end
  end
  table.sort(entries, function(x, y)
    if x[1] ~= y[1] then return x[1] > y[1] end
    if x[2] ~= y[2] then return lt(x[2], y[2]) end
    return lt(x[3], y[3])
  end)
  local out = {}
  local skipped, definite, unsure_seen = 0, 0, false
  local need = offset + limit
  for _, e in ipairs(entries) do
    if mode == 'p' and skipped + definite >= need then break end
    local ns, key = e[3], e[2]
    local ik = item_key(ns, key)
    local r
    if mode == 'v' then r = redis.call('HMGET', ik, 'v', 'c', 'u', 't', 'x') else r = redis.call('HMGET', ik, 'v', 'c', 'u', 't') end
    if not r[1] then
      forget_item(ns, key)
    else
      local m = matches(conds, r[1])
      if m ~= false then
        if m == nil then unsure_seen = true end
        if mode == 'p' and m == true and not unsure_seen and skipped < offset then
          skipped = skipped + 1
        else
          if m == true then definite = definite + 1 end
          out[#out + 1] = {ns, key, r[1], r[2], r[3], m == true and 1 or 0, r[4] or '', r[5] or ''}
        end
      end
    end
  end
  local refreshed = 0
  if mode == 'p' and not unsure_seen then
    refreshed = 1
    if refresh then
      for _, o in ipairs(out) do
        if o[7] ~= '' then redis.call('PEXPIRE', item_key(o[1], o[2]), o[7]) end
      end
    end
  end
  searches[s] = {skipped, refreshed, out}
end

local alive = {}
local function ns_alive(ns)
  if alive[ns] ~= nil then return alive[ns] end
  local ok = base .. ':ord:' .. ns
  while true do
    local chunk = redis.call('ZRANGE', ok, 0, 49, 'REV')
    if #chunk == 0 then
      redis.call('ZREM', NSS, ns)
      alive[ns] = false
      return false
    end
    for _, key in ipairs(chunk) do
      if redis.call('EXISTS', item_key(ns, key)) == 1 then
        alive[ns] = true
        return true
      end
      redis.call('ZREM', ok, key)
    end
  end
end

local lists = {}
for l = 1, tonumber(arg()) do
  local has, exact = arg(), arg()
  local out = {}
  for _, ns in ipairs(namespaces_under(has, exact)) do
    if ns_alive(ns) then out[#out + 1] = ns end
  end
  lists[l] = out
end

for p = 1, tonumber(arg()) do
  local ns, key, op, value, ttl, vmode, vec = arg(), arg(), arg(), arg(), arg(), arg(), arg()
  local ik = item_key(ns, key)
  local ok = base .. ':ord:' .. ns
  if op == 'd' then
    redis.call('DEL', ik)
    forget_item(ns, key)
  else
    local old = redis.call('HMGET', ik, 'c', 'x')
    local fields = {'v', value, 'c', old[1] or now, 'u', now}
    if ttl ~= '' then
      fields[#fields + 1] = 't'
      fields[#fields + 1] = ttl
    end
    if vmode == 'k' then vec = old[2] or '' end
    if vec ~= '' then
      fields[#fields + 1] = 'x'
      fields[#fields + 1] = vec
    end
    redis.call('DEL', ik)
    redis.call('HSET', ik, unpack(fields))
    if ttl ~= '' then redis.call('PEXPIRE', ik, ttl) end
    redis.call('ZADD', ok, now, key)
    redis.call('ZADD', NSS, 0, ns)
  end
end

return {gets, searches, lists}
`,
  [STORE_LIB],
);

/** Extends the expiry of items a read returned: ARGV (ns, key) pairs. */
export const STORE_REFRESH = script(
  "storeRefresh",
  String.raw`
for i = 1, #ARGV, 2 do
  local ik = item_key(ARGV[i], ARGV[i + 1])
  local t = redis.call('HGET', ik, 't')
  if t then redis.call('PEXPIRE', ik, t) end
end
return 1
`,
  [STORE_LIB],
);

/**
 * Background sweep of the store indexes: drops ordering members whose item expired, and namespaces left
 * empty. Resumable: ARGV cursor namespace ('' = start), offset in that namespace's ordering, budget (members
 * to examine). Returns {cursor namespace ('' = pass complete), offset, removed}.
 */
export const STORE_SWEEP = script(
  "storeSweep",
  String.raw`
local cursor, offset, budget = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local lo = '-'
if cursor ~= '' then lo = '[' .. cursor end
local examined, removed = 0, 0
while true do
  local nss = redis.call('ZRANGE', NSS, lo, '+', 'BYLEX', 'LIMIT', 0, 100)
  if #nss == 0 then return {'', 0, removed} end
  for _, ns in ipairs(nss) do
    if ns ~= cursor then offset = 0 end
    cursor = ''
    local ok = base .. ':ord:' .. ns
    while true do
      local chunk = redis.call('ZRANGE', ok, offset, offset + 99)
      if #chunk == 0 then break end
      for _, key in ipairs(chunk) do
        if examined >= budget then return {ns, offset, removed} end
        examined = examined + 1
        if redis.call('EXISTS', item_key(ns, key)) == 0 then
          redis.call('ZREM', ok, key)
          removed = removed + 1
        else
          offset = offset + 1
        end
      end
    end
    if redis.call('EXISTS', ok) == 0 then redis.call('ZREM', NSS, ns) end
    lo = '(' .. ns
  end
end
`,
  [STORE_LIB],
);
