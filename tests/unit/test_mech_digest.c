/* Digest mechanisms: FIPS 180-4 / FIPS 202 known answers, multi-part, C_DigestKey, length
 * rules and operation state. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "base/ossl.h"
#include "mech/mech.h"
#include "mech_util.h"

/* mech.c refers to the family tables weakly, which does not pull their objects out of the
 * static archive: name the table so the linker includes it. */
extern const struct mech_table mech_digest_table;
static const struct mech_table *volatile g_linked = &mech_digest_table;

static int setup(void **state)
{
    (void)state;
    if (!g_linked)
        return -1;
    return mu_mech_open();
}

static const CK_MECHANISM_TYPE all_mechs[] = {
    CKM_SHA_1,      CKM_SHA224,     CKM_SHA256,   CKM_SHA384,   CKM_SHA512,  CKM_SHA512_224,
    CKM_SHA512_256, CKM_SHA3_224,   CKM_SHA3_256, CKM_SHA3_384, CKM_SHA3_512,
};
#define NMECHS (sizeof all_mechs / sizeof all_mechs[0])

static struct mech_ctx *start(CK_MECHANISM_TYPE t)
{
    const struct mech_def *d = mech_find(t);
    assert_non_null(d);
    assert_true(d->flags & CKF_DIGEST);
    CK_MECHANISM m = { t, NULL, 0 };
    struct mech_ctx *c = NULL;
    assert_int_equal(d->family->init(d, CKF_DIGEST, &m, NULL, &c), CKR_OK);
    assert_non_null(c);
    return c;
}

static void done(struct mech_ctx *c)
{
    c->def->family->free(c);
}

static size_t digest_once(CK_MECHANISM_TYPE t, const uint8_t *in, size_t len, uint8_t *out)
{
    struct mech_ctx *c = start(t);
    CK_ULONG ol = 64;
    assert_int_equal(c->def->family->oneshot(c, in, len, out, &ol), CKR_OK);
    done(c);
    return ol;
}

static void check_kat(CK_MECHANISM_TYPE t, const char *msg, const char *hex)
{
    uint8_t want[64], got[64];
    size_t wl = mu_unhex_unchecked(hex, want);
    size_t gl = digest_once(t, (const uint8_t *)msg, strlen(msg), got);
    assert_int_equal(gl, wl);
    assert_memory_equal(got, want, wl);
}

#define ABC "abc"
#define M448 "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"

