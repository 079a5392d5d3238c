/* Unit tests of the key conversions and import checks (mech/pkey.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "base/mem.h"
#include "base/ossl.h"
#include "mech/mech.h"
#include "mech_util.h"

/* DER OID 1.2.840.10045.3.1.7 */
static const char *P256_OID = "06082a8648ce3d030107";
/* RFC 6979 A.2.5 key pair */
static const char *P256_X = "c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721";
static const char *P256_PT = "0460fed4ba255a9d31c961eb74c6356d68c049b8923b61fa6ce669622e60f29fb6"
                             "7903fe1008b8bc99a41ae9e95628bc64f2f1b20c2d7e9f5177a3c294d4462299";

static void test_ec_private_gives_public(void **state)
{
    (void)state;
    attrs_t a, pub;
    EVP_PKEY *k = NULL;
    mu_key_head(&a, CKO_PRIVATE_KEY, CKK_EC);
    mu_set_hex(&a, CKA_EC_PARAMS, P256_OID, false);
    mu_set_hex(&a, CKA_VALUE, P256_X, true);
    assert_int_equal(mech_validate_import(&a), CKR_OK);
    assert_int_equal(mech_pkey_from_attrs(&a, true, &k), CKR_OK);
    /* to_attrs of the public half: DER OCTET STRING around the RFC 6979 point */
    attrs_init(&pub);
    assert_int_equal(mech_pkey_to_attrs(k, CKO_PUBLIC_KEY, &pub), CKR_OK);
    const attr_t *pt = attrs_get(&pub, CKA_EC_POINT);
    uint8_t want[67] = { 0x04, 0x41 };
    mu_unhex(P256_PT, want + 2, 65);
    assert_non_null(pt);
    assert_int_equal(pt->len, 67);
    assert_memory_equal(pt->val, want, 67);
    const attr_t *ep = attrs_get(&pub, CKA_EC_PARAMS);
    assert_non_null(ep);
    assert_int_equal(ep->len, 10);
    /* private back out: the scalar, padded to 32 bytes */
    attrs_t priv2;
    attrs_init(&priv2);
    assert_int_equal(mech_pkey_to_attrs(k, CKO_PRIVATE_KEY, &priv2), CKR_OK);
    const attr_t *v = attrs_get(&priv2, CKA_VALUE);
    assert_non_null(v);
    assert_true(v->secret);
    assert_int_equal(v->len, 32);
    assert_memory_equal(v->val, attrs_get(&a, CKA_VALUE)->val, 32);
    EVP_PKEY_free(k);
    attrs_free(&a);
    attrs_free(&pub);
    attrs_free(&priv2);
}

static void test_ec_public_forms(void **state)
{
    (void)state;
    attrs_t a;
    EVP_PKEY *k = NULL;
    mu_key_head(&a, CKO_PUBLIC_KEY, CKK_EC);
    /* raw point, printable-string curve name */
    mu_set_hex(&a, CKA_EC_PARAMS, "130a7072696d653235367631", false); /* "prime256v1" */
    mu_set_hex(&a, CKA_EC_POINT, P256_PT, false);
    assert_int_equal(mech_validate_import(&a), CKR_OK);
    assert_int_equal(mech_pkey_from_attrs(&a, false, &k), CKR_OK);
    EVP_PKEY_free(k);
    mu_set_hex(&a, CKA_EC_PARAMS, "1309736563703235367231", false); /* "secp256r1" */
    assert_int_equal(mech_validate_import(&a), CKR_OK);
    /* a point off the curve */
    char bad[200];
    strcpy(bad, P256_PT);
    bad[strlen(bad) - 1] = '0';
    mu_set_hex(&a, CKA_EC_POINT, bad, false);
    assert_int_equal(mech_validate_import(&a), CKR_ATTRIBUTE_VALUE_INVALID);
    /* garbage length */
    mu_set_hex(&a, CKA_EC_POINT, "0441aabb", false);
    assert_int_equal(mech_validate_import(&a), CKR_ATTRIBUTE_VALUE_INVALID);
    /* unknown curves: secp224r1, brainpoolP256r1, explicit parameters, a bad name */
    mu_set_hex(&a, CKA_EC_POINT, P256_PT, false);
    mu_set_hex(&a, CKA_EC_PARAMS, "06052b81040021", false);
    assert_int_equal(mech_validate_import(&a), CKR_CURVE_NOT_SUPPORTED);
    mu_set_hex(&a, CKA_EC_PARAMS, "06092b2403030208010107", false);
    assert_int_equal(mech_validate_import(&a), CKR_CURVE_NOT_SUPPORTED);
    mu_set_hex(&a, CKA_EC_PARAMS, "3003020101", false);
    assert_int_equal(mech_validate_import(&a), CKR_CURVE_NOT_SUPPORTED);
    mu_set_hex(&a, CKA_EC_PARAMS, "130461626364", false);
    assert_int_equal(mech_validate_import(&a), CKR_CURVE_NOT_SUPPORTED);
    /* malformed DER */
    mu_set_hex(&a, CKA_EC_PARAMS, "06092a8648ce3d030107", false);
    assert_int_equal(mech_validate_import(&a), CKR_ATTRIBUTE_VALUE_INVALID);
    /* an Edwards curve under CKK_EC */
    mu_set_hex(&a, CKA_EC_PARAMS, "06032b6570", false);
    assert_int_equal(mech_validate_import(&a), CKR_CURVE_NOT_SUPPORTED);
    attrs_free(&a);
}

