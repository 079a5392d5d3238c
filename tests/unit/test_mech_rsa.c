/* Unit tests of the RSA mechanisms (mech/rsa.c) with known answers from the standards. */
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
 * static archive: name the table so the linker includes it. */
extern const struct mech_table mech_rsa_table;
static const struct mech_table *volatile g_linked = &mech_rsa_table;

/* Shared across tests: one generated 2048-bit pair (generation is slow). */
static attrs_t g_pub, g_priv;
static void *g_pub_cache, *g_priv_cache;

static int group_setup(void **state)
{
    (void)state;
    (void)g_linked;
    if (mu_mech_open())
        return -1;
    const struct mech_def *d = mech_find(CKM_RSA_PKCS_KEY_PAIR_GEN);
    if (!d)
        return -1;
    CK_MECHANISM m = { CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0 };
    attrs_init(&g_pub);
    attrs_init(&g_priv);
    attrs_set_ulong(&g_pub, CKA_CLASS, CKO_PUBLIC_KEY);
    attrs_set_ulong(&g_pub, CKA_KEY_TYPE, CKK_RSA);
    attrs_set_ulong(&g_pub, CKA_MODULUS_BITS, 2048);
    attrs_set_ulong(&g_priv, CKA_CLASS, CKO_PRIVATE_KEY);
    attrs_set_ulong(&g_priv, CKA_KEY_TYPE, CKK_RSA);
    CK_RV grv = d->family->generate_pair(d, &m, &g_pub, &g_priv);
    if (grv != CKR_OK)
        fprintf(stderr, "generate_pair: 0x%lx\n", (unsigned long)grv);
    return grv == CKR_OK ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    mech_cache_free(g_pub_cache);
    mech_cache_free(g_priv_cache);
    attrs_free(&g_pub);
    attrs_free(&g_priv);
    mu_mech_close();
    return 0;
}

static struct mech_key pubkey(void)
{
    return (struct mech_key){ &g_pub, &g_pub_cache, NULL };
}
static struct mech_key privkey(void)
{
    return (struct mech_key){ &g_priv, &g_priv_cache, NULL };
}

/* pkcs1v15sign-vectors.txt (RSA Laboratories), Example 1: 1024-bit key. */
static const char *EX1_N =
    "a56e4a0e701017589a5187dc7ea841d156f2ec0e36ad52a44dfeb1e61f7ad991d8c51056ffedb162b4c0f283"
    "a12a88a394dff526ab7291cbb307ceabfce0b1dfd5cd9508096d5b2b8b6df5d671ef6377c0921cb23c270a70"
    "e2598e6ff89d19f105acc2d3f0cb35f29280e1386b6f64c4ef22e1e1f20d0ce8cffb2249bd9a2137";
static const char *EX1_D =
    "33a5042a90b27d4f5451ca9bbbd0b44771a101af884340aef9885f2a4bbe92e894a724ac3c568c8f97853ad0"
    "7c0266c8c6a3ca0929f1e8f11231884429fc4d9ae55fee896a10ce707c3ed7e734e44727a39574501a532683"
    "109c2abacaba283c31b4bd2f53c3ee37e352cee34f9e503bd80c0622ad79c6dcee883547c6a3b325";
/* Example 1.2 */
static const char *EX12_MSG =
    "851384cdfe819c22ed6c4ccb30daeb5cf059bc8e1166b7e3530c4c233e2b5f8f71a1cca582d43ecc72b1bca1"
    "6dfc7013226b9e";
static const char *EX12_SIG =
    "84fd2ce734ec1da828d0f15bf49a8707c15d05948136de537a3db421384167c86fae022587ee9e137daee754"
    "738262932d271c744c6d3a189ad4311bdb020492e322fbddc40406ea860d4e8ea2a4084aa98b9622a446756f"
    "db740ddb3d91db7670e211661bbf8709b11c08a70771422d1a12def29f0688a192aebd89e0f896f8";
/* Example 1.3 */
static const char *EX13_MSG =
    "a4b159941761c40c6a82f2b80d1b94f5aa2654fd17e12d588864679b54cd04ef8bd03012be8dc37f4b83af79"
    "63faff0dfa225477437c48017ff2be8191cf3955fc07356eab3f322f7f620e21d254e5db4324279fe067e091"
    "0e2e81ca2cab31c745e67a54058eb50d993cdb9ed0b4d029c06d21a94ca661c3ce27fae1d6cb20f4564d66ce"
    "4767583d0e5f060215b59017be85ea848939127bd8c9c4d47b51056c031cf336f17c9980f3b8f5b9b6878e8b"
    "797aa43b882684333e17893fe9caa6aa299f7ed1a18ee2c54864b7b2b99b72618fb02574d139ef50f019c9ee"
    "f416971338e7d470";
