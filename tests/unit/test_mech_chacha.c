/* ChaCha20-Poly1305: RFC 8439 known answers, streaming, length rules and errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "base/mem.h"
#include "base/ossl.h"
#include "mech/mech.h"
#include "mech_util.h"

extern const struct mech_table mech_chacha_table;

static size_t unhex(const char *h, uint8_t *out)
{
    size_t n = 0;
    for (; h[0] && h[1]; h += 2) {
        unsigned v;
        assert_int_equal(sscanf(h, "%2x", &v), 1);
        out[n++] = (uint8_t)v;
    }
    return n;
}

static CK_RV op_init(CK_FLAGS fn, const void *param, CK_ULONG plen, struct mu_key *k,
                     struct mech_ctx **c)
{
    const struct mech_def *d = mech_find(CKM_CHACHA20_POLY1305);
    assert_non_null(d);
    CK_MECHANISM m = { CKM_CHACHA20_POLY1305, (void *)param, plen };
    return d->family->init(d, fn, &m, &k->k, c);
}

/* RFC 8439 section 2.8.2 */
static const char *KEY = "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f";
static const char *NONCE = "070000004041424344454647";
static const char *AAD = "50515253c0c1c2c3c4c5c6c7";
static const char *PT = "Ladies and Gentlemen of the class of '99: If I could offer you only "
                        "one tip for the future, sunscreen would be it.";
static const char *CT =
    "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69"
    "da92728b1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad67594"
    "5585808b4831d7bc3ff4def08e4b7a9de576d26586cec64b6116"
    "1ae10b594f09e26a7e902ecbd0600691";

struct fixture {
    struct mu_key k;
    uint8_t nonce[12], aad[12], ct[256];
    size_t ctlen;
    CK_SALSA20_CHACHA20_POLY1305_PARAMS p;
};

static void fixture(struct fixture *f)
{
    uint8_t kv[32];
    unhex(KEY, kv);
    mu_key_make(&f->k, CKK_CHACHA20, kv, 32);
    unhex(NONCE, f->nonce);
    unhex(AAD, f->aad);
    f->ctlen = unhex(CT, f->ct);
    f->p = (CK_SALSA20_CHACHA20_POLY1305_PARAMS){ f->nonce, 12, f->aad, 12 };
}

static void test_rfc8439_single_part(void **st)
{
    (void)st;
    struct fixture f;
    fixture(&f);
    size_t ptlen = strlen(PT);
    assert_int_equal(f.ctlen, ptlen + 16);
    uint8_t out[256];
    struct mech_ctx *c;
    assert_int_equal(op_init(CKF_ENCRYPT, &f.p, sizeof f.p, &f.k, &c), CKR_OK);
    CK_ULONG l = 0;
    assert_int_equal(c->def->family->oneshot(c, (const uint8_t *)PT, ptlen, NULL, &l),
                     MECH_LENGTH_ONLY);
    assert_int_equal(l, f.ctlen);
    l = f.ctlen - 1;
    assert_int_equal(c->def->family->oneshot(c, (const uint8_t *)PT, ptlen, out, &l),
                     CKR_BUFFER_TOO_SMALL);
    l = sizeof out;
    assert_int_equal(c->def->family->oneshot(c, (const uint8_t *)PT, ptlen, out, &l), CKR_OK);
    assert_int_equal(l, f.ctlen);
    assert_memory_equal(out, f.ct, f.ctlen);
    c->def->family->free(c);

    assert_int_equal(op_init(CKF_DECRYPT, &f.p, sizeof f.p, &f.k, &c), CKR_OK);
    l = 0;
    assert_int_equal(c->def->family->oneshot(c, f.ct, f.ctlen, NULL, &l), MECH_LENGTH_ONLY);
    assert_int_equal(l, ptlen);
    l = sizeof out;
    assert_int_equal(c->def->family->oneshot(c, f.ct, f.ctlen, out, &l), CKR_OK);
    assert_int_equal(l, ptlen);
    assert_memory_equal(out, PT, ptlen);
    c->def->family->free(c);
    attrs_free(&f.k.a);
}

static void test_rfc8439_multi_part(void **st)
{
    (void)st;
    struct fixture f;
    fixture(&f);
    size_t ptlen = strlen(PT);
    static const size_t chunks[] = { 1, 7, 16, 64, 200 };
    for (size_t i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
        uint8_t out[256];
        size_t done = 0;
        struct mech_ctx *c;
        CK_ULONG l;
        /* encrypt streams: each update returns as much as it was given */
        assert_int_equal(op_init(CKF_ENCRYPT, &f.p, sizeof f.p, &f.k, &c), CKR_OK);
        for (size_t off = 0; off < ptlen; off += chunks[i]) {
            size_t n = ptlen - off < chunks[i] ? ptlen - off : chunks[i];
            l = sizeof out - done;
            assert_int_equal(c->def->family->update(c, (const uint8_t *)PT + off, n, out + done,
                                                    &l), CKR_OK);
            assert_int_equal(l, n);
            done += l;
        }
        l = 15;
        assert_int_equal(c->def->family->final(c, out + done, &l), CKR_BUFFER_TOO_SMALL);
        assert_int_equal(l, 16);
        assert_int_equal(c->def->family->final(c, out + done, &l), CKR_OK);
        done += l;
        assert_int_equal(done, f.ctlen);
        assert_memory_equal(out, f.ct, f.ctlen);
        c->def->family->free(c);
        /* decrypt releases nothing before the tag is checked */
        done = 0;
        assert_int_equal(op_init(CKF_DECRYPT, &f.p, sizeof f.p, &f.k, &c), CKR_OK);
        for (size_t off = 0; off < f.ctlen; off += chunks[i]) {
            size_t n = f.ctlen - off < chunks[i] ? f.ctlen - off : chunks[i];
            l = sizeof out;
            assert_int_equal(c->def->family->update(c, f.ct + off, n, out, &l), CKR_OK);
            assert_int_equal(l, 0);
        }
        l = 0;
        assert_int_equal(c->def->family->final(c, NULL, &l), MECH_LENGTH_ONLY);
        assert_int_equal(l, ptlen);
        assert_int_equal(c->def->family->final(c, out, &l), CKR_OK);
        assert_memory_equal(out, PT, ptlen);
        c->def->family->free(c);
    }
    attrs_free(&f.k.a);
}

