/* Benchmarks the bulkhead's hot path, stated against the clock read +
 * compare-exchange baseline (issue 15: enter + leave uncontended within
 * 2x it):
 *  - try_enter + leave: two compare-exchanges, no clock read;
 *  - enter(max_wait) + leave: the same when a slot is free;
 *  - try_enter + leave_sample with an adaptive limit attached (the policy's
 *    path: a clock read and the limit's sample under its spinlock);
 *  - 2 threads on one bulkhead with slots to spare (the line moves between
 *    cores) and with 1 slot (refusals and hand-overs). */
#include <stdio.h>

#include "bench.h"
#include "resilience.h"

static rs_bulkhead *bulkhead;

static void try_enter_leave(void *ctx)
{
    (void)ctx;
    if (rs_bulkhead_try_enter(bulkhead)) {
        rs_bulkhead_leave(bulkhead);
    }
}

static void enter_leave(void *ctx)
{
    (void)ctx;
    if (rs_bulkhead_enter(bulkhead, RS_SEC(1)) == RS_OK) {
        rs_bulkhead_leave(bulkhead);
    }
}

static void enter_leave_sample(void *ctx)
{
    (void)ctx;
    if (rs_bulkhead_try_enter(bulkhead)) {
        rs_bulkhead_leave_sample(bulkhead, 0, RS_OUTCOME_SUCCESS);
    }
}

static rs_bulkhead *make(uint32_t max_concurrent)
{
    rs_bulkhead_config cfg = RS_BULKHEAD_CONFIG_DEFAULT;
    cfg.max_concurrent = max_concurrent;
    rs_bulkhead *b = NULL;
    bench_check(rs_bulkhead_new(&cfg, NULL, &b), "rs_bulkhead_new");
    return b;
}

int main(void)
{
    double floor_ns = bench_baselines(2);

    bench_section("bulkhead, uncontended (slots to spare)");
    bulkhead = make(100);
    bench_result plain = bench_run("try_enter + leave", 1, try_enter_leave, NULL);
    bench_result waiting = bench_run("enter(1 s) + leave, a slot free", 1, enter_leave, NULL);
    rs_adaptive_limit_config lc = RS_ADAPTIVE_LIMIT_CONFIG_DEFAULT;
    lc.initial_limit = 100;
    lc.min_limit = 100; /* held still: the limit's arithmetic, not its moves */
    rs_adaptive_limit *limit = NULL;
    bench_check(rs_adaptive_limit_new(&lc, NULL, &limit), "rs_adaptive_limit_new");
    bench_check(rs_bulkhead_set_adaptive(bulkhead, limit), "rs_bulkhead_set_adaptive");
    bench_result adaptive =
        bench_run("try_enter + leave_sample (adaptive limit)", 1, enter_leave_sample, NULL);
    rs_bulkhead_free(bulkhead);
    rs_adaptive_limit_free(limit);

    bench_section("bulkhead, 2 threads");
    bulkhead = make(100);
    bench_run("try_enter + leave, slots to spare", 2, try_enter_leave, NULL);
    rs_bulkhead_free(bulkhead);
    bulkhead = make(1);
    bench_run("try_enter + leave, one slot", 2, try_enter_leave, NULL);
    rs_bulkhead_free(bulkhead);

    printf("\n  enter + leave, 1 thread / (clock read + compare-exchange): %.2fx (target <= 2x)\n",
           plain.ns_per_op / floor_ns);
    printf("  enter(max_wait) + leave / (clock read + compare-exchange): %.2fx\n",
           waiting.ns_per_op / floor_ns);
    printf("  with the adaptive limit's sample / (clock read + compare-exchange): %.2fx\n",
           adaptive.ns_per_op / floor_ns);
    return 0;
}
