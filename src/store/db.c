/* SQLite access for one token: schema, prepared statements, transactions. */
#include "store/db.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/ossl.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

enum stmt_id {
    S_BEGIN, S_BEGIN_READ, S_COMMIT, S_ROLLBACK, S_TOKEN_GET, S_TOKEN_PUT, S_OBJ_INSERT,
    S_OBJ_UPDATE, S_OBJ_DELETE, S_OBJ_DELETE_ALL, S_OBJ_GET, S_OBJ_TERMS, S_DATA_VERSION, S_USAGE_GET, S_USAGE_PUT, S_COUNT
};

static const char *const sql_text[S_COUNT] = {
    [S_BEGIN] = "BEGIN IMMEDIATE",
    [S_BEGIN_READ] = "BEGIN DEFERRED",
    [S_COMMIT] = "COMMIT",
    [S_ROLLBACK] = "ROLLBACK",
    [S_TOKEN_GET] = "SELECT slot_id, uuid, label, serial, "
                    "so_salt, so_iter, so_verifier, so_wrapped, so_failures, "
                    "user_salt, user_iter, user_verifier, user_wrapped, user_failures, "
                    "acc, acc_mac, objects, schema_version FROM token WHERE id = 1",
    [S_TOKEN_PUT] = "INSERT OR REPLACE INTO token (id, schema_version, slot_id, uuid, label, "
                    "serial, so_salt, so_iter, so_verifier, so_wrapped, so_failures, user_salt, "
                    "user_iter, user_verifier, user_wrapped, user_failures, acc, acc_mac, objects) "
                    "VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, "
                    "?16, ?17, ?18)",
    [S_OBJ_INSERT] = "INSERT INTO objects (uid, class, key_type, private, label_ix, id_ix, attrs, "
                     "secret, digest, term) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    [S_OBJ_UPDATE] = "UPDATE objects SET uid = ?1, class = ?2, key_type = ?3, private = ?4, "
                     "label_ix = ?5, id_ix = ?6, attrs = ?7, secret = ?8, digest = ?9, term = ?10 "
                     "WHERE id = ?11",
    [S_OBJ_DELETE] = "DELETE FROM objects WHERE id = ?1",
    [S_OBJ_DELETE_ALL] = "DELETE FROM objects",
    [S_OBJ_GET] = "SELECT uid, class, key_type, private, label_ix, id_ix, attrs, secret, digest, "
                  "term FROM objects WHERE id = ?1",
    [S_OBJ_TERMS] = "SELECT term FROM objects",
    [S_DATA_VERSION] = "PRAGMA data_version",
    [S_USAGE_GET] = "SELECT reserved, mac FROM gcm_usage WHERE uid = ?1",
    [S_USAGE_PUT] = "INSERT OR REPLACE INTO gcm_usage (uid, reserved, mac) VALUES (?1, ?2, ?3)",
};

struct store {
    sqlite3 *db;
    sqlite3_stmt *st[S_COUNT];
    int lock_fd;
    uint64_t own_commits; /* PRAGMA data_version does not move for our own commits */
    sqlite3_stmt *find[32]; /* C_FindObjects statements, one per filter shape */
};

static CK_RV db_error(store_t *s, const char *what)
{
    int code = sqlite3_errcode(s->db);
    LOG_ERR("%s: %s", what, sqlite3_errmsg(s->db));
    if (code == SQLITE_NOMEM)
        return CKR_HOST_MEMORY;
    return CKR_DEVICE_ERROR;
}

static sqlite3_stmt *prep(store_t *s, enum stmt_id id)
{
    if (!s->st[id] &&
        sqlite3_prepare_v3(s->db, sql_text[id], -1, SQLITE_PREPARE_PERSISTENT, &s->st[id], NULL))
        return NULL;
    sqlite3_reset(s->st[id]);
    sqlite3_clear_bindings(s->st[id]);
    return s->st[id];
}

static CK_RV exec_simple(store_t *s, enum stmt_id id)
{
    sqlite3_stmt *st = prep(s, id);
    if (!st)
        return db_error(s, sql_text[id]);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? CKR_OK : db_error(s, sql_text[id]);
}

