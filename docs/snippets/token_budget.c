/* docs/token-budget.md's code, compiled and run by the test suite. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <resilience.h>

typedef struct usage {
    uint64_t total_tokens;
} usage;

typedef struct response {
    bool failed_before_billing;
    usage usage;
} response;

static response call_the_model(uint64_t prompt_chars)
{
    response r = { false, { prompt_chars / 4 + 150 } };
    return r;
}

static int reply_429(uint64_t wait_ns) { return wait_ns == UINT64_MAX ? 413 : 429; }

static int answer(rs_budget *budget, uint64_t prompt_chars, uint64_t max_output_tokens)
{
    /* snippet: reserve */
    uint64_t estimate = prompt_chars / 4 + max_output_tokens;
    rs_budget_ticket ticket;
    if (rs_budget_reserve(budget, estimate, &ticket) == RS_E_BUDGET) {
        uint64_t wait_ns = rs_budget_wait_ns(budget, estimate);   /* UINT64_MAX: never */
        return reply_429(wait_ns);
    }
    response r = call_the_model(prompt_chars);
    if (r.failed_before_billing) {
        rs_budget_cancel(budget, &ticket);                   /* nothing was spent */
    } else {
        rs_budget_commit(budget, &ticket, r.usage.total_tokens);
    }
    /* end snippet */
    return 200;
}

typedef struct accounts {
    const char *paid_key;
} accounts_t;

static bool account_is_paid(void *accounts, const void *key, size_t len)
{
    const accounts_t *a = accounts;
    return len == strlen(a->paid_key) && memcmp(key, a->paid_key, len) == 0;
}

/* snippet: tiers */
static const rs_budget_config free_tier = { .max_per_window = 50000,
    .window_ns = RS_HOUR(1), .max_per_request = 4000, .sub_buckets = 60 };
static const rs_budget_config paid_tier = { .max_per_window = 1000000,
    .window_ns = RS_HOUR(1), .max_per_request = 32000, .sub_buckets = 60 };

static const rs_budget_config *tier_of(void *accounts, const void *key, size_t len)
{
    return account_is_paid(accounts, key, len) ? &paid_tier : &free_tier;
}
/* end snippet */

static int tiers(void)
{
    static accounts_t known = { "key-paid" };
    accounts_t *accounts = &known;
    const char *api_key = "key-paid";
    size_t api_key_len = strlen(api_key);
    /* snippet: registry */
    rs_budget_registry_config cfg = RS_BUDGET_REGISTRY_CONFIG_DEFAULT;
    cfg.budget = free_tier;            /* for keys the hook leaves to the default */
    cfg.max_keys = 100000;
    cfg.config_for_key = tier_of;
    cfg.ctx = accounts;
    rs_budget_registry *users;
    if (rs_budget_registry_new_ex(&cfg, NULL, &users) != RS_OK) {
        fprintf(stderr, "rs_budget_registry_new_ex: %s\n", rs_last_error());
        return 1;
    }

    rs_budget *b = rs_budget_registry_get(users, api_key, api_key_len);
    if (b == NULL) {
        fprintf(stderr, "rs_budget_registry_get: %s\n", rs_last_error());
        rs_budget_registry_free(users);
        return 1;
    }
    /* ... reserve / commit on b ... */
    rs_budget_registry_release(users, b);
    /* end snippet */
    rs_budget *again = rs_budget_registry_get(users, api_key, api_key_len);
    uint64_t left = rs_budget_remaining(again);
    rs_budget_registry_release(users, again);
    rs_budget_registry_free(users);
    return left == paid_tier.max_per_window ? 0 : 1;
}

int main(void)
{
    int ok, too_big;
    uint64_t left;
    {
        /* snippet: new */
        rs_budget_config cfg = RS_BUDGET_CONFIG_DEFAULT;  /* 50,000 tokens/h, 4,000 per request */
        rs_budget *budget;
        if (rs_budget_new(&cfg, NULL, &budget) != RS_OK) {
            fprintf(stderr, "rs_budget_new: %s\n", rs_last_error());
            return 1;
        }
        /* end snippet */
        ok = answer(budget, 4000, 1000);       /* 2,000 tokens reserved, 1,150 used */
        too_big = answer(budget, 40000, 1000); /* 11,000: above max_per_request */
        left = rs_budget_remaining(budget);
        rs_budget_free(budget);
    }
    if (ok != 200 || too_big != 413 || left != 50000 - 1150) {
        fprintf(stderr, "unexpected: %d, %d, %llu left\n", ok, too_big,
                (unsigned long long)left);
        return 1;
    }
    return tiers();
}
