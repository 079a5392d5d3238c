/* craton-util backup / restore: an online SQLite snapshot of one token plus its audit files,
 * in one file with a SHA-256 checksum.
 *
 * File format (integers big-endian):
 *   "CRATONBK" | u32 version (1) | u32 entries | u64 slot | label[32] | uuid[16] |
 *   u64 created (Unix time) | 8 zero bytes
 *   entries:  u16 name length | name | u32 mode | u64 size | data
 *             names: "db" (the database image, exactly one), "audit", "audit.<seq>"
 *   trailer:  SHA-256 over every byte before it */
#include "util.h"
#include "audit/audit.h"
#include "base/config.h"
#include "base/mem.h"
#include "base/ossl.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAGIC "CRATONBK"
#define VERSION 1
#define HEADER_LEN 88
#define MAX_ENTRIES 4096
#define MAX_BACKUP ((size_t)1 << 36)

/* ---- a growing buffer ---- */

struct buf {
    uint8_t *p;
    size_t len, cap;
    bool failed;
};

static void b_put(struct buf *b, const void *d, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n)
            cap *= 2;
        uint8_t *np = realloc(b->p, cap);
        if (!np) {
            b->failed = true;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, d, n);
    b->len += n;
}

static void b_u16(struct buf *b, uint16_t v)
{
    uint8_t x[2] = { (uint8_t)(v >> 8), (uint8_t)v };
    b_put(b, x, 2);
}
static void b_u32(struct buf *b, uint32_t v)
{
    uint8_t x[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };
    b_put(b, x, 4);
}
static void b_u64(struct buf *b, uint64_t v)
{
    b_u32(b, (uint32_t)(v >> 32));
    b_u32(b, (uint32_t)v);
}
static uint64_t get_be(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

static void b_entry(struct buf *b, const char *name, uint32_t mode, const uint8_t *d, size_t n)
{
    b_u16(b, (uint16_t)strlen(name));
    b_put(b, name, strlen(name));
    b_u32(b, mode);
    b_u64(b, n);
    b_put(b, d, n);
}

/* ---- the database snapshot ---- */

/* Copies src into a fresh connection dst with sqlite3_backup_*, in steps with progress, inside
 * one read transaction of src (WAL: writers go on; the snapshot does not move). */
static int copy_db(sqlite3 *src, sqlite3 *dst, const char *what)
{
    sqlite3_backup *bk = sqlite3_backup_init(dst, "main", src, "main");
    if (!bk) {
        errf("sqlite3_backup_init: %s", sqlite3_errmsg(dst));
        return -1;
    }
    struct progress pr;
    progress_start(&pr, what, 1);
    int rc, tries = 0;
    for (;;) {
        rc = sqlite3_backup_step(bk, 64);
        int total = sqlite3_backup_pagecount(bk), left = sqlite3_backup_remaining(bk);
        pr.total = total > 0 ? (uint64_t)total : 1;
        progress_set(&pr, (uint64_t)(total - left));
        if (rc == SQLITE_OK)
            continue;
        if ((rc == SQLITE_BUSY || rc == SQLITE_LOCKED) && tries++ < 400) {
            sqlite3_sleep(25);
            continue;
        }
        break;
    }
    progress_end(&pr);
    int frc = sqlite3_backup_finish(bk);
    if (rc != SQLITE_DONE || frc != SQLITE_OK) {
        errf("SQLite backup: %s", sqlite3_errstr(rc != SQLITE_DONE ? rc : frc));
        return -1;
    }
    return 0;
}

static int exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        errf("SQLite: %s: %s", sql, msg ? msg : sqlite3_errmsg(db));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

struct token_row {
    unsigned long slot;
    uint8_t label[32], uuid[16];
};

/* Checks the structure (integrity_check) and reads the token row. */
static int check_db(sqlite3 *db, struct token_row *tr)
{
    sqlite3_stmt *st = NULL;
    int ok = 0;
    if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
        const unsigned char *r = sqlite3_column_text(st, 0);
        ok = r && !strcmp((const char *)r, "ok");
    }
    sqlite3_finalize(st);
    if (!ok) {
        errf("the token database fails SQLite's integrity check");
        return -1;
    }
    st = NULL;
    ok = 0;
    if (sqlite3_prepare_v2(db, "SELECT slot_id, label, uuid FROM token WHERE id = 1", -1, &st,
                           NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW && sqlite3_column_bytes(st, 1) == 32 &&
        sqlite3_column_bytes(st, 2) == 16) {
        tr->slot = (unsigned long)sqlite3_column_int64(st, 0);
        memcpy(tr->label, sqlite3_column_blob(st, 1), 32);
        memcpy(tr->uuid, sqlite3_column_blob(st, 2), 16);
        ok = 1;
    }
    sqlite3_finalize(st);
    if (!ok) {
        errf("the database holds no token");
        return -1;
    }
    return 0;
}

/* ---- audit files ---- */

struct afile {
    char name[48]; /* "audit" or "audit.<seq>" */
    uint32_t mode;
    uint8_t *data;
    size_t len;
};

static void afiles_free(struct afile *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i].data);
    free(v);
}

