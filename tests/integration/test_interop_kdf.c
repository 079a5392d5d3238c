/* Interoperability of the digests, HMACs and key-derivation functions with plain OpenSSL in the
 * test process: C_Digest == EVP_Digest for every SHA-1/SHA-2/SHA-3 digest; HMAC (and its
 * _GENERAL form) C_Sign == EVP_MAC, C_Verify accepts EVP's tag and rejects a flipped one;
 * HKDF (C_DeriveKey CKM_HKDF_DERIVE) == EVP_KDF "HKDF"; PBKDF2 (C_GenerateKey CKM_PKCS5_PBKD2)
 * == PKCS5_PBKDF2_HMAC; SP 800-108 counter and feedback KDFs == EVP_KDF "KBKDF" with the same
 * label/context layout. Derived keys are made extractable and not sensitive, and their value
 * read back. A failing case is reported with its mechanism and the other cases still run. */
#include "interop_util.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <string.h>

/* ---- token helpers ----------------------------------------------------------------------- */

static CK_RV tok_secret(CK_KEY_TYPE kt, const uint8_t *v, size_t vl, CK_OBJECT_HANDLE *k)
{
    CK_OBJECT_CLASS c = CKO_SECRET_KEY;
    CK_ATTRIBUTE t[] = {{CKA_CLASS, &c, sizeof c},  {CKA_KEY_TYPE, &kt, sizeof kt},
                        {CKA_VALUE, (void *)v, vl}, {CKA_TOKEN, &no, 1},
                        {CKA_SIGN, &yes, 1},        {CKA_VERIFY, &yes, 1},
                        {CKA_DERIVE, &yes, 1},      {CKA_EXTRACTABLE, &yes, 1}};
    return F->C_CreateObject(S, t, 8, k);
}

static const struct dg {
    CK_MECHANISM_TYPE m, hmac, hmac_gen;
    const char *md;
    size_t len;
} DIGESTS[] = {
    {CKM_SHA_1, CKM_SHA_1_HMAC, CKM_SHA_1_HMAC_GENERAL, "SHA1", 20},
    {CKM_SHA224, CKM_SHA224_HMAC, CKM_SHA224_HMAC_GENERAL, "SHA224", 28},
    {CKM_SHA256, CKM_SHA256_HMAC, CKM_SHA256_HMAC_GENERAL, "SHA256", 32},
    {CKM_SHA384, CKM_SHA384_HMAC, CKM_SHA384_HMAC_GENERAL, "SHA384", 48},
    {CKM_SHA512, CKM_SHA512_HMAC, CKM_SHA512_HMAC_GENERAL, "SHA512", 64},
    {CKM_SHA512_224, CKM_SHA512_224_HMAC, CKM_SHA512_224_HMAC_GENERAL, "SHA512-224", 28},
    {CKM_SHA512_256, CKM_SHA512_256_HMAC, CKM_SHA512_256_HMAC_GENERAL, "SHA512-256", 32},
    {CKM_SHA3_224, CKM_SHA3_224_HMAC, CKM_SHA3_224_HMAC_GENERAL, "SHA3-224", 28},
    {CKM_SHA3_256, CKM_SHA3_256_HMAC, CKM_SHA3_256_HMAC_GENERAL, "SHA3-256", 32},
    {CKM_SHA3_384, CKM_SHA3_384_HMAC, CKM_SHA3_384_HMAC_GENERAL, "SHA3-384", 48},
    {CKM_SHA3_512, CKM_SHA3_512_HMAC, CKM_SHA3_512_HMAC_GENERAL, "SHA3-512", 64},
};
#define NDG (sizeof DIGESTS / sizeof DIGESTS[0])

/* ---- digests ------------------------------------------------------------------------------ */

