/* Audit writer: lock, read tail, one append, group-committed fsync, rotation, tail anchor. */
#include "audit/audit.h"
#include "audit/record.h"
#include "base/log.h"
#include "base/ossl.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SHL_MAGIC 0x4352414155444954ULL /* "CRAAUDIT" */
#define SHL_SIZE 4096
struct shared_lock {
    uint64_t magic;
    uint32_t version, size;
    pthread_mutex_t mu;
};

struct audit_log {
    struct audit_config cfg;
    unsigned long slot;
    char dir[AUDIT_PATH_MAX], path[AUDIT_PATH_MAX + 64], lock_path[AUDIT_PATH_MAX + 64];
    char db_path[AUDIT_PATH_MAX + 64];
    uint8_t *key; /* NULL: plain SHA-256 chain */
    size_t keylen;

    /* Append section: mu orders this process's threads; the robust process-shared mutex in
     * the mapped lock file orders processes without a system call when uncontended. */
    pthread_mutex_t mu;
    int fd, lock_fd;
    struct shared_lock *shl;
    long pid;             /* of the process that opened the handle (children open their own) */
    bool cache_valid;     /* the active file's size is cache_size and ends with record known */
    off_t cache_size;
    bool have_known;      /* newest record written or seen by this handle */
    unsigned long long known_seq;
    uint8_t known_hash[32];

    /* Group commit: one thread fsyncs for everyone whose write it covers. */
    pthread_mutex_t sync_mu;
    pthread_cond_t sync_cv;
    unsigned long long written, synced, fsyncs;
    bool syncing;
    struct timespec last_sync;

    /* Tail anchor in slot-<id>.db (our own connection). */
    pthread_mutex_t db_mu;
    sqlite3 *db;
    sqlite3_stmt *upsert;
    bool pending;          /* an anchor update failed (busy) and is retried later */
    unsigned long long pending_seq;
    uint8_t pending_hash[32];
};

static void now_mono(struct timespec *ts) { clock_gettime(CLOCK_MONOTONIC, ts); }

static unsigned long long ms_since(const struct timespec *t)
{
    struct timespec n;
    now_mono(&n);
    long long ms = (long long)(n.tv_sec - t->tv_sec) * 1000 + (n.tv_nsec - t->tv_nsec) / 1000000;
    return ms < 0 ? 0 : (unsigned long long)ms;
}

static void fsync_dir(const char *dir)
{
    int d = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (d >= 0) {
        fsync(d);
        close(d);
    }
}

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

/* ---- group commit ---- */

/* Returns once every write up to ticket is on disk. Whoever finds no fsync running starts one
 * covering everything written so far; the others wait for it and are done if it covered them. */
static CK_RV sync_upto(audit_log_t *log, unsigned long long ticket)
{
    CK_RV rv = CKR_OK;
    pthread_mutex_lock(&log->sync_mu);
    while (log->synced < ticket) {
        if (log->syncing) {
            pthread_cond_wait(&log->sync_cv, &log->sync_mu);
            continue;
        }
        log->syncing = true;
        unsigned long long target = log->written;
        int fd = log->fd;
        pthread_mutex_unlock(&log->sync_mu);
        int r = fdatasync(fd);
        int e = errno;
        pthread_mutex_lock(&log->sync_mu);
        log->syncing = false;
        log->fsyncs++;
        if (r == 0) {
            if (target > log->synced)
                log->synced = target;
            now_mono(&log->last_sync);
        }
        pthread_cond_broadcast(&log->sync_cv);
        if (r != 0) {
            LOG_ERR("audit: fdatasync: %s", strerror(e));
            rv = CKR_DEVICE_ERROR;
            break;
        }
    }
    pthread_mutex_unlock(&log->sync_mu);
    return rv;
}

/* Under mu: replaces the append fd once no fsync is using the old one. When the old file
 * stays reachable (rotation) its data was synced by the caller; mark everything synced. */
