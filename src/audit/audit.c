/* Audit writer: the public API, when records are flushed, and the tail anchor. The active
 * file itself (locking, append, rotation, group commit) is in active.c. */
#include "audit/audit.h"
#include "audit/record.h"
#include "audit/writer.h"
#include "base/log.h"
#include "base/ossl.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- tail anchor ---- */

static void db_drop(audit_log_t *log)
{
    sqlite3_finalize(log->upsert);
    log->upsert = NULL;
    if (log->db)
        sqlite3_close_v2(log->db);
    log->db = NULL;
}

/* Opens the token database if it exists (never creates it). 0 when open, -1 otherwise. */
static int db_ensure(audit_log_t *log)
{
    if (log->db)
        return 0;
    if (access(log->db_path, F_OK))
        return -1;
    if (sqlite3_open_v2(log->db_path, &log->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX,
                        NULL) != SQLITE_OK) {
        LOG_WARN("audit: cannot open %s for the tail anchor", log->db_path);
        db_drop(log);
        return -1;
    }
    /* Short: the anchor is retried later rather than stalling a C_* call on a busy token. */
    sqlite3_busy_timeout(log->db, 250);
    /* The anchor is a hint that only ever trails the (flushed) log: it may lag after a power
     * loss, as the token's own commits may, rather than cost a WAL flush per update. */
    sqlite3_exec(log->db, "PRAGMA synchronous = NORMAL", NULL, NULL, NULL);
    if (sqlite3_exec(log->db, AUDIT_TAIL_SQL_CREATE, NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(log->db,
                           "INSERT INTO audit_tail (id, seq, hash) VALUES (1, ?1, ?2) "
                           "ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = "
                           "excluded.hash WHERE excluded.seq > audit_tail.seq",
                           -1, &log->upsert, NULL) != SQLITE_OK) {
        LOG_WARN("audit: tail anchor table: %s", sqlite3_errmsg(log->db));
        db_drop(log);
        return -1;
    }
    return 0;
}

static int db_read_anchor(audit_log_t *log, unsigned long long *seq, uint8_t hash[32])
{
    sqlite3_stmt *st = NULL;
    int found = 0;
    if (sqlite3_prepare_v2(log->db, "SELECT seq, hash FROM audit_tail WHERE id = 1", -1, &st,
                           NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW && sqlite3_column_bytes(st, 1) == 32) {
        *seq = (unsigned long long)sqlite3_column_int64(st, 0);
        memcpy(hash, sqlite3_column_blob(st, 1), 32);
        found = 1;
    }
    sqlite3_finalize(st);
    return found;
}

/* Records (seq, hash) as the newest anchored record; never moves the anchor backwards. The
 * caller has made sure the record is on disk first, so the anchor never runs ahead of the file. */
static void anchor_put(audit_log_t *log, unsigned long long seq, const uint8_t hash[32])
{
    pthread_mutex_lock(&log->db_mu);
    if (!log->pending || seq > log->pending_seq) {
        log->pending = true;
        log->pending_seq = seq;
        memcpy(log->pending_hash, hash, 32);
    }
    if (db_ensure(log) == 0) {
        sqlite3_stmt *st = log->upsert;
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, (sqlite3_int64)log->pending_seq);
        sqlite3_bind_blob(st, 2, log->pending_hash, 32, SQLITE_STATIC);
        int rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc == SQLITE_DONE)
            log->pending = false;
        else
            LOG_WARN("audit: tail anchor deferred: %s", sqlite3_errmsg(log->db));
    } else {
        log->pending = false; /* no token database yet: nothing to anchor in */
    }
    pthread_mutex_unlock(&log->db_mu);
}

/* Whether the token database exists to hold an anchor (opening it when it appeared). */
static bool anchor_possible(audit_log_t *log)
{
    pthread_mutex_lock(&log->db_mu);
    bool ok = db_ensure(log) == 0;
    pthread_mutex_unlock(&log->db_mu);
    return ok;
}

/* ---- public ---- */

