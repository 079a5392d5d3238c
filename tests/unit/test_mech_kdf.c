/* Key derivation mechanisms: RFC 5869 HKDF, RFC 6070 / RFC 7914 PBKDF2, SP 800-108 (NIST CAVP
 * sample and cross-checks against OpenSSL's KBKDF), the simple derivations (spec examples),
 * and parameter errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "base/mem.h"
#include "base/ossl.h"
#include "mech/mech.h"
#include "mech_util.h"

/* mech.c refers to the family tables weakly, which does not pull their objects out of the
 * static archive: name the table so the linker includes it. */
extern const struct mech_table mech_kdf_table;
static const struct mech_table *volatile g_linked = &mech_kdf_table;

static int setup(void **state)
{
    (void)state;
    if (!g_linked)
        return -1;
    return mu_mech_open();
}

static void make_obj(attrs_t *a, CK_OBJECT_CLASS cls, CK_KEY_TYPE kt, const uint8_t *v,
                     size_t len)
{
    attrs_init(a);
    assert_int_equal(attrs_set_ulong(a, CKA_CLASS, cls), CKR_OK);
    if (kt != CK_UNAVAILABLE_INFORMATION)
        assert_int_equal(attrs_set_ulong(a, CKA_KEY_TYPE, kt), CKR_OK);
    assert_int_equal(attrs_set(a, CKA_VALUE, v, len, true), CKR_OK);
}

/* A template as the token layer would build it: class, optional key type, optional length. */
static void make_tmpl(attrs_t *t, CK_OBJECT_CLASS cls, CK_KEY_TYPE kt, CK_ULONG len)
{
    attrs_init(t);
    assert_int_equal(attrs_set_ulong(t, CKA_CLASS, cls), CKR_OK);
    if (kt != CK_UNAVAILABLE_INFORMATION)
        assert_int_equal(attrs_set_ulong(t, CKA_KEY_TYPE, kt), CKR_OK);
    if (len)
        assert_int_equal(attrs_set_ulong(t, CKA_VALUE_LEN, len), CKR_OK);
}

static CK_RV derive(CK_MECHANISM_TYPE t, void *param, CK_ULONG plen, const attrs_t *base,
                    attrs_t *tmpl)
{
    const struct mech_def *d = mech_find(t);
    assert_non_null(d);
    assert_true(d->flags & CKF_DERIVE);
    CK_MECHANISM m = { t, param, plen };
    struct mech_key k = { base, NULL, NULL };
    return d->family->derive(d, &m, &k, tmpl);
}

static void check_value(const attrs_t *t, const char *hex)
{
    uint8_t want[512];
    size_t wl = mu_unhex_unchecked(hex, want);
    const attr_t *v = attrs_get(t, CKA_VALUE);
    assert_non_null(v);
    assert_true(v->secret);
    assert_int_equal(v->len, wl);
    assert_memory_equal(v->val, want, wl);
}

/* ---- HKDF ---------------------------------------------------------------------------- */

struct rfc5869 {
    const char *ikm, *salt, *info, *prk, *okm;
};

/* RFC 5869 appendix A, test cases 1-3 (SHA-256). */
static const struct rfc5869 hkdf_cases[] = {
    { "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "000102030405060708090a0b0c",
      "f0f1f2f3f4f5f6f7f8f9",
      "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5",
      "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865" },
    { "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
      "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
      "404142434445464748494a4b4c4d4e4f",
      "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
      "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
      "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf",
      "b0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecf"
      "d0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeef"
      "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff",
      "06a6b88c5853361a06104c9ceb35b45cef760014904671014a193f40c15fc244",
      "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c"
      "59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71"
      "cc30c58179ec3e87c14c01d5c1f3434f1d87" },
    { "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "", "",
      "19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04",
      "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8" },
};