static const char *EX13_SIG =
    "0b1f2e5180e5c7b4b5e672929f664c4896e50c35134b6de4d5a934252a3a245ff48340920e1034b7d5a5b524"
    "eb0e1cf12befef49b27b732d2c19e1c43217d6e1417381111a1d36de6375cf455b3c9812639dbc27600c7519"
    "94fb61799ecf7da6bcf51540afd0174db4033188556675b1d763360af46feeca5b60f882829ee7b2";

static void test_pkcs1_sign_kat(void **state)
{
    (void)state;
    attrs_t priv, pub;
    void *cache = NULL;
    mu_key_head(&priv, CKO_PRIVATE_KEY, CKK_RSA);
    mu_set_hex(&priv, CKA_MODULUS, EX1_N, false);
    mu_set_hex(&priv, CKA_PUBLIC_EXPONENT, "010001", false);
    mu_set_hex(&priv, CKA_PRIVATE_EXPONENT, EX1_D, true);
    assert_int_equal(mech_validate_import(&priv), CKR_OK);
    struct mech_key k = { &priv, &cache, NULL };
    uint8_t msg[512], want[128], sig[256];
    size_t mlen = mu_unhex(EX12_MSG, msg, sizeof msg);
    mu_unhex(EX12_SIG, want, sizeof want);

    /* length query, then a short buffer, then the signature: nothing consumed before */
    struct mech_ctx *c;
    assert_int_equal(mu_start(CKM_SHA1_RSA_PKCS, NULL, 0, CKF_SIGN, &k, &c), CKR_OK);
    CK_ULONG n = 0;
    assert_int_equal(c->def->family->oneshot(c, msg, mlen, NULL, &n), MECH_LENGTH_ONLY);
    assert_int_equal(n, 128);
    n = 127;
    assert_int_equal(c->def->family->oneshot(c, msg, mlen, sig, &n), CKR_BUFFER_TOO_SMALL);
    assert_int_equal(n, 128);
    n = sizeof sig;
    assert_int_equal(c->def->family->oneshot(c, msg, mlen, sig, &n), CKR_OK);
    assert_int_equal(n, 128);
    assert_memory_equal(sig, want, 128);
    c->def->family->free(c);

    /* multi-part gives the same bytes */
    assert_int_equal(mu_start(CKM_SHA1_RSA_PKCS, NULL, 0, CKF_SIGN, &k, &c), CKR_OK);
    assert_int_equal(c->def->family->update(c, msg, 10, NULL, NULL), CKR_OK);
    assert_int_equal(c->def->family->update(c, msg + 10, mlen - 10, NULL, NULL), CKR_OK);
    n = 0;
    assert_int_equal(c->def->family->final(c, NULL, &n), MECH_LENGTH_ONLY);
    n = sizeof sig;
    assert_int_equal(c->def->family->final(c, sig, &n), CKR_OK);
    assert_memory_equal(sig, want, 128);
    c->def->family->free(c);

    /* CKM_RSA_PKCS over the DigestInfo gives the same signature, and verify-recovers it */
    uint8_t di[35] = { 0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05,
                       0x00, 0x04, 0x14 };
    unsigned int hl = 20;
    assert_int_equal(EVP_Digest(msg, mlen, di + 15, &hl, EVP_sha1(), NULL), 1);
    n = sizeof sig;
    assert_int_equal(mu_once(CKM_RSA_PKCS, NULL, 0, CKF_SIGN, &k, di, sizeof di, sig, &n), CKR_OK);
    assert_memory_equal(sig, want, 128);
    n = sizeof sig;
    assert_int_equal(mu_once(CKM_RSA_PKCS, NULL, 0, CKF_SIGN_RECOVER, &k, di, sizeof di, sig, &n),
                     CKR_OK);
    assert_memory_equal(sig, want, 128);
    /* too long for PKCS#1 v1.5 (k - 11) */
    n = sizeof sig;
    assert_int_equal(mu_once(CKM_RSA_PKCS, NULL, 0, CKF_SIGN, &k, msg, 118, sig, &n),
                     CKR_DATA_LEN_RANGE);
    mech_cache_free(cache);
    cache = NULL;

    mu_key_head(&pub, CKO_PUBLIC_KEY, CKK_RSA);
    mu_set_hex(&pub, CKA_MODULUS, EX1_N, false);
    mu_set_hex(&pub, CKA_PUBLIC_EXPONENT, "010001", false);
    k.attrs = &pub;
    uint8_t rec[128];
    n = sizeof rec;
    assert_int_equal(mu_once(CKM_RSA_PKCS, NULL, 0, CKF_VERIFY_RECOVER, &k, want, 128, rec, &n),
                     CKR_OK);
    assert_int_equal(n, sizeof di);
    assert_memory_equal(rec, di, sizeof di);
    assert_int_equal(mu_verify(CKM_RSA_PKCS, NULL, 0, &k, di, sizeof di, want, 128), CKR_OK);

    /* Example 1.3, verify only */
    mlen = mu_unhex(EX13_MSG, msg, sizeof msg);
    mu_unhex(EX13_SIG, want, sizeof want);
    assert_int_equal(mu_verify(CKM_SHA1_RSA_PKCS, NULL, 0, &k, msg, mlen, want, 128), CKR_OK);
    assert_int_equal(mu_start(CKM_SHA1_RSA_PKCS, NULL, 0, CKF_VERIFY, &k, &c), CKR_OK);
    for (size_t i = 0; i < mlen; i += 7)
        assert_int_equal(c->def->family->update(c, msg + i, mlen - i < 7 ? mlen - i : 7, NULL,
                                                NULL),
                         CKR_OK);
    assert_int_equal(c->def->family->verify_final(c, want, 128), CKR_OK);
    c->def->family->free(c);
    assert_int_equal(mu_verify(CKM_SHA1_RSA_PKCS, NULL, 0, &k, msg, mlen, want, 127),
                     CKR_SIGNATURE_LEN_RANGE);
    want[5] ^= 1;
    assert_int_equal(mu_verify(CKM_SHA1_RSA_PKCS, NULL, 0, &k, msg, mlen, want, 128),
                     CKR_SIGNATURE_INVALID);
    /* a parameter where none belongs */
    assert_int_equal(mu_verify(CKM_SHA1_RSA_PKCS, msg, 4, &k, msg, mlen, want, 128),
                     CKR_MECHANISM_PARAM_INVALID);
    mech_cache_free(cache);
    attrs_free(&priv);
    attrs_free(&pub);
}

