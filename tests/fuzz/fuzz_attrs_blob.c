/* Fuzz target: the store's blob decoding. attrs_parse on raw bytes, and unseal_object with a
 * fixed token key on fuzzed object records, directly and through SQLite (store_object_get)
 * with every column's value and storage type fuzzed.
 *
 * Input: a mode byte, then
 *   mode 0: attrs_parse of the rest (public), mode 1: the same as secret attributes,
 *   mode 2: attrs_parse of the rest, then seal_object + unseal_object must give it back,
 *   mode 3: a record (below) handed to unseal_object,
 *   mode 4: the same record written to a real token database, read by store_object_get.
 * Record: flags u8, flags2 u8, cls, key_type (ulong values as in fuzz_util.h), uid 32 bytes,
 * then label_ix (len u8), id_ix (len u8), attrs (len u16), secret (len u16) and, unless the
 * flags say "compute them", digest and term (32 bytes each). The digest and term are computed
 * by default, so that decoding past the integrity check is reached; a flag seals the secret
 * column's bytes with the right key and AAD so that the sealed attributes are parsed too. */
#include "fuzz_util.h"

#include <sqlite3.h>

#include "base/mem.h"
#include "base/ossl.h"
#include "object/attr.h"
#include "store/db.h"
#include "store/seal.h"

static struct seal_keys *g_keys;
static const uint8_t g_uuid[16] = { 0xc7, 0xa1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };
static store_t *g_store;
static sqlite3 *g_raw;
static sqlite3_stmt *g_put;
static char g_dir[256];
static bool g_verbose; /* FUZZ_VERBOSE=1: print what each step returned (for checking seeds) */

/* The layout of seal.c's row_digest (keep in step with it; a mismatch only makes this target
 * shallower: every record then fails the digest check). */
static void row_digest(const struct object_record *r, uint8_t out[32])
{
    size_t len = 16 + UID_LEN + 8 + 8 + 1 + 4 * 8 + r->label_ix_len + r->id_ix_len +
                 r->attrs_len + r->secret_len;
    uint8_t *buf = malloc(len);
    if (!buf)
        abort();
    size_t off = 0;
#define PUT(p, n) do { if (n) memcpy(buf + off, (p), (n)); off += (n); } while (0)
#define PUT64(v) do { uint64_t x_ = (uint64_t)(v); for (int i_ = 0; i_ < 8; i_++) \
                          buf[off++] = (uint8_t)(x_ >> (8 * i_)); } while (0)
    PUT(g_uuid, 16);
    PUT(r->uid, UID_LEN);
    PUT64(r->cls);
    PUT64(r->key_type);
    buf[off++] = r->is_private;
    PUT64(r->label_ix ? r->label_ix_len : UINT64_MAX);
    PUT(r->label_ix, r->label_ix_len);
    PUT64(r->id_ix ? r->id_ix_len : UINT64_MAX);
    PUT(r->id_ix, r->id_ix_len);
    PUT64(r->attrs_len);
    PUT(r->attrs, r->attrs_len);
    PUT64(r->secret ? r->secret_len : UINT64_MAX);
    PUT(r->secret, r->secret_len);
#undef PUT
#undef PUT64
    if (ossl_sha256(buf, off, NULL, 0, out))
        abort();
    free(buf);
}

static void fix_tags(struct object_record *r, bool digest, bool term)
{
    if (digest)
        row_digest(r, r->digest);
    if (term && ossl_hmac_sha256(g_keys->integ, 32, r->digest, 32, r->term))
        abort();
}

/* A column: NULL (absent), or exactly len bytes. */
static uint8_t *rd_column(struct rd *r, struct arena *ar, size_t len, bool absent, size_t *outlen)
{
    *outlen = 0;
    if (absent)
        return NULL;
    uint8_t *p = arena_alloc(ar, len);
    rd_bytes(r, p, len);
    *outlen = len;
    return p;
}