/* Names of slot's audit files in dir ("audit", "audit.<seq>"), sorted; count or -1. */
static int audit_names(const char *dir, unsigned long slot, char (*names)[48], int max)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    char prefix[48];
    int pl = snprintf(prefix, sizeof prefix, "slot-%lu.", slot), n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        const char *nm = e->d_name;
        if (strncmp(nm, prefix, (size_t)pl))
            continue;
        const char *rest = nm + pl;
        bool ok = !strcmp(rest, "audit");
        if (!ok && !strncmp(rest, "audit.", 6) && rest[6]) {
            ok = strlen(rest) < 40;
            for (const char *p = rest + 6; *p; p++)
                ok &= *p >= '0' && *p <= '9';
        }
        if (ok && n < max)
            snprintf(names[n++], 48, "%s", rest);
    }
    closedir(d);
    qsort(names, (size_t)n, 48, (int (*)(const void *, const void *))strcmp);
    return n;
}

/* Reads the audit files; retried when a rotation happens while reading. The active file is
 * cut after its last complete line (an append in flight is left out). */
static int read_audit(const char *dir, unsigned long slot, struct afile **out, size_t *nout)
{
    enum { MAXF = 1024 };
    char(*names)[48] = calloc(MAXF, 48), (*again)[48] = calloc(MAXF, 48);
    struct afile *v = NULL;
    int n = -1;
    if (!names || !again)
        goto fail;
    for (int attempt = 0; attempt < 5; attempt++) {
        n = audit_names(dir, slot, names, MAXF);
        if (n < 0) {
            errf("cannot read %s: %s", dir, strerror(errno));
            goto fail;
        }
        v = calloc((size_t)n + 1, sizeof *v);
        if (!v)
            goto fail;
        bool vanished = false;
        for (int i = 0; i < n && !vanished; i++) {
            char path[CONFIG_PATH_MAX + 100];
            snprintf(path, sizeof path, "%s/slot-%lu.%s", dir, slot, names[i]);
            int fd = open(path, O_RDONLY | O_CLOEXEC);
            struct stat sb;
            if (fd < 0 || fstat(fd, &sb)) {
                if (fd >= 0)
                    close(fd);
                if (errno == ENOENT) {
                    vanished = true;
                    break;
                }
                errf("cannot read %s: %s", path, strerror(errno));
                goto fail;
            }
            size_t cap = (size_t)sb.st_size, got = 0;
            v[i].data = malloc(cap + 1);
            if (!v[i].data) {
                close(fd);
                goto fail;
            }
            while (got < cap) {
                ssize_t r = read(fd, v[i].data + got, cap - got);
                if (r < 0 && errno == EINTR)
                    continue;
                if (r <= 0)
                    break;
                got += (size_t)r;
            }
            close(fd);
            while (got > 0 && v[i].data[got - 1] != '\n')
                got--; /* a torn last line */
            v[i].len = got;
            v[i].mode = (uint32_t)(sb.st_mode & 0777);
            snprintf(v[i].name, sizeof v[i].name, "%s", names[i]);
        }
        int m = vanished ? -1 : audit_names(dir, slot, again, MAXF);
        if (!vanished && m == n && !memcmp(names, again, (size_t)n * 48)) {
            free(names);
            free(again);
            *out = v;
            *nout = (size_t)n;
            return 0;
        }
        afiles_free(v, (size_t)n);
        v = NULL;
    }
    errf("the audit log kept rotating while it was read; try again");
fail:
    if (v)
        afiles_free(v, n > 0 ? (size_t)n : 0);
    free(names);
    free(again);
    return -1;
}

