/* Unit tests of EdDSA and the Edwards/Montgomery key pairs (mech/eddsa.c), RFC 8032 vectors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>

#include "base/mem.h"
#include "base/ossl.h"
#include "mech/mech.h"
#include "mech_util.h"

/* mech.c refers to the family tables weakly, which does not pull their objects out of the
 * static archive: name the tables so the linker includes them. */
extern const struct mech_table mech_eddsa_table;
static const struct mech_table *const volatile g_linked[] = { &mech_eddsa_table };

static int group_setup(void **state)
{
    (void)g_linked;
    return mu_group_setup(state);
}

static void ed_key(attrs_t *priv, attrs_t *pub, const char *params, const char *sk,
                   const char *pk)
{
    mu_key_head(priv, CKO_PRIVATE_KEY, CKK_EC_EDWARDS);
    mu_set_hex(priv, CKA_EC_PARAMS, params, false);
    mu_set_hex(priv, CKA_VALUE, sk, true);
    mu_key_head(pub, CKO_PUBLIC_KEY, CKK_EC_EDWARDS);
    mu_set_hex(pub, CKA_EC_PARAMS, params, false);
    mu_set_hex(pub, CKA_EC_POINT, pk, false);
}

/* Deterministic: the exact RFC 8032 signature, one-shot and multi-part. */
static void check_rfc8032(const char *params, const char *sk, const char *pk, const char *msg_hex,
                          const char *sig_hex)
{
    attrs_t priv, pub;
    void *cpriv = NULL, *cpub = NULL;
    ed_key(&priv, &pub, params, sk, pk);
    struct mech_key kpriv = { &priv, &cpriv, NULL }, kpub = { &pub, &cpub, NULL };
    uint8_t msg[128], want[114], sig[114];
    size_t mlen = mu_unhex(msg_hex, msg, sizeof msg), slen = mu_unhex(sig_hex, want, sizeof want);
    CK_ULONG n = 0;
    assert_int_equal(mu_once(CKM_EDDSA, NULL, 0, CKF_SIGN, &kpriv, msg, mlen, NULL, &n),
                     MECH_LENGTH_ONLY);
    assert_int_equal(n, slen);
    n = sizeof sig;
    assert_int_equal(mu_once(CKM_EDDSA, NULL, 0, CKF_SIGN, &kpriv, msg, mlen, sig, &n), CKR_OK);
    assert_int_equal(n, slen);
    assert_memory_equal(sig, want, slen);
    struct mech_ctx *c;
    assert_int_equal(mu_start(CKM_EDDSA, NULL, 0, CKF_SIGN, &kpriv, &c), CKR_OK);
    if (mlen) {
        assert_int_equal(c->def->family->update(c, msg, 1, NULL, NULL), CKR_OK);
        assert_int_equal(c->def->family->update(c, msg + 1, mlen - 1, NULL, NULL), CKR_OK);
    }
    n = 10;
    assert_int_equal(c->def->family->final(c, sig, &n), CKR_BUFFER_TOO_SMALL);
    n = sizeof sig;
    assert_int_equal(c->def->family->final(c, sig, &n), CKR_OK);
    assert_memory_equal(sig, want, slen);
    c->def->family->free(c);
    /* pure EdDSA through explicit CK_EDDSA_PARAMS without context */
    CK_EDDSA_PARAMS ep = { CK_FALSE, 0, NULL };
    n = sizeof sig;
    assert_int_equal(mu_once(CKM_EDDSA, &ep, sizeof ep, CKF_SIGN, &kpriv, msg, mlen, sig, &n),
                     CKR_OK);
    assert_memory_equal(sig, want, slen);
    /* verify */
    assert_int_equal(mu_verify(CKM_EDDSA, NULL, 0, &kpub, msg, mlen, want, slen), CKR_OK);
    assert_int_equal(mu_start(CKM_EDDSA, NULL, 0, CKF_VERIFY, &kpub, &c), CKR_OK);
    assert_int_equal(c->def->family->update(c, msg, mlen, NULL, NULL), CKR_OK);
    assert_int_equal(c->def->family->verify_final(c, want, slen), CKR_OK);
    c->def->family->free(c);
    assert_int_equal(mu_verify(CKM_EDDSA, NULL, 0, &kpub, msg, mlen, want, slen - 1),
                     CKR_SIGNATURE_LEN_RANGE);
    want[0] ^= 1;
    assert_int_equal(mu_verify(CKM_EDDSA, NULL, 0, &kpub, msg, mlen, want, slen),
                     CKR_SIGNATURE_INVALID);
    /* Ed25519ph / Ed448ph and contexts need OpenSSL 3.2 */
    ep.phFlag = CK_TRUE;
    assert_int_equal(mu_once(CKM_EDDSA, &ep, sizeof ep, CKF_SIGN, &kpriv, msg, mlen, sig, &n),
                     CKR_MECHANISM_PARAM_INVALID);
    ep.phFlag = CK_FALSE;
    ep.ulContextDataLen = 3;
    ep.pContextData = (CK_BYTE_PTR) "foo";
    assert_int_equal(mu_once(CKM_EDDSA, &ep, sizeof ep, CKF_SIGN, &kpriv, msg, mlen, sig, &n),
                     CKR_MECHANISM_PARAM_INVALID);
    assert_int_equal(mu_once(CKM_EDDSA, &ep, 3, CKF_SIGN, &kpriv, msg, mlen, sig, &n),
                     CKR_MECHANISM_PARAM_INVALID);
    /* signing needs the private key */
    assert_int_equal(mu_once(CKM_EDDSA, NULL, 0, CKF_SIGN, &kpub, msg, mlen, sig, &n),
                     CKR_KEY_TYPE_INCONSISTENT);
    mech_cache_free(cpriv);
    mech_cache_free(cpub);
    attrs_free(&priv);
    attrs_free(&pub);
}

