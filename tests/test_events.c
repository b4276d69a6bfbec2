/* The event hook: every kind fires once per occurrence, in order, after
 * the older callback of the same occurrence, with no lock held (the hook
 * calls back into the library), on the manual clock; a client wires its
 * breaker in; a breaker's events stay in transition order under threads. */
#include "support/testing.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "resilience.h"

#define MS UINT64_C(1000000)
#define SEC UINT64_C(1000000000)

/* What the hooks heard, in order. Older callbacks log as kind 100+. */
enum { OLD_RETRY = 100, OLD_GIVE_UP, OLD_STATE_CHANGE };

typedef struct heard {
    int kind;
    rs_event_source source;
    char name[16];
    const void *object;
    uint64_t at_ns;
    rs_breaker_state from, to;
    uint32_t attempt;
    uint64_t wait_ns;
    rs_stop_reason reason;
    int status;
    bool had_attempt, had_report;
} heard;

typedef struct recorder {
    heard log[64];
    size_t count;
    rs_manual_clock *clock;
    rs_policy *policy;   /* to call back into from the hook */
    rs_breaker *breaker;
} recorder;

static heard *next(recorder *r)
{
    assert_true(r->count < RS_TEST_ARRAY_LEN(r->log));
    heard *h = &r->log[r->count++];
    memset(h, 0, sizeof *h);
    return h;
}

static void on_event(void *ctx, const rs_event *e)
{
    recorder *r = ctx;
    heard *h = next(r);
    h->kind = (int)e->kind;
    h->source = e->source;
    assert_non_null(e->name);
    snprintf(h->name, sizeof h->name, "%s", e->name);
    h->object = e->object;
    h->at_ns = e->at_ns;
    h->from = e->from;
    h->to = e->to;
    h->attempt = e->attempt;
    h->wait_ns = e->wait_ns;
    h->reason = e->reason;
    h->status = e->status;
    h->had_attempt = e->last_attempt != NULL;
    h->had_report = e->report != NULL;
    if (e->report != NULL) {
        /* A fallback's event says how the call had failed; its report
         * says what it returns. */
        bool served = e->kind == RS_EVENT_FALLBACK;
        assert_int_equal(e->report->fallback, served);
        assert_int_equal(served ? e->report->failed_status : e->report->status, e->status);
        assert_int_equal(e->report->reason, e->reason);
    }
    /* No lock is held: calling back into both objects must not deadlock. */
    rs_breaker_snapshot b;
    assert_int_equal(rs_breaker_metrics(r->breaker, &b), RS_OK);
    assert_int_equal(b.state, rs_breaker_state_get(r->breaker));
    if (r->policy != NULL) {
        rs_policy_snapshot p;
        assert_int_equal(rs_policy_metrics(r->policy, &p), RS_OK);
    }
}

static void on_retry(void *ctx, const rs_attempt *a, uint64_t delay_ns)
{
    heard *h = next(ctx);
    h->kind = OLD_RETRY;
    h->attempt = a->number;
    h->wait_ns = delay_ns;
}

static void on_give_up(void *ctx, const rs_call_report *report)
{
    heard *h = next(ctx);
    h->kind = OLD_GIVE_UP;
    h->reason = report->reason;
}

static void on_state_change(void *ctx, rs_breaker_state from, rs_breaker_state to)
{
    heard *h = next(ctx);
    h->kind = OLD_STATE_CHANGE;
    h->from = from;
    h->to = to;
}

/* The user function, told what to answer. */
typedef struct script {
    rs_verdict verdict;
    uint64_t retry_after_ns, pause_ns;
    uint64_t tokens_used;
    bool caller_fault; /* a 429 */
} script;

static rs_verdict run(void *ctx, rs_attempt *a)
{
    const script *s = ctx;
    a->retry_after_ns = s[a->number - 1].retry_after_ns;
    a->pause_ns = s[a->number - 1].pause_ns;
    a->tokens_used = s[a->number - 1].tokens_used;
    a->caller_fault = s[a->number - 1].caller_fault;
    return s[a->number - 1].verdict;
}

typedef struct world {
    rs_manual_clock clock;
    recorder rec;
    rs_breaker *breaker;
    rs_token_bucket *bucket;
    rs_budget *budget;
    rs_policy *policy;
} world;

