/* Audit verifier and reader: walks the chain across rotated files and the tail anchor. */
#include "audit/audit.h"
#include "audit/record.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Streams every line of a slot's files, oldest first, with one record of look-ahead. */
struct item {
    bool ok;                  /* parsed */
    bool first_in_file;
    const char *file;
    struct audit_record rec;
    char line[AUDIT_LINE_MAX + 1];
};

struct walker {
    struct rot_file *files;   /* rotated files then the active one */
    int n, idx;
    FILE *f;
    char *buf;
    size_t bufcap;
    bool at_start;
    bool past_end;            /* a line starting with a zero byte was seen in this file */
};

static int walker_open(struct walker *w, const char *dir, unsigned long slot)
{
    memset(w, 0, sizeof *w);
    w->n = rec_list_rotated(dir, slot, &w->files);
    if (w->n < 0)
        return -1;
    char active[AUDIT_PATH_MAX + 64];
    snprintf(active, sizeof active, "%s/slot-%lu.audit", dir, slot);
    if (access(active, F_OK) == 0) {
        struct rot_file *nf = realloc(w->files, (size_t)(w->n + 1) * sizeof *nf);
        char *p = strdup(active);
        if (!nf || !p) {
            free(p);
            if (nf)
                w->files = nf;
            rec_free_rotated(w->files, w->n);
            return -1;
        }
        w->files = nf;
        w->files[w->n].path = p;
        w->files[w->n].last_seq = ~0ULL;
        w->n++;
    }
    w->idx = -1;
    return 0;
}

static void walker_close(struct walker *w)
{
    if (w->f)
        fclose(w->f);
    free(w->buf);
    rec_free_rotated(w->files, w->n);
}

/* 1 an item, 0 the end, -1 a file could not be read. */
static int walker_next(struct walker *w, struct item *it)
{
    for (;;) {
        if (!w->f) {
            if (++w->idx >= w->n)
                return 0;
            w->f = fopen(w->files[w->idx].path, "re");
            if (!w->f)
                return -1;
            w->at_start = true;
            w->past_end = false;
        }
        ssize_t len = getline(&w->buf, &w->bufcap, w->f);
        if (len < 0) {
            fclose(w->f);
            w->f = NULL;
            continue;
        }
        /* A writer grows the active file ahead and fills it through a mapping: the data ends
         * at the first line starting with a zero byte (room not used yet, or a record being
         * copied, whose first byte is stored last). Anything but zeros after that is not. */
        if (len > 0 && w->buf[0] == 0) {
            w->past_end = true;
            continue;
        }
        it->file = w->files[w->idx].path;
        it->first_in_file = w->at_start;
        w->at_start = false;
        bool nl = len > 0 && w->buf[len - 1] == '\n';
        size_t l = (size_t)len - (nl ? 1 : 0);
        it->ok = !w->past_end && nl && l <= AUDIT_LINE_MAX && memchr(w->buf, 0, l) == NULL &&
                 rec_parse(w->buf, l, &it->rec) == 0;
        if (it->ok) {
            memcpy(it->line, w->buf, l);
            it->line[l] = 0;
        }
        return 1;
    }
}

/* The (seq, hash) anchored in slot-<id>.db: 1 found, 0 none (why says which), -1 error. */
static int read_anchor(const char *dir, unsigned long slot, unsigned long long *seq,
                       uint8_t hash[32], char *why, size_t whylen)
{
    char path[AUDIT_PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/slot-%lu.db", dir, slot);
    if (access(path, F_OK)) {
        snprintf(why, whylen, "tail not checked: no slot-%lu.db", slot);
        return 0;
    }
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int found = -1;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        goto out;
    sqlite3_busy_timeout(db, 5000);
    int rc = sqlite3_prepare_v2(db, "SELECT seq, hash FROM audit_tail WHERE id = 1", -1, &st,
                                NULL);
    if (rc != SQLITE_OK) {
        if (strstr(sqlite3_errmsg(db), "no such table")) {
            snprintf(why, whylen, "tail not checked: no audit_tail table in slot-%lu.db", slot);
            found = 0;
        }
        goto out;
    }
    rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        snprintf(why, whylen, "tail not checked: no anchor in slot-%lu.db yet", slot);
        found = 0;
    } else if (rc == SQLITE_ROW && sqlite3_column_bytes(st, 1) == 32) {
        *seq = (unsigned long long)sqlite3_column_int64(st, 0);
        memcpy(hash, sqlite3_column_blob(st, 1), 32);
        found = 1;
    }
out:
    if (found < 0)
        snprintf(why, whylen, "cannot read the tail anchor in slot-%lu.db: %s", slot,
                 db ? sqlite3_errmsg(db) : "no memory");
    sqlite3_finalize(st);
    sqlite3_close_v2(db);
    return found;
}

static const char *base(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

#define FAIL(seq_, ...) do { res->ok = false; res->bad_seq = (seq_); \
                             snprintf(res->why, sizeof res->why, __VA_ARGS__); goto out; } while (0)

