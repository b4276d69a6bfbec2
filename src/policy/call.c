/* The step machine of one call, and its two drivers: the public step API
 * for event loops and the blocking rs_call(). There is one retry logic:
 * rs_call() is a loop over the same next/complete functions. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/alloc.h"
#include "core/arith.h"
#include "internal.h"

/* How often a call of the step API that waits for a bulkhead slot looks
 * again when its driver gave no wake function: short next to the remote
 * calls a bulkhead guards, long enough not to spin a loop. */
#define BULKHEAD_POLL_NS RS_MS(1)

static rs_step step_run(void) { return (rs_step){ RS_STEP_RUN, 0, RS_OK }; }

static rs_step step_done(int status) { return (rs_step){ RS_STEP_DONE, 0, status }; }

/* A per-call account is charged at the policy's time, so it must run on
 * the policy's clock, as the policy's own modules must. */
static int check_options(const rs_policy *p, const rs_call_options *opts)
{
    if (opts == NULL || opts->account.ops == NULL) {
        return RS_OK;
    }
    if (opts->account.ops->reserve == NULL) {
        return rs_set_last_error(RS_E_INVAL,
                                 "rs_call_options.account: the account has no reserve operation");
    }
    const rs_clock *account_clock = rs_account_clock(&opts->account);
    if (account_clock != NULL && account_clock != p->clock) {
        return rs_set_last_error(RS_E_INVAL,
                                 "rs_call_options.account: runs on another clock than the policy's");
    }
    return RS_OK;
}

static void call_init(rs_call_state *c, rs_policy *p, const rs_call_options *opts,
                      uint64_t now_ns)
{
    memset(c, 0, sizeof *c);
    c->policy = p;
    c->phase = RS__PHASE_ADMIT;
    c->start_ns = now_ns;
    c->attempt_number = 1;
    uint64_t timeout = p->cfg.timeout_ns;
    c->token_estimate = p->cfg.token_estimate;
    c->account = p->cfg.account;
    if (opts != NULL) {
        timeout = opts->timeout_ns != 0 ? opts->timeout_ns : timeout;
        c->token_estimate = opts->token_estimate != 0 ? opts->token_estimate : c->token_estimate;
        if (opts->account.ops != NULL) {
            c->account = opts->account;
        }
        c->context = opts->context;
        c->wake = opts->wake;
    }
    c->deadline_ns = timeout != 0 ? rs__sat_add(now_ns, timeout) : 0;
    RS__POLICY_COUNT(p, calls, 1);
}

static void release_budget(rs_call_state *c)
{
    if (c->ticket_held) {
        rs_account_cancel(&c->account, &c->ticket);
        c->ticket_held = false;
    }
}

/* Gives back a bulkhead slot no attempt used (a refusal after the slot, a
 * pause, the end), or the place in its queue. */
static void release_slot(rs_call_state *c)
{
    rs_bulkhead *bulkhead = c->policy->cfg.bulkhead;
    if (c->slot_ticket != NULL) {
        rs_bulkhead_ticket_cancel(bulkhead, c->slot_ticket);
        c->slot_ticket = NULL;
    }
    if (c->slot_held) {
        rs_bulkhead_leave(bulkhead);
        c->slot_held = false;
    }
}

static rs__atomic_u64 *counter_for(rs__policy_counters *counters, rs_stop_reason reason)
{
    switch (reason) {
    case RS_STOP_SUCCESS: return &counters->successes;
    case RS_STOP_FAILED: return &counters->failures;
    case RS_STOP_EXHAUSTED:
    case RS_STOP_RETRY_AFTER:
    case RS_STOP_RETRY_BUDGET: return &counters->exhausted;
    case RS_STOP_TIMEOUT:
    case RS_STOP_ABANDONED: return &counters->timeouts;
    case RS_STOP_LIMITER: return &counters->rejected_limiter;
    case RS_STOP_BREAKER: return &counters->rejected_breaker;
    case RS_STOP_BUDGET: return &counters->rejected_budget;
    case RS_STOP_SERVER_PAUSE: return &counters->rejected_server_pause;
    case RS_STOP_BULKHEAD: return &counters->rejected_bulkhead;
    case RS_STOP_NONE: break;
    }
    return NULL;
}

/* Whether the fallback may stand in for a call that ended so: a refusal,
 * the service's repeated failure, a deadline, a backend down. Never a bad
 * argument (a bug to fix), a permanent failure (the service answered: the
 * request is wrong), or a call its driver walked away from. */
static bool fallback_applies(int status, rs_stop_reason reason)
{
    switch (status) {
    case RS_E_LIMITED:
    case RS_E_OPEN:
    case RS_E_BUDGET:
    case RS_E_EXHAUSTED:
    case RS_E_TIMEOUT:
    case RS_E_IO: return reason != RS_STOP_ABANDONED;
    default: return false;
    }
}


