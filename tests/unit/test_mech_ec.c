/* Unit tests of ECDSA, ECDH and EC key pairs (mech/ec.c) with known answers. */
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
extern const struct mech_table mech_ec_table;
extern const struct mech_table mech_eddsa_table;
static const struct mech_table *const volatile g_linked[] = { &mech_ec_table, &mech_eddsa_table };

static int group_setup(void **state)
{
    (void)g_linked;
    return mu_group_setup(state);
}

static const char *P256_OID = "06082a8648ce3d030107";
/* RFC 6979 A.2.5 */
static const char *P256_X = "c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721";
static const char *P256_PT = "0460fed4ba255a9d31c961eb74c6356d68c049b8923b61fa6ce669622e60f29fb6"
                             "7903fe1008b8bc99a41ae9e95628bc64f2f1b20c2d7e9f5177a3c294d4462299";
/* with SHA-256, message "sample" */
static const char *RS_SAMPLE =
    "efd48b2aacb6a8fd1140dd9cd45e81d69d2c877b56aaf991c34d0ea84eaf3716"
    "f7cb1c942d657c41d436c7a1b6e29f65f3e900dbb9aff4064dc4ab2f843acda8";

static void test_ecdsa_rfc6979_verify(void **state)
{
    (void)state;
    attrs_t pub, priv;
    void *cpub = NULL, *cpriv = NULL;
    mu_key_head(&pub, CKO_PUBLIC_KEY, CKK_EC);
    mu_set_hex(&pub, CKA_EC_PARAMS, P256_OID, false);
    mu_set_hex(&pub, CKA_EC_POINT, P256_PT, false);
    mu_key_head(&priv, CKO_PRIVATE_KEY, CKK_EC);
    mu_set_hex(&priv, CKA_EC_PARAMS, P256_OID, false);
    mu_set_hex(&priv, CKA_VALUE, P256_X, true);
    struct mech_key kpub = { &pub, &cpub, NULL }, kpriv = { &priv, &cpriv, NULL };
    uint8_t rs[64], dg[32], sig[132];
    mu_unhex(RS_SAMPLE, rs, sizeof rs);
    const uint8_t *msg = (const uint8_t *)"sample";
    unsigned int hl = 32;
    assert_int_equal(EVP_Digest(msg, 6, dg, &hl, EVP_sha256(), NULL), 1);
    /* the standard's (r, s) verifies through both forms */
    assert_int_equal(mu_verify(CKM_ECDSA, NULL, 0, &kpub, dg, 32, rs, 64), CKR_OK);
    assert_int_equal(mu_verify(CKM_ECDSA_SHA256, NULL, 0, &kpub, msg, 6, rs, 64), CKR_OK);
    struct mech_ctx *c;
    assert_int_equal(mu_start(CKM_ECDSA_SHA256, NULL, 0, CKF_VERIFY, &kpub, &c), CKR_OK);
    assert_int_equal(c->def->family->update(c, msg, 3, NULL, NULL), CKR_OK);
    assert_int_equal(c->def->family->update(c, msg + 3, 3, NULL, NULL), CKR_OK);
    assert_int_equal(c->def->family->verify_final(c, rs, 64), CKR_OK);
    c->def->family->free(c);
    /* wrong lengths and a changed s */
    assert_int_equal(mu_verify(CKM_ECDSA, NULL, 0, &kpub, dg, 32, rs, 63), CKR_SIGNATURE_LEN_RANGE);
    assert_int_equal(mu_verify(CKM_ECDSA, NULL, 0, &kpub, dg, 32, rs, 72), CKR_SIGNATURE_LEN_RANGE);
    rs[63] ^= 1;
    assert_int_equal(mu_verify(CKM_ECDSA, NULL, 0, &kpub, dg, 32, rs, 64), CKR_SIGNATURE_INVALID);
    assert_int_equal(mu_verify(CKM_ECDSA_SHA384, NULL, 0, &kpub, msg, 6, rs, 64),
                     CKR_SIGNATURE_INVALID);

    /* sign: length query, short buffer, then verify what came out (ECDSA is randomised) */
    CK_ULONG n = 0;
    assert_int_equal(mu_once(CKM_ECDSA, NULL, 0, CKF_SIGN, &kpriv, dg, 32, NULL, &n),
                     MECH_LENGTH_ONLY);
    assert_int_equal(n, 64);
    n = 63;
    assert_int_equal(mu_once(CKM_ECDSA, NULL, 0, CKF_SIGN, &kpriv, dg, 32, sig, &n),
                     CKR_BUFFER_TOO_SMALL);
    assert_int_equal(n, 64);
    n = sizeof sig;
    assert_int_equal(mu_once(CKM_ECDSA, NULL, 0, CKF_SIGN, &kpriv, dg, 32, sig, &n), CKR_OK);
    assert_int_equal(n, 64);
    assert_int_equal(mu_verify(CKM_ECDSA_SHA256, NULL, 0, &kpub, msg, 6, sig, 64), CKR_OK);
    /* a long "digest" is truncated to the order's length (FIPS 186) */
    uint8_t longd[64];
    memcpy(longd, dg, 32);
    memset(longd + 32, 0xee, 32);
    assert_int_equal(mu_verify(CKM_ECDSA, NULL, 0, &kpub, longd, 64, sig, 64), CKR_OK);
    /* multi-part sign with every hash */
    static const CK_MECHANISM_TYPE hashed[] = {
        CKM_ECDSA_SHA1,     CKM_ECDSA_SHA224,   CKM_ECDSA_SHA256,
        CKM_ECDSA_SHA384,   CKM_ECDSA_SHA512,   CKM_ECDSA_SHA3_224,
        CKM_ECDSA_SHA3_256, CKM_ECDSA_SHA3_384, CKM_ECDSA_SHA3_512,
    };
    for (size_t i = 0; i < sizeof hashed / sizeof hashed[0]; i++) {
        assert_int_equal(mu_start(hashed[i], NULL, 0, CKF_SIGN, &kpriv, &c), CKR_OK);
        assert_int_equal(c->def->family->update(c, msg, 6, NULL, NULL), CKR_OK);
        n = 0;
        assert_int_equal(c->def->family->final(c, NULL, &n), MECH_LENGTH_ONLY);
        n = sizeof sig;
        assert_int_equal(c->def->family->final(c, sig, &n), CKR_OK);
        c->def->family->free(c);
        assert_int_equal(mu_verify(hashed[i], NULL, 0, &kpub, msg, 6, sig, n), CKR_OK);
    }
    /* key type and parameter errors */
    assert_int_equal(mu_once(CKM_ECDSA, NULL, 0, CKF_SIGN, &kpub, dg, 32, sig, &n),
                     CKR_KEY_TYPE_INCONSISTENT);
    assert_int_equal(mu_once(CKM_ECDSA, dg, 4, CKF_SIGN, &kpriv, dg, 32, sig, &n),
                     CKR_MECHANISM_PARAM_INVALID);
    attrs_t rsa;
    mu_key_head(&rsa, CKO_PUBLIC_KEY, CKK_RSA);
    struct mech_key krsa = { &rsa, NULL, NULL };
    assert_int_equal(mu_verify(CKM_ECDSA, NULL, 0, &krsa, dg, 32, rs, 64),
                     CKR_KEY_TYPE_INCONSISTENT);
    attrs_free(&rsa);
    mech_cache_free(cpub);
    mech_cache_free(cpriv);
    attrs_free(&pub);
    attrs_free(&priv);
}

