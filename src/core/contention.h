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
 * thread alternating between objects, or writing one rarely, never spins.
 * Every write a thread makes to such a word goes through rs__note_write()
 * or rs__note_rewrite(), so that its own writes never look foreign. */
#ifndef RS_CORE_CONTENTION_H
#define RS_CORE_CONTENTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/atomics.h"
#include "core/tls.h"

/* A write counts as "moments ago" below this age, in the time base the
 * caller acts on: long enough to cover one spin plus the next operation,
 * short enough that threads taking from one object now and then never
 * spin. */
#define RS__CONTENTION_WINDOW_NS 4000u

/* How long a hand-off spins: enough for dozens of the other thread's
 * updates with the line local, little next to the remote call a limiter
 * guards. The cost of a pause instruction differs tenfold between CPUs, so
 * the first hand-off in the process times a few of them on the system
 * clock and sets the count; later hand-offs spin without reading it. */
#define RS__CONTENTION_SPIN_NS 1000u

typedef struct rs__last_write {
    const void *word;
    uint64_t value;     /* what this thread stored */
    uint64_t now_ns;    /* the time it acted on */
    uint64_t hand_offs; /* spins so far: for tests, off the hot path */
} rs__last_write;

/* The calling thread's last write (32 bytes of thread-local storage, in
 * the model core/tls.h describes). */
extern _Thread_local rs__last_write rs__my_last_write RS__TLS_MODEL;

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

/* Pause instructions per hand-off; 0 until the first one measured them. */
extern _Atomic uint32_t rs__hand_off_pauses;

/* The first hand-off's measurement (contention.c): times a few samples of
 * pauses on the system clock, stores and returns the count for the spin. */
uint32_t rs__calibrate_hand_off(void);

/* The count for a spin of RS__CONTENTION_SPIN_NS when the fastest sample
 * took sample_ns (0: the clock did not see it), within fixed bounds. */
uint32_t rs__hand_off_pauses_for(uint64_t sample_ns);

/* Lets the other thread keep the line for a while. */
static inline void rs__hand_off_line(void)
{
    rs__my_last_write.hand_offs++;
    uint32_t pauses = atomic_load_explicit(&rs__hand_off_pauses, memory_order_relaxed);
    if (pauses == 0) {
        pauses = rs__calibrate_hand_off();
    }
    for (uint32_t i = 0; i < pauses; i++) {
        rs__cpu_relax();
    }
}

/* This thread stored `value` in `word`, acting at `now_ns`. */
static inline void rs__note_write(const void *word, uint64_t value, uint64_t now_ns)
{
    rs__last_write *mine = &rs__my_last_write;
    mine->word = word;
    mine->value = value;
    mine->now_ns = now_ns;
}

/* This thread changed `word` again without a time of its own (a refund, a
 * rate change): if its last write was there, the new value is ours too. */
static inline void rs__note_rewrite(const void *word, uint64_t value)
{
    if (rs__my_last_write.word == word) {
        rs__my_last_write.value = value;
    }
}

/* The object at [object, object + size) is going away: a new one at the
 * same address is not ours. (Other threads' records of it stay; their
 * next grant there may spin once.) */
static inline void rs__forget_writes_within(const void *object, size_t size)
{
    uintptr_t word = (uintptr_t)rs__my_last_write.word;
    if (word - (uintptr_t)object < size) {
        rs__my_last_write.word = NULL;
    }
}

#endif /* RS_CORE_CONTENTION_H */
