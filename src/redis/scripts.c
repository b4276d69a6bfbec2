/* The Lua scripts behind every distributed decision.
 *
 * Each decision is exactly one script: Redis runs a script atomically (no
 * other command runs in between), so reading the state, deciding and
 * writing the new state cannot interleave with another client's decision.
 * That is what a client-side pipeline (ZADD, ZREMRANGEBYSCORE, ZCARD,
 * EXPIRE) cannot give: two clients can both add, both count "limit + 1" and
 * both back out, or both count "limit - 1" before either adds; and a
 * pipeline that leaves refused requests in the log lets a client that keeps
 * retrying lock itself out for good.
 *
 * Time comes from the server (TIME), in microseconds since 2020-01-01
 * (RS__REDIS_EPOCH_S): clients' clocks never enter a decision, and a double
 * holds those microseconds with 1/32 us resolution until 2029 (1/16 us
 * until 2038) where Unix-epoch microseconds would only have 1/4 us.
 *
 * Every number handed to redis.call() is formatted with %d or %.17g:
 * Redis would otherwise convert Lua numbers with %.14g and round
 * microsecond timestamps. Every key written gets a TTL after which its
 * absence means the same as its content, so nothing needs cleaning up.
 *
 * Lua's numbers are doubles: counts and amounts stay at or below 2^53
 * (RS__REDIS_MAX_COUNT; the client caps its arguments, the scripts cap what
 * they store), so they are exact and string.format('%d') never overflows.
 * A stored number that is not finite or that no script could have written
 * is not a state to act on: the script answers WRONGTYPE (RS_E_INVAL), as
 * for a key of another type, instead of refusing or granting forever. */
#include "internal.h"

#define RS__STR2(x) #x
#define RS__STR(x) RS__STR2(x)

/* Server time in us since the epoch above. replicate_commands() makes TIME
 * followed by writes legal on Redis 3.2..4 (a no-op from 5 on). */
#define NOW_US                                                                            \
    "if redis.replicate_commands then redis.replicate_commands() end\n"                  \
    "local t = redis.call('TIME')\n"                                                      \
    "local now = (tonumber(t[1]) - " RS__STR(RS__REDIS_EPOCH_S) ") * 1000000"             \
    " + tonumber(t[2])\n"                                                                 \
    "local function int(x) return string.format('%d', x) end\n"                           \
    "local function finite(x) return x ~= nil and x == x and x > -math.huge"              \
    " and x < math.huge end\n"

/* GCRA (the "generic cell rate algorithm"): the whole bucket is one number,
 * the theoretical arrival time (TAT) at which the bucket would be full
 * again. Taking n tokens moves TAT by n * interval; the request fits when
 * the new TAT is at most burst * interval ahead of now. A reservation that
 * must wait up to max_wait moves TAT all the same (x/time/rate semantics).
 * KEYS[1]: TAT as a string; ARGV: interval_us, burst, n, max_wait_us, peek.
 * Returns {granted, wait_us}: the wait before using the tokens, or (refused)
 * the whole wait they would need, as the local token bucket reports it. */
static const char gcra_source[] =
    "local key = KEYS[1]\n"
    "local interval = tonumber(ARGV[1])\n"
    "local burst = tonumber(ARGV[2])\n"
    "local n = tonumber(ARGV[3])\n"
    "local max_wait = tonumber(ARGV[4])\n" NOW_US
    "local tat = now\n"
    "local raw = redis.call('GET', key)\n"
    "if raw then\n"
    "  local stored = tonumber(raw)\n"
    /* No reservation moves TAT further than tau + the longest max_wait
     * (2^64 ns, under 2^55 us) ahead of the server clock. */
    "  if not finite(stored) or stored > now + burst * interval + 2 ^ 55 then\n"
    "    return redis.error_reply('WRONGTYPE ' .. key .. ' holds a string that is not a GCRA time')\n"
    "  end\n"
    "  if stored > tat then tat = stored end\n"
    "end\n"
    "local new_tat = tat + n * interval\n"
    /* the same as new_tat - burst * interval - now, without subtracting
     * two large times: a request that exactly fits must get 0, not a
     * rounding error above max_wait */
    "local wait = (tat - now) + (n - burst) * interval\n"
    "if wait < 0 then wait = 0 end\n"
    "if ARGV[5] == '1' then return {1, math.ceil(wait)} end\n"
    "if wait > max_wait then return {0, math.ceil(wait)} end\n"
    "redis.call('SET', key, string.format('%.17g', new_tat), 'PX',\n"
    "           int(math.ceil((new_tat - now) / 1000) + 1))\n"
    "return {1, math.ceil(wait)}\n";