static void test_hkdf_rfc5869(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof hkdf_cases / sizeof hkdf_cases[0]; i++) {
        const struct rfc5869 *c = &hkdf_cases[i];
        uint8_t ikm[128], salt[128], info[128], prk[64];
        size_t il = mu_unhex_unchecked(c->ikm, ikm), sl = mu_unhex_unchecked(c->salt, salt),
               nl = mu_unhex_unchecked(c->info, info);
        size_t pl = mu_unhex_unchecked(c->prk, prk);
        size_t okml = strlen(c->okm) / 2;
        attrs_t base, t;
        make_obj(&base, CKO_SECRET_KEY, CKK_GENERIC_SECRET, ikm, il);
        CK_HKDF_PARAMS p = { CK_TRUE, CK_TRUE, CKM_SHA256,
                             sl ? CKF_HKDF_SALT_DATA : CKF_HKDF_SALT_NULL, sl ? salt : NULL, sl,
                             0, nl ? info : NULL, nl };

        /* extract and expand */
        make_tmpl(&t, CKO_SECRET_KEY, CKK_GENERIC_SECRET, okml);
        assert_int_equal(derive(CKM_HKDF_DERIVE, &p, sizeof p, &base, &t), CKR_OK);
        check_value(&t, c->okm);
        attrs_free(&t);

        /* extract only: the PRK (length defaults to the hash length) */
        p.bExpand = CK_FALSE;
        make_tmpl(&t, CKO_SECRET_KEY, CKK_GENERIC_SECRET, 0);
        assert_int_equal(derive(CKM_HKDF_DERIVE, &p, sizeof p, &base, &t), CKR_OK);
        check_value(&t, c->prk);
        CK_ULONG vl = 0;
        assert_true(attrs_ulong(&t, CKA_VALUE_LEN, &vl));
        assert_int_equal(vl, 32);
        attrs_free(&t);

        /* expand only, from the PRK as an HKDF key */
        attrs_t prkkey;
        make_obj(&prkkey, CKO_SECRET_KEY, CKK_HKDF, prk, pl);
        p.bExtract = CK_FALSE;
        p.bExpand = CK_TRUE;
        p.ulSaltType = 0; /* ignored without extract */
        make_tmpl(&t, CKO_SECRET_KEY, CKK_GENERIC_SECRET, okml);
        assert_int_equal(derive(CKM_HKDF_DERIVE, &p, sizeof p, &prkkey, &t), CKR_OK);
        check_value(&t, c->okm);
        attrs_free(&t);

        /* CKM_HKDF_DATA makes a data object */
        p.bExtract = CK_TRUE;
        p.ulSaltType = sl ? CKF_HKDF_SALT_DATA : CKF_HKDF_SALT_NULL;
        make_tmpl(&t, CKO_DATA, CK_UNAVAILABLE_INFORMATION, okml);
        assert_int_equal(derive(CKM_HKDF_DATA, &p, sizeof p, &base, &t), CKR_OK);
        check_value(&t, c->okm);
        attrs_free(&t);

        attrs_free(&prkkey);
        attrs_free(&base);
    }
}

static void test_hkdf_errors(void **state)
{
    (void)state;
    uint8_t ikm[22], salt[4] = { 1, 2, 3, 4 };
    memset(ikm, 0x0b, sizeof ikm);
    attrs_t base, aesbase, data, t;
    make_obj(&base, CKO_SECRET_KEY, CKK_GENERIC_SECRET, ikm, sizeof ikm);
    make_obj(&aesbase, CKO_SECRET_KEY, CKK_AES, ikm, 16);
    make_obj(&data, CKO_DATA, CK_UNAVAILABLE_INFORMATION, ikm, sizeof ikm);
    CK_HKDF_PARAMS good = { CK_TRUE, CK_TRUE, CKM_SHA256, CKF_HKDF_SALT_NULL, NULL, 0, 0,
                            NULL, 0 };
    CK_HKDF_PARAMS p;
    make_tmpl(&t, CKO_SECRET_KEY, CKK_GENERIC_SECRET, 32);

    assert_int_equal(derive(CKM_HKDF_DERIVE, NULL, 0, &base, &t), CKR_MECHANISM_PARAM_INVALID);
    assert_int_equal(derive(CKM_HKDF_DERIVE, &good, sizeof good - 1, &base, &t),
                     CKR_MECHANISM_PARAM_INVALID);
    p = good;
    p.bExtract = p.bExpand = CK_FALSE;
    assert_int_equal(derive(CKM_HKDF_DERIVE, &p, sizeof p, &base, &t),
                     CKR_MECHANISM_PARAM_INVALID);
    p = good;
    p.prfHashMechanism = CKM_AES_CBC;
    assert_int_equal(derive(CKM_HKDF_DERIVE, &p, sizeof p, &base, &t),
                     CKR_MECHANISM_PARAM_INVALID);
    p = good;
    p.ulSaltType = CKF_HKDF_SALT_KEY;
    p.hSaltKey = 5;
    assert_int_equal(derive(CKM_HKDF_DERIVE, &p, sizeof p, &base, &t),
                     CKR_MECHANISM_PARAM_INVALID);
    p = good;
    p.ulSaltType = CKF_HKDF_SALT_DATA; /* no salt given */
    assert_int_equal(derive(CKM_HKDF_DERIVE, &p, sizeof p, &base, &t),
                     CKR_MECHANISM_PARAM_INVALID);
    p = good;
    p.ulInfoLen = 3; /* NULL info */
    assert_int_equal(derive(CKM_HKDF_DERIVE, &p, sizeof p, &base, &t),
                     CKR_MECHANISM_PARAM_INVALID);
    p = good;
    p.ulSaltType = 0x80;
    assert_int_equal(derive(CKM_HKDF_DERIVE, &p, sizeof p, &base, &t),
                     CKR_MECHANISM_PARAM_INVALID);
    /* wrong base key type; a data object only with extract and a salt */
    assert_int_equal(derive(CKM_HKDF_DERIVE, &good, sizeof good, &aesbase, &t),
                     CKR_KEY_TYPE_INCONSISTENT);
    assert_int_equal(derive(CKM_HKDF_DERIVE, &good, sizeof good, &data, &t),
                     CKR_KEY_TYPE_INCONSISTENT);
    assert_int_equal(derive(CKM_HKDF_DATA, &good, sizeof good, &data, &t),
                     CKR_MECHANISM_PARAM_INVALID);
    p = good;
    p.ulSaltType = CKF_HKDF_SALT_DATA;
    p.pSalt = salt;
    p.ulSaltLen = sizeof salt;
    assert_int_equal(derive(CKM_HKDF_DATA, &p, sizeof p, &data, &t), CKR_OK);
    attrs_free(&t);

    /* lengths: AES needs CKA_VALUE_LEN and one of its sizes; extract-only is the PRK size;
     * expand at most 255 hash lengths; HMAC-typed prfHashMechanism is accepted too */
    make_tmpl(&t, CKO_SECRET_KEY, CKK_AES, 0);
    assert_int_equal(derive(CKM_HKDF_DERIVE, &good, sizeof good, &base, &t),
                     CKR_TEMPLATE_INCOMPLETE);
    attrs_set_ulong(&t, CKA_VALUE_LEN, 20);
    assert_int_equal(derive(CKM_HKDF_DERIVE, &good, sizeof good, &base, &t),
                     CKR_TEMPLATE_INCONSISTENT);
    attrs_set_ulong(&t, CKA_VALUE_LEN, 16);
    assert_int_equal(derive(CKM_HKDF_DERIVE, &good, sizeof good, &base, &t), CKR_OK);
    p = good;
    p.bExpand = CK_FALSE;
    assert_int_equal(derive(CKM_HKDF_DERIVE, &p, sizeof p, &base, &t),
                     CKR_TEMPLATE_INCONSISTENT);
    attrs_free(&t);
    make_tmpl(&t, CKO_SECRET_KEY, CKK_GENERIC_SECRET, 255 * 32 + 1);
    assert_int_equal(derive(CKM_HKDF_DERIVE, &good, sizeof good, &base, &t),
                     CKR_KEY_SIZE_RANGE);
    attrs_set_ulong(&t, CKA_VALUE_LEN, 255 * 32);
    assert_int_equal(derive(CKM_HKDF_DERIVE, &good, sizeof good, &base, &t), CKR_OK);
    attrs_free(&t);
    make_tmpl(&t, CKO_SECRET_KEY, CKK_GENERIC_SECRET, 42);
    p = good;
    p.prfHashMechanism = CKM_SHA256_HMAC;
    p.ulSaltType = CKF_HKDF_SALT_NULL;
    assert_int_equal(derive(CKM_HKDF_DERIVE, &p, sizeof p, &base, &t), CKR_OK);
    check_value(&t, hkdf_cases[2].okm);
    attrs_free(&t);

    attrs_free(&base);
    attrs_free(&aesbase);
    attrs_free(&data);
}

