/* Session handles looked up without the module lock, type-stable session structs, shared-lock
 * operation inits and atomic GCM accounting: stale and forged handles, a closed handle coming
 * back, closes racing use, struct reuse while a thread still holds it, session churn next to
 * long-lived work, writers (here and in another process) racing shared-lock inits, the GCM
 * limit under threads, and the application's mutex callbacks. Every thread checks its results
 * and records the first failure; cmocka asserts run on the main thread only. */
#include "harness.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define IDX_MASK 0xfffffUL /* session handle = (11 random bits << 20) | table index */
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

static const char *rvname(CK_RV rv)
{
    return rv == RV_MISMATCH ? "OUTPUT-MISMATCH" : h_rv(rv);
}

static void tfail(int line, const char *what, CK_RV rv)
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

static void reset_fail(void)
{
    atomic_store(&g_fail, 0);
    g_first[0] = 0;
}

static void assert_no_thread_failure(void)
{
    if (atomic_load(&g_fail) != 0) {
        print_error("%d thread failure(s); first: %s\n", atomic_load(&g_fail), g_first);
        fail();
    }
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- environment -------------------------------------------------------------------------- */

/* Fresh env with extra config appended, C_Initialize(args), token and user PIN. */
static void setup_env(const char *extra, CK_C_INITIALIZE_ARGS *args)
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

static void teardown_env(void)
{
    assert_ok(F->C_Finalize(NULL));
}

/* cmocka teardown: also after a failed assertion, so later tests start uninitialised. */
static int td(void **state)
{
    (void)state;
    atomic_store(&g_stop, 1);
    (void)F->C_Finalize(NULL);
    h_env_destroy(&g_env);
    return 0;
}

/* ---- keys and operations ------------------------------------------------------------------ */

static CK_RV make_secret(CK_SESSION_HANDLE s, CK_KEY_TYPE kt, const CK_BYTE *v, CK_ULONG vl,
                         CK_BBOOL token, const char *label, CK_OBJECT_HANDLE *k)
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

static void make_keys(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE *aes, CK_OBJECT_HANDLE *hmac)
{
    assert_ok(make_secret(s, CKK_AES, AES_KEY, sizeof AES_KEY, CK_FALSE, "race-aes", aes));
    assert_ok(make_secret(s, CKK_GENERIC_SECRET, HMAC_KEY, sizeof HMAC_KEY, CK_FALSE,
                          "race-hmac", hmac));
}

static void fixed_iv(CK_BYTE iv[12])
{
    for (int i = 0; i < 12; i++)
        iv[i] = (CK_BYTE)i;
}

/* AES-GCM encrypt GCM_MSG under the fixed IV, compare with g_gcm_ct, decrypt and compare. */
static CK_RV gcm_roundtrip(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE k)
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

static CK_RV hmac_check(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE k)
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

static CK_RV digest_check(CK_SESSION_HANDLE s)
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
static void compute_references(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE aes)
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

/* ---- 1. stale and forged handles --------------------------------------------------------- */

/* Every call a closed or forged handle can reach must say SESSION_HANDLE_INVALID; bad[] names
 * the first one that did not. */
static int stale_calls(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE aes, CK_OBJECT_HANDLE hmac,
                       const char **bad, CK_RV *badrv)
{
    CK_BYTE in[64] = { 1 }, out[128];
    CK_ULONG ol;
    CK_MECHANISM sha = { CKM_SHA256, NULL, 0 }, hm = { CKM_SHA256_HMAC, NULL, 0 };
    CK_BYTE iv[12] = { 0 };
    CK_GCM_PARAMS gp = { iv, 12, 96, NULL, 0, 128 };
    CK_MECHANISM gcm = { CKM_AES_GCM, &gp, sizeof gp };
    CK_SESSION_INFO si;
    CK_RV rv;
#define STALE(call)                                                                            \
    do {                                                                                       \
        ol = sizeof out;                                                                       \
        if ((rv = (call)) != CKR_SESSION_HANDLE_INVALID) {                                     \
            *bad = #call;                                                                      \
            *badrv = rv;                                                                       \
            return 1;                                                                          \
        }                                                                                      \
    } while (0)
    /* Lock-free (session_acquire) paths. */
    STALE(F->C_Encrypt(h, in, 16, out, &ol));
    STALE(F->C_EncryptUpdate(h, in, 16, out, &ol));
    STALE(F->C_EncryptFinal(h, out, &ol));
    STALE(F->C_Decrypt(h, in, 32, out, &ol));
    STALE(F->C_DecryptUpdate(h, in, 16, out, &ol));
    STALE(F->C_DecryptFinal(h, out, &ol));
    STALE(F->C_Sign(h, in, 8, out, &ol));
    STALE(F->C_SignUpdate(h, in, 8));
    STALE(F->C_SignFinal(h, out, &ol));
    STALE(F->C_Verify(h, in, 8, out, 32));
    STALE(F->C_VerifyUpdate(h, in, 8));
    STALE(F->C_VerifyFinal(h, out, 32));
    STALE(F->C_Digest(h, in, 3, out, &ol));
    STALE(F->C_DigestUpdate(h, in, 3));
    STALE(F->C_DigestFinal(h, out, &ol));
    /* Paths under the module lock (hash map lookup). */
    STALE(F->C_DigestKey(h, aes));
    STALE(F->C_DigestInit(h, &sha));
    STALE(F->C_SignInit(h, &hm, hmac));
    STALE(F->C_EncryptInit(h, &gcm, aes));
    STALE(F->C_DecryptInit(h, &gcm, aes));
    STALE(F->C_GetSessionInfo(h, &si));
    STALE(F->C_GetOperationState(h, NULL, &ol));
    STALE(F->C_SessionCancel(h, CKF_DIGEST | CKF_SIGN | CKF_ENCRYPT));
    STALE(F->C_CloseSession(h)); /* last: were it accepted, B would be gone */
#undef STALE
    return 0;
}

/* Catches a lock-free lookup that trusts the index alone (or checks the handle before taking
 * its reference) and thereby lets a closed handle act on the session reusing its struct, and
 * forged handles (same index, other random bits; 0; > 31 bits) being accepted. */
static void test_stale_handles_after_reuse(void **state)
{
    (void)state;
    setup_env(NULL, NULL);
    CK_SESSION_HANDLE k;
    CK_OBJECT_HANDLE aes, hmac;
    assert_ok(h_open(g_slot, 1, &k));
    make_keys(k, &aes, &hmac);
    compute_references(k, aes);
    int reused = 0, same_handle = 0;
    for (int i = 0; i < 300; i++) {
        CK_SESSION_HANDLE a, b;
        CK_MECHANISM sha = { CKM_SHA256, NULL, 0 }, hm = { CKM_SHA256_HMAC, NULL, 0 };
        CK_BYTE iv[12];
        fixed_iv(iv);
        CK_GCM_PARAMS gp = { iv, 12, 96, NULL, 0, 128 };
        CK_MECHANISM gcm = { CKM_AES_GCM, &gp, sizeof gp };
        assert_ok(h_open(g_slot, 0, &a));
        assert_ok(F->C_DigestInit(a, &sha)); /* A dies with an operation active */
        assert_ok(F->C_CloseSession(a));
        assert_ok(h_open(g_slot, 0, &b));
        reused += (a & IDX_MASK) == (b & IDX_MASK);
        if (a == b) {
            same_handle++; /* the handle itself came back: test_reopened_index_new_handle */
            assert_ok(F->C_CloseSession(b));
            continue;
        }
        /* B has a digest, an HMAC and a GCM encryption in progress. */
        assert_ok(F->C_DigestInit(b, &sha));
        assert_ok(F->C_DigestUpdate(b, (CK_BYTE_PTR) "abc", 3));
        assert_ok(F->C_SignInit(b, &hm, hmac));
        assert_ok(F->C_SignUpdate(b, (CK_BYTE_PTR)HMAC_MSG, 3));
        assert_ok(F->C_EncryptInit(b, &gcm, aes));
        const char *bad = NULL;
        CK_RV badrv = CKR_OK;
        if (stale_calls(a, aes, hmac, &bad, &badrv)) {
            print_error("iteration %d: stale handle 0x%lx (B 0x%lx): %s returned %s\n", i,
                        (unsigned long)a, (unsigned long)b, bad, h_rv(badrv));
            fail();
        }
        /* Forged handles: B's index with other random bits, no random bits, all random bits,
         * bits above 31, and the special values. */
        CK_SESSION_HANDLE forged[] = {
            b ^ (1UL << 20), b ^ (1UL << 25), b ^ (1UL << 30), b & IDX_MASK,
            (b & IDX_MASK) | 0x7ff00000UL, b | 0x80000000UL,
            (CK_SESSION_HANDLE)((unsigned long long)b + 0x100000000ULL),
            (CK_SESSION_HANDLE)0xffffffffUL, (CK_SESSION_HANDLE)0, ~(CK_SESSION_HANDLE)0,
            b | ((CK_SESSION_HANDLE)1 << (sizeof(CK_ULONG) * 8 - 1)),
        };
        for (size_t f = 0; f < N(forged); f++) {
            if (forged[f] == b || forged[f] == k)
                continue;
            if (stale_calls(forged[f], aes, hmac, &bad, &badrv)) {
                print_error("iteration %d: forged handle 0x%lx (B 0x%lx): %s returned %s\n", i,
                            (unsigned long)forged[f], (unsigned long)b, bad, h_rv(badrv));
                fail();
            }
        }
        /* B's operations were neither ended nor fed by any of that. */
        CK_BYTE d[32], mac[32], ct[80];
        CK_ULONG dl = sizeof d, ml = sizeof mac, cl = sizeof ct;
        assert_ok(F->C_DigestUpdate(b, (CK_BYTE_PTR) "def", 3));
        assert_ok(F->C_DigestFinal(b, d, &dl));
        assert_memory_equal(d, g_sha_exp, 32);
        assert_ok(F->C_SignUpdate(b, (CK_BYTE_PTR)HMAC_MSG + 3, sizeof HMAC_MSG - 3));
        assert_ok(F->C_SignFinal(b, mac, &ml));
        assert_memory_equal(mac, HMAC_EXP, 32);
        assert_ok(F->C_Encrypt(b, (CK_BYTE_PTR)GCM_MSG, sizeof GCM_MSG, ct, &cl));
        assert_int_equal(cl, sizeof g_gcm_ct);
        assert_memory_equal(ct, g_gcm_ct, cl);
        assert_int_equal(h_state(b), CKS_RO_PUBLIC_SESSION);
        assert_ok(F->C_CloseSession(b));
    }
    /* The closed index was really handed out again (else nothing above was tested). */
    assert_true(reused > 250);
    if (same_handle)
        print_message("note: %d of 300 reopened sessions got the closed session's handle back\n",
                      same_handle);
    teardown_env();
}

/* Catches the handle's random bits being drawn afresh without excluding the previous value:
 * 11 bits repeat the closed session's handle once per ~2047 reuses of an index, and a stale
 * handle then addresses the new session (open A, close A, open B must give B != A). */
static void test_reopened_index_new_handle(void **state)
{
    (void)state;
    setup_env(NULL, NULL);
    CK_SESSION_HANDLE prev = CK_INVALID_HANDLE, h;
    int same = 0, first_same = -1, reused = 0;
    const int rounds = 20000;
    for (int i = 0; i < rounds; i++) {
        assert_ok(h_open(g_slot, 0, &h));
        if (prev != CK_INVALID_HANDLE) {
            reused += (h & IDX_MASK) == (prev & IDX_MASK);
            if (h == prev && same++ == 0)
                first_same = i;
        }
        assert_ok(F->C_CloseSession(h));
        prev = h;
    }
    assert_true(reused > rounds / 2);
    if (same) {
        print_error("%d of %d reopened sessions got the just-closed session's handle back "
                    "(first at round %d, handle 0x%lx): a stale handle addresses the new "
                    "session\n", same, rounds, first_same, (unsigned long)prev);
        fail();
    }
    teardown_env();
}

/* ---- 2. close while in use ---------------------------------------------------------------- */

static CK_SESSION_HANDLE g_victim;
static CK_OBJECT_HANDLE g_aes, g_hmac;
static atomic_int g_closed;
static atomic_long g_iter, g_seen[5]; /* OK, HANDLE_INVALID, CLOSED, NOT_INITIALIZED, after */
static atomic_long g_post_close_bad; /* per round: calls begun after the close that got through */
static char g_post_close_what[160];

static void victim_rv(const char *what, CK_RV rv, int closed_before)
{
    switch (rv) {
    case CKR_OK: atomic_fetch_add(&g_seen[0], 1); break;
    case CKR_SESSION_HANDLE_INVALID: atomic_fetch_add(&g_seen[1], 1); break;
    case CKR_SESSION_CLOSED: atomic_fetch_add(&g_seen[2], 1); break;
    case CKR_OPERATION_NOT_INITIALIZED: atomic_fetch_add(&g_seen[3], 1); break;
    default: TFAIL(what, rv); return;
    }
    /* A call begun after C_CloseSession returned must see the session gone. */
    if (closed_before) {
        atomic_fetch_add(&g_seen[4], 1);
        if (rv != CKR_SESSION_HANDLE_INVALID && rv != CKR_SESSION_CLOSED &&
            atomic_fetch_add(&g_post_close_bad, 1) == 0) /* only this thread writes it */
            snprintf(g_post_close_what, sizeof g_post_close_what, "%s -> %s", what, h_rv(rv));
    }
}

#define VICTIM(call)                                                                           \
    do {                                                                                       \
        int c__ = atomic_load(&g_closed);                                                      \
        victim_rv(#call, (rv = (call)), c__);                                                  \
    } while (0)

static void *victim_worker(void *arg)
{
    (void)arg;
    CK_BYTE iv[12];
    fixed_iv(iv);
    CK_GCM_PARAMS gp = { iv, 12, 96, NULL, 0, 128 };
    CK_MECHANISM gcm = { CKM_AES_GCM, &gp, sizeof gp }, hm = { CKM_SHA256_HMAC, NULL, 0 };
    CK_MECHANISM sha = { CKM_SHA256, NULL, 0 };
    CK_SESSION_HANDLE s = g_victim;
    for (long i = 0; !atomic_load(&g_stop); i++) {
        CK_BYTE out[80];
        CK_ULONG ol = sizeof out;
        CK_RV rv;
        switch (i % 3) {
        case 0:
            VICTIM(F->C_EncryptInit(s, &gcm, g_aes));
            VICTIM(F->C_Encrypt(s, (CK_BYTE_PTR)GCM_MSG, sizeof GCM_MSG, out, &ol));
            if (rv == CKR_OK && (ol != sizeof g_gcm_ct || memcmp(out, g_gcm_ct, ol)))
                TFAIL("C_Encrypt output", RV_MISMATCH);
            break;
        case 1:
            VICTIM(F->C_SignInit(s, &hm, g_hmac));
            VICTIM(F->C_Sign(s, (CK_BYTE_PTR)HMAC_MSG, sizeof HMAC_MSG, out, &ol));
            if (rv == CKR_OK && (ol != 32 || memcmp(out, HMAC_EXP, 32)))
                TFAIL("C_Sign output", RV_MISMATCH);
            break;
        default:
            VICTIM(F->C_DigestInit(s, &sha));
            VICTIM(F->C_DigestUpdate(s, (CK_BYTE_PTR) "abc", 3));
            VICTIM(F->C_DigestUpdate(s, (CK_BYTE_PTR) "def", 3));
            VICTIM(F->C_DigestFinal(s, out, &ol));
            if (rv == CKR_OK && (ol != 32 || memcmp(out, g_sha_exp, 32)))
                TFAIL("C_DigestFinal output", RV_MISMATCH);
            break;
        }
        atomic_fetch_add(&g_iter, 1);
    }
    return NULL;
}

static void wait_iter(long target)
{
    double end = now_s() + 10;
    while (atomic_load(&g_iter) < target && now_s() < end)
        usleep(50);
}

static void check_fresh_session(CK_OBJECT_HANDLE aes, CK_OBJECT_HANDLE hmac)
{
    CK_SESSION_HANDLE n;
    assert_ok(h_open(g_slot, 0, &n));
    assert_int_equal(h_state(n), CKS_RO_PUBLIC_SESSION);
    assert_ok(gcm_roundtrip(n, aes));
    assert_ok(hmac_check(n, hmac));
    assert_ok(digest_check(n));
    assert_ok(F->C_CloseSession(n));
}

static void print_seen(const char *name)
{
    print_message("%s: results seen by the racing thread: OK %ld, SESSION_HANDLE_INVALID %ld, "
                  "SESSION_CLOSED %ld, OPERATION_NOT_INITIALIZED %ld (%ld calls begun after "
                  "the close returned)\n", name, atomic_load(&g_seen[0]),
                  atomic_load(&g_seen[1]), atomic_load(&g_seen[2]), atomic_load(&g_seen[3]),
                  atomic_load(&g_seen[4]));
}

/* Catches a close that frees or resets the session under a thread that holds a reference
 * (crash, TSan report, garbage output, odd error codes), a handle that still works after
 * C_CloseSession returned, and a session table left unusable by the race. */
static void test_close_while_in_use(void **state)
{
    (void)state;
    setup_env(NULL, NULL);
    reset_fail();
    for (int i = 0; i < 5; i++)
        atomic_store(&g_seen[i], 0);
    CK_SESSION_HANDLE k;
    assert_ok(h_open(g_slot, 1, &k));
    make_keys(k, &g_aes, &g_hmac);
    compute_references(k, g_aes);
    double deadline = now_s() + 3.0;
    int rounds = 0, collisions = 0;
    for (; rounds < 50 && (rounds < 10 || now_s() < deadline); rounds++) {
        atomic_store(&g_post_close_bad, 0);
        assert_ok(h_open(g_slot, 0, &g_victim));
        atomic_store(&g_stop, 0);
        atomic_store(&g_closed, 0);
        atomic_store(&g_iter, 0);
        pthread_t t;
        assert_int_equal(pthread_create(&t, NULL, victim_worker, NULL), 0);
        wait_iter(rounds % 7);
        usleep((useconds_t)(rand() % 400));
        assert_ok(F->C_CloseSession(g_victim));
        atomic_store(&g_closed, 1);
        /* A new session at once (most likely in the closed one's struct) with a digest in
         * progress, while the thread still hammers the closed handle. */
        CK_SESSION_HANDLE n;
        CK_MECHANISM sha = { CKM_SHA256, NULL, 0 };
        assert_ok(h_open(g_slot, 0, &n));
        int collision = n == g_victim; /* test_reopened_index_new_handle's bug */
        assert_ok(F->C_DigestInit(n, &sha));
        assert_ok(F->C_DigestUpdate(n, (CK_BYTE_PTR) "abc", 3));
        wait_iter(atomic_load(&g_iter) + 10);
        atomic_store(&g_stop, 1);
        pthread_join(t, NULL);
        if (collision) {
            collisions++;
        } else {
            if (atomic_load(&g_post_close_bad)) {
                print_error("round %d: %ld call(s) begun after C_CloseSession returned got "
                            "through, first: %s\n", rounds, atomic_load(&g_post_close_bad),
                            g_post_close_what);
                fail();
            }
            CK_BYTE d[32];
            CK_ULONG dl = sizeof d;
            assert_ok(F->C_DigestUpdate(n, (CK_BYTE_PTR) "def", 3));
            assert_ok(F->C_DigestFinal(n, d, &dl));
            assert_memory_equal(d, g_sha_exp, 32); /* the racing thread never fed it */
            assert_rv(F->C_CloseSession(g_victim), CKR_SESSION_HANDLE_INVALID);
        }
        assert_ok(F->C_CloseSession(n));
        check_fresh_session(g_aes, g_hmac);
    }
    if (collisions)
        print_message("note: %d round(s) reopened the closed handle itself (not checked)\n",
                      collisions);
    assert_no_thread_failure();
    print_seen("C_CloseSession");
    assert_true(atomic_load(&g_seen[4]) > 0);
    print_message("%d rounds\n", rounds);
    teardown_env();
}

/* Catches C_CloseAllSessions (which closes every session, the key owner included, in one
 * exclusive section) racing lock-free users the same way. */
static void test_close_all_while_in_use(void **state)
{
    (void)state;
    setup_env(NULL, NULL);
    reset_fail();
    for (int i = 0; i < 5; i++)
        atomic_store(&g_seen[i], 0);
    CK_SESSION_HANDLE k;
    double deadline = now_s() + 3.0;
    int rounds = 0;
    for (; rounds < 50 && (rounds < 10 || now_s() < deadline); rounds++) {
        atomic_store(&g_post_close_bad, 0);
        assert_ok(h_open(g_slot, 1, &k));
        make_keys(k, &g_aes, &g_hmac);
        if (rounds == 0)
            compute_references(k, g_aes);
        assert_ok(h_open(g_slot, 0, &g_victim));
        atomic_store(&g_stop, 0);
        atomic_store(&g_closed, 0);
        atomic_store(&g_iter, 0);
        pthread_t t;
        assert_int_equal(pthread_create(&t, NULL, victim_worker, NULL), 0);
        wait_iter(rounds % 7);
        usleep((useconds_t)(rand() % 400));
        assert_ok(F->C_CloseAllSessions(g_slot));
        atomic_store(&g_closed, 1);
        wait_iter(atomic_load(&g_iter) + 10);
        atomic_store(&g_stop, 1);
        pthread_join(t, NULL);
        if (atomic_load(&g_post_close_bad)) {
            print_error("round %d: %ld call(s) begun after C_CloseAllSessions returned got "
                        "through, first: %s\n", rounds, atomic_load(&g_post_close_bad),
                        g_post_close_what);
            fail();
        }
        assert_rv(F->C_CloseSession(k), CKR_SESSION_HANDLE_INVALID);
        assert_rv(h_state(g_victim), (CK_STATE)-1);
        /* The keys went with their session; new ones in a new session work. */
        CK_SESSION_HANDLE k2;
        CK_OBJECT_HANDLE aes2, hmac2;
        assert_ok(h_open(g_slot, 1, &k2));
        make_keys(k2, &aes2, &hmac2);
        check_fresh_session(aes2, hmac2);
        assert_ok(F->C_CloseSession(k2));
    }
    assert_no_thread_failure();
    print_seen("C_CloseAllSessions");
    assert_true(atomic_load(&g_seen[4]) > 0);
    print_message("%d rounds\n", rounds);
    teardown_env();
}

/* ---- 2b. a closed session's struct is not reused while a thread still holds it ----------- */

#define BIG (64 * 1024)
static CK_BYTE g_big[BIG];
static atomic_long g_reuse_bad;
static char g_reuse_what[160];
static pthread_mutex_t g_reuse_mu = PTHREAD_MUTEX_INITIALIZER;

static void *feeder(void *arg)
{
    (void)arg;
    CK_SESSION_HANDLE s = g_victim;
    while (!atomic_load(&g_stop)) {
        int closed = atomic_load(&g_closed);
        CK_RV rv = F->C_DigestUpdate(s, g_big, BIG);
        int ok = rv == CKR_SESSION_HANDLE_INVALID || rv == CKR_SESSION_CLOSED ||
                 (!closed && (rv == CKR_OK || rv == CKR_OPERATION_NOT_INITIALIZED));
        if (!ok && atomic_fetch_add(&g_reuse_bad, 1) == 0) {
            pthread_mutex_lock(&g_reuse_mu);
            snprintf(g_reuse_what, sizeof g_reuse_what, "C_DigestUpdate %s the close -> %s",
                     closed ? "begun after" : "racing", h_rv(rv));
            pthread_mutex_unlock(&g_reuse_mu);
        }
        atomic_fetch_add(&g_iter, 1);
    }
    return NULL;
}

/* Catches a closed session's struct being handed to C_OpenSession while a thread that found
 * it before the close still holds its reference (here: waiting for the session mutex behind
 * another thread's long C_DigestUpdate): that thread would then feed the new session's digest
 * (wrong digest below) or read its operations while they are reset (TSan). */
static void test_reuse_waits_for_references(void **state)
{
    (void)state;
    setup_env(NULL, NULL);
    memset(g_big, 0x5a, sizeof g_big);
    atomic_store(&g_reuse_bad, 0);
    CK_MECHANISM sha = { CKM_SHA256, NULL, 0 };
    CK_SESSION_HANDLE k;
    CK_OBJECT_HANDLE aes, hmac;
    assert_ok(h_open(g_slot, 1, &k));
    make_keys(k, &aes, &hmac);
    compute_references(k, aes);
    int rounds = 0, collisions = 0, same_index = 0;
    double deadline = now_s() + 2.0;
    for (; rounds < 60 && (rounds < 10 || now_s() < deadline); rounds++) {
        assert_ok(h_open(g_slot, 0, &g_victim));
        assert_ok(F->C_DigestInit(g_victim, &sha));
        atomic_store(&g_stop, 0);
        atomic_store(&g_closed, 0);
        atomic_store(&g_iter, 0);
        pthread_t t[2];
        for (int i = 0; i < 2; i++)
            assert_int_equal(pthread_create(&t[i], NULL, feeder, NULL), 0);
        wait_iter(2 + rounds % 5);
        assert_ok(F->C_CloseSession(g_victim));
        atomic_store(&g_closed, 1);
        CK_SESSION_HANDLE n;
        assert_ok(h_open(g_slot, 0, &n));
        int collision = n == g_victim;
        same_index += (n & IDX_MASK) == (g_victim & IDX_MASK);
        assert_ok(F->C_DigestInit(n, &sha));
        assert_ok(F->C_DigestUpdate(n, (CK_BYTE_PTR) "abc", 3));
        wait_iter(atomic_load(&g_iter) + 4);
        atomic_store(&g_stop, 1);
        for (int i = 0; i < 2; i++)
            pthread_join(t[i], NULL);
        if (collision) {
            collisions++; /* test_reopened_index_new_handle's bug: not checked here */
            atomic_store(&g_reuse_bad, 0);
        } else {
            if (atomic_load(&g_reuse_bad)) {
                print_error("round %d: %s\n", rounds, g_reuse_what);
                fail();
            }
            CK_BYTE d[32];
            CK_ULONG dl = sizeof d;
            assert_ok(F->C_DigestUpdate(n, (CK_BYTE_PTR) "def", 3));
            assert_ok(F->C_DigestFinal(n, d, &dl));
            if (memcmp(d, g_sha_exp, 32)) {
                print_error("round %d: the new session's digest was fed by a thread still "
                            "working on the closed session (handles 0x%lx -> 0x%lx)\n",
                            rounds, (unsigned long)g_victim, (unsigned long)n);
                fail();
            }
        }
        assert_ok(F->C_CloseSession(n));
    }
    print_message("%d rounds, %d reopened at the closed index, %d handle collisions\n", rounds,
                  same_index, collisions);
    teardown_env();
}

/* ---- 3. churn ----------------------------------------------------------------------------- */

static double g_deadline;
static atomic_long g_churn_opens, g_crypto_rounds, g_stale_hits;

static void *churn_worker(void *arg)
{
    (void)arg;
    CK_MECHANISM sha = { CKM_SHA256, NULL, 0 }, hm = { CKM_SHA256_HMAC, NULL, 0 };
    while (now_s() < g_deadline && !atomic_load(&g_stop)) {
        CK_SESSION_HANDLE h;
        CK_RV rv = h_open(g_slot, 0, &h);
        if (rv != CKR_OK) {
            TFAIL("C_OpenSession (churn)", rv);
            break;
        }
        atomic_fetch_add(&g_churn_opens, 1);
        /* Close with operations active, sometimes. */
        long n = atomic_load(&g_churn_opens);
        if (n % 2)
            TEXPECT(F->C_DigestInit(h, &sha), CKR_OK);
        if (n % 3 == 0)
            TEXPECT(F->C_SignInit(h, &hm, g_hmac), CKR_OK);
        TEXPECT(F->C_CloseSession(h), CKR_OK);
        /* The closed handle, while the other churner may be reusing its struct. Only the same
         * handle coming back (see test_reopened_index_new_handle) could make this succeed. */
        CK_BYTE out[64];
        CK_ULONG ol = sizeof out;
        rv = F->C_DigestUpdate(h, (CK_BYTE_PTR) "x", 1);
        if (rv == CKR_SESSION_HANDLE_INVALID)
            rv = F->C_Sign(h, (CK_BYTE_PTR)HMAC_MSG, sizeof HMAC_MSG, out, &ol);
        if (rv != CKR_SESSION_HANDLE_INVALID)
            atomic_fetch_add(&g_stale_hits, 1);
    }
    return NULL;
}

static void *crypto_worker(void *arg)
{
    CK_SESSION_HANDLE s = (CK_SESSION_HANDLE)(uintptr_t)arg;
    CK_MECHANISM sha = { CKM_SHA256, NULL, 0 };
    long r = 0;
    while (now_s() < g_deadline && !atomic_load(&g_stop)) {
        /* A digest spans the other work, so its state lives across many churn closes. */
        TEXPECT(F->C_DigestInit(s, &sha), CKR_OK);
        TEXPECT(F->C_DigestUpdate(s, (CK_BYTE_PTR) "abc", 3), CKR_OK);
        TEXPECT(hmac_check(s, g_hmac), CKR_OK);
        TEXPECT(gcm_roundtrip(s, g_aes), CKR_OK);
        CK_SESSION_INFO si;
        TEXPECT(F->C_GetSessionInfo(s, &si), CKR_OK);
        TEXPECT(F->C_DigestUpdate(s, (CK_BYTE_PTR) "def", 3), CKR_OK);
        CK_BYTE d[32];
        CK_ULONG dl = sizeof d;
        TEXPECT(F->C_DigestFinal(s, d, &dl), CKR_OK);
        if (dl != 32 || memcmp(d, g_sha_exp, 32))
            TFAIL("digest across churn", RV_MISMATCH);
        r++;
        if (atomic_load(&g_fail))
            break;
    }
    atomic_fetch_add(&g_crypto_rounds, r);
    return NULL;
}

/* Catches index reuse or table growth (chunk allocation, free list) disturbing sessions that
 * stay open: wrong HMAC/GCM/digest outputs, spurious SESSION_HANDLE_INVALID, TSan reports. */
static void test_churn_next_to_crypto(void **state)
{
    (void)state;
    setup_env(NULL, NULL);
    reset_fail();
    atomic_store(&g_stop, 0);
    atomic_store(&g_churn_opens, 0);
    atomic_store(&g_crypto_rounds, 0);
    atomic_store(&g_stale_hits, 0);
    CK_SESSION_HANDLE k, c[2];
    assert_ok(h_open(g_slot, 1, &k));
    make_keys(k, &g_aes, &g_hmac);
    compute_references(k, g_aes);
    for (int i = 0; i < 2; i++)
        assert_ok(h_open(g_slot, 0, &c[i]));
    g_deadline = now_s() + 1.5;
    pthread_t t[4];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&t[i], NULL, churn_worker, NULL), 0);
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&t[2 + i], NULL, crypto_worker,
                                        (void *)(uintptr_t)c[i]), 0);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    assert_no_thread_failure();
    print_message("churn: %ld opens/closes, %ld crypto rounds, %ld stale-handle calls not "
                  "refused (handle collisions)\n", atomic_load(&g_churn_opens),
                  atomic_load(&g_crypto_rounds), atomic_load(&g_stale_hits));
    assert_true(atomic_load(&g_churn_opens) > 100);
    assert_true(atomic_load(&g_crypto_rounds) > 10);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(h_state(c[i]), CKS_RO_PUBLIC_SESSION);
        assert_ok(F->C_CloseSession(c[i]));
    }
    check_fresh_session(g_aes, g_hmac);
    teardown_env();
}

