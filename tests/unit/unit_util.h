/* Shared helpers for the unit tests: temp directories, a token-layer environment, and a raw
 * SQLite connection for editing a token file behind the module's back. Header-only (every
 * function static) because tests/unit/CMakeLists.txt builds each test_*.c on its own. */
#ifndef CRATON_UNIT_UTIL_H
#define CRATON_UNIT_UTIL_H
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <limits.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>
#include <sqlite3.h>

#include "pkcs11.h"
#include "token/token.h"

#define U_SO_PIN "87654321"
#define U_USER_PIN "123456"
#define U_PIN(s) ((CK_UTF8CHAR_PTR)(s)), ((CK_ULONG)(sizeof(s) - 1))

/* ---- temp directories ------------------------------------------------------------------ */

static inline int u_rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb; (void)flag; (void)ftw;
    return remove(p);
}

static inline void u_rmrf(const char *dir)
{
    if (dir && dir[0])
        nftw(dir, u_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/* mkdtemp under /tmp; aborts the test on failure. */
static inline void u_mkdtemp(char out[256])
{
    snprintf(out, 256, "/tmp/craton-unit-XXXXXX");
    assert_non_null(mkdtemp(out));
}

/* ---- a token-layer environment --------------------------------------------------------- */

struct u_env {
    char dir[256];
    char token_dir[512];
    char config[PATH_MAX];
    CK_SLOT_ID slot;     /* the initialised token's slot (after u_env_token) */
    char db[PATH_MAX];   /* its SQLite file */
};

static inline void u_env_write_config(struct u_env *e, unsigned long max_failures)
{
    FILE *f = fopen(e->config, "w");
    assert_non_null(f);
    fprintf(f, "[pin]\npbkdf2_iterations = 1000\nmax_failures = %lu\n"
               "min_length = 4\nmax_length = 255\n[log]\nlevel = none\n", max_failures);
    fclose(f);
}

/* Makes the temp dir and config, exports CRATON_CONFIG / CRATON_TOKEN_DIR. */
static inline void u_env_create(struct u_env *e, unsigned long max_failures)
{
    memset(e, 0, sizeof *e);
    u_mkdtemp(e->dir);
    snprintf(e->token_dir, sizeof e->token_dir, "%s/tokens", e->dir);
    snprintf(e->config, sizeof e->config, "%s/craton.conf", e->dir);
    u_env_write_config(e, max_failures);
    setenv("CRATON_CONFIG", e->config, 1);
    setenv("CRATON_TOKEN_DIR", e->token_dir, 1);
}

/* C_Initialize equivalent, then takes the module lock for the test's tok_* calls. */
static inline void u_tok_up(void)
{
    assert_int_equal(tok_initialize(NULL), CKR_OK);
    tok_lock();
}

static inline void u_tok_down(void)
{
    tok_unlock();
    assert_int_equal(tok_finalize(), CKR_OK);
}

static inline void u_label(CK_UTF8CHAR out[32], const char *s)
{
    memset(out, ' ', 32);
    memcpy(out, s, strlen(s) < 32 ? strlen(s) : 32);
}

/* With the module up: initialises a token in the free slot, sets the user PIN, leaves no
 * session open. Records slot and db path in e. */
static inline void u_env_token(struct u_env *e)
{
    CK_ULONG n = 0;
    assert_int_equal(tok_slot_list(false, NULL, &n), CKR_OK);
    assert_true(n >= 1);
    CK_SLOT_ID *ids = calloc(n, sizeof *ids);
    assert_non_null(ids);
    assert_int_equal(tok_slot_list(false, ids, &n), CKR_OK);
    CK_SLOT_ID free_slot = ids[n - 1]; /* the free slot is listed last */
    free(ids);
    CK_UTF8CHAR label[32];
    u_label(label, "unit");
    assert_int_equal(tok_init_token(free_slot, U_PIN(U_SO_PIN), label), CKR_OK);
    e->slot = free_slot;
    snprintf(e->db, sizeof e->db, "%s/slot-%lu.db", e->token_dir, (unsigned long)free_slot);
    CK_SESSION_HANDLE h;
    assert_int_equal(tok_open_session(e->slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, &h), CKR_OK);
    assert_int_equal(tok_login(h, CKU_SO, U_PIN(U_SO_PIN)), CKR_OK);
    assert_int_equal(tok_init_pin(h, U_PIN(U_USER_PIN)), CKR_OK);
    assert_int_equal(tok_close_session(h), CKR_OK);
}

static inline void u_env_destroy(struct u_env *e)
{
    u_rmrf(e->dir);
    unsetenv("CRATON_CONFIG");
    unsetenv("CRATON_TOKEN_DIR");
}

static inline CK_SESSION_HANDLE u_open_rw(const struct u_env *e)
{
    CK_SESSION_HANDLE h = 0;
    assert_int_equal(tok_open_session(e->slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, &h), CKR_OK);
    return h;
}

static inline CK_SESSION_HANDLE u_open_ro(const struct u_env *e)
{
    CK_SESSION_HANDLE h = 0;
    assert_int_equal(tok_open_session(e->slot, CKF_SERIAL_SESSION, &h), CKR_OK);
    return h;
}

static inline CK_FLAGS u_token_flags(const struct u_env *e)
{
    CK_TOKEN_INFO ti;
    assert_int_equal(tok_token_info(e->slot, &ti), CKR_OK);
    return ti.flags;
}

/* A token data object with the given label (public unless priv). */
static inline CK_OBJECT_HANDLE u_make_data(CK_SESSION_HANDLE h, const char *label, bool priv)
{
    CK_OBJECT_CLASS cls = CKO_DATA;
    CK_BBOOL tru = CK_TRUE, p = priv ? CK_TRUE : CK_FALSE;
    static const char value[] = "some data value";
    CK_ATTRIBUTE t[] = {
        { CKA_CLASS, &cls, sizeof cls },
        { CKA_TOKEN, &tru, sizeof tru },
        { CKA_PRIVATE, &p, sizeof p },
        { CKA_LABEL, (void *)label, (CK_ULONG)strlen(label) },
        { CKA_VALUE, (void *)value, sizeof value - 1 },
    };
    CK_OBJECT_HANDLE o = 0;
    assert_int_equal(tok_create_object(h, t, 5, &o), CKR_OK);
    return o;
}

/* ---- raw SQLite access ------------------------------------------------------------------ */

static inline sqlite3 *u_db_open(const char *path)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    return db;
}

static inline void u_db_exec(sqlite3 *db, const char *sql)
{
    char *err = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &err);
    if (rc != SQLITE_OK)
        fprintf(stderr, "sql failed: %s: %s\n", sql, err ? err : "?");
    sqlite3_free(err);
    assert_int_equal(rc, SQLITE_OK);
}

