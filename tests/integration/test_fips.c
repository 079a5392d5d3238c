/* FIPS-approved-only mode ([policy] fips_approved_only = true, token/policy.c policy_mech):
 * C_GetMechanismList and C_GetMechanismInfo hide the mechanisms not marked approved in the
 * mechanism tables, every *Init, C_GenerateKey(Pair) and C_DeriveKey refuses them with
 * CKR_MECHANISM_INVALID, C_GetInfo says the mode, and RSA keys follow SP 800-131A (no RSA
 * below 2048 bits: a config asking for both is refused, and such keys are neither made nor
 * used). Each check runs in the normal mode too, where the same calls succeed, so a refusal
 * can only come from the mode. */
#include "harness.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Not approved in the mechanism tables (src/mech/rsa.c, kdf.c, eddsa.c, chacha.c). */
static const CK_MECHANISM_TYPE NOT_APPROVED[] = {
    CKM_RSA_X_509,           CKM_CONCATENATE_BASE_AND_DATA, CKM_CONCATENATE_DATA_AND_BASE,
    CKM_XOR_BASE_AND_DATA,   CKM_EXTRACT_KEY_FROM_KEY,      CKM_EDDSA,
    CKM_EC_EDWARDS_KEY_PAIR_GEN, CKM_EC_MONTGOMERY_KEY_PAIR_GEN,
};
/* Present only when the provider has ChaCha20-Poly1305. */
static const CK_MECHANISM_TYPE CHACHA[] = { CKM_CHACHA20_KEY_GEN, CKM_CHACHA20_POLY1305 };
/* Approved: listed in both modes. */
static const CK_MECHANISM_TYPE APPROVED[] = {
    CKM_AES_GCM, CKM_AES_KEY_WRAP, CKM_SHA256_RSA_PKCS_PSS, CKM_RSA_PKCS_KEY_PAIR_GEN,
    CKM_ECDSA_SHA256, CKM_HKDF_DERIVE, CKM_SHA256_HMAC, CKM_SHA256,
};
#define N(a) (sizeof(a) / sizeof((a)[0]))

static const CK_BYTE ED25519_OID[] = { 0x06, 0x03, 0x2b, 0x65, 0x70 };

/* The harness config plus a [policy] section. */
static void write_config(const h_env *env, const char *policy)
{
    assert_int_equal(h_env_write_config(env, 10), 0);
    if (!policy)
        return;
    FILE *f = fopen(env->config, "a");
    assert_non_null(f);
    fprintf(f, "[policy]\n%s", policy);
    assert_int_equal(fclose(f), 0);
}

static bool listed(CK_SLOT_ID slot, CK_MECHANISM_TYPE type)
{
    CK_ULONG n = 0;
    assert_int_equal(F->C_GetMechanismList(slot, NULL, &n), CKR_OK);
    CK_MECHANISM_TYPE *list = calloc(n + 1, sizeof *list);
    assert_non_null(list);
    assert_int_equal(F->C_GetMechanismList(slot, list, &n), CKR_OK);
    bool found = false;
    for (CK_ULONG i = 0; i < n; i++)
        found |= list[i] == type;
    free(list);
    return found;
}

static bool info_says_fips(void)
{
    CK_INFO info;
    assert_int_equal(F->C_GetInfo(&info), CKR_OK);
    char d[sizeof info.libraryDescription + 1];
    memcpy(d, info.libraryDescription, sizeof info.libraryDescription);
    d[sizeof info.libraryDescription] = 0;
    return strstr(d, "FIPS") != NULL;
}