/* The fallback hook's turn: true when it served a result. */
static bool served_by_fallback(rs_call_state *c, int status, rs_stop_reason reason)
{
    const rs_policy_config *cfg = &c->policy->cfg;
    if (cfg->fallback == NULL || !fallback_applies(status, reason) ||
        !cfg->fallback(cfg->fallback_ctx, c->context, &c->report)) {
        return false;
    }
    c->report.fallback = true;
    c->report.failed_status = status;
    c->report.status = RS_OK;
    RS__POLICY_COUNT(c->policy, fallbacks, 1);
    return true;
}

/* The event that ends a call that did not succeed: a refusal by this
 * process's own protection, a budget's refusal, or a give-up. */
static rs_event_kind end_event(rs_stop_reason reason)
{
    if (reason == RS_STOP_BUDGET || reason == RS_STOP_RETRY_BUDGET) {
        return RS_EVENT_BUDGET_REFUSED;
    }
    return rs_stop_reason_is_local(reason) ? RS_EVENT_CALL_REFUSED : RS_EVENT_GIVE_UP;
}

/* RS_EVENT_RETRY and RS_EVENT_SERVER_PAUSE: about the attempt just made,
 * with the wait it led to. */
static void emit_about_attempt(rs_call_state *c, rs_event_kind kind, uint64_t wait_ns,
                               uint64_t now_ns)
{
    if (rs__policy_hears(c->policy)) {
        rs_event e = { 0 };
        e.kind = kind;
        e.at_ns = now_ns;
        e.attempt = c->attempt_number;
        e.wait_ns = wait_ns;
        e.last_attempt = &c->attempt;
        rs__policy_emit(c->policy, &e);
    }
}

static void count_end(rs_call_state *c, rs_stop_reason reason)
{
    unsigned slot = rs__tally_slot();
    rs__policy_counters *mine = &c->policy->counters[slot];
    rs__atomic_u64 *counter = counter_for(mine, reason);
    if (counter != NULL) {
        rs__tally_add(counter, 1, slot);
    }
    if (reason == RS_STOP_RETRY_BUDGET) {
        rs__tally_add(&mine->rejected_retry_budget, 1, slot);
    }
    rs__tally_add(&mine->elapsed_ns, c->report.elapsed_ns, slot);
    rs__tally_add(&mine->waited_ns, c->report.waited_ns, slot);
    rs__tally_add(&mine->limiter_wait_ns, c->report.limiter_wait_ns, slot);
}

static rs_step finish(rs_call_state *c, int status, rs_stop_reason reason, uint64_t now_ns)
{
    release_budget(c);
    release_slot(c);
    c->phase = RS__PHASE_DONE;
    c->report.status = status;
    c->report.reason = reason;
    c->report.elapsed_ns = rs__sat_sub(now_ns, c->start_ns);
    count_end(c, reason);
    bool served = served_by_fallback(c, status, reason);
    const rs_policy_hooks *hooks = &c->policy->cfg.hooks;
    if (status != RS_OK && !served && hooks->on_give_up != NULL) {
        hooks->on_give_up(hooks->ctx, &c->report);
    }
    /* One event ends a call that did not succeed; a fallback's replaces
     * the refusal or give-up it stood in for, as on_give_up stays silent. */
    if (status != RS_OK && rs__policy_hears(c->policy)) {
        rs_event e = { 0 };
        e.kind = served ? RS_EVENT_FALLBACK : end_event(reason);
        e.at_ns = now_ns;
        e.attempt = c->report.attempts;
        e.reason = reason;
        e.status = status; /* how it failed, also when the fallback answered */
        e.report = &c->report;
        rs__policy_emit(c->policy, &e);
    }
    return step_done(served ? RS_OK : status);
}

/* Wait until wake, then resume in `resume`. */
static rs_step wait_then(rs_call_state *c, uint64_t wait_ns, rs__call_phase resume,
                         bool for_limiter, uint64_t now_ns)
{
    c->phase = RS__PHASE_WAITING;
    c->after_wait = resume;
    c->wake_ns = rs__sat_add(now_ns, wait_ns);
    c->wait_started_ns = now_ns;
    c->waiting_for_limiter = for_limiter;
    return (rs_step){ RS_STEP_WAIT, wait_ns, RS_OK };
}

/* How long limiters may still make this attempt wait. When the deadline is
 * what bounds it, the attempt must start before the deadline, so a wait
 * ending exactly on it is already too long. */
static uint64_t limiter_patience(const rs_call_state *c, uint64_t now_ns)
{
    uint64_t patience = rs__sat_sub(c->limiter_until_ns, now_ns);
    bool bound_by_deadline = c->deadline_ns != 0 && c->limiter_until_ns == c->deadline_ns;
    return bound_by_deadline ? rs__sat_sub(patience, 1) : patience;
}

