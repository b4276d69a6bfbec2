/* A simulated LLM gateway: per-user token budgets with a free and a paid
 * tier, kept in an rs_budget_registry.
 *
 * For each request the handler estimates the tokens from the prompt length
 * (about 4 characters per token, plus the most the model may answer),
 * reserves that from the user's budget, "calls the model", and commits what
 * the response says it used. A refused request gets the wait the gateway
 * would send back ("retry in 12m30s"); the simulated client honours it and
 * retries then. Two hours of traffic run on a manual clock, so the program
 * finishes at once and prints the same thing every time.
 *
 * It checks its own invariants and exits non-zero if one fails: no user's
 * reserved-and-not-refunded tokens exceed the tier's limit in any rolling
 * hour, no request above the tier's per-request cap is admitted, and every
 * retry made after the wait the gateway announced succeeds. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resilience.h"

#define SEC UINT64_C(1000000000)
#define MINUTE (60 * SEC)
#define HOUR (60 * MINUTE)
#define SIMULATED (2 * HOUR)
#define MAX_LOG 4096

typedef enum tier { FREE, PAID } tier;

typedef struct charge {
    uint64_t at_ns;
    uint64_t net; /* min(reserved, used): what stayed reserved */
} charge;

typedef struct user {
    const char *name;
    tier tier;
    uint32_t prompt_min, prompt_max; /* characters */
    uint32_t max_output;             /* tokens the client allows the model */
    uint64_t think_min_ns, think_max_ns;
    /* simulation state */
    uint64_t next_at_ns;
    bool retrying;
    uint32_t retry_prompt;
    /* results */
    unsigned served, refused, retried_ok, over_estimate;
    uint64_t tokens_used;
    charge log[MAX_LOG];
    size_t logged;
} user;

#define USER(n, t, pmin, pmax, out, tmin, tmax)                                          \
    { .name = n, .tier = t, .prompt_min = pmin, .prompt_max = pmax, .max_output = out,     \
      .think_min_ns = tmin, .think_max_ns = tmax }

static user users[] = {
    USER("alice", FREE, 300, 6000, 512, 2 * MINUTE, 10 * MINUTE),
    USER("bob", FREE, 4000, 12000, 1024, 20 * SEC, 90 * SEC), /* heavy: hits the hourly limit */
    USER("carol", PAID, 2000, 40000, 4096, 1 * MINUTE, 4 * MINUTE),
    USER("dave", FREE, 2000, 16000, 1024, 5 * MINUTE, 15 * MINUTE), /* some prompts too big */
    USER("erin", PAID, 20000, 90000, 8192, 30 * SEC, 90 * SEC),
};
#define USERS (sizeof users / sizeof users[0])

static const rs_budget_config free_tier = { .max_per_window = 50000, .window_ns = HOUR,
                                            .max_per_request = 4000, .sub_buckets = 60 };
static const rs_budget_config paid_tier = { .max_per_window = 1000000, .window_ns = HOUR,
                                            .max_per_request = 32000, .sub_buckets = 60 };

static const rs_budget_config *tier_config(tier t)
{
    return t == PAID ? &paid_tier : &free_tier;
}

static user *find_user(const void *key, size_t len)
{
    for (size_t i = 0; i < USERS; i++) {
        if (strlen(users[i].name) == len && memcmp(users[i].name, key, len) == 0) {
            return &users[i];
        }
    }
    return NULL;
}

/* The registry's per-key hook: which tier a user's budget gets. A real
 * gateway would look the API key up in its accounts table. */
static const rs_budget_config *config_for_key(void *ctx, const void *key, size_t len)
{
    (void)ctx;
    const user *u = find_user(key, len);
    return u != NULL ? tier_config(u->tier) : NULL; /* unknown: the default (free) */
}

static uint64_t rng = 20240611;

static uint64_t uniform(uint64_t lo, uint64_t hi) /* in [lo, hi] */
{
    rng = rng * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
    return lo + (rng >> 11) % (hi - lo + 1);
}

/* The estimate a gateway can make before the call: prompt tokens at ~4
 * characters each, plus the most the model may answer. */