/* Exact sliding log: one sorted-set entry per admitted request, scored by
 * its admission time and named "<first>:<units>", where first numbers the
 * request's first unit (15 digits, counting up across requests) and units
 * is n: a request of any size costs one entry and O(log N) work, so no
 * request holds the server for long. The units in the window are the
 * newest entry's end minus the oldest's first, once entries at or before
 * now - window are dropped; a request is admitted only if all n fit, and a
 * refused request adds nothing. When refused, the wait is until the entry
 * holding the last unit that must leave has left (a binary search over
 * ranks). `now` never goes below the newest entry, so a server clock
 * stepping back cannot let old entries linger uncounted. Unit numbers wrap
 * at 10^15; the entry that wraps is scored after the newest, so that ties
 * (ordered by name) never put it first.
 * KEYS[1]: the sorted set; ARGV: window_us, limit, n, peek.
 * Returns {granted, wait_us (-1 = never), count}. */
static const char log_source[] =
    "local key = KEYS[1]\n"
    "local window = tonumber(ARGV[1])\n"
    "local limit = tonumber(ARGV[2])\n"
    "local n = tonumber(ARGV[3])\n" NOW_US
    "local wrap = 1000000000000000\n"
    "local function entry(rank)\n"
    "  local e = redis.call('ZRANGE', key, rank, rank, 'WITHSCORES')\n"
    "  if not e[1] then return nil end\n"
    "  local first, units = string.match(e[1], '^(%d%d%d%d%d%d%d%d%d%d%d%d%d%d%d):(%d+)$')\n"
    "  return {tonumber(e[2]), tonumber(first), tonumber(units)}\n"
    "end\n"
    "local function bad(e) return e and not (finite(e[1]) and e[2] and e[3]) end\n"
    "local function foreign()\n"
    "  return redis.error_reply('WRONGTYPE ' .. key .. ' is a sorted set but not a sliding log'"
    " .. ' of this version')\n"
    "end\n"
    "local newest = entry(-1)\n"
    "if bad(newest) then return foreign() end\n"
    "if newest and newest[1] > now then now = newest[1] end\n"
    "redis.call('ZREMRANGEBYSCORE', key, '-inf', int(now - window))\n"
    "local oldest = entry(0)\n"
    "if bad(oldest) then return foreign() end\n"
    "local count, next_unit = 0, 0\n"
    "if oldest then\n"
    "  next_unit = newest[2] + newest[3]\n"
    "  count = (next_unit - oldest[2]) % wrap\n"
    "end\n"
    "if count + n <= limit then\n"
    "  if ARGV[4] ~= '1' and n > 0 then\n"
    "    local score = now\n"
    "    if next_unit + n >= wrap then\n"
    "      next_unit = 0\n"
    "      if newest and score <= newest[1] then score = newest[1] + 1 end\n"
    "    end\n"
    "    redis.call('ZADD', key, int(score), string.format('%015d:%d', next_unit, n))\n"
    "    redis.call('PEXPIRE', key, int(math.ceil(window / 1000) + 1))\n"
    "    count = count + n\n"
    "  end\n"
    "  return {1, 0, count}\n"
    "end\n"
    "if n > limit then return {0, -1, count} end\n"
    /* the first entry whose leaving frees count + n - limit units */
    "local need = count + n - limit\n"
    "local lo, hi = 0, redis.call('ZCARD', key) - 1\n"
    "local found = oldest\n"
    "while lo < hi do\n"
    "  local mid = math.floor((lo + hi) / 2)\n"
    "  local e = entry(mid)\n"
    "  if bad(e) then return foreign() end\n"
    "  if (e[2] - oldest[2]) % wrap + e[3] >= need then hi = mid else lo = mid + 1 end\n"
    "end\n"
    "found = entry(lo)\n"
    "if bad(found) then return foreign() end\n"
    "return {0, math.max(1, math.ceil(found[1] + window - now)), count}\n";