/* Every stage below either lets the attempt go on to the next stage
 * (returns true) or stops here with an instruction for the driver in *out
 * (returns false): wait, run fn, or done. */

/* An open breaker refuses before anything else: failing fast must cost no
 * wait and no reservation (a round trip with a remote budget). The breaker
 * counts the refusal as its own. */
static bool breaker_refuses(rs_call_state *c, uint64_t now_ns, rs_step *out)
{
    rs_breaker *breaker = c->policy->cfg.breaker;
    if (breaker != NULL && rs_breaker_fail_fast_at(breaker, now_ns)) {
        *out = finish(c, RS_E_OPEN, RS_STOP_BREAKER, now_ns);
        return true;
    }
    return false;
}

/* The start of an attempt: its limiter patience (the pause and the limits
 * share it) counts from here. */
static bool admit(rs_call_state *c, uint64_t now_ns, rs_step *out)
{
    if (breaker_refuses(c, now_ns, out)) {
        return false;
    }
    memset(&c->attempt, 0, sizeof c->attempt);
    c->attempt.number = c->attempt_number;
    c->attempt.deadline_ns = c->deadline_ns;
    c->limiter_until_ns = rs__sat_add(now_ns, c->policy->cfg.max_limiter_wait_ns);
    if (c->deadline_ns != 0 && c->limiter_until_ns > c->deadline_ns) {
        c->limiter_until_ns = c->deadline_ns;
    }
    c->phase = RS__PHASE_PAUSE;
    return true;
}

/* The server asked every caller of the policy to wait: no attempt starts
 * before the shared pause ends. It is waited like a limiter, within the
 * attempt's patience, and then the attempt resumes in `resume`; a call that
 * cannot wait that long is refused at once rather than sleep and fail.
 * True when the pause holds the call (*out says what to do). */
static bool held_by_pause(rs_call_state *c, uint64_t now_ns, rs__call_phase resume, rs_step *out)
{
    uint64_t until = rs__policy_pause_until(c->policy);
    if (now_ns >= until) {
        return false;
    }
    uint64_t wait = until - now_ns;
    uint64_t patience = limiter_patience(c, now_ns);
    if (wait > patience) {
        *out = finish(c, RS_E_LIMITED, RS_STOP_SERVER_PAUSE, now_ns);
    } else {
        /* Back at a random instant after the end, within the patience, so
         * the calls the pause held do not all return at once. */
        uint64_t jitter = rs__policy_pause_jitter(c->policy, rs__policy_pause_length(c->policy));
        wait = rs__min_u64(rs__sat_add(wait, jitter), patience);
        *out = wait_then(c, wait, resume, true, now_ns);
    }
    return true;
}

static bool wait_out_pause(rs_call_state *c, uint64_t now_ns, rs_step *out)
{
    if (held_by_pause(c, now_ns, RS__PHASE_PAUSE, out)) {
        return false;
    }
    /* The pause may have let a trip happen meanwhile. */
    if (breaker_refuses(c, now_ns, out)) {
        return false;
    }
    c->phase = RS__PHASE_RESERVE;
    return true;
}

static bool reserve(rs_call_state *c, uint64_t now_ns, rs_step *out)
{
    if (c->account.ops != NULL) {
        /* A per-call budget with no estimate anywhere would charge nothing. */
        int rc = c->token_estimate == 0
                     ? RS_E_INVAL
                     : rs_account_reserve(&c->account, c->token_estimate, now_ns, &c->ticket);
        if (rc != RS_OK) {
            *out = finish(c, rc, RS_STOP_BUDGET, now_ns);
            return false;
        }
        c->ticket_held = true;
    }
    c->limit_index = 0;
    c->phase = RS__PHASE_LIMITERS;
    return true;
}

static uint64_t limit_units(const rs_call_state *c, unsigned i)
{
    return c->policy->limits[i].units == RS_UNITS_TOKENS ? c->token_estimate : 1;
}

/* Before any limiter takes anything, every limiter that can tell is asked
 * how long it needs. If one needs more than the attempt's patience, the
 * attempt is refused now, having taken nothing from the others (a call the
 * bucket refuses has not used a window slot). Limiters that cannot reserve
 * (windows) are waited for here; those that can (buckets) queue callers
 * themselves when they are asked, so waiting for them first would only
 * make every contender wake up and find the token gone. */
static bool look_before_taking(rs_call_state *c, uint64_t now_ns, rs_step *out)
{
    rs_policy *p = c->policy;
    uint64_t longest = 0, longest_unreserving = 0;
    for (unsigned i = 0; i < p->limit_count; i++) {
        const rs_limiter *l = &p->limits[i].limiter;
        uint64_t wait = rs_limiter_wait_ns(l, limit_units(c, i), now_ns);
        if (wait == UINT64_MAX) { /* "never" and "unknown": acquire says which */
            continue;
        }
        longest = rs__max_u64(longest, wait);
        if (!l->ops->reserves) {
            longest_unreserving = rs__max_u64(longest_unreserving, wait);
        }
    }
    if (longest > limiter_patience(c, now_ns)) {
        *out = finish(c, RS_E_LIMITED, RS_STOP_LIMITER, now_ns);
        return false;
    }
    if (longest_unreserving > 0) {
        *out = wait_then(c, longest_unreserving, RS__PHASE_LIMITERS, true, now_ns);
        return false;
    }
    return true;
}

