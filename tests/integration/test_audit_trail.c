/* Repudiation, through the real module: logins (failed ones too), key generation and key use
 * each leave a record naming the session, the user, the operation, the mechanism and the
 * result, in call order, without the PIN; and a call whose record cannot be written fails
 * (a signature is withheld, a login is undone), so nothing happens without its trace. */
#include "harness.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const char WRONG_PIN[] = "WrongPin-Zq8Xv";

static void audit_path(const h_env *env, CK_SLOT_ID slot, char *out, size_t n)
{
    snprintf(out, n, "%s/slot-%lu.audit", env->token_dir, (unsigned long)slot);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    assert_true(n > 0);
    rewind(f);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = 0;
    fclose(f);
    return buf;
}

/* The first line at or after *pos that contains every needle; *pos moves past it. */
static int find_record(const char *log, const char **pos, const char *const *needles, size_t n)
{
    const char *p = *pos ? *pos : log;
    while (*p) {
        const char *end = strchr(p, '\n');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char *line = strndup(p, len);
        assert_non_null(line);
        size_t hit = 0;
        for (size_t i = 0; i < n; i++)
            hit += strstr(line, needles[i]) != NULL;
        free(line);
        p += len + (end ? 1 : 0);
        if (hit == n) {
            *pos = p;
            return 1;
        }
    }
    return 0;
}

static CK_OBJECT_HANDLE hmac_key(CK_SESSION_HANDLE s)
{
    CK_MECHANISM m = { CKM_GENERIC_SECRET_KEY_GEN, NULL, 0 };
    CK_ULONG len = 32;
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    CK_ATTRIBUTE t[] = { { CKA_VALUE_LEN, &len, sizeof len },
                         { CKA_TOKEN, &no, 1 },
                         { CKA_SIGN, &yes, 1 } };
    CK_OBJECT_HANDLE k;
    assert_int_equal(F->C_GenerateKey(s, &m, t, N(t), &k), CKR_OK);
    return k;
}

static void test_calls_leave_records(void **state)
{
    h_env *env = &((h_fixture *)*state)->env;
    CK_SLOT_ID slot;
    CK_SESSION_HANDLE s;
    assert_int_equal(h_setup_token(&slot), CKR_OK);
    assert_int_equal(h_open(slot, 1, &s), CKR_OK);
    assert_int_equal(F->C_Login(s, CKU_USER, H_PIN(WRONG_PIN)), CKR_PIN_INCORRECT);
    assert_int_equal(F->C_Login(s, CKU_USER, H_PIN(H_USER_PIN)), CKR_OK);
    CK_OBJECT_HANDLE k = hmac_key(s);
    CK_MECHANISM hm = { CKM_SHA256_HMAC, NULL, 0 };
    CK_BYTE mac[32];
    CK_ULONG ml = sizeof mac;
    assert_int_equal(F->C_SignInit(s, &hm, k), CKR_OK);
    assert_int_equal(F->C_Sign(s, (CK_BYTE_PTR) "audited", 7, mac, &ml), CKR_OK);
    assert_int_equal(F->C_Logout(s), CKR_OK);
    assert_int_equal(F->C_Finalize(NULL), CKR_OK);

    char path[PATH_MAX + 32], sess[48];
    audit_path(env, slot, path, sizeof path);
    snprintf(sess, sizeof sess, "\"session\":%lu,", (unsigned long)s);
    char *log = slurp(path);
    const char *pos = NULL;
    const char *const bad_login[] = { sess, "\"op\":\"C_Login\"", "\"result\":\"CKR_PIN_INCORRECT\"" };
    const char *const login[] = { sess, "\"user\":\"user\"", "\"op\":\"C_Login\"",
                                  "\"result\":\"CKR_OK\"" };
    const char *const gen[] = { sess, "\"user\":\"user\"", "\"op\":\"C_GenerateKey\"",
                                "\"mech\":\"0x00000350\"", "\"result\":\"CKR_OK\"" };
    const char *const sign[] = { sess, "\"user\":\"user\"", "\"op\":\"C_Sign\"",
                                 "\"mech\":\"0x00000251\"", "\"result\":\"CKR_OK\"", "\"time\":\"" };
    const char *const logout[] = { sess, "\"op\":\"C_Logout\"", "\"result\":\"CKR_OK\"" };
    assert_true(find_record(log, &pos, bad_login, N(bad_login)));
    assert_true(find_record(log, &pos, login, N(login)));
    assert_true(find_record(log, &pos, gen, N(gen)));
    assert_true(find_record(log, &pos, sign, N(sign)));
    assert_true(find_record(log, &pos, logout, N(logout)));
    assert_null(strstr(log, WRONG_PIN));
    free(log);
}

/* The log file is removed and a directory put in its place: the writer cannot reopen it. */
static void break_log(const h_env *env, CK_SLOT_ID slot)
{
    char path[PATH_MAX + 32];
    audit_path(env, slot, path, sizeof path);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(mkdir(path, 0700), 0);
    /* Writers look at their file every 100 ms (docs/audit.md), not at every append. */
    usleep(150 * 1000);
}

static void test_unwritable_log_fails_the_call(void **state)
{
    h_env *env = &((h_fixture *)*state)->env;
    CK_SLOT_ID slot;
    CK_SESSION_HANDLE s;
    assert_int_equal(h_setup_token(&slot), CKR_OK);
    assert_int_equal(h_open_login(slot, 1, CKU_USER, &s), CKR_OK);
    CK_OBJECT_HANDLE k = hmac_key(s);
    CK_MECHANISM hm = { CKM_SHA256_HMAC, NULL, 0 };
    CK_BYTE mac[32], zero[32] = { 0 };
    CK_ULONG ml = sizeof mac;
    assert_int_equal(F->C_SignInit(s, &hm, k), CKR_OK);
    break_log(env, slot);
    /* The signature is computed but withheld: the caller gets an error and zeros. */
    memset(mac, 0xee, sizeof mac);
    assert_int_equal(F->C_Sign(s, (CK_BYTE_PTR) "audited", 7, mac, &ml), CKR_DEVICE_ERROR);
    assert_memory_equal(mac, zero, sizeof mac);
    /* A login whose record cannot be written is undone. */
    (void)F->C_Logout(s);
    assert_int_equal(h_state(s), CKS_RW_PUBLIC_SESSION);
    assert_int_equal(F->C_Login(s, CKU_USER, H_PIN(H_USER_PIN)), CKR_DEVICE_ERROR);
    assert_int_equal(h_state(s), CKS_RW_PUBLIC_SESSION);
}

int main(void)
{
    h_load();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_calls_leave_records, h_fixture_setup_bare,
                                        h_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_unwritable_log_fails_the_call, h_fixture_setup_bare,
                                        h_fixture_teardown),
    };
    return cmocka_run_group_tests_name("audit_trail", tests, NULL, NULL);
}