static void test_errors(void **st)
{
    (void)st;
    struct fixture f;
    fixture(&f);
    struct mech_ctx *c;
    CK_SALSA20_CHACHA20_POLY1305_PARAMS p = f.p;
    p.ulNonceLen = 8;
    assert_int_equal(op_init(CKF_ENCRYPT, &p, sizeof p, &f.k, &c), CKR_MECHANISM_PARAM_INVALID);
    p.ulNonceLen = 24;
    assert_int_equal(op_init(CKF_ENCRYPT, &p, sizeof p, &f.k, &c), CKR_MECHANISM_PARAM_INVALID);
    p = f.p;
    p.pAAD = NULL;
    assert_int_equal(op_init(CKF_ENCRYPT, &p, sizeof p, &f.k, &c), CKR_MECHANISM_PARAM_INVALID);
    assert_int_equal(op_init(CKF_ENCRYPT, &f.p, sizeof f.p - 1, &f.k, &c),
                     CKR_MECHANISM_PARAM_INVALID);
    assert_int_equal(op_init(CKF_ENCRYPT, NULL, 0, &f.k, &c), CKR_MECHANISM_PARAM_INVALID);
    /* tag, ciphertext and AAD tampering */
    uint8_t out[256];
    for (int what = 0; what < 3; what++) {
        CK_SALSA20_CHACHA20_POLY1305_PARAMS q = f.p;
        uint8_t aad[12];
        memcpy(aad, f.aad, 12);
        q.pAAD = aad;
        if (what == 0)
            f.ct[f.ctlen - 1] ^= 1;
        else if (what == 1)
            f.ct[0] ^= 1;
        else
            aad[0] ^= 1;
        assert_int_equal(op_init(CKF_DECRYPT, &q, sizeof q, &f.k, &c), CKR_OK);
        CK_ULONG l = sizeof out;
        assert_int_equal(c->def->family->oneshot(c, f.ct, f.ctlen, out, &l),
                         CKR_ENCRYPTED_DATA_INVALID);
        c->def->family->free(c);
        if (what == 0)
            f.ct[f.ctlen - 1] ^= 1;
        else if (what == 1)
            f.ct[0] ^= 1;
    }
    assert_int_equal(op_init(CKF_DECRYPT, &f.p, sizeof f.p, &f.k, &c), CKR_OK);
    CK_ULONG l = sizeof out;
    assert_int_equal(c->def->family->oneshot(c, f.ct, 15, out, &l), CKR_ENCRYPTED_DATA_LEN_RANGE);
    c->def->family->free(c);
    attrs_free(&f.k.a);
    /* wrong key type / size */
    uint8_t kv[32] = { 0 };
    struct mu_key k;
    mu_key_make(&k, CKK_AES, kv, 32);
    assert_int_equal(op_init(CKF_ENCRYPT, &f.p, sizeof f.p, &k, &c), CKR_KEY_TYPE_INCONSISTENT);
    attrs_free(&k.a);
    mu_key_make(&k, CKK_CHACHA20, kv, 16);
    assert_int_equal(op_init(CKF_ENCRYPT, &f.p, sizeof f.p, &k, &c), CKR_KEY_SIZE_RANGE);
    attrs_free(&k.a);
}

static void test_keygen_and_table(void **st)
{
    (void)st;
    assert_int_equal(mech_chacha_table.n, 2);
    const struct mech_def *d = mech_find(CKM_CHACHA20_KEY_GEN);
    assert_non_null(d);
    assert_true(d->flags & CKF_GENERATE);
    assert_non_null(mech_find(CKM_CHACHA20_POLY1305));
    CK_MECHANISM m = { CKM_CHACHA20_KEY_GEN, NULL, 0 };
    attrs_t a;
    attrs_init(&a);
    assert_int_equal(attrs_set_ulong(&a, CKA_KEY_TYPE, CKK_CHACHA20), CKR_OK);
    assert_int_equal(d->family->generate(d, &m, &a), CKR_OK);
    const attr_t *v = attrs_get(&a, CKA_VALUE);
    assert_non_null(v);
    assert_int_equal(v->len, 32);
    assert_true(v->secret);
    attrs_free(&a);
    attrs_init(&a);
    assert_int_equal(attrs_set_ulong(&a, CKA_VALUE_LEN, 16), CKR_OK);
    assert_int_equal(d->family->generate(d, &m, &a), CKR_KEY_SIZE_RANGE);
    attrs_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keygen_and_table),
        cmocka_unit_test(test_rfc8439_single_part),
        cmocka_unit_test(test_rfc8439_multi_part),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, mu_group_setup, mu_group_teardown);
}
