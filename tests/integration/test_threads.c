/* Threads: cryptographic work runs outside the module lock, so it must stay correct when many
 * threads share keys, when sessions come and go meanwhile, and when a session is closed while
 * another thread is in the middle of using it (an application bug that must not crash us). */
#include "harness.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#define THREADS 4
#define ROUNDS 150

static CK_SLOT_ID g_slot;
static CK_OBJECT_HANDLE g_priv, g_pub, g_aes;
static atomic_int g_errors;

static const CK_BYTE P256[] = { 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };

static void make_keys(CK_SESSION_HANDLE s)
{
    CK_BBOOL yes = CK_TRUE;
    CK_MECHANISM gen = { CKM_EC_KEY_PAIR_GEN, NULL, 0 };
    CK_ATTRIBUTE pub[] = { { CKA_EC_PARAMS, (void *)P256, sizeof P256 }, { CKA_VERIFY, &yes, 1 } };
    CK_ATTRIBUTE priv[] = { { CKA_SIGN, &yes, 1 } };
    assert_int_equal(F->C_GenerateKeyPair(s, &gen, pub, 2, priv, 1, &g_pub, &g_priv), CKR_OK);
    CK_ULONG len = 32;
    CK_MECHANISM kg = { CKM_AES_KEY_GEN, NULL, 0 };
    CK_ATTRIBUTE at[] = { { CKA_VALUE_LEN, &len, sizeof len }, { CKA_ENCRYPT, &yes, 1 },
                          { CKA_DECRYPT, &yes, 1 } };
    assert_int_equal(F->C_GenerateKey(s, &kg, at, 3, &g_aes), CKR_OK);
}

static void count(CK_RV rv, CK_RV want)
{
    if (rv != want)
        atomic_fetch_add(&g_errors, 1);
}

static void *worker(void *arg)
{
    unsigned id = (unsigned)(uintptr_t)arg;
    for (int i = 0; i < ROUNDS; i++) {
        CK_SESSION_HANDLE s;
        CK_RV rv = F->C_OpenSession(g_slot, CKF_SERIAL_SESSION, NULL, NULL, &s);
        count(rv, CKR_OK);
        if (rv != CKR_OK)
            continue;
        CK_BYTE msg[48], sig[64], ct[64 + 16], pt[64];
        memset(msg, (int)(id * 31 + (unsigned)i), sizeof msg);
        CK_ULONG sl = sizeof sig, cl = sizeof ct, pl = sizeof pt;
        CK_MECHANISM ecdsa = { CKM_ECDSA_SHA256, NULL, 0 };
        count(F->C_SignInit(s, &ecdsa, g_priv), CKR_OK);
        count(F->C_Sign(s, msg, sizeof msg, sig, &sl), CKR_OK);
        count(F->C_VerifyInit(s, &ecdsa, g_pub), CKR_OK);
        count(F->C_Verify(s, msg, sizeof msg, sig, sl), CKR_OK);
        CK_BYTE iv[12] = { (CK_BYTE)id, (CK_BYTE)i, (CK_BYTE)(i >> 8) };
        CK_GCM_PARAMS gp = { iv, sizeof iv, 96, NULL, 0, 128 };
        CK_MECHANISM gcm = { CKM_AES_GCM, &gp, sizeof gp };
        count(F->C_EncryptInit(s, &gcm, g_aes), CKR_OK);
        count(F->C_Encrypt(s, msg, sizeof msg, ct, &cl), CKR_OK);
        count(F->C_DecryptInit(s, &gcm, g_aes), CKR_OK);
        count(F->C_Decrypt(s, ct, cl, pt, &pl), CKR_OK);
        if (pl != sizeof msg || memcmp(pt, msg, pl))
            atomic_fetch_add(&g_errors, 1);
        count(F->C_CloseSession(s), CKR_OK);
    }
    return NULL;
}

static void test_parallel_crypto_on_shared_keys(void **state)
{
    (void)state;
    h_env env;
    assert_int_equal(h_env_create(&env, 10), 0);
    assert_int_equal(h_setup_token(&g_slot), CKR_OK);
    CK_SESSION_HANDLE keep;
    assert_int_equal(h_open_login(g_slot, 1, CKU_USER, &keep), CKR_OK);
    make_keys(keep);
    pthread_t t[THREADS];
    for (unsigned i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)i), 0);
    for (unsigned i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(atomic_load(&g_errors), 0);
    assert_int_equal(F->C_Finalize(NULL), CKR_OK);
    h_env_destroy(&env);
}

static CK_SESSION_HANDLE g_victim;
static atomic_int g_stop, g_after_close;

static void *hammer(void *arg)
{
    (void)arg;
    CK_MECHANISM ecdsa = { CKM_ECDSA, NULL, 0 };
    CK_BYTE digest[32] = { 1 }, sig[64];
    while (!atomic_load(&g_stop)) {
        CK_ULONG sl = sizeof sig;
        CK_RV rv = F->C_SignInit(g_victim, &ecdsa, g_priv);
        if (rv == CKR_OK)
            rv = F->C_Sign(g_victim, digest, sizeof digest, sig, &sl);
        if (rv == CKR_SESSION_HANDLE_INVALID)
            atomic_fetch_add(&g_after_close, 1);
        else if (rv != CKR_OK && rv != CKR_OPERATION_NOT_INITIALIZED)
            atomic_fetch_add(&g_errors, 1);
    }
    return NULL;
}

static void test_close_while_in_use(void **state)
{
    (void)state;
    h_env env;
    assert_int_equal(h_env_create(&env, 10), 0);
    assert_int_equal(h_setup_token(&g_slot), CKR_OK);
    CK_SESSION_HANDLE keep;
    assert_int_equal(h_open_login(g_slot, 1, CKU_USER, &keep), CKR_OK);
    make_keys(keep);
    atomic_store(&g_errors, 0);
    for (int round = 0; round < 20; round++) {
        assert_int_equal(F->C_OpenSession(g_slot, CKF_SERIAL_SESSION, NULL, NULL, &g_victim), CKR_OK);
        atomic_store(&g_stop, 0);
        pthread_t t;
        assert_int_equal(pthread_create(&t, NULL, hammer, NULL), 0);
        usleep(2000);
        assert_int_equal(F->C_CloseSession(g_victim), CKR_OK);
        usleep(1000);
        atomic_store(&g_stop, 1);
        pthread_join(t, NULL);
    }
    assert_true(atomic_load(&g_after_close) > 0); /* the closes really raced the signing */
    assert_int_equal(atomic_load(&g_errors), 0);
    assert_int_equal(F->C_Finalize(NULL), CKR_OK);
    h_env_destroy(&env);
}

int main(void)
{
    h_load();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parallel_crypto_on_shared_keys),
        cmocka_unit_test(test_close_while_in_use),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