/* Asks each limiter in turn. A reservation waits and moves on; a refusal
 * with a known wait waits and asks the same limiter again; both only within
 * this attempt's limiter patience. */
static bool pass_limiters(rs_call_state *c, uint64_t now_ns, rs_step *out)
{
    rs_policy *p = c->policy;
    /* With one limiter there is nothing to protect: its own answer already
     * refuses without taking, or waits. */
    if (c->limit_index == 0 && p->limit_count > 1 && !look_before_taking(c, now_ns, out)) {
        return false;
    }
    while (c->limit_index < p->limit_count) {
        unsigned i = c->limit_index;
        uint64_t patience = limiter_patience(c, now_ns);
        uint64_t wait = 0;
        int rc = rs_limiter_acquire(&p->limits[i].limiter, limit_units(c, i), patience, now_ns,
                                    &wait);
        if (rc == RS_OK) {
            c->limit_index++;
            if (wait == 0) {
                continue;
            }
            *out = wait_then(c, wait, RS__PHASE_LIMITERS, true, now_ns);
        } else if (rc == RS_E_LIMITED) {
            /* A refusal without a usable wait (0 or UINT64_MAX) is final. */
            *out = wait == 0 || wait == UINT64_MAX || wait > patience
                       ? finish(c, RS_E_LIMITED, RS_STOP_LIMITER, now_ns)
                       : wait_then(c, wait, RS__PHASE_LIMITERS, true, now_ns);
        } else if (rc == RS_E_OPEN) {
            *out = finish(c, RS_E_OPEN, RS_STOP_BREAKER, now_ns);
        } else { /* RS_E_INVAL (can never be granted) or RS_E_IO (backend failed, said why) */
            if (rc == RS_E_INVAL) {
                const char *name = p->limits[i].limiter.ops->name;
                (void)rs_set_last_error(RS_E_INVAL, "rs_call: the %s can never grant %llu units",
                                        name != NULL ? name : "limiter",
                                        (unsigned long long)limit_units(c, i));
            }
            *out = finish(c, rc, RS_STOP_LIMITER, now_ns);
        }
        return false;
    }
    c->phase = RS__PHASE_BULKHEAD;
    return true;
}

/* Waits for the queued slot: until woken (a wake function), or a poll. */
static rs_step wait_for_slot(rs_call_state *c, uint64_t patience, uint64_t now_ns)
{
    uint64_t wait = c->wake != NULL ? patience : rs__min_u64(patience, BULKHEAD_POLL_NS);
    return wait_then(c, wait, RS__PHASE_BULKHEAD, true, now_ns);
}

/* A call the shared pause held after its limits let it through would come
 * back with every other call the pause held, all within the return jitter:
 * a burst at many times the rate, which earns the next 429 and the next
 * pause. With an adaptive rate it goes through the rate once more (the
 * policy's own pacing, no quota, so asking twice charges nobody) and the
 * held calls come back at the rate. */
static bool repace_after_pause(rs_call_state *c, uint64_t now_ns, rs_step *out)
{
    c->repace = false;
    const rs_limiter *rate = &c->policy->limits[0].limiter; /* the adaptive rate comes first */
    uint64_t wait = 0;
    if (rs_limiter_acquire(rate, 1, limiter_patience(c, now_ns), now_ns, &wait) != RS_OK) {
        *out = finish(c, RS_E_LIMITED, RS_STOP_LIMITER, now_ns);
        return false;
    }
    if (wait != 0) {
        *out = wait_then(c, wait, RS__PHASE_BULKHEAD, true, now_ns);
        return false;
    }
    return true;
}

/* The shared pause holds an attempt its limits let through: it resumes at
 * the bulkhead, through the adaptive rate again (repace_after_pause). */
static bool held_after_limits(rs_call_state *c, uint64_t now_ns, rs_step *out)
{
    if (!held_by_pause(c, now_ns, RS__PHASE_BULKHEAD, out)) {
        return false;
    }
    c->repace = c->policy->cfg.adaptive_rate != NULL;
    return true;
}

/* The bulkhead: a slot now, or a place in its queue within the attempt's
 * limiter patience, which the pause and the limits share. The blocking
 * driver waits on the bulkhead's condition variable; the step API gets a
 * ticket and waits with RS_STEP_WAIT, woken or polling. */