/* ---- 4. shared-lock inits against writers ------------------------------------------------- */

static CK_OBJECT_HANDLE g_tokkey;
static atomic_int g_destroyed;
static atomic_long g_gcm_ok, g_writes;

static void *gcm_token_worker(void *arg)
{
    CK_SESSION_HANDLE s = (CK_SESSION_HANDLE)(uintptr_t)arg;
    long after = 0;
    for (unsigned i = 0; !atomic_load(&g_stop) && after < 20; i++) {
        int gone = atomic_load(&g_destroyed);
        CK_BYTE iv[12] = { (CK_BYTE)i, (CK_BYTE)(i >> 8), (CK_BYTE)(i >> 16), 7 };
        CK_GCM_PARAMS gp = { iv, 12, 96, (CK_BYTE_PTR) "aad", 3, 128 };
        CK_MECHANISM m = { CKM_AES_GCM, &gp, sizeof gp };
        CK_BYTE msg[37], ct[80], pt[80];
        CK_ULONG cl = sizeof ct, pl = sizeof pt;
        memset(msg, (int)i, sizeof msg);
        CK_RV rv = F->C_EncryptInit(s, &m, g_tokkey);
        if (gone) {
            /* Begun after C_DestroyObject returned: the key is gone for good. */
            if (rv != CKR_KEY_HANDLE_INVALID)
                TFAIL("C_EncryptInit after C_DestroyObject", rv);
            if (rv == CKR_OK)
                (void)F->C_Encrypt(s, msg, sizeof msg, ct, &cl); /* ends it */
            after++;
            continue;
        }
        if (rv == CKR_KEY_HANDLE_INVALID)
            continue; /* raced the destroy */
        if (rv != CKR_OK) {
            TFAIL("C_EncryptInit (token key)", rv);
            break;
        }
        /* Once initialised, the operation needs the key object no more. */
        if ((rv = F->C_Encrypt(s, msg, sizeof msg, ct, &cl)) != CKR_OK) {
            TFAIL("C_Encrypt (token key)", rv);
            break;
        }
        rv = F->C_DecryptInit(s, &m, g_tokkey);
        if (rv == CKR_KEY_HANDLE_INVALID && atomic_load(&g_destroyed))
            continue;
        if (rv != CKR_OK || (rv = F->C_Decrypt(s, ct, cl, pt, &pl)) != CKR_OK) {
            TFAIL("C_DecryptInit/C_Decrypt (token key)", rv);
            break;
        }
        if (pl != sizeof msg || memcmp(pt, msg, pl)) {
            TFAIL("GCM round trip (token key)", RV_MISMATCH);
            break;
        }
        atomic_fetch_add(&g_gcm_ok, 1);
    }
    return NULL;
}