static CK_RV rsa_pair(CK_SESSION_HANDLE s, CK_ULONG bits, CK_BBOOL token, CK_OBJECT_HANDLE *pub,
                      CK_OBJECT_HANDLE *priv)
{
    CK_MECHANISM m = { CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0 };
    CK_BBOOL yes = CK_TRUE;
    CK_BYTE e[] = { 1, 0, 1 };
    CK_ATTRIBUTE pt[] = { { CKA_MODULUS_BITS, &bits, sizeof bits },
                          { CKA_PUBLIC_EXPONENT, e, sizeof e },
                          { CKA_TOKEN, &token, 1 },
                          { CKA_LABEL, "fips-rsa", 8 },
                          { CKA_ENCRYPT, &yes, 1 },
                          { CKA_VERIFY, &yes, 1 } };
    CK_ATTRIBUTE st[] = { { CKA_TOKEN, &token, 1 },
                          { CKA_LABEL, "fips-rsa", 8 },
                          { CKA_DECRYPT, &yes, 1 },
                          { CKA_SIGN, &yes, 1 } };
    return F->C_GenerateKeyPair(s, &m, pt, N(pt), st, N(st), pub, priv);
}

static CK_OBJECT_HANDLE secret(CK_SESSION_HANDLE s, CK_KEY_TYPE kt)
{
    CK_OBJECT_CLASS c = CKO_SECRET_KEY;
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    CK_BYTE v[32] = { 1, 2, 3, 4 };
    CK_ATTRIBUTE t[] = { { CKA_CLASS, &c, sizeof c },  { CKA_KEY_TYPE, &kt, sizeof kt },
                         { CKA_TOKEN, &no, 1 },        { CKA_VALUE, v, sizeof v },
                         { CKA_DERIVE, &yes, 1 },      { CKA_ENCRYPT, &yes, 1 },
                         { CKA_DECRYPT, &yes, 1 } };
    CK_OBJECT_HANDLE k = CK_INVALID_HANDLE;
    assert_int_equal(F->C_CreateObject(s, t, N(t), &k), CKR_OK);
    return k;
}

