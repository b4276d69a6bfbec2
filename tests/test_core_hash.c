/* The core's SipHash against the reference implementation's published
 * vectors (key 00 01 .. 0f, message 00 01 .. of each length), and the seed
 * rules. Links the static library, where the rs__ helpers are visible. */
#include "support/testing.h"

#include "core/hash.h"

static const rs__hash_key reference_key = { UINT64_C(0x0706050403020100),
                                            UINT64_C(0x0f0e0d0c0b0a0908) };

typedef struct vector {
    size_t len; /* of the message 00 01 02 ... */
    uint64_t hash;
} vector;

static void check_vectors(uint64_t (*hash)(const rs__hash_key *, const void *, size_t),
                          const vector *vectors, size_t count)
{
    unsigned char message[64];
    for (unsigned i = 0; i < sizeof message; i++) {
        message[i] = (unsigned char)i;
    }
    for (size_t i = 0; i < count; i++) {
        assert_int_equal(hash(&reference_key, message, vectors[i].len), vectors[i].hash);
    }
}

static void siphash24_matches_the_reference_vectors(void **state)
{
    (void)state;
    static const vector vectors[] = {
        { 0, UINT64_C(0x726fdb47dd0e0e31) },  { 1, UINT64_C(0x74f839c593dc67fd) },
        { 7, UINT64_C(0xab0200f58b01d137) },  { 8, UINT64_C(0x93f5f5799a932462) },
        { 15, UINT64_C(0xa129ca6149be45e5) }, { 63, UINT64_C(0x958a324ceb064572) },
    };
    check_vectors(rs__siphash24, vectors, RS_TEST_ARRAY_LEN(vectors));
    /* The empty message may come as a NULL pointer. */
    assert_int_equal(rs__siphash24(&reference_key, NULL, 0), vectors[0].hash);
}

static void siphash13_matches_the_reference_vectors(void **state)
{
    (void)state;
    static const vector vectors[] = {
        { 0, UINT64_C(0xabac0158050fc4dc) },  { 1, UINT64_C(0xc9f49bf37d57ca93) },
        { 8, UINT64_C(0x369095118d299a8e) },  { 15, UINT64_C(0xd320d86d2a519956) },
        { 63, UINT64_C(0x9d199062b7bbb3a8) },
    };
    check_vectors(rs__siphash13, vectors, RS_TEST_ARRAY_LEN(vectors));
}

static void seeds_give_keys(void **state)
{
    (void)state;
    rs__hash_key a = rs__hash_key_from_seed(1);
    rs__hash_key b = rs__hash_key_from_seed(1);
    rs__hash_key c = rs__hash_key_from_seed(2);
    assert_int_equal(a.k0, b.k0);
    assert_int_equal(a.k1, b.k1);
    assert_true(a.k0 != c.k0 && a.k1 != c.k1 && a.k0 != a.k1);
    /* Seed 0: a secret key from the OS, different each time. */
    rs__hash_key o1 = rs__hash_key_from_seed(0);
    rs__hash_key o2 = rs__hash_key_from_seed(0);
    assert_true(o1.k0 != o2.k0 || o1.k1 != o2.k1);
    /* The key changes every hash: what makes collisions unpredictable. */
    assert_true(rs__siphash13(&a, "user-1", 6) != rs__siphash13(&c, "user-1", 6));
    assert_true(rs__siphash13(&a, "user-1", 6) != rs__siphash13(&a, "user-2", 6));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(siphash24_matches_the_reference_vectors),
        cmocka_unit_test(siphash13_matches_the_reference_vectors),
        cmocka_unit_test(seeds_give_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
