/* No secret reaches a log or an error stream: PINs, key values and private data are planted,
 * every path that touches them runs at debug level, and the log and stderr are searched for
 * them in raw and hex form. The log must also be non-trivial, or the search proves nothing. */
#include "harness.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

static const char SO_PIN[] = "SoPin-Q7x9Z2w";
static const char USER_PIN[] = "UsPin-K3m8W4r";
static const char NEW_PIN[] = "NwPin-J5t2V8y";
static const char DATA[] = "DataSecret-9b1f4e77c2";
static const CK_BYTE AES_KEY[32] = { 0xC3, 0x5A, 0x91, 0x2E, 0x7D, 0x04, 0xB8, 0x6F, 0x13, 0xE9, 0x4C,
                                     0xA7, 0x58, 0xD2, 0x0B, 0x96, 0x3F, 0xC1, 0x7A, 0x25, 0xE4, 0x89,
                                     0x52, 0x1D, 0xB6, 0x6A, 0xF0, 0x37, 0x9E, 0x44, 0xAB, 0x08 };
static const CK_BYTE HMAC_KEY[24] = { 0x5E, 0xC7, 0x29, 0xA0, 0x83, 0x1B, 0xD6, 0x74, 0x0F, 0xE2, 0x98, 0x4D,
                                      0x61, 0xBA, 0x35, 0xCC, 0x07, 0x9F, 0x52, 0xE8, 0x2A, 0x7B, 0xD1, 0x46 };

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf)
        buf[n] = 0;
    *len = (size_t)n;
    return buf;
}

static int contains(const char *hay, size_t n, const void *needle, size_t m)
{
    return memmem(hay, n, needle, m) != NULL;
}

static void hex(const CK_BYTE *b, size_t n, char *out, int upper)
{
    const char *d = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = d[b[i] >> 4];
        out[2 * i + 1] = d[b[i] & 15];
    }
    out[2 * n] = 0;
}

static void assert_absent(const char *what, const char *buf, size_t n, const void *secret, size_t m)
{
    if (contains(buf, n, secret, m))
        fail_msg("%s found in the log output", what);
}

static void assert_key_absent(const char *what, const char *buf, size_t n, const CK_BYTE *k, size_t m)
{
    char h[2 * 64 + 1];
    assert_absent(what, buf, n, k, m);
    hex(k, m, h, 0);
    assert_absent(what, buf, n, h, 2 * m);
    hex(k, m, h, 1);
    assert_absent(what, buf, n, h, 2 * m);
    /* An 8-byte window is enough to count as a leak of part of the key. */
    hex(k, 8, h, 0);
    assert_absent(what, buf, n, h, 16);
}

static void exercise(void)
{
    CK_SLOT_ID slot;
    assert_int_equal(h_free_slot(&slot), CKR_OK);
    CK_UTF8CHAR label[32];
    h_pad(label, sizeof label, "secrets");
    assert_int_equal(F->C_InitToken(slot, H_PIN(SO_PIN), label), CKR_OK);
    CK_SESSION_HANDLE s;
    assert_int_equal(h_open(slot, 1, &s), CKR_OK);
    assert_int_equal(F->C_Login(s, CKU_SO, H_PIN(USER_PIN)), CKR_PIN_INCORRECT);
    assert_int_equal(F->C_Login(s, CKU_SO, H_PIN(SO_PIN)), CKR_OK);
    assert_int_equal(F->C_InitPIN(s, H_PIN(USER_PIN)), CKR_OK);
    assert_int_equal(F->C_Logout(s), CKR_OK);
    assert_int_equal(F->C_Login(s, CKU_USER, H_PIN(SO_PIN)), CKR_PIN_INCORRECT);
    assert_int_equal(F->C_SetPIN(s, H_PIN(USER_PIN), H_PIN(NEW_PIN)), CKR_OK);
    assert_int_equal(F->C_Login(s, CKU_USER, H_PIN(NEW_PIN)), CKR_OK);

    CK_OBJECT_CLASS sec = CKO_SECRET_KEY;
    CK_KEY_TYPE aes = CKK_AES, gen = CKK_GENERIC_SECRET;
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    CK_ATTRIBUTE at[] = { { CKA_CLASS, &sec, sizeof sec }, { CKA_KEY_TYPE, &aes, sizeof aes },
                          { CKA_TOKEN, &yes, 1 }, { CKA_EXTRACTABLE, &no, 1 },
                          { CKA_VALUE, (void *)AES_KEY, sizeof AES_KEY } };
    CK_OBJECT_HANDLE ka, kh, d;
    assert_int_equal(F->C_CreateObject(s, at, 5, &ka), CKR_OK);
    CK_ATTRIBUTE ht[] = { { CKA_CLASS, &sec, sizeof sec }, { CKA_KEY_TYPE, &gen, sizeof gen },
                          { CKA_TOKEN, &no, 1 }, { CKA_SIGN, &yes, 1 },
                          { CKA_VALUE, (void *)HMAC_KEY, sizeof HMAC_KEY } };
    assert_int_equal(F->C_CreateObject(s, ht, 5, &kh), CKR_OK);
    assert_int_equal(h_create_data(s, CK_TRUE, CK_TRUE, "secret data", DATA, strlen(DATA), &d), CKR_OK);

    CK_BYTE buf[256];
    CK_ATTRIBUTE get = { CKA_VALUE, buf, sizeof buf };
    assert_int_equal(F->C_GetAttributeValue(s, ka, &get, 1), CKR_ATTRIBUTE_SENSITIVE);
    CK_ULONG n = sizeof buf;
    CK_MECHANISM hm = { CKM_SHA256_HMAC, NULL, 0 };
    if (F->C_SignInit(s, &hm, kh) == CKR_OK)
        assert_int_equal(F->C_Sign(s, (CK_BYTE_PTR)DATA, strlen(DATA), buf, &n), CKR_OK);
    CK_BYTE iv[16] = { 0 };
    CK_MECHANISM cbc = { CKM_AES_CBC_PAD, iv, sizeof iv };
    n = sizeof buf;
    if (F->C_EncryptInit(s, &cbc, ka) == CKR_OK)
        assert_int_equal(F->C_Encrypt(s, (CK_BYTE_PTR)DATA, strlen(DATA), buf, &n), CKR_OK);
    /* Errors on key paths too: a short buffer, a wrong mechanism parameter. */
    CK_MECHANISM bad = { CKM_AES_CBC_PAD, iv, 3 };
    (void)F->C_EncryptInit(s, &bad, ka);
    assert_int_equal(F->C_Logout(s), CKR_OK);
    assert_int_equal(F->C_CloseSession(s), CKR_OK);
}