static void *object_writer(void *arg)
{
    CK_SESSION_HANDLE s = (CK_SESSION_HANDLE)(uintptr_t)arg;
    for (unsigned i = 0; now_s() < g_deadline && !atomic_load(&g_fail); i++) {
        char label[32];
        snprintf(label, sizeof label, "other-%u", i);
        CK_OBJECT_HANDLE o;
        CK_RV rv = h_create_data(s, CK_TRUE, i % 2 ? CK_TRUE : CK_FALSE, label, "v", 1, &o);
        if (rv != CKR_OK) {
            TFAIL("C_CreateObject (token data)", rv);
            break;
        }
        snprintf(label, sizeof label, "gcm-key-%u", i);
        CK_ATTRIBUTE t = { CKA_LABEL, label, strlen(label) };
        TEXPECT(F->C_SetAttributeValue(s, g_tokkey, &t, 1), CKR_OK);
        TEXPECT(F->C_DestroyObject(s, o), CKR_OK);
        atomic_fetch_add(&g_writes, 1);
        usleep(200);
    }
    /* At the end the key itself goes while the GCM threads still run. */
    TEXPECT(F->C_DestroyObject(s, g_tokkey), CKR_OK);
    atomic_store(&g_destroyed, 1);
    return NULL;
}

/* Catches a shared-lock init that uses a token key whose cache a writer is dropping or
 * refilling (wrong key bytes: round trip fails; freed attrs: TSan/crash), a stale cache kept
 * after C_SetAttributeValue, lost exclusive fallback, and a destroyed key still usable. */
