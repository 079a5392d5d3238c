/* Shared-lock operation inits, atomic GCM accounting and the application's locking: writers
 * (here and in another process) racing shared-lock inits of a token key, the GCM invocation
 * limit under threads, and the application's mutex callbacks. The session handle and session
 * struct races are in test_session_race.c. Every thread checks its results and records the
 * first failure; cmocka asserts run on the main thread only. */
#include "race_util.h"

/* ---- 1. shared-lock inits against writers ------------------------------------------------- */

static double g_deadline;
static CK_OBJECT_HANDLE g_tokkey;
static atomic_int g_destroyed;  /* C_DestroyObject of the key has returned */
static atomic_int g_destroying; /* ... has been called */
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
        if (rv == CKR_KEY_HANDLE_INVALID && atomic_load(&g_destroying))
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
        if (rv == CKR_KEY_HANDLE_INVALID && atomic_load(&g_destroying))
            continue; /* raced the destroy (it may not have returned yet) */
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
    atomic_store(&g_destroying, 1);
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
    atomic_store(&g_destroying, 0);
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

/* ---- 1b. another process destroys the key ------------------------------------------------ */

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

/* ---- 2. GCM invocation accounting under threads ------------------------------------------- */

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

/* ---- 3. the application's mutex callbacks ------------------------------------------------- */

static CK_OBJECT_HANDLE g_aes, g_hmac; /* made by make_keys, used by the workers */
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
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_shared_init_vs_writers, td),
        cmocka_unit_test_teardown(test_other_process_destroy_noticed, td),
        cmocka_unit_test_teardown(test_gcm_limit_under_threads, td),
        cmocka_unit_test_teardown(test_app_mutex_callbacks, td),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