/* FIPS 180-4 example values (NIST CSRC "Examples with intermediate values"). */
static void test_sha2_kat(void **state)
{
    (void)state;
    check_kat(CKM_SHA_1, ABC, "a9993e364706816aba3e25717850c26c9cd0d89d");
    check_kat(CKM_SHA_1, M448, "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
    check_kat(CKM_SHA224, ABC, "23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7");
    check_kat(CKM_SHA224, M448, "75388b16512776cc5dba5da1fd890150b0c6455cb4f58b1952522525");
    check_kat(CKM_SHA256, ABC,
              "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    check_kat(CKM_SHA256, M448,
              "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    check_kat(CKM_SHA256, "",
              "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    check_kat(CKM_SHA384, ABC,
              "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed"
              "8086072ba1e7cc2358baeca134c825a7");
    check_kat(CKM_SHA384, M448,
              "3391fdddfc8dc7393707a65b1b4709397cf8b1d162af05abfe8f450de5f36bc6"
              "b0455a8520bc4e6f5fe95b1fe3c8452b");
    check_kat(CKM_SHA512, ABC,
              "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
              "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
    check_kat(CKM_SHA512, M448,
              "204a8fc6dda82f0a0ced7beb8e08a41657c16ef468b228a8279be331a703c335"
              "96fd15c13b1b07f9aa1d3bea57789ca031ad85c7a71dd70354ec631238ca3445");
    check_kat(CKM_SHA512_224, ABC, "4634270f707b6a54daae7530460842e20e37ed265ceee9a43e8924aa");
    check_kat(CKM_SHA512_256, ABC,
              "53048e2681941ef99b2e29b76b4c7dabe4c2d0c634fc6d46e0e2f13107e7af23");
}

/* FIPS 202 example values (NIST CSRC SHA-3 examples). */
static void test_sha3_kat(void **state)
{
    (void)state;
    check_kat(CKM_SHA3_224, ABC, "e642824c3f8cf24ad09234ee7d3c766fc9a3a5168d0c94ad73b46fdf");
    check_kat(CKM_SHA3_256, ABC,
              "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532");
    check_kat(CKM_SHA3_256, M448,
              "41c0dba2a9d6240849100376a8235e2c82e1b9998a999e21db32dd97496d3376");
    check_kat(CKM_SHA3_384, ABC,
              "ec01498288516fc926459f58e2c6ad8df9b473cb0fc08c2596da7cf0e49be4b2"
              "98d88cea927ac7f539f1edf228376d25");
    check_kat(CKM_SHA3_512, ABC,
              "b751850b1a57168a5693cd924b6b096e08f621827444f70d884f5d0240d2712e"
              "10e116e9192af3c91a7ec57647e3934057340b4cf408d5a56592f8274eec53f0");
}

/* The same digest through OpenSSL's EVP in the module's context (independent path for the
 * low-level SHA-1/SHA-2 code, including the SHA-512/t IVs). */
static void evp_digest(CK_MECHANISM_TYPE t, const uint8_t *in, size_t len, uint8_t *out)
{
    const char *name = t == CKM_SHA_1 ? "SHA1" : t == CKM_SHA224 ? "SHA2-224"
                     : t == CKM_SHA256 ? "SHA2-256" : t == CKM_SHA384 ? "SHA2-384"
                     : t == CKM_SHA512 ? "SHA2-512" : t == CKM_SHA512_224 ? "SHA2-512/224"
                     : t == CKM_SHA512_256 ? "SHA2-512/256" : t == CKM_SHA3_224 ? "SHA3-224"
                     : t == CKM_SHA3_256 ? "SHA3-256" : t == CKM_SHA3_384 ? "SHA3-384"
                     : "SHA3-512";
    EVP_MD *md = EVP_MD_fetch(ossl_libctx(), name, NULL);
    assert_non_null(md);
    assert_int_equal(EVP_Digest(in, len, out, NULL, md, NULL), 1);
    EVP_MD_free(md);
}

static uint8_t *pattern(size_t n)
{
    uint8_t *b = malloc(n);
    assert_non_null(b);
    uint32_t x = 0x12345678;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        b[i] = (uint8_t)(x >> 16);
    }
    return b;
}

static void test_multipart_equals_single(void **state)
{
    (void)state;
    const size_t n = 300000;
    uint8_t *data = pattern(n);
    static const size_t steps[] = { 1, 3, 55, 56, 63, 64, 65, 111, 127, 128, 129, 1000, 4097 };
    for (size_t k = 0; k < NMECHS; k++) {
        uint8_t one[64], multi[64], ref[64];
        size_t l = digest_once(all_mechs[k], data, n, one);
        evp_digest(all_mechs[k], data, n, ref);
        assert_memory_equal(one, ref, l);
        struct mech_ctx *c = start(all_mechs[k]);
        size_t off = 0, s = 0;
        while (off < n) {
            size_t step = steps[s++ % (sizeof steps / sizeof steps[0])];
            if (step > n - off)
                step = n - off;
            assert_int_equal(c->def->family->update(c, data + off, step, NULL, NULL), CKR_OK);
            off += step;
        }
        CK_ULONG ol = sizeof multi;
        assert_int_equal(c->def->family->final(c, multi, &ol), CKR_OK);
        assert_int_equal(ol, l);
        assert_memory_equal(one, multi, l);
        done(c);
    }
    free(data);
}

/* NULL output gives the length, a short buffer CKR_BUFFER_TOO_SMALL, and neither consumes
 * the operation: the following real call still yields the right digest. */
static void test_length_rules(void **state)
{
    (void)state;
    uint8_t want[32], got[64];
    mu_unhex_unchecked("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", want);

    struct mech_ctx *c = start(CKM_SHA256);
    CK_ULONG ol = 0;
    assert_int_equal(c->def->family->oneshot(c, (const uint8_t *)"abc", 3, NULL, &ol),
                     MECH_LENGTH_ONLY);
    assert_int_equal(ol, 32);
    ol = 31;
    assert_int_equal(c->def->family->oneshot(c, (const uint8_t *)"abc", 3, got, &ol),
                     CKR_BUFFER_TOO_SMALL);
    assert_int_equal(ol, 32);
    ol = sizeof got;
    assert_int_equal(c->def->family->oneshot(c, (const uint8_t *)"abc", 3, got, &ol), CKR_OK);
    assert_int_equal(ol, 32);
    assert_memory_equal(got, want, 32);
    done(c);

    c = start(CKM_SHA256);
    assert_int_equal(c->def->family->update(c, (const uint8_t *)"ab", 2, NULL, NULL), CKR_OK);
    assert_int_equal(c->def->family->update(c, (const uint8_t *)"c", 1, NULL, NULL), CKR_OK);
    ol = 0;
    assert_int_equal(c->def->family->final(c, NULL, &ol), MECH_LENGTH_ONLY);
    assert_int_equal(ol, 32);
    ol = 1;
    assert_int_equal(c->def->family->final(c, got, &ol), CKR_BUFFER_TOO_SMALL);
    ol = 32;
    assert_int_equal(c->def->family->final(c, got, &ol), CKR_OK);
    assert_memory_equal(got, want, 32);
    done(c);
}

static void test_bad_params(void **state)
{
    (void)state;
    const struct mech_def *d = mech_find(CKM_SHA256);
    CK_ULONG junk = 5;
    CK_MECHANISM m = { CKM_SHA256, &junk, sizeof junk };
    struct mech_ctx *c = NULL;
    assert_int_equal(d->family->init(d, CKF_DIGEST, &m, NULL, &c), CKR_MECHANISM_PARAM_INVALID);
    assert_null(c);
}

static void make_key(attrs_t *a, CK_OBJECT_CLASS cls, const uint8_t *v, size_t len)
{
    attrs_init(a);
    assert_int_equal(attrs_set_ulong(a, CKA_CLASS, cls), CKR_OK);
    assert_int_equal(attrs_set_ulong(a, CKA_KEY_TYPE, CKK_GENERIC_SECRET), CKR_OK);
    assert_int_equal(attrs_set(a, CKA_VALUE, v, len, true), CKR_OK);
}

/* C_DigestKey feeds the key value as if it were data; non-secret keys are indigestible; and a
 * keyed digest's state is never exported. */
static void test_digest_key(void **state)
{
    (void)state;
    const uint8_t kv[] = "0123456789abcdef";
    attrs_t ka, pa;
    make_key(&ka, CKO_SECRET_KEY, kv, 16);
    make_key(&pa, CKO_PUBLIC_KEY, kv, 16);
    struct mech_key key = { &ka, NULL, NULL }, pub = { &pa, NULL, NULL };

    uint8_t msg[16 + 3], want[64], got[64];
    memcpy(msg, kv, 16);
    memcpy(msg + 16, "xyz", 3);
    for (size_t k = 0; k < NMECHS; k++) {
        size_t l = digest_once(all_mechs[k], msg, sizeof msg, want);
        struct mech_ctx *c = start(all_mechs[k]);
        assert_int_equal(c->def->family->digest_key(c, &pub), CKR_KEY_INDIGESTIBLE);
        assert_int_equal(c->def->family->digest_key(c, &key), CKR_OK);
        assert_int_equal(c->def->family->update(c, (const uint8_t *)"xyz", 3, NULL, NULL),
                         CKR_OK);
        CK_ULONG sl = 0;
        assert_int_equal(c->def->family->get_state(c, NULL, &sl), CKR_STATE_UNSAVEABLE);
        CK_ULONG ol = sizeof got;
        assert_int_equal(c->def->family->final(c, got, &ol), CKR_OK);
        assert_int_equal(ol, l);
        assert_memory_equal(got, want, l);
        done(c);
    }
    attrs_free(&ka);
    attrs_free(&pa);
}

/* C_GetOperationState/C_SetOperationState: SHA-1 and SHA-2 round-trip at every buffer fill
 * level around the block boundary; SHA-3 is unsaveable; malformed blobs are refused. */
static void test_state_roundtrip(void **state)
{
    (void)state;
    const size_t n = 700;
    uint8_t *data = pattern(n);
    static const size_t cuts[] = { 0, 1, 55, 63, 64, 65, 111, 127, 128, 129, 300, 700 };
    for (size_t k = 0; k < NMECHS; k++) {
        CK_MECHANISM_TYPE t = all_mechs[k];
        const struct mech_def *d = mech_find(t);
        uint8_t want[64], got[64], got2[64];
        size_t l = digest_once(t, data, n, want);
        bool sha3 = t == CKM_SHA3_224 || t == CKM_SHA3_256 || t == CKM_SHA3_384 ||
                    t == CKM_SHA3_512;
        for (size_t ci = 0; ci < sizeof cuts / sizeof cuts[0]; ci++) {
            size_t cut = cuts[ci];
            struct mech_ctx *c = start(t);
            assert_int_equal(d->family->update(c, data, cut, NULL, NULL), CKR_OK);
            CK_ULONG sl = 0;
            CK_RV rv = d->family->get_state(c, NULL, &sl);
            if (sha3) {
                assert_int_equal(rv, CKR_STATE_UNSAVEABLE);
                done(c);
                break;
            }
            assert_int_equal(rv, MECH_LENGTH_ONLY);
            uint8_t blob[512];
            assert_true(sl <= sizeof blob);
            CK_ULONG small = sl - 1;
            assert_int_equal(d->family->get_state(c, blob, &small), CKR_BUFFER_TOO_SMALL);
            assert_int_equal(d->family->get_state(c, blob, &sl), CKR_OK);

            struct mech_ctx *r = NULL;
            assert_int_equal(d->family->set_state(d, blob, sl, &r), CKR_OK);
            assert_int_equal(d->family->update(r, data + cut, n - cut, NULL, NULL), CKR_OK);
            CK_ULONG ol = sizeof got;
            assert_int_equal(d->family->final(r, got, &ol), CKR_OK);
            assert_int_equal(ol, l);
            assert_memory_equal(got, want, l);
            /* the source operation is unaffected */
            assert_int_equal(d->family->update(c, data + cut, n - cut, NULL, NULL), CKR_OK);
            ol = sizeof got2;
            assert_int_equal(d->family->final(c, got2, &ol), CKR_OK);
            assert_memory_equal(got2, want, l);
            done(r);
            done(c);

            if (ci != 3)
                continue;
            /* malformed blobs */
            uint8_t bad[512];
            r = NULL;
            memcpy(bad, blob, sl);
            bad[0] ^= 1;
            assert_int_equal(d->family->set_state(d, bad, sl, &r), CKR_SAVED_STATE_INVALID);
            assert_int_equal(d->family->set_state(d, blob, sl - 1, &r), CKR_SAVED_STATE_INVALID);
            assert_int_equal(d->family->set_state(d, blob, 3, &r), CKR_SAVED_STATE_INVALID);
            assert_int_equal(d->family->set_state(d, NULL, 0, &r), CKR_SAVED_STATE_INVALID);
            memcpy(bad, blob, sl);
            bad[4] = 9; /* version */
            assert_int_equal(d->family->set_state(d, bad, sl, &r), CKR_SAVED_STATE_INVALID);
            memcpy(bad, blob, sl);
            bad[sl - cut - 1] = 0xff; /* num: beyond the block size */
            assert_int_equal(d->family->set_state(d, bad, sl, &r), CKR_SAVED_STATE_INVALID);
            /* a state of another digest */
            const struct mech_def *other = mech_find(t == CKM_SHA256 ? CKM_SHA224 : CKM_SHA256);
            assert_int_equal(other->family->set_state(other, blob, sl, &r),
                             CKR_SAVED_STATE_INVALID);
            assert_null(r);
        }
    }
    free(data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha2_kat),
        cmocka_unit_test(test_sha3_kat),
        cmocka_unit_test(test_multipart_equals_single),
        cmocka_unit_test(test_length_rules),
        cmocka_unit_test(test_bad_params),
        cmocka_unit_test(test_digest_key),
        cmocka_unit_test(test_state_roundtrip),
    };
    return cmocka_run_group_tests(tests, setup, mu_group_teardown);
}
