/* Module life: C_Initialize/C_Finalize state, the module lock, fork detection, handles. */
#include "token/internal.h"
#include "token/token.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/ossl.h"
#include "mech/mech.h"
#include "mech/selftest.h"
#include "base/integrity.h"

#include <errno.h>
#include <openssl/err.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct module g_mod;

static pthread_once_t g_atfork_once = PTHREAD_ONCE_INIT;

/* In the child of a fork the parent's sessions, logins, SQLite connections and locks are not
 * ours to use: everything answers CKR_CRYPTOKI_NOT_INITIALIZED until C_Initialize. */
static void on_fork_child(void)
{
    g_mod.forked = true;
}

static void register_atfork(void)
{
    pthread_atfork(NULL, NULL, on_fork_child);
}

bool tok_ready(void)
{
    return g_mod.initialized && !g_mod.forked;
}

bool tok_fips_mode(void)
{
    return g_mod.cfg.fips_approved_only;
}

void tok_lock(void)
{
    rwlock_wrlock(g_mod.lock);
}

void tok_unlock(void)
{
    rwlock_unlock(g_mod.lock);
}

void tok_lock_shared(void)
{
    rwlock_rdlock(g_mod.lock);
}

CK_ULONG handle_new(const hmap_t *map)
{
    for (;;) {
        uint32_t r = 0;
        if (ossl_random(&r, sizeof r))
            return 0;
        r &= 0x7fffffffu;
        if (r > 0xffff && !hmap_get(map, r))
            return r;
    }
}

static int make_dir(const char *dir)
{
    char tmp[CONFIG_PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s", dir);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(tmp, 0700) && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(tmp, 0700) && errno != EEXIST)
        return -1;
    return 0;
}

CK_RV tok_initialize(const CK_C_INITIALIZE_ARGS *args)
{
    if (g_mod.forked) {
        /* A forked child starting over: the parent's resources are abandoned, never used or
         * freed here (freeing would touch SQLite and OpenSSL state shared with the parent);
         * the child never appends to the parent's audit handles. */
        for (size_t i = 0; i < g_mod.nslots; i++)
            audit_forget_after_fork(g_mod.slots[i]->audit);
        memset(&g_mod, 0, sizeof g_mod);
    }
    if (g_mod.initialized)
        return CKR_CRYPTOKI_ALREADY_INITIALIZED;
    CK_RV rv = lock_configure(args);
    if (rv != CKR_OK)
        return rv;
    pthread_once(&g_atfork_once, register_atfork);
    if (secmem_init())
        return CKR_GENERAL_ERROR;
    char err[512];
    if (config_load(&g_mod.cfg, err, sizeof err)) {
        fprintf(stderr, "craton: %s\n", err);
        log_write(LOG_LVL_ERROR, "C_Initialize", "%s", err);
        return CKR_GENERAL_ERROR;
    }
    if (audit_config_load(g_mod.cfg.source, &g_mod.audit_cfg, err, sizeof err) != CKR_OK) {
        fprintf(stderr, "craton: %s\n", err);
        log_write(LOG_LVL_ERROR, "C_Initialize", "%s", err);
        return CKR_GENERAL_ERROR;
    }
    if (log_open((enum log_level)g_mod.cfg.log_level, g_mod.cfg.log_file))
        LOG_WARN("cannot open log file; logging to stderr");
    if (ossl_open_mode(g_mod.cfg.fips_approved_only)) {
        LOG_ERR("cannot set up the OpenSSL library context");
        return CKR_GENERAL_ERROR;
    }
    if (g_mod.cfg.fips_approved_only && !ossl_fips_provider())
        LOG_WARN("FIPS-approved-only mode: OpenSSL's FIPS provider is not installed; the "
                 "default provider runs under the same approved-only policy");
    if (mech_setup()) {
        LOG_ERR("cannot set up the mechanisms");
        ossl_close();
        return CKR_GENERAL_ERROR;
    }
    /* Power-on self-tests: the known-answer tests first (HMAC-SHA256 among them, which the
     * integrity check then relies on), then the library file against its sidecar. A failure
     * is the error state: C_Initialize fails and the module stays uninitialised. */
    /* The tests' deliberate failures leave errors on OpenSSL's per-thread queue, which is the
     * caller's: an application reading it after its own calls must not find ours there. */
    ERR_set_mark();
    CK_RV post = selftest_run();
    if (post == CKR_OK)
        post = integrity_check(g_mod.cfg.fips_approved_only);
    ERR_pop_to_mark();
    if (post != CKR_OK) {
        LOG_ERR("power-on self-test failed; the module is not available");
        mech_teardown();
        ossl_close();
        return CKR_GENERAL_ERROR;
    }
    g_mod.lock = rwlock_new();
    if (!g_mod.lock) {
        mech_teardown();
        ossl_close();
        return CKR_CANT_LOCK;
    }
    hmap_init(&g_mod.sessions);
    sessions_table_reset();
    hmap_init(&g_mod.objects);
    hmap_init(&g_mod.session_objects);
    hmap_init(&g_mod.rows);
    if (make_dir(g_mod.cfg.token_dir))
        LOG_WARN("cannot create the token directory %s: %s", g_mod.cfg.token_dir,
                 strerror(errno));
    g_mod.pid = getpid();
    g_mod.initialized = true;
    tok_lock();
    rv = slot_refresh();
    if (rv == CKR_OK)
        tok_audit_all("C_Initialize", CKR_OK);
    tok_unlock();
    if (rv != CKR_OK) {
        tok_finalize();
        return rv;
    }
    LOG_INFO("initialized; token directory %s; config %s", g_mod.cfg.token_dir,
             g_mod.cfg.source[0] ? g_mod.cfg.source : "(defaults)");
    return CKR_OK;
}

CK_RV tok_finalize(void)
{
    if (!tok_ready())
        return CKR_CRYPTOKI_NOT_INITIALIZED;
    tok_lock();
    tok_audit_all("C_Finalize", CKR_OK);
    for (size_t i = hmap_next(&g_mod.sessions, 0); i < g_mod.sessions.cap;
         i = hmap_next(&g_mod.sessions, i + 1))
        session_close(g_mod.sessions.vals[i]);
    for (size_t i = 0; i < g_mod.nslots; i++) {
        objects_forget_slot(g_mod.slots[i]);
        slot_free(g_mod.slots[i]);
    }
    free(g_mod.slots);
    g_mod.slots = NULL;
    g_mod.nslots = 0;
    hmap_free(&g_mod.sessions);
    sessions_table_free();
    hmap_free(&g_mod.objects);
    hmap_free(&g_mod.session_objects);
    hmap_free(&g_mod.rows);
    g_mod.initialized = false;
    tok_unlock();
    rwlock_free(g_mod.lock);
    g_mod.lock = NULL;
    mech_teardown();
    ossl_close();
    log_close();
    return CKR_OK;
}