static bool pass_bulkhead(rs_call_state *c, uint64_t now_ns, rs_step *out)
{
    rs_bulkhead *bulkhead = c->policy->cfg.bulkhead;
    if (!c->slot_held && c->slot_ticket == NULL) {
        /* A pause that began while this attempt waited for its limits holds
         * it too: it keeps what the limits granted and runs when the pause
         * ends (taking a slot first would hold a slot nobody uses). */
        if (held_after_limits(c, now_ns, out)) {
            return false;
        }
        if (c->repace && !repace_after_pause(c, now_ns, out)) {
            return false;
        }
    }
    if (bulkhead == NULL || c->slot_held) {
        c->phase = RS__PHASE_BREAKER;
        return true;
    }
    if (c->slot_ticket != NULL) {
        if (rs_bulkhead_ticket_ready(bulkhead, c->slot_ticket)) {
            c->slot_ticket = NULL;
            c->slot_held = true;
            c->phase = RS__PHASE_BREAKER;
            return true;
        }
        uint64_t patience = limiter_patience(c, now_ns);
        *out = patience == 0 ? finish(c, RS_E_LIMITED, RS_STOP_BULKHEAD, now_ns)
                             : wait_for_slot(c, patience, now_ns);
        return false;
    }
    /* One request for a slot per attempt, so that the bulkhead counts it
     * once: a free slot, else (within the patience) a wait or a ticket. */
    uint64_t patience = limiter_patience(c, now_ns);
    int rc;
    if (patience == 0) {
        rc = rs_bulkhead_try_enter(bulkhead) ? RS_OK : RS_E_LIMITED;
    } else if (c->blocking) {
        rc = rs_bulkhead_enter(bulkhead, patience);
        if (rc == RS_OK) {
            /* It may have blocked (nothing says whether it did): go on from
             * a fresh reading of the clock, the wait counted as limiter
             * wait. A zero wait costs the blocking driver a clock read. */
            c->slot_held = true;
            *out = wait_then(c, 0, RS__PHASE_BREAKER, true, now_ns);
            return false;
        }
    } else {
        /* The driver's own wake and context, never the call state: the
         * bulkhead copies them, and a wake-up still running when the
         * driver ends the call must not read memory the driver frees. */
        rc = rs_bulkhead_enter_async(bulkhead, c->wake, c->context, &c->slot_ticket);
        if (rc == RS_OK && c->slot_ticket != NULL) {
            *out = wait_for_slot(c, patience, now_ns);
            return false;
        }
    }
    if (rc != RS_OK) {
        *out = finish(c, RS_E_LIMITED, RS_STOP_BULKHEAD, now_ns);
        return false;
    }
    c->slot_held = true;
    c->phase = RS__PHASE_BREAKER;
    return true;
}

static void pass_breaker(rs_call_state *c, uint64_t now_ns, rs_step *out)
{
    /* A pause that began while this attempt waited for a bulkhead slot
     * holds it as well: the slot goes back meanwhile, to be taken again
     * after. */
    if (held_after_limits(c, now_ns, out)) {
        release_slot(c);
        return;
    }
    rs_breaker *breaker = c->policy->cfg.breaker;
    if (breaker != NULL) {
        if (rs_breaker_allow_at(breaker, &c->permit, now_ns) != RS_OK) {
            *out = finish(c, RS_E_OPEN, RS_STOP_BREAKER, now_ns);
            return;
        }
        c->permit_held = true;
    }
    c->phase = RS__PHASE_RUNNING;
    c->sent_ns = now_ns;
    RS__POLICY_COUNT(c->policy, attempts, 1);
    *out = step_run();
}

rs_step rs_call_next_at(rs_call_state *c, uint64_t now_ns)
{
    if (c == NULL) {
        return step_done(RS_E_INVAL);
    }
    rs_step out = step_run();
    switch (c->phase) {
    case RS__PHASE_DONE:
        return step_done(c->report.status);
    case RS__PHASE_RUNNING:
        return step_run();
    case RS__PHASE_WAITING:
        /* A call queued for a bulkhead slot looks at its ticket whenever it
         * is asked: its driver may have been woken early. */
        if (now_ns < c->wake_ns && c->slot_ticket == NULL) {
            return (rs_step){ RS_STEP_WAIT, c->wake_ns - now_ns, RS_OK };
        }
        {
            uint64_t waited = now_ns - c->wait_started_ns;
            c->report.waited_ns = rs__sat_add(c->report.waited_ns, waited);
            if (c->waiting_for_limiter) {
                c->report.limiter_wait_ns = rs__sat_add(c->report.limiter_wait_ns, waited);
            }
        }
        c->phase = c->after_wait;
        /* A driver that wakes late (timers rounded up, a slow loop) must not
         * start an attempt past the deadline. */
        if (c->deadline_ns != 0 && now_ns >= c->deadline_ns) {
            return finish(c, RS_E_TIMEOUT, RS_STOP_TIMEOUT, now_ns);
        }
        return rs_call_next_at(c, now_ns);
    case RS__PHASE_ADMIT:
        if (!admit(c, now_ns, &out)) {
            return out;
        }
        /* fall through */
    case RS__PHASE_PAUSE:
        if (!wait_out_pause(c, now_ns, &out)) {
            return out;
        }
        /* fall through */
    case RS__PHASE_RESERVE:
        if (!reserve(c, now_ns, &out)) {
            return out;
        }
        /* fall through */
    case RS__PHASE_LIMITERS:
        if (!pass_limiters(c, now_ns, &out)) {
            return out;
        }
        /* fall through */
    case RS__PHASE_BULKHEAD:
        if (!pass_bulkhead(c, now_ns, &out)) {
            return out;
        }
        /* fall through */
    case RS__PHASE_BREAKER:
        pass_breaker(c, now_ns, &out);
        return out;
    }
    return step_done(RS_E_INVAL);
}