static void test_hkdf_keygen(void **state)
{
    (void)state;
    const struct mech_def *d = mech_find(CKM_HKDF_KEY_GEN);
    assert_non_null(d);
    assert_true(d->flags & CKF_GENERATE);
    CK_MECHANISM m = { CKM_HKDF_KEY_GEN, NULL, 0 };
    attrs_t t;
    make_tmpl(&t, CKO_SECRET_KEY, CKK_HKDF, 32);
    assert_int_equal(d->family->generate(d, &m, &t), CKR_OK);
    const attr_t *v = attrs_get(&t, CKA_VALUE);
    assert_non_null(v);
    assert_int_equal(v->len, 32);
    attrs_free(&t);
    make_tmpl(&t, CKO_SECRET_KEY, CKK_HKDF, 0);
    assert_int_equal(d->family->generate(d, &m, &t), CKR_TEMPLATE_INCOMPLETE);
    attrs_free(&t);
    make_tmpl(&t, CKO_SECRET_KEY, CKK_AES, 16);
    assert_int_equal(d->family->generate(d, &m, &t), CKR_TEMPLATE_INCONSISTENT);
    attrs_free(&t);
}

#define S_PW(x) x, (sizeof x - 1)

/* ---- PBKDF2 -------------------------------------------------------------------------- */

static CK_RV pbkdf2(const char *pw, size_t pwl, const char *salt, size_t sl, CK_ULONG iter,
                    CK_ULONG prf, attrs_t *t)
{
    const struct mech_def *d = mech_find(CKM_PKCS5_PBKD2);
    assert_non_null(d);
    CK_PKCS5_PBKD2_PARAMS2 p = { CKZ_SALT_SPECIFIED, (void *)salt, sl, iter, prf, NULL, 0,
                                 (CK_UTF8CHAR_PTR)pw, pwl };
    CK_MECHANISM m = { CKM_PKCS5_PBKD2, &p, sizeof p };
    return d->family->generate(d, &m, t);
}

static void pbkdf2_kat(const char *pw, size_t pwl, const char *salt, size_t sl, CK_ULONG iter,
                       CK_ULONG prf, const char *hex)
{
    attrs_t t;
    make_tmpl(&t, CKO_SECRET_KEY, CKK_GENERIC_SECRET, strlen(hex) / 2);
    assert_int_equal(pbkdf2(pw, pwl, salt, sl, iter, prf, &t), CKR_OK);
    check_value(&t, hex);
    attrs_free(&t);
}

