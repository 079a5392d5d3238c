/* Size limits, each with the spec's error: sessions per process ([policy] max_sessions,
 * CKR_SESSION_COUNT), token objects per token ([policy] max_objects, CKR_DEVICE_MEMORY), RSA
 * moduli above 16384 bits (CKR_KEY_SIZE_RANGE / CKR_ATTRIBUTE_VALUE_INVALID), templates of
 * more than 128 attributes and attribute values above 1 MiB. */
#include "harness.h"

#include <stdlib.h>
#include <string.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void write_config(const h_env *env, const char *policy)
{
    assert_int_equal(h_env_write_config(env, 10), 0);
    FILE *f = fopen(env->config, "a");
    assert_non_null(f);
    fprintf(f, "[policy]\n%s", policy);
    assert_int_equal(fclose(f), 0);
}

static CK_ULONG count_class(CK_SESSION_HANDLE s, CK_OBJECT_CLASS c)
{
    CK_BBOOL yes = CK_TRUE;
    CK_ATTRIBUTE t[] = { { CKA_CLASS, &c, sizeof c }, { CKA_TOKEN, &yes, 1 } };
    CK_OBJECT_HANDLE found[16];
    CK_ULONG n = 0;
    assert_int_equal(h_find(s, t, N(t), found, N(found), &n), CKR_OK);
    return n;
}

static CK_RV ec_token_pair(CK_SESSION_HANDLE s)
{
    static const CK_BYTE P256[] = { 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };
    CK_MECHANISM m = { CKM_EC_KEY_PAIR_GEN, NULL, 0 };
    CK_BBOOL yes = CK_TRUE;
    CK_ATTRIBUTE pt[] = { { CKA_EC_PARAMS, (void *)P256, sizeof P256 }, { CKA_TOKEN, &yes, 1 } };
    CK_ATTRIBUTE st[] = { { CKA_TOKEN, &yes, 1 }, { CKA_PRIVATE, &yes, 1 } };
    CK_OBJECT_HANDLE pub, priv;
    return F->C_GenerateKeyPair(s, &m, pt, N(pt), st, N(st), &pub, &priv);
}

/* [policy] max_sessions bounds the sessions of a process; closing one frees its place. */
static void test_session_count(void **state)
{
    h_env *env = &((h_fixture *)*state)->env;
    CK_SLOT_ID slot;
    write_config(env, "max_sessions = 3\n");
    assert_int_equal(h_setup_token(&slot), CKR_OK);
    CK_SESSION_HANDLE h[4];
    for (int i = 0; i < 3; i++)
        assert_int_equal(h_open(slot, i & 1, &h[i]), CKR_OK);
    assert_int_equal(h_open(slot, 1, &h[3]), CKR_SESSION_COUNT);
    assert_int_equal(h_open(slot, 0, &h[3]), CKR_SESSION_COUNT);
    assert_int_equal(F->C_CloseSession(h[1]), CKR_OK);
    assert_int_equal(h_open(slot, 1, &h[1]), CKR_OK);
    assert_int_equal(h_open(slot, 1, &h[3]), CKR_SESSION_COUNT);
    assert_int_equal(F->C_CloseAllSessions(slot), CKR_OK);
    for (int i = 0; i < 3; i++)
        assert_int_equal(h_open(slot, 1, &h[i]), CKR_OK);
    assert_int_equal(F->C_Finalize(NULL), CKR_OK);
}

/* [policy] max_objects bounds the token objects of a token, counted in the token row (so
 * across processes and restarts); a key pair that does not fit is refused whole; session
 * objects are not counted. */
static void test_object_count(void **state)
{
    h_env *env = &((h_fixture *)*state)->env;
    CK_SLOT_ID slot;
    CK_SESSION_HANDLE s;
    CK_OBJECT_HANDLE o[4], so;
    write_config(env, "max_objects = 3\n");
    assert_int_equal(h_setup_token(&slot), CKR_OK);
    assert_int_equal(h_open_login(slot, 1, CKU_USER, &s), CKR_OK);
    for (int i = 0; i < 3; i++)
        assert_int_equal(h_create_data(s, CK_TRUE, CK_TRUE, "lim", "v", 1, &o[i]), CKR_OK);
    assert_int_equal(h_create_data(s, CK_TRUE, CK_FALSE, "lim", "v", 1, &o[3]), CKR_DEVICE_MEMORY);
    assert_int_equal(h_create_data(s, CK_FALSE, CK_TRUE, "lim-session", "v", 1, &so), CKR_OK);
    assert_int_equal(count_class(s, CKO_DATA), 3);

    /* One place free: a token key pair needs two and is refused with nothing left behind. */
    assert_int_equal(F->C_DestroyObject(s, o[2]), CKR_OK);
    assert_int_equal(ec_token_pair(s), CKR_DEVICE_MEMORY);
    assert_int_equal(count_class(s, CKO_PUBLIC_KEY), 0);
    assert_int_equal(count_class(s, CKO_PRIVATE_KEY), 0);
    assert_int_equal(h_create_data(s, CK_TRUE, CK_TRUE, "lim", "v", 1, &o[2]), CKR_OK);

    /* The count lives in the store: a new process start still sees the token full. */
    assert_int_equal(F->C_Finalize(NULL), CKR_OK);
    assert_int_equal(F->C_Initialize(NULL), CKR_OK);
    assert_int_equal(h_open_login(slot, 1, CKU_USER, &s), CKR_OK);
    assert_int_equal(h_create_data(s, CK_TRUE, CK_TRUE, "lim", "v", 1, &o[3]), CKR_DEVICE_MEMORY);
    assert_int_equal(count_class(s, CKO_DATA), 3);
    assert_int_equal(F->C_Finalize(NULL), CKR_OK);
}