static void test_digests(void **state)
{
    (void)state;
    g_fail = 0;
    uint8_t msg[1000], want[64], got[64], kv[48];
    CK_OBJECT_HANDLE k;
    RAND_bytes(msg, sizeof msg);
    RAND_bytes(kv, sizeof kv);
    assert_ok(tok_secret(CKK_GENERIC_SECRET, kv, sizeof kv, &k));
    static const size_t lens[] = {0, 3, 1000, 136};
    for (size_t i = 0; i < NDG; i++) {
        const struct dg *d = &DIGESTS[i];
        CK_MECHANISM m = {d->m, NULL, 0};
        char what[80];
        for (size_t j = 0; j < 4; j++) {
            unsigned wl = 0;
            CK_ULONG gl = sizeof got;
            snprintf(what, sizeof what, "C_Digest %s over %zu bytes", d->md, lens[j]);
            g_what = what;
            EXPECT(EVP_Digest(msg, lens[j], want, &wl, EVP_get_digestbyname(d->md), NULL) == 1,
                   "EVP_Digest");
            EXPECT_RV(F->C_DigestInit(S, &m), CKR_OK);
            if (j & 1) {
                for (size_t off = 0; off < lens[j]; off += 97)
                    EXPECT_RV(
                        F->C_DigestUpdate(S, msg + off, lens[j] - off < 97 ? lens[j] - off : 97),
                        CKR_OK);
                EXPECT_RV(F->C_DigestFinal(S, got, &gl), CKR_OK);
            } else {
                EXPECT_RV(F->C_Digest(S, msg, lens[j], got, &gl), CKR_OK);
            }
            EXPECT(gl == d->len && gl == wl && memcmp(got, want, wl) == 0, "digests differ");
        }
        snprintf(what, sizeof what, "C_DigestKey %s", d->md);
        g_what = what;
        {
            unsigned wl = 0;
            CK_ULONG gl = sizeof got;
            EVP_Digest(kv, sizeof kv, want, &wl, EVP_get_digestbyname(d->md), NULL);
            EXPECT_RV(F->C_DigestInit(S, &m), CKR_OK);
            EXPECT_RV(F->C_DigestUpdate(S, msg, 10), CKR_OK);
            EXPECT_RV(F->C_DigestKey(S, k), CKR_OK);
            EXPECT_RV(F->C_DigestFinal(S, got, &gl), CKR_OK);
            EVP_MD_CTX *c = EVP_MD_CTX_new();
            EVP_DigestInit_ex(c, EVP_get_digestbyname(d->md), NULL);
            EVP_DigestUpdate(c, msg, 10);
            EVP_DigestUpdate(c, kv, sizeof kv);
            EVP_DigestFinal_ex(c, want, &wl);
            EVP_MD_CTX_free(c);
            EXPECT(gl == wl && memcmp(got, want, wl) == 0, "C_DigestKey differs from EVP");
        }
    out:
        g_what = "";
    }
    assert_int_equal(g_fail, 0);
}

/* ---- HMAC --------------------------------------------------------------------------------- */

static int evp_hmac(const char *md, const uint8_t *key, size_t kl, const uint8_t *in, size_t il,
                    uint8_t *out, size_t *ol)
{
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *c = mac ? EVP_MAC_CTX_new(mac) : NULL;
    OSSL_PARAM p[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)md, 0),
                      OSSL_PARAM_construct_end()};
    int ok = c && EVP_MAC_init(c, key, kl, p) == 1 && EVP_MAC_update(c, in, il) == 1 &&
             EVP_MAC_final(c, out, ol, 64) == 1;
    EVP_MAC_CTX_free(c);
    EVP_MAC_free(mac);
    return ok;
}