static void build_with(world *w, rs_fallback_fn fallback, void *fallback_ctx)
{
    memset(w, 0, sizeof *w);
    rs_manual_clock_init(&w->clock, SEC);
    const rs_clock *clock = rs_manual_clock_get(&w->clock);
    rs_event_hook hook = { on_event, &w->rec };

    rs_breaker_config bc = RS_BREAKER_CONFIG_DEFAULT;
    bc.failure_threshold = 2;
    bc.open_ns = 10 * SEC;
    bc.on_state_change = on_state_change;
    bc.ctx = &w->rec;
    bc.events = hook; /* one hook hears the breaker and the policy */
    bc.name = "db";
    assert_int_equal(rs_breaker_new(&bc, clock, &w->breaker), RS_OK);
    rs_token_bucket_config tc = { 1.0, 1 };
    assert_int_equal(rs_token_bucket_new(&tc, clock, &w->bucket), RS_OK);
    rs_budget_config budget = RS_BUDGET_CONFIG_DEFAULT;
    budget.max_per_request = 50;
    assert_int_equal(rs_budget_new(&budget, clock, &w->budget), RS_OK);

    rs_policy_config pc = RS_POLICY_CONFIG_DEFAULT;
    pc.limits[0] = (rs_limit){ rs_token_bucket_limiter(w->bucket), RS_UNITS_REQUESTS };
    pc.breaker = w->breaker;
    pc.account = rs_budget_account(w->budget);
    pc.token_estimate = 10;
    pc.retry.backoff.jitter = RS_JITTER_NONE;
    pc.retry.backoff.base_ns = 100 * MS;
    pc.retry.retry_after_jitter = 0;
    pc.retry.budget_max_tokens = 5; /* retries while above 2.5 */
    pc.max_limiter_wait_ns = 0;     /* refuse rather than wait */
    pc.hooks = (rs_policy_hooks){ on_retry, on_give_up, &w->rec };
    pc.events = hook;
    pc.name = "api";
    pc.fallback = fallback;
    pc.fallback_ctx = fallback_ctx;
    assert_int_equal(rs_policy_new(&pc, clock, &w->policy), RS_OK);
    w->rec.clock = &w->clock;
    w->rec.policy = w->policy;
    w->rec.breaker = w->breaker;
}

static void build(world *w)
{
    build_with(w, NULL, NULL);
}

static void destroy(world *w)
{
    rs_policy_free(w->policy);
    rs_breaker_free(w->breaker);
    rs_token_bucket_free(w->bucket);
    rs_budget_free(w->budget);
}

static const heard *expect(const recorder *r, size_t i, int kind)
{
    if (i >= r->count || r->log[i].kind != kind) {
        print_error("event %zu: want kind %d, have %s %d (of %zu)\n", i, kind,
                    i < r->count ? "kind" : "none", i < r->count ? r->log[i].kind : 0, r->count);
        fail();
    }
    return &r->log[i];
}

static void expect_call_end(const heard *h, rs_stop_reason reason, int status, uint32_t attempts)
{
    assert_int_equal(h->source, RS_EVENT_SOURCE_POLICY);
    assert_string_equal(h->name, "api");
    assert_int_equal(h->reason, reason);
    assert_int_equal(h->status, status);
    assert_int_equal(h->attempt, attempts);
    assert_true(h->had_report);
    assert_false(h->had_attempt);
}

/* Every kind of event, each once per occurrence, in the order of the
 * occurrences, after the older callback of the same occurrence. */