static void test_shared_init_vs_writers(void **state)
{
    (void)state;
    setup_env(NULL, NULL);
    reset_fail();
    atomic_store(&g_stop, 0);
    atomic_store(&g_destroyed, 0);
    atomic_store(&g_gcm_ok, 0);
    atomic_store(&g_writes, 0);
    CK_SESSION_HANDLE k, g[2], w;
    assert_ok(h_open_login(g_slot, 1, CKU_USER, &k));
    assert_ok(make_secret(k, CKK_AES, AES_KEY, sizeof AES_KEY, CK_TRUE, "gcm-key", &g_tokkey));
    for (int i = 0; i < 2; i++)
        assert_ok(h_open(g_slot, 0, &g[i]));
    assert_ok(h_open(g_slot, 1, &w));
    g_deadline = now_s() + 1.5;
    pthread_t t[3];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&t[i], NULL, gcm_token_worker, (void *)(uintptr_t)g[i]),
                         0);
    assert_int_equal(pthread_create(&t[2], NULL, object_writer, (void *)(uintptr_t)w), 0);
    pthread_join(t[2], NULL);
    /* The workers stop by themselves after 20 inits begun after the key was destroyed. */
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    assert_no_thread_failure();
    print_message("shared-lock GCM: %ld round trips, %ld writer rounds\n",
                  atomic_load(&g_gcm_ok), atomic_load(&g_writes));
    assert_true(atomic_load(&g_gcm_ok) > 20);
    assert_true(atomic_load(&g_writes) > 5);
    /* The module's documented answer for a destroyed key (crypto.c key_for_use, spec 5.8). */
    CK_BYTE iv[12] = { 0 };
    CK_GCM_PARAMS gp = { iv, 12, 96, NULL, 0, 128 };
    CK_MECHANISM m = { CKM_AES_GCM, &gp, sizeof gp };
    assert_rv(F->C_EncryptInit(g[0], &m, g_tokkey), CKR_KEY_HANDLE_INVALID);
    assert_rv(F->C_EncryptInit(k, &m, g_tokkey), CKR_KEY_HANDLE_INVALID);
    assert_rv(F->C_DecryptInit(g[1], &m, g_tokkey), CKR_KEY_HANDLE_INVALID);
    teardown_env();
}