/* Decodes a record; returns the per-column storage types for mode 4 in types[]. */
static void rd_record(struct rd *r, struct arena *ar, struct object_record *rec, uint8_t *flags,
                      uint8_t types[10])
{
    memset(rec, 0, sizeof *rec);
    uint8_t f = rd_u8(r), f2 = rd_u8(r);
    *flags = f;
    rec->rowid = 1;
    rec->cls = rd_ulong_value(r);
    rec->key_type = f2 & 0x80 ? CK_UNAVAILABLE_INFORMATION : rd_ulong_value(r);
    rec->is_private = f & 0x10;
    if (f2 & 0x40) {
        rd_bytes(r, rec->uid, UID_LEN);
    } else {
        /* A well-formed uid (hex), from one byte. */
        uint8_t s = rd_u8(r);
        for (int i = 0; i < UID_LEN; i++)
            rec->uid[i] = "0123456789abcdef"[(s + i) & 15];
    }
    rec->uid[UID_LEN] = 0;
    rec->label_ix = rd_column(r, ar, rd_u8(r), f & 0x20, &rec->label_ix_len);
    rec->id_ix = rd_column(r, ar, rd_u8(r), f & 0x40, &rec->id_ix_len);
    /* attrs: "CRA1" then the input's bytes, unless told to take the magic from the input. */
    size_t alen = rd_u16(r) % 8192;
    if (f2 & 0x20) {
        rec->attrs = rd_column(r, ar, alen, false, &rec->attrs_len);
    } else {
        rec->attrs = arena_alloc(ar, alen + 4);
        memcpy(rec->attrs, "CRA1", 4);
        rd_bytes(r, rec->attrs + 4, alen);
        rec->attrs_len = alen + 4;
    }
    size_t slen = rd_u16(r) % 8192;
    if (f & 0x80) {
        rec->secret = NULL;
    } else if (f & 0x08) {
        /* Sealed for real: plaintext "CRA1" + input bytes under the seal key and AAD. */
        uint8_t *plain = arena_alloc(ar, slen + 4);
        memcpy(plain, "CRA1", 4);
        rd_bytes(r, plain + 4, slen);
        rec->secret_len = slen + 4 + OSSL_GCM_OVERHEAD;
        rec->secret = arena_alloc(ar, rec->secret_len);
        uint8_t aad[4 + 16 + UID_LEN];
        memcpy(aad, "cOBJ", 4);
        memcpy(aad + 4, g_uuid, 16);
        memcpy(aad + 20, rec->uid, UID_LEN);
        if (ossl_gcm_seal(g_keys->seal, aad, sizeof aad, plain, slen + 4, rec->secret))
            abort();
    } else {
        rec->secret = rd_column(r, ar, slen, false, &rec->secret_len);
    }
    if (f & 0x01)
        rd_bytes(r, rec->digest, 32);
    if (f & 0x02)
        rd_bytes(r, rec->term, 32);
    fix_tags(rec, !(f & 0x01), !(f & 0x02));
    for (int i = 0; i < 10; i++)
        types[i] = f2 & 0x10 ? rd_u8(r) : 0;
}

static void try_unseal(const struct object_record *rec, bool with_keys)
{
    attrs_t out;
    bool loaded;
    CK_RV rv = unseal_object(with_keys ? g_keys : NULL, g_uuid, rec, &out, &loaded);
    if (g_verbose)
        fprintf(stderr, "unseal (keys %d): 0x%lx, %zu attributes, secret loaded %d\n", with_keys,
                (unsigned long)rv, rv == CKR_OK ? out.n : 0, rv == CKR_OK && loaded);
    if (rv == CKR_OK) {
        /* Whatever came out must serialize again. */
        uint8_t *buf;
        size_t len;
        if (attrs_serialize(&out, false, &buf, &len) == CKR_OK)
            attrs_serialized_free(buf, len, false);
        attrs_free(&out);
    }
}

/* Binds column i of the INSERT: its natural value, or per types[i] another storage type. */
static void bind_col(int i, uint8_t type, const void *p, size_t len, int64_t ival, bool is_int,
                     bool is_text)
{
    int col = i + 1;
    switch (type % 8) {
    case 1:
        sqlite3_bind_null(g_put, col);
        return;
    case 2:
        sqlite3_bind_int64(g_put, col, ival ? ival : (int64_t)len);
        return;
    case 3:
        sqlite3_bind_double(g_put, col, (double)len / 3.0);
        return;
    case 4:
        sqlite3_bind_text(g_put, col, p ? p : "", p ? (int)len : 0, SQLITE_TRANSIENT);
        return;
    case 5:
        sqlite3_bind_zeroblob(g_put, col, (int)(type >> 3));
        return;
    default:
        break;
    }
    if (is_int)
        sqlite3_bind_int64(g_put, col, ival);
    else if (!p)
        sqlite3_bind_null(g_put, col);
    else if (is_text)
        sqlite3_bind_text(g_put, col, p, (int)len, SQLITE_TRANSIENT);
    else
        sqlite3_bind_blob(g_put, col, p, (int)len, SQLITE_TRANSIENT);
}

static void via_sqlite(const struct object_record *rec, const uint8_t types[10], bool with_keys)
{
    bind_col(0, types[0], rec->uid, UID_LEN, 0, false, true);
    bind_col(1, types[1], NULL, 0, (int64_t)rec->cls, true, false);
    if (rec->key_type == CK_UNAVAILABLE_INFORMATION && types[2] % 8 == 0)
        sqlite3_bind_null(g_put, 3);
    else
        bind_col(2, types[2], NULL, 0, (int64_t)rec->key_type, true, false);
    bind_col(3, types[3], NULL, 0, rec->is_private, true, false);
    bind_col(4, types[4], rec->label_ix, rec->label_ix_len, 0, false, false);
    bind_col(5, types[5], rec->id_ix, rec->id_ix_len, 0, false, false);
    bind_col(6, types[6], rec->attrs, rec->attrs_len, 0, false, false);
    bind_col(7, types[7], rec->secret, rec->secret_len, 0, false, false);
    bind_col(8, types[8], rec->digest, 32, 0, false, false);
    bind_col(9, types[9], rec->term, 32, 0, false, false);
    int rc = sqlite3_step(g_put);
    sqlite3_reset(g_put);
    sqlite3_clear_bindings(g_put);
    if (g_verbose)
        fprintf(stderr, "insert: %d\n", rc);
    if (rc != SQLITE_DONE)
        return; /* e.g. a NOT NULL column given NULL */
    struct object_record got;
    CK_RV rv = store_object_get(g_store, 1, &got);
    if (g_verbose)
        fprintf(stderr, "store_object_get: 0x%lx\n", (unsigned long)rv);
    if (rv == CKR_OK) {
        try_unseal(&got, with_keys);
        store_record_free(&got);
    }
}