CK_RV store_open(const char *path, bool create, bool exclusive, bool sync_full, store_t **out)
{
    store_t *s = calloc(1, sizeof *s);
    if (!s)
        return CKR_HOST_MEMORY;
    s->lock_fd = -1;
    if (exclusive) {
        char lp[4200];
        snprintf(lp, sizeof lp, "%s.lock", path);
        s->lock_fd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (s->lock_fd < 0 || flock(s->lock_fd, LOCK_EX | LOCK_NB) != 0) {
            LOG_ERR("token is held exclusively by another process");
            if (s->lock_fd >= 0)
                close(s->lock_fd);
            free(s);
            return CKR_TOKEN_NOT_PRESENT;
        }
    }
    if (create) {
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0) {
            LOG_ERR("cannot create token file: %s", strerror(errno));
            store_close(s);
            return CKR_DEVICE_ERROR;
        }
        close(fd);
    }
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path, &s->db, flags, NULL) != SQLITE_OK) {
        LOG_ERR("cannot open token database: %s", s->db ? sqlite3_errmsg(s->db) : "no memory");
        store_close(s);
        return CKR_DEVICE_ERROR;
    }
    sqlite3_busy_timeout(s->db, 10000);
    sqlite3_extended_result_codes(s->db, 1);
    const char *pragmas = sync_full ? "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; "
                                      "PRAGMA foreign_keys=ON; PRAGMA secure_delete=ON;"
                                    : "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                                      "PRAGMA foreign_keys=ON; PRAGMA secure_delete=ON;";
    if (sqlite3_exec(s->db, pragmas, NULL, NULL, NULL) != SQLITE_OK) {
        CK_RV rv = db_error(s, "pragmas");
        store_close(s);
        return rv;
    }
    /* Added after schema 1 was first written: created where missing, old tokens included. */
    if (sqlite3_exec(s->db, "CREATE TABLE IF NOT EXISTS gcm_usage (uid TEXT PRIMARY KEY, "
                            "reserved INTEGER NOT NULL, mac BLOB NOT NULL)",
                     NULL, NULL, NULL) != SQLITE_OK) {
        CK_RV rv = db_error(s, "usage table");
        store_close(s);
        return rv;
    }
    /* The WAL and shm files are made by SQLite with the database's mode: keep them private. */
    char side[4200];
    snprintf(side, sizeof side, "%s-wal", path);
    chmod(side, 0600);
    snprintf(side, sizeof side, "%s-shm", path);
    chmod(side, 0600);
    *out = s;
    return CKR_OK;
}

void store_close(store_t *s)
{
    if (!s)
        return;
    for (int i = 0; i < S_COUNT; i++)
        sqlite3_finalize(s->st[i]);
    for (int i = 0; i < 32; i++)
        sqlite3_finalize(s->find[i]);
    if (s->db)
        sqlite3_close_v2(s->db);
    if (s->lock_fd >= 0)
        close(s->lock_fd);
    free(s);
}

CK_RV store_create_schema(store_t *s)
{
    static const char schema[] =
        "CREATE TABLE token ("
        " id INTEGER PRIMARY KEY CHECK (id = 1), schema_version INTEGER NOT NULL,"
        " slot_id INTEGER NOT NULL, uuid BLOB NOT NULL, label BLOB NOT NULL, serial BLOB NOT NULL,"
        " so_salt BLOB, so_iter INTEGER, so_verifier BLOB, so_wrapped BLOB, so_failures INTEGER,"
        " user_salt BLOB, user_iter INTEGER, user_verifier BLOB, user_wrapped BLOB,"
        " user_failures INTEGER, acc BLOB NOT NULL, acc_mac BLOB NOT NULL,"
        " objects INTEGER NOT NULL);"
        "CREATE TABLE objects ("
        " id INTEGER PRIMARY KEY, uid TEXT NOT NULL UNIQUE, class INTEGER NOT NULL,"
        " key_type INTEGER, private INTEGER NOT NULL, label_ix BLOB, id_ix BLOB,"
        " attrs BLOB NOT NULL, secret BLOB, digest BLOB NOT NULL, term BLOB NOT NULL);"
        "CREATE INDEX objects_label ON objects (label_ix);"
        "CREATE INDEX objects_id ON objects (id_ix);"
        "CREATE INDEX objects_class ON objects (class, key_type);";
    if (sqlite3_exec(s->db, schema, NULL, NULL, NULL) != SQLITE_OK)
        return db_error(s, "create schema");
    return CKR_OK;
}