/* ---- 4b. another process destroys the key ------------------------------------------------ */

static CK_OBJECT_HANDLE g_xkey;
static _Atomic double g_child_done; /* when the child that destroyed the key had exited */
static atomic_long g_x_ok, g_x_gone;

static void *xproc_worker(void *arg)
{
    CK_SESSION_HANDLE s = (CK_SESSION_HANDLE)(uintptr_t)arg;
    CK_MECHANISM m = { CKM_SHA256_HMAC, NULL, 0 };
    for (;;) {
        double t0 = now_s(), done = atomic_load(&g_child_done);
        if (done > 0 && t0 > done + 0.3)
            break;
        CK_BYTE mac[32];
        CK_ULONG ml = sizeof mac;
        CK_RV rv = F->C_SignInit(s, &m, g_xkey);
        if (rv == CKR_KEY_HANDLE_INVALID) {
            atomic_fetch_add(&g_x_gone, 1);
            continue;
        }
        if (rv != CKR_OK) {
            TFAIL("C_SignInit (other process)", rv);
            break;
        }
        if ((rv = F->C_Sign(s, (CK_BYTE_PTR)HMAC_MSG, sizeof HMAC_MSG, mac, &ml)) != CKR_OK) {
            TFAIL("C_Sign (other process)", rv);
            break;
        }
        if (memcmp(mac, HMAC_EXP, 32)) {
            TFAIL("C_Sign output (other process)", RV_MISMATCH);
            break;
        }
        /* The module checks the store for other processes' changes at least every
         * millisecond on this path; 50 ms leaves room for a coarse clock and scheduling. */
        if (done > 0 && t0 > done + 0.05) {
            TFAIL("C_SignInit with a key another process destroyed 50 ms earlier", rv);
            break;
        }
        atomic_fetch_add(&g_x_ok, 1);
    }
    return NULL;
}

