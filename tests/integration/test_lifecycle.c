/* SP 800-57 key lifecycle from CKA_START_DATE / CKA_END_DATE: before the start nothing; after
 * the end no protecting use (sign, encrypt, wrap, derive) while processing (verify, decrypt,
 * unwrap) still works, so old data stays readable. */
#include "harness.h"

#include <string.h>

static const CK_DATE PAST = { { '2', '0', '0', '1' }, { '0', '1' }, { '0', '1' } };
static const CK_DATE FUTURE = { { '2', '9', '9', '9' }, { '1', '2' }, { '3', '1' } };

static CK_OBJECT_HANDLE aes(CK_SESSION_HANDLE s, const CK_DATE *start, const CK_DATE *end)
{
    CK_OBJECT_CLASS c = CKO_SECRET_KEY;
    CK_KEY_TYPE kt = CKK_AES;
    CK_BBOOL yes = CK_TRUE;
    CK_BYTE v[32] = { 7 };
    CK_ATTRIBUTE t[8] = { { CKA_CLASS, &c, sizeof c }, { CKA_KEY_TYPE, &kt, sizeof kt },
                          { CKA_VALUE, v, sizeof v }, { CKA_ENCRYPT, &yes, 1 },
                          { CKA_DECRYPT, &yes, 1 }, { CKA_WRAP, &yes, 1 }, { CKA_UNWRAP, &yes, 1 },
                          { CKA_DERIVE, &yes, 1 } };
    CK_ATTRIBUTE all[10];
    memcpy(all, t, sizeof t);
    CK_ULONG n = 8;
    if (start)
        all[n++] = (CK_ATTRIBUTE){ CKA_START_DATE, (void *)start, sizeof *start };
    if (end)
        all[n++] = (CK_ATTRIBUTE){ CKA_END_DATE, (void *)end, sizeof *end };
    CK_OBJECT_HANDLE k;
    assert_int_equal(F->C_CreateObject(s, all, n, &k), CKR_OK);
    return k;
}

static CK_RV enc(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE k, CK_BYTE *ct, CK_ULONG *cl)
{
    CK_MECHANISM m = { CKM_AES_ECB, NULL, 0 };
    CK_BYTE pt[16] = "lifecycle check";
    CK_RV rv = F->C_EncryptInit(s, &m, k);
    return rv != CKR_OK ? rv : F->C_Encrypt(s, pt, 16, ct, cl);
}

static CK_RV dec(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE k, CK_BYTE *ct, CK_ULONG cl)
{
    CK_MECHANISM m = { CKM_AES_ECB, NULL, 0 };
    CK_BYTE pt[16];
    CK_ULONG pl = sizeof pt;
    CK_RV rv = F->C_DecryptInit(s, &m, k);
    return rv != CKR_OK ? rv : F->C_Decrypt(s, ct, cl, pt, &pl);
}

static CK_RV derive(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE k)
{
    CK_BYTE data[16] = { 1 };
    CK_KEY_DERIVATION_STRING_DATA p = { data, sizeof data };
    CK_MECHANISM m = { CKM_AES_ECB_ENCRYPT_DATA, &p, sizeof p };
    CK_OBJECT_CLASS c = CKO_SECRET_KEY;
    CK_KEY_TYPE kt = CKK_GENERIC_SECRET;
    CK_ULONG len = 16;
    CK_ATTRIBUTE t[] = { { CKA_CLASS, &c, sizeof c }, { CKA_KEY_TYPE, &kt, sizeof kt },
                         { CKA_VALUE_LEN, &len, sizeof len } };
    CK_OBJECT_HANDLE out;
    return F->C_DeriveKey(s, &m, k, t, 3, &out);
}