static void test_ed25519_rfc8032(void **state)
{
    (void)state;
    /* 7.1 TEST 1 (empty message) and TEST 2 */
    check_rfc8032("06032b6570", "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
                  "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
                  "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bac"
                  "c61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b");
    check_rfc8032("130c656477617264733235353139",
                  "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
                  "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
                  "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e"
                  "458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00");
}

static void test_ed448_rfc8032(void **state)
{
    (void)state;
    /* 7.4 "-----Blank" */
    check_rfc8032("06032b6571",
                  "6c82a562cb808d10d632be89c8513ebf6c929f34ddfa8c9f63c9960ef6e348a3"
                  "528c8a3fcc2f044e39a3fc5b94492f8f032e7549a20098f95b",
                  "5fd7449b59b461fd2ce787ec616ad46a1da1342485a70e1f8a0ea75d80e96778"
                  "edf124769b46c7061bd6783df1e50f6cd1fa1abeafe8256180",
                  "",
                  "533a37f6bbe457251f023c0d88f976ae2dfb504a843e34d2074fd823d41a591f"
                  "2b233f034f628281f2fd7a22ddd47d7828c59bd0a21bfd3980ff0d2028d4b18a"
                  "9df63e006c5d1c2d345b925d8dc00b4104852db99ac5c7cdda8530a113a0f4db"
                  "b61149f05a7363268c71d95808ff2e652600");
}

static void gen(CK_MECHANISM_TYPE t, CK_KEY_TYPE kt, const char *params, attrs_t *pub,
                attrs_t *priv, CK_RV want)
{
    const struct mech_def *d = mech_find(t);
    assert_non_null(d);
    CK_MECHANISM m = { t, NULL, 0 };
    mu_key_head(pub, CKO_PUBLIC_KEY, kt);
    mu_key_head(priv, CKO_PRIVATE_KEY, kt);
    if (params)
        mu_set_hex(pub, CKA_EC_PARAMS, params, false);
    assert_int_equal(d->family->generate_pair(d, &m, pub, priv), want);
}