static int child_destroy_key(CK_SLOT_ID slot, const char *label)
{
    CK_SESSION_HANDLE h;
    CHILD_RV(F->C_Initialize(NULL), CKR_OK);
    CHILD_RV(h_open_login(slot, 1, CKU_USER, &h), CKR_OK);
    CK_ATTRIBUTE t = { CKA_LABEL, (void *)label, strlen(label) };
    CK_OBJECT_HANDLE o[2];
    CK_ULONG n = 0;
    CHILD_RV(h_find(h, &t, 1, o, 2, &n), CKR_OK);
    CHILD_TRUE(n == 1);
    CHILD_RV(F->C_DestroyObject(h, o[0]), CKR_OK);
    CHILD_RV(F->C_Finalize(NULL), CKR_OK);
    return 0;
}

/* Catches the shared-lock init path trusting its cached copy of a token key for good (no
 * store check due, no exclusive fallback): a key destroyed by another process would then stay
 * usable here. The HMAC key has no GCM blocks, so nothing else forces the exclusive path. */
static void test_other_process_destroy_noticed(void **state)
{
    (void)state;
    setup_env(NULL, NULL);
    reset_fail();
    atomic_store(&g_child_done, 0.0);
    atomic_store(&g_x_ok, 0);
    atomic_store(&g_x_gone, 0);
    CK_SESSION_HANDLE k, s[2];
    assert_ok(h_open_login(g_slot, 1, CKU_USER, &k));
    assert_ok(make_secret(k, CKK_GENERIC_SECRET, HMAC_KEY, sizeof HMAC_KEY, CK_TRUE, "xproc-key",
                          &g_xkey));
    assert_ok(hmac_check(k, g_xkey)); /* cache filled */
    for (int i = 0; i < 2; i++)
        assert_ok(h_open(g_slot, 0, &s[i]));
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&t[i], NULL, xproc_worker, (void *)(uintptr_t)s[i]), 0);
    usleep(100000);
    char slot[32];
    snprintf(slot, sizeof slot, "%lu", (unsigned long)g_slot);
    int st = h_wait(h_run_self("destroy-key", slot, "xproc-key", NULL));
    atomic_store(&g_child_done, now_s());
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(st, 0);
    assert_no_thread_failure();
    print_message("other process: %ld signatures, %ld refusals after the destroy\n",
                  atomic_load(&g_x_ok), atomic_load(&g_x_gone));
    assert_true(atomic_load(&g_x_ok) > 10);
    assert_true(atomic_load(&g_x_gone) > 0);
    CK_MECHANISM m = { CKM_SHA256_HMAC, NULL, 0 };
    assert_rv(F->C_SignInit(s[0], &m, g_xkey), CKR_KEY_HANDLE_INVALID);
    assert_rv(F->C_SignInit(k, &m, g_xkey), CKR_KEY_HANDLE_INVALID);
    teardown_env();
}