static void test_hmac(void **state)
{
    (void)state;
    g_fail = 0;
    uint8_t msg[500], kv[200], want[64], got[64];
    RAND_bytes(msg, sizeof msg);
    RAND_bytes(kv, sizeof kv);
    static const size_t klens[] = {32, 200}; /* shorter and longer than the block */
    for (size_t kk = 0; kk < 2; kk++) {
        CK_OBJECT_HANDLE k;
        assert_ok(tok_secret(CKK_GENERIC_SECRET, kv, klens[kk], &k));
        for (size_t i = 0; i < NDG; i++) {
            const struct dg *d = &DIGESTS[i];
            for (int gen = 0; gen < 2; gen++) {
                char what[96];
                CK_MAC_GENERAL_PARAMS gl = d->len / 2 + 1;
                CK_MECHANISM m = {gen ? d->hmac_gen : d->hmac, gen ? &gl : NULL,
                                  gen ? sizeof gl : 0};
                size_t tl = gen ? gl : d->len, wl = 0;
                CK_ULONG sl = sizeof got;
                snprintf(what, sizeof what, "%s%s key %zu bytes", gen ? "HMAC_GENERAL " : "HMAC ",
                         d->md, klens[kk]);
                g_what = what;
                EXPECT(evp_hmac(d->md, kv, klens[kk], msg, sizeof msg, want, &wl) && wl == d->len,
                       "EVP HMAC");
                EXPECT_RV(F->C_SignInit(S, &m, k), CKR_OK);
                if ((i + kk) & 1) {
                    EXPECT_RV(F->C_SignUpdate(S, msg, 100), CKR_OK);
                    EXPECT_RV(F->C_SignUpdate(S, msg + 100, sizeof msg - 100), CKR_OK);
                    EXPECT_RV(F->C_SignFinal(S, got, &sl), CKR_OK);
                } else {
                    EXPECT_RV(F->C_Sign(S, msg, sizeof msg, got, &sl), CKR_OK);
                }
                EXPECT(sl == tl && memcmp(got, want, tl) == 0, "C_Sign differs from EVP_MAC");
                EXPECT_RV(F->C_VerifyInit(S, &m, k), CKR_OK);
                EXPECT_RV(F->C_Verify(S, msg, sizeof msg, want, tl), CKR_OK);
                want[tl / 2] ^= 0x20;
                EXPECT_RV(F->C_VerifyInit(S, &m, k), CKR_OK);
                EXPECT_RV(F->C_VerifyUpdate(S, msg, sizeof msg), CKR_OK);
                EXPECT_RV(F->C_VerifyFinal(S, want, tl), CKR_SIGNATURE_INVALID);
            out:
                g_what = "";
            }
        }
    }
    assert_int_equal(g_fail, 0);
}

/* ---- KDFs ----------------------------------------------------------------------------------- */

/* C_DeriveKey to a generic secret of len bytes, value read back. */
static CK_RV tok_derive(CK_MECHANISM *m, CK_OBJECT_HANDLE base, CK_ULONG len, uint8_t *val)
{
    CK_OBJECT_CLASS c = CKO_SECRET_KEY;
    CK_KEY_TYPE kt = CKK_GENERIC_SECRET;
    CK_ATTRIBUTE t[] = {{CKA_CLASS, &c, sizeof c},         {CKA_KEY_TYPE, &kt, sizeof kt},
                        {CKA_VALUE_LEN, &len, sizeof len}, {CKA_TOKEN, &no, 1},
                        {CKA_SENSITIVE, &no, 1},           {CKA_EXTRACTABLE, &yes, 1}};
    CK_OBJECT_HANDLE k;
    CK_RV rv = F->C_DeriveKey(S, m, base, t, 6, &k);
    if (rv == CKR_OK && get_attr(k, CKA_VALUE, val, 256) != len)
        rv = CKR_GENERAL_ERROR;
    return rv;
}

static int evp_kdf(const char *name, OSSL_PARAM *p, uint8_t *out, size_t ol)
{
    EVP_KDF *k = EVP_KDF_fetch(NULL, name, NULL);
    EVP_KDF_CTX *c = k ? EVP_KDF_CTX_new(k) : NULL;
    int ok = c && EVP_KDF_derive(c, out, ol, p) == 1;
    EVP_KDF_CTX_free(c);
    EVP_KDF_free(k);
    ERR_clear_error();
    return ok;
}