static void test_no_secret_in_logs(void **state)
{
    (void)state;
    h_env env;
    assert_int_equal(h_env_create(&env, 10), 0);
    char logpath[PATH_MAX + 16], errpath[PATH_MAX + 16];
    snprintf(logpath, sizeof logpath, "%s/craton.log", env.dir);
    snprintf(errpath, sizeof errpath, "%s/stderr.txt", env.dir);
    setenv("CRATON_LOG", "debug", 1);
    setenv("CRATON_LOG_FILE", logpath, 1);
    int saved = dup(2);
    int fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0 && saved >= 0);
    dup2(fd, 2);
    close(fd);

    assert_int_equal(F->C_Initialize(NULL), CKR_OK);
    exercise();
    assert_int_equal(F->C_Finalize(NULL), CKR_OK);
    /* The same without a log file: debug output on stderr. */
    unsetenv("CRATON_LOG_FILE");
    assert_int_equal(F->C_Initialize(NULL), CKR_OK);
    CK_SLOT_ID slot;
    assert_int_equal(h_free_slot(&slot), CKR_OK);
    CK_SESSION_HANDLE s;
    CK_SLOT_ID *all;
    CK_ULONG cnt;
    assert_int_equal(h_slots(&all, &cnt), CKR_OK);
    assert_int_equal(h_open(all[0], 1, &s), CKR_OK);
    free(all);
    assert_int_equal(F->C_Login(s, CKU_USER, H_PIN(USER_PIN)), CKR_PIN_INCORRECT);
    assert_int_equal(F->C_Login(s, CKU_USER, H_PIN(NEW_PIN)), CKR_OK);
    assert_int_equal(F->C_Finalize(NULL), CKR_OK);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    unsetenv("CRATON_LOG");

    size_t ln = 0, en = 0;
    char *log = slurp(logpath, &ln), *err = slurp(errpath, &en);
    assert_non_null(log);
    assert_non_null(err);
    /* The search is only meaningful if the debug trail is there. */
    assert_true(strstr(log, "C_Login") != NULL && strstr(log, "C_CreateObject") != NULL);
    assert_true(strstr(err, "C_Login") != NULL);
    const char *names[2] = { "log file", "stderr" };
    const char *bufs[2] = { log, err };
    size_t lens[2] = { ln, en };
    for (int i = 0; i < 2; i++) {
        (void)names[i];
        assert_absent("SO PIN", bufs[i], lens[i], SO_PIN, strlen(SO_PIN));
        assert_absent("user PIN", bufs[i], lens[i], USER_PIN, strlen(USER_PIN));
        assert_absent("new PIN", bufs[i], lens[i], NEW_PIN, strlen(NEW_PIN));
        assert_absent("private data", bufs[i], lens[i], DATA, strlen(DATA));
        assert_key_absent("AES key", bufs[i], lens[i], AES_KEY, sizeof AES_KEY);
        assert_key_absent("HMAC key", bufs[i], lens[i], HMAC_KEY, sizeof HMAC_KEY);
    }
    free(log);
    free(err);
    h_env_destroy(&env);
}

int main(void)
{
    h_load();
    const struct CMUnitTest tests[] = { cmocka_unit_test(test_no_secret_in_logs) };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