/* NIST CAVP SigGen15_186-3.rsp, [mod = 1024], first SHA256 sample (e = 0x1001). */
static void test_cavp_sha256_verify(void **state)
{
    (void)state;
    attrs_t pub;
    mu_key_head(&pub, CKO_PUBLIC_KEY, CKK_RSA);
    mu_set_hex(&pub, CKA_MODULUS,
            "a3ecf80ff1804833c36a89a1583f58ef3332476a50a153e73ced17796139636045c131a6b17222ba8848"
            "f70150b18dfa390bfb1670ae982dfbc311fd0ede055564687af3805ca883944bb5ac9ec19b0e0cfbd9a3"
            "14d70b17080c3d49b50cbf417062eb41bd639d67a5fb330ec55a0489fee08eeec97ed487c114b20393fe"
            "0aef",
            false);
    mu_set_hex(&pub, CKA_PUBLIC_EXPONENT, "1001", false);
    assert_int_equal(mech_validate_import(&pub), CKR_OK);
    uint8_t msg[128], sig[128];
    size_t mlen = mu_unhex("dfce08b64b9ea4014947012670548da4ceeee084dbfe509aac92bf096982b8050153bb"
                        "dd1c5bd4385226729e9a19773b05558ce0acdfb74be6fd2fa8bfe36f58a68e89f066f1"
                        "bd85584f4a27d6e884abf2d727ae683bebd6d295585b1b71dcc636491bf910a68670c3"
                        "882fc60c08db7bff3c59f4f95b13c3d721e329657528d9",
                        msg, sizeof msg);
    mu_unhex("8d9d30a87df0c2f6cd651fcaf2b9ac1296287ad3d4b03132e330f08ab701fc197040d0a261f631e7e344"
          "78b592551e1f682395c9e2b54c8ce8b0c72c1b5a79748cc34f9152730a7f67fae1225a4ce750f1d5d4e288"
          "176df197e7503c88b5baecef3abcf2875f111e6d7f7b4dc8afa2ed3c1d7ad8e7cf45a77f0b1cb178518402",
          sig, sizeof sig);
    void *cache = NULL;
    struct mech_key k = { &pub, &cache, NULL };
    assert_int_equal(mu_verify(CKM_SHA256_RSA_PKCS, NULL, 0, &k, msg, mlen, sig, 128), CKR_OK);
    /* the same signature under the wrong hash */
    assert_int_equal(mu_verify(CKM_SHA384_RSA_PKCS, NULL, 0, &k, msg, mlen, sig, 128),
                     CKR_SIGNATURE_INVALID);
    msg[0] ^= 1;
    assert_int_equal(mu_verify(CKM_SHA256_RSA_PKCS, NULL, 0, &k, msg, mlen, sig, 128),
                     CKR_SIGNATURE_INVALID);
    mech_cache_free(cache);
    attrs_free(&pub);
}