static void test_hkdf(void **state)
{
    (void)state;
    g_fail = 0;
    uint8_t ikm[40], salt[25], info[30], got[256], want[256];
    CK_OBJECT_HANDLE base;
    RAND_bytes(ikm, sizeof ikm);
    RAND_bytes(salt, sizeof salt);
    RAND_bytes(info, sizeof info);
    assert_ok(tok_secret(CKK_GENERIC_SECRET, ikm, sizeof ikm, &base));
    static const char *mds[] = {"SHA256", "SHA1", "SHA384", "SHA512", "SHA3-256"};
    static const CK_MECHANISM_TYPE hm[] = {CKM_SHA256, CKM_SHA_1, CKM_SHA384, CKM_SHA512,
                                           CKM_SHA3_256};
    static const size_t hl[] = {32, 20, 48, 64, 32};
    for (size_t i = 0; i < 5; i++) {
        /* mode 0 extract+expand, 1 extract only, 2 expand only; salt NULL in mode 3 */
        for (int mode = 0; mode < 4; mode++) {
            char what[96];
            CK_HKDF_PARAMS p = {mode != 2,
                                mode != 1,
                                hm[i],
                                mode == 3 ? CKF_HKDF_SALT_NULL : CKF_HKDF_SALT_DATA,
                                mode == 3 ? NULL : salt,
                                mode == 3 ? 0 : sizeof salt,
                                CK_INVALID_HANDLE,
                                info,
                                mode == 1 ? 0 : sizeof info};
            CK_MECHANISM m = {CKM_HKDF_DERIVE, &p, sizeof p};
            CK_ULONG len = mode == 1 ? hl[i] : 42;
            static const char *mn[] = {"extract+expand", "extract only", "expand only",
                                       "extract+expand, CKF_HKDF_SALT_NULL"};
            snprintf(what, sizeof what, "CKM_HKDF_DERIVE %s %s", mds[i], mn[mode]);
            g_what = what;
            int emode = mode == 1   ? EVP_KDF_HKDF_MODE_EXTRACT_ONLY
                        : mode == 2 ? EVP_KDF_HKDF_MODE_EXPAND_ONLY
                                    : EVP_KDF_HKDF_MODE_EXTRACT_AND_EXPAND;
            OSSL_PARAM ep[7];
            size_t n = 0;
            ep[n++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)mds[i], 0);
            ep[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, ikm, sizeof ikm);
            ep[n++] = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &emode);
            if (mode != 2 && mode != 3)
                ep[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, salt, sizeof salt);
            if (mode != 1)
                ep[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, sizeof info);
            ep[n] = OSSL_PARAM_construct_end();
            EXPECT(evp_kdf("HKDF", ep, want, len), "EVP HKDF fails");
            EXPECT_RV(tok_derive(&m, base, len, got), CKR_OK);
            EXPECT(memcmp(got, want, len) == 0, "token and EVP HKDF outputs differ");
        out:
            g_what = "";
        }
    }
    assert_int_equal(g_fail, 0);
}

