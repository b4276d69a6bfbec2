/* docs/registry.md's code, compiled and run by the test suite: a circuit
 * breaker per upstream host. */
#include <stdio.h>
#include <string.h>

#include <resilience.h>

typedef struct hosts {
    rs_breaker_config normal, fragile;
    int created;
} hosts;

static const rs_breaker_config *pick_config_for_host(void *ctx, const void *host, size_t len)
{
    hosts *t = ctx;
    t->created++;
    return len >= 7 && memcmp(host, "legacy.", 7) == 0 ? &t->fragile : &t->normal;
}

/* snippet: callbacks */
static int make_breaker(void *ctx, const void *host, size_t len, void **out)
{
    const rs_breaker_config *cfg = pick_config_for_host(ctx, host, len);
    return rs_breaker_new(cfg, NULL, (rs_breaker **)out);   /* its status is get's */
}
static void free_breaker(void *ctx, void *b) { (void)ctx; rs_breaker_free(b); }
/* end snippet */

int main(void)
{
    static hosts tables = { RS_BREAKER_CONFIG_INIT, RS_BREAKER_CONFIG_INIT, 0 };
    tables.fragile.failure_threshold = 2;
    hosts *host_table = &tables;
    const char *host = "api.example.com";
    /* snippet: usage */
    rs_registry_config cfg = RS_REGISTRY_CONFIG_DEFAULT;
    cfg.max_keys = 10000;
    cfg.create = make_breaker;
    cfg.destroy = free_breaker;
    cfg.ctx = host_table;
    rs_registry *breakers;
    if (rs_registry_new(&cfg, &breakers) != RS_OK) {
        fprintf(stderr, "rs_registry_new: %s\n", rs_last_error());
        return 1;
    }

    rs_registry_entry *e;
    if (rs_registry_get(breakers, host, strlen(host), &e) == RS_OK) {
        rs_breaker *b = rs_registry_entry_value(e);
        rs_permit permit;
        if (rs_breaker_allow(b, &permit) == RS_OK) {
            /* ... call the host ... */
            rs_breaker_record(b, &permit, true);
        }
        rs_registry_release(breakers, e);                  /* exactly once per get */
    }
    /* end snippet */
    rs_registry_entry *again;
    int rc = rs_registry_get(breakers, host, strlen(host), &again);
    if (rc == RS_OK) {
        rs_registry_release(breakers, again);
    }
    size_t count = rs_registry_count(breakers);
    rs_registry_free(breakers);
    if (rc != RS_OK || count != 1 || tables.created != 1) {
        fprintf(stderr, "unexpected: status %d, %zu keys, %d created\n", rc, count,
                tables.created);
        return 1;
    }
    return 0;
}
