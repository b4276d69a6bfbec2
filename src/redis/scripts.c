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
 * the new TAT is at most burst * interval ahead of now. GCRA_LOAD reads TAT
 * (KEYS[1], a string; ARGV[1] interval_us, ARGV[2] burst) as `tat`, never
 * before now. No reservation moves TAT further than tau + the longest
 * max_wait (2^64 ns, under 2^55 us) ahead of the server clock. */
#define GCRA_LOAD                                                                         \
    "local key = KEYS[1]\n"                                                               \
    "local interval = tonumber(ARGV[1])\n"                                                \
    "local burst = tonumber(ARGV[2])\n" NOW_US                                            \
    "local tat = now\n"                                                                   \
    "local raw = redis.call('GET', key)\n"                                                \
    "if raw then\n"                                                                       \
    "  local stored = tonumber(raw)\n"                                                    \
    "  if not finite(stored) or stored > now + burst * interval + 2 ^ 55 then\n"          \
    "    return redis.error_reply('WRONGTYPE ' .. key .. ' holds a string that is not a GCRA time')\n" \
    "  end\n"                                                                             \
    "  if stored > tat then tat = stored end\n"                                           \
    "end\n"

/* One GCRA decision. A reservation that must wait up to max_wait moves TAT
 * all the same (x/time/rate semantics).
 * ARGV: interval_us, burst, n, max_wait_us, peek.
 * Returns {granted, wait_us}: the wait before using the tokens, or (refused)
 * the whole wait they would need, as the local token bucket reports it. */
static const char gcra_source[] =
    GCRA_LOAD
    "local n = tonumber(ARGV[3])\n"
    "local max_wait = tonumber(ARGV[4])\n"
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

/* A GCRA lease: gives back what a lease of this bucket did not use, then
 * takes between want_min and want_max tokens available now (or reserves
 * exactly want_min ahead if they are available within max_wait).
 *
 * A lease is a segment of the TAT line, ending at `end` when granted. The
 * bucket gets back only what the segment still holds: never more than its
 * unused tokens, never so much that TAT falls before now (what has refilled
 * is back already), and never beyond the segment's end as it stands now.
 * That end moves earlier when a lease granted before it gives tokens back,
 * so KEYS[2] (a hash, expiring with TAT) keeps `r`, the time refunded so
 * far, and `e`, when that count began: a segment granted when r was r0 has
 * moved by at most r - r0, and one granted under another `e` (the record
 * expired with a full bucket since) holds nothing any more. Erring early
 * only gives back less: the strict side.
 * ARGV: interval_us, burst, want_min, want_max, max_wait_us, back (tokens),
 * back_end_us, back_epoch, back_r0.
 * Returns {granted?, tokens, wait_us, end_us, epoch, r0}. */
static const char gcra_lease_source[] =
    GCRA_LOAD
    "local want_min = tonumber(ARGV[3])\n"
    "local want_max = tonumber(ARGV[4])\n"
    "local max_wait = tonumber(ARGV[5])\n"
    "local back = tonumber(ARGV[6])\n"
    "local rkey = KEYS[2]\n"
    "local h = redis.call('HMGET', rkey, 'e', 'r')\n"
    "local epoch, refunded = tonumber(h[1]), tonumber(h[2])\n"
    "if h[1] or h[2] then\n"
    "  if not (finite(epoch) and finite(refunded) and refunded >= 0) then\n"
    "    return redis.error_reply('WRONGTYPE ' .. rkey .. ' is a hash but not a refund record')\n"
    "  end\n"
    "else\n"
    "  epoch, refunded = now, 0\n"
    "end\n"
    "local changed = false\n"
    "if back > 0 and tonumber(ARGV[8]) == epoch then\n"
    "  local held = tonumber(ARGV[7]) - (refunded - tonumber(ARGV[9])) - now\n"
    "  local give = math.min(back * interval, tat - now, held)\n"
    "  if give > 0 then\n"
    "    tat, refunded, changed = tat - give, refunded + give, true\n"
    "  end\n"
    "end\n"
    "local granted, wait = 0, 0\n"
    "if want_max > 0 then\n"
    /* the exact script's wait for want_min, negated: time to spare */
    "  local room = -((tat - now) + (want_min - burst) * interval)\n"
    "  if room >= 0 then\n"
    "    granted = want_min + math.min(want_max - want_min, math.floor(room / interval))\n"
    "  else\n"
    "    wait = -room\n"
    "    if wait <= max_wait then granted = want_min end\n"
    "  end\n"
    "end\n"
    "if granted > 0 then tat, changed = tat + granted * interval, true end\n"
    "if changed then\n"
    "  if tat > now then\n"
    "    local ttl = int(math.ceil((tat - now) / 1000) + 1)\n"
    "    redis.call('SET', key, string.format('%.17g', tat), 'PX', ttl)\n"
    "    redis.call('HSET', rkey, 'e', int(epoch), 'r', string.format('%.17g', refunded))\n"
    "    redis.call('PEXPIRE', rkey, ttl)\n"
    "  else\n"
    "    redis.call('DEL', key, rkey)\n"
    "  end\n"
    "end\n"
    "return {granted > 0 and 1 or 0, granted, math.ceil(wait), math.floor(tat), epoch,\n"
    "        math.floor(refunded)}\n";

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
 * LOG_HEAD: KEYS[1] the sorted set; ARGV[1] window_us, ARGV[2] limit,
 * ARGV[3] n. */
