/* AES-GCM invocation limits and token-generated IVs: the per-key count survives a restart,
 * stops the key at the limit, warns (audited) at 50/75/90/95/99%, and generated IVs never
 * repeat for a key, across processes too. The limit is lowered to 100 by the config. */
#include "harness.h"

#include <stdlib.h>
#include <string.h>

#define LIMIT 100

static h_env env;
static CK_SLOT_ID slot;

static void write_policy(const char *iv_mode)
{
    FILE *f = fopen(env.config, "a");
    assert_non_null(f);
    fprintf(f, "\n[policy]\ngcm_limit = %d\ngcm_iv = %s\n[audit]\nsync = none\n", LIMIT, iv_mode);
    fclose(f);
}

static CK_OBJECT_HANDLE aes_key(CK_SESSION_HANDLE s, CK_BBOOL token, const char *label)
{
    CK_ULONG len = 32;
    CK_BBOOL yes = CK_TRUE;
    CK_MECHANISM kg = { CKM_AES_KEY_GEN, NULL, 0 };
    CK_ATTRIBUTE t[] = { { CKA_VALUE_LEN, &len, sizeof len }, { CKA_TOKEN, &token, 1 },
                         { CKA_ENCRYPT, &yes, 1 }, { CKA_DECRYPT, &yes, 1 },
                         { CKA_LABEL, (void *)label, strlen(label) } };
    CK_OBJECT_HANDLE k;
    assert_int_equal(F->C_GenerateKey(s, &kg, t, 5, &k), CKR_OK);
    return k;
}

static CK_RV encrypt_once(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE k, CK_BYTE iv[12], int check)
{
    CK_GCM_PARAMS gp = { iv, 12, 96, NULL, 0, 128 };
    CK_MECHANISM m = { CKM_AES_GCM, &gp, sizeof gp };
    CK_RV rv = F->C_EncryptInit(s, &m, k);
    if (rv != CKR_OK)
        return rv;
    CK_BYTE msg[20] = "counted encryption", ct[64], pt[64];
    CK_ULONG cl = sizeof ct, pl = sizeof pt;
    assert_int_equal(F->C_Encrypt(s, msg, sizeof msg, ct, &cl), CKR_OK);
    if (check) { /* the IV the token wrote is the one it used */
        assert_int_equal(F->C_DecryptInit(s, &m, k), CKR_OK);
        assert_int_equal(F->C_Decrypt(s, ct, cl, pt, &pl), CKR_OK);
        assert_memory_equal(pt, msg, sizeof msg);
    }
    return CKR_OK;
}

static CK_OBJECT_HANDLE find_label(CK_SESSION_HANDLE s, const char *label)
{
    CK_OBJECT_HANDLE h[2];
    CK_ULONG n = 0;
    CK_ATTRIBUTE t[] = { { CKA_LABEL, (void *)label, strlen(label) } };
    assert_int_equal(h_find(s, t, 1, h, 2, &n), CKR_OK);
    assert_int_equal(n, 1);
    return h[0];
}

static int cmp_iv(const void *a, const void *b)
{
    return memcmp(a, b, 12);
}

