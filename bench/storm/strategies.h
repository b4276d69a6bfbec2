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
    rs_breaker_config breaker;
    /* Growing, jittered open times (rs_breaker_config.open_backoff, seeded
     * per client by the fleet); base_ns 0 = the breaker's fixed open_ns. */
    rs_backoff_config open_backoff;
    /* One policy for the whole fleet: what a retry budget kept in shared
     * memory or Redis would be (its server pause is then shared too). */
    bool shared_policy;
    /* The user function lengthens every Retry-After it reports by a
     * random share up to this (0 = reports it as received), so that
     * clients told "1 s" do not all come back at the same instant. */
    double retry_after_spread;
} client_setup;

typedef struct strategy {
    const char *key;   /* in file names and --strategies */
    const char *label; /* in tables and plots */
    /* Fills in the setup, which starts as RS_POLICY_CONFIG_DEFAULT and
     * nothing else. NULL: a place kept for a strategy still to come. */
    void (*configure)(client_setup *s);
} strategy;

extern const strategy storm_strategies[];
extern const size_t storm_strategy_count;

/* The open-time backoff the "+ breaker, jittered open" strategy uses; the
 * command line may change it (--open-backoff) to try another. */
extern rs_backoff_config storm_candidate_open_backoff;

/* A retry budget to try instead of the library's (--budget): applied to
 * every strategy that has one. A ratio of 0 = keep the library's. */
extern double storm_budget_ratio, storm_budget_tokens;

/* The strategy named `key`, or NULL. */
const strategy *strategy_find(const char *key);

/* The setup of `st` (with `st->configure` not NULL). */
client_setup strategy_setup(const strategy *st);

#endif /* STORM_STRATEGIES_H */