static void gen_pair(const char *params_hex, attrs_t *pub, attrs_t *priv, CK_RV want)
{
    const struct mech_def *d = mech_find(CKM_EC_KEY_PAIR_GEN);
    CK_MECHANISM m = { CKM_EC_KEY_PAIR_GEN, NULL, 0 };
    mu_key_head(pub, CKO_PUBLIC_KEY, CKK_EC);
    mu_key_head(priv, CKO_PRIVATE_KEY, CKK_EC);
    if (params_hex)
        mu_set_hex(pub, CKA_EC_PARAMS, params_hex, false);
    assert_int_equal(d->family->generate_pair(d, &m, pub, priv), want);
}

static void test_keygen_all_curves(void **state)
{
    (void)state;
    static const struct {
        const char *params;
        size_t siglen, ptlen;
    } curves[] = {
        { "06082a8648ce3d030107", 64, 65 },   /* P-256 */
        { "06052b81040022", 96, 97 },         /* P-384 */
        { "06052b81040023", 132, 133 },       /* P-521 */
        { "06052b8104000a", 64, 65 },         /* secp256k1 */
        { "130a7072696d653235367631", 64, 65 } /* "prime256v1" */
    };
    for (size_t i = 0; i < sizeof curves / sizeof curves[0]; i++) {
        attrs_t pub, priv;
        void *cpub = NULL, *cpriv = NULL;
        gen_pair(curves[i].params, &pub, &priv, CKR_OK);
        const attr_t *pt = attrs_get(&pub, CKA_EC_POINT);
        assert_non_null(pt);
        assert_int_equal(pt->val[0], 0x04);
        assert_int_equal(pt->len, curves[i].ptlen + (curves[i].ptlen > 127 ? 3 : 2));
        const attr_t *ep = attrs_get(&priv, CKA_EC_PARAMS);
        assert_non_null(ep);
        assert_int_equal(ep->len, attrs_get(&pub, CKA_EC_PARAMS)->len);
        assert_true(attrs_get(&priv, CKA_VALUE)->secret);
        assert_null(attrs_get(&priv, CKA_EC_POINT));
        assert_int_equal(mech_validate_import(&pub), CKR_OK);
        assert_int_equal(mech_validate_import(&priv), CKR_OK);
        struct mech_key kpub = { &pub, &cpub, NULL }, kpriv = { &priv, &cpriv, NULL };
        uint8_t sig[132];
        CK_ULONG n = sizeof sig;
        for (int round = 0; round < 2; round++) { /* the second round uses the cache */
            n = sizeof sig;
            assert_int_equal(mu_once(CKM_ECDSA_SHA384, NULL, 0, CKF_SIGN, &kpriv,
                                  (const uint8_t *)"x", 1, sig, &n),
                             CKR_OK);
            assert_int_equal(n, curves[i].siglen);
            assert_int_equal(mu_verify(CKM_ECDSA_SHA384, NULL, 0, &kpub, (const uint8_t *)"x", 1,
                                    sig, n),
                             CKR_OK);
        }
        assert_non_null(cpriv);
        mech_cache_free(cpub);
        mech_cache_free(cpriv);
        attrs_free(&pub);
        attrs_free(&priv);
    }
    attrs_t pub, priv;
    gen_pair(NULL, &pub, &priv, CKR_TEMPLATE_INCOMPLETE);
    attrs_free(&pub);
    attrs_free(&priv);
    gen_pair("06052b81040021", &pub, &priv, CKR_CURVE_NOT_SUPPORTED); /* P-224 */
    attrs_free(&pub);
    attrs_free(&priv);
    gen_pair("06032b6570", &pub, &priv, CKR_CURVE_NOT_SUPPORTED); /* Ed25519 */
    attrs_free(&pub);
    attrs_free(&priv);
    const struct mech_def *d = mech_find(CKM_EC_KEY_PAIR_GEN);
    assert_int_equal(d->min_key, 256);
    assert_int_equal(d->max_key, 521);
    assert_true(d->flags & CKF_EC_F_P);
}