static void test_limit_survives_restart_and_ivs_are_unique(void **state)
{
    (void)state;
    assert_int_equal(h_env_create(&env, 10), 0);
    write_policy("generate");
    assert_int_equal(h_setup_token(&slot), CKR_OK);
    CK_SESSION_HANDLE s;
    assert_int_equal(h_open_login(slot, 1, CKU_USER, &s), CKR_OK);
    CK_OBJECT_HANDLE k = aes_key(s, CK_TRUE, "gcm-token-key");
    static CK_BYTE ivs[LIMIT][12];
    for (int i = 0; i < 60; i++) {
        memset(ivs[i], 0, 12);
        assert_int_equal(encrypt_once(s, k, ivs[i], i < 3), CKR_OK);
    }
    /* A new process (here: a fresh C_Initialize) continues the same count. */
    assert_int_equal(F->C_Finalize(NULL), CKR_OK);
    assert_int_equal(F->C_Initialize(NULL), CKR_OK);
    assert_int_equal(h_open_login(slot, 1, CKU_USER, &s), CKR_OK);
    k = find_label(s, "gcm-token-key");
    for (int i = 60; i < LIMIT; i++) {
        memset(ivs[i], 0, 12);
        assert_int_equal(encrypt_once(s, k, ivs[i], 0), CKR_OK);
    }
    CK_BYTE iv[12] = { 0 };
    assert_int_equal(encrypt_once(s, k, iv, 0), CKR_KEY_EXHAUSTED);
    /* Decryption with an exhausted key still works: only new encryptions are refused. */
    qsort(ivs, LIMIT, 12, cmp_iv);
    for (int i = 1; i < LIMIT; i++)
        assert_true(memcmp(ivs[i - 1], ivs[i], 12) != 0);
    /* Another key has its own count. */
    CK_OBJECT_HANDLE k2 = aes_key(s, CK_FALSE, "gcm-session-key");
    for (int i = 0; i < LIMIT; i++)
        assert_int_equal(encrypt_once(s, k2, iv, 0), CKR_OK);
    assert_int_equal(encrypt_once(s, k2, iv, 0), CKR_KEY_EXHAUSTED);
    assert_int_equal(F->C_Finalize(NULL), CKR_OK);

    /* The warnings are in the audit log, once each. */
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/slot-%lu.audit", env.token_dir, (unsigned long)slot);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[2048];
    int seen[5] = { 0 };
    const char *marks[5] = { "gcm-usage-50%", "gcm-usage-75%", "gcm-usage-90%", "gcm-usage-95%",
                             "gcm-usage-99%" };
    while (fgets(line, sizeof line, f))
        for (int i = 0; i < 5; i++)
            seen[i] += strstr(line, marks[i]) != NULL;
    fclose(f);
    for (int i = 0; i < 5; i++)
        assert_int_equal(seen[i], 2); /* token key and session key */
    h_env_destroy(&env);
}

static void test_edited_count_is_refused(void **state)
{
    (void)state;
    assert_int_equal(h_env_create(&env, 10), 0);
    write_policy("caller");
    assert_int_equal(h_setup_token(&slot), CKR_OK);
    CK_SESSION_HANDLE s;
    assert_int_equal(h_open_login(slot, 1, CKU_USER, &s), CKR_OK);
    CK_OBJECT_HANDLE k = aes_key(s, CK_TRUE, "gcm-key");
    CK_BYTE iv[12] = { 9, 9, 9 };
    assert_int_equal(encrypt_once(s, k, iv, 1), CKR_OK);
    /* Caller IVs are used as given. */
    assert_int_equal(iv[0], 9);
    assert_int_equal(F->C_Finalize(NULL), CKR_OK);
    /* Reset the stored count behind the module's back: the next block reservation notices. */
    char cmd[PATH_MAX * 2];
    snprintf(cmd, sizeof cmd, "sqlite3 '%s/slot-%lu.db' 'UPDATE gcm_usage SET reserved = 0' 2>/dev/null",
             env.token_dir, (unsigned long)slot);
    if (system(cmd) != 0) {
        h_env_destroy(&env);
        skip(); /* the sqlite3 shell is not installed */
    }
    assert_int_equal(F->C_Initialize(NULL), CKR_OK);
    assert_int_equal(h_open_login(slot, 1, CKU_USER, &s), CKR_OK);
    k = find_label(s, "gcm-key");
    assert_int_equal(encrypt_once(s, k, iv, 0), CKR_DEVICE_ERROR);
    assert_int_equal(F->C_Finalize(NULL), CKR_OK);
    h_env_destroy(&env);
}

int main(void)
{
    h_load();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_limit_survives_restart_and_ivs_are_unique),
        cmocka_unit_test(test_edited_count_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