static void every_kind_fires_in_order(void **state)
{
    (void)state;
    world w;
    build(&w);
    recorder *r = &w.rec;
    uint64_t t0 = rs_manual_clock_now(&w.clock);
    size_t i = 0; /* the next event expected */

    /* 1. A 429 with Retry-After: 2 s (a pause and a retry), then a 503 that
     *    trips the breaker: the retry is refused on the breaker's behalf. */
    script first[] = { { RS_RETRY, 2 * SEC, 0, 10, false }, { RS_RETRY, 0, 0, 10, false } };
    assert_int_equal(rs_call(w.policy, run, first), RS_E_OPEN);
    const heard *h = expect(r, i++, RS_EVENT_SERVER_PAUSE);
    assert_int_equal(h->at_ns, t0);
    assert_int_equal(h->attempt, 1);
    assert_int_equal(h->wait_ns, 2 * SEC);
    assert_true(h->had_attempt);
    h = expect(r, i++, OLD_RETRY);
    assert_int_equal(h->wait_ns, 2 * SEC);
    h = expect(r, i++, RS_EVENT_RETRY);
    assert_int_equal(h->attempt, 1);
    assert_int_equal(h->wait_ns, 2 * SEC);
    assert_int_equal(h->at_ns, t0);
    assert_true(h->had_attempt);
    h = expect(r, i++, OLD_STATE_CHANGE);
    assert_int_equal(h->to, RS_BREAKER_OPEN);
    h = expect(r, i++, RS_EVENT_STATE_CHANGE);
    assert_int_equal(h->source, RS_EVENT_SOURCE_BREAKER);
    assert_string_equal(h->name, "db");
    assert_ptr_equal(h->object, w.breaker);
    assert_int_equal(h->from, RS_BREAKER_CLOSED);
    assert_int_equal(h->to, RS_BREAKER_OPEN);
    assert_int_equal(h->at_ns, t0 + 2 * SEC);
    expect(r, i++, OLD_GIVE_UP);
    h = expect(r, i++, RS_EVENT_CALL_REFUSED);
    expect_call_end(h, RS_STOP_BREAKER, RS_E_OPEN, 2);
    assert_ptr_equal(h->object, w.policy);

    /* 2. While it is open a call fails fast: refused, and counted by both. */
    assert_int_equal(rs_call(w.policy, run, first), RS_E_OPEN);
    expect(r, i++, OLD_GIVE_UP);
    expect_call_end(expect(r, i++, RS_EVENT_CALL_REFUSED), RS_STOP_BREAKER, RS_E_OPEN, 0);
    rs_breaker_snapshot b;
    rs_policy_snapshot p;
    assert_int_equal(rs_breaker_metrics(w.breaker, &b), RS_OK);
    assert_int_equal(rs_policy_metrics(w.policy, &p), RS_OK);
    assert_int_equal(b.rejected, 2);
    assert_int_equal(p.rejected_breaker, b.rejected);

    /* 3. Closed again by hand. */
    rs_breaker_force(w.breaker, RS_BREAKER_CLOSED);
    expect(r, i++, OLD_STATE_CHANGE);
    h = expect(r, i++, RS_EVENT_STATE_CHANGE);
    assert_int_equal(h->from, RS_BREAKER_OPEN);
    assert_int_equal(h->to, RS_BREAKER_CLOSED);

    /* 4. An estimate above the budget's per-request cap. */
    rs_call_options big = { .token_estimate = 60 };
    assert_int_equal(rs_call_with(w.policy, &big, run, first, NULL), RS_E_BUDGET);
    expect(r, i++, OLD_GIVE_UP);
    expect_call_end(expect(r, i++, RS_EVENT_BUDGET_REFUSED), RS_STOP_BUDGET, RS_E_BUDGET, 0);

    /* 5. A success (no event), then the bucket has nothing left. */
    rs_manual_clock_advance(&w.clock, SEC);
    script ok[] = { { RS_SUCCESS, 0, 0, 10, false } };
    assert_int_equal(rs_call(w.policy, run, ok), RS_OK);
    assert_int_equal(r->count, i);
    assert_int_equal(rs_call(w.policy, run, ok), RS_E_LIMITED);
    expect(r, i++, OLD_GIVE_UP);
    expect_call_end(expect(r, i++, RS_EVENT_CALL_REFUSED), RS_STOP_LIMITER, RS_E_LIMITED, 0);

    /* 6. The retry budget (3.1 tokens after call 1's two failures and one
     *    success) withholds the retry of the next failure. */
    rs_manual_clock_advance(&w.clock, SEC);
    script fail_once[] = { { RS_RETRY, 0, 0, 10, false }, { RS_SUCCESS, 0, 0, 10, false } };
    assert_int_equal(rs_call(w.policy, run, fail_once), RS_E_EXHAUSTED);
    expect(r, i++, OLD_GIVE_UP);
    expect_call_end(expect(r, i++, RS_EVENT_BUDGET_REFUSED), RS_STOP_RETRY_BUDGET,
                    RS_E_EXHAUSTED, 1);

    /* That was the breaker's second failure in a row: it judges nothing more. */
    rs_breaker_force(w.breaker, RS_BREAKER_DISABLED);
    expect(r, i++, OLD_STATE_CHANGE);
    h = expect(r, i++, RS_EVENT_STATE_CHANGE);
    assert_int_equal(h->from, RS_BREAKER_CLOSED);
    assert_int_equal(h->to, RS_BREAKER_DISABLED);

    /* 7. A permanent failure gives up. */
    rs_manual_clock_advance(&w.clock, SEC);
    script bad[] = { { RS_FAIL, 0, 0, 10, false } };
    assert_int_equal(rs_call(w.policy, run, bad), RS_E_FAILED);
    expect(r, i++, OLD_GIVE_UP);
    expect_call_end(expect(r, i++, RS_EVENT_GIVE_UP), RS_STOP_FAILED, RS_E_FAILED, 1);

    /* 8. A call on the step API gets a 429 with a 5 s pause for everyone:
     *    it waits to retry; a call that cannot wait is refused; the first is
     *    then abandoned. */
    rs_manual_clock_advance(&w.clock, SEC);
    uint64_t t8 = rs_manual_clock_now(&w.clock);
    script paused[] = { { RS_RETRY, 0, 5 * SEC, 10, true } };
    rs_call_state *c = NULL;
    assert_int_equal(rs_call_begin(w.policy, NULL, &c), RS_OK);
    rs_step s = rs_call_next(c);
    assert_int_equal(s.action, RS_STEP_RUN);
    s = rs_call_complete(c, run(paused, rs_call_attempt(c)));
    assert_int_equal(s.action, RS_STEP_WAIT);
    h = expect(r, i++, RS_EVENT_SERVER_PAUSE);
    assert_int_equal(h->wait_ns, 5 * SEC);
    assert_int_equal(h->at_ns, t8);
    expect(r, i++, OLD_RETRY);
    h = expect(r, i++, RS_EVENT_RETRY);
    assert_int_equal(h->wait_ns, 5 * SEC);
    assert_int_equal(rs_call(w.policy, run, ok), RS_E_LIMITED);
    expect(r, i++, OLD_GIVE_UP);
    expect_call_end(expect(r, i++, RS_EVENT_CALL_REFUSED), RS_STOP_SERVER_PAUSE, RS_E_LIMITED, 0);
    rs_call_end(c, NULL);
    expect(r, i++, OLD_GIVE_UP);
    expect_call_end(expect(r, i++, RS_EVENT_GIVE_UP), RS_STOP_ABANDONED, RS_E_TIMEOUT, 1);
    assert_int_equal(r->count, i);

    /* The counters agree with what was heard. */
    assert_int_equal(rs_policy_metrics(w.policy, &p), RS_OK);
    assert_int_equal(p.retries, 2);
    assert_int_equal(p.server_pauses, 2);
    assert_int_equal(p.rejected_breaker + p.rejected_limiter + p.rejected_server_pause, 4);
    assert_int_equal(p.rejected_budget, 1);
    assert_int_equal(p.rejected_retry_budget, 1);
    assert_int_equal(p.in_progress, 0);
    destroy(&w);
}

