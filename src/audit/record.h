/* Internal to src/audit: the record's canonical line format, its hash, and file naming. */
#ifndef CRATON_AUDIT_RECORD_H
#define CRATON_AUDIT_RECORD_H
#include <openssl/evp.h>
#include "audit/audit.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The longest line the writer produces (fields are cut to fit) and the reader accepts. */
#define AUDIT_LINE_MAX 2048

struct rec_fields {
    unsigned long long seq;
    char time[32];
    long pid;
    unsigned long slot, session;
    long user;
    const char *op;
    unsigned long mech;      /* CK_UNAVAILABLE_INFORMATION: null */
    const char *object;      /* NULL: null */
    unsigned long result;
};

/* The formatted "YYYY-MM-DDTHH:MM:SS" of the second sec; one per writer, used under its lock. */
struct rec_clock {
    long long sec; /* -1: nothing cached */
    char date[20];
};
/* UTC now as 2024-05-01T12:34:56.123456Z. c caches the date part (NULL: no cache). */
void rec_time_now(struct rec_clock *c, char out[32]);
/* Builds one line (with its '\n') chained to prev; writes the record's hash to hash_out.
 * key NULL: SHA-256 chain; otherwise HMAC-SHA-256 under key. Returns the length or -1. */
int rec_build(char *line, size_t cap, const struct rec_fields *f, const uint8_t prev[32],
              const uint8_t *key, size_t keylen, uint8_t hash_out[32]);
/* The same, hashing on md (a context the writer keeps and reuses; NULL: a fresh one). */
int rec_build_with(EVP_MD_CTX *md, char *line, size_t cap, const struct rec_fields *f,
                   const uint8_t prev[32], const uint8_t *key, size_t keylen,
                   uint8_t hash_out[32]);
/* Parses one line (without its '\n') strictly in the fixed field order. 0 or -1. */
int rec_parse(const char *line, size_t len, struct audit_record *r);
/* The chain value of a parsed record computed from its own bytes: 0 or -1. */
int rec_chain_hash(const char *line, const struct audit_record *r, const uint8_t *key,
                   size_t keylen, uint8_t out[32]);

/* Rotated files of one slot, sorted oldest first; *names is malloc'd, each entry too.
 * Returns the count, or -1 on error (no directory). */
struct rot_file { unsigned long long last_seq; char *path; };
int rec_list_rotated(const char *dir, unsigned long slot, struct rot_file **files);
void rec_free_rotated(struct rot_file *files, int n);

/* Anchor in slot-<id>.db. */
#define AUDIT_TAIL_SQL_CREATE "CREATE TABLE IF NOT EXISTS audit_tail (id INTEGER PRIMARY KEY " \
                              "CHECK (id = 1), seq INTEGER NOT NULL, hash BLOB NOT NULL)"
#endif