/* RFC 6070 (PBKDF2-HMAC-SHA1) and RFC 7914 section 11 (PBKDF2-HMAC-SHA256). */
static void test_pbkdf2_kat(void **state)
{
    (void)state;
    pbkdf2_kat(S_PW("password"), S_PW("salt"), 1, CKP_PKCS5_PBKD2_HMAC_SHA1,
               "0c60c80f961f0e71f3a9b524af6012062fe037a6");
    pbkdf2_kat(S_PW("password"), S_PW("salt"), 2, CKP_PKCS5_PBKD2_HMAC_SHA1,
               "ea6c014dc72d6f8ccd1ed92ace1d41f0d8de8957");
    pbkdf2_kat(S_PW("password"), S_PW("salt"), 4096, CKP_PKCS5_PBKD2_HMAC_SHA1,
               "4b007901b765489abead49d926f721d065a429c1");
    pbkdf2_kat(S_PW("passwordPASSWORDpassword"), S_PW("saltSALTsaltSALTsaltSALTsaltSALTsalt"),
               4096, CKP_PKCS5_PBKD2_HMAC_SHA1,
               "3d2eec4fe41c849b80c8d83662c0e44a8b291a964cf2f07038");
    pbkdf2_kat("pass\0word", 9, "sa\0lt", 5, 4096, CKP_PKCS5_PBKD2_HMAC_SHA1,
               "56fa6aa75548099dcc37d7f03425e0c3");
    pbkdf2_kat(S_PW("passwd"), S_PW("salt"), 1, CKP_PKCS5_PBKD2_HMAC_SHA256,
               "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"
               "49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783");
}

static void test_pbkdf2_layouts_and_errors(void **state)
{
    (void)state;
    const struct mech_def *d = mech_find(CKM_PKCS5_PBKD2);
    attrs_t t;

    /* the v2.20 layout: ulPasswordLen points at the length */
    CK_ULONG pwl = 8;
    CK_PKCS5_PBKD2_PARAMS old = { CKZ_SALT_SPECIFIED, "salt", 4, 2, CKP_PKCS5_PBKD2_HMAC_SHA1,
                                  NULL, 0, (CK_UTF8CHAR_PTR) "password", &pwl };
    CK_MECHANISM m = { CKM_PKCS5_PBKD2, &old, sizeof old };
    make_tmpl(&t, CKO_SECRET_KEY, CKK_GENERIC_SECRET, 20);
    assert_int_equal(d->family->generate(d, &m, &t), CKR_OK);
    check_value(&t, "ea6c014dc72d6f8ccd1ed92ace1d41f0d8de8957");
    attrs_free(&t);

    /* key length from the key type */
    make_tmpl(&t, CKO_SECRET_KEY, CKK_AES, 16);
    assert_int_equal(pbkdf2(S_PW("password"), S_PW("salt"), 1, CKP_PKCS5_PBKD2_HMAC_SHA1, &t),
                     CKR_OK);
    check_value(&t, "0c60c80f961f0e71f3a9b524af601206");
    attrs_free(&t);
    make_tmpl(&t, CKO_SECRET_KEY, CKK_AES, 0);
    assert_int_equal(pbkdf2(S_PW("password"), S_PW("salt"), 1, CKP_PKCS5_PBKD2_HMAC_SHA1, &t),
                     CKR_TEMPLATE_INCOMPLETE);
    attrs_free(&t);

    make_tmpl(&t, CKO_SECRET_KEY, CKK_GENERIC_SECRET, 20);
    assert_int_equal(pbkdf2(S_PW("password"), S_PW("salt"), 0, CKP_PKCS5_PBKD2_HMAC_SHA1, &t),
                     CKR_MECHANISM_PARAM_INVALID);
    assert_int_equal(pbkdf2(S_PW("password"), S_PW("salt"), 1, 0x99, &t),
                     CKR_MECHANISM_PARAM_INVALID);
    assert_int_equal(pbkdf2(S_PW("password"), NULL, 4, 1, CKP_PKCS5_PBKD2_HMAC_SHA1, &t),
                     CKR_MECHANISM_PARAM_INVALID);
    assert_int_equal(pbkdf2(NULL, 8, S_PW("salt"), 1, CKP_PKCS5_PBKD2_HMAC_SHA1, &t),
                     CKR_MECHANISM_PARAM_INVALID);
    CK_PKCS5_PBKD2_PARAMS2 p = { 7, "salt", 4, 1, CKP_PKCS5_PBKD2_HMAC_SHA1, NULL, 0,
                                 (CK_UTF8CHAR_PTR) "password", 8 };
    CK_MECHANISM bad = { CKM_PKCS5_PBKD2, &p, sizeof p };
    assert_int_equal(d->family->generate(d, &bad, &t), CKR_MECHANISM_PARAM_INVALID);
    p.saltSource = CKZ_SALT_SPECIFIED;
    bad.ulParameterLen = sizeof p - 1;
    assert_int_equal(d->family->generate(d, &bad, &t), CKR_MECHANISM_PARAM_INVALID);
    bad.pParameter = NULL;
    bad.ulParameterLen = sizeof p;
    assert_int_equal(d->family->generate(d, &bad, &t), CKR_MECHANISM_PARAM_INVALID);
    attrs_free(&t);
}

/* ---- SP 800-108 ---------------------------------------------------------------------- */

static CK_RV sp108(CK_MECHANISM_TYPE mech, CK_MECHANISM_TYPE prf, CK_PRF_DATA_PARAM *dp,
                   CK_ULONG ndp, const uint8_t *iv, size_t ivl, const attrs_t *base, attrs_t *t)
{
    if (mech == CKM_SP800_108_COUNTER_KDF) {
        CK_SP800_108_KDF_PARAMS p = { prf, ndp, dp, 0, NULL };
        return derive(mech, &p, sizeof p, base, t);
    }
    CK_SP800_108_FEEDBACK_KDF_PARAMS p = { prf, ndp, dp, ivl, (CK_BYTE_PTR)iv, 0, NULL };
    return derive(mech, &p, sizeof p, base, t);
}