/* Serves the first call it is asked for, declines the others. */
static bool serve_once(void *ctx, void *call_ctx, const rs_call_report *report)
{
    int *asked = ctx;
    (void)call_ctx;
    (void)report;
    return (*asked)++ == 0;
}

/* A call the fallback answers ends with RS_EVENT_FALLBACK in place of its
 * refusal's event (and without on_give_up); one it declines, or may not
 * answer (a permanent failure), ends as it would without it. */
static void a_fallback_replaces_the_end_event(void **state)
{
    (void)state;
    world w;
    int asked = 0;
    build_with(&w, serve_once, &asked);
    recorder *r = &w.rec;
    size_t i = 0;
    script ok[] = { { RS_SUCCESS, 0, 0, 10, false } };
    assert_int_equal(rs_call(w.policy, run, ok), RS_OK); /* the bucket's one token */
    assert_int_equal(r->count, 0);

    rs_call_report report;
    assert_int_equal(rs_call_with(w.policy, NULL, run, ok, &report), RS_OK);
    assert_true(report.fallback);
    assert_int_equal(report.failed_status, RS_E_LIMITED);
    expect_call_end(expect(r, i++, RS_EVENT_FALLBACK), RS_STOP_LIMITER, RS_E_LIMITED, 0);
    assert_int_equal(r->count, i);

    assert_int_equal(rs_call(w.policy, run, ok), RS_E_LIMITED); /* declined */
    assert_int_equal(asked, 2);
    expect(r, i++, OLD_GIVE_UP);
    expect_call_end(expect(r, i++, RS_EVENT_CALL_REFUSED), RS_STOP_LIMITER, RS_E_LIMITED, 0);

    rs_manual_clock_advance(&w.clock, SEC);
    asked = 0;
    script bad[] = { { RS_FAIL, 0, 0, 10, false } };
    assert_int_equal(rs_call(w.policy, run, bad), RS_E_FAILED);
    assert_int_equal(asked, 0); /* never asked for a permanent failure */
    expect(r, i++, OLD_GIVE_UP);
    expect_call_end(expect(r, i++, RS_EVENT_GIVE_UP), RS_STOP_FAILED, RS_E_FAILED, 1);
    assert_int_equal(r->count, i);

    rs_policy_snapshot p;
    assert_int_equal(rs_policy_metrics(w.policy, &p), RS_OK);
    assert_int_equal(p.fallbacks, 1);
    assert_int_equal(p.rejected_limiter, 2);
    assert_int_equal(p.successes, 1);
    destroy(&w);
}