static void test_generated_pair(void **state)
{
    (void)state;
    CK_ULONG bits;
    assert_true(attrs_ulong(&g_pub, CKA_MODULUS_BITS, &bits));
    assert_int_equal(bits, 2048);
    const attr_t *e = attrs_get(&g_pub, CKA_PUBLIC_EXPONENT);
    assert_non_null(e);
    assert_int_equal(e->len, 3);
    assert_memory_equal(e->val, "\x01\x00\x01", 3);
    assert_non_null(attrs_get(&g_priv, CKA_MODULUS));
    assert_non_null(attrs_get(&g_priv, CKA_PUBLIC_EXPONENT));
    assert_true(attrs_get(&g_priv, CKA_PRIVATE_EXPONENT)->secret);
    assert_true(attrs_get(&g_priv, CKA_COEFFICIENT)->secret);
    assert_null(attrs_get(&g_pub, CKA_PRIVATE_EXPONENT));
    assert_int_equal(mech_validate_import(&g_priv), CKR_OK);
    assert_int_equal(mech_validate_import(&g_pub), CKR_OK);
}

static void test_keygen_errors(void **state)
{
    (void)state;
    const struct mech_def *d = mech_find(CKM_RSA_PKCS_KEY_PAIR_GEN);
    CK_MECHANISM m = { CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0 };
    attrs_t pub, priv;
    mu_key_head(&pub, CKO_PUBLIC_KEY, CKK_RSA);
    mu_key_head(&priv, CKO_PRIVATE_KEY, CKK_RSA);
    assert_int_equal(d->family->generate_pair(d, &m, &pub, &priv), CKR_TEMPLATE_INCOMPLETE);
    attrs_set_ulong(&pub, CKA_MODULUS_BITS, 512);
    assert_int_equal(d->family->generate_pair(d, &m, &pub, &priv), CKR_KEY_SIZE_RANGE);
    attrs_set_ulong(&pub, CKA_MODULUS_BITS, 16392);
    assert_int_equal(d->family->generate_pair(d, &m, &pub, &priv), CKR_KEY_SIZE_RANGE);
    attrs_set_ulong(&pub, CKA_MODULUS_BITS, 2048);
    mu_set_hex(&pub, CKA_PUBLIC_EXPONENT, "010000", false);
    assert_int_equal(d->family->generate_pair(d, &m, &pub, &priv), CKR_ATTRIBUTE_VALUE_INVALID);
    mu_set_hex(&pub, CKA_PUBLIC_EXPONENT, "01", false);
    assert_int_equal(d->family->generate_pair(d, &m, &pub, &priv), CKR_ATTRIBUTE_VALUE_INVALID);
    CK_ULONG dummy = 0;
    m.ulParameterLen = sizeof dummy;
    m.pParameter = &dummy;
    assert_int_equal(d->family->generate_pair(d, &m, &pub, &priv), CKR_MECHANISM_PARAM_INVALID);
    /* any odd exponent the caller asks for: e = 3 */
    m.ulParameterLen = 0;
    m.pParameter = NULL;
    mu_set_hex(&pub, CKA_PUBLIC_EXPONENT, "03", false);
    assert_int_equal(d->family->generate_pair(d, &m, &pub, &priv), CKR_OK);
    const attr_t *e = attrs_get(&priv, CKA_PUBLIC_EXPONENT);
    assert_int_equal(e->len, 1);
    assert_int_equal(e->val[0], 3);
    assert_int_equal(mech_validate_import(&priv), CKR_OK);
    attrs_free(&pub);
    attrs_free(&priv);
}