/* NIST CAVP KAS ECC CDH primitive, P-256, COUNT = 0 */
static const char *CDH_QCAVS =
    "04700c48f77f56584c5cc632ca65640db91b6bacce3a4df6b42ce7cc838833d287"
    "db71e509e3fd9b060ddb20ba5c51dcc5948d46fbf640dfe0441782cab85fa4ac";
static const char *CDH_D = "7d7dc5f71eb29ddaf80d6214632eeae03d9058af1fb6d22ed80badb62bc1a534";
static const char *CDH_Z = "46fc62106420ff012e54a434fbdd2d25ccc5852060561e68040dd7778997bd7b";

static CK_RV derive(CK_MECHANISM_TYPE t, CK_ECDH1_DERIVE_PARAMS *p, const struct mech_key *base,
                    attrs_t *out)
{
    const struct mech_def *d = mech_find(t);
    CK_MECHANISM m = { t, p, sizeof *p };
    return d->family->derive(d, &m, base, out);
}

static void test_ecdh_cavp(void **state)
{
    (void)state;
    attrs_t priv, out;
    void *cache = NULL;
    mu_key_head(&priv, CKO_PRIVATE_KEY, CKK_EC);
    mu_set_hex(&priv, CKA_EC_PARAMS, P256_OID, false);
    mu_set_hex(&priv, CKA_VALUE, CDH_D, true);
    struct mech_key k = { &priv, &cache, NULL };
    uint8_t peer[70], z[32];
    size_t plen = mu_unhex(CDH_QCAVS, peer + 2, sizeof peer - 2);
    mu_unhex(CDH_Z, z, sizeof z);
    CK_ECDH1_DERIVE_PARAMS p = { CKD_NULL, 0, NULL, (CK_ULONG)plen, peer + 2 };
    static const CK_MECHANISM_TYPE mechs[] = { CKM_ECDH1_DERIVE, CKM_ECDH1_COFACTOR_DERIVE };
    for (int i = 0; i < 2; i++) {
        mu_key_head(&out, CKO_SECRET_KEY, CKK_GENERIC_SECRET);
        assert_int_equal(derive(mechs[i], &p, &k, &out), CKR_OK);
        const attr_t *v = attrs_get(&out, CKA_VALUE);
        assert_non_null(v);
        assert_true(v->secret);
        assert_int_equal(v->len, 32);
        assert_memory_equal(v->val, z, 32);
        attrs_free(&out);
    }
    /* the peer point as a DER OCTET STRING; a 16-byte AES key keeps Z's trailing bytes */
    peer[0] = 0x04;
    peer[1] = (uint8_t)plen;
    CK_ECDH1_DERIVE_PARAMS pd = { CKD_NULL, 0, NULL, (CK_ULONG)plen + 2, peer };
    mu_key_head(&out, CKO_SECRET_KEY, CKK_AES);
    attrs_set_ulong(&out, CKA_VALUE_LEN, 16);
    assert_int_equal(derive(CKM_ECDH1_DERIVE, &pd, &k, &out), CKR_OK);
    assert_int_equal(attrs_get(&out, CKA_VALUE)->len, 16);
    assert_memory_equal(attrs_get(&out, CKA_VALUE)->val, z + 16, 16);
    attrs_free(&out);
    /* X9.63 KDF with SHA-256 and shared info, computed here independently */
    uint8_t info[] = "shared info", want[40], ctr[4] = { 0, 0, 0, 1 };
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    for (int blk = 0; blk < 2; blk++) {
        uint8_t h[32];
        ctr[3] = (uint8_t)(blk + 1);
        assert_int_equal(EVP_DigestInit_ex(md, EVP_sha256(), NULL), 1);
        EVP_DigestUpdate(md, z, 32);
        EVP_DigestUpdate(md, ctr, 4);
        EVP_DigestUpdate(md, info, sizeof info);
        unsigned int hl = 32;
        EVP_DigestFinal_ex(md, h, &hl);
        memcpy(want + 32 * blk, h, blk ? 8 : 32);
    }
    EVP_MD_CTX_free(md);
    CK_ECDH1_DERIVE_PARAMS pk = { CKD_SHA256_KDF, sizeof info, info, (CK_ULONG)plen, peer + 2 };
    mu_key_head(&out, CKO_SECRET_KEY, CKK_GENERIC_SECRET);
    attrs_set_ulong(&out, CKA_VALUE_LEN, 40);
    assert_int_equal(derive(CKM_ECDH1_DERIVE, &pk, &k, &out), CKR_OK);
    assert_int_equal(attrs_get(&out, CKA_VALUE)->len, 40);
    assert_memory_equal(attrs_get(&out, CKA_VALUE)->val, want, 40);
    attrs_free(&out);

    /* errors: a point off the curve, shared data with CKD_NULL, unknown KDF, short struct,
     * CKD_NULL asked for more than Z, a public key as base */
    mu_key_head(&out, CKO_SECRET_KEY, CKK_GENERIC_SECRET);
    peer[plen + 1] ^= 1;
    assert_int_equal(derive(CKM_ECDH1_DERIVE, &p, &k, &out), CKR_MECHANISM_PARAM_INVALID);
    peer[plen + 1] ^= 1;
    CK_ECDH1_DERIVE_PARAMS bad = p;
    bad.ulSharedDataLen = 3;
    bad.pSharedData = info;
    assert_int_equal(derive(CKM_ECDH1_DERIVE, &bad, &k, &out), CKR_MECHANISM_PARAM_INVALID);
    bad = p;
    bad.kdf = 0x99;
    assert_int_equal(derive(CKM_ECDH1_DERIVE, &bad, &k, &out), CKR_MECHANISM_PARAM_INVALID);
    bad = p;
    bad.pPublicData = NULL;
    assert_int_equal(derive(CKM_ECDH1_DERIVE, &bad, &k, &out), CKR_MECHANISM_PARAM_INVALID);
    const struct mech_def *d = mech_find(CKM_ECDH1_DERIVE);
    CK_MECHANISM m = { CKM_ECDH1_DERIVE, &p, sizeof p - 1 };
    assert_int_equal(d->family->derive(d, &m, &k, &out), CKR_MECHANISM_PARAM_INVALID);
    attrs_set_ulong(&out, CKA_VALUE_LEN, 33);
    assert_int_equal(derive(CKM_ECDH1_DERIVE, &p, &k, &out), CKR_KEY_SIZE_RANGE);
    attrs_free(&out);
    attrs_t pub;
    mu_key_head(&pub, CKO_PUBLIC_KEY, CKK_EC);
    mu_set_hex(&pub, CKA_EC_PARAMS, P256_OID, false);
    mu_set_hex(&pub, CKA_EC_POINT, P256_PT, false);
    struct mech_key kp = { &pub, NULL, NULL };
    mu_key_head(&out, CKO_SECRET_KEY, CKK_GENERIC_SECRET);
    assert_int_equal(derive(CKM_ECDH1_DERIVE, &p, &kp, &out), CKR_KEY_TYPE_INCONSISTENT);
    attrs_free(&out);
    attrs_free(&pub);
    mech_cache_free(cache);
    attrs_free(&priv);
}