CK_RV audit_verify_keyed(const char *token_dir, unsigned long slot_id, const uint8_t *key,
                         size_t keylen, struct audit_verify_result *res)
{
    if (!token_dir || !res)
        return CKR_ARGUMENTS_BAD;
    memset(res, 0, sizeof *res);
    struct item *cur = malloc(sizeof *cur), *nxt = malloc(sizeof *nxt);
    struct walker w;
    bool wopen = false;
    CK_RV rv = CKR_OK;
    if (!cur || !nxt) {
        rv = CKR_HOST_MEMORY;
        goto out;
    }
    char note[200] = "";
    unsigned long long a_seq = 0;
    uint8_t a_hash[32];
    int anchor = read_anchor(token_dir, slot_id, &a_seq, a_hash, note, sizeof note);
    if (anchor < 0)
        FAIL(0, "%s", note);
    if (walker_open(&w, token_dir, slot_id)) {
        snprintf(res->why, sizeof res->why, "cannot list %s: %s", token_dir, strerror(errno));
        goto out;
    }
    wopen = true;
    if (w.n == 0)
        FAIL(0, "no audit log for slot %lu in %s", slot_id, token_dir);

    unsigned long long expect = 0;
    uint8_t prev[32] = { 0 };
    int have = walker_next(&w, cur), have_next;
    if (have < 0)
        FAIL(0, "cannot read %s", base(w.files[w.idx].path));
    if (have == 0)
        FAIL(0, "the audit log is empty (genesis record missing)");
    while (have == 1) {
        have_next = walker_next(&w, nxt);
        if (have_next < 0)
            FAIL(expect, "cannot read %s", base(w.files[w.idx].path));
        const struct audit_record *r = &cur->rec;
        if (!cur->ok)
            FAIL(expect, "record %llu changed: malformed line in %s", expect, base(cur->file));
        if (r->keyed && !key)
            FAIL(expect, "record %llu is HMAC-keyed: give the key to verify it", expect);
        if (!r->keyed && key)
            FAIL(expect, "record %llu is not keyed although a key was given (downgrade)", expect);
        uint8_t h[32];
        if (rec_chain_hash(cur->line, r, key, keylen, h)) {
            rv = CKR_GENERAL_ERROR;
            goto out;
        }
        if (memcmp(h, r->hash, 32))
            FAIL(expect, "record %llu changed: its %s does not match its contents (%s)", expect,
                 key ? "MAC" : "hash", base(cur->file));
        if (r->seq != expect) {
            if (r->seq > expect && cur->first_in_file && expect == 0)
                FAIL(0, "records 0..%llu missing: oldest file(s) deleted (%s starts at %llu)",
                     r->seq - 1, base(cur->file), r->seq);
            if (r->seq > expect && cur->first_in_file)
                FAIL(expect, "records %llu..%llu missing: rotated file missing before %s",
                     expect, r->seq - 1, base(cur->file));
            if (r->seq > expect && have_next == 1 && nxt->ok && nxt->rec.seq == expect)
                FAIL(expect, "records %llu and %llu reordered", expect, r->seq);
            if (r->seq == expect + 1)
                FAIL(expect, "record %llu missing (deleted)", expect);
            if (r->seq > expect)
                FAIL(expect, "records %llu..%llu missing (deleted)", expect, r->seq - 1);
            if (r->seq + 1 == expect)
                FAIL(r->seq, "record %llu inserted: a second record carries seq %llu", r->seq,
                     r->seq);
            FAIL(expect, "reordered: record %llu found where %llu belongs", r->seq, expect);
        }
        if (memcmp(r->prev, prev, 32))
            FAIL(expect, "record %llu does not chain to record %llu (one of them was changed or "
                 "replaced)", expect, expect ? expect - 1 : 0);
        if (anchor == 1 && r->seq == a_seq && memcmp(r->hash, a_hash, 32))
            FAIL(r->seq, "record %llu does not match the tail anchored in slot-%lu.db "
                 "(log rewritten)", r->seq, slot_id);
        memcpy(prev, r->hash, 32);
        expect++;
        res->records++;
        struct item *t = cur;
        cur = nxt;
        nxt = t;
        have = have_next;
    }
    if (anchor == 1 && a_seq >= expect)
        FAIL(expect, "truncated tail: log ends at seq %llu but slot-%lu.db anchors seq %llu",
             expect - 1, slot_id, a_seq);
    res->ok = true;
    if (anchor == 1)
        snprintf(res->why, sizeof res->why, "tail anchor checked at seq %llu", a_seq);
    else
        snprintf(res->why, sizeof res->why, "%s", note);
out:
    if (wopen)
        walker_close(&w);
    free(cur);
    free(nxt);
    return rv;
}

CK_RV audit_verify(const char *token_dir, unsigned long slot_id, struct audit_verify_result *res)
{
    return audit_verify_keyed(token_dir, slot_id, NULL, 0, res);
}

CK_RV audit_foreach(const char *token_dir, unsigned long slot_id,
                    int (*cb)(const struct audit_record *rec, void *arg), void *arg)
{
    struct walker w;
    if (!token_dir || !cb)
        return CKR_ARGUMENTS_BAD;
    if (walker_open(&w, token_dir, slot_id))
        return CKR_DEVICE_ERROR;
    struct item *it = malloc(sizeof *it);
    CK_RV rv = w.n ? CKR_OK : CKR_DEVICE_ERROR;
    int r;
    while (it && rv == CKR_OK && (r = walker_next(&w, it)) != 0) {
        if (r < 0)
            rv = CKR_DEVICE_ERROR;
        else if (it->ok && cb(&it->rec, arg))
            break;
    }
    if (!it)
        rv = CKR_HOST_MEMORY;
    free(it);
    walker_close(&w);
    return rv;
}