/* Sliding counter: counts of the current and previous fixed windows; the
 * estimate weights the previous count by how much of it the sliding window
 * still overlaps. KEYS[1]: hash {w = window index, c = current, p =
 * previous}; ARGV: window_us, limit, n, peek.
 * Returns {granted, wait_us (-1 = never), floor(estimate)}. */
static const char counter_source[] =
    "local key = KEYS[1]\n"
    "local window = tonumber(ARGV[1])\n"
    "local limit = tonumber(ARGV[2])\n"
    "local n = tonumber(ARGV[3])\n" NOW_US
    "local idx = math.floor(now / window)\n"
    "local h = redis.call('HMGET', key, 'w', 'c', 'p')\n"
    "for i = 1, 3 do\n"
    "  local v = tonumber(h[i])\n"
    "  if h[i] and not (finite(v) and v >= 0) then\n"
    "    return redis.error_reply('WRONGTYPE ' .. key .. ' is a hash but not a sliding counter')\n"
    "  end\n"
    "end\n"
    "local w, c, p = tonumber(h[1]), tonumber(h[2]) or 0, tonumber(h[3]) or 0\n"
    "if w == nil then w, c, p = idx, 0, 0\n"
    "elseif idx == w + 1 then w, c, p = idx, 0, c\n"
    "elseif idx > w + 1 then w, c, p = idx, 0, 0\n"
    "elseif idx < w then now = w * window end\n"
    "local elapsed = now - w * window\n"
    "local estimate = p * (window - elapsed) / window + c\n"
    "if n <= limit - estimate then\n"
    "  if ARGV[4] ~= '1' and n > 0 then\n"
    "    redis.call('HSET', key, 'w', int(w), 'c', int(c + n), 'p', int(p))\n"
    "    redis.call('PEXPIRE', key, int(math.ceil(2 * window / 1000) + 1))\n"
    "    estimate = estimate + n\n"
    "  end\n"
    "  return {1, 0, math.floor(estimate)}\n"
    "end\n"
    "if n > limit then return {0, -1, math.floor(estimate)} end\n"
    "local wait\n"
    "if c + n <= limit then\n"
    /* only the previous window's share is in the way (so p > 0) */
    "  wait = window - (limit - c - n) * window / p - elapsed\n"
    "else\n"
    /* wait for the next window, where this window's c becomes the weight */
    "  wait = window - elapsed + math.max(0, window - (limit - n) * window / c)\n"
    "end\n"
    "return {0, math.max(1, math.ceil(wait)), math.floor(estimate)}\n";

/* Rolling budget: a hash of sub-window index -> tokens used; the window is
 * the last `slots` sub-windows. Stale sub-windows are deleted as they roll
 * out. KEYS[1]: the hash; ARGV: op (r = reserve, c = commit, q = query),
 * sub_us, slots, max, amount, ticket_at_us, ticket_reserved.
 * Returns {granted, remaining, now_us}. */