/* ---- 5. GCM invocation accounting under threads ------------------------------------------- */

/* 6143 / 1024 = 5 invocations per reserved block, and the last block is cut to 3 by the limit,
 * so both the shared-lock path (4 of every 5 inits) and the truncated block are exercised. */
#define GCM_LIMIT 6143
static atomic_long g_gcm_count[2], g_exhausted;
static CK_OBJECT_HANDLE g_limkey;

static void *gcm_limit_worker(void *arg)
{
    int id = (int)(uintptr_t)arg;
    CK_SESSION_HANDLE s;
    CK_RV rv = h_open(g_slot, 0, &s);
    if (rv != CKR_OK) {
        TFAIL("C_OpenSession", rv);
        return NULL;
    }
    long ok = 0;
    for (unsigned i = 0; i < 2 * GCM_LIMIT + 10; i++) {
        CK_BYTE iv[12] = { (CK_BYTE)id, (CK_BYTE)i, (CK_BYTE)(i >> 8), (CK_BYTE)(i >> 16) };
        CK_GCM_PARAMS gp = { iv, 12, 96, NULL, 0, 128 };
        CK_MECHANISM m = { CKM_AES_GCM, &gp, sizeof gp };
        CK_BYTE ct[48];
        CK_ULONG cl = sizeof ct;
        rv = F->C_EncryptInit(s, &m, g_limkey);
        if (rv == CKR_KEY_EXHAUSTED) {
            atomic_fetch_add(&g_exhausted, 1);
            break;
        }
        if (rv != CKR_OK) {
            TFAIL("C_EncryptInit (limit)", rv);
            break;
        }
        if ((rv = F->C_Encrypt(s, (CK_BYTE_PTR)GCM_MSG, 16, ct, &cl)) != CKR_OK) {
            TFAIL("C_Encrypt (limit)", rv);
            break;
        }
        ok++;
    }
    /* Exhaustion is permanent: the next try fails the same way. */
    CK_BYTE iv[12] = { 9 };
    CK_GCM_PARAMS gp = { iv, 12, 96, NULL, 0, 128 };
    CK_MECHANISM m = { CKM_AES_GCM, &gp, sizeof gp };
    TEXPECT(F->C_EncryptInit(s, &m, g_limkey), CKR_KEY_EXHAUSTED);
    atomic_store(&g_gcm_count[id], ok);
    TEXPECT(F->C_CloseSession(s), CKR_OK);
    return NULL;
}

static long run_gcm_limit(const char *what)
{
    atomic_store(&g_gcm_count[0], 0);
    atomic_store(&g_gcm_count[1], 0);
    atomic_store(&g_exhausted, 0);
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&t[i], NULL, gcm_limit_worker, (void *)(uintptr_t)i), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    assert_no_thread_failure();
    long total = atomic_load(&g_gcm_count[0]) + atomic_load(&g_gcm_count[1]);
    print_message("GCM limit %d, %s: %ld + %ld = %ld encryptions\n", GCM_LIMIT, what,
                  atomic_load(&g_gcm_count[0]), atomic_load(&g_gcm_count[1]), total);
    assert_int_equal(atomic_load(&g_exhausted), 2);
    return total;
}

/* Catches a non-atomic invocation counter (total above the limit), a double-counted or
 * skipped block (total below it: one process, no restart, so no block may be lost), and the
 * shared path handing out numbers past its block. */
static void test_gcm_limit_under_threads(void **state)
{
    (void)state;
    char extra[64];
    snprintf(extra, sizeof extra, "[policy]\ngcm_limit = %d\n", GCM_LIMIT);
    setup_env(extra, NULL);
    reset_fail();
    CK_SESSION_HANDLE k;
    assert_ok(h_open_login(g_slot, 1, CKU_USER, &k));
    /* A token key: blocks reserved from the store. */
    assert_ok(make_secret(k, CKK_AES, AES_KEY, sizeof AES_KEY, CK_TRUE, "limit-token", &g_limkey));
    long total = run_gcm_limit("token key");
    assert_true(total <= GCM_LIMIT);
    assert_int_equal(total, GCM_LIMIT);
    /* A session key: blocks counted in memory. */
    assert_ok(make_secret(k, CKK_AES, AES_KEY, sizeof AES_KEY, CK_FALSE, "limit-session",
                          &g_limkey));
    total = run_gcm_limit("session key");
    assert_true(total <= GCM_LIMIT);
    assert_int_equal(total, GCM_LIMIT);
    /* Decryption with the exhausted key still works. */
    CK_BYTE iv[12] = { 1 }, ct[48], pt[48];
    CK_ULONG cl = sizeof ct, pl = sizeof pt;
    CK_GCM_PARAMS gp = { iv, 12, 96, NULL, 0, 128 };
    CK_MECHANISM m = { CKM_AES_GCM, &gp, sizeof gp };
    CK_OBJECT_HANDLE fresh;
    assert_ok(make_secret(k, CKK_AES, AES_KEY, sizeof AES_KEY, CK_FALSE, "fresh", &fresh));
    assert_ok(F->C_EncryptInit(k, &m, fresh));
    assert_ok(F->C_Encrypt(k, (CK_BYTE_PTR)GCM_MSG, 16, ct, &cl));
    assert_ok(F->C_DecryptInit(k, &m, g_limkey));
    assert_ok(F->C_Decrypt(k, ct, cl, pt, &pl));
    assert_memory_equal(pt, GCM_MSG, 16);
    teardown_env();
}

/* ---- 6. the application's mutex callbacks ------------------------------------------------- */

#define MU_LIVE 0x4c495645u
#define MU_DEAD 0x44454144u
struct app_mu {
    unsigned magic;
    pthread_mutex_t m;
    atomic_int held;
    atomic_long locks;
    struct app_mu *next; /* graveyard: destroyed mutexes are kept until the test ends */
};
static atomic_long cb_create, cb_destroy, cb_lock, cb_unlock, cb_bad;
static struct app_mu *g_grave, *g_first_mu; /* the first created: the module lock */
static pthread_mutex_t g_grave_mu = PTHREAD_MUTEX_INITIALIZER;