#define LOG_HEAD                                                                          \
    "local key = KEYS[1]\n"                                                               \
    "local window = tonumber(ARGV[1])\n"                                                  \
    "local limit = tonumber(ARGV[2])\n"                                                   \
    "local n = tonumber(ARGV[3])\n" NOW_US                                                \
    "local wrap = 1000000000000000\n"                                                     \
    "local function entry(rank)\n"                                                        \
    "  local e = redis.call('ZRANGE', key, rank, rank, 'WITHSCORES')\n"                   \
    "  if not e[1] then return nil end\n"                                                 \
    "  local first, units = string.match(e[1], '^(%d%d%d%d%d%d%d%d%d%d%d%d%d%d%d):(%d+)$')\n" \
    "  return {tonumber(e[2]), tonumber(first), tonumber(units)}\n"                       \
    "end\n"                                                                               \
    "local function bad(e) return e and not (finite(e[1]) and e[2] and e[3]) end\n"       \
    "local function foreign()\n"                                                          \
    "  return redis.error_reply('WRONGTYPE ' .. key .. ' is a sorted set but not a sliding log'" \
    " .. ' of this version')\n"                                                           \
    "end\n"

/* The window as it is now: entries that left are dropped; `count` units
 * in it, the next unit numbered `next_unit`; add(units) appends an entry
 * and returns its first unit. */
#define LOG_STATE                                                                         \
    "local newest = entry(-1)\n"                                                          \
    "if bad(newest) then return foreign() end\n"                                          \
    "if newest and newest[1] > now then now = newest[1] end\n"                            \
    "redis.call('ZREMRANGEBYSCORE', key, '-inf', int(now - window))\n"                    \
    "local oldest = entry(0)\n"                                                           \
    "if bad(oldest) then return foreign() end\n"                                          \
    "local count, next_unit = 0, 0\n"                                                     \
    "if oldest then\n"                                                                    \
    "  next_unit = newest[2] + newest[3]\n"                                               \
    "  count = (next_unit - oldest[2]) % wrap\n"                                          \
    "end\n"                                                                               \
    "local function add(units)\n"                                                         \
    "  local score, first = now, next_unit\n"                                             \
    "  if first + units >= wrap then\n"                                                   \
    "    first = 0\n"                                                                     \
    "    if newest and score <= newest[1] then score = newest[1] + 1 end\n"               \
    "  end\n"                                                                             \
    "  redis.call('ZADD', key, int(score), string.format('%015d:%d', first, units))\n"    \
    "  redis.call('PEXPIRE', key, int(math.ceil(window / 1000) + 1))\n"                   \
    "  return first\n"                                                                    \
    "end\n"

/* `wait`: until n more units fit (-1 = never: n > limit), found as the
 * first entry whose leaving frees count + n - limit units. */
