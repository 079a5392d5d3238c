/* The active audit file: shared lock and state, mapped append, tail discovery, rotation, and
 * group-committed fdatasync.
 *
 * Records are copied into a MAP_SHARED window of the active file rather than write()n: the
 * bytes are in the page cache when audit_append returns (the same guarantee write() gives
 * against a process crash), without a system call per record. The file is grown ahead in
 * GROW_CHUNK steps of written zeros (grow()), so (1) no store ever lands beyond the file's size
 * (SIGBUS) and (2) a full disk shows up as an error from that write, not as a SIGBUS on a page
 * fault. Bytes after the logical end are zeros; every reader stops at the first line that
 * starts with a zero byte. The file is trimmed to its logical end on rotation and close.
 *
 * The mapped lock file holds, besides the mutex, the state of the active file as the last
 * writer left it (generation, logical end, size, newest seq and hash). A handle whose fd is of
 * the current generation trusts it and needs neither fstat() nor a read of the file's tail;
 * every CHECK_MS or CHECK_APPENDS it checks the file with fstat anyway, as it does after a
 * writer died holding the lock. */
#include "audit/writer.h"
#include "base/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define SHL_MAGIC 0x4352414155444954ULL /* "CRAAUDIT" */
#define SHL_VERSION 2
#define SHL_SIZE 4096
#define GROW_CHUNK ((off_t)1 << 20)
#define CHECK_MS 100
#define CHECK_APPENDS 4096

struct shared_lock {
    uint64_t magic;
    uint32_t version, size;
    pthread_mutex_t mu;
    /* Under mu. gen is bumped whenever a writer (re)opens the active path, so a handle whose
     * fd is of an older generation knows to look at its file again. The rest describes the
     * file of generation gen when valid is set: end is its logical end (whole records), fsize
     * its size (>= end, zeros in between), seq and hash its newest record's. */
    uint64_t gen, end, fsize, seq;
    uint8_t hash[32];
    uint32_t valid;
};

void aw_now_mono(struct timespec *ts) { clock_gettime(CLOCK_MONOTONIC, ts); }

static unsigned long long ms_between(const struct timespec *a, const struct timespec *b)
{
    long long ms = (long long)(b->tv_sec - a->tv_sec) * 1000 + (b->tv_nsec - a->tv_nsec) / 1000000;
    return ms < 0 ? 0 : (unsigned long long)ms;
}

unsigned long long aw_ms_since(const struct timespec *t)
{
    struct timespec n;
    aw_now_mono(&n);
    return ms_between(t, &n);
}

static void fsync_dir(const char *dir)
{
    int d = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (d >= 0) {
        fsync(d);
        close(d);
    }
}

/* ---- group commit ---- */

/* Whoever finds no fsync running starts one covering everything written so far; the others
 * wait for it and are done if it covered them. fdatasync on the fd also writes back pages
 * dirtied through the shared mapping (Linux keeps one page cache per file). */
CK_RV aw_sync_upto(audit_log_t *log, unsigned long long ticket)
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
            aw_now_mono(&log->last_sync);
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

static void unmap_window(audit_log_t *log)
{
    if (log->map)
        munmap(log->map, log->map_len);
    log->map = NULL;
    log->map_off = 0;
    log->map_len = 0;
}

/* Under mu: replaces the append fd once no fsync is using the old one. When the old file
 * stays reachable (rotation) its data was synced by the caller; mark everything synced. */
static void swap_fd(audit_log_t *log, int newfd, bool old_synced)
{
    unmap_window(log);
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

/* ---- shared lock ---- */

/* Maps the lock file and sets up its mutex once (under flock, the only time we take it). */
CK_RV aw_shared_open(audit_log_t *log)
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
    struct shared_lock *s = log->shl;
    if (s->magic != SHL_MAGIC || s->version != SHL_VERSION || s->size != (uint32_t)sizeof *s) {
        pthread_mutexattr_t a;
        pthread_mutexattr_init(&a);
        pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
        pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
        int r = pthread_mutex_init(&s->mu, &a);
        pthread_mutexattr_destroy(&a);
        if (r)
            goto out;
        s->gen = s->end = s->fsize = s->seq = 0;
        s->valid = 0;
        s->version = SHL_VERSION;
        s->size = (uint32_t)sizeof *s;
        __atomic_store_n(&s->magic, SHL_MAGIC, __ATOMIC_RELEASE);
    }
    rv = CKR_OK;
out:
    if (rv != CKR_OK)
        LOG_ERR("audit: cannot set up the lock in %s: %s", log->lock_path, strerror(errno));
    flock(log->lock_fd, LOCK_UN);
    return rv;
}