/* NIST CAVP KBKDF sample (KDFCTR_gen.rsp): PRF=HMAC_SHA256, CTRLOCATION=BEFORE_FIXED,
 * RLEN=32_BITS, COUNT=0, L=128; recomputed independently with Python's hmac module. */
static void test_sp108_cavp(void **state)
{
    (void)state;
    uint8_t ki[32], fixed[60];
    mu_unhex_unchecked("dd1d91b7d90b2bd3138533ce92b272fbf8a369316aefe242e659cc0ae238afe0", ki);
    mu_unhex_unchecked("01322b96b30acd197979444e468e1c5c6859bf1b1cf951b7e725303e237e46b8"
          "64a145fab25e517b08f8683d0315bb2911d80a0e8aba17f3b413faac",
          fixed);
    attrs_t base, t;
    make_obj(&base, CKO_SECRET_KEY, CKK_GENERIC_SECRET, ki, sizeof ki);
    CK_SP800_108_COUNTER_FORMAT ctr = { CK_FALSE, 32 };
    CK_PRF_DATA_PARAM dp[] = {
        { CK_SP800_108_ITERATION_VARIABLE, &ctr, sizeof ctr },
        { CK_SP800_108_BYTE_ARRAY, fixed, sizeof fixed },
    };
    make_tmpl(&t, CKO_SECRET_KEY, CKK_GENERIC_SECRET, 16);
    assert_int_equal(sp108(CKM_SP800_108_COUNTER_KDF, CKM_SHA256_HMAC, dp, 2, NULL, 0, &base,
                           &t),
                     CKR_OK);
    check_value(&t, "10621342bfb0fd40046c0e29f2cfdbf0");
    attrs_free(&t);
    attrs_free(&base);
}

/* OpenSSL's KBKDF with its fixed layout [i]32 || label || 0x00 || context || [L]32 (counter)
 * or K(i-1) || [i]32 || label || 0x00 || context || [L]32 (feedback), expressed here through
 * the PKCS#11 data parameters. */
static void kbkdf_ref(const char *mode, const char *mac, const char *md_or_cipher,
                      const uint8_t *key, size_t kl, const uint8_t *label, size_t ll,
                      const uint8_t *ctx, size_t cl, const uint8_t *iv, size_t ivl,
                      uint8_t *out, size_t n)
{
    EVP_KDF *kdf = EVP_KDF_fetch(ossl_libctx(), "KBKDF", NULL);
    assert_non_null(kdf);
    EVP_KDF_CTX *kc = EVP_KDF_CTX_new(kdf);
    OSSL_PARAM p[8];
    size_t k = 0;
    p[k++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_MODE, (char *)mode, 0);
    p[k++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_MAC, (char *)mac, 0);
    p[k++] = OSSL_PARAM_construct_utf8_string(strcmp(mac, "HMAC") == 0 ? OSSL_KDF_PARAM_DIGEST
                                                                       : OSSL_KDF_PARAM_CIPHER,
                                              (char *)md_or_cipher, 0);
    p[k++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)key, kl);
    p[k++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)label, ll);
    p[k++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)ctx, cl);
    if (ivl)
        p[k++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED, (void *)iv, ivl);
    p[k] = OSSL_PARAM_construct_end();
    int ok = EVP_KDF_derive(kc, out, n, p);
    if (ok != 1)
        ERR_print_errors_fp(stderr);
    assert_int_equal(ok, 1);
    EVP_KDF_CTX_free(kc);
    EVP_KDF_free(kdf);
}

