/* Shared prologue of the session-race tests (test_session_race.c, test_shared_init.c): the
 * known-answer constants, the token environment, thread failure recording (threads record the
 * first failure; cmocka asserts run on the main thread only), and the key and operation helpers
 * they both use. Header-only: each test is its own executable, so the statics are per test. */
#ifndef CRATON_RACE_UTIL_H
#define CRATON_RACE_UTIL_H

#include "harness.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define RV_MISMATCH (CKR_VENDOR_DEFINED | 0x4d49534dUL) /* test-internal: wrong output */

/* RFC 4231 test case 1: HMAC-SHA256, key 0x0b x 20, data "Hi There". */
static const CK_BYTE HMAC_KEY[20] = { 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b,
                                      0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b };
static const CK_BYTE HMAC_MSG[8] = "Hi There";
static const CK_BYTE HMAC_EXP[32] = {
    0xb0, 0x34, 0x4c, 0x61, 0xd8, 0xdb, 0x38, 0x53, 0x5c, 0xa8, 0xaf, 0xce, 0xaf, 0x0b, 0xf1, 0x2b,
    0x88, 0x1d, 0xc2, 0x00, 0xc9, 0x83, 0x3d, 0xa7, 0x26, 0xe9, 0x37, 0x6c, 0x2e, 0x32, 0xcf, 0xf7 };
/* SHA-256("abcdef"), fed as "abc" then "def" (parsed into g_sha_exp). */
static const char SHA_ABCDEF_HEX[] =
    "bef57ec7f53a6d40beb640a780a639c83bc29ac8a9816f1fc6c5c6dcd93c4721";
static const CK_BYTE AES_KEY[32] = "craton-session-race-aes-key-32b";
static const CK_BYTE GCM_MSG[40] = "the quick brown fox jumps over the lazy";

static h_env g_env;
static CK_SLOT_ID g_slot;
static CK_BYTE g_sha_exp[32];
static CK_BYTE g_gcm_ct[56]; /* AES_KEY, IV 0..11, GCM_MSG: computed once, single-threaded */

/* ---- failure recording (threads) --------------------------------------------------------- */

static atomic_int g_fail, g_stop;
static char g_first[512];
static pthread_mutex_t g_fail_mu = PTHREAD_MUTEX_INITIALIZER;

static inline const char *rvname(CK_RV rv)
{
    return rv == RV_MISMATCH ? "OUTPUT-MISMATCH" : h_rv(rv);
}