static inline int64_t u_db_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* A column value as raw bytes; *isnull when NULL. Returned buffer is malloc'd. */
struct u_val {
    int type;     /* SQLITE_BLOB, SQLITE_TEXT, SQLITE_INTEGER, SQLITE_NULL */
    uint8_t *p;
    size_t len;
    int64_t i;
};

static inline struct u_val u_db_get(sqlite3 *db, const char *table, const char *col, int64_t rowid)
{
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT %s FROM %s WHERE id = ?1", col, table);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    sqlite3_bind_int64(st, 1, rowid);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    struct u_val v = { sqlite3_column_type(st, 0), NULL, 0, 0 };
    if (v.type == SQLITE_INTEGER)
        v.i = sqlite3_column_int64(st, 0);
    if (v.type == SQLITE_BLOB || v.type == SQLITE_TEXT) {
        v.len = (size_t)sqlite3_column_bytes(st, 0);
        v.p = malloc(v.len ? v.len : 1);
        assert_non_null(v.p);
        if (v.len)
            memcpy(v.p, v.type == SQLITE_BLOB ? sqlite3_column_blob(st, 0)
                                              : (const void *)sqlite3_column_text(st, 0), v.len);
    }
    sqlite3_finalize(st);
    return v;
}

static inline void u_db_set(sqlite3 *db, const char *table, const char *col, int64_t rowid,
                     const struct u_val *v)
{
    char sql[256];
    snprintf(sql, sizeof sql, "UPDATE %s SET %s = ?1 WHERE id = ?2", table, col);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    switch (v->type) {
    case SQLITE_BLOB: sqlite3_bind_blob(st, 1, v->p, (int)v->len, SQLITE_TRANSIENT); break;
    case SQLITE_TEXT: sqlite3_bind_text(st, 1, (const char *)v->p, (int)v->len, SQLITE_TRANSIENT); break;
    case SQLITE_INTEGER: sqlite3_bind_int64(st, 1, v->i); break;
    default: sqlite3_bind_null(st, 1); break;
    }
    sqlite3_bind_int64(st, 2, rowid);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    assert_int_equal(rc, SQLITE_DONE);
    assert_int_equal(sqlite3_changes(db), 1);
}

/* As u_db_set, but returns SQLite's result (e.g. SQLITE_CONSTRAINT for a duplicate uid). */
static inline int u_db_try_set(sqlite3 *db, const char *table, const char *col, int64_t rowid,
                               const struct u_val *v)
{
    char sql[256];
    snprintf(sql, sizeof sql, "UPDATE %s SET %s = ?1 WHERE id = ?2", table, col);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    switch (v->type) {
    case SQLITE_BLOB: sqlite3_bind_blob(st, 1, v->p, (int)v->len, SQLITE_TRANSIENT); break;
    case SQLITE_TEXT: sqlite3_bind_text(st, 1, (const char *)v->p, (int)v->len, SQLITE_TRANSIENT); break;
    case SQLITE_INTEGER: sqlite3_bind_int64(st, 1, v->i); break;
    default: sqlite3_bind_null(st, 1); break;
    }
    sqlite3_bind_int64(st, 2, rowid);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static inline void u_val_free(struct u_val *v)
{
    free(v->p);
    v->p = NULL;
}

/* Whether needle occurs in hay. */
static inline bool u_contains(const uint8_t *hay, size_t hlen, const void *needle, size_t nlen)
{
    if (!hay || nlen == 0 || hlen < nlen)
        return false;
    for (size_t i = 0; i + nlen <= hlen; i++)
        if (memcmp(hay + i, needle, nlen) == 0)
            return true;
    return false;
}
#endif