static void test_sp108_vs_openssl(void **state)
{
    (void)state;
    uint8_t key32[32], label[] = "craton label", context[] = "some context", iv[64], zero = 0;
    for (size_t i = 0; i < 32; i++)
        key32[i] = (uint8_t)(i * 3 + 1);
    for (size_t i = 0; i < 64; i++)
        iv[i] = (uint8_t)(0xa0 + i);
    CK_SP800_108_COUNTER_FORMAT c32 = { CK_FALSE, 32 };
    CK_SP800_108_DKM_LENGTH_FORMAT l32 = { CK_SP800_108_DKM_LENGTH_SUM_OF_KEYS, CK_FALSE, 32 };
    CK_PRF_DATA_PARAM counter_dp[] = {
        { CK_SP800_108_ITERATION_VARIABLE, &c32, sizeof c32 },
        { CK_SP800_108_BYTE_ARRAY, label, sizeof label - 1 },
        { CK_SP800_108_BYTE_ARRAY, &zero, 1 },
        { CK_SP800_108_BYTE_ARRAY, context, sizeof context - 1 },
        { CK_SP800_108_DKM_LENGTH, &l32, sizeof l32 },
    };
    CK_PRF_DATA_PARAM feedback_dp[] = {
        { CK_SP800_108_ITERATION_VARIABLE, NULL, 0 },
        { CK_SP800_108_OPTIONAL_COUNTER, &c32, sizeof c32 },
        { CK_SP800_108_BYTE_ARRAY, label, sizeof label - 1 },
        { CK_SP800_108_BYTE_ARRAY, &zero, 1 },
        { CK_SP800_108_BYTE_ARRAY, context, sizeof context - 1 },
        { CK_SP800_108_DKM_LENGTH, &l32, sizeof l32 },
    };
    static const struct {
        CK_MECHANISM_TYPE prf;
        CK_KEY_TYPE kt;
        size_t kl, h; /* key length, PRF output length (OpenSSL wants IV = h) */
        const char *mac, *alg;
    } prfs[] = {
        { CKM_SHA256_HMAC, CKK_GENERIC_SECRET, 32, 32, "HMAC", "SHA2-256" },
        { CKM_SHA_1_HMAC, CKK_GENERIC_SECRET, 20, 20, "HMAC", "SHA1" },
        { CKM_SHA512_HMAC, CKK_SHA512_HMAC, 32, 64, "HMAC", "SHA2-512" },
        { CKM_SHA3_256_HMAC, CKK_GENERIC_SECRET, 32, 32, "HMAC", "SHA3-256" },
        { CKM_AES_CMAC, CKK_AES, 16, 16, "CMAC", "AES-128-CBC" },
        { CKM_AES_CMAC, CKK_AES, 32, 16, "CMAC", "AES-256-CBC" },
    };
    static const size_t lens[] = { 16, 32, 42, 100 };
    for (size_t i = 0; i < sizeof prfs / sizeof prfs[0]; i++) {
        attrs_t base;
        make_obj(&base, CKO_SECRET_KEY, prfs[i].kt, key32, prfs[i].kl);
        for (size_t j = 0; j < sizeof lens / sizeof lens[0]; j++) {
            uint8_t want[128];
            attrs_t t;
            size_t ivl = prfs[i].h;

            kbkdf_ref("COUNTER", prfs[i].mac, prfs[i].alg, key32, prfs[i].kl, label,
                      sizeof label - 1, context, sizeof context - 1, NULL, 0, want, lens[j]);
            make_tmpl(&t, CKO_SECRET_KEY, CKK_GENERIC_SECRET, lens[j]);
            assert_int_equal(sp108(CKM_SP800_108_COUNTER_KDF, prfs[i].prf, counter_dp, 5, NULL,
                                   0, &base, &t),
                             CKR_OK);
            const attr_t *v = attrs_get(&t, CKA_VALUE);
            assert_int_equal(v->len, lens[j]);
            assert_memory_equal(v->val, want, lens[j]);
            attrs_free(&t);

            kbkdf_ref("FEEDBACK", prfs[i].mac, prfs[i].alg, key32, prfs[i].kl, label,
                      sizeof label - 1, context, sizeof context - 1, iv, ivl, want, lens[j]);
            make_tmpl(&t, CKO_SECRET_KEY, CKK_GENERIC_SECRET, lens[j]);
            assert_int_equal(sp108(CKM_SP800_108_FEEDBACK_KDF, prfs[i].prf, feedback_dp, 6, iv,
                                   ivl, &base, &t),
                             CKR_OK);
            v = attrs_get(&t, CKA_VALUE);
            assert_memory_equal(v->val, want, lens[j]);
            attrs_free(&t);
        }
        attrs_free(&base);
    }
}