/* After a retryable failure: the delay before the next attempt, or the end. */
static rs_step schedule_retry(rs_call_state *c, uint64_t now_ns)
{
    rs_policy *p = c->policy;
    const rs_policy_config *cfg = &p->cfg;
    const rs_retry_config *retry = &cfg->retry;
    /* An attempt the caller's own quota failed (a 429) says nothing about
     * the service's health: the retry budget neither pays for it nor
     * withholds its retry, which waits for the server's Retry-After. */
    bool judged = !c->attempt.caller_fault;
    if (c->attempt_number >= retry->max_attempts) {
        if (judged) {
            (void)rs__policy_retry_allowed_after_failure(p);
        }
        return finish(c, RS_E_EXHAUSTED, RS_STOP_EXHAUSTED, now_ns);
    }
    if (judged && !rs__policy_retry_allowed_after_failure(p)) {
        return finish(c, RS_E_EXHAUSTED, RS_STOP_RETRY_BUDGET, now_ns);
    }
    uint64_t delay = rs_backoff_delay(&retry->backoff, c->attempt_number, c->prev_delay_ns,
                                      rs__rng_next(&p->rng));
    c->prev_delay_ns = delay;
    /* A server that asked every caller to wait asked this one too. */
    uint64_t retry_after = rs__max_u64(c->attempt.retry_after_ns, c->attempt.pause_ns);
    if (retry->honor_retry_after && retry_after > delay) {
        if (retry->max_retry_after_ns != 0 && retry_after > retry->max_retry_after_ns) {
            /* Retrying earlier than the server asked only earns another 429. */
            return finish(c, RS_E_EXHAUSTED, RS_STOP_RETRY_AFTER, now_ns);
        }
        /* Later by a random part of it, so the calls one 429 stopped do
         * not come back together; never so late that the deadline would
         * end a call the plain Retry-After lets retry. */
        delay = rs__sat_add(retry_after, rs__policy_pause_jitter(p, retry_after));
        if (c->deadline_ns != 0 && rs__sat_add(now_ns, retry_after) < c->deadline_ns) {
            delay = rs__min_u64(delay, c->deadline_ns - now_ns - 1);
        }
    }
    uint64_t retry_at = rs__sat_add(now_ns, delay);
    /* The attempt just made may have tripped the breaker: if it will still
     * be open when the retry is due, stop now rather than sleep first (a
     * refusal the breaker counts as its own). */
    if (cfg->breaker != NULL && rs_breaker_fail_fast_at(cfg->breaker, retry_at)) {
        return finish(c, RS_E_OPEN, RS_STOP_BREAKER, now_ns);
    }
    if (c->deadline_ns != 0 && retry_at >= c->deadline_ns) {
        return finish(c, RS_E_TIMEOUT, RS_STOP_TIMEOUT, now_ns);
    }
    if (cfg->hooks.on_retry != NULL) {
        cfg->hooks.on_retry(cfg->hooks.ctx, &c->attempt, delay);
    }
    emit_about_attempt(c, RS_EVENT_RETRY, delay, now_ns);
    c->report.retries++;
    RS__POLICY_COUNT(p, retries, 1);
    c->attempt_number++;
    return wait_then(c, delay, RS__PHASE_ADMIT, false, now_ns);
}

/* What an attempt says about the server's load, to the concurrency limit:
 * an answer measures it; a refusal that is the caller's fault and may be
 * retried (a 429: over quota, or shed for load) says too much was sent.
 * Other failures are the breaker's business: a service failing a share of
 * its requests (5xx, broken connections) is not asking for fewer, and with
 * a steady few failing, every window would hold one and the limit would
 * sit at its minimum (the storm simulator's flaky service showed it). A
 * slow attempt still counts through the limit's timeout_ns. */