static void test_pss(void **state)
{
    (void)state;
    struct mech_key kpriv = privkey(), kpub = pubkey();
    CK_RSA_PKCS_PSS_PARAMS p = { CKM_SHA256, CKG_MGF1_SHA256, 32 };
    uint8_t dg[64], sig[256], msg[300];
    memset(msg, 0x5a, sizeof msg);
    unsigned int hl = 32;
    assert_int_equal(EVP_Digest(msg, sizeof msg, dg, &hl, EVP_sha256(), NULL), 1);
    CK_ULONG n = sizeof sig;
    assert_int_equal(mu_once(CKM_RSA_PKCS_PSS, &p, sizeof p, CKF_SIGN, &kpriv, dg, 32, sig, &n),
                     CKR_OK);
    assert_int_equal(n, 256);
    assert_int_equal(mu_verify(CKM_RSA_PKCS_PSS, &p, sizeof p, &kpub, dg, 32, sig, 256), CKR_OK);
    /* the hash-and-sign form verifies the raw form's signature and the reverse */
    assert_int_equal(mu_verify(CKM_SHA256_RSA_PKCS_PSS, &p, sizeof p, &kpub, msg, sizeof msg, sig,
                            256),
                     CKR_OK);
    struct mech_ctx *c;
    assert_int_equal(mu_start(CKM_SHA256_RSA_PKCS_PSS, &p, sizeof p, CKF_SIGN, &kpriv, &c), CKR_OK);
    assert_int_equal(c->def->family->update(c, msg, 100, NULL, NULL), CKR_OK);
    assert_int_equal(c->def->family->update(c, msg + 100, 200, NULL, NULL), CKR_OK);
    n = sizeof sig;
    assert_int_equal(c->def->family->final(c, sig, &n), CKR_OK);
    c->def->family->free(c);
    assert_int_equal(mu_verify(CKM_RSA_PKCS_PSS, &p, sizeof p, &kpub, dg, 32, sig, 256), CKR_OK);
    /* a different salt length does not verify */
    CK_RSA_PKCS_PSS_PARAMS p2 = p;
    p2.sLen = 20;
    assert_int_equal(mu_verify(CKM_RSA_PKCS_PSS, &p2, sizeof p2, &kpub, dg, 32, sig, 256),
                     CKR_SIGNATURE_INVALID);
    /* the input of CKM_RSA_PKCS_PSS is a digest of the named hash */
    n = sizeof sig;
    assert_int_equal(mu_once(CKM_RSA_PKCS_PSS, &p, sizeof p, CKF_SIGN, &kpriv, dg, 31, sig, &n),
                     CKR_DATA_LEN_RANGE);
    /* parameter errors */
    n = sizeof sig;
    assert_int_equal(mu_once(CKM_RSA_PKCS_PSS, &p, sizeof p - 1, CKF_SIGN, &kpriv, dg, 32, sig, &n),
                     CKR_MECHANISM_PARAM_INVALID);
    assert_int_equal(mu_once(CKM_RSA_PKCS_PSS, NULL, 0, CKF_SIGN, &kpriv, dg, 32, sig, &n),
                     CKR_MECHANISM_PARAM_INVALID);
    p2 = p;
    p2.hashAlg = CKM_MD5;
    assert_int_equal(mu_once(CKM_RSA_PKCS_PSS, &p2, sizeof p2, CKF_SIGN, &kpriv, dg, 32, sig, &n),
                     CKR_MECHANISM_PARAM_INVALID);
    p2 = p;
    p2.mgf = 77;
    assert_int_equal(mu_once(CKM_RSA_PKCS_PSS, &p2, sizeof p2, CKF_SIGN, &kpriv, dg, 32, sig, &n),
                     CKR_MECHANISM_PARAM_INVALID);
    p2 = p;
    p2.sLen = 256;
    assert_int_equal(mu_once(CKM_RSA_PKCS_PSS, &p2, sizeof p2, CKF_SIGN, &kpriv, dg, 32, sig, &n),
                     CKR_MECHANISM_PARAM_INVALID);
    p2 = p;
    p2.hashAlg = CKM_SHA384; /* not the mechanism's hash */
    assert_int_equal(mu_start(CKM_SHA256_RSA_PKCS_PSS, &p2, sizeof p2, CKF_SIGN, &kpriv, &c),
                     CKR_MECHANISM_PARAM_INVALID);
    /* SHA3 with an MGF1 over another hash */
    CK_RSA_PKCS_PSS_PARAMS p3 = { CKM_SHA3_512, CKG_MGF1_SHA1, 64 };
    n = sizeof sig;
    assert_int_equal(mu_once(CKM_SHA3_512_RSA_PKCS_PSS, &p3, sizeof p3, CKF_SIGN, &kpriv, msg, 7,
                          sig, &n),
                     CKR_OK);
    assert_int_equal(mu_verify(CKM_SHA3_512_RSA_PKCS_PSS, &p3, sizeof p3, &kpub, msg, 7, sig, 256),
                     CKR_OK);
    /* signing needs the private key object */
    assert_int_equal(mu_once(CKM_RSA_PKCS_PSS, &p, sizeof p, CKF_SIGN, &kpub, dg, 32, sig, &n),
                     CKR_KEY_TYPE_INCONSISTENT);
}