static void swap_fd(audit_log_t *log, int newfd, bool old_synced)
{
    pthread_mutex_lock(&log->sync_mu);
    while (log->syncing)
        pthread_cond_wait(&log->sync_cv, &log->sync_mu);
    if (log->fd >= 0) {
        if (!old_synced)
            fdatasync(log->fd); /* another process rotated it; flush what we wrote */
        close(log->fd);
    }
    log->fd = newfd;
    log->synced = log->written;
    pthread_mutex_unlock(&log->sync_mu);
}

/* ---- the append section (mu and the flock held) ---- */

static int open_active(audit_log_t *log)
{
    int fd = open(log->path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return -1;
    fchmod(fd, 0600);
    return fd;
}

/* Makes log->fd the active file and returns its stat. One fstat() per append: a rotated file
 * is made read-only (0400) by the process that rotates it, and a deleted one has no links, so
 * either tells us that the path now names another file. */
static CK_RV ensure_active(audit_log_t *log, struct stat *fs)
{
    if (log->fd >= 0 && fstat(log->fd, fs) == 0 && fs->st_nlink > 0 && (fs->st_mode & 0200))
        return CKR_OK;
    int fd = open_active(log);
    if (fd < 0 || fstat(fd, fs)) {
        LOG_ERR("audit: cannot open %s: %s", log->path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return CKR_DEVICE_ERROR;
    }
    swap_fd(log, fd, false);
    log->cache_valid = false;
    return CKR_OK;
}

/* The last complete line of a file: 1 found, 0 empty, -1 error. *torn_at is set to the offset
 * just after the last '\n' when the file ends in a partial line (a write cut by a crash). */
static int read_last_line(int fd, off_t size, char *line, size_t cap, size_t *len, off_t *torn_at)
{
    char buf[2 * AUDIT_LINE_MAX + 2];
    *torn_at = -1;
    if (size == 0)
        return 0;
    off_t start = size > (off_t)sizeof buf ? size - (off_t)sizeof buf : 0;
    ssize_t n = pread(fd, buf, (size_t)(size - start), start);
    if (n != size - start)
        return -1;
    ssize_t end = n;
    if (buf[end - 1] != '\n') {
        while (end > 0 && buf[end - 1] != '\n')
            end--;
        *torn_at = start + end;
        if (end == 0)
            return start == 0 ? 0 : -1;
    }
    ssize_t b = end - 1;
    while (b > 0 && buf[b - 1] != '\n')
        b--;
    if (b == 0 && start != 0)
        return -1; /* a line longer than any record */
    size_t l = (size_t)(end - 1 - b);
    if (l >= cap)
        return -1;
    memcpy(line, buf + b, l);
    line[l] = 0;
    *len = l;
    return 1;
}

/* Newest record in the files: 1 found (seq, hash), 0 no record anywhere, -1 unreadable. */
static int file_tail(audit_log_t *log, off_t size, unsigned long long *seq, uint8_t hash[32])
{
    char line[AUDIT_LINE_MAX + 1];
    size_t len;
    off_t torn;
    int r = read_last_line(log->fd == -1 ? -1 : log->fd, size, line, sizeof line, &len, &torn);
    if (torn >= 0) {
        /* Not a record: a write cut short by a crash. Drop it so the chain can go on. */
        LOG_WARN("audit: dropping a partial record at the end of %s", log->path);
        if (ftruncate(log->fd, torn))
            return -1;
        log->cache_size = torn;
    }
    if (r == 0) {
        /* The active file is empty: the tail is in the newest rotated file. */
        struct rot_file *rf;
        int n = rec_list_rotated(log->dir, log->slot, &rf);
        if (n <= 0)
            return n < 0 ? -1 : 0;
        int fd = open(rf[n - 1].path, O_RDONLY | O_CLOEXEC);
        rec_free_rotated(rf, n);
        struct stat sb;
        if (fd < 0 || fstat(fd, &sb)) {
            if (fd >= 0)
                close(fd);
            return -1;
        }
        r = read_last_line(fd, sb.st_size, line, sizeof line, &len, &torn);
        close(fd);
        if (r == 0)
            return 0;
    }
    if (r < 0)
        return -1;
    struct audit_record rec;
    if (rec_parse(line, len, &rec))
        return -1;
    if (rec.keyed != (log->key != NULL)) {
        LOG_ERR("audit: %s is %s but the configuration %s a key", log->path,
                rec.keyed ? "keyed" : "not keyed", log->key ? "gives" : "gives no");
        return -2;
    }
    uint8_t h[32];
    if (rec_chain_hash(line, &rec, log->key, log->keylen, h) || memcmp(h, rec.hash, 32)) {
        /* Chaining on after it keeps the damage visible to the verifier at this record. */
        LOG_ERR("audit: the newest record (seq %llu) does not verify%s", rec.seq,
                log->key ? " (wrong key?)" : "");
    }
    *seq = rec.seq;
    memcpy(hash, rec.hash, 32);
    return 1;
}

/* Writes one record after the current tail (known). Needs have_known, or writes seq 0. */
static CK_RV emit(audit_log_t *log, struct rec_fields *f, unsigned long long *seq_out,
                  uint8_t hash_out[32])
{
    static const uint8_t zero[32];
    char line[AUDIT_LINE_MAX + 1];
    uint8_t h[32];
    f->seq = log->have_known ? log->known_seq + 1 : 0;
    rec_time_now(f->time);
    int len = rec_build(line, sizeof line, f, log->have_known ? log->known_hash : zero, log->key,
                        log->keylen, h);
    if (len < 0)
        return CKR_GENERAL_ERROR;
    /* Rotation: close the full file under the name of its last record and start a new one.
     * Problems here only postpone rotation; the record still goes to the current file. */
    if (log->cfg.rotate_bytes && log->cache_size > 0 && log->have_known &&
        (unsigned long long)log->cache_size + (unsigned)len > log->cfg.rotate_bytes) {
        char rot[AUDIT_PATH_MAX + 96];
        snprintf(rot, sizeof rot, "%s.%020llu", log->path, log->known_seq);
        /* 0400 first: it tells every other handle, at its next fstat, to reopen the path. */
        if (fdatasync(log->fd) == 0 && fchmod(log->fd, 0400) == 0 && link(log->path, rot) == 0) {
            if (unlink(log->path) == 0) {
                int fd = open_active(log);
                if (fd >= 0) {
                    swap_fd(log, fd, true);
                    log->cache_size = 0;
                }
                fsync_dir(log->dir);
            } else {
                unlink(rot);
                fchmod(log->fd, 0600);
            }
        } else {
            fchmod(log->fd, 0600);
            LOG_WARN("audit: rotation of %s postponed: %s", log->path, strerror(errno));
        }
    }
    ssize_t w = write(log->fd, line, (size_t)len);
    if (w != len) {
        LOG_ERR("audit: cannot write %s: %s", log->path, w < 0 ? strerror(errno) : "short write");
        /* Take back a partial line so the file still ends on a whole record. */
        if (w > 0 && ftruncate(log->fd, log->cache_size))
            log->cache_valid = false;
        return CKR_DEVICE_ERROR;
    }
    log->cache_size += len;
    log->known_seq = f->seq;
    memcpy(log->known_hash, h, 32);
    log->have_known = true;
    pthread_mutex_lock(&log->sync_mu);
    log->written++;
    pthread_mutex_unlock(&log->sync_mu);
    if (seq_out)
        *seq_out = f->seq;
    if (hash_out)
        memcpy(hash_out, h, 32);
    return CKR_OK;
}

static CK_RV emit_note(audit_log_t *log, const char *op, const char *what, CK_RV result)
{
    struct rec_fields f = { 0 };
    f.pid = log->pid;
    f.slot = log->slot;
    f.user = -1;
    f.op = op;
    f.mech = CK_UNAVAILABLE_INFORMATION;
    f.object = what;
    f.result = result;
    return emit(log, &f, NULL, NULL);
}

/* Brings the cached tail up to date with the files; writes a restart record when the files
 * end before (or differ from) what this handle knows: records were cut off the end. */
static CK_RV refresh_tail(audit_log_t *log, const struct stat *fs)
{
    struct stat sb = *fs;
    if (log->cache_valid && sb.st_size == log->cache_size)
        return CKR_OK;
    log->cache_size = sb.st_size;
    unsigned long long seq = 0;
    uint8_t hash[32];
    int r = file_tail(log, sb.st_size, &seq, hash);
    if (r == -2)
        return CKR_DEVICE_ERROR;
    if (r < 0) {
        if (!log->have_known) {
            LOG_ERR("audit: the end of %s cannot be read; run craton-audit verify", log->path);
            return CKR_DEVICE_ERROR;
        }
        r = -1; /* chain on from what we know; the verifier shows the damage */
    }
    log->cache_valid = r >= 0;
    if (r == 1 && (!log->have_known || seq > log->known_seq ||
                   (seq == log->known_seq && !memcmp(hash, log->known_hash, 32)))) {
        log->known_seq = seq;
        memcpy(log->known_hash, hash, 32);
        log->have_known = true;
        return CKR_OK;
    }
    if (!log->have_known)
        return CKR_OK; /* no records anywhere: the caller writes the genesis */
    char what[160];
    if (r == 1)
        snprintf(what, sizeof what, "log ends at seq %llu but seq %llu was written; continuing "
                 "from seq %llu", seq, log->known_seq, log->known_seq);
    else if (r == 0)
        snprintf(what, sizeof what, "log records missing; continuing from seq %llu",
                 log->known_seq);
    else
        snprintf(what, sizeof what, "newest record unreadable; continuing from seq %llu",
                 log->known_seq);
    LOG_ERR("audit: %s: %s", log->path, what);
    return emit_note(log, "audit.restart", what, CKR_DEVICE_ERROR);
}

/* Maps the lock file and sets up its mutex once (under flock, the only time we take it). */
static CK_RV shared_lock_open(audit_log_t *log)
{
    log->lock_fd = open(log->lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (log->lock_fd < 0) {
        LOG_ERR("audit: cannot open %s: %s", log->lock_path, strerror(errno));
        return CKR_DEVICE_ERROR;
    }
    CK_RV rv = CKR_DEVICE_ERROR;
    while (flock(log->lock_fd, LOCK_EX))
        if (errno != EINTR)
            return CKR_DEVICE_ERROR;
    struct stat sb;
    if (fstat(log->lock_fd, &sb) || (sb.st_size < SHL_SIZE && ftruncate(log->lock_fd, SHL_SIZE)))
        goto out;
    void *p = mmap(NULL, SHL_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, log->lock_fd, 0);
    if (p == MAP_FAILED)
        goto out;
    log->shl = p;
    if (log->shl->magic != SHL_MAGIC || log->shl->version != 1 ||
        log->shl->size != (uint32_t)sizeof *log->shl) {
        pthread_mutexattr_t a;
        pthread_mutexattr_init(&a);
        pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
        pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
        int r = pthread_mutex_init(&log->shl->mu, &a);
        pthread_mutexattr_destroy(&a);
        if (r)
            goto out;
        log->shl->version = 1;
        log->shl->size = (uint32_t)sizeof *log->shl;
        __atomic_store_n(&log->shl->magic, SHL_MAGIC, __ATOMIC_RELEASE);
    }
    rv = CKR_OK;
out:
    if (rv != CKR_OK)
        LOG_ERR("audit: cannot set up the lock in %s: %s", log->lock_path, strerror(errno));
    flock(log->lock_fd, LOCK_UN);
    return rv;
}

static CK_RV lock_file(audit_log_t *log)
{
    int r = pthread_mutex_lock(&log->shl->mu);
    if (r == EOWNERDEAD) {
        /* A writer died inside the section; whatever it left is re-read from the file. */
        LOG_WARN("audit: a writer died holding the log lock; recovering");
        pthread_mutex_consistent(&log->shl->mu);
        log->cache_valid = false;
        r = 0;
    }
    if (r) {
        LOG_ERR("audit: cannot lock %s: %s", log->lock_path, strerror(r));
        return CKR_DEVICE_ERROR;
    }
    return CKR_OK;
}

static void unlock_file(audit_log_t *log) { pthread_mutex_unlock(&log->shl->mu); }

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
    log->cfg = *cfg;
    if (!log->cfg.tail_every)
        log->cfg.tail_every = 256;
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
    now_mono(&log->last_sync);
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
    if ((rv = shared_lock_open(log)) != CKR_OK)
        goto fail;
    /* What the token database last anchored: a log that ends before it was cut. */
    if (db_ensure(log) == 0 && db_read_anchor(log, &log->known_seq, log->known_hash))
        log->have_known = true;
    if ((rv = lock_file(log)) != CKR_OK)
        goto fail;
    struct stat fs;
    rv = ensure_active(log, &fs);
    if (rv == CKR_OK)
        rv = refresh_tail(log, &fs);
    if (rv == CKR_OK && !log->have_known) {
        char what[AUDIT_OBJECT_MAX + 1];
        snprintf(what, sizeof what, "chain=%s;token=%s", log->key ? "hmac-sha256" : "sha256",
                 token_name ? token_name : "");
        rv = emit_note(log, "audit.genesis", what, CKR_OK);
    }
    unlock_file(log);
    if (rv == CKR_OK && log->written)
        rv = sync_upto(log, log->written);
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
    CK_RV rv = lock_file(log);
    if (rv == CKR_OK) {
        struct stat fs;
        rv = ensure_active(log, &fs);
        if (rv == CKR_OK)
            rv = refresh_tail(log, &fs);
        if (rv == CKR_OK)
            rv = emit(log, &f, &seq, hash);
        unlock_file(log);
    }
    pthread_mutex_lock(&log->sync_mu);
    ticket = log->written;
    pthread_mutex_unlock(&log->sync_mu);
    pthread_mutex_unlock(&log->mu);

    enum audit_sync mode = ev->per_use ? log->cfg.sync_per_use : log->cfg.sync;
    if (rv == CKR_OK) {
        if (mode == AUDIT_SYNC_ALWAYS) {
            rv = sync_upto(log, ticket);
        } else if (mode == AUDIT_SYNC_INTERVAL) {
            pthread_mutex_lock(&log->sync_mu);
            bool due = ms_since(&log->last_sync) >= log->cfg.interval_ms;
            pthread_mutex_unlock(&log->sync_mu);
            if (due)
                rv = sync_upto(log, ticket);
        }
    }
    if (rv == CKR_OK && (!ev->per_use || seq % log->cfg.tail_every == 0) && anchor_possible(log)) {
        /* The anchor must never claim a record the disk does not hold. */
        if (mode == AUDIT_SYNC_ALWAYS || sync_upto(log, ticket) == CKR_OK)
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
    if (log->fd >= 0)
        close(log->fd);
    if (log->shl)
        munmap(log->shl, SHL_SIZE);
    if (log->lock_fd >= 0)
        close(log->lock_fd);
    if (owner)
        db_drop(log);
    audit_key_free(log->key);
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
        unsigned long long seq = log->known_seq, ticket;
        uint8_t hash[32];
        memcpy(hash, log->known_hash, 32);
        pthread_mutex_lock(&log->sync_mu);
        ticket = log->written;
        pthread_mutex_unlock(&log->sync_mu);
        pthread_mutex_unlock(&log->mu);
        /* known may be another process's record that it has not flushed yet */
        if (sync_upto(log, ticket) == CKR_OK && fdatasync(log->fd) == 0)
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