static void test_ec_scalar_range(void **state)
{
    (void)state;
    attrs_t a;
    mu_key_head(&a, CKO_PRIVATE_KEY, CKK_EC);
    mu_set_hex(&a, CKA_EC_PARAMS, P256_OID, false);
    mu_set_hex(&a, CKA_VALUE, "0000000000000000000000000000000000000000000000000000000000000000",
            true);
    assert_int_equal(mech_validate_import(&a), CKR_ATTRIBUTE_VALUE_INVALID);
    /* the group order n itself */
    mu_set_hex(&a, CKA_VALUE, "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551",
            true);
    assert_int_equal(mech_validate_import(&a), CKR_ATTRIBUTE_VALUE_INVALID);
    mu_set_hex(&a, CKA_VALUE, "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632550",
            true);
    assert_int_equal(mech_validate_import(&a), CKR_OK);
    attrs_free(&a);
}

static void check_ecx(CK_KEY_TYPE kt, const char *params, const char *priv, const char *pub)
{
    attrs_t a, out;
    EVP_PKEY *k = NULL;
    mu_key_head(&a, CKO_PRIVATE_KEY, kt);
    mu_set_hex(&a, CKA_EC_PARAMS, params, false);
    mu_set_hex(&a, CKA_VALUE, priv, true);
    assert_int_equal(mech_validate_import(&a), CKR_OK);
    assert_int_equal(mech_pkey_from_attrs(&a, true, &k), CKR_OK);
    attrs_init(&out);
    assert_int_equal(mech_pkey_to_attrs(k, CKO_PUBLIC_KEY, &out), CKR_OK);
    uint8_t want[80];
    size_t n = mu_unhex(pub, want + 2, sizeof want - 2);
    want[0] = 0x04;
    want[1] = (uint8_t)n;
    const attr_t *pt = attrs_get(&out, CKA_EC_POINT);
    assert_non_null(pt);
    assert_int_equal(pt->len, n + 2);
    assert_memory_equal(pt->val, want, n + 2);
    EVP_PKEY_free(k);
    attrs_free(&out);
    /* public object from the raw and the DER form */
    mu_key_head(&out, CKO_PUBLIC_KEY, kt);
    mu_set_hex(&out, CKA_EC_PARAMS, params, false);
    mu_set_hex(&out, CKA_EC_POINT, pub, false);
    assert_int_equal(mech_validate_import(&out), CKR_OK);
    assert_int_equal(mech_pkey_from_attrs(&out, false, &k), CKR_OK);
    EVP_PKEY_free(k);
    assert_int_equal(attrs_set(&out, CKA_EC_POINT, want, (CK_ULONG)(n + 2), false), CKR_OK);
    assert_int_equal(mech_pkey_from_attrs(&out, false, &k), CKR_OK);
    EVP_PKEY_free(k);
    assert_int_equal(attrs_set(&out, CKA_EC_POINT, want, (CK_ULONG)(n + 1), false), CKR_OK);
    assert_int_equal(mech_validate_import(&out), CKR_ATTRIBUTE_VALUE_INVALID);
    attrs_free(&out);
    /* a short private key */
    assert_int_equal(attrs_set(&a, CKA_VALUE, want, 5, true), CKR_OK);
    assert_int_equal(mech_validate_import(&a), CKR_ATTRIBUTE_VALUE_INVALID);
    attrs_free(&a);
}

