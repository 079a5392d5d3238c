/* The token database: one SQLite file per token, rows in, rows out. No policy lives here. */
#ifndef CRATON_STORE_DB_H
#define CRATON_STORE_DB_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "pkcs11.h"

#define STORE_SCHEMA_VERSION 1
#define UID_LEN 32 /* hex characters of CKA_UNIQUE_ID */

typedef struct store store_t;

enum pin_role { ROLE_SO = 0, ROLE_USER = 1 };

struct pin_record {
    bool set;
    uint8_t salt[16];
    unsigned long iterations;
    uint8_t verifier[32];
    uint8_t wrapped[32 + 28]; /* the token key under the PIN-derived key (AES-256-GCM) */
    unsigned long failures;
};

struct token_record {
    unsigned long slot_id;
    uint8_t uuid[16];
    char label[32];   /* blank padded, no NUL */
    char serial[16];  /* blank padded, no NUL */
    struct pin_record pin[2];
    uint8_t acc[32];     /* XOR of every object's integrity tag */
    uint8_t acc_mac[32]; /* HMAC over acc and the object count */
    uint64_t objects;    /* number of object rows */
};

struct object_record {
    int64_t rowid;
    char uid[UID_LEN + 1];
    CK_ULONG cls;
    CK_ULONG key_type;   /* CK_UNAVAILABLE_INFORMATION when not a key */
    bool is_private;
    uint8_t *label_ix;  size_t label_ix_len;  /* raw label, or keyed hash for private objects */
    uint8_t *id_ix;     size_t id_ix_len;
    uint8_t *attrs;     size_t attrs_len;     /* serialized public attributes */
    uint8_t *secret;    size_t secret_len;    /* sealed attributes, or NULL */
    uint8_t digest[32]; /* SHA-256 over the row's content: catches corruption without a key */
    uint8_t term[32];   /* HMAC of digest under the token's integrity key: catches forgery */
};

struct find_filter {
    bool has_class;     CK_ULONG cls;
    bool has_key_type;  CK_ULONG key_type;
    bool has_label;     const uint8_t *label, *label_h; size_t label_len;  /* raw, hashed(32) */
    bool has_id;        const uint8_t *id, *id_h; size_t id_len;
    bool include_private;
};

/* Opens (or with create, makes) the database at path: WAL, busy timeout, 0600.
 * exclusive takes an flock that a second opener fails on (CKR_TOKEN_NOT_PRESENT then). */
CK_RV store_open(const char *path, bool create, bool exclusive, bool sync_full, store_t **out);
void store_close(store_t *s);
/* Creates the schema in an empty database (inside a transaction the caller holds). */
CK_RV store_create_schema(store_t *s);

CK_RV store_begin(store_t *s);      /* BEGIN IMMEDIATE: writers queue here, not mid-way */
CK_RV store_begin_read(store_t *s); /* a consistent snapshot for multi-statement reads */
CK_RV store_commit(store_t *s);
void store_rollback(store_t *s);
/* Changes when any connection (this or another process) commits to the database. */
uint64_t store_data_version(store_t *s);

CK_RV store_token_get(store_t *s, struct token_record *t);
CK_RV store_token_put(store_t *s, const struct token_record *t);

CK_RV store_object_insert(store_t *s, struct object_record *r); /* sets r->rowid */
CK_RV store_object_update(store_t *s, const struct object_record *r);
CK_RV store_object_delete(store_t *s, int64_t rowid);
CK_RV store_object_delete_all(store_t *s);
/* CKR_OBJECT_HANDLE_INVALID when the row is gone. */
CK_RV store_object_get(store_t *s, int64_t rowid, struct object_record *r);
void store_record_free(struct object_record *r);
/* Row ids matching the filter (index columns only; callers re-check the real attributes). */
CK_RV store_object_find(store_t *s, const struct find_filter *f, int64_t **ids, size_t *n);
/* AES-GCM invocation accounting (per key unique ID): reserves n invocations and returns the
 * first reserved number in *start, in its own transaction, creating the row at 0. The row's
 * MAC (keyed by the caller) is checked and rewritten, so an edited count is noticed. */
CK_RV store_usage_reserve(store_t *s, const char *uid, uint64_t n, const uint8_t mac_key[32],
                          uint64_t *start);
/* XOR of every row's term, and the row count. */
CK_RV store_object_terms(store_t *s, uint8_t acc[32], uint64_t *count);
#endif