static void test_hash_sign_all(void **state)
{
    (void)state;
    static const CK_MECHANISM_TYPE mechs[] = {
        CKM_SHA1_RSA_PKCS,     CKM_SHA224_RSA_PKCS,   CKM_SHA256_RSA_PKCS,
        CKM_SHA384_RSA_PKCS,   CKM_SHA512_RSA_PKCS,   CKM_SHA3_224_RSA_PKCS,
        CKM_SHA3_256_RSA_PKCS, CKM_SHA3_384_RSA_PKCS, CKM_SHA3_512_RSA_PKCS,
    };
    struct mech_key kpriv = privkey(), kpub = pubkey();
    uint8_t sig[256];
    for (size_t i = 0; i < sizeof mechs / sizeof mechs[0]; i++) {
        CK_ULONG n = sizeof sig;
        assert_int_equal(mu_once(mechs[i], NULL, 0, CKF_SIGN, &kpriv, (const uint8_t *)"abc", 3,
                              sig, &n),
                         CKR_OK);
        assert_int_equal(mu_verify(mechs[i], NULL, 0, &kpub, (const uint8_t *)"abc", 3, sig, n),
                         CKR_OK);
        assert_int_equal(mu_verify(mechs[i], NULL, 0, &kpub, (const uint8_t *)"abd", 3, sig, n),
                         CKR_SIGNATURE_INVALID);
    }
}

static void test_oaep(void **state)
{
    (void)state;
    struct mech_key kpriv = privkey(), kpub = pubkey();
    uint8_t label[] = "a label";
    CK_RSA_PKCS_OAEP_PARAMS p = { CKM_SHA256, CKG_MGF1_SHA256, CKZ_DATA_SPECIFIED, label, 7 };
    uint8_t pt[256], ct[256], back[256];
    memset(pt, 0x33, sizeof pt);
    /* the largest message: k - 2 hLen - 2 = 190 */
    CK_ULONG n = sizeof ct;
    assert_int_equal(mu_once(CKM_RSA_PKCS_OAEP, &p, sizeof p, CKF_ENCRYPT, &kpub, pt, 191, ct, &n),
                     CKR_DATA_LEN_RANGE);
    assert_int_equal(mu_once(CKM_RSA_PKCS_OAEP, &p, sizeof p, CKF_ENCRYPT, &kpub, pt, 190, ct, &n),
                     CKR_OK);
    assert_int_equal(n, 256);
    CK_ULONG m = 0;
    assert_int_equal(
        mu_once(CKM_RSA_PKCS_OAEP, &p, sizeof p, CKF_DECRYPT, &kpriv, ct, 256, NULL, &m),
        MECH_LENGTH_ONLY);
    assert_true(m >= 190);
    m = 100;
    assert_int_equal(
        mu_once(CKM_RSA_PKCS_OAEP, &p, sizeof p, CKF_DECRYPT, &kpriv, ct, 256, back, &m),
        CKR_BUFFER_TOO_SMALL);
    assert_int_equal(m, 190);
    m = sizeof back;
    assert_int_equal(
        mu_once(CKM_RSA_PKCS_OAEP, &p, sizeof p, CKF_DECRYPT, &kpriv, ct, 256, back, &m), CKR_OK);
    assert_int_equal(m, 190);
    assert_memory_equal(back, pt, 190);
    /* another label, another hash, a damaged ciphertext, a short one */
    CK_RSA_PKCS_OAEP_PARAMS p2 = p;
    p2.ulSourceDataLen = 6;
    m = sizeof back;
    assert_int_equal(mu_once(CKM_RSA_PKCS_OAEP, &p2, sizeof p2, CKF_DECRYPT, &kpriv, ct, 256, back,
                          &m),
                     CKR_ENCRYPTED_DATA_INVALID);
    p2 = p;
    p2.hashAlg = CKM_SHA_1;
    m = sizeof back;
    assert_int_equal(mu_once(CKM_RSA_PKCS_OAEP, &p2, sizeof p2, CKF_DECRYPT, &kpriv, ct, 256, back,
                          &m),
                     CKR_ENCRYPTED_DATA_INVALID);
    ct[100] ^= 1;
    m = sizeof back;
    assert_int_equal(mu_once(CKM_RSA_PKCS_OAEP, &p, sizeof p, CKF_DECRYPT, &kpriv, ct, 256, back,
                          &m),
                     CKR_ENCRYPTED_DATA_INVALID);
    assert_int_equal(mu_once(CKM_RSA_PKCS_OAEP, &p, sizeof p, CKF_DECRYPT, &kpriv, ct, 255, back,
                          &m),
                     CKR_ENCRYPTED_DATA_LEN_RANGE);
    /* SHA3-384 with MGF1-SHA512 and no label */
    CK_RSA_PKCS_OAEP_PARAMS p3 = { CKM_SHA3_384, CKG_MGF1_SHA512, CKZ_DATA_SPECIFIED, NULL, 0 };
    n = sizeof ct;
    assert_int_equal(mu_once(CKM_RSA_PKCS_OAEP, &p3, sizeof p3, CKF_ENCRYPT, &kpub, pt, 16, ct, &n),
                     CKR_OK);
    m = sizeof back;
    assert_int_equal(mu_once(CKM_RSA_PKCS_OAEP, &p3, sizeof p3, CKF_DECRYPT, &kpriv, ct, 256, back,
                          &m),
                     CKR_OK);
    assert_int_equal(m, 16);
    /* bad parameters */
    p2 = p;
    p2.source = 2;
    assert_int_equal(mu_once(CKM_RSA_PKCS_OAEP, &p2, sizeof p2, CKF_ENCRYPT, &kpub, pt, 16, ct, &n),
                     CKR_MECHANISM_PARAM_INVALID);
    p2 = p;
    p2.pSourceData = NULL;
    assert_int_equal(mu_once(CKM_RSA_PKCS_OAEP, &p2, sizeof p2, CKF_ENCRYPT, &kpub, pt, 16, ct, &n),
                     CKR_MECHANISM_PARAM_INVALID);
    assert_int_equal(mu_once(CKM_RSA_PKCS_OAEP, NULL, 0, CKF_ENCRYPT, &kpub, pt, 16, ct, &n),
                     CKR_MECHANISM_PARAM_INVALID);
}