CK_RV aw_lock(audit_log_t *log)
{
    int r = pthread_mutex_lock(&log->shl->mu);
    if (r == EOWNERDEAD) {
        /* A writer died inside the section, perhaps halfway through a record: forget the
         * shared state and read the file again (which drops a torn record). */
        LOG_WARN("audit: a writer died holding the log lock; recovering");
        pthread_mutex_consistent(&log->shl->mu);
        log->shl->valid = 0;
        log->cache_valid = false;
        r = 0;
    }
    if (r) {
        LOG_ERR("audit: cannot lock %s: %s", log->lock_path, strerror(r));
        return CKR_DEVICE_ERROR;
    }
    return CKR_OK;
}

void aw_unlock(audit_log_t *log) { pthread_mutex_unlock(&log->shl->mu); }

/* Under the lock: the shared state now describes what this handle knows. */
static void publish(audit_log_t *log, off_t size)
{
    struct shared_lock *s = log->shl;
    s->gen = log->gen;
    s->end = (uint64_t)log->cache_size;
    s->fsize = (uint64_t)size;
    s->seq = log->known_seq;
    memcpy(s->hash, log->known_hash, 32);
    s->valid = log->cache_valid && log->have_known;
}

/* ---- finding the tail ---- */

static int open_active(audit_log_t *log)
{
    int fd = open(log->path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return -1;
    fchmod(fd, 0600);
    return fd;
}

/* Makes log->fd the active file (fstat: a rotated file is made read-only (0400) by the
 * process that rotates it, and a deleted one has no links; either means the path now names
 * another file). Opening the path starts a new generation. */
static CK_RV ensure_active(audit_log_t *log, struct stat *fs)
{
    if (log->fd >= 0 && fstat(log->fd, fs) == 0 && fs->st_nlink > 0 && (fs->st_mode & 0200)) {
        if (log->gen != log->shl->gen) {
            /* Someone else opened the path and our file still is it: same file, new number. */
            log->gen = log->shl->gen;
            log->cache_valid = false;
        }
        return CKR_OK;
    }
    int fd = open_active(log);
    if (fd < 0 || fstat(fd, fs)) {
        LOG_ERR("audit: cannot open %s: %s", log->path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return CKR_DEVICE_ERROR;
    }
    swap_fd(log, fd, false);
    log->gen = ++log->shl->gen;
    log->shl->valid = 0;
    log->cache_valid = false;
    return CKR_OK;
}

/* The end of a file's data and its last whole line. A mapped writer leaves zeros after the
 * logical end; a crash mid-copy leaves a line that is cut short or holds zero bytes. *end is
 * set to the offset after the last whole line and *torn tells whether non-zero bytes follow
 * it. Returns 1 (line copied), 0 (no whole line) or -1 (unreadable, or a line longer than any
 * record). */
static int last_line(int fd, off_t size, off_t *end, bool *torn, char *line, size_t cap,
                     size_t *len)
{
    char buf[2 * AUDIT_LINE_MAX + 2];
    *torn = false;
    *end = 0;
    /* Skip the zero room, a block at a time from the end. */
    off_t data = size;
    while (data > 0) {
        off_t start = data > (off_t)sizeof buf ? data - (off_t)sizeof buf : 0;
        if (pread(fd, buf, (size_t)(data - start), start) != data - start)
            return -1;
        ssize_t i = data - start;
        while (i > 0 && buf[i - 1] == 0)
            i--;
        if (i > 0) {
            data = start + i;
            break;
        }
        data = start;
    }
    if (data == 0)
        return 0;
    off_t start = data > (off_t)sizeof buf ? data - (off_t)sizeof buf : 0;
    ssize_t n = data - start;
    if (pread(fd, buf, (size_t)n, start) != n)
        return -1;
    ssize_t e = n; /* buf[..e) ends with the last whole line */
    ssize_t b = e - 1;
    while (b > 0 && buf[b - 1] != '\n')
        b--;
    if (buf[e - 1] != '\n' || memchr(buf + b, 0, (size_t)(e - b))) {
        *torn = true; /* [b, e) is a record cut short */
        e = b;
        if (e == 0) {
            *end = start;
            return start == 0 ? 0 : -1;
        }
        b = e - 1;
        while (b > 0 && buf[b - 1] != '\n')
            b--;
    }
    *end = start + e;
    if ((b == 0 && start != 0) || memchr(buf + b, 0, (size_t)(e - b)))
        return -1; /* a line longer than any record, or zeros inside the line before */
    size_t l = (size_t)(e - 1 - b);
    if (l >= cap)
        return -1;
    memcpy(line, buf + b, l);
    line[l] = 0;
    *len = l;
    return 1;
}

/* Newest record in the files: 1 found (seq, hash), 0 no record anywhere, -1 unreadable,
 * -2 the chain type differs from the configuration. Sets the logical end (cache_size) and
 * cuts off a torn record, so the next one follows the last whole line (and no torn bytes
 * are left after a shorter one). */
static int file_tail(audit_log_t *log, off_t size, unsigned long long *seq, uint8_t hash[32])
{
    char line[AUDIT_LINE_MAX + 1];
    size_t len;
    off_t end;
    bool torn;
    int r = last_line(log->fd, size, &end, &torn, line, sizeof line, &len);
    if (r >= 0 || torn)
        log->cache_size = end;
    if (torn) {
        /* Not a record: a write cut short by a crash. Drop it so the chain can go on. */
        LOG_WARN("audit: dropping a partial record at the end of %s", log->path);
        unmap_window(log);
        if (ftruncate(log->fd, end))
            return -1;
        log->shl->fsize = (uint64_t)end;
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
        r = last_line(fd, sb.st_size, &end, &torn, line, sizeof line, &len);
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

/* Takes the tail found in the files (r as file_tail returns) as the one to chain on; writes
 * a restart record when the files end before (or differ from) what this handle knows:
 * records were cut off the end. */
static CK_RV take_tail(audit_log_t *log, int r, unsigned long long seq, const uint8_t hash[32])
{
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
    return aw_emit_note(log, "audit.restart", what, CKR_DEVICE_ERROR);
}

CK_RV aw_prepare(audit_log_t *log)
{
    struct shared_lock *s = log->shl;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
    bool current = log->fd >= 0 && log->cache_valid && s->valid && s->gen == log->gen;
    if (current && ++log->unchecked < CHECK_APPENDS && ms_between(&log->checked, &now) < CHECK_MS) {
        if (s->end == (uint64_t)log->cache_size && s->seq == log->known_seq)
            return CKR_OK; /* nobody wrote since our last record */
        /* Another handle appended: chain on from its record, as the file would tell. */
        log->cache_size = (off_t)s->end;
        CK_RV rv = take_tail(log, 1, s->seq, s->hash);
        if (rv == CKR_OK)
            publish(log, (off_t)s->fsize);
        return rv;
    }
    log->checked = now;
    log->unchecked = 0;
    log->cache_valid = false; /* until the check below succeeds: a failed one is repeated */
    struct stat sb;
    CK_RV rv = ensure_active(log, &sb);
    if (rv != CKR_OK)
        return rv;
    if (s->valid && s->gen == log->gen && s->fsize == (uint64_t)sb.st_size) {
        /* The file is the one the shared state describes. */
        log->cache_size = (off_t)s->end;
        rv = take_tail(log, 1, s->seq, s->hash);
        if (rv == CKR_OK)
            publish(log, sb.st_size);
        return rv;
    }
    /* Read the file itself. From here the shared size is the file's, as make_room needs when
     * take_tail writes a restart record. */
    s->valid = 0;
    s->fsize = (uint64_t)sb.st_size;
    unsigned long long seq = 0;
    uint8_t hash[32];
    int r = file_tail(log, sb.st_size, &seq, hash);
    if (r == -2)
        return CKR_DEVICE_ERROR;
    rv = take_tail(log, r, seq, hash);
    if (rv == CKR_OK)
        publish(log, (off_t)s->fsize);
    return rv;
}

/* ---- appending ---- */

/* Extends the file from have to want with zeros actually written, not only reserved: the
 * blocks are allocated (a full disk is an error here, never a SIGBUS in a store) and the
 * pages sit in the page cache already dirty, so the appends that fill them take no page
 * faults beyond mapping a cached page (an unwritten extent costs a read fault and a
 * page_mkwrite per page, about 0.5 us per record). 0 or an errno value. */
static int grow(int fd, off_t have, off_t want)
{
    static const char zeros[65536];
    off_t start = have;
    while (have < want) {
        size_t n = (size_t)(want - have) < sizeof zeros ? (size_t)(want - have) : sizeof zeros;
        ssize_t w = pwrite(fd, zeros, n, have);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            if (ftruncate(fd, start)) /* give back a partial chunk; the size stays as known */
                LOG_WARN("audit: cannot trim a partial extension: %s", strerror(errno));
            return e;
        }
        have += w;
    }
    return 0;
}

/* Makes room for len bytes at the logical end: grows the file (every handle trusts the shared
 * size, never its own mapping, to know how far it may store) and maps a window holding it. */
static int make_room(audit_log_t *log, size_t len)
{
    struct shared_lock *s = log->shl;
    off_t need = log->cache_size + (off_t)len;
    if ((uint64_t)need > s->fsize) {
        off_t have = (off_t)s->fsize, want = (need + GROW_CHUNK - 1) / GROW_CHUNK * GROW_CHUNK;
        int e = grow(log->fd, have, want);
        if (e) {
            /* Near a quota or a size limit a whole chunk may not fit where a record would. */
            want = need;
            e = grow(log->fd, have, want);
        }
        if (e) {
            errno = e;
            return -1;
        }
        s->fsize = (uint64_t)want;
    }
    if (!log->map || log->cache_size < log->map_off ||
        need > log->map_off + (off_t)log->map_len) {
        unmap_window(log);
        off_t off = log->cache_size / GROW_CHUNK * GROW_CHUNK;
        size_t mlen = (size_t)((off_t)s->fsize - off);
        void *p = mmap(NULL, mlen, PROT_READ | PROT_WRITE, MAP_SHARED, log->fd, off);
        if (p == MAP_FAILED)
            return -1;
        log->map = p;
        log->map_off = off;
        log->map_len = mlen;
    }
    return 0;
}

/* Closes the full file under the name of its last record and starts a new one. Problems
 * only postpone rotation; the record then still goes to the current file. */
static void rotate(audit_log_t *log)
{
    char rot[AUDIT_PATH_MAX + 96];
    snprintf(rot, sizeof rot, "%s.%020llu", log->path, log->known_seq);
    /* Trimmed, so the rotated file holds records only (the shared size follows the file
     * whatever happens next: other handles grow it again before they store). */
    unmap_window(log);
    if (ftruncate(log->fd, log->cache_size)) {
        LOG_WARN("audit: rotation of %s postponed: %s", log->path, strerror(errno));
        return;
    }
    log->shl->fsize = (uint64_t)log->cache_size;
    /* 0400 tells every other handle, when it next checks its file (the generation changes
     * below), to reopen the path. */
    if (fdatasync(log->fd) == 0 && fchmod(log->fd, 0400) == 0 && link(log->path, rot) == 0) {
        if (unlink(log->path) == 0) {
            int fd = open_active(log);
            if (fd >= 0) {
                swap_fd(log, fd, true);
                log->gen = ++log->shl->gen;
                log->cache_size = 0;
                publish(log, 0);
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

CK_RV aw_emit(audit_log_t *log, struct rec_fields *f, unsigned long long *seq_out,
              uint8_t hash_out[32])
{
    static const uint8_t zero[32];
    char line[AUDIT_LINE_MAX + 1];
    uint8_t h[32];
    f->seq = log->have_known ? log->known_seq + 1 : 0;
    rec_time_now(&log->clock, f->time);
    int len = rec_build_with(log->md, line, sizeof line, f,
                             log->have_known ? log->known_hash : zero, log->key, log->keylen, h);
    if (len < 0)
        return CKR_GENERAL_ERROR;
    if (log->cfg.rotate_bytes && log->cache_size > 0 && log->have_known &&
        (unsigned long long)log->cache_size + (unsigned)len > log->cfg.rotate_bytes)
        rotate(log);
    if (make_room(log, (size_t)len)) {
        LOG_ERR("audit: cannot write %s: %s", log->path, strerror(errno));
        return CKR_DEVICE_ERROR;
    }
    /* The first byte last: a reader that sees it sees a whole line, and one that does not
     * sees a line starting with a zero byte, which ends the data. */
    char *dst = (char *)log->map + (log->cache_size - log->map_off);
    memcpy(dst + 1, line + 1, (size_t)len - 1);
    __atomic_store_n(dst, line[0], __ATOMIC_RELEASE);
    log->cache_size += len;
    log->known_seq = f->seq;
    memcpy(log->known_hash, h, 32);
    log->have_known = true;
    log->cache_valid = true;
    publish(log, (off_t)log->shl->fsize);
    pthread_mutex_lock(&log->sync_mu);
    log->written++;
    pthread_mutex_unlock(&log->sync_mu);
    if (seq_out)
        *seq_out = f->seq;
    if (hash_out)
        memcpy(hash_out, h, 32);
    return CKR_OK;
}

CK_RV aw_emit_note(audit_log_t *log, const char *op, const char *what, CK_RV result)
{
    struct rec_fields f = { 0 };
    f.pid = log->pid;
    f.slot = log->slot;
    f.user = -1;
    f.op = op;
    f.mech = CK_UNAVAILABLE_INFORMATION;
    f.object = what;
    f.result = result;
    return aw_emit(log, &f, NULL, NULL);
}

void aw_trim(audit_log_t *log)
{
    struct shared_lock *s = log->shl;
    if (log->fd < 0 || !s || !s->valid || s->gen != log->gen || s->fsize <= s->end)
        return;
    /* Other handles grow the file again before they store past the new size. */
    unmap_window(log);
    if (ftruncate(log->fd, (off_t)s->end) == 0)
        s->fsize = s->end;
    else
        s->valid = 0;
}

void aw_release(audit_log_t *log)
{
    unmap_window(log);
    if (log->fd >= 0)
        close(log->fd);
    log->fd = -1;
    if (log->shl)
        munmap(log->shl, SHL_SIZE);
    log->shl = NULL;
    if (log->lock_fd >= 0)
        close(log->lock_fd);
    log->lock_fd = -1;
}