#define LOG_WAIT                                                                          \
    "local wait = -1\n"                                                                   \
    "if n <= limit then\n"                                                                \
    "  local need = count + n - limit\n"                                                  \
    "  local lo, hi = 0, redis.call('ZCARD', key) - 1\n"                                  \
    "  while lo < hi do\n"                                                                \
    "    local mid = math.floor((lo + hi) / 2)\n"                                         \
    "    local e = entry(mid)\n"                                                          \
    "    if bad(e) then return foreign() end\n"                                           \
    "    if (e[2] - oldest[2]) % wrap + e[3] >= need then hi = mid else lo = mid + 1 end\n" \
    "  end\n"                                                                             \
    "  local found = entry(lo)\n"                                                         \
    "  if bad(found) then return foreign() end\n"                                         \
    "  wait = math.max(1, math.ceil(found[1] + window - now))\n"                          \
    "end\n"

/* ARGV: window_us, limit, n, peek.
 * Returns {granted, wait_us (-1 = never), count}. */
static const char log_source[] =
    LOG_HEAD LOG_STATE
    "if count + n <= limit then\n"
    "  if ARGV[4] ~= '1' and n > 0 then\n"
    "    add(n)\n"
    "    count = count + n\n"
    "  end\n"
    "  return {1, 0, count}\n"
    "end\n"
    LOG_WAIT
    "return {0, wait, count}\n";

/* A sliding-log lease: gives back what a lease entry did not use, then
 * admits between want_min (= n) and want_max units as one entry. A lease
 * still the newest entry shrinks at its end, exactly; an older one gives
 * back its first units, which the count stops covering once every older
 * entry has left (the units in between stay counted until then: the
 * strict side).
 * ARGV: window_us, limit, want_min, want_max, back, back_first,
 * back_granted.
 * Returns {granted?, units, wait_us (-1 = never), first, 0, count}. */
static const char log_lease_source[] =
    LOG_HEAD
    "local want_max = tonumber(ARGV[4])\n"
    "local back, back_first, back_granted = tonumber(ARGV[5]), tonumber(ARGV[6]),\n"
    "                                       tonumber(ARGV[7])\n"
    "if back > 0 then\n"
    "  local member = string.format('%015d:%d', back_first, back_granted)\n"
    "  local score = redis.call('ZSCORE', key, member)\n"
    "  if score then\n"
    "    local last = redis.call('ZRANGE', key, -1, -1)[1]\n"
    "    redis.call('ZREM', key, member)\n"
    "    local keep = back_granted - math.min(back, back_granted)\n"
    "    if keep > 0 then\n"
    "      local first = back_first\n"
    "      if last ~= member then first = back_first + back_granted - keep end\n"
    "      redis.call('ZADD', key, score, string.format('%015d:%d', first, keep))\n"
    "    end\n"
    "  end\n"
    "end\n"
    LOG_STATE
    "if want_max > 0 and count + n <= limit then\n"
    "  local units = math.min(want_max, limit - count)\n"
    "  local first = add(units)\n"
    "  return {1, units, 0, first, 0, count + units}\n"
    "end\n"
    "if want_max == 0 then return {0, 0, 0, 0, 0, count} end\n"
    LOG_WAIT
    "return {0, 0, wait, 0, 0, count}\n";

/* Sliding counter: counts of the current and previous fixed windows; the
 * estimate weights the previous count by how much of it the sliding window
 * still overlaps. COUNTER_STATE: KEYS[1] the hash {w = window index, c =
 * current, p = previous}; ARGV[1] window_us, ARGV[2] limit, ARGV[3] n. */
#define COUNTER_STATE                                                                     \
    "local key = KEYS[1]\n"                                                               \
    "local window = tonumber(ARGV[1])\n"                                                  \
    "local limit = tonumber(ARGV[2])\n"                                                   \
    "local n = tonumber(ARGV[3])\n" NOW_US                                                \
    "local idx = math.floor(now / window)\n"                                              \
    "local h = redis.call('HMGET', key, 'w', 'c', 'p')\n"                                 \
    "for i = 1, 3 do\n"                                                                   \
    "  local v = tonumber(h[i])\n"                                                        \
    "  if h[i] and not (finite(v) and v >= 0) then\n"                                     \
    "    return redis.error_reply('WRONGTYPE ' .. key .. ' is a hash but not a sliding counter')\n" \
    "  end\n"                                                                             \
    "end\n"                                                                               \
    "local w, c, p = tonumber(h[1]), tonumber(h[2]) or 0, tonumber(h[3]) or 0\n"          \
    "if w == nil then w, c, p = idx, 0, 0\n"                                              \
    "elseif idx == w + 1 then w, c, p = idx, 0, c\n"                                      \
    "elseif idx > w + 1 then w, c, p = idx, 0, 0\n"                                      \
    "elseif idx < w then now = w * window end\n"                                          \
    "local elapsed = now - w * window\n"                                                  \
    "local function store(current)\n"                                                     \
    "  redis.call('HSET', key, 'w', int(w), 'c', int(current), 'p', int(p))\n"            \
    "  redis.call('PEXPIRE', key, int(math.ceil(2 * window / 1000) + 1))\n"               \
    "end\n"