CK_RV store_begin(store_t *s) { return exec_simple(s, S_BEGIN); }
CK_RV store_begin_read(store_t *s) { return exec_simple(s, S_BEGIN_READ); }
CK_RV store_commit(store_t *s)
{
    CK_RV rv = exec_simple(s, S_COMMIT);
    if (rv == CKR_OK)
        s->own_commits++;
    return rv;
}

void store_rollback(store_t *s)
{
    if (!sqlite3_get_autocommit(s->db))
        exec_simple(s, S_ROLLBACK);
}

uint64_t store_data_version(store_t *s)
{
    /* PRAGMA data_version changes when another connection (any process) commits; it runs a
     * statement, so it sees the file's current state, unlike the file-control counter, which
     * only moves when this connection next starts a transaction. Our own commits count apart. */
    sqlite3_stmt *st = prep(s, S_DATA_VERSION);
    uint64_t v = 0;
    if (st && sqlite3_step(st) == SQLITE_ROW)
        v = (uint64_t)sqlite3_column_int64(st, 0);
    if (st)
        sqlite3_reset(st);
    return (v << 32) ^ s->own_commits;
}

static int col_copy(sqlite3_stmt *st, int col, void *dst, size_t len)
{
    if (sqlite3_column_bytes(st, col) != (int)len)
        return -1;
    const void *p = sqlite3_column_blob(st, col);
    if (len && !p)
        return -1;
    if (len)
        memcpy(dst, p, len);
    return 0;
}

static int col_dup(sqlite3_stmt *st, int col, uint8_t **dst, size_t *len)
{
    *dst = NULL;
    *len = 0;
    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        return 0;
    int n = sqlite3_column_bytes(st, col);
    const void *p = sqlite3_column_blob(st, col);
    *dst = malloc(n ? (size_t)n : 1);
    if (!*dst)
        return -1;
    if (n)
        memcpy(*dst, p, (size_t)n);
    *len = (size_t)n;
    return 0;
}

CK_RV store_token_get(store_t *s, struct token_record *t)
{
    sqlite3_stmt *st = prep(s, S_TOKEN_GET);
    if (!st)
        return db_error(s, "token get");
    memset(t, 0, sizeof *t);
    int rc = sqlite3_step(st);
    CK_RV rv = CKR_OK;
    if (rc != SQLITE_ROW) {
        rv = rc == SQLITE_DONE ? CKR_TOKEN_NOT_RECOGNIZED : db_error(s, "token get");
        goto out;
    }
    if (sqlite3_column_int(st, 17) > STORE_SCHEMA_VERSION) {
        /* Written by a newer Craton: refuse rather than misread it. */
        LOG_ERR("token database has schema version %d; this library knows up to %d",
                sqlite3_column_int(st, 17), STORE_SCHEMA_VERSION);
        rv = CKR_TOKEN_NOT_RECOGNIZED;
        goto out;
    }
    t->slot_id = (unsigned long)sqlite3_column_int64(st, 0);
    if (col_copy(st, 1, t->uuid, 16) || col_copy(st, 2, t->label, 32) ||
        col_copy(st, 3, t->serial, 16) || col_copy(st, 14, t->acc, 32) ||
        col_copy(st, 15, t->acc_mac, 32)) {
        rv = CKR_DEVICE_ERROR;
        goto out;
    }
    t->objects = (uint64_t)sqlite3_column_int64(st, 16);
    for (int r = 0; r < 2; r++) {
        int base = 4 + r * 5;
        struct pin_record *p = &t->pin[r];
        p->failures = (unsigned long)sqlite3_column_int64(st, base + 4);
        if (sqlite3_column_type(st, base) == SQLITE_NULL)
            continue;
        p->set = true;
        p->iterations = (unsigned long)sqlite3_column_int64(st, base + 1);
        if (col_copy(st, base, p->salt, 16) || col_copy(st, base + 2, p->verifier, 32) ||
            col_copy(st, base + 3, p->wrapped, sizeof p->wrapped)) {
            rv = CKR_DEVICE_ERROR;
            goto out;
        }
    }
out:
    sqlite3_reset(st);
    if (rv == CKR_DEVICE_ERROR)
        LOG_ERR("token record is malformed");
    return rv;
}