/* A call refused for want of a bulkhead slot ends with one
 * RS_EVENT_CALL_REFUSED, reason RS_STOP_BULKHEAD, after on_give_up: from
 * the blocking driver and from the step API (no place in the queue:
 * max_queue 0); the policy's and the bulkhead's counters agree. */
static void a_full_bulkhead_refuses_with_an_event(void **state)
{
    (void)state;
    world w;
    build(&w);
    recorder *r = &w.rec;
    const rs_clock *clock = rs_manual_clock_get(&w.clock);
    rs_bulkhead_config hc = { 1, 0 };
    rs_bulkhead *bulkhead = NULL;
    assert_int_equal(rs_bulkhead_new(&hc, clock, &bulkhead), RS_OK);
    rs_policy_config pc = RS_POLICY_CONFIG_DEFAULT;
    pc.bulkhead = bulkhead;
    pc.breaker = w.breaker;
    pc.hooks = (rs_policy_hooks){ on_retry, on_give_up, r };
    pc.events = (rs_event_hook){ on_event, r };
    pc.name = "api";
    rs_policy *policy = NULL;
    assert_int_equal(rs_policy_new(&pc, clock, &policy), RS_OK);
    r->policy = policy;
    assert_true(rs_bulkhead_try_enter(bulkhead)); /* the one slot, held elsewhere */

    script ok[] = { { RS_SUCCESS, 0, 0, 0, false } };
    assert_int_equal(rs_call(policy, run, ok), RS_E_LIMITED);
    expect(r, 0, OLD_GIVE_UP);
    const heard *h = expect(r, 1, RS_EVENT_CALL_REFUSED);
    expect_call_end(h, RS_STOP_BULKHEAD, RS_E_LIMITED, 0);
    assert_int_equal(h->at_ns, rs_manual_clock_now(&w.clock));

    rs_call_state *c = NULL;
    assert_int_equal(rs_call_begin(policy, NULL, &c), RS_OK);
    rs_step step = rs_call_next(c);
    assert_int_equal(step.action, RS_STEP_DONE);
    assert_int_equal(step.status, RS_E_LIMITED);
    rs_call_end(c, NULL);
    expect(r, 2, OLD_GIVE_UP);
    expect_call_end(expect(r, 3, RS_EVENT_CALL_REFUSED), RS_STOP_BULKHEAD, RS_E_LIMITED, 0);
    assert_int_equal(r->count, 4);

    rs_policy_snapshot p;
    assert_int_equal(rs_policy_metrics(policy, &p), RS_OK);
    assert_int_equal(p.rejected_bulkhead, 2);
    rs_bulkhead_snapshot b;
    assert_int_equal(rs_bulkhead_metrics(bulkhead, &b), RS_OK);
    assert_int_equal(b.refused, 2);
    assert_int_equal(b.entered, 1);
    rs_bulkhead_leave(bulkhead);
    rs_policy_free(policy);
    rs_bulkhead_free(bulkhead);
    destroy(&w);
}