static void test_pkcs_and_raw_encryption(void **state)
{
    (void)state;
    struct mech_key kpriv = privkey(), kpub = pubkey();
    uint8_t pt[256], ct[256], back[256];
    memset(pt, 0x44, sizeof pt);
    CK_ULONG n = sizeof ct, m = sizeof back;
    assert_int_equal(mu_once(CKM_RSA_PKCS, NULL, 0, CKF_ENCRYPT, &kpub, pt, 246, ct, &n),
                     CKR_DATA_LEN_RANGE);
    assert_int_equal(mu_once(CKM_RSA_PKCS, NULL, 0, CKF_ENCRYPT, &kpub, pt, 245, ct, &n), CKR_OK);
    assert_int_equal(mu_once(CKM_RSA_PKCS, NULL, 0, CKF_DECRYPT, &kpriv, ct, 256, back, &m),
                     CKR_OK);
    assert_int_equal(m, 245);
    assert_memory_equal(back, pt, 245);
    ct[0] ^= 0x80;
    m = sizeof back;
    CK_RV rv = mu_once(CKM_RSA_PKCS, NULL, 0, CKF_DECRYPT, &kpriv, ct, 256, back, &m);
    assert_int_equal(rv, CKR_ENCRYPTED_DATA_INVALID);

    /* raw: a short input is a number, left-padded; decryption gives all k bytes */
    n = sizeof ct;
    assert_int_equal(mu_once(CKM_RSA_X_509, NULL, 0, CKF_ENCRYPT, &kpub, pt, 20, ct, &n), CKR_OK);
    m = sizeof back;
    assert_int_equal(mu_once(CKM_RSA_X_509, NULL, 0, CKF_DECRYPT, &kpriv, ct, 256, back, &m),
                     CKR_OK);
    assert_int_equal(m, 256);
    uint8_t zero[236] = { 0 };
    assert_memory_equal(back, zero, 236);
    assert_memory_equal(back + 236, pt, 20);
    /* raw sign then raw verify-recover */
    n = sizeof ct;
    assert_int_equal(mu_once(CKM_RSA_X_509, NULL, 0, CKF_SIGN, &kpriv, pt, 20, ct, &n), CKR_OK);
    assert_int_equal(mu_verify(CKM_RSA_X_509, NULL, 0, &kpub, pt, 20, ct, 256), CKR_OK);
    /* at or above the modulus */
    uint8_t big[256];
    memset(big, 0xff, sizeof big);
    n = sizeof ct;
    assert_int_equal(mu_once(CKM_RSA_X_509, NULL, 0, CKF_ENCRYPT, &kpub, big, 256, ct, &n),
                     CKR_DATA_INVALID);
    assert_int_equal(mu_once(CKM_RSA_X_509, NULL, 0, CKF_ENCRYPT, &kpub, big, 257, ct, &n),
                     CKR_DATA_LEN_RANGE);
}

