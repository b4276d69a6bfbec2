/* Shared between policy.c (the policy object, retry budget, counters),
 * call.c (the step machine and its two drivers) and client.c. Not
 * installed. */
#ifndef RS_POLICY_INTERNAL_H
#define RS_POLICY_INTERNAL_H

#include <stdbool.h>

#include "core/alloc.h"
#include "core/atomics.h"
#include "core/rng.h"
#include "core/tally.h"
#include "resilience/events.h"
#include "resilience/policy.h"

/* One thread's shard of the policy's counters (core/tally.h): every call
 * counts on the calling thread's own cache line, with plain stores. */
typedef struct rs__policy_counters {
    _Alignas(RS__CACHE_LINE) rs__atomic_u64 calls;
    rs__atomic_u64 successes, failures, exhausted, timeouts, attempts, retries;
    rs__atomic_u64 rejected_limiter, rejected_breaker, rejected_budget, rejected_retry_budget;
    rs__atomic_u64 rejected_server_pause, server_pauses, rejected_bulkhead, fallbacks;
    rs__atomic_u64 elapsed_ns, waited_ns, limiter_wait_ns; /* of the calls that ended */
} rs__policy_counters;

/* Adds n to counter `field` of policy p, on this thread's shard. */
#define RS__POLICY_COUNT(p, field, n) RS__TALLY_ADD((p)->counters, field, n)

struct rs_policy {
    rs_policy_config cfg;
    /* The adaptive rate (when set), then cfg.limits without the empty
     * slots, in order: one loop asks them all. */
    rs_limit limits[RS_POLICY_MAX_LIMITS + 1];
    unsigned limit_count;
    const rs_clock *clock;
    rs__rng rng; /* jitter for every call on the policy */
    /* gRPC retry throttling in micro-tokens: starts full, -10^6 per failed
     * attempt, +ratio*10^6 per success; retries only while above half. */
    rs__atomic_u64 retry_micro_tokens;
    uint64_t retry_max_micro;
    uint64_t retry_ratio_micro;
    /* The shared server pause: no attempt starts before this instant on
     * the policy's clock. Only ever moves forward. */
    rs__atomic_u64 pause_until_ns;
    rs__atomic_u64 pause_length_ns; /* of the pause that set pause_until_ns */
    rs__policy_counters counters[RS__TALLY_SHARDS];
    char name[]; /* cfg.name points here: "" for none */
};

/* Where a call is between two instructions. */
typedef enum rs__call_phase {
    RS__PHASE_ADMIT,   /* about to start attempt `attempt.number` */
    RS__PHASE_PAUSE,   /* waiting out the policy's shared server pause */
    RS__PHASE_RESERVE, /* about to reserve from the account */
    RS__PHASE_LIMITERS, /* asking limit `limit_index` */
    RS__PHASE_BULKHEAD, /* limiters passed; take a bulkhead slot */
    RS__PHASE_BREAKER, /* holding the slot (if any); ask the breaker */
    RS__PHASE_RUNNING, /* fn is running */
    RS__PHASE_WAITING, /* a timer is running until wake_ns */
    RS__PHASE_DONE
} rs__call_phase;

struct rs_call_state {
    rs_policy *policy;
    rs_attempt attempt;         /* what fn sees (and may scribble on) */
    uint32_t attempt_number;    /* the machine's own count, 1-based */
    rs_call_report report;
    rs__call_phase phase;
    rs__call_phase after_wait; /* phase to resume when wake_ns is reached */
    uint64_t wake_ns;
    uint64_t wait_started_ns;
    bool waiting_for_limiter;   /* the current wait counts as limiter wait */
    uint64_t start_ns;
    uint64_t deadline_ns;       /* 0 = none */
    uint64_t limiter_until_ns;  /* this attempt's limiter waits end here */
    unsigned limit_index;       /* next limit to ask */
    uint64_t token_estimate;
    rs_account account;         /* the budget charged: the policy's or this call's */
    uint64_t prev_delay_ns;     /* decorrelated jitter's memory */
    rs_account_ticket ticket;
    bool ticket_held;
    rs_permit permit;
    bool permit_held;
    bool slot_held;             /* a bulkhead slot */
    rs_bulkhead_ticket *slot_ticket; /* a place in the bulkhead's queue, or NULL */
    uint64_t sent_ns;           /* when the running attempt started */
    void *context;              /* the call's own: the fallback's call_ctx, wake's argument */
    void (*wake)(void *context);
    bool blocking;              /* driven by rs_call_with(): may block on the bulkhead */
    bool repace;                /* held by a pause after its limits: the adaptive rate again */
    bool caller_memory;         /* placed by rs_call_begin_in: end does not free it */
};

/* rs_policy_config_validate() for a client's policy before the client has
 * created the modules it will point to: `will_charge_tokens` says that an
 * own budget or token bucket will charge the estimate. */
int rs__policy_config_check(const rs_policy_config *cfg, const rs_clock *clock,
                            bool will_charge_tokens);

/* Retry budget: records a failed attempt; true if a retry is allowed. */
bool rs__policy_retry_allowed_after_failure(rs_policy *p);
void rs__policy_record_success(rs_policy *p);

/* The shared server pause: starts (or lengthens) a pause of pause_ns from
 * now_ns, capped at retry.max_retry_after_ns; 0 does nothing. Returns the
 * length of the pause it set from now_ns, 0 when it set none (a pause as
 * long or longer was in force). */
uint64_t rs__policy_pause(rs_policy *p, uint64_t pause_ns, uint64_t now_ns);
/* When the pause ends (0 or a past instant: none), and how long it was. */
uint64_t rs__policy_pause_until(rs_policy *p);
uint64_t rs__policy_pause_length(rs_policy *p);
/* A random extra wait after a server-requested wait of wait_ns:
 * uniform in [0, retry_after_jitter * wait_ns]. */
uint64_t rs__policy_pause_jitter(rs_policy *p, uint64_t wait_ns);

/* Delivers an event of the policy to its hook, if it has one, filling in
 * the source: the caller sets the kind and what the kind says. */
void rs__policy_emit(const rs_policy *p, rs_event *e);

/* Whether the policy has an event hook: the emission points build no
 * event without one. */
static inline bool rs__policy_hears(const rs_policy *p)
{
    return p->cfg.events.fn != NULL;
}

#endif /* RS_POLICY_INTERNAL_H */