static rs_outcome load_outcome(const rs_attempt *a, rs_verdict verdict)
{
    if (verdict == RS_SUCCESS) {
        return RS_OUTCOME_SUCCESS;
    }
    return verdict == RS_RETRY && a->caller_fault ? RS_OUTCOME_THROTTLED : RS_OUTCOME_IGNORED;
}

/* ... and to the adaptive rate: a throttle is also an answer that asks the
 * caller to wait (a Retry-After, a spent quota). */
static rs_outcome rate_outcome(const rs_attempt *a, rs_verdict verdict)
{
    if (a->retry_after_ns != 0 || a->pause_ns != 0) {
        return RS_OUTCOME_THROTTLED;
    }
    return load_outcome(a, verdict);
}

/* The attempt that ran is over: the breaker judges it (unless it failed by
 * the caller's fault), the bulkhead gets its slot back with the attempt's
 * latency and outcome, the adaptive rate learns the advertised rate and the
 * outcome, and the budget is charged what it used. */
static void settle_attempt(rs_call_state *c, rs_verdict verdict, rs_outcome load,
                           uint64_t tokens_used, uint64_t now_ns)
{
    const rs_policy_config *cfg = &c->policy->cfg;
    if (c->permit_held) {
        if (c->attempt.caller_fault) {
            rs_breaker_release(cfg->breaker, &c->permit);
        } else {
            rs_breaker_record_at(cfg->breaker, &c->permit, verdict == RS_SUCCESS, now_ns);
        }
        c->permit_held = false;
    }
    if (c->slot_held) {
        rs_bulkhead_leave_sample_at(cfg->bulkhead, c->sent_ns, load, now_ns);
        c->slot_held = false;
    }
    if (cfg->adaptive_rate != NULL) {
        /* The server's advertised rate first: the ceiling the outcome's
         * rate change keeps within (0 and bad values are ignored). */
        rs_adaptive_rate_advertise_at(cfg->adaptive_rate, c->attempt.advertised_rate, now_ns);
        rs_adaptive_rate_record_at(cfg->adaptive_rate, rate_outcome(&c->attempt, verdict),
                                   c->sent_ns,
                                   rs__max_u64(c->attempt.retry_after_ns, c->attempt.pause_ns),
                                   now_ns);
    }
    if (c->ticket_held) {
        rs_account_commit(&c->account, &c->ticket, tokens_used);
        c->ticket_held = false;
    }
    c->report.attempts++;
    c->report.last_error = c->attempt.error;
    if (c->attempt.retry_after_ns != 0) {
        c->report.retry_after_ns = c->attempt.retry_after_ns;
    }
    c->attempt.number = c->attempt_number; /* what the hooks see, whatever fn wrote */
}

rs_step rs_call_complete_at(rs_call_state *c, rs_verdict verdict, uint64_t now_ns)
{
    if (c == NULL) {
        return step_done(RS_E_INVAL);
    }
    if (c->phase != RS__PHASE_RUNNING) {
        return rs_call_next_at(c, now_ns);
    }
    settle_attempt(c, verdict, load_outcome(&c->attempt, verdict), c->attempt.tokens_used, now_ns);
    const rs_policy_config *cfg = &c->policy->cfg;
    if (cfg->share_server_pause && cfg->retry.honor_retry_after) {
        uint64_t paused = rs__policy_pause(
            c->policy, rs__max_u64(c->attempt.retry_after_ns, c->attempt.pause_ns), now_ns);
        if (paused != 0) {
            emit_about_attempt(c, RS_EVENT_SERVER_PAUSE, paused, now_ns);
        }
    }
    switch (verdict) {
    case RS_SUCCESS:
        rs__policy_record_success(c->policy);
        return finish(c, RS_OK, RS_STOP_SUCCESS, now_ns);
    case RS_RETRY:
        return schedule_retry(c, now_ns);
    case RS_FAIL:
    default:
        return finish(c, RS_E_FAILED, RS_STOP_FAILED, now_ns);
    }
}

rs_step rs_call_next(rs_call_state *c)
{
    return c != NULL ? rs_call_next_at(c, rs_clock_now(c->policy->clock)) : step_done(RS_E_INVAL);
}

rs_step rs_call_complete(rs_call_state *c, rs_verdict verdict)
{
    return c != NULL ? rs_call_complete_at(c, verdict, rs_clock_now(c->policy->clock))
                     : step_done(RS_E_INVAL);
}

rs_attempt *rs_call_attempt(rs_call_state *c)
{
    return c != NULL ? &c->attempt : NULL;
}

size_t rs_call_state_size(void)
{
    return sizeof(rs_call_state);
}

