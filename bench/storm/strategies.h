/* The client strategies compared side by side. Each is one entry of
 * storm_strategies[]: a name and a function that fills in one client's
 * library configuration. Adding a strategy is adding an entry. */
#ifndef STORM_STRATEGIES_H
#define STORM_STRATEGIES_H

#include <stdbool.h>
#include <stddef.h>

#include <resilience.h>

/* Everything one client is built from. The fleet gives every client its
 * own copy (its own policy and breaker), except with shared_policy. */
typedef struct client_setup {
    rs_policy_config policy;    /* its breaker is filled in by the fleet */
    bool with_breaker;
    /* The fleet seeds its open_backoff per client: the library would draw
     * a seed from the operating system, and a run would not repeat. */
    rs_breaker_config breaker;
    /* One policy for the whole fleet: what a retry budget kept in shared
     * memory or Redis would be (its server pause is then shared too). */
    bool shared_policy;
    /* Each client learns: the fleet gives its policy an adaptive rate
     * (rate) and a bulkhead whose limit adapts (limit, bulkhead). */
    bool adaptive;
    rs_adaptive_rate_config rate;
    rs_adaptive_limit_config limit;
    rs_bulkhead_config bulkhead;
} client_setup;

typedef struct strategy {
    const char *key;   /* in file names and --strategies */
    const char *label; /* in tables and plots; no comma (CSV holds it unquoted) */
    /* Fills in the setup, which starts as RS_POLICY_CONFIG_DEFAULT and
     * nothing else. NULL: a place kept for a strategy still to come. */
    void (*configure)(client_setup *s);
} strategy;

extern const strategy storm_strategies[];
extern const size_t storm_strategy_count;

/* What the command line may change, applied by strategy_setup() to every
 * strategy that keeps the library's setting (so never to a row whose
 * point is to turn it off):
 * - the breaker's growing open time (--open-backoff); base_ns 0 = the
 *   library's default; a strategy with a fixed open_ns keeps it;
 * - the retry budget (--budget); a ratio of 0 = the library's;
 * - the jitter after a server-requested wait (--retry-after-jitter);
 *   negative = the library's. */
extern rs_backoff_config storm_open_backoff;
extern double storm_budget_ratio, storm_budget_tokens;
extern double storm_retry_after_jitter;

/* The strategy named `key`, or NULL. */
const strategy *strategy_find(const char *key);

/* The setup of `st` (with `st->configure` not NULL). */
client_setup strategy_setup(const strategy *st);

#endif /* STORM_STRATEGIES_H */
