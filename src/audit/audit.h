/* Tamper-evident audit log: one hash chain per token, appended before each audited call returns. */
#ifndef CRATON_AUDIT_AUDIT_H
#define CRATON_AUDIT_AUDIT_H
#include "pkcs11.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AUDIT_PATH_MAX 4096
#define AUDIT_OP_MAX 64       /* longer operation names are cut (documented in docs/audit.md) */
#define AUDIT_OBJECT_MAX 512  /* longer object strings are cut */

struct audit_config {           /* from the [audit] section */
    enum { AUDIT_LEVEL_ALL, AUDIT_LEVEL_AUTH_ADMIN } level;   /* level = all | auth+admin */
    enum audit_sync { AUDIT_SYNC_ALWAYS, AUDIT_SYNC_INTERVAL, AUDIT_SYNC_NONE } sync; /* sync = ... */
    /* sync_per_use: the same choice for key-use records (default interval). Each is written
     * before its call returns either way; this only says when it is forced to the disk. An
     * fsync per signature would cap every key at the disk's flush rate. */
    enum audit_sync sync_per_use;
    /* sync_objects: the same for records that name an object without being a key use
     * (C_CreateObject, C_DestroyObject, key generation, ...; default interval). The token
     * store itself does not flush each commit either; sync keeps authentication and token
     * administration records (no object) on their own setting. */
    enum audit_sync sync_objects;
    unsigned long interval_ms;  /* interval_ms, for sync = interval (default 1000) */
    unsigned long rotate_bytes; /* rotate_bytes (default 16 MiB; 0 = never rotate) */
    bool required_for_non_key;  /* !fail_open_non_key (default true: every audited call fails) */
    bool enabled;               /* enabled (default true) */
    /* Keyed chain: key_file names a file (mode 0600 or 0400) holding 32 random bytes, raw or as
     * 64 hex digits. Empty: plain SHA-256 chain. See docs/audit.md for what each mode stops. */
    char key_file[AUDIT_PATH_MAX];
    /* tail_every: the (seq, hash) anchor in slot-<id>.db is refreshed after every record that
     * names neither a key use nor an object, after every record whose seq is a multiple of
     * this (default 4096), and whenever an interval flush has just put the record on disk. */
    unsigned long tail_every;
};

/* Defaults alone. */
void audit_config_defaults(struct audit_config *cfg);
/* Defaults, then the [audit] section of ini_path ("" = defaults only). On a bad value returns
 * CKR_ARGUMENTS_BAD with a one-line reason in err. */
CK_RV audit_config_load(const char *ini_path, struct audit_config *cfg, char *err, size_t errlen);

typedef struct audit_log audit_log_t;

/* Opens (creating when needed) the chain <token_dir>/slot-<id>.audit (+ rotated files
 * slot-<id>.audit.<last seq>). Writes the genesis record naming the token on first open, and a
 * restart record when the log is behind what this token last anchored (truncation). Needs
 * ossl_open() to have succeeded. Returns CKR_OK, CKR_DEVICE_ERROR, CKR_HOST_MEMORY,
 * CKR_ARGUMENTS_BAD (bad key file) or CKR_GENERAL_ERROR. With enabled = false it returns a
 * handle on which audit_append does nothing. */
CK_RV audit_open(const char *token_dir, unsigned long slot_id, const char *token_name,
                 const struct audit_config *cfg, audit_log_t **out);
/* Flushes, anchors the tail in the token database, frees. NULL is a no-op. */
void audit_close(audit_log_t *log);
/* In a forked child: releases the parent's handle without touching its SQLite connection
 * or flushing anything (the parent still owns those). The child opens its own log. */
void audit_forget_after_fork(audit_log_t *log);

struct audit_event {
    unsigned long slot; unsigned long session;   /* 0 when none */
    long user;                                   /* CKU_SO=0, CKU_USER=1, CKU_CONTEXT_SPECIFIC=2, -1 none */
    const char *op;                              /* "C_Login", "C_Sign", "self-test", "tamper" ... */
    unsigned long mech;                          /* CK_UNAVAILABLE_INFORMATION (~0UL) when none */
    const char *object;                          /* CKA_UNIQUE_ID string or NULL; NEVER key bytes */
    unsigned long result;                        /* the CK_RV returned */
    bool per_use;                                /* a key use: omitted at level auth+admin */
};

/* Appends synchronously (lock, find the tail, copy the record into the mapped active file,
 * release) before returning; safe from many threads and processes. CKR_OK, or CKR_DEVICE_ERROR when the record could not be written (or, with
 * sync = always, not flushed). A filtered-out per_use event returns CKR_OK without writing.
 * With fail_open_non_key = true, a failure on an event that is neither per_use nor names an
 * object is logged and CKR_OK returned. */
CK_RV audit_append(audit_log_t *log, const struct audit_event *ev);

/* Number of fdatasync() calls this handle made (tests: proves sync = always and group commit). */
unsigned long long audit_fsync_count(const audit_log_t *log);
/* Sequence number and hash of the newest record this handle wrote or saw. */
void audit_last(const audit_log_t *log, unsigned long long *seq, uint8_t hash[32]);

/* Verifies a whole chain across rotated files, and against the tail anchor in slot-<id>.db when
 * that file exists. ok = false names the first bad record in bad_seq and why. When ok, why may
 * still carry a note (e.g. the tail anchor was not checked). Returns CKR_OK whenever the
 * verification ran (whatever its outcome), CKR_HOST_MEMORY/CKR_GENERAL_ERROR otherwise. */
struct audit_verify_result { bool ok; unsigned long long records; unsigned long long bad_seq; char why[256]; };
CK_RV audit_verify(const char *token_dir, unsigned long slot_id, struct audit_verify_result *res);
/* The same for a keyed chain (key NULL: a keyed chain is reported as not verifiable; a key
 * given for an unkeyed chain is reported as a downgrade). */
CK_RV audit_verify_keyed(const char *token_dir, unsigned long slot_id, const uint8_t *key,
                         size_t keylen, struct audit_verify_result *res);
/* Reads a key file as audit_open does: into secure memory, *len = 32. */
CK_RV audit_key_load(const char *path, uint8_t **key, size_t *len, char *err, size_t errlen);
void audit_key_free(uint8_t *key);

/* One parsed record, for readers such as `craton-audit show`. */
struct audit_record {
    unsigned long long seq;
    char time[32];              /* 2024-05-01T12:34:56.123456Z */
    long pid;
    unsigned long slot, session;
    char user[16];              /* so, user, context, none, or a number */
    char op[AUDIT_OP_MAX + 1];
    bool has_mech;
    unsigned long mech;
    bool has_object;
    char object[AUDIT_OBJECT_MAX + 1];
    char result[48];            /* CKR_ name, or 0x%08lx */
    uint8_t prev[32], hash[32];
    bool keyed;                 /* the record carries "mac" (HMAC chain) rather than "hash" */
    size_t canon_len;           /* bytes of the line the hash covers */
};
/* Calls cb for each well-formed record in file order across rotated files (malformed lines are
 * skipped). cb returns non-zero to stop. CKR_OK, CKR_DEVICE_ERROR when no log can be read. */
CK_RV audit_foreach(const char *token_dir, unsigned long slot_id,
                    int (*cb)(const struct audit_record *rec, void *arg), void *arg);
/* "CKR_PIN_INCORRECT", or NULL for an unknown value. */
const char *audit_rv_name(CK_RV rv);
#endif