CK_RV store_token_put(store_t *s, const struct token_record *t)
{
    sqlite3_stmt *st = prep(s, S_TOKEN_PUT);
    if (!st)
        return db_error(s, "token put");
    sqlite3_bind_int(st, 1, STORE_SCHEMA_VERSION);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)t->slot_id);
    sqlite3_bind_blob(st, 3, t->uuid, 16, SQLITE_STATIC);
    sqlite3_bind_blob(st, 4, t->label, 32, SQLITE_STATIC);
    sqlite3_bind_blob(st, 5, t->serial, 16, SQLITE_STATIC);
    for (int r = 0; r < 2; r++) {
        int base = 6 + r * 5;
        const struct pin_record *p = &t->pin[r];
        if (p->set) {
            sqlite3_bind_blob(st, base, p->salt, 16, SQLITE_STATIC);
            sqlite3_bind_int64(st, base + 1, (sqlite3_int64)p->iterations);
            sqlite3_bind_blob(st, base + 2, p->verifier, 32, SQLITE_STATIC);
            sqlite3_bind_blob(st, base + 3, p->wrapped, sizeof p->wrapped, SQLITE_STATIC);
        }
        sqlite3_bind_int64(st, base + 4, (sqlite3_int64)p->failures);
    }
    sqlite3_bind_blob(st, 16, t->acc, 32, SQLITE_STATIC);
    sqlite3_bind_blob(st, 17, t->acc_mac, 32, SQLITE_STATIC);
    sqlite3_bind_int64(st, 18, (sqlite3_int64)t->objects);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? CKR_OK : db_error(s, "token put");
}