int rs_call_begin_in_at(rs_policy *p, const rs_call_options *opts, void *memory, size_t size,
                        rs_call_state **out, uint64_t now_ns)
{
    if (p == NULL || memory == NULL || out == NULL) {
        return rs_set_last_error(RS_E_INVAL, "rs_call_begin_in: %s is NULL",
                                 p == NULL ? "p" : memory == NULL ? "memory" : "out");
    }
    if (size < sizeof(rs_call_state)) {
        return rs_set_last_error(RS_E_INVAL, "rs_call_begin_in: size %zu, needs %zu", size,
                                 sizeof(rs_call_state));
    }
    if ((uintptr_t)memory % _Alignof(max_align_t) != 0) {
        return rs_set_last_error(RS_E_INVAL, "rs_call_begin_in: memory is not aligned to %zu",
                                 (size_t)_Alignof(max_align_t));
    }
    int rc = check_options(p, opts);
    if (rc != RS_OK) {
        return rc;
    }
    rs_call_state *c = memory;
    call_init(c, p, opts, now_ns);
    c->caller_memory = true;
    *out = c;
    return RS_OK;
}

int rs_call_begin_in(rs_policy *p, const rs_call_options *opts, void *memory, size_t size,
                     rs_call_state **out)
{
    return rs_call_begin_in_at(p, opts, memory, size, out, p != NULL ? rs_clock_now(p->clock) : 0);
}

int rs_call_begin_at(rs_policy *p, const rs_call_options *opts, rs_call_state **out,
                     uint64_t now_ns)
{
    if (p == NULL || out == NULL) {
        return rs_set_last_error(RS_E_INVAL, "rs_call_begin: %s is NULL", p == NULL ? "p" : "out");
    }
    int rc = check_options(p, opts);
    if (rc != RS_OK) {
        return rc;
    }
    rs_call_state *c = rs__malloc(sizeof *c);
    if (c == NULL) {
        return RS_E_NOMEM;
    }
    call_init(c, p, opts, now_ns);
    *out = c;
    return RS_OK;
}

int rs_call_begin(rs_policy *p, const rs_call_options *opts, rs_call_state **out)
{
    return rs_call_begin_at(p, opts, out, p != NULL ? rs_clock_now(p->clock) : 0);
}

/* Ends the call (abandoning it if needed) and copies the report. An
 * attempt abandoned while running was sent: the service had it and did not
 * answer in time, so the breaker counts a failure and the budget keeps at
 * least the estimate. */
static void call_end(rs_call_state *c, rs_call_report *report, uint64_t now_ns)
{
    if (c->phase == RS__PHASE_RUNNING) {
        /* Its answer never came in time: a timeout, to the bulkhead's limit. */
        settle_attempt(c, RS_FAIL, RS_OUTCOME_THROTTLED,
                       rs__max_u64(c->attempt.tokens_used, c->ticket.reserved), now_ns);
    }
    if (c->phase != RS__PHASE_DONE) {
        (void)finish(c, RS_E_TIMEOUT, RS_STOP_ABANDONED, now_ns);
    }
    if (report != NULL) {
        *report = c->report;
    }
}

void rs_call_end_at(rs_call_state *c, rs_call_report *report, uint64_t now_ns)
{
    if (c != NULL) {
        call_end(c, report, now_ns);
        if (!c->caller_memory) {
            rs__free(c);
        }
    }
}

void rs_call_end(rs_call_state *c, rs_call_report *report)
{
    if (c != NULL) {
        rs_call_end_at(c, report, rs_clock_now(c->policy->clock));
    }
}

int rs_call_with(rs_policy *p, const rs_call_options *opts, rs_fn fn, void *ctx,
                 rs_call_report *report)
{
    int rc = p == NULL || fn == NULL
                 ? rs_set_last_error(RS_E_INVAL, "rs_call: %s is NULL", p == NULL ? "p" : "fn")
                 : check_options(p, opts);
    if (rc != RS_OK) {
        if (report != NULL) {
            memset(report, 0, sizeof *report);
            report->status = rc;
        }
        return rc;
    }
    const rs_clock *clock = p->clock;
    rs_call_state c; /* on the stack: the blocking driver never allocates */
    call_init(&c, p, opts, rs_clock_now(clock));
    c.blocking = true;
    if (c.context == NULL) {
        c.context = ctx; /* what fn writes its answer into: the fallback's too */
    }
    rs_step s = rs_call_next_at(&c, c.start_ns);
    while (s.action != RS_STEP_DONE) {
        if (s.action == RS_STEP_RUN) {
            rs_verdict verdict = fn(ctx, &c.attempt);
            s = rs_call_complete_at(&c, verdict, rs_clock_now(clock));
        } else {
            rs_clock_sleep(clock, s.wait_ns);
            s = rs_call_next_at(&c, rs_clock_now(clock));
        }
    }
    /* DONE comes only from finish(): nothing is left to end, so no clock
     * read for an abandonment that cannot happen. */
    if (report != NULL) {
        *report = c.report;
    }
    return s.status;
}

int rs_call(rs_policy *p, rs_fn fn, void *ctx)
{
    return rs_call_with(p, NULL, fn, ctx, NULL);
}