/* RSA moduli above 16384 bits: not generated, not imported; the limit is advertised. */
static void test_rsa_modulus_limit(void **state)
{
    (void)state;
    CK_SLOT_ID slot;
    CK_SESSION_HANDLE s;
    assert_int_equal(h_setup_token(&slot), CKR_OK);
    CK_MECHANISM_INFO mi;
    assert_int_equal(F->C_GetMechanismInfo(slot, CKM_RSA_PKCS_KEY_PAIR_GEN, &mi), CKR_OK);
    assert_int_equal(mi.ulMaxKeySize, 16384);
    assert_int_equal(h_open_login(slot, 1, CKU_USER, &s), CKR_OK);

    CK_MECHANISM m = { CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0 };
    CK_BYTE e[] = { 1, 0, 1 };
    CK_ULONG bits = 16384 + 8;
    CK_BBOOL no = CK_FALSE;
    CK_ATTRIBUTE pt[] = { { CKA_MODULUS_BITS, &bits, sizeof bits },
                          { CKA_PUBLIC_EXPONENT, e, sizeof e },
                          { CKA_TOKEN, &no, 1 } };
    CK_ATTRIBUTE st[] = { { CKA_TOKEN, &no, 1 } };
    CK_OBJECT_HANDLE pub, priv;
    assert_int_equal(F->C_GenerateKeyPair(s, &m, pt, N(pt), st, N(st), &pub, &priv),
                     CKR_KEY_SIZE_RANGE);
    bits = 1u << 20;
    assert_int_equal(F->C_GenerateKeyPair(s, &m, pt, N(pt), st, N(st), &pub, &priv),
                     CKR_KEY_SIZE_RANGE);

    /* An imported public key with a 16392-bit modulus (odd, top bit set). */
    CK_BYTE n[16392 / 8];
    memset(n, 0xa5, sizeof n);
    n[0] = 0xc1;
    n[sizeof n - 1] |= 1;
    CK_OBJECT_CLASS c = CKO_PUBLIC_KEY;
    CK_KEY_TYPE kt = CKK_RSA;
    CK_ATTRIBUTE it[] = { { CKA_CLASS, &c, sizeof c },     { CKA_KEY_TYPE, &kt, sizeof kt },
                          { CKA_MODULUS, n, sizeof n },     { CKA_PUBLIC_EXPONENT, e, sizeof e },
                          { CKA_TOKEN, &no, 1 } };
    CK_OBJECT_HANDLE k;
    assert_int_equal(F->C_CreateObject(s, it, N(it), &k), CKR_ATTRIBUTE_VALUE_INVALID);
    assert_int_equal(F->C_Finalize(NULL), CKR_OK);
}

/* A template of more than 128 attributes is refused before any attribute in it is looked at
 * (128 unknown types get the per-attribute error, 129 the count error); an attribute value
 * above 1 MiB is refused, 1 MiB itself is accepted. */
static void test_template_limits(void **state)
{
    (void)state;
    CK_SLOT_ID slot;
    CK_SESSION_HANDLE s;
    CK_OBJECT_HANDLE o;
    assert_int_equal(h_setup_token(&slot), CKR_OK);
    assert_int_equal(h_open_login(slot, 1, CKU_USER, &s), CKR_OK);

    CK_ATTRIBUTE many[129];
    CK_BYTE one = 1;
    for (size_t i = 0; i < N(many); i++)
        many[i] = (CK_ATTRIBUTE){ CKA_VENDOR_DEFINED + 0x4000 + i, &one, 1 };
    assert_int_equal(F->C_CreateObject(s, many, 128, &o), CKR_ATTRIBUTE_TYPE_INVALID);
    assert_int_equal(F->C_CreateObject(s, many, 129, &o), CKR_TEMPLATE_INCONSISTENT);

    size_t big = (size_t)1 << 20;
    CK_BYTE *v = calloc(1, big + 1);
    assert_non_null(v);
    assert_int_equal(h_create_data(s, CK_FALSE, CK_FALSE, "big", v, big + 1, &o),
                     CKR_ATTRIBUTE_VALUE_INVALID);
    assert_int_equal(h_create_data(s, CK_FALSE, CK_FALSE, "big", v, big, &o), CKR_OK);
    CK_ATTRIBUTE rd = { CKA_VALUE, NULL, 0 };
    assert_int_equal(F->C_GetAttributeValue(s, o, &rd, 1), CKR_OK);
    assert_int_equal(rd.ulValueLen, big);
    free(v);
    assert_int_equal(F->C_Finalize(NULL), CKR_OK);
}

/* Each test gets a fresh environment (h_fixture_setup_bare); h_fixture_teardown finalizes even
 * after a failed assertion, so one failure does not cascade into the next test. */
int main(void)
{
    h_load();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_session_count, h_fixture_setup_bare,
                                        h_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_object_count, h_fixture_setup_bare,
                                        h_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_rsa_modulus_limit, h_fixture_setup_bare,
                                        h_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_template_limits, h_fixture_setup_bare,
                                        h_fixture_teardown),
    };
    return cmocka_run_group_tests_name("limits", tests, NULL, NULL);
}