static void bind_blob_or_null(sqlite3_stmt *st, int i, const uint8_t *p, size_t len)
{
    if (p)
        sqlite3_bind_blob(st, i, p, (int)len, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

static void bind_object(sqlite3_stmt *st, const struct object_record *r)
{
    sqlite3_bind_text(st, 1, r->uid, UID_LEN, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)r->cls);
    if (r->key_type == CK_UNAVAILABLE_INFORMATION)
        sqlite3_bind_null(st, 3);
    else
        sqlite3_bind_int64(st, 3, (sqlite3_int64)r->key_type);
    sqlite3_bind_int(st, 4, r->is_private);
    bind_blob_or_null(st, 5, r->label_ix, r->label_ix_len);
    bind_blob_or_null(st, 6, r->id_ix, r->id_ix_len);
    sqlite3_bind_blob(st, 7, r->attrs, (int)r->attrs_len, SQLITE_STATIC);
    bind_blob_or_null(st, 8, r->secret, r->secret_len);
    sqlite3_bind_blob(st, 9, r->digest, 32, SQLITE_STATIC);
    sqlite3_bind_blob(st, 10, r->term, 32, SQLITE_STATIC);
}

CK_RV store_object_insert(store_t *s, struct object_record *r)
{
    sqlite3_stmt *st = prep(s, S_OBJ_INSERT);
    if (!st)
        return db_error(s, "object insert");
    bind_object(st, r);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return db_error(s, "object insert");
    r->rowid = sqlite3_last_insert_rowid(s->db);
    return CKR_OK;
}

CK_RV store_object_update(store_t *s, const struct object_record *r)
{
    sqlite3_stmt *st = prep(s, S_OBJ_UPDATE);
    if (!st)
        return db_error(s, "object update");
    bind_object(st, r);
    sqlite3_bind_int64(st, 11, r->rowid);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return db_error(s, "object update");
    return sqlite3_changes(s->db) == 1 ? CKR_OK : CKR_OBJECT_HANDLE_INVALID;
}

CK_RV store_object_delete(store_t *s, int64_t rowid)
{
    sqlite3_stmt *st = prep(s, S_OBJ_DELETE);
    if (!st)
        return db_error(s, "object delete");
    sqlite3_bind_int64(st, 1, rowid);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return db_error(s, "object delete");
    return sqlite3_changes(s->db) == 1 ? CKR_OK : CKR_OBJECT_HANDLE_INVALID;
}

CK_RV store_object_delete_all(store_t *s)
{
    return exec_simple(s, S_OBJ_DELETE_ALL);
}

void store_record_free(struct object_record *r)
{
    free(r->label_ix);
    free(r->id_ix);
    free(r->attrs);
    free(r->secret);
    memset(r, 0, sizeof *r);
}

CK_RV store_object_get(store_t *s, int64_t rowid, struct object_record *r)
{
    sqlite3_stmt *st = prep(s, S_OBJ_GET);
    if (!st)
        return db_error(s, "object get");
    memset(r, 0, sizeof *r);
    sqlite3_bind_int64(st, 1, rowid);
    int rc = sqlite3_step(st);
    CK_RV rv = CKR_OK;
    if (rc != SQLITE_ROW) {
        rv = rc == SQLITE_DONE ? CKR_OBJECT_HANDLE_INVALID : db_error(s, "object get");
        goto out;
    }
    r->rowid = rowid;
    if (sqlite3_column_bytes(st, 0) != UID_LEN) {
        rv = CKR_DEVICE_ERROR;
        goto out;
    }
    memcpy(r->uid, sqlite3_column_text(st, 0), UID_LEN);
    r->uid[UID_LEN] = 0;
    r->cls = (CK_ULONG)sqlite3_column_int64(st, 1);
    r->key_type = sqlite3_column_type(st, 2) == SQLITE_NULL
                      ? CK_UNAVAILABLE_INFORMATION
                      : (CK_ULONG)sqlite3_column_int64(st, 2);
    r->is_private = sqlite3_column_int(st, 3) != 0;
    if (col_dup(st, 4, &r->label_ix, &r->label_ix_len) || col_dup(st, 5, &r->id_ix, &r->id_ix_len) ||
        col_dup(st, 6, &r->attrs, &r->attrs_len) || col_dup(st, 7, &r->secret, &r->secret_len)) {
        rv = CKR_HOST_MEMORY;
        goto out;
    }
    if (!r->attrs || col_copy(st, 8, r->digest, 32) || col_copy(st, 9, r->term, 32))
        rv = CKR_DEVICE_ERROR;
out:
    sqlite3_reset(st);
    if (rv != CKR_OK)
        store_record_free(r);
    return rv;
}

CK_RV store_object_find(store_t *s, const struct find_filter *f, int64_t **ids, size_t *n)
{
    /* One prepared statement per filter shape, kept for the connection's life. */
    unsigned shape = (unsigned)f->include_private | (unsigned)f->has_class << 1 |
                     (unsigned)f->has_key_type << 2 | (unsigned)f->has_label << 3 |
                     (unsigned)f->has_id << 4;
    sqlite3_stmt *st = s->find[shape];
    if (!st) {
        char sql[512] = "SELECT id FROM objects WHERE 1";
        if (!f->include_private)
            strcat(sql, " AND private = 0");
        /* With a label or an ID to go by, those indexes are the selective ones: the unary +
         * keeps SQLite from scanning the class index instead (every key shares a class). */
        bool narrow = f->has_label || f->has_id;
        if (f->has_class)
            strcat(sql, narrow ? " AND +class = ?1" : " AND class = ?1");
        if (f->has_key_type)
            strcat(sql, narrow ? " AND +key_type = ?2" : " AND key_type = ?2");
        if (f->has_label)
            strcat(sql, " AND label_ix IN (?3, ?4)");
        if (f->has_id)
            strcat(sql, " AND id_ix IN (?5, ?6)");
        strcat(sql, " ORDER BY id");
        if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK)
            return db_error(s, "object find");
        s->find[shape] = st;
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (f->has_class)
        sqlite3_bind_int64(st, 1, (sqlite3_int64)f->cls);
    if (f->has_key_type)
        sqlite3_bind_int64(st, 2, (sqlite3_int64)f->key_type);
    if (f->has_label) {
        sqlite3_bind_blob(st, 3, f->label ? (const void *)f->label : "", (int)f->label_len,
                          SQLITE_STATIC);
        bind_blob_or_null(st, 4, f->label_h, 32);
    }
    if (f->has_id) {
        sqlite3_bind_blob(st, 5, f->id ? (const void *)f->id : "", (int)f->id_len, SQLITE_STATIC);
        bind_blob_or_null(st, 6, f->id_h, 32);
    }
    size_t cap = 16, cnt = 0;
    int64_t *v = malloc(cap * sizeof *v);
    CK_RV rv = v ? CKR_OK : CKR_HOST_MEMORY;
    int rc;
    while (rv == CKR_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (cnt == cap) {
            int64_t *nv = realloc(v, cap * 2 * sizeof *v);
            if (!nv) {
                rv = CKR_HOST_MEMORY;
                break;
            }
            v = nv;
            cap *= 2;
        }
        v[cnt++] = sqlite3_column_int64(st, 0);
    }
    if (rv == CKR_OK && rc != SQLITE_DONE)
        rv = db_error(s, "object find");
    sqlite3_reset(st);
    if (rv != CKR_OK) {
        free(v);
        return rv;
    }
    *ids = v;
    *n = cnt;
    return CKR_OK;
}

CK_RV store_object_terms(store_t *s, uint8_t acc[32], uint64_t *count)
{
    sqlite3_stmt *st = prep(s, S_OBJ_TERMS);
    if (!st)
        return db_error(s, "object terms");
    memset(acc, 0, 32);
    uint64_t c = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const uint8_t *t = sqlite3_column_blob(st, 0);
        if (sqlite3_column_bytes(st, 0) != 32 || !t) {
            sqlite3_reset(st);
            return CKR_DEVICE_ERROR;
        }
        for (int i = 0; i < 32; i++)
            acc[i] ^= t[i];
        c++;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return db_error(s, "object terms");
    *count = c;
    return CKR_OK;
}

static void usage_mac(const uint8_t key[32], const char *uid, uint64_t reserved, uint8_t out[32])
{
    uint8_t buf[4 + UID_LEN + 8];
    memcpy(buf, "cGCM", 4);
    memcpy(buf + 4, uid, UID_LEN);
    for (int i = 0; i < 8; i++)
        buf[4 + UID_LEN + i] = (uint8_t)(reserved >> (8 * i));
    ossl_hmac_sha256(key, 32, buf, sizeof buf, out);
}

CK_RV store_usage_reserve(store_t *s, const char *uid, uint64_t n, const uint8_t mac_key[32],
                          uint64_t *start)
{
    CK_RV rv = store_begin(s);
    if (rv != CKR_OK)
        return rv;
    sqlite3_stmt *st = prep(s, S_USAGE_GET);
    uint64_t reserved = 0;
    uint8_t mac[32];
    if (!st) {
        rv = db_error(s, "usage get");
        goto out;
    }
    sqlite3_bind_text(st, 1, uid, UID_LEN, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        reserved = (uint64_t)sqlite3_column_int64(st, 0);
        usage_mac(mac_key, uid, reserved, mac);
        if (sqlite3_column_bytes(st, 1) != 32 || !secmem_equal(sqlite3_column_blob(st, 1), mac, 32)) {
            LOG_ERR("the AES-GCM usage count of key %s was changed outside the module", uid);
            rv = CKR_DEVICE_ERROR;
        }
    } else if (rc != SQLITE_DONE) {
        rv = db_error(s, "usage get");
    }
    sqlite3_reset(st);
    if (rv != CKR_OK)
        goto out;
    usage_mac(mac_key, uid, reserved + n, mac);
    st = prep(s, S_USAGE_PUT);
    if (!st) {
        rv = db_error(s, "usage put");
        goto out;
    }
    sqlite3_bind_text(st, 1, uid, UID_LEN, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)reserved + (sqlite3_int64)n);
    sqlite3_bind_blob(st, 3, mac, 32, SQLITE_STATIC);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        rv = db_error(s, "usage put");
out:
    if (rv == CKR_OK)
        rv = store_commit(s);
    if (rv != CKR_OK)
        store_rollback(s);
    else
        *start = reserved;
    return rv;
}