static void test_ecx_rfc_keys(void **state)
{
    (void)state;
    /* RFC 8032 7.1 TEST 1 */
    check_ecx(CKK_EC_EDWARDS, "06032b6570",
              "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
              "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
    /* the same with the printable name "edwards25519" */
    check_ecx(CKK_EC_EDWARDS, "130c656477617264733235353139",
              "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
              "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
    /* RFC 8032 7.4 Ed448 blank message key */
    check_ecx(CKK_EC_EDWARDS, "06032b6571",
              "6c82a562cb808d10d632be89c8513ebf6c929f34ddfa8c9f63c9960ef6e348a3"
              "528c8a3fcc2f044e39a3fc5b94492f8f032e7549a20098f95b",
              "5fd7449b59b461fd2ce787ec616ad46a1da1342485a70e1f8a0ea75d80e96778"
              "edf124769b46c7061bd6783df1e50f6cd1fa1abeafe8256180");
    /* RFC 7748 6.1 Alice, and 6.2 Alice (X448) */
    check_ecx(CKK_EC_MONTGOMERY, "06032b656e",
              "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
              "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
    check_ecx(CKK_EC_MONTGOMERY, "06032b656f",
              "9a8f4925d1519f5775cf46b04b5800d4ee9ee8bae8bc5565d498c28dd9c9baf5"
              "74a9419744897391006382a6f127ab1d9ac2d8c0a598726b",
              "9b08f7cc31b7e3e67d22d5aea121074a273bd2b83de09c63faa73d2c22c5d9bb"
              "c836647241d953d40c5b12da88120d53177f80e532c41fa0");
    /* Montgomery params under an Edwards key type */
    attrs_t a;
    mu_key_head(&a, CKO_PUBLIC_KEY, CKK_EC_EDWARDS);
    mu_set_hex(&a, CKA_EC_PARAMS, "06032b656e", false);
    mu_set_hex(&a, CKA_EC_POINT, "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a",
            false);
    assert_int_equal(mech_validate_import(&a), CKR_CURVE_NOT_SUPPORTED);
    attrs_free(&a);
}

static EVP_PKEY *gen_rsa(unsigned bits)
{
    EVP_PKEY *k = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(ossl_libctx(), "RSA", NULL);
    assert_non_null(ctx);
    assert_int_equal(EVP_PKEY_keygen_init(ctx), 1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, (int)bits), 1);
    assert_int_equal(EVP_PKEY_generate(ctx, &k), 1);
    EVP_PKEY_CTX_free(ctx);
    return k;
}

static void flip(attrs_t *a, CK_ATTRIBUTE_TYPE t)
{
    const attr_t *v = attrs_get(a, t);
    assert_non_null(v);
    uint8_t buf[1100];
    memcpy(buf, v->val, v->len);
    buf[v->len - 1] ^= 0x02;
    assert_int_equal(attrs_set(a, t, buf, v->len, true), CKR_OK);
}

static void test_rsa_round_trip_and_tamper(void **state)
{
    (void)state;
    EVP_PKEY *k = gen_rsa(2048), *k2 = NULL;
    attrs_t priv, pub, back;
    mu_key_head(&priv, CKO_PRIVATE_KEY, CKK_RSA);
    mu_key_head(&pub, CKO_PUBLIC_KEY, CKK_RSA);
    assert_int_equal(mech_pkey_to_attrs(k, CKO_PRIVATE_KEY, &priv), CKR_OK);
    assert_int_equal(mech_pkey_to_attrs(k, CKO_PUBLIC_KEY, &pub), CKR_OK);
    CK_ULONG bits = 0;
    assert_true(attrs_ulong(&pub, CKA_MODULUS_BITS, &bits));
    assert_int_equal(bits, 2048);
    assert_true(attrs_get(&priv, CKA_PRIME_1)->secret);
    assert_false(attrs_get(&priv, CKA_MODULUS)->secret);
    assert_int_equal(mech_validate_import(&priv), CKR_OK);
    assert_int_equal(mech_validate_import(&pub), CKR_OK);

    /* attrs -> EVP_PKEY -> attrs gives the same values and the same key */
    assert_int_equal(mech_pkey_from_attrs(&priv, true, &k2), CKR_OK);
    assert_int_equal(EVP_PKEY_eq(k, k2), 1);
    attrs_init(&back);
    assert_int_equal(mech_pkey_to_attrs(k2, CKO_PRIVATE_KEY, &back), CKR_OK);
    static const CK_ATTRIBUTE_TYPE all[] = { CKA_MODULUS,     CKA_PUBLIC_EXPONENT,
                                             CKA_PRIVATE_EXPONENT, CKA_PRIME_1,
                                             CKA_PRIME_2,     CKA_EXPONENT_1,
                                             CKA_EXPONENT_2,  CKA_COEFFICIENT };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        const attr_t *x = attrs_get(&priv, all[i]), *y = attrs_get(&back, all[i]);
        assert_non_null(x);
        assert_non_null(y);
        assert_int_equal(x->len, y->len);
        assert_memory_equal(x->val, y->val, x->len);
    }
    EVP_PKEY_free(k2);
    attrs_free(&back);

    /* n, e, d only: the CRT values are recomputed, and the key still checks */
    attrs_t nod;
    mu_key_head(&nod, CKO_PRIVATE_KEY, CKK_RSA);
    for (size_t i = 0; i < 3; i++) {
        const attr_t *x = attrs_get(&priv, all[i]);
        assert_int_equal(attrs_set(&nod, all[i], x->val, x->len, x->secret), CKR_OK);
    }
    assert_int_equal(mech_validate_import(&nod), CKR_OK);
    assert_int_equal(mech_pkey_from_attrs(&nod, true, &k2), CKR_OK);
    EVP_PKEY_free(k2);
    flip(&nod, CKA_PRIVATE_EXPONENT);
    assert_int_equal(mech_validate_import(&nod), CKR_ATTRIBUTE_VALUE_INVALID);
    attrs_free(&nod);

    /* primes without CRT values and without e: all recomputed */
    attrs_t pq;
    mu_key_head(&pq, CKO_PRIVATE_KEY, CKK_RSA);
    static const CK_ATTRIBUTE_TYPE some[] = { CKA_MODULUS, CKA_PRIVATE_EXPONENT, CKA_PRIME_1,
                                              CKA_PRIME_2 };
    for (size_t i = 0; i < 4; i++) {
        const attr_t *x = attrs_get(&priv, some[i]);
        assert_int_equal(attrs_set(&pq, some[i], x->val, x->len, x->secret), CKR_OK);
    }
    assert_int_equal(mech_validate_import(&pq), CKR_OK);
    assert_int_equal(mech_pkey_from_attrs(&pq, true, &k2), CKR_OK);
    assert_int_equal(EVP_PKEY_eq(k, k2), 1);
    EVP_PKEY_free(k2);
    attrs_free(&pq);

    /* each tampered CRT part is caught */
    static const CK_ATTRIBUTE_TYPE tamper[] = { CKA_PRIVATE_EXPONENT, CKA_PRIME_1,
                                                CKA_EXPONENT_1, CKA_EXPONENT_2,
                                                CKA_COEFFICIENT, CKA_PUBLIC_EXPONENT };
    for (size_t i = 0; i < sizeof tamper / sizeof tamper[0]; i++) {
        attrs_t t;
        attrs_init(&t);
        assert_int_equal(attrs_copy(&t, &priv), CKR_OK);
        flip(&t, tamper[i]);
        assert_int_equal(mech_validate_import(&t), CKR_ATTRIBUTE_VALUE_INVALID);
        attrs_free(&t);
    }
    /* even public exponent, tiny modulus */
    mu_set_hex(&pub, CKA_PUBLIC_EXPONENT, "010000", false);
    assert_int_equal(mech_validate_import(&pub), CKR_ATTRIBUTE_VALUE_INVALID);
    mu_set_hex(&pub, CKA_PUBLIC_EXPONENT, "010001", false);
    mu_set_hex(&pub, CKA_MODULUS, "c5", false);
    assert_int_equal(mech_validate_import(&pub), CKR_ATTRIBUTE_VALUE_INVALID);
    attrs_remove(&pub, CKA_MODULUS);
    assert_int_equal(mech_validate_import(&pub), CKR_TEMPLATE_INCOMPLETE);
    /* a public object cannot give a private key */
    assert_int_equal(mech_pkey_from_attrs(&pub, true, &k2), CKR_KEY_TYPE_INCONSISTENT);
    EVP_PKEY_free(k);
    attrs_free(&priv);
    attrs_free(&pub);
}

static void test_other_classes(void **state)
{
    (void)state;
    attrs_t a;
    mu_key_head(&a, CKO_SECRET_KEY, CKK_AES);
    assert_int_equal(mech_validate_import(&a), CKR_OK);
    attrs_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ec_private_gives_public),
        cmocka_unit_test(test_ec_public_forms),
        cmocka_unit_test(test_ec_scalar_range),
        cmocka_unit_test(test_ecx_rfc_keys),
        cmocka_unit_test(test_rsa_round_trip_and_tamper),
        cmocka_unit_test(test_other_classes),
    };
    return cmocka_run_group_tests(tests, mu_group_setup, mu_group_teardown);
}