static void test_keygen(void **state)
{
    (void)state;
    static const struct {
        CK_MECHANISM_TYPE mech;
        CK_KEY_TYPE kt;
        const char *params;
        size_t publen, privlen;
    } cases[] = {
        { CKM_EC_EDWARDS_KEY_PAIR_GEN, CKK_EC_EDWARDS, "06032b6570", 32, 32 },
        { CKM_EC_EDWARDS_KEY_PAIR_GEN, CKK_EC_EDWARDS, "06032b6571", 57, 57 },
        { CKM_EC_EDWARDS_KEY_PAIR_GEN, CKK_EC_EDWARDS, "130a65647761726473343438", 57, 57 },
        { CKM_EC_MONTGOMERY_KEY_PAIR_GEN, CKK_EC_MONTGOMERY, "06032b656e", 32, 32 },
        { CKM_EC_MONTGOMERY_KEY_PAIR_GEN, CKK_EC_MONTGOMERY, "06032b656f", 56, 56 },
        { CKM_EC_MONTGOMERY_KEY_PAIR_GEN, CKK_EC_MONTGOMERY, "130a63757276653235353139", 32,
          32 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        attrs_t pub, priv;
        gen(cases[i].mech, cases[i].kt, cases[i].params, &pub, &priv, CKR_OK);
        const attr_t *pt = attrs_get(&pub, CKA_EC_POINT), *v = attrs_get(&priv, CKA_VALUE);
        assert_non_null(pt);
        assert_int_equal(pt->len, cases[i].publen + 2);
        assert_int_equal(pt->val[0], 0x04);
        assert_int_equal(pt->val[1], cases[i].publen);
        assert_non_null(v);
        assert_true(v->secret);
        assert_int_equal(v->len, cases[i].privlen);
        assert_non_null(attrs_get(&priv, CKA_EC_PARAMS));
        assert_int_equal(mech_validate_import(&priv), CKR_OK);
        assert_int_equal(mech_validate_import(&pub), CKR_OK);
        if (cases[i].kt == CKK_EC_EDWARDS) {
            struct mech_key kpriv = { &priv, NULL, NULL }, kpub = { &pub, NULL, NULL };
            uint8_t sig[114];
            CK_ULONG n = sizeof sig;
            assert_int_equal(mu_once(CKM_EDDSA, NULL, 0, CKF_SIGN, &kpriv, (const uint8_t *)"hi", 2,
                                  sig, &n),
                             CKR_OK);
            assert_int_equal(mu_verify(CKM_EDDSA, NULL, 0, &kpub, (const uint8_t *)"hi", 2, sig, n),
                             CKR_OK);
        }
        attrs_free(&pub);
        attrs_free(&priv);
    }
    attrs_t pub, priv;
    /* a Montgomery curve under the Edwards mechanism, a prime curve, nothing */
    gen(CKM_EC_EDWARDS_KEY_PAIR_GEN, CKK_EC_EDWARDS, "06032b656e", &pub, &priv,
        CKR_CURVE_NOT_SUPPORTED);
    attrs_free(&pub);
    attrs_free(&priv);
    gen(CKM_EC_MONTGOMERY_KEY_PAIR_GEN, CKK_EC_MONTGOMERY, "06082a8648ce3d030107", &pub, &priv,
        CKR_CURVE_NOT_SUPPORTED);
    attrs_free(&pub);
    attrs_free(&priv);
    gen(CKM_EC_EDWARDS_KEY_PAIR_GEN, CKK_EC_EDWARDS, NULL, &pub, &priv, CKR_TEMPLATE_INCOMPLETE);
    attrs_free(&pub);
    attrs_free(&priv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ed25519_rfc8032),
        cmocka_unit_test(test_ed448_rfc8032),
        cmocka_unit_test(test_keygen),
    };
    return cmocka_run_group_tests(tests, group_setup, mu_group_teardown);
}