CK_RV audit_open(const char *token_dir, unsigned long slot_id, const char *token_name,
                 const struct audit_config *cfg, audit_log_t **out)
{
    if (!token_dir || !cfg || !out || strlen(token_dir) >= AUDIT_PATH_MAX)
        return CKR_ARGUMENTS_BAD;
    *out = NULL;
    if (!ossl_get()->sha256) {
        LOG_ERR("audit: libcrypto context not open");
        return CKR_GENERAL_ERROR;
    }
    audit_log_t *log = calloc(1, sizeof *log);
    if (!log)
        return CKR_HOST_MEMORY;
    log->md = EVP_MD_CTX_new(); /* NULL only costs an allocation per record */
    log->cfg = *cfg;
    if (!log->cfg.tail_every)
        log->cfg.tail_every = 4096;
    log->slot = slot_id;
    log->fd = log->lock_fd = -1;
    log->pid = (long)getpid();
    snprintf(log->dir, sizeof log->dir, "%s", token_dir);
    snprintf(log->path, sizeof log->path, "%s/slot-%lu.audit", token_dir, slot_id);
    snprintf(log->lock_path, sizeof log->lock_path, "%s/slot-%lu.audit-lock", token_dir, slot_id);
    snprintf(log->db_path, sizeof log->db_path, "%s/slot-%lu.db", token_dir, slot_id);
    pthread_mutex_init(&log->mu, NULL);
    pthread_mutex_init(&log->sync_mu, NULL);
    pthread_cond_init(&log->sync_cv, NULL);
    pthread_mutex_init(&log->db_mu, NULL);
    aw_now_mono(&log->last_sync);
    log->clock.sec = -1;
    if (!cfg->enabled) {
        *out = log;
        return CKR_OK;
    }
    CK_RV rv;
    if (cfg->key_file[0]) {
        char err[256];
        rv = audit_key_load(cfg->key_file, &log->key, &log->keylen, err, sizeof err);
        if (rv != CKR_OK) {
            LOG_ERR("audit: %s", err);
            goto fail;
        }
    }
    if (mkdir(token_dir, 0700) && errno != EEXIST) {
        LOG_ERR("audit: cannot create %s: %s", token_dir, strerror(errno));
        rv = CKR_DEVICE_ERROR;
        goto fail;
    }
    if ((rv = aw_shared_open(log)) != CKR_OK)
        goto fail;
    /* What the token database last anchored: a log that ends before it was cut. */
    if (db_ensure(log) == 0 && db_read_anchor(log, &log->known_seq, log->known_hash))
        log->have_known = true;
    pthread_mutex_lock(&log->mu);
    if ((rv = aw_lock(log)) != CKR_OK) {
        pthread_mutex_unlock(&log->mu);
        goto fail;
    }
    rv = aw_prepare(log);
    if (rv == CKR_OK && !log->have_known) {
        char what[AUDIT_OBJECT_MAX + 1];
        snprintf(what, sizeof what, "chain=%s;token=%s", log->key ? "hmac-sha256" : "sha256",
                 token_name ? token_name : "");
        rv = aw_emit_note(log, "audit.genesis", what, CKR_OK);
    }
    aw_unlock(log);
    pthread_mutex_unlock(&log->mu);
    if (rv == CKR_OK && log->written)
        rv = aw_sync_upto(log, log->written);
    if (rv != CKR_OK)
        goto fail;
    *out = log;
    return CKR_OK;
fail:
    audit_close(log);
    return rv;
}

static bool is_non_key(const struct audit_event *ev)
{
    return !ev->per_use && !ev->object;
}

