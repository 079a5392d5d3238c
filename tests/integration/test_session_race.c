/* Session handles looked up without the module lock and type-stable session structs: stale and
 * forged handles, a closed handle coming back, closes (one session, all sessions) racing use,
 * struct reuse while a thread still holds it, and session churn next to long-lived work. The
 * shared-lock init, GCM accounting and mutex callback races are in test_shared_init.c. Every
 * thread checks its results and records the first failure; cmocka asserts run on the main
 * thread only. */
#include "race_util.h"

#define IDX_MASK 0xfffffUL /* session handle = (11 random bits << 20) | table index */

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

/* Opens g_victim and starts victim_worker hammering it; returns once the worker has run a
 * round-dependent number of iterations and a random few hundred microseconds more. */
static pthread_t start_victim(int round)
{
    atomic_store(&g_post_close_bad, 0);
    assert_ok(h_open(g_slot, 0, &g_victim));
    atomic_store(&g_stop, 0);
    atomic_store(&g_closed, 0);
    atomic_store(&g_iter, 0);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, victim_worker, NULL), 0);
    wait_iter(round % 7);
    usleep((useconds_t)(rand() % 400));
    return t;
}

/* Lets the worker run ten more iterations against the closed handle, then stops it. */
static void stop_victim(pthread_t t)
{
    wait_iter(atomic_load(&g_iter) + 10);
    atomic_store(&g_stop, 1);
    pthread_join(t, NULL);
}

/* Fails the test when a call begun after `what` returned got through. */
static void expect_no_late_success(int round, const char *what)
{
    if (atomic_load(&g_post_close_bad)) {
        print_error("round %d: %ld call(s) begun after %s returned got through, first: %s\n",
                    round, atomic_load(&g_post_close_bad), what, g_post_close_what);
        fail();
    }
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
        pthread_t t = start_victim(rounds);
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
        stop_victim(t);
        if (collision) {
            collisions++;
        } else {
            expect_no_late_success(rounds, "C_CloseSession");
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
        assert_ok(h_open(g_slot, 1, &k));
        make_keys(k, &g_aes, &g_hmac);
        if (rounds == 0)
            compute_references(k, g_aes);
        pthread_t t = start_victim(rounds);
        assert_ok(F->C_CloseAllSessions(g_slot));
        atomic_store(&g_closed, 1);
        stop_victim(t);
        expect_no_late_success(rounds, "C_CloseAllSessions");
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

int main(void)
{
    h_load();
    srand((unsigned)time(NULL));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_stale_handles_after_reuse, td),
        cmocka_unit_test_teardown(test_reopened_index_new_handle, td),
        cmocka_unit_test_teardown(test_close_while_in_use, td),
        cmocka_unit_test_teardown(test_close_all_while_in_use, td),
        cmocka_unit_test_teardown(test_reuse_waits_for_references, td),
        cmocka_unit_test_teardown(test_churn_next_to_crypto, td),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