/* A policy without a hook builds no event, and a breaker without one queues
 * none (on_state_change alone still runs). */
static void no_hook_no_event(void **state)
{
    (void)state;
    recorder r = { .count = 0 };
    rs_manual_clock clock;
    rs_manual_clock_init(&clock, 0);
    rs_breaker_config bc = RS_BREAKER_CONFIG_DEFAULT;
    bc.on_state_change = on_state_change;
    bc.ctx = &r;
    rs_breaker *b = NULL;
    assert_int_equal(rs_breaker_new(&bc, rs_manual_clock_get(&clock), &b), RS_OK);
    rs_breaker_force(b, RS_BREAKER_OPEN);
    assert_int_equal(r.count, 1);
    assert_int_equal(r.log[0].kind, OLD_STATE_CHANGE);
    rs_breaker_free(b);
}

/* A client's hook hears its own breaker, under the client's name; a
 * breaker config with a hook of its own keeps it. */
static void a_client_wires_its_breaker(void **state)
{
    (void)state;
    rs_manual_clock clock;
    rs_manual_clock_init(&clock, 0);
    recorder mine = { .count = 0 }, breakers = { .count = 0 };
    rs_breaker_config bc = RS_BREAKER_CONFIG_DEFAULT;
    rs_client_config cfg = RS_CLIENT_CONFIG_DEFAULT;
    cfg.breaker = &bc;
    cfg.events = (rs_event_hook){ on_event, &mine };
    cfg.name = "client";
    rs_client *c = NULL;
    assert_int_equal(rs_client_new(&cfg, rs_manual_clock_get(&clock), &c), RS_OK);
    mine.breaker = rs_client_breaker(c);
    mine.policy = rs_client_policy(c);
    rs_breaker_force(rs_client_breaker(c), RS_BREAKER_FORCED_OPEN);
    assert_int_equal(mine.count, 1);
    assert_int_equal(mine.log[0].kind, RS_EVENT_STATE_CHANGE);
    assert_int_equal(mine.log[0].source, RS_EVENT_SOURCE_BREAKER);
    assert_string_equal(mine.log[0].name, "client");
    script ok[] = { { RS_SUCCESS, 0, 0, 0, false } };
    assert_int_equal(rs_client_call(c, run, ok), RS_E_OPEN);
    assert_int_equal(mine.count, 2);
    assert_int_equal(mine.log[1].kind, RS_EVENT_CALL_REFUSED);
    assert_int_equal(mine.log[1].source, RS_EVENT_SOURCE_POLICY);
    assert_string_equal(mine.log[1].name, "client");
    rs_client_free(c);

    bc.events = (rs_event_hook){ on_event, &breakers };
    bc.name = "own";
    mine.count = 0;
    assert_int_equal(rs_client_new(&cfg, rs_manual_clock_get(&clock), &c), RS_OK);
    breakers.breaker = rs_client_breaker(c);
    rs_breaker_force(rs_client_breaker(c), RS_BREAKER_FORCED_OPEN);
    assert_int_equal(mine.count, 0);
    assert_int_equal(breakers.count, 1);
    assert_string_equal(breakers.log[0].name, "own");
    rs_client_free(c);
}

/* The names are the configs' copies: the caller's strings may go. */
static void names_are_copied(void **state)
{
    (void)state;
    rs_manual_clock clock;
    rs_manual_clock_init(&clock, 0);
    recorder r = { .count = 0 };
    char name[8] = "temp";
    rs_breaker_config bc = RS_BREAKER_CONFIG_DEFAULT;
    bc.events = (rs_event_hook){ on_event, &r };
    bc.name = name;
    rs_breaker *b = NULL;
    assert_int_equal(rs_breaker_new(&bc, rs_manual_clock_get(&clock), &b), RS_OK);
    r.breaker = b;
    memcpy(name, "gone", 5);
    rs_breaker_force(b, RS_BREAKER_OPEN);
    assert_string_equal(r.log[0].name, "temp");
    rs_breaker_free(b);
    bc.name = NULL; /* none: "" */
    assert_int_equal(rs_breaker_new(&bc, rs_manual_clock_get(&clock), &b), RS_OK);
    r.breaker = b;
    rs_breaker_force(b, RS_BREAKER_OPEN);
    assert_string_equal(r.log[1].name, "");
    rs_breaker_free(b);
}