static void test_pbkdf2(void **state)
{
    (void)state;
    g_fail = 0;
    static const struct {
        CK_ULONG prf;
        const char *md;
    } prfs[] = {{CKP_PKCS5_PBKD2_HMAC_SHA1, "SHA1"},
                {CKP_PKCS5_PBKD2_HMAC_SHA224, "SHA224"},
                {CKP_PKCS5_PBKD2_HMAC_SHA256, "SHA256"},
                {CKP_PKCS5_PBKD2_HMAC_SHA384, "SHA384"},
                {CKP_PKCS5_PBKD2_HMAC_SHA512, "SHA512"},
                {CKP_PKCS5_PBKD2_HMAC_SHA512_224, "SHA512-224"},
                {CKP_PKCS5_PBKD2_HMAC_SHA512_256, "SHA512-256"}};
    uint8_t salt[16], got[64], want[64];
    char pw[] = "correct horse battery staple";
    RAND_bytes(salt, sizeof salt);
    for (size_t i = 0; i < sizeof prfs / sizeof prfs[0]; i++) {
        for (int aes = 0; aes < 2; aes++) {
            char what[96];
            CK_ULONG len = aes ? 32 : 50, iter = 1000 + (CK_ULONG)i;
            CK_PKCS5_PBKD2_PARAMS2 p = {CKZ_SALT_SPECIFIED, salt, sizeof salt, iter,
                                        prfs[i].prf,        NULL, 0,           (CK_UTF8CHAR_PTR)pw,
                                        sizeof pw - 1};
            CK_MECHANISM m = {CKM_PKCS5_PBKD2, &p, sizeof p};
            CK_OBJECT_CLASS c = CKO_SECRET_KEY;
            CK_KEY_TYPE kt = aes ? CKK_AES : CKK_GENERIC_SECRET;
            CK_ATTRIBUTE t[] = {{CKA_CLASS, &c, sizeof c},         {CKA_KEY_TYPE, &kt, sizeof kt},
                                {CKA_VALUE_LEN, &len, sizeof len}, {CKA_TOKEN, &no, 1},
                                {CKA_SENSITIVE, &no, 1},           {CKA_EXTRACTABLE, &yes, 1}};
            CK_OBJECT_HANDLE k;
            snprintf(what, sizeof what, "CKM_PKCS5_PBKD2 HMAC-%s -> %s %lu bytes", prfs[i].md,
                     aes ? "AES" : "generic secret", (unsigned long)len);
            g_what = what;
            EXPECT(PKCS5_PBKDF2_HMAC(pw, sizeof pw - 1, salt, sizeof salt, (int)iter,
                                     EVP_get_digestbyname(prfs[i].md), (int)len, want) == 1,
                   "PKCS5_PBKDF2_HMAC fails");
            EXPECT_RV(F->C_GenerateKey(S, &m, t, 6, &k), CKR_OK);
            EXPECT(get_attr(k, CKA_VALUE, got, sizeof got) == len && memcmp(got, want, len) == 0,
                   "token and OpenSSL PBKDF2 outputs differ");
        out:
            g_what = "";
        }
    }
    assert_int_equal(g_fail, 0);
}

/* SP 800-108: counter mode K(i) = PRF(Ki, [i]_32 || Label || 0x00 || Context || [L]_32) and
 * feedback mode K(i) = PRF(Ki, K(i-1) || [i]_32 || Label || 0x00 || Context || [L]_32), K(0) =
 * IV (OpenSSL 3.0 wants the IV as long as the PRF output): OpenSSL's KBKDF layout, built from
 * CK_PRF_DATA_PARAMs on the token. */
