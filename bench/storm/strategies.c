#include "strategies.h"

#include <string.h>

/* Equal jitter from 1 s, doubling up to 2 s: open periods of 0.5-1 s, then
 * 1-2 s. The recommendation of docs/retry-storms.md, chosen with --tune:
 * the least load during an outage among the open times that keep the
 * recovery within 2 s of no breaker's when the server comes back warm. */
rs_backoff_config storm_candidate_open_backoff = { RS_SEC(1), RS_SEC(2), 2.0, RS_JITTER_EQUAL, 0 };

double storm_budget_ratio, storm_budget_tokens;

/* Every strategy but the library's own default turns off what it does not
 * name, so that each row adds one thing to the row before it. */
static void plain_retries(client_setup *s, rs_jitter jitter)
{
    s->policy.retry.budget_ratio = 0;
    s->policy.share_server_pause = false;
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

static void server_pause(client_setup *s)
{
    full_jitter(s);
    s->policy.share_server_pause = true;
}

/* RS_POLICY_CONFIG_DEFAULT as it is: full jitter, the shared server pause
 * and the retry budget. */
static void library_default(client_setup *s) { (void)s; }

static void default_breaker(client_setup *s)
{
    s->with_breaker = true;
    s->breaker = RS_BREAKER_CONFIG_DEFAULT;
}

static void jittered_breaker(client_setup *s)
{
    default_breaker(s);
    s->open_backoff = storm_candidate_open_backoff;
}

static void fleet_budget(client_setup *s) { s->shared_policy = true; }

/* A server that answers a wave of requests with "Retry-After: 1" brings
 * the whole wave back one second later, and the shared pause adds each
 * client's fresh calls to it; waiting a random 1 to 2 s instead breaks the
 * wave up. The library does not do it (yet): the user function does. */
static void spread_retry_after(client_setup *s) { s->retry_after_spread = 1.0; }

const strategy storm_strategies[] = {
    { "none", "no retries", no_retries },
    { "naive", "naive: immediate retries", naive },
    { "backoff", "backoff without jitter", backoff_no_jitter },
    { "full", "full jitter", full_jitter },
    { "equal", "equal jitter", equal_jitter },
    { "decorrelated", "decorrelated jitter", decorrelated_jitter },
    { "pause", "full jitter + shared server pause", server_pause },
    { "default", "+ retry budget (RS_POLICY_CONFIG_DEFAULT)", library_default },
    { "breaker", "+ default breaker (30 s open)", default_breaker },
    { "breaker-jitter", "+ breaker with 0.5-2 s jittered open", jittered_breaker },
    { "fleet-budget", "default with one budget for the fleet", fleet_budget },
    { "spread", "default + Retry-After jittered by 0-100%", spread_retry_after },
    /* Issue 15 adds adaptive limits; its row goes here. */
    { "adaptive", "+ adaptive limit", NULL },
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
    return s;
}