static void test_sp108_errors(void **state)
{
    (void)state;
    uint8_t k[32] = { 1 };
    attrs_t base, aes, t;
    make_obj(&base, CKO_SECRET_KEY, CKK_GENERIC_SECRET, k, sizeof k);
    make_obj(&aes, CKO_SECRET_KEY, CKK_AES, k, 16);
    make_tmpl(&t, CKO_SECRET_KEY, CKK_GENERIC_SECRET, 32);
    CK_SP800_108_COUNTER_FORMAT c8 = { CK_FALSE, 8 }, c12 = { CK_FALSE, 12 };
    CK_SP800_108_DKM_LENGTH_FORMAT dbad = { 9, CK_FALSE, 32 };
    uint8_t label[4] = "abc";
    CK_PRF_DATA_PARAM only_bytes[] = { { CK_SP800_108_BYTE_ARRAY, label, 3 } };
    CK_PRF_DATA_PARAM two_iter[] = { { CK_SP800_108_ITERATION_VARIABLE, &c8, sizeof c8 },
                                     { CK_SP800_108_ITERATION_VARIABLE, &c8, sizeof c8 } };
    CK_PRF_DATA_PARAM opt_ctr[] = { { CK_SP800_108_ITERATION_VARIABLE, &c8, sizeof c8 },
                                    { CK_SP800_108_OPTIONAL_COUNTER, &c8, sizeof c8 } };
    CK_PRF_DATA_PARAM bad_width[] = { { CK_SP800_108_ITERATION_VARIABLE, &c12, sizeof c12 } };
    CK_PRF_DATA_PARAM no_fmt[] = { { CK_SP800_108_ITERATION_VARIABLE, NULL, 0 } };
    CK_PRF_DATA_PARAM bad_dkm[] = { { CK_SP800_108_ITERATION_VARIABLE, &c8, sizeof c8 },
                                    { CK_SP800_108_DKM_LENGTH, &dbad, sizeof dbad } };
    CK_PRF_DATA_PARAM bad_type[] = { { CK_SP800_108_ITERATION_VARIABLE, &c8, sizeof c8 },
                                     { 0x77, label, 3 } };
    CK_PRF_DATA_PARAM good[] = { { CK_SP800_108_ITERATION_VARIABLE, &c8, sizeof c8 } };
    CK_PRF_DATA_PARAM fb_with_value[] = { { CK_SP800_108_ITERATION_VARIABLE, &c8, sizeof c8 } };

#define CTR(dp, n) sp108(CKM_SP800_108_COUNTER_KDF, CKM_SHA256_HMAC, dp, n, NULL, 0, &base, &t)
    assert_int_equal(CTR(only_bytes, 1), CKR_MECHANISM_PARAM_INVALID);
    assert_int_equal(CTR(two_iter, 2), CKR_MECHANISM_PARAM_INVALID);
    assert_int_equal(CTR(opt_ctr, 2), CKR_MECHANISM_PARAM_INVALID);
    assert_int_equal(CTR(bad_width, 1), CKR_MECHANISM_PARAM_INVALID);
    assert_int_equal(CTR(no_fmt, 1), CKR_MECHANISM_PARAM_INVALID);
    assert_int_equal(CTR(bad_dkm, 2), CKR_MECHANISM_PARAM_INVALID);
    assert_int_equal(CTR(bad_type, 2), CKR_MECHANISM_PARAM_INVALID);
    assert_int_equal(CTR(good, 0), CKR_MECHANISM_PARAM_INVALID);
    assert_int_equal(CTR(good, 1), CKR_OK);
    assert_int_equal(sp108(CKM_SP800_108_FEEDBACK_KDF, CKM_SHA256_HMAC, fb_with_value, 1, NULL,
                           0, &base, &t),
                     CKR_MECHANISM_PARAM_INVALID);
    /* PRF and key */
    assert_int_equal(sp108(CKM_SP800_108_COUNTER_KDF, CKM_SHA256, good, 1, NULL, 0, &base, &t),
                     CKR_MECHANISM_PARAM_INVALID);
    assert_int_equal(sp108(CKM_SP800_108_COUNTER_KDF, CKM_AES_CMAC, good, 1, NULL, 0, &base,
                           &t),
                     CKR_KEY_TYPE_INCONSISTENT);
    assert_int_equal(sp108(CKM_SP800_108_COUNTER_KDF, CKM_SHA256_HMAC, good, 1, NULL, 0, &aes,
                           &t),
                     CKR_KEY_TYPE_INCONSISTENT);
    /* an 8-bit counter cannot count 256 blocks */
    attrs_set_ulong(&t, CKA_VALUE_LEN, 256 * 32);
    assert_int_equal(CTR(good, 1), CKR_MECHANISM_PARAM_INVALID);
    attrs_set_ulong(&t, CKA_VALUE_LEN, 255 * 32);
    assert_int_equal(CTR(good, 1), CKR_OK);
#undef CTR
    /* additional derived keys are not supported; bad struct sizes */
    CK_SP800_108_KDF_PARAMS p = { CKM_SHA256_HMAC, 1, good, 1, NULL };
    assert_int_equal(derive(CKM_SP800_108_COUNTER_KDF, &p, sizeof p, &base, &t),
                     CKR_MECHANISM_PARAM_INVALID);
    p.ulAdditionalDerivedKeys = 0;
    assert_int_equal(derive(CKM_SP800_108_COUNTER_KDF, &p, sizeof p - 1, &base, &t),
                     CKR_MECHANISM_PARAM_INVALID);
    assert_int_equal(derive(CKM_SP800_108_FEEDBACK_KDF, &p, sizeof p, &base, &t),
                     CKR_MECHANISM_PARAM_INVALID);
    attrs_free(&t);
    make_tmpl(&t, CKO_SECRET_KEY, CKK_GENERIC_SECRET, 0);
    assert_int_equal(derive(CKM_SP800_108_COUNTER_KDF, &p, sizeof p, &base, &t),
                     CKR_TEMPLATE_INCOMPLETE);
    attrs_free(&t);
    attrs_free(&base);
    attrs_free(&aes);
}

/* ---- simple derivations -------------------------------------------------------------- */