static CK_RV app_create(CK_VOID_PTR_PTR pp)
{
    if (!pp)
        return CKR_ARGUMENTS_BAD;
    struct app_mu *m = calloc(1, sizeof *m);
    if (!m)
        return CKR_HOST_MEMORY;
    pthread_mutex_init(&m->m, NULL);
    m->magic = MU_LIVE;
    *pp = m;
    if (atomic_fetch_add(&cb_create, 1) == 0)
        g_first_mu = m;
    return CKR_OK;
}

static CK_RV app_destroy(CK_VOID_PTR p)
{
    struct app_mu *m = p;
    if (!m || m->magic != MU_LIVE || atomic_load(&m->held)) {
        atomic_fetch_add(&cb_bad, 1);
        return CKR_MUTEX_BAD;
    }
    m->magic = MU_DEAD;
    pthread_mutex_destroy(&m->m);
    pthread_mutex_lock(&g_grave_mu);
    m->next = g_grave;
    g_grave = m;
    pthread_mutex_unlock(&g_grave_mu);
    atomic_fetch_add(&cb_destroy, 1);
    return CKR_OK;
}

static CK_RV app_lock(CK_VOID_PTR p)
{
    struct app_mu *m = p;
    if (!m || m->magic != MU_LIVE) {
        atomic_fetch_add(&cb_bad, 1);
        return CKR_MUTEX_BAD;
    }
    pthread_mutex_lock(&m->m);
    if (atomic_fetch_add(&m->held, 1) != 0)
        atomic_fetch_add(&cb_bad, 1);
    atomic_fetch_add(&m->locks, 1);
    atomic_fetch_add(&cb_lock, 1);
    return CKR_OK;
}

static CK_RV app_unlock(CK_VOID_PTR p)
{
    struct app_mu *m = p;
    if (!m || m->magic != MU_LIVE || atomic_fetch_sub(&m->held, 1) != 1) {
        atomic_fetch_add(&cb_bad, 1);
        return CKR_MUTEX_NOT_LOCKED;
    }
    atomic_fetch_add(&cb_unlock, 1);
    pthread_mutex_unlock(&m->m);
    return CKR_OK;
}

static void *app_mutex_worker(void *arg)
{
    CK_SESSION_HANDLE s = (CK_SESSION_HANDLE)(uintptr_t)arg;
    for (int i = 0; i < 150 && !atomic_load(&g_fail); i++) {
        TEXPECT(hmac_check(s, g_hmac), CKR_OK);
        TEXPECT(gcm_roundtrip(s, g_aes), CKR_OK);
        TEXPECT(digest_check(s), CKR_OK);
        if (i % 10 == 0) { /* sessions come and go too (exclusive module lock) */
            CK_SESSION_HANDLE t;
            TEXPECT(h_open(g_slot, 0, &t), CKR_OK);
            TEXPECT(F->C_CloseSession(t), CKR_OK);
        }
    }
    return NULL;
}

/* Catches the module lock or the session mutexes bypassing the application's callbacks when
 * CKF_OS_LOCKING_OK is not set, an unbalanced lock/unlock (e.g. a shared-lock path that
 * unlocks a mode it never took), a mutex used after DestroyMutex, or one never destroyed. */
static void test_app_mutex_callbacks(void **state)
{
    (void)state;
    reset_fail();
    atomic_store(&cb_create, 0);
    atomic_store(&cb_destroy, 0);
    atomic_store(&cb_lock, 0);
    atomic_store(&cb_unlock, 0);
    atomic_store(&cb_bad, 0);
    g_first_mu = NULL;
    CK_C_INITIALIZE_ARGS args = { app_create, app_destroy, app_lock, app_unlock, 0, NULL };
    setup_env(NULL, &args);
    assert_true(atomic_load(&cb_create) >= 1); /* the module lock */
    CK_SESSION_HANDLE k, s[2];
    assert_ok(h_open(g_slot, 1, &k));
    make_keys(k, &g_aes, &g_hmac);
    compute_references(k, g_aes);
    for (int i = 0; i < 2; i++)
        assert_ok(h_open(g_slot, 0, &s[i]));
    long created = atomic_load(&cb_create), locks = atomic_load(&cb_lock);
    assert_non_null(g_first_mu);
    long modlocks = atomic_load(&g_first_mu->locks);
    assert_true(created >= 4); /* module lock + one per session struct (k, s[0], s[1]) */
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&t[i], NULL, app_mutex_worker, (void *)(uintptr_t)s[i]),
                         0);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    assert_no_thread_failure();
    long during = atomic_load(&cb_lock) - locks;
    long mod_during = atomic_load(&g_first_mu->locks) - modlocks;
    /* Each worker round: at least 2 locks per init (shared try: module + session mutex) and
     * 1 per lock-free call (session mutex), ~ 15 calls, so thousands in all. */
    print_message("app mutexes: %ld created, %ld locks during the threaded phase, %ld of them "
                  "the module lock's\n", atomic_load(&cb_create), during, mod_during);
    assert_true(during >= 2 * 150 * 10);
    /* The module lock (created first, in C_Initialize) is the application's mutex in shared
     * mode too: each of the 4 inits per round takes it at least once. */
    assert_true(mod_during >= 2 * 150 * 4);
    assert_int_equal(atomic_load(&cb_lock), atomic_load(&cb_unlock)); /* all released */
    assert_int_equal(atomic_load(&cb_bad), 0);
    assert_ok(F->C_Finalize(NULL));
    assert_int_equal(atomic_load(&cb_destroy), atomic_load(&cb_create));
    assert_int_equal(atomic_load(&cb_lock), atomic_load(&cb_unlock));
    assert_int_equal(atomic_load(&cb_bad), 0);
    pthread_mutex_lock(&g_grave_mu);
    while (g_grave) {
        struct app_mu *m = g_grave;
        g_grave = m->next;
        free(m);
    }
    pthread_mutex_unlock(&g_grave_mu);
}

int main(int argc, char **argv)
{
    if (argc > 1) { /* a child started by h_run_self */
        h_load();
        if (argc == 4 && strcmp(argv[1], "destroy-key") == 0)
            return child_destroy_key(strtoul(argv[2], NULL, 10), argv[3]);
        fprintf(stderr, "bad child arguments\n");
        return 2;
    }
    h_load();
    srand((unsigned)time(NULL));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_stale_handles_after_reuse, td),
        cmocka_unit_test_teardown(test_reopened_index_new_handle, td),
        cmocka_unit_test_teardown(test_close_while_in_use, td),
        cmocka_unit_test_teardown(test_close_all_while_in_use, td),
        cmocka_unit_test_teardown(test_reuse_waits_for_references, td),
        cmocka_unit_test_teardown(test_churn_next_to_crypto, td),
        cmocka_unit_test_teardown(test_shared_init_vs_writers, td),
        cmocka_unit_test_teardown(test_other_process_destroy_noticed, td),
        cmocka_unit_test_teardown(test_gcm_limit_under_threads, td),
        cmocka_unit_test_teardown(test_app_mutex_callbacks, td),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