static uint64_t estimate_tokens(uint32_t prompt_chars, uint32_t max_output)
{
    return (prompt_chars + 3u) / 4u + max_output;
}

/* What the "response" reports: the real prompt tokens (the 4-characters rule
 * is off by -10%..+15%) and an answer of 10%..100% of max_output. */
static uint64_t simulated_usage(uint32_t prompt_chars, uint32_t max_output)
{
    uint64_t prompt = prompt_chars / 4u * uniform(90, 115) / 100u;
    return prompt + max_output * uniform(10, 100) / 100u;
}

static void format_time(char *out, size_t size, uint64_t ns)
{
    uint64_t s = ns / SEC;
    snprintf(out, size, "%02u:%02u:%02u", (unsigned)(s / 3600), (unsigned)(s / 60 % 60),
             (unsigned)(s % 60));
}

static void format_wait(char *out, size_t size, uint64_t ns)
{
    uint64_t s = (ns + SEC - 1) / SEC; /* round up: never tell a user to come back too early */
    snprintf(out, size, "%um%02us", (unsigned)(s / 60), (unsigned)(s % 60));
}

static int failures;

static void check(bool ok, const char *what, const user *u)
{
    if (!ok) {
        fprintf(stderr, "INVARIANT FAILED (%s): %s\n", u->name, what);
        failures++;
    }
}

/* One request from u at the clock's time. */
static void handle(rs_budget_registry *reg, rs_manual_clock *clock, user *u)
{
    uint64_t now = rs_manual_clock_now(clock);
    uint32_t prompt = u->retrying ? u->retry_prompt
                                  : (uint32_t)uniform(u->prompt_min, u->prompt_max);
    uint64_t estimate = estimate_tokens(prompt, u->max_output);
    rs_budget *b = rs_budget_registry_get(reg, u->name, strlen(u->name));
    if (b == NULL) {
        check(false, "rs_budget_registry_get failed", u);
        u->next_at_ns = UINT64_MAX;
        return;
    }
    char when[16], wait_text[16];
    format_time(when, sizeof when, now);
    rs_budget_ticket ticket;
    int rc = rs_budget_reserve(b, estimate, &ticket);
    if (rc == RS_OK) {
        check(estimate <= tier_config(u->tier)->max_per_request, "admitted over the cap", u);
        uint64_t used = simulated_usage(prompt, u->max_output); /* the model call */
        rs_budget_commit(b, &ticket, used);
        u->served++;
        u->tokens_used += used;
        u->over_estimate += used > estimate;
        if (u->logged < MAX_LOG) {
            u->log[u->logged++] = (charge){ ticket.at_ns, used < estimate ? used : estimate };
        }
        if (u->retrying) {
            u->retried_ok++;
            printf("  %s  %-6s retried a %5llu-token request after the wait: served\n", when,
                   u->name, (unsigned long long)estimate);
        }
        u->retrying = false;
        u->next_at_ns = now + uniform(u->think_min_ns, u->think_max_ns);
    } else {
        check(rc == RS_E_BUDGET, "unexpected status", u);
        check(!u->retrying, "a retry after the announced wait was refused", u);
        uint64_t wait = rs_budget_wait_ns(b, estimate);
        u->refused++;
        if (wait == UINT64_MAX) {
            printf("  %s  %-6s refused %5llu tokens: over the %llu-token per-request limit of "
                   "the %s tier\n",
                   when, u->name, (unsigned long long)estimate,
                   (unsigned long long)tier_config(u->tier)->max_per_request,
                   u->tier == PAID ? "paid" : "free");
            u->retrying = false;
            u->next_at_ns = now + uniform(u->think_min_ns, u->think_max_ns);
        } else {
            check(wait > 0 && wait <= HOUR + MINUTE, "implausible wait", u);
            format_wait(wait_text, sizeof wait_text, wait);
            printf("  %s  %-6s refused %5llu tokens: hourly budget used up, retry in %s\n", when,
                   u->name, (unsigned long long)estimate, wait_text);
            u->retrying = true; /* the client comes back exactly when told */
            u->retry_prompt = prompt;
            u->next_at_ns = now + wait;
        }
    }
    rs_budget_registry_release(reg, b);
}

