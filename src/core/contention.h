/* Handing a hot cache line to the thread that is using it.
 *
 * A lock-free word that two threads update back to back moves between
 * their cores on every update, and each move costs more than the update
 * itself; a mutex hides that cost by putting the loser to sleep, so the
 * winner runs many critical sections with the line local. This is the
 * lock-free counterpart: a thread that is about to write a word it wrote
 * itself moments ago, and finds that another thread has written it since,
 * spins briefly before its compare-exchange, so the other thread's next
 * updates find the line still in their cache. The spin is bounded and
 * happens at most once per operation, and the thread that wrote last never
 * spins, so no thread ever waits for another: the caller stays lock-free.
 *
 * Each thread remembers only its last write (word, value, time), so a
 * thread alternating between objects, or writing one rarely, never spins. */
#ifndef RS_CORE_CONTENTION_H
#define RS_CORE_CONTENTION_H

#include <stdbool.h>
#include <stdint.h>

#include "core/atomics.h"

/* A write counts as "moments ago" below this age: long enough to cover one
 * spin plus the next operation on CPUs with a slow pause instruction, short
 * enough that threads taking from one object now and then never spin. */
#define RS__CONTENTION_WINDOW_NS 4000u

/* Pause instructions per hand-off: ~0.6 us where a pause takes ~10 ns,
 * enough for dozens of the other thread's updates with the line local. */
#define RS__CONTENTION_SPINS 64u

typedef struct rs__last_write {
    const void *word;
    uint64_t value;  /* what this thread stored */
    uint64_t now_ns; /* the time it acted on */
} rs__last_write;

/* The calling thread's last write; initial-exec so that reading it is one
 * thread-pointer-relative load even in the shared library (no lazy
 * allocation by the dynamic loader on a thread's first use). */
#if defined(__GNUC__) && !defined(_WIN32)
#define RS__TLS_FAST __attribute__((tls_model("initial-exec")))
#else
#define RS__TLS_FAST
#endif
extern _Thread_local rs__last_write rs__my_last_write RS__TLS_FAST;

/* True when this thread wrote `word` within the window before `now_ns`
 * and it no longer holds what this thread stored: another thread is
 * writing it back to back with us. A time before the remembered one (an
 * explicit-time caller going backwards) is not "moments ago". */
static inline bool rs__contended(const void *word, uint64_t seen, uint64_t now_ns)
{
    const rs__last_write *mine = &rs__my_last_write;
    return mine->word == word && mine->value != seen &&
           now_ns - mine->now_ns < RS__CONTENTION_WINDOW_NS;
}

/* Lets the other thread keep the line for a while. */
static inline void rs__hand_off_line(void)
{
    for (unsigned i = 0; i < RS__CONTENTION_SPINS; i++) {
        rs__cpu_relax();
    }
}

static inline void rs__note_write(const void *word, uint64_t value, uint64_t now_ns)
{
    rs__my_last_write = (rs__last_write){ word, value, now_ns };
}

#endif /* RS_CORE_CONTENTION_H */
