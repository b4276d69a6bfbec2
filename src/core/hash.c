#include "core/hash.h"

#include "core/rng.h"

static inline uint64_t rotl(uint64_t x, unsigned bits)
{
    return (x << bits) | (x >> (64u - bits));
}

/* Little-endian load of n <= 8 bytes, whatever the host's byte order. */
static inline uint64_t load_le(const unsigned char *p, size_t n)
{
    uint64_t word = 0;
    for (size_t i = 0; i < n; i++) {
        word |= (uint64_t)p[i] << (8 * i);
    }
    return word;
}

typedef struct sip_state {
    uint64_t v0, v1, v2, v3;
} sip_state;

static inline void sip_rounds(sip_state *s, int rounds)
{
    for (int i = 0; i < rounds; i++) {
        s->v0 += s->v1;
        s->v1 = rotl(s->v1, 13);
        s->v1 ^= s->v0;
        s->v0 = rotl(s->v0, 32);
        s->v2 += s->v3;
        s->v3 = rotl(s->v3, 16);
        s->v3 ^= s->v2;
        s->v0 += s->v3;
        s->v3 = rotl(s->v3, 21);
        s->v3 ^= s->v0;
        s->v2 += s->v1;
        s->v1 = rotl(s->v1, 17);
        s->v1 ^= s->v2;
        s->v2 = rotl(s->v2, 32);
    }
}

/* Inlined into the two wrappers, so the round counts are constants. */
static inline uint64_t siphash(const rs__hash_key *key, const void *data, size_t len,
                               int compression_rounds, int final_rounds)
{
    sip_state s = {
        key->k0 ^ UINT64_C(0x736f6d6570736575),
        key->k1 ^ UINT64_C(0x646f72616e646f6d),
        key->k0 ^ UINT64_C(0x6c7967656e657261),
        key->k1 ^ UINT64_C(0x7465646279746573),
    };
    const unsigned char *p = data;
    size_t whole = len - len % 8;
    for (size_t i = 0; i < whole; i += 8) {
        uint64_t m = load_le(p + i, 8);
        s.v3 ^= m;
        sip_rounds(&s, compression_rounds);
        s.v0 ^= m;
    }
    /* The last block carries the length's low byte in its top byte. */
    uint64_t tail = len % 8 != 0 ? load_le(p + whole, len % 8) : 0; /* data may be NULL if len is 0 */
    uint64_t last = tail | ((uint64_t)(len & 0xff) << 56);
    s.v3 ^= last;
    sip_rounds(&s, compression_rounds);
    s.v0 ^= last;
    s.v2 ^= 0xff;
    sip_rounds(&s, final_rounds);
    return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

uint64_t rs__siphash13(const rs__hash_key *key, const void *data, size_t len)
{
    return siphash(key, data, len, 1, 3);
}

uint64_t rs__siphash24(const rs__hash_key *key, const void *data, size_t len)
{
    return siphash(key, data, len, 2, 4);
}

rs__hash_key rs__hash_key_from_seed(uint64_t seed)
{
    rs__hash_key key;
    if (seed == 0) {
        key.k0 = rs__os_seed();
        key.k1 = rs__os_seed();
    } else {
        /* Two different bijective mixes of the seed: distinct seeds give
         * distinct keys. */
        key.k0 = rs__mix64(seed);
        key.k1 = rs__mix64(seed ^ UINT64_C(0x9E3779B97F4A7C15));
    }
    return key;
}