static const char budget_source[] =
    "local key = KEYS[1]\n"
    "local op = ARGV[1]\n"
    "local sub = tonumber(ARGV[2])\n"
    "local slots = tonumber(ARGV[3])\n"
    "local max = tonumber(ARGV[4])\n"
    "local amount = tonumber(ARGV[5])\n" NOW_US
    "local cap = 9007199254740992\n" /* RS__REDIS_MAX_COUNT */
    "local idx = math.floor(now / sub)\n"
    "local oldest = idx - slots + 1\n"
    "local flat = redis.call('HGETALL', key)\n"
    "local used, stale = 0, {}\n"
    "for i = 1, #flat, 2 do\n"
    "  local b, v = tonumber(flat[i]), tonumber(flat[i + 1])\n"
    "  if not (finite(b) and finite(v) and v >= 0 and v <= cap) then\n"
    "    return redis.error_reply('WRONGTYPE ' .. key .. ' is a hash but not a budget')\n"
    "  end\n"
    "  if b < oldest then stale[#stale + 1] = flat[i] else used = used + v end\n"
    "end\n"
    "if #stale > 0 then redis.call('HDEL', key, unpack(stale)) end\n"
    "local ttl = int(math.ceil(slots * sub / 1000) + 1)\n"
    /* adds delta to one sub-window, kept within 0..cap; the change in use */
    "local function add(at, delta)\n"
    "  local old = tonumber(redis.call('HGET', key, int(at)) or '0')\n"
    "  local new = math.max(0, math.min(cap, old + delta))\n"
    "  if new > 0 then redis.call('HSET', key, int(at), int(new))\n"
    "  else redis.call('HDEL', key, int(at)) end\n"
    "  return new - old\n"
    "end\n"
    "if op == 'r' then\n"
    /* max - used is exact while used <= max; used + amount might not be */
    "  if amount > max - used then return {0, math.max(0, max - used), now} end\n"
    "  if amount > 0 then\n"
    "    add(idx, amount)\n"
    "    redis.call('PEXPIRE', key, ttl)\n"
    "  end\n"
    "  return {1, max - used - amount, now}\n"
    "elseif op == 'c' then\n"
    "  local at = math.floor(tonumber(ARGV[6]) / sub)\n"
    "  local delta = amount - tonumber(ARGV[7])\n"
    "  if at >= oldest then\n"
    "    used = used + add(at, delta)\n"
    "  elseif delta > 0 then\n"
    "    used = used + add(idx, delta)\n"
    "  end\n"
    "  if used > 0 then redis.call('PEXPIRE', key, ttl) end\n"
    "end\n"
    "return {1, math.max(0, max - used), now}\n";

/* Shared breaker flag: a string key that exists while the dependency is
 * open, with a TTL of the open period. A key without TTL is a manual "forced
 * open" switch and is never overwritten. KEYS[1]; ARGV: op (p = publish,
 * c = check, x = clear), ttl_ms, value. Returns {1, ttl_ms} where ttl_ms is
 * -2 (not open), -1 (open until deleted) or the time left. */
static const char breaker_source[] =
    "local key = KEYS[1]\n"
    "local kind = redis.call('TYPE', key).ok\n"
    "if kind ~= 'none' and kind ~= 'string' then\n"
    "  return redis.error_reply('WRONGTYPE ' .. key .. ' holds a ' .. kind .. ', not a breaker flag')\n"
    "end\n"
    "local op = ARGV[1]\n"
    "if op == 'x' then redis.call('DEL', key); return {1, -2} end\n"
    "local ttl = redis.call('PTTL', key)\n"
    "if op == 'p' and (ttl == -2 or (ttl >= 0 and ttl < tonumber(ARGV[2]))) then\n"
    "  redis.call('SET', key, ARGV[3], 'PX', ARGV[2])\n"
    "  ttl = tonumber(ARGV[2])\n"
    "end\n"
    "return {1, ttl}\n";

static const struct {
    const char *name;
    const char *source;
} scripts[RS__SCRIPT_COUNT] = {
    [RS__SCRIPT_GCRA] = { "gcra", gcra_source },
    [RS__SCRIPT_LOG] = { "sliding log", log_source },
    [RS__SCRIPT_COUNTER] = { "sliding counter", counter_source },
    [RS__SCRIPT_BUDGET] = { "budget", budget_source },
    [RS__SCRIPT_BREAKER] = { "breaker flag", breaker_source },
};

const char *rs__redis_script_source(rs__redis_script script)
{
    return scripts[script].source;
}

const char *rs__redis_script_name(rs__redis_script script)
{
    return scripts[script].name;
}