/* ---- backup ---- */

int cmd_backup(struct opts *o)
{
    if (!o->out) {
        errf("--out FILE is required");
        return EX_USAGE;
    }
    if (!o->token && !o->slot) {
        errf("--token LABEL is required");
        return EX_USAGE;
    }
    if (o->nargs) {
        errf("unexpected argument '%s'", o->args[0]);
        return EX_USAGE;
    }
    if (!o->force && access(o->out, F_OK) == 0) {
        errf("%s exists (--force replaces it)", o->out);
        return EX_FAIL;
    }
    char dir[CONFIG_PATH_MAX];
    unsigned long slot;
    if (util_config(dir, sizeof dir, NULL, 0) || tokdir_find(dir, o->token, o->slot, &slot))
        return EX_FAIL;
    char path[CONFIG_PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/slot-%lu.db", dir, slot);

    int rc = EX_FAIL;
    sqlite3 *src = NULL, *mem = NULL;
    unsigned char *image = NULL;
    sqlite3_int64 isize = 0;
    struct afile *af = NULL;
    size_t naf = 0;
    struct buf b = { 0 };
    struct token_row tr;
    if (sqlite3_open_v2(path, &src, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
            SQLITE_OK ||
        sqlite3_open(":memory:", &mem) != SQLITE_OK) {
        errf("cannot open %s: %s", path, src ? sqlite3_errmsg(src) : "out of memory");
        goto out;
    }
    sqlite3_busy_timeout(src, 10000);
    /* One read transaction over the whole copy: a snapshot that concurrent commits (WAL)
     * neither block nor move. */
    if (exec(src, "BEGIN DEFERRED") || exec(src, "SELECT count(*) FROM sqlite_master"))
        goto out;
    int cr = copy_db(src, mem, "backup");
    exec(src, "COMMIT");
    if (cr || check_db(mem, &tr))
        goto out;
    if (tr.slot != slot) {
        errf("%s names slot %lu inside", path, tr.slot);
        goto out;
    }
    image = sqlite3_serialize(mem, "main", &isize, 0);
    if (!image || isize < 100) {
        errf("cannot serialise the snapshot");
        goto out;
    }
    /* A plain (rollback-journal) image: bytes 18-19 are the WAL marks; the library turns WAL
     * back on when it opens the restored file. */
    image[18] = image[19] = 1;
    /* The audit files after the snapshot: they hold at least what the database anchored. */
    if (read_audit(dir, slot, &af, &naf))
        goto out;

    b_put(&b, MAGIC, 8);
    b_u32(&b, VERSION);
    b_u32(&b, (uint32_t)(1 + naf));
    b_u64(&b, slot);
    b_put(&b, tr.label, 32);
    b_put(&b, tr.uuid, 16);
    b_u64(&b, (uint64_t)time(NULL));
    b_u64(&b, 0);
    b_entry(&b, "db", 0600, image, (size_t)isize);
    size_t audit_bytes = 0;
    for (size_t i = 0; i < naf; i++) {
        b_entry(&b, af[i].name, af[i].mode, af[i].data, af[i].len);
        audit_bytes += af[i].len;
    }
    uint8_t sum[32];
    unsigned int sl = 0;
    if (b.failed || !EVP_Digest(b.p, b.len, sum, &sl, EVP_sha256(), NULL)) {
        errf("out of memory");
        goto out;
    }
    b_put(&b, sum, 32);
    if (b.failed || file_write_atomic(o->out, b.p, b.len, 0600, o->force))
        goto out;
    char label[33];
    p11_str(label, sizeof label, tr.label, 32);
    printf("Token '%s' (slot %lu) backed up to %s: database %lld bytes, %zu audit file%s "
           "(%zu bytes), SHA-256 ",
           label, slot, o->out, (long long)isize, naf, naf == 1 ? "" : "s", audit_bytes);
    hex_print(stdout, sum, 32);
    putchar('\n');
    rc = EX_OK;
out:
    sqlite3_free(image);
    sqlite3_close_v2(mem);
    sqlite3_close_v2(src);
    afiles_free(af, naf);
    free(b.p);
    return rc;
}

/* ---- restore ---- */

struct entry {
    char name[48];
    uint32_t mode;
    const uint8_t *data;
    size_t len;
};

static bool good_name(const char *n)
{
    if (!strcmp(n, "db") || !strcmp(n, "audit"))
        return true;
    if (strncmp(n, "audit.", 6) || !n[6])
        return false;
    for (const char *p = n + 6; *p; p++)
        if (*p < '0' || *p > '9')
            return false;
    return true;
}

/* Parses the entries of a checked file; -1 on any inconsistency. */
static int parse_entries(const uint8_t *p, size_t len, uint32_t count, struct entry *v)
{
    size_t off = HEADER_LEN;
    for (uint32_t i = 0; i < count; i++) {
        if (len - off < 2)
            return -1;
        size_t nl = (size_t)get_be(p + off, 2);
        off += 2;
        if (nl == 0 || nl >= sizeof v[i].name || len - off < nl + 12)
            return -1;
        memcpy(v[i].name, p + off, nl);
        v[i].name[nl] = 0;
        off += nl;
        v[i].mode = (uint32_t)get_be(p + off, 4);
        uint64_t sz = get_be(p + off + 4, 8);
        off += 12;
        if (sz > len - off || !good_name(v[i].name) || memchr(v[i].name, 0, nl))
            return -1;
        for (uint32_t k = 0; k < i; k++)
            if (!strcmp(v[k].name, v[i].name))
                return -1;
        v[i].data = p + off;
        v[i].len = (size_t)sz;
        off += (size_t)sz;
    }
    return off == len ? 0 : -1;
}

/* Removes slot's audit files (not the lock file other processes map). */
static int remove_audit(const char *dir, unsigned long slot)
{
    char(*names)[48] = calloc(1024, 48);
    if (!names)
        return -1;
    int n = audit_names(dir, slot, names, 1024), rc = n < 0 ? -1 : 0;
    for (int i = 0; i < n; i++) {
        char path[CONFIG_PATH_MAX + 100];
        snprintf(path, sizeof path, "%s/slot-%lu.%s", dir, slot, names[i]);
        if (unlink(path) && errno != ENOENT) {
            errf("cannot remove %s: %s", path, strerror(errno));
            rc = -1;
        }
    }
    free(names);
    return rc;
}

/* Writes the database image into slot's file: into the live database with the backup API when
 * it exists (other connections see the change), else as a new file linked into place. */
static int write_db(sqlite3 *mem, const char *dir, unsigned long slot, bool exists)
{
    char path[CONFIG_PATH_MAX + 64], tmp[CONFIG_PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/slot-%lu.db", dir, slot);
    if (exists) {
        sqlite3 *dst = NULL;
        int rc = -1;
        if (sqlite3_open_v2(path, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) ==
            SQLITE_OK) {
            sqlite3_busy_timeout(dst, 10000);
            rc = copy_db(mem, dst, "restore");
        } else {
            errf("cannot open %s: %s", path, dst ? sqlite3_errmsg(dst) : "out of memory");
        }
        sqlite3_close_v2(dst);
        return rc;
    }
    snprintf(tmp, sizeof tmp, "%s/.restore-%ld-slot-%lu.db", dir, (long)getpid(), slot);
    unlink(tmp);
    int fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        errf("cannot create %s: %s", tmp, strerror(errno));
        return -1;
    }
    close(fd);
    sqlite3 *dst = NULL;
    int rc = -1;
    if (sqlite3_open_v2(tmp, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) ==
            SQLITE_OK &&
        copy_db(mem, dst, "restore") == 0 && exec(dst, "PRAGMA journal_mode=WAL") == 0)
        rc = 0;
    sqlite3_close_v2(dst); /* the last connection: checkpoints and drops the WAL */
    if (rc == 0) {
        int dfd = open(tmp, O_RDONLY | O_CLOEXEC);
        if (dfd >= 0) {
            if (fsync(dfd))
                rc = -1;
            close(dfd);
        }
    }
    if (rc == 0 && link(tmp, path)) {
        if (errno == EEXIST)
            errf("slot %lu was taken meanwhile", slot);
        else
            errf("cannot create %s: %s", path, strerror(errno));
        rc = -1;
    }
    static const char *const side[] = { "", "-wal", "-shm", "-journal" };
    for (size_t i = 0; i < sizeof side / sizeof side[0]; i++) {
        char s[CONFIG_PATH_MAX + 80];
        snprintf(s, sizeof s, "%s%s", tmp, side[i]);
        unlink(s);
    }
    return rc;
}

int cmd_restore(struct opts *o)
{
    if (!o->in) {
        errf("--in FILE is required");
        return EX_USAGE;
    }
    if (o->nargs) {
        errf("unexpected argument '%s'", o->args[0]);
        return EX_USAGE;
    }
    char dir[CONFIG_PATH_MAX];
    if (util_config(dir, sizeof dir, NULL, 0))
        return EX_FAIL;
    uint8_t *p = NULL;
    size_t len = 0;
    int rc = EX_FAIL;
    struct entry *ents = NULL;
    sqlite3 *mem = NULL;
    struct tokdir_entry *tv = NULL;
    size_t tn = 0;
    if (file_read(o->in, &p, &len, MAX_BACKUP))
        return EX_FAIL;
    if (len < HEADER_LEN + 32 || memcmp(p, MAGIC, 8)) {
        errf("%s is not a Craton backup file", o->in);
        goto out;
    }
    /* The checksum first: nothing of a damaged or altered file is used. */
    uint8_t sum[32];
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    struct progress pr;
    bool ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    progress_start(&pr, "checking", len - 32);
    for (size_t off = 0; ok && off < len - 32; off += 1 << 20) {
        size_t n = len - 32 - off < (1 << 20) ? len - 32 - off : (1 << 20);
        ok = EVP_DigestUpdate(md, p + off, n);
        progress_set(&pr, off + n);
    }
    progress_end(&pr);
    unsigned int sl = 0;
    ok = ok && EVP_DigestFinal_ex(md, sum, &sl);
    EVP_MD_CTX_free(md);
    if (!ok) {
        errf("cannot compute SHA-256");
        goto out;
    }
    if (CRYPTO_memcmp(sum, p + len - 32, 32)) {
        errf("%s is damaged or was altered: its SHA-256 checksum does not match; nothing "
             "restored", o->in);
        goto out;
    }
    uint32_t version = (uint32_t)get_be(p + 8, 4), count = (uint32_t)get_be(p + 12, 4);
    unsigned long slot = (unsigned long)get_be(p + 16, 8);
    if (version != VERSION) {
        errf("%s: backup format version %u is not supported (this tool reads %d)", o->in,
             version, VERSION);
        goto out;
    }
    ents = calloc(count ? count : 1, sizeof *ents);
    if (count < 1 || count > MAX_ENTRIES || !ents ||
        parse_entries(p, len - 32, count, ents)) {
        errf("%s: malformed contents", o->in);
        goto out;
    }
    struct entry *db = NULL;
    for (uint32_t i = 0; i < count; i++)
        if (!strcmp(ents[i].name, "db"))
            db = &ents[i];
    if (!db || db->len < 512) {
        errf("%s: no database in the file", o->in);
        goto out;
    }
    /* The image, checked in memory before anything on disk changes. */
    unsigned char *img = sqlite3_malloc64(db->len);
    if (!img || sqlite3_open(":memory:", &mem) != SQLITE_OK) {
        sqlite3_free(img);
        errf("out of memory");
        goto out;
    }
    memcpy(img, db->data, db->len);
    if (sqlite3_deserialize(mem, "main", img, (sqlite3_int64)db->len, (sqlite3_int64)db->len,
                            SQLITE_DESERIALIZE_FREEONCLOSE | SQLITE_DESERIALIZE_RESIZEABLE) !=
        SQLITE_OK) {
        errf("cannot load the database image: %s", sqlite3_errmsg(mem));
        goto out;
    }
    struct token_row tr;
    if (check_db(mem, &tr))
        goto out;
    if (tr.slot != slot || memcmp(tr.label, p + 24, 32) || memcmp(tr.uuid, p + 56, 16)) {
        errf("%s: the header does not match the database inside", o->in);
        goto out;
    }
    char label[33];
    p11_str(label, sizeof label, tr.label, 32);

    /* What is there already */
    if (mkdir(dir, 0700) && errno != EEXIST) {
        errf("cannot create the token directory %s: %s", dir, strerror(errno));
        goto out;
    }
    if (tokdir_list(dir, &tv, &tn))
        goto out;
    bool exists = false;
    char dbpath[CONFIG_PATH_MAX + 64];
    snprintf(dbpath, sizeof dbpath, "%s/slot-%lu.db", dir, slot);
    exists = access(dbpath, F_OK) == 0;
    for (size_t i = 0; i < tn; i++) {
        if (tv[i].slot == slot) {
            if (!o->force) {
                errf("slot %lu already holds token '%s'; --force overwrites it", slot,
                     tv[i].label);
                goto out;
            }
            notef("overwriting token '%s' in slot %lu", tv[i].label, slot);
        } else if (!strcmp(tv[i].label, label)) {
            if (!o->force) {
                errf("slot %lu already holds a token labelled '%s'; --force restores anyway",
                     tv[i].slot, label);
                goto out;
            }
            notef("slot %lu also holds a token labelled '%s': choose by slot from now on",
                  tv[i].slot, label);
        }
    }
    if (exists && !o->force) {
        errf("%s exists but is not a readable token; --force overwrites it", dbpath);
        goto out;
    }
    if (!exists) {
        char names[1][48];
        if (audit_names(dir, slot, names, 1) > 0 && !o->force) {
            errf("slot %lu has audit files but no database; --force replaces them", slot);
            goto out;
        }
    }
    /* The database, then the audit files, which hold at least what it anchored. */
    if (write_db(mem, dir, slot, exists))
        goto out;
    if (remove_audit(dir, slot))
        goto out;
    size_t naudit = 0;
    for (uint32_t i = 0; i < count; i++) {
        if (&ents[i] == db)
            continue;
        char path[CONFIG_PATH_MAX + 100];
        snprintf(path, sizeof path, "%s/slot-%lu.%s", dir, slot, ents[i].name);
        unsigned mode = ents[i].mode & 0600 ? ents[i].mode & 0600 : 0600;
        if (file_write_atomic(path, ents[i].data, ents[i].len, mode, true))
            goto out;
        naudit++;
    }
    printf("Token '%s' restored into slot %lu (%zu audit file%s); its PINs and keys are those "
           "of the backup.\n",
           label, slot, naudit, naudit == 1 ? "" : "s");
    rc = EX_OK;
    if (naudit && secmem_init() == 0 && ossl_open() == 0) {
        struct audit_verify_result r;
        if (audit_verify(dir, slot, &r) == CKR_OK) {
            if (r.ok)
                printf("Audit chain: OK, %llu records%s%s%s\n", r.records, r.why[0] ? " (" : "",
                       r.why, r.why[0] ? ")" : "");
            else
                notef("the restored audit chain does not verify at seq %llu: %s", r.bad_seq,
                      r.why);
        }
        ossl_close();
    }
out:
    sqlite3_close_v2(mem);
    free(tv);
    free(ents);
    free(p);
    return rc;
}