/* Reserved-and-not-refunded tokens in the fullest rolling hour (the log is
 * in time order: one client, one clock). */
static uint64_t fullest_hour(const user *u)
{
    uint64_t in_window = 0, fullest = 0;
    size_t oldest = 0;
    for (size_t i = 0; i < u->logged; i++) {
        in_window += u->log[i].net;
        while (u->log[oldest].at_ns + HOUR <= u->log[i].at_ns) {
            in_window -= u->log[oldest++].net;
        }
        fullest = in_window > fullest ? in_window : fullest;
    }
    return fullest;
}

int main(void)
{
    rs_manual_clock clock;
    rs_manual_clock_init(&clock, 0);
    rs_budget_registry_config cfg = RS_BUDGET_REGISTRY_CONFIG_DEFAULT;
    cfg.budget = free_tier;
    cfg.max_keys = 1000;
    cfg.config_for_key = config_for_key;
    rs_budget_registry *reg = NULL;
    int rc = rs_budget_registry_new_ex(&cfg, rs_manual_clock_get(&clock), &reg);
    if (rc != RS_OK) {
        fprintf(stderr, "rs_budget_registry_new_ex: %s\n", rs_strerror(rc));
        return 1;
    }

    printf("LLM gateway, 2 hours of simulated traffic\n");
    printf("free tier: 50,000 tokens/hour, 4,000 per request; "
           "paid tier: 1,000,000 tokens/hour, 32,000 per request\n");
    printf("estimate = prompt characters / 4 + max output tokens; "
           "the response's usage is committed\n\n");
    printf("Refused requests, with what the gateway tells the user:\n");
    for (size_t i = 0; i < USERS; i++) {
        users[i].next_at_ns = uniform(0, MINUTE);
    }
    for (;;) {
        user *next = &users[0];
        for (size_t i = 1; i < USERS; i++) {
            next = users[i].next_at_ns < next->next_at_ns ? &users[i] : next;
        }
        if (next->next_at_ns >= SIMULATED) {
            break;
        }
        rs_manual_clock_set(&clock, next->next_at_ns);
        handle(reg, &clock, next);
    }

    printf("\nPer-user spend:\n");
    printf("  %-6s %-4s %8s %8s %8s %12s %14s %10s %12s\n", "user", "tier", "served", "refused",
           "retried", "tokens used", "over estimate", "left now", "fullest hour");
    for (size_t i = 0; i < USERS; i++) {
        user *u = &users[i];
        rs_budget *b = rs_budget_registry_get(reg, u->name, strlen(u->name));
        if (b == NULL) {
            fprintf(stderr, "rs_budget_registry_get failed\n");
            return 1;
        }
        uint64_t fullest = fullest_hour(u);
        printf("  %-6s %-4s %8u %8u %8u %12llu %14u %10llu %12llu\n", u->name,
               u->tier == PAID ? "paid" : "free", u->served, u->refused, u->retried_ok,
               (unsigned long long)u->tokens_used, u->over_estimate,
               (unsigned long long)rs_budget_remaining(b), (unsigned long long)fullest);
        rs_budget_registry_release(reg, b);
        check(fullest <= tier_config(u->tier)->max_per_window,
              "more reserved in one hour than the tier allows", u);
        check(u->logged < MAX_LOG, "log overflow", u);
    }
    rs_budget_registry_free(reg);

    /* The scenario must have exercised what it demonstrates. */
    if (users[1].refused == 0 || users[1].retried_ok == 0 || users[3].refused == 0) {
        fprintf(stderr, "INVARIANT FAILED: the scenario refused nothing it should have\n");
        failures++;
    }
    if (failures != 0) {
        fprintf(stderr, "%d invariant(s) failed\n", failures);
        return 1;
    }
    printf("\nInvariants hold: no rolling hour over a tier's limit, no request over its cap,\n"
           "every retry made after the announced wait was served.\n");
    return 0;
}
