/* Internal to src/audit: the writer's handle, shared by audit.c (API, anchor) and active.c
 * (the active file: shared lock, append, tail discovery, rotation, group commit). */
#ifndef CRATON_AUDIT_WRITER_H
#define CRATON_AUDIT_WRITER_H
#include "audit/audit.h"
#include "audit/record.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

struct shared_lock; /* active.c: the mapped slot-<id>.audit-lock */

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
    bool cache_valid;     /* the active file ends at cache_size with the record known */
    off_t cache_size;     /* logical end: the bytes of whole records */
    uint64_t gen;         /* generation of the active file that fd is (see active.c) */
    struct timespec checked; /* last fstat of fd (coarse monotonic clock) */
    unsigned long unchecked; /* appends since then */
    uint8_t *map;         /* window of the active file mapped shared, or NULL */
    off_t map_off;
    size_t map_len;
    struct rec_clock clock; /* formatted date of the current second (under mu) */
    EVP_MD_CTX *md;       /* the chain's SHA-256, reused under mu (NULL: one per record) */
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

void aw_now_mono(struct timespec *ts);
unsigned long long aw_ms_since(const struct timespec *t);

/* Maps the lock file and sets up its shared state once. */
CK_RV aw_shared_open(audit_log_t *log);
/* The cross-process lock, taken with mu held. */
CK_RV aw_lock(audit_log_t *log);
void aw_unlock(audit_log_t *log);
/* Under the lock: makes fd the active file and brings the known tail up to date (writing a
 * restart record when records were cut off the end). */
CK_RV aw_prepare(audit_log_t *log);
/* Under the lock: appends one record chained to the known tail (seq 0 when none). */
CK_RV aw_emit(audit_log_t *log, struct rec_fields *f, unsigned long long *seq_out,
              uint8_t hash_out[32]);
CK_RV aw_emit_note(audit_log_t *log, const char *op, const char *what, CK_RV result);
/* Under the lock: cuts the zero-filled room after the last record off the active file. */
void aw_trim(audit_log_t *log);
/* Returns once every write up to ticket is on disk (group commit). */
CK_RV aw_sync_upto(audit_log_t *log, unsigned long long ticket);
/* Unmaps and closes the active file and the lock file. */
void aw_release(audit_log_t *log);
#endif
