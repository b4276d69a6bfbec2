#include "strategies.h"

#include <string.h>

rs_backoff_config storm_open_backoff;
double storm_budget_ratio, storm_budget_tokens;
/* The return jitter after a Retry-After for every strategy that uses one
 * (--retry-after-jitter); -1.0 = the library's default. */
double storm_retry_after_jitter = -1.0;

/* Every strategy but the library's own default turns off what it does not
 * name, so that each row adds one thing to the row before it. */
static void plain_retries(client_setup *s, rs_jitter jitter)
{
    s->policy.retry.budget_ratio = 0;
    s->policy.share_server_pause = false;
    s->policy.retry.retry_after_jitter = 0;
    s->policy.retry.backoff.jitter = jitter;
}

static void no_retries(client_setup *s)
{
    plain_retries(s, RS_JITTER_FULL);
    s->policy.retry.max_attempts = 1;
}

/* The loop everyone writes first: try again at once, ignore Retry-After. */
static void naive(client_setup *s)
{
    plain_retries(s, RS_JITTER_NONE);
    s->policy.retry.backoff.base_ns = 1;
    s->policy.retry.backoff.max_ns = 1;
    s->policy.retry.honor_retry_after = false;
}

static void backoff_no_jitter(client_setup *s) { plain_retries(s, RS_JITTER_NONE); }
static void full_jitter(client_setup *s) { plain_retries(s, RS_JITTER_FULL); }
static void equal_jitter(client_setup *s) { plain_retries(s, RS_JITTER_EQUAL); }
static void decorrelated_jitter(client_setup *s) { plain_retries(s, RS_JITTER_DECORRELATED); }

/* The pause as it was first written: every call comes back the instant it
 * ends, which locks a fleet into pulses against a short-queued 429. */
static void server_pause(client_setup *s)
{
    full_jitter(s);
    s->policy.share_server_pause = true;
}

static void pause_with_return_jitter(client_setup *s)
{
    server_pause(s);
    s->policy.retry.retry_after_jitter = RS_POLICY_CONFIG_DEFAULT.retry.retry_after_jitter;
}

/* RS_POLICY_CONFIG_DEFAULT as it is: full jitter, the shared server pause
 * with its return jitter, and the retry budget. */
static void library_default(client_setup *s) { (void)s; }

static void default_breaker(client_setup *s)
{
    s->with_breaker = true;
    s->breaker = RS_BREAKER_CONFIG_DEFAULT;
}

/* The breaker's default before the simulator chose a growing one: kept to
 * show what a long fixed open time does to recovery. */
static void fixed_30s_breaker(client_setup *s)
{
    default_breaker(s);
    s->breaker.open_ns = RS_SEC(30);
}

static void fleet_budget(client_setup *s) { s->shared_policy = true; }

/* The default breaker row, learning: every client paces itself with an
 * adaptive rate (none until its first 429 or Retry-After) and bounds its
 * calls in flight with an adaptive concurrency limit, all at the
 * library's defaults; a client never queues for its slot. */
static void adaptive(client_setup *s)
{
    default_breaker(s);
    s->adaptive = true;
    s->rate = RS_ADAPTIVE_RATE_CONFIG_DEFAULT;
    s->limit = RS_ADAPTIVE_LIMIT_CONFIG_DEFAULT;
    s->bulkhead = RS_BULKHEAD_CONFIG_DEFAULT;
    s->bulkhead.max_queue = 0;
}


const strategy storm_strategies[] = {
    { "none", "no retries", no_retries },
    { "naive", "naive: immediate retries", naive },
    { "backoff", "backoff without jitter", backoff_no_jitter },
    { "full", "full jitter", full_jitter },
    { "equal", "equal jitter", equal_jitter },
    { "decorrelated", "decorrelated jitter", decorrelated_jitter },
    { "pause", "full jitter + shared pause (no return jitter)", server_pause },
    { "pause-jitter", "+ return jitter after the pause", pause_with_return_jitter },
    { "default", "+ retry budget (RS_POLICY_CONFIG_DEFAULT)", library_default },
    { "breaker", "+ default breaker (open 0.5-2 s)", default_breaker },
    { "breaker-30s", "+ breaker with a fixed 30 s open time", fixed_30s_breaker },
    { "fleet-budget", "default with one budget for the fleet", fleet_budget },
    { "adaptive", "+ adaptive rate and concurrency limit", adaptive },
};
const size_t storm_strategy_count = sizeof storm_strategies / sizeof storm_strategies[0];

const strategy *strategy_find(const char *key)
{
    for (size_t i = 0; i < storm_strategy_count; i++) {
        if (strcmp(storm_strategies[i].key, key) == 0) {
            return &storm_strategies[i];
        }
    }
    return NULL;
}

client_setup strategy_setup(const strategy *st)
{
    client_setup s;
    memset(&s, 0, sizeof s);
    s.policy = RS_POLICY_CONFIG_DEFAULT;
    st->configure(&s);
    if (storm_budget_ratio > 0 && s.policy.retry.budget_ratio > 0) {
        s.policy.retry.budget_ratio = storm_budget_ratio;
        s.policy.retry.budget_max_tokens = storm_budget_tokens;
    }
    if (storm_retry_after_jitter >= 0 && s.policy.retry.retry_after_jitter > 0) {
        s.policy.retry.retry_after_jitter = storm_retry_after_jitter;
    }
    if (s.with_breaker && s.breaker.open_ns == 0 && storm_open_backoff.base_ns != 0) {
        s.breaker.open_backoff = storm_open_backoff;
    }
    return s;
}
