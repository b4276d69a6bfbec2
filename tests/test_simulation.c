/* Issue 15's simulation, asserted: a server whose capacity drops from 100
 * concurrent requests to 20 and comes back, with latency that grows with
 * its queue and 429s past it; 300 closed-loop clients through one policy
 * with the adaptive bulkhead and the adaptive rate (bench/simulation's
 * model, docs/adaptive.md). Deterministic: a manual clock, fixed seeds.
 *
 * Stated bands:
 *  - after the drop (20 s) the limit's every one-second mean is within 20%
 *    of the new capacity (16 to 24) in under 5 s, and stays so until the
 *    capacity comes back;
 *  - from then until 40 s, goodput is at least 90% of the capacity (400
 *    requests a second) and under 1% of the requests are throttled (429);
 *  - after the capacity comes back (40 s) the limit is within 20% of 100 in
 *    under 5 s, with goodput at least 90% of 2,000 a second;
 *  - a fixed limit set for the old capacity (100) gets a 429 storm: more
 *    than half of its requests are throttled after the drop;
 *  - AIMD instead of the gradient reacts to 429s only, so it fills the
 *    server's queue too: after the drop its limit settles within 20% of
 *    capacity + queue (70) in under 5 s, and from a second later goodput is
 *    at least 90% and under 10% of the requests are throttled: the sawtooth of additive increase and the 429
 *    that ends it. */
#include <string.h>

#include "../bench/simulation/model.h"
#include "support/testing.h"

static sim_result run_once(const sim_config *cfg)
{
    sim_result r;
    sim_run(cfg, &r);
    return r;
}

/* Asserts one phase: settled within `band` of `capacity` in under 5 s of
 * `at_ns`, until `until_ns`, with the goodput and 429 share stated. */
static void assert_phase(const sim_result *r, uint64_t at_ns, uint64_t until_ns,
                         double capacity, double per_s, double band, double max_throttled)
{
    uint64_t settled =
        sim_settled_at(r, SIM_LIMIT, at_ns, until_ns, capacity * (1.0 - band), capacity * (1.0 + band));
    assert_true(settled != UINT64_MAX);
    assert_true(settled - at_ns < RS_SEC(5));
    sim_totals t = sim_sum(r, settled, until_ns);
    double goodput = (double)t.served / t.seconds;
    assert_true(goodput >= 0.9 * per_s);
    assert_true((double)t.throttled <= max_throttled * (double)t.requests);
}

static void the_gradient_follows_the_capacity(void **state)
{
    (void)state;
    sim_config cfg = sim_default();
    sim_result r = run_once(&cfg);
    assert_phase(&r, RS_SEC(20), RS_SEC(40), 20, 400, 0.2, 0.01);
    assert_phase(&r, RS_SEC(40), RS_SEC(60), 100, 2000, 0.2, 0.01);
    /* The same seeds give the same run, tick for tick. */
    sim_result again = run_once(&cfg);
    assert_int_equal(again.count, r.count);
    assert_memory_equal(again.ticks, r.ticks, r.count * sizeof *r.ticks);
    sim_result_free(&again);
    sim_result_free(&r);
}

static void a_fixed_limit_gets_a_429_storm(void **state)
{
    (void)state;
    sim_config cfg = sim_default();
    cfg.kind = SIM_FIXED;
    cfg.fixed_limit = 100;
    sim_result r = run_once(&cfg);
    sim_totals after = sim_sum(&r, RS_SEC(21), RS_SEC(40));
    assert_true(after.throttled * 2 > after.requests);
    sim_result_free(&r);
}

static void aimd_follows_it_too(void **state)
{
    (void)state;
    sim_config cfg = sim_default();
    cfg.limit.algorithm = RS_ADAPTIVE_AIMD;
    sim_result r = run_once(&cfg);
    uint64_t settled = sim_settled_at(&r, SIM_LIMIT, RS_SEC(20), RS_SEC(40), 0.8 * 70, 1.2 * 70);
    assert_true(settled != UINT64_MAX && settled - RS_SEC(20) < RS_SEC(5));
    sim_totals t = sim_sum(&r, settled + RS_SEC(1), RS_SEC(40));
    assert_true((double)t.served / t.seconds >= 0.9 * 400);
    assert_true(t.throttled * 10 < t.requests);
    sim_result_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_gradient_follows_the_capacity),
        cmocka_unit_test(a_fixed_limit_gets_a_429_storm),
        cmocka_unit_test(aimd_follows_it_too),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