/* `wait` until n more fit at `estimate` (-1 = never: n > limit). */
#define COUNTER_WAIT                                                                      \
    "local wait = -1\n"                                                                   \
    "if n <= limit then\n"                                                                \
    "  if c + n <= limit then\n"                                                          \
    /* only the previous window's share is in the way (so p > 0) */                       \
    "    wait = window - (limit - c - n) * window / p - elapsed\n"                        \
    "  else\n"                                                                            \
    /* wait for the next window, where this window's c becomes the weight */              \
    "    wait = window - elapsed + math.max(0, window - (limit - n) * window / c)\n"      \
    "  end\n"                                                                             \
    "  wait = math.max(1, math.ceil(wait))\n"                                             \
    "end\n"

/* ARGV: window_us, limit, n, peek.
 * Returns {granted, wait_us (-1 = never), floor(estimate)}. */
static const char counter_source[] =
    COUNTER_STATE
    "local estimate = p * (window - elapsed) / window + c\n"
    "if n <= limit - estimate then\n"
    "  if ARGV[4] ~= '1' and n > 0 then\n"
    "    store(c + n)\n"
    "    estimate = estimate + n\n"
    "  end\n"
    "  return {1, 0, math.floor(estimate)}\n"
    "end\n"
    COUNTER_WAIT
    "return {0, wait, math.floor(estimate)}\n";

/* A sliding-counter lease: gives back what a lease did not use to the
 * fixed window it was counted in (while that is the current or the
 * previous one), then admits between want_min (= n) and want_max.
 * ARGV: window_us, limit, want_min, want_max, back, back_window.
 * Returns {granted?, units, wait_us (-1 = never), window, 0, estimate}. */
static const char counter_lease_source[] =
    COUNTER_STATE
    "local want_max, back = tonumber(ARGV[4]), tonumber(ARGV[5])\n"
    "local changed = false\n"
    "if back > 0 then\n"
    "  local at = tonumber(ARGV[6])\n"
    "  if at == w then c, changed = math.max(0, c - back), true\n"
    "  elseif at == w - 1 then p, changed = math.max(0, p - back), true end\n"
    "end\n"
    "local estimate = p * (window - elapsed) / window + c\n"
    "if want_max > 0 and n <= limit - estimate then\n"
    "  local units = math.min(want_max, math.floor(limit - estimate))\n"
    "  store(c + units)\n"
    "  return {1, units, 0, w, 0, math.floor(estimate + units)}\n"
    "end\n"
    "if changed then store(c) end\n"
    "if want_max == 0 then return {0, 0, 0, 0, 0, math.floor(estimate)} end\n"
    COUNTER_WAIT
    "return {0, 0, wait, 0, 0, math.floor(estimate)}\n";

/* Rolling budget: a hash of sub-window index -> tokens used; the window is
 * the last `slots` sub-windows. Stale sub-windows are deleted as they roll
 * out. KEYS[1]: the hash (KEYS[2]: a lease's, for op l); ARGV: op (r =
 * reserve, c = commit, q = query, l = lease), sub_us, slots, max, amount,
 * ticket_at_us, ticket_reserved, want_max (l).
 * A lease (l) gives back ticket_reserved tokens taken at ticket_at_us to
 * KEYS[2] (while that sub-window is in the window), then reserves between
 * amount and want_max tokens.
 * Returns {granted, remaining, now_us} (r, c, q) or {granted?, tokens, 0,
 * now_us, remaining, 0} (l). */
