/* Seedable, thread-safe random numbers for jitter.
 *
 * splitmix64 over one atomic counter: every draw is a single fetch-add plus a
 * mixing function, so concurrent callers never lock and a fixed seed gives a
 * reproducible sequence on one thread. Statistical quality is far beyond what
 * jitter needs; it is not for cryptography. */
#ifndef RS_CORE_RNG_H
#define RS_CORE_RNG_H

#include <stdint.h>

#include "core/atomics.h"

typedef struct rs__rng {
    rs__atomic_u64 state;
} rs__rng;

/* seed 0 draws the seed from the operating system (getrandom). */
void rs__rng_seed(rs__rng *rng, uint64_t seed);
uint64_t rs__rng_next(rs__rng *rng);
/* A non-zero seed from the operating system, with a time-based fallback. */
uint64_t rs__os_seed(void);
/* The splitmix64 finaliser: a bijective mix of 64 bits. */
uint64_t rs__mix64(uint64_t x);

#endif /* RS_CORE_RNG_H */