static inline void tfail(int line, const char *what, CK_RV rv)
{
    if (atomic_fetch_add(&g_fail, 1) == 0) {
        pthread_mutex_lock(&g_fail_mu);
        snprintf(g_first, sizeof g_first, "line %d: %s -> %s (0x%lx)", line, what, rvname(rv),
                 (unsigned long)rv);
        pthread_mutex_unlock(&g_fail_mu);
    }
}
#define TFAIL(what, rv) tfail(__LINE__, (what), (rv))
#define TEXPECT(call, want)                                                                    \
    do {                                                                                       \
        CK_RV t__rv = (call);                                                                  \
        if (t__rv != (want))                                                                   \
            TFAIL(#call, t__rv);                                                               \
    } while (0)

static inline void reset_fail(void)
{
    atomic_store(&g_fail, 0);
    g_first[0] = 0;
}

static inline void assert_no_thread_failure(void)
{
    if (atomic_load(&g_fail) != 0) {
        print_error("%d thread failure(s); first: %s\n", atomic_load(&g_fail), g_first);
        fail();
    }
}

static inline double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- environment -------------------------------------------------------------------------- */

/* Fresh env with extra config appended, C_Initialize(args), token and user PIN. */
static inline void setup_env(const char *extra, CK_C_INITIALIZE_ARGS *args)
{
    assert_int_equal(h_env_create(&g_env, 10), 0);
    FILE *f = fopen(g_env.config, "a");
    assert_non_null(f);
    fprintf(f, "\n[audit]\nsync = none\nsync_per_use = none\nsync_objects = none\n%s",
            extra ? extra : "");
    fclose(f);
    assert_ok(F->C_Initialize(args));
    assert_ok(h_init_token(H_LABEL, &g_slot));
    assert_ok(h_init_user_pin(g_slot));
}

static inline void teardown_env(void)
{
    assert_ok(F->C_Finalize(NULL));
}

/* cmocka teardown: also after a failed assertion, so later tests start uninitialised. */
static inline int td(void **state)
{
    (void)state;
    atomic_store(&g_stop, 1);
    (void)F->C_Finalize(NULL);
    h_env_destroy(&g_env);
    return 0;
}

/* ---- keys and operations ------------------------------------------------------------------ */

static inline CK_RV make_secret(CK_SESSION_HANDLE s, CK_KEY_TYPE kt, const CK_BYTE *v,
                                CK_ULONG vl, CK_BBOOL token, const char *label,
                                CK_OBJECT_HANDLE *k)
{
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    int mac = kt == CKK_GENERIC_SECRET;
    CK_ATTRIBUTE t[] = {
        { CKA_CLASS, &cls, sizeof cls },
        { CKA_KEY_TYPE, &kt, sizeof kt },
        { CKA_VALUE, (void *)v, vl },
        { CKA_TOKEN, &token, 1 },
        { CKA_PRIVATE, token ? &yes : &no, 1 },
        { CKA_LABEL, (void *)label, strlen(label) },
        { mac ? CKA_SIGN : CKA_ENCRYPT, &yes, 1 },
        { mac ? CKA_VERIFY : CKA_DECRYPT, &yes, 1 },
    };
    return F->C_CreateObject(s, t, N(t), k);
}

static inline void make_keys(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE *aes,
                             CK_OBJECT_HANDLE *hmac)
{
    assert_ok(make_secret(s, CKK_AES, AES_KEY, sizeof AES_KEY, CK_FALSE, "race-aes", aes));
    assert_ok(make_secret(s, CKK_GENERIC_SECRET, HMAC_KEY, sizeof HMAC_KEY, CK_FALSE,
                          "race-hmac", hmac));
}

static inline void fixed_iv(CK_BYTE iv[12])
{
    for (int i = 0; i < 12; i++)
        iv[i] = (CK_BYTE)i;
}

/* AES-GCM encrypt GCM_MSG under the fixed IV, compare with g_gcm_ct, decrypt and compare. */
static inline CK_RV gcm_roundtrip(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE k)
{
    CK_BYTE iv[12];
    fixed_iv(iv);
    CK_GCM_PARAMS gp = { iv, 12, 96, NULL, 0, 128 };
    CK_MECHANISM m = { CKM_AES_GCM, &gp, sizeof gp };
    CK_BYTE ct[80], pt[80];
    CK_ULONG cl = sizeof ct, pl = sizeof pt;
    CK_RV rv = F->C_EncryptInit(s, &m, k);
    if (rv != CKR_OK)
        return rv;
    if ((rv = F->C_Encrypt(s, (CK_BYTE_PTR)GCM_MSG, sizeof GCM_MSG, ct, &cl)) != CKR_OK)
        return rv;
    if (cl != sizeof g_gcm_ct || memcmp(ct, g_gcm_ct, cl))
        return RV_MISMATCH;
    if ((rv = F->C_DecryptInit(s, &m, k)) != CKR_OK)
        return rv;
    if ((rv = F->C_Decrypt(s, ct, cl, pt, &pl)) != CKR_OK)
        return rv;
    return pl == sizeof GCM_MSG && !memcmp(pt, GCM_MSG, pl) ? CKR_OK : RV_MISMATCH;
}

static inline CK_RV hmac_check(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE k)
{
    CK_MECHANISM m = { CKM_SHA256_HMAC, NULL, 0 };
    CK_BYTE mac[64];
    CK_ULONG ml = sizeof mac;
    CK_RV rv = F->C_SignInit(s, &m, k);
    if (rv != CKR_OK)
        return rv;
    if ((rv = F->C_Sign(s, (CK_BYTE_PTR)HMAC_MSG, sizeof HMAC_MSG, mac, &ml)) != CKR_OK)
        return rv;
    return ml == 32 && !memcmp(mac, HMAC_EXP, 32) ? CKR_OK : RV_MISMATCH;
}

static inline CK_RV digest_check(CK_SESSION_HANDLE s)
{
    CK_MECHANISM m = { CKM_SHA256, NULL, 0 };
    CK_BYTE d[64];
    CK_ULONG dl = sizeof d;
    CK_RV rv = F->C_DigestInit(s, &m);
    if (rv == CKR_OK)
        rv = F->C_DigestUpdate(s, (CK_BYTE_PTR) "abc", 3);
    if (rv == CKR_OK)
        rv = F->C_DigestUpdate(s, (CK_BYTE_PTR) "def", 3);
    if (rv == CKR_OK)
        rv = F->C_DigestFinal(s, d, &dl);
    if (rv != CKR_OK)
        return rv;
    return dl == 32 && !memcmp(d, g_sha_exp, 32) ? CKR_OK : RV_MISMATCH;
}

/* Single-threaded reference values: the digest (checked against the known constant) and the
 * GCM ciphertext under the fixed key and IV (checked by decrypting it back). */
static inline void compute_references(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE aes)
{
    for (int i = 0; i < 32; i++) {
        unsigned v;
        sscanf(SHA_ABCDEF_HEX + 2 * i, "%2x", &v);
        g_sha_exp[i] = (CK_BYTE)v;
    }
    assert_ok(digest_check(s));
    CK_BYTE iv[12];
    fixed_iv(iv);
    CK_GCM_PARAMS gp = { iv, 12, 96, NULL, 0, 128 };
    CK_MECHANISM m = { CKM_AES_GCM, &gp, sizeof gp };
    CK_ULONG cl = sizeof g_gcm_ct;
    assert_ok(F->C_EncryptInit(s, &m, aes));
    assert_ok(F->C_Encrypt(s, (CK_BYTE_PTR)GCM_MSG, sizeof GCM_MSG, g_gcm_ct, &cl));
    assert_int_equal(cl, sizeof g_gcm_ct);
    assert_ok(gcm_roundtrip(s, aes));
}

#endif