/* RFC 7748 6.1 and 6.2: Alice's private key with Bob's public key. */
static void check_xdh(const char *params, const char *priv_hex, const char *peer_hex,
                      const char *shared_hex)
{
    attrs_t priv, out;
    mu_key_head(&priv, CKO_PRIVATE_KEY, CKK_EC_MONTGOMERY);
    mu_set_hex(&priv, CKA_EC_PARAMS, params, false);
    mu_set_hex(&priv, CKA_VALUE, priv_hex, true);
    struct mech_key k = { &priv, NULL, NULL };
    uint8_t peer[64], z[64];
    size_t plen = mu_unhex(peer_hex, peer, sizeof peer), zlen = mu_unhex(shared_hex, z, sizeof z);
    CK_ECDH1_DERIVE_PARAMS p = { CKD_NULL, 0, NULL, (CK_ULONG)plen, peer };
    mu_key_head(&out, CKO_SECRET_KEY, CKK_GENERIC_SECRET);
    assert_int_equal(derive(CKM_ECDH1_DERIVE, &p, &k, &out), CKR_OK);
    const attr_t *v = attrs_get(&out, CKA_VALUE);
    assert_int_equal(v->len, zlen);
    assert_memory_equal(v->val, z, zlen);
    attrs_free(&out);
    /* a peer of the wrong length */
    p.ulPublicDataLen = (CK_ULONG)plen - 1;
    mu_key_head(&out, CKO_SECRET_KEY, CKK_GENERIC_SECRET);
    assert_int_equal(derive(CKM_ECDH1_DERIVE, &p, &k, &out), CKR_MECHANISM_PARAM_INVALID);
    attrs_free(&out);
    attrs_free(&priv);
}

static void test_xdh_rfc7748(void **state)
{
    (void)state;
    check_xdh("06032b656e", "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
              "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f",
              "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
    check_xdh("06032b656f",
              "9a8f4925d1519f5775cf46b04b5800d4ee9ee8bae8bc5565d498c28dd9c9baf5"
              "74a9419744897391006382a6f127ab1d9ac2d8c0a598726b",
              "3eb7a829b0cd20f5bcfc0b599b6feccf6da4627107bdb0d4f345b43027d8b972"
              "fc3e34fb4232a13ca706dcb57aec3dae07bdc1c67bf33609",
              "07fff4181ac6cc95ec1c16a94a0f74d12da232ce40a77552281d282bb60c0b56"
              "fd2464c335543936521c24403085d59a449a5037514a879d");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ecdsa_rfc6979_verify),
        cmocka_unit_test(test_keygen_all_curves),
        cmocka_unit_test(test_ecdh_cavp),
        cmocka_unit_test(test_xdh_rfc7748),
    };
    return cmocka_run_group_tests(tests, group_setup, mu_group_teardown);
}
