/* Seeded randomness for the simulator: splitmix64, which needs one word of
 * state, so every client, and the server, can own a stream of its own and a
 * run is reproduced exactly from its seed. */
#ifndef STORM_RANDOM_H
#define STORM_RANDOM_H

#include <math.h>
#include <stdint.h>

static inline uint64_t random_next(uint64_t *state)
{
    uint64_t z = (*state += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/* Uniform in (0, 1]: never 0, so its logarithm is finite. */
static inline double random_unit(uint64_t *state)
{
    return ((double)(random_next(state) >> 11) + 1.0) * 0x1.0p-53;
}

/* Gap before the next event of a Poisson process of `rate_per_s`, in ns. */
static inline uint64_t random_gap_ns(uint64_t *state, double rate_per_s)
{
    return (uint64_t)(-log(random_unit(state)) / rate_per_s * 1e9);
}

/* A seed for stream `index` of a run seeded with `seed`: distinct streams
 * for the clients, never 0 (which the library reads as "seed from the
 * operating system"). */
static inline uint64_t random_stream_seed(uint64_t seed, uint64_t index)
{
    uint64_t state = seed ^ (index * UINT64_C(0xD1B54A32D192ED03));
    uint64_t s = random_next(&state);
    return s != 0 ? s : 1;
}

#endif /* STORM_RANDOM_H */
