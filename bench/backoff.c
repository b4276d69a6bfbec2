/* Benchmarks rs_backoff_next for each jitter mode. */
#include <stdio.h>

#include "bench.h"
#include "resilience.h"

typedef struct backoff_ctx {
    rs_backoff *b;
    uint32_t attempt;
} backoff_ctx;

static void next_delay(void *p)
{
    backoff_ctx *c = p;
    c->attempt = c->attempt % 16 + 1;
    bench_consume(rs_backoff_next(c->b, c->attempt));
}

int main(void)
{
    bench_baselines(2);
    bench_section("rs_backoff_next (attempts cycling 1..16)");
    static const struct {
        rs_jitter jitter;
        double multiplier;
        const char *name;
    } cases[] = {
        { RS_JITTER_NONE, 2.0, "none, multiplier 2" },
        { RS_JITTER_FULL, 2.0, "full, multiplier 2" },
        { RS_JITTER_EQUAL, 2.0, "equal, multiplier 2" },
        { RS_JITTER_DECORRELATED, 2.0, "decorrelated" },
        { RS_JITTER_FULL, 1.5, "full, multiplier 1.5 (pow path)" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rs_backoff_config cfg = RS_BACKOFF_CONFIG_DEFAULT;
        cfg.jitter = cases[i].jitter;
        cfg.multiplier = cases[i].multiplier;
        cfg.seed = 1;
        backoff_ctx ctx = { NULL, 0 };
        if (rs_backoff_new(&cfg, &ctx.b) != RS_OK) {
            fprintf(stderr, "rs_backoff_new failed\n");
            return 1;
        }
        bench_run(cases[i].name, 1, next_delay, &ctx);
        rs_backoff_free(ctx.b);
    }
    return 0;
}