static void test_simple(void **state)
{
    (void)state;
    uint8_t bv[4], dv[4];
    mu_unhex_unchecked("01234567", bv);
    mu_unhex_unchecked("89abcdef", dv);
    attrs_t base, t;
    make_obj(&base, CKO_SECRET_KEY, CKK_GENERIC_SECRET, bv, 4);
    CK_KEY_DERIVATION_STRING_DATA sd = { dv, 4 };

    /* no length, no key type: generic secret of the whole result */
    make_tmpl(&t, CKO_SECRET_KEY, CK_UNAVAILABLE_INFORMATION, 0);
    assert_int_equal(derive(CKM_CONCATENATE_BASE_AND_DATA, &sd, sizeof sd, &base, &t), CKR_OK);
    check_value(&t, "0123456789abcdef");
    CK_ULONG kt = 0;
    assert_true(attrs_ulong(&t, CKA_KEY_TYPE, &kt));
    assert_int_equal(kt, CKK_GENERIC_SECRET);
    attrs_free(&t);
    make_tmpl(&t, CKO_SECRET_KEY, CK_UNAVAILABLE_INFORMATION, 0);
    assert_int_equal(derive(CKM_CONCATENATE_DATA_AND_BASE, &sd, sizeof sd, &base, &t), CKR_OK);
    check_value(&t, "89abcdef01234567");
    attrs_free(&t);
    make_tmpl(&t, CKO_SECRET_KEY, CK_UNAVAILABLE_INFORMATION, 0);
    assert_int_equal(derive(CKM_XOR_BASE_AND_DATA, &sd, sizeof sd, &base, &t), CKR_OK);
    check_value(&t, "88888888");
    attrs_free(&t);
    /* a length takes the leading bytes; too long is inconsistent */
    make_tmpl(&t, CKO_SECRET_KEY, CKK_GENERIC_SECRET, 6);
    assert_int_equal(derive(CKM_CONCATENATE_BASE_AND_DATA, &sd, sizeof sd, &base, &t), CKR_OK);
    check_value(&t, "0123456789ab");
    attrs_set_ulong(&t, CKA_VALUE_LEN, 9);
    assert_int_equal(derive(CKM_CONCATENATE_BASE_AND_DATA, &sd, sizeof sd, &base, &t),
                     CKR_TEMPLATE_INCONSISTENT);
    attrs_set_ulong(&t, CKA_VALUE_LEN, 5);
    assert_int_equal(derive(CKM_XOR_BASE_AND_DATA, &sd, sizeof sd, &base, &t),
                     CKR_TEMPLATE_INCONSISTENT);
    attrs_free(&t);
    /* key type with a fixed length */
    make_tmpl(&t, CKO_SECRET_KEY, CKK_DES, 0);
    assert_int_equal(derive(CKM_CONCATENATE_BASE_AND_DATA, &sd, sizeof sd, &base, &t), CKR_OK);
    check_value(&t, "0123456789abcdef");
    assert_null(attrs_get(&t, CKA_VALUE_LEN)); /* DES keys carry no length attribute */
    attrs_free(&t);
    /* parameters */
    make_tmpl(&t, CKO_SECRET_KEY, CK_UNAVAILABLE_INFORMATION, 0);
    assert_int_equal(derive(CKM_CONCATENATE_BASE_AND_DATA, &sd, sizeof sd - 1, &base, &t),
                     CKR_MECHANISM_PARAM_INVALID);
    CK_KEY_DERIVATION_STRING_DATA nulld = { NULL, 4 };
    assert_int_equal(derive(CKM_CONCATENATE_BASE_AND_DATA, &nulld, sizeof nulld, &base, &t),
                     CKR_MECHANISM_PARAM_INVALID);
    attrs_free(&t);
    attrs_free(&base);

    /* The specification's example: 0x329F84A9 from bit 21, two bytes: 0x9526. */
    mu_unhex_unchecked("329f84a9", bv);
    make_obj(&base, CKO_SECRET_KEY, CKK_GENERIC_SECRET, bv, 4);
    CK_EXTRACT_PARAMS bit = 21;
    make_tmpl(&t, CKO_SECRET_KEY, CK_UNAVAILABLE_INFORMATION, 2);
    assert_int_equal(derive(CKM_EXTRACT_KEY_FROM_KEY, &bit, sizeof bit, &base, &t), CKR_OK);
    check_value(&t, "9526");
    attrs_free(&t);
    make_tmpl(&t, CKO_SECRET_KEY, CK_UNAVAILABLE_INFORMATION, 0);
    assert_int_equal(derive(CKM_EXTRACT_KEY_FROM_KEY, &bit, sizeof bit, &base, &t),
                     CKR_TEMPLATE_INCOMPLETE);
    attrs_set_ulong(&t, CKA_VALUE_LEN, 5);
    assert_int_equal(derive(CKM_EXTRACT_KEY_FROM_KEY, &bit, sizeof bit, &base, &t),
                     CKR_TEMPLATE_INCONSISTENT);
    bit = 32;
    attrs_set_ulong(&t, CKA_VALUE_LEN, 2);
    assert_int_equal(derive(CKM_EXTRACT_KEY_FROM_KEY, &bit, sizeof bit, &base, &t),
                     CKR_MECHANISM_PARAM_INVALID);
    bit = 0;
    attrs_set_ulong(&t, CKA_VALUE_LEN, 4);
    assert_int_equal(derive(CKM_EXTRACT_KEY_FROM_KEY, &bit, sizeof bit, &base, &t), CKR_OK);
    check_value(&t, "329f84a9");
    attrs_free(&t);
    attrs_free(&base);

    /* a public key is no base for these */
    make_obj(&base, CKO_PUBLIC_KEY, CKK_GENERIC_SECRET, bv, 4);
    make_tmpl(&t, CKO_SECRET_KEY, CK_UNAVAILABLE_INFORMATION, 0);
    assert_int_equal(derive(CKM_CONCATENATE_BASE_AND_DATA, &sd, sizeof sd, &base, &t),
                     CKR_KEY_TYPE_INCONSISTENT);
    attrs_free(&t);
    attrs_free(&base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hkdf_rfc5869),
        cmocka_unit_test(test_hkdf_errors),
        cmocka_unit_test(test_hkdf_keygen),
        cmocka_unit_test(test_pbkdf2_kat),
        cmocka_unit_test(test_pbkdf2_layouts_and_errors),
        cmocka_unit_test(test_sp108_cavp),
        cmocka_unit_test(test_sp108_vs_openssl),
        cmocka_unit_test(test_sp108_errors),
        cmocka_unit_test(test_simple),
    };
    return cmocka_run_group_tests(tests, setup, mu_group_teardown);
}