/* The same calls in both modes: CKR_OK normally, CKR_MECHANISM_INVALID under the policy. */
static void exercise(CK_SLOT_ID slot, bool fips, bool have_chacha)
{
    CK_RV refused = fips ? CKR_MECHANISM_INVALID : CKR_OK;
    CK_SESSION_HANDLE s;
    assert_int_equal(h_open_login(slot, 1, CKU_USER, &s), CKR_OK);
    CK_OBJECT_HANDLE pub, priv;
    assert_int_equal(rsa_pair(s, 2048, CK_FALSE, &pub, &priv), CKR_OK);

    /* Raw RSA: refused at every *Init. */
    CK_MECHANISM raw = { CKM_RSA_X_509, NULL, 0 };
    CK_BYTE in[256] = { 0, 1, 2, 3 }, out[256];
    CK_ULONG outlen = sizeof out;
    assert_int_equal(F->C_EncryptInit(s, &raw, pub), refused);
    if (!fips)
        assert_int_equal(F->C_Encrypt(s, in, sizeof in, out, &outlen), CKR_OK);
    assert_int_equal(F->C_SignInit(s, &raw, priv), refused);
    outlen = sizeof out;
    if (!fips)
        assert_int_equal(F->C_Sign(s, in, sizeof in, out, &outlen), CKR_OK);
    assert_int_equal(F->C_VerifyInit(s, &raw, pub), refused);
    if (!fips)
        assert_int_equal(F->C_Verify(s, in, sizeof in, out, outlen), CKR_OK);
    assert_int_equal(F->C_DecryptInit(s, &raw, priv), refused);
    outlen = sizeof out;
    if (!fips)
        assert_int_equal(F->C_Decrypt(s, out, sizeof out, in, &outlen), CKR_OK);

    /* An approved mechanism on the same key works in both modes. */
    CK_MECHANISM sha_pkcs = { CKM_SHA256_RSA_PKCS, NULL, 0 };
    outlen = sizeof out;
    assert_int_equal(F->C_SignInit(s, &sha_pkcs, priv), CKR_OK);
    assert_int_equal(F->C_Sign(s, in, 32, out, &outlen), CKR_OK);

    /* Non-approved key derivation. */
    CK_OBJECT_HANDLE base = secret(s, CKK_GENERIC_SECRET);
    CK_BYTE data[8] = "suffix!";
    CK_KEY_DERIVATION_STRING_DATA p = { data, sizeof data };
    CK_MECHANISM concat = { CKM_CONCATENATE_BASE_AND_DATA, &p, sizeof p };
    CK_OBJECT_CLASS c = CKO_SECRET_KEY;
    CK_KEY_TYPE gk = CKK_GENERIC_SECRET;
    CK_ATTRIBUTE dt[] = { { CKA_CLASS, &c, sizeof c }, { CKA_KEY_TYPE, &gk, sizeof gk } };
    CK_OBJECT_HANDLE derived;
    assert_int_equal(F->C_DeriveKey(s, &concat, base, dt, N(dt), &derived), refused);

    /* EdDSA key generation. */
    CK_MECHANISM ed = { CKM_EC_EDWARDS_KEY_PAIR_GEN, NULL, 0 };
    CK_BBOOL no = CK_FALSE;
    CK_ATTRIBUTE ept[] = { { CKA_EC_PARAMS, (void *)ED25519_OID, sizeof ED25519_OID },
                           { CKA_TOKEN, &no, 1 } };
    CK_ATTRIBUTE est[] = { { CKA_TOKEN, &no, 1 } };
    CK_OBJECT_HANDLE epub, epriv;
    assert_int_equal(F->C_GenerateKeyPair(s, &ed, ept, N(ept), est, N(est), &epub, &epriv),
                     refused);

    /* ChaCha20-Poly1305, where the provider offers it. */
    if (have_chacha) {
        CK_MECHANISM gen = { CKM_CHACHA20_KEY_GEN, NULL, 0 };
        CK_ATTRIBUTE gt[] = { { CKA_TOKEN, &no, 1 } };
        CK_OBJECT_HANDLE ck;
        assert_int_equal(F->C_GenerateKey(s, &gen, gt, N(gt), &ck), refused);
        CK_OBJECT_HANDLE k = secret(s, CKK_CHACHA20);
        CK_BYTE nonce[12] = { 0 };
        CK_SALSA20_CHACHA20_POLY1305_PARAMS cp = { nonce, sizeof nonce, NULL, 0 };
        CK_MECHANISM aead = { CKM_CHACHA20_POLY1305, &cp, sizeof cp };
        assert_int_equal(F->C_EncryptInit(s, &aead, k), refused);
        outlen = sizeof out;
        if (!fips)
            assert_int_equal(F->C_Encrypt(s, in, 16, out, &outlen), CKR_OK);
    }
    assert_int_equal(F->C_CloseSession(s), CKR_OK);
}

/* The mechanism list and info hide exactly the non-approved mechanisms; C_GetInfo says so;
 * and the non-approved mechanisms cannot be started by any other path. */
static void test_approved_only(void **state)
{
    h_env *env = &((h_fixture *)*state)->env;
    CK_SLOT_ID slot;
    assert_int_equal(h_setup_token(&slot), CKR_OK);
    /* Normal mode: everything is listed, and the description does not claim FIPS. */
    for (size_t i = 0; i < N(NOT_APPROVED); i++)
        assert_true(listed(slot, NOT_APPROVED[i]));
    for (size_t i = 0; i < N(APPROVED); i++)
        assert_true(listed(slot, APPROVED[i]));
    bool have_chacha = listed(slot, CKM_CHACHA20_POLY1305);
    assert_false(info_says_fips());
    exercise(slot, false, have_chacha);
    assert_int_equal(F->C_Finalize(NULL), CKR_OK);

    write_config(env, "fips_approved_only = true\n");
    assert_int_equal(F->C_Initialize(NULL), CKR_OK);
    assert_true(info_says_fips());
    CK_MECHANISM_INFO mi;
    for (size_t i = 0; i < N(NOT_APPROVED); i++) {
        assert_false(listed(slot, NOT_APPROVED[i]));
        assert_int_equal(F->C_GetMechanismInfo(slot, NOT_APPROVED[i], &mi),
                         CKR_MECHANISM_INVALID);
    }
    for (size_t i = 0; i < N(CHACHA); i++) {
        assert_false(listed(slot, CHACHA[i]));
        assert_int_equal(F->C_GetMechanismInfo(slot, CHACHA[i], &mi), CKR_MECHANISM_INVALID);
    }
    for (size_t i = 0; i < N(APPROVED); i++) {
        assert_true(listed(slot, APPROVED[i]));
        assert_int_equal(F->C_GetMechanismInfo(slot, APPROVED[i], &mi), CKR_OK);
    }
    exercise(slot, true, have_chacha);
    assert_int_equal(F->C_Finalize(NULL), CKR_OK);
}