static void roundtrip(const uint8_t *buf, size_t len)
{
    attrs_t a;
    attrs_init(&a);
    if (attrs_parse(&a, buf, len, false) != CKR_OK) {
        attrs_free(&a);
        return;
    }
    CK_ULONG cls;
    struct object_record rec = { .rowid = 1 };
    char uid[UID_LEN + 1];
    memset(uid, 'a', UID_LEN);
    uid[UID_LEN] = 0;
    if (seal_object(g_keys, g_uuid, uid, &a, &rec) == CKR_OK) {
        attrs_t back;
        bool loaded;
        CK_RV rv = unseal_object(g_keys, g_uuid, &rec, &back, &loaded);
        bool classed = attrs_ulong(&a, CKA_CLASS, &cls);
        if (classed && rv != CKR_OK) {
            fprintf(stderr, "fuzz_attrs_blob: a sealed object does not unseal (0x%lx)\n",
                    (unsigned long)rv);
            abort();
        }
        if (rv == CKR_OK) {
            for (size_t i = 0; i < a.n; i++) {
                const attr_t *x = &a.v[i], *y = attrs_get(&back, x->type);
                if (!y || y->len != x->len || (x->len && memcmp(x->val, y->val, x->len))) {
                    fprintf(stderr, "fuzz_attrs_blob: attribute 0x%lx lost in seal/unseal\n",
                            (unsigned long)x->type);
                    abort();
                }
            }
            if (back.n != a.n)
                abort();
            attrs_free(&back);
        }
        store_record_free(&rec);
    }
    attrs_free(&a);
}

static void cleanup(void)
{
    if (g_put)
        sqlite3_finalize(g_put);
    if (g_raw)
        sqlite3_close_v2(g_raw);
    store_close(g_store);
    char p[512];
    static const char *const files[] = { "t.db", "t.db-wal", "t.db-shm" };
    for (size_t i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/%s", g_dir, files[i]);
        unlink(p);
    }
    rmdir(g_dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    g_verbose = getenv("FUZZ_VERBOSE") != NULL;
    if (secmem_init() || ossl_open())
        abort();
    uint8_t tk[32];
    for (int i = 0; i < 32; i++)
        tk[i] = (uint8_t)(0x40 + i);
    g_keys = seal_keys_new(tk);
    if (!g_keys)
        abort();
    /* A real token database (in /dev/shm when there is one: no disk I/O per input). */
    fuzz_tmpdir("blob", g_dir, sizeof g_dir);
    char path[512];
    snprintf(path, sizeof path, "%s/t.db", g_dir);
    if (store_open(path, true, false, false, &g_store) != CKR_OK || store_begin(g_store) != CKR_OK ||
        store_create_schema(g_store) != CKR_OK || store_commit(g_store) != CKR_OK)
        abort();
    if (sqlite3_open_v2(path, &g_raw, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
        sqlite3_exec(g_raw, "PRAGMA synchronous=OFF", NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(g_raw,
                           "INSERT OR REPLACE INTO objects (id, uid, class, key_type, private, "
                           "label_ix, id_ix, attrs, secret, digest, term) "
                           "VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                           -1, &g_put, NULL) != SQLITE_OK)
        abort();
    sqlite3_busy_timeout(g_raw, 5000);
    atexit(cleanup);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct arena ar;
    struct rd r = { data, size };
    uint8_t mode = rd_u8(&r);
    switch (mode % 5) {
    case 0:
    case 1: {
        /* Exactly the rest of the input, in its own allocation. */
        uint8_t *buf = arena_alloc(&ar, r.n);
        memcpy(buf, r.p, r.n);
        attrs_t a;
        attrs_init(&a);
        (void)attrs_parse(&a, buf, r.n, mode % 5 == 1);
        attrs_free(&a);
        break;
    }
    case 2: {
        uint8_t *buf = arena_alloc(&ar, r.n);
        memcpy(buf, r.p, r.n);
        roundtrip(buf, r.n);
        break;
    }
    default: {
        struct object_record rec;
        uint8_t flags, types[10];
        rd_record(&r, &ar, &rec, &flags, types);
        bool with_keys = !(flags & 0x04);
        if (mode % 5 == 3)
            try_unseal(&rec, with_keys);
        else
            via_sqlite(&rec, types, with_keys);
        break;
    }
    }
    arena_free(&ar);
    return 0;
}