CK_RV audit_append(audit_log_t *log, const struct audit_event *ev)
{
    if (!log || !ev)
        return CKR_DEVICE_ERROR;
    if (!log->cfg.enabled || (log->cfg.level == AUDIT_LEVEL_AUTH_ADMIN && ev->per_use))
        return CKR_OK;
    struct rec_fields f = { 0 };
    f.pid = log->pid;
    f.slot = ev->slot;
    f.session = ev->session;
    f.user = ev->user;
    f.op = ev->op ? ev->op : "";
    f.mech = ev->mech;
    f.object = ev->object;
    f.result = ev->result;
    unsigned long long seq = 0, ticket = 0;
    uint8_t hash[32];

    pthread_mutex_lock(&log->mu);
    CK_RV rv = aw_lock(log);
    if (rv == CKR_OK) {
        rv = aw_prepare(log);
        if (rv == CKR_OK)
            rv = aw_emit(log, &f, &seq, hash);
        aw_unlock(log);
    }
    pthread_mutex_lock(&log->sync_mu);
    ticket = log->written;
    pthread_mutex_unlock(&log->sync_mu);
    pthread_mutex_unlock(&log->mu);

    /* Authentication and token administration records (no object) keep sync; object
     * management has its own setting, as key uses do. */
    enum audit_sync mode = ev->per_use ? log->cfg.sync_per_use
                           : ev->object ? log->cfg.sync_objects
                                        : log->cfg.sync;
    bool on_disk = false;
    if (rv == CKR_OK) {
        bool due = mode == AUDIT_SYNC_ALWAYS;
        if (mode == AUDIT_SYNC_INTERVAL) {
            pthread_mutex_lock(&log->sync_mu);
            due = aw_ms_since(&log->last_sync) >= log->cfg.interval_ms;
            pthread_mutex_unlock(&log->sync_mu);
        }
        if (due) {
            rv = aw_sync_upto(log, ticket);
            on_disk = rv == CKR_OK;
        }
    }
    /* Anchor after an administration record, and otherwise only when this record went to the
     * disk anyway or every tail_every records: each anchor is a SQLite commit, and one that
     * needs an fdatasync first unless the record was flushed already. */
    if (rv == CKR_OK && (is_non_key(ev) || on_disk || seq % log->cfg.tail_every == 0) &&
        anchor_possible(log)) {
        /* The anchor must never claim a record the disk does not hold. */
        if (on_disk || aw_sync_upto(log, ticket) == CKR_OK)
            anchor_put(log, seq, hash);
    }
    if (rv != CKR_OK) {
        if (!log->cfg.required_for_non_key && is_non_key(ev)) {
            LOG_ERR("audit: record for %s not written; continuing (fail_open_non_key)", f.op);
            return CKR_OK;
        }
        return CKR_DEVICE_ERROR;
    }
    return CKR_OK;
}

static void release(audit_log_t *log, bool owner)
{
    aw_release(log);
    if (owner)
        db_drop(log);
    audit_key_free(log->key);
    EVP_MD_CTX_free(log->md);
    /* After fork another thread of the parent may have held these: leave them alone. */
    if (owner) {
        pthread_mutex_destroy(&log->mu);
        pthread_mutex_destroy(&log->sync_mu);
        pthread_cond_destroy(&log->sync_cv);
        pthread_mutex_destroy(&log->db_mu);
    }
    free(log);
}

void audit_close(audit_log_t *log)
{
    if (!log)
        return;
    if (log->fd >= 0 && log->have_known) {
        pthread_mutex_lock(&log->mu);
        /* Leave the file without the room grown for later records. */
        if (aw_lock(log) == CKR_OK) {
            aw_trim(log);
            aw_unlock(log);
        }
        unsigned long long seq = log->known_seq, ticket;
        uint8_t hash[32];
        memcpy(hash, log->known_hash, 32);
        pthread_mutex_lock(&log->sync_mu);
        ticket = log->written;
        pthread_mutex_unlock(&log->sync_mu);
        pthread_mutex_unlock(&log->mu);
        /* known may be another process's record that it has not flushed yet */
        if (aw_sync_upto(log, ticket) == CKR_OK && fdatasync(log->fd) == 0)
            anchor_put(log, seq, hash);
    }
    release(log, true);
}

void audit_forget_after_fork(audit_log_t *log)
{
    if (!log)
        return;
    /* The parent's SQLite connection must not be used or closed here; it leaks by design. */
    release(log, false);
}

unsigned long long audit_fsync_count(const audit_log_t *log)
{
    audit_log_t *l = (audit_log_t *)log;
    pthread_mutex_lock(&l->sync_mu);
    unsigned long long n = l->fsyncs;
    pthread_mutex_unlock(&l->sync_mu);
    return n;
}

void audit_last(const audit_log_t *log, unsigned long long *seq, uint8_t hash[32])
{
    audit_log_t *l = (audit_log_t *)log;
    pthread_mutex_lock(&l->mu);
    *seq = l->known_seq;
    memcpy(hash, l->known_hash, 32);
    pthread_mutex_unlock(&l->mu);
}