static void kind_and_source_names(void **state)
{
    (void)state;
    assert_string_equal(rs_event_kind_name(RS_EVENT_STATE_CHANGE), "RS_EVENT_STATE_CHANGE");
    assert_string_equal(rs_event_kind_name(RS_EVENT_RETRY), "RS_EVENT_RETRY");
    assert_string_equal(rs_event_kind_name(RS_EVENT_CALL_REFUSED), "RS_EVENT_CALL_REFUSED");
    assert_string_equal(rs_event_kind_name(RS_EVENT_BUDGET_REFUSED), "RS_EVENT_BUDGET_REFUSED");
    assert_string_equal(rs_event_kind_name(RS_EVENT_SERVER_PAUSE), "RS_EVENT_SERVER_PAUSE");
    assert_string_equal(rs_event_kind_name(RS_EVENT_FALLBACK), "RS_EVENT_FALLBACK");
    assert_string_equal(rs_event_kind_name(RS_EVENT_GIVE_UP), "RS_EVENT_GIVE_UP");
    assert_string_equal(rs_event_kind_name((rs_event_kind)0), "RS_EVENT_UNKNOWN");
    assert_string_equal(rs_event_source_name(RS_EVENT_SOURCE_POLICY), "policy");
    assert_string_equal(rs_event_source_name(RS_EVENT_SOURCE_BREAKER), "breaker");
    assert_string_equal(rs_event_source_name((rs_event_source)9), "unknown");
}

#if RS_TEST_THREADS
/* Threads forcing a breaker back and forth: each event starts where the
 * previous one ended (in transition order), one at a time. */
typedef struct chain {
    rs_breaker *b;
    _Atomic int inside;
    rs_breaker_state last;
    unsigned events;
    bool broken;
} chain;

static void on_link(void *ctx, const rs_event *e)
{
    chain *c = ctx;
    if (atomic_fetch_add(&c->inside, 1) != 0 || e->from != c->last) {
        c->broken = true;
    }
    c->last = e->to;
    c->events++;
    (void)rs_breaker_state_get(c->b);
    atomic_fetch_sub(&c->inside, 1);
}

static void *flip(void *arg)
{
    chain *c = arg;
    for (int i = 0; i < 2000; i++) {
        rs_breaker_force(c->b, (i & 1) ? RS_BREAKER_CLOSED : RS_BREAKER_FORCED_OPEN);
    }
    return NULL;
}

static void breaker_events_stay_in_order_under_threads(void **state)
{
    (void)state;
    static chain c;
    memset(&c, 0, sizeof c);
    c.last = RS_BREAKER_CLOSED;
    rs_breaker_config bc = RS_BREAKER_CONFIG_DEFAULT;
    bc.events = (rs_event_hook){ on_link, &c };
    assert_int_equal(rs_breaker_new(&bc, NULL, &c.b), RS_OK);
    rs_test_run_threads(4, flip, &c);
    assert_false(c.broken);
    rs_breaker_snapshot m;
    assert_int_equal(rs_breaker_metrics(c.b, &m), RS_OK);
    assert_int_equal(c.events, m.total_transitions);
    assert_true(c.events > 0);
    rs_breaker_free(c.b);
}
#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_kind_fires_in_order),
        cmocka_unit_test(a_fallback_replaces_the_end_event),
        cmocka_unit_test(a_full_bulkhead_refuses_with_an_event),
        cmocka_unit_test(no_hook_no_event),
        cmocka_unit_test(a_client_wires_its_breaker),
        cmocka_unit_test(names_are_copied),
        cmocka_unit_test(kind_and_source_names),
#if RS_TEST_THREADS
        cmocka_unit_test(breaker_events_stay_in_order_under_threads),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