static void test_wrap_unwrap(void **state)
{
    (void)state;
    struct mech_key kpriv = privkey(), kpub = pubkey();
    const struct mech_def *d = mech_find(CKM_RSA_PKCS_OAEP);
    CK_RSA_PKCS_OAEP_PARAMS p = { CKM_SHA256, CKG_MGF1_SHA256, CKZ_DATA_SPECIFIED, NULL, 0 };
    CK_MECHANISM m = { CKM_RSA_PKCS_OAEP, &p, sizeof p };
    attrs_t aes, out;
    mu_key_head(&aes, CKO_SECRET_KEY, CKK_AES);
    mu_set_hex(&aes, CKA_VALUE, "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
            true);
    uint8_t wrapped[256];
    CK_ULONG n = 0;
    assert_int_equal(d->family->wrap(d, &m, &kpub, &aes, NULL, &n), MECH_LENGTH_ONLY);
    assert_int_equal(n, 256);
    assert_int_equal(d->family->wrap(d, &m, &kpub, &aes, wrapped, &n), CKR_OK);
    mu_key_head(&out, CKO_SECRET_KEY, CKK_AES);
    assert_int_equal(d->family->unwrap(d, &m, &kpriv, wrapped, n, &out), CKR_OK);
    const attr_t *v = attrs_get(&out, CKA_VALUE);
    assert_non_null(v);
    assert_true(v->secret);
    assert_int_equal(v->len, 32);
    assert_memory_equal(v->val, attrs_get(&aes, CKA_VALUE)->val, 32);
    CK_ULONG vl;
    assert_true(attrs_ulong(&out, CKA_VALUE_LEN, &vl));
    assert_int_equal(vl, 32);
    attrs_free(&out);
    /* CKA_VALUE_LEN in the template must match */
    mu_key_head(&out, CKO_SECRET_KEY, CKK_AES);
    attrs_set_ulong(&out, CKA_VALUE_LEN, 16);
    assert_int_equal(d->family->unwrap(d, &m, &kpriv, wrapped, n, &out),
                     CKR_TEMPLATE_INCONSISTENT);
    attrs_free(&out);
    wrapped[3] ^= 1;
    mu_key_head(&out, CKO_SECRET_KEY, CKK_AES);
    assert_int_equal(d->family->unwrap(d, &m, &kpriv, wrapped, n, &out), CKR_WRAPPED_KEY_INVALID);
    assert_int_equal(d->family->unwrap(d, &m, &kpriv, wrapped, n - 1, &out),
                     CKR_WRAPPED_KEY_LEN_RANGE);
    /* the wrong key kinds */
    assert_int_equal(d->family->unwrap(d, &m, &kpub, wrapped, n, &out),
                     CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT);
    assert_int_equal(d->family->wrap(d, &m, &kpub, &g_priv, wrapped, &n), CKR_KEY_NOT_WRAPPABLE);
    attrs_free(&out);
    /* CKM_RSA_PKCS wrap too */
    const struct mech_def *d2 = mech_find(CKM_RSA_PKCS);
    CK_MECHANISM m2 = { CKM_RSA_PKCS, NULL, 0 };
    n = sizeof wrapped;
    assert_int_equal(d2->family->wrap(d2, &m2, &kpub, &aes, wrapped, &n), CKR_OK);
    mu_key_head(&out, CKO_SECRET_KEY, CKK_GENERIC_SECRET);
    assert_int_equal(d2->family->unwrap(d2, &m2, &kpriv, wrapped, n, &out), CKR_OK);
    assert_int_equal(attrs_get(&out, CKA_VALUE)->len, 32);
    attrs_free(&out);
    attrs_free(&aes);
}

static void test_wrong_key_type(void **state)
{
    (void)state;
    attrs_t ec;
    void *cache = NULL;
    mu_key_head(&ec, CKO_PRIVATE_KEY, CKK_EC);
    struct mech_key k = { &ec, &cache, NULL };
    struct mech_ctx *c = NULL;
    assert_int_equal(mu_start(CKM_SHA256_RSA_PKCS, NULL, 0, CKF_SIGN, &k, &c),
                     CKR_KEY_TYPE_INCONSISTENT);
    attrs_free(&ec);
    /* the mechanism info */
    const struct mech_def *d = mech_find(CKM_RSA_PKCS);
    assert_int_equal(d->min_key, 1024);
    assert_int_equal(d->max_key, 16384);
    assert_true(d->flags & CKF_VERIFY_RECOVER);
    assert_null(d->family->update);
    assert_non_null(mech_find(CKM_SHA3_224_RSA_PKCS_PSS));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pkcs1_sign_kat),
        cmocka_unit_test(test_cavp_sha256_verify),
        cmocka_unit_test(test_generated_pair),
        cmocka_unit_test(test_keygen_errors),
        cmocka_unit_test(test_pss),
        cmocka_unit_test(test_hash_sign_all),
        cmocka_unit_test(test_oaep),
        cmocka_unit_test(test_pkcs_and_raw_encryption),
        cmocka_unit_test(test_wrap_unwrap),
        cmocka_unit_test(test_wrong_key_type),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