static void test_dates(void **state)
{
    (void)state;
    h_env env;
    CK_SLOT_ID slot;
    CK_SESSION_HANDLE s;
    assert_int_equal(h_env_create(&env, 10), 0);
    assert_int_equal(h_setup_token(&slot), CKR_OK);
    assert_int_equal(h_open_login(slot, 1, CKU_USER, &s), CKR_OK);

    CK_BYTE ct[16];
    CK_ULONG cl = sizeof ct;
    CK_OBJECT_HANDLE live = aes(s, &PAST, &FUTURE);
    assert_int_equal(enc(s, live, ct, &cl), CKR_OK);
    assert_int_equal(dec(s, live, ct, cl), CKR_OK);
    assert_int_equal(derive(s, live), CKR_OK);

    /* Not yet active: nothing at all. */
    CK_OBJECT_HANDLE early = aes(s, &FUTURE, NULL);
    cl = sizeof ct;
    assert_int_equal(enc(s, early, ct, &cl), CKR_KEY_FUNCTION_NOT_PERMITTED);
    assert_int_equal(dec(s, early, ct, 16), CKR_KEY_FUNCTION_NOT_PERMITTED);

    /* Deactivated: protecting refused, processing allowed. The same value as `live`, so the
     * earlier ciphertext must still decrypt. */
    CK_OBJECT_HANDLE old = aes(s, NULL, &PAST);
    CK_BYTE ct2[16];
    CK_ULONG cl2 = sizeof ct2;
    assert_int_equal(enc(s, old, ct2, &cl2), CKR_KEY_FUNCTION_NOT_PERMITTED);
    assert_int_equal(dec(s, old, ct, cl), CKR_OK);
    assert_int_equal(derive(s, old), CKR_KEY_FUNCTION_NOT_PERMITTED);

    /* Wrapping: an expired wrapping key may not wrap, but may still unwrap. */
    CK_OBJECT_CLASS c = CKO_SECRET_KEY;
    CK_KEY_TYPE kt = CKK_AES;
    CK_BBOOL yes = CK_TRUE;
    CK_BYTE v[16] = { 3 };
    CK_ATTRIBUTE t[] = { { CKA_CLASS, &c, sizeof c }, { CKA_KEY_TYPE, &kt, sizeof kt },
                         { CKA_VALUE, v, sizeof v }, { CKA_EXTRACTABLE, &yes, 1 } };
    CK_OBJECT_HANDLE target;
    assert_int_equal(F->C_CreateObject(s, t, 4, &target), CKR_OK);
    CK_MECHANISM kw = { CKM_AES_KEY_WRAP, NULL, 0 };
    CK_BYTE wrapped[64];
    CK_ULONG wl = sizeof wrapped;
    assert_int_equal(F->C_WrapKey(s, &kw, old, target, wrapped, &wl), CKR_KEY_FUNCTION_NOT_PERMITTED);
    wl = sizeof wrapped;
    assert_int_equal(F->C_WrapKey(s, &kw, live, target, wrapped, &wl), CKR_OK);
    CK_ATTRIBUTE ut[] = { { CKA_CLASS, &c, sizeof c }, { CKA_KEY_TYPE, &kt, sizeof kt } };
    CK_OBJECT_HANDLE back;
    assert_int_equal(F->C_UnwrapKey(s, &kw, old, wrapped, wl, ut, 2, &back), CKR_OK);
    assert_int_equal(F->C_Finalize(NULL), CKR_OK);
    h_env_destroy(&env);
}

/* Regression: C_DigestKey on a key restricted by CKA_ALLOWED_MECHANISMS once read an
 * uninitialised object pointer. Being digested is not a use the list governs. */
static void test_digest_key_with_allowed_mechanisms(void **state)
{
    (void)state;
    h_env env;
    CK_SLOT_ID slot;
    CK_SESSION_HANDLE s;
    assert_int_equal(h_env_create(&env, 10), 0);
    assert_int_equal(h_setup_token(&slot), CKR_OK);
    assert_int_equal(h_open_login(slot, 1, CKU_USER, &s), CKR_OK);
    CK_OBJECT_CLASS c = CKO_SECRET_KEY;
    CK_KEY_TYPE kt = CKK_GENERIC_SECRET;
    CK_BBOOL no = CK_FALSE;
    CK_BYTE v[16] = { 4 };
    CK_MECHANISM_TYPE allowed[] = { CKM_SHA256_HMAC };
    CK_ATTRIBUTE t[] = { { CKA_CLASS, &c, sizeof c }, { CKA_KEY_TYPE, &kt, sizeof kt },
                         { CKA_VALUE, v, sizeof v }, { CKA_SENSITIVE, &no, 1 },
                         { CKA_ALLOWED_MECHANISMS, allowed, sizeof allowed } };
    CK_OBJECT_HANDLE k;
    assert_int_equal(F->C_CreateObject(s, t, 5, &k), CKR_OK);
    CK_MECHANISM m = { CKM_SHA256, NULL, 0 };
    assert_int_equal(F->C_DigestInit(s, &m), CKR_OK);
    assert_int_equal(F->C_DigestKey(s, k), CKR_OK);
    CK_BYTE d[32];
    CK_ULONG dl = sizeof d;
    assert_int_equal(F->C_DigestFinal(s, d, &dl), CKR_OK);
    assert_int_equal(dl, 32);
    /* A mechanism outside the list is still refused for a real use. */
    CK_MECHANISM h1 = { CKM_SHA_1_HMAC, NULL, 0 };
    assert_int_equal(F->C_SignInit(s, &h1, k), CKR_MECHANISM_INVALID);
    assert_int_equal(F->C_Finalize(NULL), CKR_OK);
    h_env_destroy(&env);
}

int main(void)
{
    h_load();
    const struct CMUnitTest tests[] = { cmocka_unit_test(test_dates),
                                        cmocka_unit_test(test_digest_key_with_allowed_mechanisms) };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