static void sp108_case(const char *what, int feedback, CK_MECHANISM_TYPE prf, const char *mac,
                       const char *md_or_cipher, CK_OBJECT_HANDLE base, const uint8_t *kv,
                       size_t kl, CK_ULONG len, size_t ivl)
{
    uint8_t label[] = "craton label", ctx[] = "interop context", zero = 0, iv[64], got[256],
            want[256];
    RAND_bytes(iv, sizeof iv);
    CK_SP800_108_COUNTER_FORMAT cf = {CK_FALSE, 32};
    CK_SP800_108_DKM_LENGTH_FORMAT df = {CK_SP800_108_DKM_LENGTH_SUM_OF_KEYS, CK_FALSE, 32};
    CK_PRF_DATA_PARAM dp[6];
    size_t n = 0;
    if (feedback) {
        dp[n++] = (CK_PRF_DATA_PARAM){CK_SP800_108_ITERATION_VARIABLE, NULL, 0};
        dp[n++] = (CK_PRF_DATA_PARAM){CK_SP800_108_OPTIONAL_COUNTER, &cf, sizeof cf};
    } else {
        dp[n++] = (CK_PRF_DATA_PARAM){CK_SP800_108_ITERATION_VARIABLE, &cf, sizeof cf};
    }
    dp[n++] = (CK_PRF_DATA_PARAM){CK_SP800_108_BYTE_ARRAY, label, sizeof label - 1};
    dp[n++] = (CK_PRF_DATA_PARAM){CK_SP800_108_BYTE_ARRAY, &zero, 1};
    dp[n++] = (CK_PRF_DATA_PARAM){CK_SP800_108_BYTE_ARRAY, ctx, sizeof ctx - 1};
    dp[n++] = (CK_PRF_DATA_PARAM){CK_SP800_108_DKM_LENGTH, &df, sizeof df};
    CK_SP800_108_KDF_PARAMS cp = {prf, n, dp, 0, NULL};
    CK_SP800_108_FEEDBACK_KDF_PARAMS fp = {prf, n, dp, ivl, iv, 0, NULL};
    CK_MECHANISM m = {feedback ? CKM_SP800_108_FEEDBACK_KDF : CKM_SP800_108_COUNTER_KDF,
                      feedback ? (void *)&fp : (void *)&cp, feedback ? sizeof fp : sizeof cp};
    int cmac = strcmp(mac, "CMAC") == 0;
    OSSL_PARAM ep[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_MODE, feedback ? "feedback" : "counter", 0),
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_MAC, (char *)mac, 0),
        OSSL_PARAM_construct_utf8_string(cmac ? OSSL_KDF_PARAM_CIPHER : OSSL_KDF_PARAM_DIGEST,
                                         (char *)md_or_cipher, 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)kv, kl),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, label, sizeof label - 1),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, ctx, sizeof ctx - 1),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED, iv, ivl),
        OSSL_PARAM_construct_end(),
    };
    if (!feedback)
        ep[6] = OSSL_PARAM_construct_end();
    g_what = what;
    EXPECT(evp_kdf("KBKDF", ep, want, len), "EVP KBKDF fails");
    EXPECT_RV(tok_derive(&m, base, len, got), CKR_OK);
    EXPECT(memcmp(got, want, len) == 0, "token and EVP KBKDF outputs differ");
out:
    g_what = "";
}

static void test_sp800_108(void **state)
{
    (void)state;
    g_fail = 0;
    uint8_t kv[32];
    CK_OBJECT_HANDLE base, abase;
    RAND_bytes(kv, sizeof kv);
    assert_ok(tok_secret(CKK_GENERIC_SECRET, kv, sizeof kv, &base));
    assert_ok(tok_secret(CKK_AES, kv, 16, &abase));
    for (int fb = 0; fb < 2; fb++) {
        const char *mn = fb ? "CKM_SP800_108_FEEDBACK_KDF" : "CKM_SP800_108_COUNTER_KDF";
        char what[96];
        snprintf(what, sizeof what, "%s HMAC-SHA256, 42 bytes", mn);
        sp108_case(what, fb, CKM_SHA256_HMAC, "HMAC", "SHA256", base, kv, 32, 42, 32);
        snprintf(what, sizeof what, "%s HMAC-SHA256, 32 bytes", mn);
        sp108_case(what, fb, CKM_SHA256_HMAC, "HMAC", "SHA256", base, kv, 32, 32, 32);
        snprintf(what, sizeof what, "%s HMAC-SHA512, 100 bytes", mn);
        sp108_case(what, fb, CKM_SHA512_HMAC, "HMAC", "SHA512", base, kv, 32, 100, 64);
        snprintf(what, sizeof what, "%s HMAC-SHA1, 24 bytes", mn);
        sp108_case(what, fb, CKM_SHA_1_HMAC, "HMAC", "SHA1", base, kv, 32, 24, 20);
        snprintf(what, sizeof what, "%s AES-128-CMAC, 40 bytes", mn);
        sp108_case(what, fb, CKM_AES_CMAC, "CMAC", "AES-128-CBC", abase, kv, 16, 40, 16);
    }
    assert_int_equal(g_fail, 0);
}

int main(void)
{
    h_load();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_digests),   cmocka_unit_test(test_hmac),
        cmocka_unit_test(test_hkdf),      cmocka_unit_test(test_pbkdf2),
        cmocka_unit_test(test_sp800_108),
    };
    return cmocka_run_group_tests(tests, iu_grp_setup, iu_grp_teardown);
}