static const char budget_source[] =
    "local op = ARGV[1]\n"
    "local sub = tonumber(ARGV[2])\n"
    "local slots = tonumber(ARGV[3])\n"
    "local max = tonumber(ARGV[4])\n"
    "local amount = tonumber(ARGV[5])\n" NOW_US
    "local cap = 9007199254740992\n" /* RS__REDIS_MAX_COUNT */
    "local idx = math.floor(now / sub)\n"
    "local oldest = idx - slots + 1\n"
    /* the window's usage of a key, rolled-out sub-windows deleted; nil for
     * a hash that is not a budget */
    "local function usage(key)\n"
    "  local flat = redis.call('HGETALL', key)\n"
    "  local used, stale = 0, {}\n"
    "  for i = 1, #flat, 2 do\n"
    "    local b, v = tonumber(flat[i]), tonumber(flat[i + 1])\n"
    "    if not (finite(b) and finite(v) and v >= 0 and v <= cap) then return nil end\n"
    "    if b < oldest then stale[#stale + 1] = flat[i] else used = used + v end\n"
    "  end\n"
    "  if #stale > 0 then redis.call('HDEL', key, unpack(stale)) end\n"
    "  return used\n"
    "end\n"
    "local function foreign(key)\n"
    "  return redis.error_reply('WRONGTYPE ' .. key .. ' is a hash but not a budget')\n"
    "end\n"
    "local key = KEYS[1]\n"
    "local used = usage(key)\n"
    "if not used then return foreign(key) end\n"
    "local ttl = int(math.ceil(slots * sub / 1000) + 1)\n"
    /* adds delta to one sub-window of a key, kept within 0..cap; the
     * change in use */
    "local function add(k, at, delta)\n"
    "  local old = tonumber(redis.call('HGET', k, int(at)) or '0')\n"
    "  local new = math.max(0, math.min(cap, old + delta))\n"
    "  if new > 0 then redis.call('HSET', k, int(at), int(new))\n"
    "  else redis.call('HDEL', k, int(at)) end\n"
    "  return new - old\n"
    "end\n"
    "if op == 'r' then\n"
    /* max - used is exact while used <= max; used + amount might not be */
    "  if amount > max - used then return {0, math.max(0, max - used), now} end\n"
    "  if amount > 0 then\n"
    "    add(key, idx, amount)\n"
    "    redis.call('PEXPIRE', key, ttl)\n"
    "  end\n"
    "  return {1, max - used - amount, now}\n"
    "elseif op == 'c' then\n"
    "  local at = math.floor(tonumber(ARGV[6]) / sub)\n"
    "  local delta = amount - tonumber(ARGV[7])\n"
    "  if at >= oldest then\n"
    "    used = used + add(key, at, delta)\n"
    "  elseif delta > 0 then\n"
    "    used = used + add(key, idx, delta)\n"
    "  end\n"
    "  if used > 0 then redis.call('PEXPIRE', key, ttl) end\n"
    "elseif op == 'l' then\n"
    "  local back, at = tonumber(ARGV[7]), math.floor(tonumber(ARGV[6]) / sub)\n"
    "  local want_max = tonumber(ARGV[8])\n"
    "  if back > 0 and at >= oldest then\n"
    "    local bkey = KEYS[2]\n"
    "    if bkey == key then\n"
    "      used = used + add(key, at, -back)\n"
    "    elseif usage(bkey) then\n"
    "      add(bkey, at, -back)\n"
    "    else\n"
    "      return foreign(bkey)\n"
    "    end\n"
    "  end\n"
    "  if want_max == 0 or amount > max - used then\n"
    "    return {0, 0, 0, now, math.max(0, max - used), 0}\n"
    "  end\n"
    "  local tokens = math.min(want_max, max - used)\n"
    "  add(key, idx, tokens)\n"
    "  redis.call('PEXPIRE', key, ttl)\n"
    "  return {1, tokens, 0, now, max - used - tokens, 0}\n"
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
    [RS__SCRIPT_GCRA_LEASE] = { "gcra lease", gcra_lease_source },
    [RS__SCRIPT_LOG] = { "sliding log", log_source },
    [RS__SCRIPT_LOG_LEASE] = { "sliding log lease", log_lease_source },
    [RS__SCRIPT_COUNTER] = { "sliding counter", counter_source },
    [RS__SCRIPT_COUNTER_LEASE] = { "sliding counter lease", counter_lease_source },
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
