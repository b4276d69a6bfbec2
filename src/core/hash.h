/* Keyed hashing for tables whose keys come from outside (user ids, API keys,
 * host names).
 *
 * SipHash (Aumasson and Bernstein, 2012) is a pseudo-random function of a
 * 128-bit secret key: without the key an attacker cannot choose keys that
 * collide, so a hash table fed with attacker-controlled strings keeps its
 * O(1) average (no hash flooding, "HashDoS"). Unseeded or weakly seeded
 * non-cryptographic hashes (FNV, MurmurHash, CityHash) have seed-independent
 * collision families and do not give that. SipHash-1-3 is the variant Rust's
 * and Python's hash tables use: one compression round per 8-byte word, three
 * finalisation rounds; SipHash-2-4 is the conservative original, kept for its
 * published test vectors. */
#ifndef RS_CORE_HASH_H
#define RS_CORE_HASH_H

#include <stddef.h>
#include <stdint.h>

typedef struct rs__hash_key {
    uint64_t k0, k1;
} rs__hash_key;

/* A secret key: from the operating system when seed is 0 (what a server
 * facing untrusted keys wants), else derived from seed (reproducible tests). */
rs__hash_key rs__hash_key_from_seed(uint64_t seed);

uint64_t rs__siphash13(const rs__hash_key *key, const void *data, size_t len);
uint64_t rs__siphash24(const rs__hash_key *key, const void *data, size_t len);

#endif /* RS_CORE_HASH_H */
