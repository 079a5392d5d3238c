/* The module RNG: output from the DRBG, and the continuous test failing closed on a stuck
 * source. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "base/ossl.h"
#include "mech/mech.h"
#include "mech/rng.h"

static int setup(void **state)
{
    (void)state;
    return secmem_init() || ossl_open() ? -1 : 0;
}

static int teardown(void **state)
{
    (void)state;
    rng_test_force_stuck(false);
    ossl_close();
    return 0;
}

static bool all_equal(const uint8_t *b, size_t n, uint8_t v)
{
    for (size_t i = 0; i < n; i++)
        if (b[i] != v)
            return false;
    return true;
}

static void test_output(void **state)
{
    (void)state;
    static const size_t lens[] = { 1, 15, 16, 17, 31, 32, 33, 1023, 1024, 1025, 100000 };
    uint8_t *a = malloc(100000), *b = malloc(100000);
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(mech_random(a, 0), CKR_OK);
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        size_t n = lens[i];
        memset(a, 0, n);
        memset(b, 0, n);
        assert_int_equal(mech_random(a, n), CKR_OK);
        assert_int_equal(mech_random(b, n), CKR_OK);
        if (n >= 16) {
            assert_memory_not_equal(a, b, n);
            assert_false(all_equal(a, n, 0));
        }
    }
    /* the whole buffer is written, to the last byte */
    memset(a, 0, 100000);
    assert_int_equal(mech_random(a, 100000), CKR_OK);
    assert_false(all_equal(a + 100000 - 16, 16, 0));
    free(a);
    free(b);
}

/* A stuck source (constant output) trips the continuous test: the call fails, the caller
 * gets no stuck bytes, the failure is counted; releasing the source restores service. */
static void test_stuck_source_fails_closed(void **state)
{
    (void)state;
    uint8_t buf[64];
    unsigned long before = rng_health_failures();

    rng_test_force_stuck(true);
    memset(buf, 0x11, sizeof buf);
    assert_int_equal(mech_random(buf, sizeof buf), CKR_FUNCTION_FAILED);
    assert_false(all_equal(buf, sizeof buf, 0x5a)); /* not handed out */
    assert_true(all_equal(buf, sizeof buf, 0));     /* wiped */
    assert_int_equal(rng_health_failures(), before + 1);

    /* one block per call: the repeat is caught across calls */
    uint8_t one[16];
    CK_RV r1 = mech_random(one, sizeof one);
    CK_RV r2 = mech_random(one, sizeof one);
    assert_true(r1 == CKR_FUNCTION_FAILED || r2 == CKR_FUNCTION_FAILED);
    assert_int_equal(r2, CKR_FUNCTION_FAILED);
    assert_true(rng_health_failures() >= before + 2);

    rng_test_force_stuck(false);
    assert_int_equal(mech_random(buf, sizeof buf), CKR_OK);
    assert_false(all_equal(buf, sizeof buf, 0x5a));
}

/* The module's other random bytes (salts, nonces, token keys, handles) come from the same
 * checked source: a stuck generator fails ossl_random too, and hands out nothing. */
static void test_stuck_source_fails_internal_draws(void **state)
{
    (void)state;
    uint8_t salt[32];
    unsigned long before = rng_health_failures();
    rng_test_force_stuck(true);
    memset(salt, 0x11, sizeof salt);
    int r1 = ossl_random(salt, 16), r2 = ossl_random(salt, sizeof salt);
    assert_true(r1 != 0 || r2 != 0);
    assert_int_not_equal(r2, 0);
    assert_true(all_equal(salt, sizeof salt, 0)); /* wiped, not the stuck bytes */
    assert_true(rng_health_failures() > before);
    rng_test_force_stuck(false);
    assert_int_equal(ossl_random(salt, sizeof salt), 0);
    assert_false(all_equal(salt, sizeof salt, 0x5a));
}

static void *work(void *arg)
{
    int *ok = arg;
    uint8_t b[200];
    *ok = 1;
    for (int i = 0; i < 2000; i++)
        if (mech_random(b, 1 + (size_t)i % sizeof b) != CKR_OK)
            *ok = 0;
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    pthread_t t[8];
    int ok[8];
    for (int i = 0; i < 8; i++)
        assert_int_equal(pthread_create(&t[i], NULL, work, &ok[i]), 0);
    for (int i = 0; i < 8; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(ok[i], 1);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_output),
        cmocka_unit_test(test_stuck_source_fails_closed),
        cmocka_unit_test(test_stuck_source_fails_internal_draws),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