/* SP 800-131A: no RSA key below 2048 bits in FIPS mode, whether made there or brought in. */
static void test_rsa_below_2048(void **state)
{
    h_env *env = &((h_fixture *)*state)->env;
    CK_SLOT_ID slot;
    CK_SESSION_HANDLE s;
    CK_OBJECT_HANDLE pub, priv;
    CK_MECHANISM sha = { CKM_SHA256_RSA_PKCS, NULL, 0 };
    CK_BYTE msg[32] = { 0 }, sig[512];
    CK_ULONG siglen = sizeof sig;

    /* Outside FIPS mode a deployment may allow RSA-1024: the key is made and used. */
    write_config(env, "rsa_min_bits = 1024\n");
    assert_int_equal(h_setup_token(&slot), CKR_OK);
    assert_int_equal(h_open_login(slot, 1, CKU_USER, &s), CKR_OK);
    assert_int_equal(rsa_pair(s, 1024, CK_TRUE, &pub, &priv), CKR_OK);
    assert_int_equal(F->C_SignInit(s, &sha, priv), CKR_OK);
    assert_int_equal(F->C_Sign(s, msg, sizeof msg, sig, &siglen), CKR_OK);
    assert_int_equal(F->C_Finalize(NULL), CKR_OK);

    /* FIPS mode and a 1024-bit minimum contradict each other: C_Initialize refuses. */
    write_config(env, "fips_approved_only = true\nrsa_min_bits = 1024\n");
    assert_int_equal(F->C_Initialize(NULL), CKR_GENERAL_ERROR);

    /* FIPS mode: no new RSA-1024 key, and the stored one cannot sign. */
    write_config(env, "fips_approved_only = true\n");
    assert_int_equal(F->C_Initialize(NULL), CKR_OK);
    CK_MECHANISM_INFO mi;
    assert_int_equal(F->C_GetMechanismInfo(slot, CKM_RSA_PKCS_KEY_PAIR_GEN, &mi), CKR_OK);
    assert_int_equal(mi.ulMinKeySize, 2048);
    assert_int_equal(h_open_login(slot, 1, CKU_USER, &s), CKR_OK);
    CK_OBJECT_HANDLE p2, s2;
    assert_int_equal(rsa_pair(s, 1024, CK_FALSE, &p2, &s2), CKR_KEY_SIZE_RANGE);
    CK_OBJECT_CLASS pc = CKO_PRIVATE_KEY;
    CK_ATTRIBUTE ft[] = { { CKA_CLASS, &pc, sizeof pc }, { CKA_LABEL, "fips-rsa", 8 } };
    CK_OBJECT_HANDLE found[2];
    CK_ULONG n = 0;
    assert_int_equal(h_find(s, ft, N(ft), found, 2, &n), CKR_OK);
    assert_int_equal(n, 1);
    assert_int_equal(F->C_SignInit(s, &sha, found[0]), CKR_KEY_SIZE_RANGE);
    assert_int_equal(F->C_Finalize(NULL), CKR_OK);
}

/* Each test gets a fresh environment (h_fixture_setup_bare); h_fixture_teardown finalizes even
 * after a failed assertion, so one failure does not cascade into the next test. */
int main(void)
{
    h_load();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_approved_only, h_fixture_setup_bare,
                                        h_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_rsa_below_2048, h_fixture_setup_bare,
                                        h_fixture_teardown),
    };
    return cmocka_run_group_tests_name("fips", tests, NULL, NULL);
}
