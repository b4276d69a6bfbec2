#include "core/rng.h"

#include <errno.h>
#include <sys/random.h>
#include <time.h>

#define GOLDEN_GAMMA UINT64_C(0x9E3779B97F4A7C15)

uint64_t rs__mix64(uint64_t x)
{
    x = (x ^ (x >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    x = (x ^ (x >> 27)) * UINT64_C(0x94D049BB133111EB);
    return x ^ (x >> 31);
}

uint64_t rs__os_seed(void)
{
    uint64_t seed = 0;
    ssize_t got;
    do {
        got = getrandom(&seed, sizeof seed, 0);
    } while (got < 0 && errno == EINTR);
    if (got != (ssize_t)sizeof seed) {
        /* No entropy source (old kernel, seccomp): distinct enough for jitter,
         * which only needs clients not to be in lockstep. */
        struct timespec ts;
        (void)clock_gettime(CLOCK_REALTIME, &ts);
        seed = rs__mix64((uint64_t)ts.tv_sec * UINT64_C(1000000000) + (uint64_t)ts.tv_nsec);
        seed ^= rs__mix64((uint64_t)(uintptr_t)&seed);
    }
    return seed == 0 ? GOLDEN_GAMMA : seed;
}

void rs__rng_seed(rs__rng *rng, uint64_t seed)
{
    atomic_init(&rng->state, seed == 0 ? rs__os_seed() : seed);
}

uint64_t rs__rng_next(rs__rng *rng)
{
    uint64_t x = atomic_fetch_add_explicit(&rng->state, GOLDEN_GAMMA, memory_order_relaxed);
    return rs__mix64(x + GOLDEN_GAMMA);
}
