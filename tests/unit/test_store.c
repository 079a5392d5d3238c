/* Unit tests for store/db.c (rows in, rows out) and for what the token layer keeps in the
 * store: the session state machine, persistent PIN lockout, and all-or-nothing writes. */
#include "unit_util.h"
#include "store/db.h"
#include "store/seal.h"
#include "base/mem.h"
#include "base/ossl.h"

#include <fcntl.h>

struct fx {
    char dir[256];
    char path[PATH_MAX];
    store_t *s;
};

static int group_setup(void **state)
{
    (void)state;
    return secmem_init() ? -1 : 0; /* the token tests open and close OpenSSL themselves */
}

static int group_teardown(void **state)
{
    (void)state;
    return 0;
}

static int fx_setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    u_mkdtemp(f->dir);
    snprintf(f->path, sizeof f->path, "%s/t.db", f->dir);
    assert_int_equal(store_open(f->path, true, false, false, &f->s), CKR_OK);
    assert_int_equal(store_begin(f->s), CKR_OK);
    assert_int_equal(store_create_schema(f->s), CKR_OK);
    assert_int_equal(store_commit(f->s), CKR_OK);
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    struct fx *f = *state;
    store_close(f->s);
    u_rmrf(f->dir);
    free(f);
    return 0;
}

static void fill_token(struct token_record *t)
{
    memset(t, 0, sizeof *t);
    t->slot_id = 7;
    memcpy(t->uuid, "UUID-0123456789a", 16);
    memset(t->label, ' ', 32);
    memcpy(t->label, "my token", 8);
    memcpy(t->serial, "0011223344556677", 16);
    t->pin[ROLE_SO].set = true;
    t->pin[ROLE_SO].iterations = 4321;
    memset(t->pin[ROLE_SO].salt, 0x11, 16);
    memset(t->pin[ROLE_SO].verifier, 0x22, 32);
    memset(t->pin[ROLE_SO].wrapped, 0x33, sizeof t->pin[ROLE_SO].wrapped);
    t->pin[ROLE_SO].failures = 2;
    t->pin[ROLE_USER].failures = 5; /* kept even while the PIN is unset */
    memset(t->acc, 0x44, 32);
    memset(t->acc_mac, 0x55, 32);
    t->objects = 3;
}

static void fill_record(struct object_record *r, const char *uid, CK_ULONG cls, CK_ULONG kt,
                        bool priv, const char *label, const char *id, uint8_t fill)
{
    memset(r, 0, sizeof *r);
    snprintf(r->uid, sizeof r->uid, "%s", uid);
    r->cls = cls;
    r->key_type = kt;
    r->is_private = priv;
    if (label) {
        r->label_ix_len = strlen(label);
        r->label_ix = (uint8_t *)strdup(label);
    }
    if (id) {
        r->id_ix_len = strlen(id);
        r->id_ix = (uint8_t *)strdup(id);
    }
    r->attrs_len = 10;
    r->attrs = malloc(10);
    memset(r->attrs, fill, 10);
    memset(r->digest, fill + 1, 32);
    memset(r->term, fill + 2, 32);
}

/* ---- db.c ------------------------------------------------------------------------------ */

static void test_open_modes(void **state)
{
    struct fx *f = *state;
    struct stat st;
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    struct token_record t;
    fill_token(&t);
    assert_int_equal(store_begin(f->s), CKR_OK);
    assert_int_equal(store_token_put(f->s, &t), CKR_OK);
    assert_int_equal(store_commit(f->s), CKR_OK);
    char side[PATH_MAX + 8];
    snprintf(side, sizeof side, "%s-wal", f->path);
    assert_int_equal(stat(side, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    sqlite3 *db = u_db_open(f->path);
    sqlite3_stmt *q;
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &q, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(q, 0), "wal");
    sqlite3_finalize(q);
    assert_int_equal(u_db_int(db, "SELECT schema_version FROM token"), STORE_SCHEMA_VERSION);
    sqlite3_close(db);
    /* A missing file is not created unless asked. */
    char missing[PATH_MAX + 16];
    snprintf(missing, sizeof missing, "%s/none.db", f->dir);
    store_t *s2 = NULL;
    assert_int_equal(store_open(missing, false, false, false, &s2), CKR_DEVICE_ERROR);
    assert_int_equal(access(missing, F_OK), -1);
}

static void test_exclusive(void **state)
{
    struct fx *f = *state;
    char p[PATH_MAX + 16];
    snprintf(p, sizeof p, "%s/x.db", f->dir);
    store_t *a = NULL, *b = NULL;
    assert_int_equal(store_open(p, true, true, false, &a), CKR_OK);
    assert_int_equal(store_open(p, false, true, false, &b), CKR_TOKEN_NOT_PRESENT);
    store_close(a);
    assert_int_equal(store_open(p, false, true, false, &b), CKR_OK);
    store_close(b);
}

static void test_token_roundtrip(void **state)
{
    struct fx *f = *state;
    struct token_record t, u;
    assert_int_equal(store_token_get(f->s, &u), CKR_TOKEN_NOT_RECOGNIZED);
    fill_token(&t);
    assert_int_equal(store_token_put(f->s, &t), CKR_OK);
    assert_int_equal(store_token_get(f->s, &u), CKR_OK);
    assert_int_equal(u.slot_id, 7);
    assert_memory_equal(u.uuid, t.uuid, 16);
    assert_memory_equal(u.label, t.label, 32);
    assert_memory_equal(u.serial, t.serial, 16);
    assert_true(u.pin[ROLE_SO].set);
    assert_int_equal(u.pin[ROLE_SO].iterations, 4321);
    assert_memory_equal(u.pin[ROLE_SO].salt, t.pin[ROLE_SO].salt, 16);
    assert_memory_equal(u.pin[ROLE_SO].verifier, t.pin[ROLE_SO].verifier, 32);
    assert_memory_equal(u.pin[ROLE_SO].wrapped, t.pin[ROLE_SO].wrapped, sizeof t.pin[0].wrapped);
    assert_int_equal(u.pin[ROLE_SO].failures, 2);
    assert_false(u.pin[ROLE_USER].set);
    assert_int_equal(u.pin[ROLE_USER].failures, 5);
    assert_memory_equal(u.acc, t.acc, 32);
    assert_memory_equal(u.acc_mac, t.acc_mac, 32);
    assert_int_equal(u.objects, 3);
    /* Replacing keeps one row. */
    t.objects = 4;
    assert_int_equal(store_token_put(f->s, &t), CKR_OK);
    assert_int_equal(store_token_get(f->s, &u), CKR_OK);
    assert_int_equal(u.objects, 4);
    sqlite3 *db = u_db_open(f->path);
    assert_int_equal(u_db_int(db, "SELECT count(*) FROM token"), 1);
    /* A malformed column is a device error, not a crash or a short read. */
    u_db_exec(db, "UPDATE token SET uuid = x'00112233'");
    assert_int_equal(store_token_get(f->s, &u), CKR_DEVICE_ERROR);
    u_db_exec(db, "UPDATE token SET uuid = x'000102030405060708090a0b0c0d0e0f', "
                  "so_verifier = x'00'");
    assert_int_equal(store_token_get(f->s, &u), CKR_DEVICE_ERROR);
    u_db_exec(db, "UPDATE token SET so_verifier = zeroblob(32), acc = x'00'");
    assert_int_equal(store_token_get(f->s, &u), CKR_DEVICE_ERROR);
    sqlite3_close(db);
}

static void test_object_crud(void **state)
{
    struct fx *f = *state;
    struct object_record a, b, g;
    fill_record(&a, "00000000000000000000000000000001", CKO_DATA, CK_UNAVAILABLE_INFORMATION,
                false, "alpha", NULL, 0x10);
    fill_record(&b, "00000000000000000000000000000002", CKO_SECRET_KEY, CKK_AES, true,
                "beta", "id-b", 0x20);
    b.secret_len = 40;
    b.secret = malloc(40);
    memset(b.secret, 0x99, 40);
    assert_int_equal(store_begin(f->s), CKR_OK);
    assert_int_equal(store_object_insert(f->s, &a), CKR_OK);
    assert_int_equal(store_object_insert(f->s, &b), CKR_OK);
    assert_int_equal(store_commit(f->s), CKR_OK);
    assert_true(a.rowid > 0 && b.rowid > 0 && a.rowid != b.rowid);
    /* Read back exactly. */
    assert_int_equal(store_object_get(f->s, a.rowid, &g), CKR_OK);
    assert_int_equal(g.rowid, a.rowid);
    assert_string_equal(g.uid, a.uid);
    assert_int_equal(g.cls, CKO_DATA);
    assert_int_equal(g.key_type, CK_UNAVAILABLE_INFORMATION);
    assert_false(g.is_private);
    assert_int_equal(g.label_ix_len, 5);
    assert_memory_equal(g.label_ix, "alpha", 5);
    assert_null(g.id_ix);
    assert_null(g.secret);
    assert_int_equal(g.attrs_len, 10);
    assert_memory_equal(g.attrs, a.attrs, 10);
    assert_memory_equal(g.digest, a.digest, 32);
    assert_memory_equal(g.term, a.term, 32);
    store_record_free(&g);
    assert_int_equal(store_object_get(f->s, b.rowid, &g), CKR_OK);
    assert_int_equal(g.key_type, CKK_AES);
    assert_true(g.is_private);
    assert_int_equal(g.secret_len, 40);
    assert_memory_equal(g.secret, b.secret, 40);
    assert_memory_equal(g.id_ix, "id-b", 4);
    store_record_free(&g);
    /* Terms: XOR of every row, and the count. */
    uint8_t acc[32], want[32];
    uint64_t n = 0;
    assert_int_equal(store_object_terms(f->s, acc, &n), CKR_OK);
    assert_int_equal(n, 2);
    for (int i = 0; i < 32; i++)
        want[i] = a.term[i] ^ b.term[i];
    assert_memory_equal(acc, want, 32);
    /* Update. */
    memset(a.attrs, 0x77, 10);
    a.is_private = true;
    assert_int_equal(store_object_update(f->s, &a), CKR_OK);
    assert_int_equal(store_object_get(f->s, a.rowid, &g), CKR_OK);
    assert_memory_equal(g.attrs, a.attrs, 10);
    assert_true(g.is_private);
    store_record_free(&g);
    /* Rows that are not there. */
    struct object_record ghost = a;
    ghost.rowid = 9999;
    assert_int_equal(store_object_update(f->s, &ghost), CKR_OBJECT_HANDLE_INVALID);
    assert_int_equal(store_object_get(f->s, 9999, &g), CKR_OBJECT_HANDLE_INVALID);
    assert_int_equal(store_object_delete(f->s, 9999), CKR_OBJECT_HANDLE_INVALID);
    /* A duplicate uid is refused by the schema. */
    struct object_record dup;
    fill_record(&dup, a.uid, CKO_DATA, CK_UNAVAILABLE_INFORMATION, false, NULL, NULL, 1);
    assert_int_equal(store_object_insert(f->s, &dup), CKR_DEVICE_ERROR);
    store_record_free(&dup);
    /* Delete. */
    assert_int_equal(store_object_delete(f->s, a.rowid), CKR_OK);
    assert_int_equal(store_object_get(f->s, a.rowid, &g), CKR_OBJECT_HANDLE_INVALID);
    assert_int_equal(store_object_terms(f->s, acc, &n), CKR_OK);
    assert_int_equal(n, 1);
    assert_memory_equal(acc, b.term, 32);
    assert_int_equal(store_object_delete_all(f->s), CKR_OK);
    assert_int_equal(store_object_terms(f->s, acc, &n), CKR_OK);
    assert_int_equal(n, 0);
    store_record_free(&a);
    store_record_free(&b);
}

static void test_object_malformed_columns(void **state)
{
    struct fx *f = *state;
    struct object_record a, g;
    fill_record(&a, "0123456789abcdef0123456789abcdef", CKO_DATA, CK_UNAVAILABLE_INFORMATION,
                false, "x", NULL, 3);
    assert_int_equal(store_object_insert(f->s, &a), CKR_OK);
    sqlite3 *db = u_db_open(f->path);
    static const char *edits[] = {
        "UPDATE objects SET digest = x'00'",
        "UPDATE objects SET digest = zeroblob(33)",
        "UPDATE objects SET term = zeroblob(31)",
        "UPDATE objects SET uid = 'short'",
        "UPDATE objects SET uid = '0123456789abcdef0123456789abcdef0'",
    };
    for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++) {
        char restore[512];
        u_db_exec(db, edits[i]);
        assert_int_equal(store_object_get(f->s, a.rowid, &g), CKR_DEVICE_ERROR);
        snprintf(restore, sizeof restore,
                 "UPDATE objects SET digest = zeroblob(32), term = zeroblob(32), uid = '%s'", a.uid);
        u_db_exec(db, restore);
        assert_int_equal(store_object_get(f->s, a.rowid, &g), CKR_OK);
        store_record_free(&g);
    }
    /* The terms scan refuses a bad tag too. */
    uint8_t acc[32];
    uint64_t n;
    u_db_exec(db, "UPDATE objects SET term = x'0102'");
    assert_int_equal(store_object_terms(f->s, acc, &n), CKR_DEVICE_ERROR);
    sqlite3_close(db);
    store_record_free(&a);
}

static void test_find(void **state)
{
    struct fx *f = *state;
    struct object_record r[4];
    uint8_t h[32];
    memset(h, 0xab, 32);
    fill_record(&r[0], "00000000000000000000000000000000", CKO_DATA, CK_UNAVAILABLE_INFORMATION, false, "L1", "I1", 1);
    fill_record(&r[1], "11111111111111111111111111111111", CKO_SECRET_KEY, CKK_AES, false, "L1", "I2", 2);
    fill_record(&r[2], "22222222222222222222222222222222", CKO_SECRET_KEY, CKK_GENERIC_SECRET, false, "L2", NULL, 3);
    fill_record(&r[3], "33333333333333333333333333333333", CKO_SECRET_KEY, CKK_AES, true, NULL, NULL, 4);
    r[3].label_ix = malloc(32);
    memcpy(r[3].label_ix, h, 32); /* a private object's hashed label */
    r[3].label_ix_len = 32;
    for (int i = 0; i < 4; i++)
        assert_int_equal(store_object_insert(f->s, &r[i]), CKR_OK);
    int64_t *ids;
    size_t n;
    struct find_filter all = { .include_private = true };
    assert_int_equal(store_object_find(f->s, &all, &ids, &n), CKR_OK);
    assert_int_equal(n, 4);
    for (int i = 0; i < 4; i++)
        assert_int_equal(ids[i], r[i].rowid); /* in row order */
    free(ids);
    struct find_filter pub = { 0 };
    assert_int_equal(store_object_find(f->s, &pub, &ids, &n), CKR_OK);
    assert_int_equal(n, 3);
    free(ids);
    struct find_filter cls = { .has_class = true, .cls = CKO_SECRET_KEY, .has_key_type = true,
                               .key_type = CKK_AES, .include_private = true };
    assert_int_equal(store_object_find(f->s, &cls, &ids, &n), CKR_OK);
    assert_int_equal(n, 2);
    assert_int_equal(ids[0], r[1].rowid);
    assert_int_equal(ids[1], r[3].rowid);
    free(ids);
    struct find_filter lab = { .has_label = true, .label = (const uint8_t *)"L1", .label_len = 2,
                               .label_h = h, .include_private = true };
    assert_int_equal(store_object_find(f->s, &lab, &ids, &n), CKR_OK);
    assert_int_equal(n, 3); /* two raw matches, one hashed */
    free(ids);
    lab.include_private = false;
    lab.label_h = NULL;
    assert_int_equal(store_object_find(f->s, &lab, &ids, &n), CKR_OK);
    assert_int_equal(n, 2);
    free(ids);
    struct find_filter id = { .has_id = true, .id = (const uint8_t *)"I2", .id_len = 2 };
    assert_int_equal(store_object_find(f->s, &id, &ids, &n), CKR_OK);
    assert_int_equal(n, 1);
    assert_int_equal(ids[0], r[1].rowid);
    free(ids);
    struct find_filter none = { .has_class = true, .cls = CKO_CERTIFICATE };
    assert_int_equal(store_object_find(f->s, &none, &ids, &n), CKR_OK);
    assert_int_equal(n, 0);
    free(ids);
    for (int i = 0; i < 4; i++)
        store_record_free(&r[i]);
}

static void test_transactions(void **state)
{
    struct fx *f = *state;
    struct object_record a, g;
    fill_record(&a, "abababababababababababababababab", CKO_DATA, CK_UNAVAILABLE_INFORMATION, false, NULL, NULL, 9);
    uint64_t v0 = store_data_version(f->s);
    assert_int_equal(store_begin(f->s), CKR_OK);
    assert_int_equal(store_object_insert(f->s, &a), CKR_OK);
    store_rollback(f->s);
    assert_int_equal(store_object_get(f->s, a.rowid, &g), CKR_OBJECT_HANDLE_INVALID);
    store_rollback(f->s); /* no transaction: harmless */
    sqlite3 *db = u_db_open(f->path);
    u_db_exec(db, "INSERT INTO objects (uid, class, private, attrs, digest, term) "
                  "VALUES ('cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd', 0, 0, x'00', zeroblob(32), zeroblob(32))");
    /* Our own commit changes the data version. */
    assert_int_equal(store_begin(f->s), CKR_OK);
    assert_int_equal(store_object_insert(f->s, &a), CKR_OK);
    assert_int_equal(store_commit(f->s), CKR_OK);
    assert_int_not_equal(store_data_version(f->s), v0);
    assert_int_equal(store_object_delete(f->s, a.rowid), CKR_OK);
    /* While another connection holds the write lock, a read snapshot is still available. */
    u_db_exec(db, "BEGIN IMMEDIATE");
    assert_int_equal(store_begin_read(f->s), CKR_OK);
    uint8_t acc[32];
    uint64_t n;
    assert_int_equal(store_object_terms(f->s, acc, &n), CKR_OK);
    assert_int_equal(n, 1);
    store_rollback(f->s);
    u_db_exec(db, "ROLLBACK");
    sqlite3_close(db);
    store_record_free(&a);
}

/* Known-bug tests run by default; CRATON_UNIT_SKIP_KNOWN_BUGS=1 skips them (see the report
 * to the lead): each one asserts the documented contract the library does not meet yet. */
static bool skip_known_bug(void)
{
    const char *v = getenv("CRATON_UNIT_SKIP_KNOWN_BUGS");
    return v && *v && strcmp(v, "0") != 0;
}

/* db.h: store_data_version "changes when any connection (this or another process) commits".
 * The token layer's object cache (objects_sync) relies on it to see other processes' work. */
static void test_data_version_sees_other_connections(void **state)
{
    struct fx *f = *state;
    if (skip_known_bug())
        skip();
    uint8_t acc[32];
    uint64_t n;
    assert_int_equal(store_object_terms(f->s, acc, &n), CKR_OK); /* a read: version is current */
    uint64_t v0 = store_data_version(f->s);
    sqlite3 *db = u_db_open(f->path);
    u_db_exec(db, "INSERT INTO objects (uid, class, private, attrs, digest, term) "
                  "VALUES ('efefefefefefefefefefefefefefefef', 0, 0, x'00', zeroblob(32), zeroblob(32))");
    sqlite3_close(db);
    assert_int_not_equal(store_data_version(f->s), v0);
}

/* ---- the token layer: sessions, login, lockout, failed writes ---------------------------- */

struct tfx {
    struct u_env e;
};

static int tok_setup(void **state)
{
    struct tfx *t = calloc(1, sizeof *t);
    u_env_create(&t->e, 3);
    u_tok_up();
    u_env_token(&t->e);
    *state = t;
    return 0;
}

static int tok_teardown(void **state)
{
    struct tfx *t = *state;
    u_tok_down();
    u_env_destroy(&t->e);
    free(t);
    return 0;
}

static CK_STATE state_of(CK_SESSION_HANDLE h)
{
    CK_SESSION_INFO si;
    assert_int_equal(tok_session_info(h, &si), CKR_OK);
    return si.state;
}

static void test_session_states(void **state)
{
    struct tfx *t = *state;
    const struct u_env *e = &t->e;
    CK_SESSION_HANDLE ro = u_open_ro(e), rw = u_open_rw(e), x;
    assert_int_equal(state_of(ro), CKS_RO_PUBLIC_SESSION);
    assert_int_equal(state_of(rw), CKS_RW_PUBLIC_SESSION);
    assert_int_equal(tok_open_session(e->slot, CKF_RW_SESSION, &x), CKR_SESSION_PARALLEL_NOT_SUPPORTED);
    assert_int_equal(tok_open_session(9999, CKF_SERIAL_SESSION, &x), CKR_SLOT_ID_INVALID);
    assert_int_equal(tok_logout(rw), CKR_USER_NOT_LOGGED_IN);
    /* No operation waits for re-authentication: either answer is within the spec. */
    CK_RV crv = tok_login(rw, CKU_CONTEXT_SPECIFIC, U_PIN(U_USER_PIN));
    assert_true(crv == CKR_USER_NOT_LOGGED_IN || crv == CKR_OPERATION_NOT_INITIALIZED);
    assert_int_equal(tok_login(rw, 77, U_PIN(U_USER_PIN)), CKR_USER_TYPE_INVALID);
    /* The SO cannot log in while a read-only session exists. */
    assert_int_equal(tok_login(rw, CKU_SO, U_PIN(U_SO_PIN)), CKR_SESSION_READ_ONLY_EXISTS);
    /* User login applies to every session of the token. */
    assert_int_equal(tok_login(ro, CKU_USER, U_PIN(U_USER_PIN)), CKR_OK);
    assert_int_equal(state_of(ro), CKS_RO_USER_FUNCTIONS);
    assert_int_equal(state_of(rw), CKS_RW_USER_FUNCTIONS);
    CK_SESSION_HANDLE ro2 = u_open_ro(e);
    assert_int_equal(state_of(ro2), CKS_RO_USER_FUNCTIONS);
    assert_int_equal(tok_login(rw, CKU_USER, U_PIN(U_USER_PIN)), CKR_USER_ALREADY_LOGGED_IN);
    assert_int_equal(tok_login(rw, CKU_SO, U_PIN(U_SO_PIN)), CKR_USER_ANOTHER_ALREADY_LOGGED_IN);
    assert_int_equal(tok_login(rw, CKU_CONTEXT_SPECIFIC, U_PIN(U_USER_PIN)), CKR_OPERATION_NOT_INITIALIZED);
    assert_int_equal(tok_logout(ro2), CKR_OK);
    assert_int_equal(state_of(rw), CKS_RW_PUBLIC_SESSION);
    assert_int_equal(state_of(ro), CKS_RO_PUBLIC_SESSION);
    /* Only R/W sessions left: the SO may log in; no R/O session may open then. */
    assert_int_equal(tok_close_session(ro), CKR_OK);
    assert_int_equal(tok_close_session(ro2), CKR_OK);
    assert_int_equal(tok_close_session(ro2), CKR_SESSION_HANDLE_INVALID);
    assert_int_equal(tok_login(rw, CKU_SO, U_PIN(U_SO_PIN)), CKR_OK);
    assert_int_equal(state_of(rw), CKS_RW_SO_FUNCTIONS);
    assert_int_equal(tok_open_session(e->slot, CKF_SERIAL_SESSION, &x), CKR_SESSION_READ_WRITE_SO_EXISTS);
    CK_SESSION_HANDLE rw2 = u_open_rw(e);
    assert_int_equal(state_of(rw2), CKS_RW_SO_FUNCTIONS);
    assert_int_equal(tok_login(rw2, CKU_USER, U_PIN(U_USER_PIN)), CKR_USER_ANOTHER_ALREADY_LOGGED_IN);
    assert_int_equal(tok_login(rw2, CKU_SO, U_PIN(U_SO_PIN)), CKR_USER_ALREADY_LOGGED_IN);
    /* Closing the last session ends the login. */
    assert_int_equal(tok_close_all_sessions(e->slot), CKR_OK);
    assert_int_equal(tok_session_info(rw, &(CK_SESSION_INFO){ 0 }), CKR_SESSION_HANDLE_INVALID);
    x = u_open_ro(e);
    assert_int_equal(state_of(x), CKS_RO_PUBLIC_SESSION);
    /* C_InitToken refuses while a session is open. */
    CK_UTF8CHAR label[32];
    u_label(label, "again");
    assert_int_equal(tok_init_token(e->slot, U_PIN(U_SO_PIN), label), CKR_SESSION_EXISTS);
    assert_int_equal(tok_close_session(x), CKR_OK);
}

static void test_pin_rules(void **state)
{
    struct tfx *t = *state;
    const struct u_env *e = &t->e;
    CK_SESSION_HANDLE ro = u_open_ro(e), rw = u_open_rw(e);
    /* PIN length bounds (4..255 from the config). */
    assert_int_equal(tok_set_pin(rw, U_PIN(U_USER_PIN), U_PIN("123")), CKR_PIN_LEN_RANGE);
    /* R/O sessions cannot change PINs; only the SO initialises the user PIN. */
    assert_int_equal(tok_set_pin(ro, U_PIN(U_USER_PIN), U_PIN("654321")), CKR_SESSION_READ_ONLY);
    assert_int_equal(tok_init_pin(rw, U_PIN("654321")), CKR_USER_NOT_LOGGED_IN);
    assert_int_equal(tok_login(rw, CKU_USER, U_PIN(U_USER_PIN)), CKR_OK);
    assert_int_equal(tok_init_pin(rw, U_PIN("654321")), CKR_USER_NOT_LOGGED_IN);
    /* The logged-in user changes their own PIN; the old one no longer works. */
    assert_int_equal(tok_set_pin(rw, U_PIN("999999"), U_PIN("654321")), CKR_PIN_INCORRECT);
    assert_int_equal(tok_set_pin(rw, U_PIN(U_USER_PIN), U_PIN("654321")), CKR_OK);
    assert_int_equal(tok_logout(rw), CKR_OK);
    assert_int_equal(tok_login(rw, CKU_USER, U_PIN(U_USER_PIN)), CKR_PIN_INCORRECT);
    assert_int_equal(tok_login(rw, CKU_USER, U_PIN("654321")), CKR_OK);
    /* The token key did not change: objects made before are still readable. */
    assert_int_equal(tok_logout(rw), CKR_OK);
    assert_int_equal(tok_close_session(ro), CKR_OK);
    assert_int_equal(tok_close_session(rw), CKR_OK);
}

static void test_lockout_persists_and_initpin_unlocks(void **state)
{
    struct tfx *t = *state;
    const struct u_env *e = &t->e;
    CK_FLAGS lockbits = CKF_USER_PIN_COUNT_LOW | CKF_USER_PIN_FINAL_TRY | CKF_USER_PIN_LOCKED;
    CK_SESSION_HANDLE h = u_open_rw(e);
    CK_OBJECT_HANDLE o;
    assert_int_equal(tok_login(h, CKU_USER, U_PIN(U_USER_PIN)), CKR_OK);
    o = u_make_data(h, "kept", true);
    (void)o;
    assert_int_equal(tok_logout(h), CKR_OK);
    assert_int_equal(u_token_flags(e) & lockbits, 0);
    assert_true(u_token_flags(e) & CKF_USER_PIN_INITIALIZED);
    /* One failure: count low. */
    assert_int_equal(tok_login(h, CKU_USER, U_PIN("000000")), CKR_PIN_INCORRECT);
    assert_int_equal(u_token_flags(e) & lockbits, CKF_USER_PIN_COUNT_LOW);
    /* A success resets the count. */
    assert_int_equal(tok_login(h, CKU_USER, U_PIN(U_USER_PIN)), CKR_OK);
    assert_int_equal(u_token_flags(e) & lockbits, 0);
    assert_int_equal(tok_logout(h), CKR_OK);
    /* Two failures (of three): final try. */
    assert_int_equal(tok_login(h, CKU_USER, U_PIN("000000")), CKR_PIN_INCORRECT);
    assert_int_equal(tok_login(h, CKU_USER, U_PIN("000001")), CKR_PIN_INCORRECT);
    assert_int_equal(u_token_flags(e) & lockbits, CKF_USER_PIN_COUNT_LOW | CKF_USER_PIN_FINAL_TRY);
    /* Restarting the module does not forget. */
    u_tok_down();
    u_tok_up();
    h = u_open_rw(e);
    assert_int_equal(u_token_flags(e) & lockbits, CKF_USER_PIN_COUNT_LOW | CKF_USER_PIN_FINAL_TRY);
    assert_int_equal(tok_login(h, CKU_USER, U_PIN("000002")), CKR_PIN_INCORRECT);
    assert_int_equal(u_token_flags(e) & lockbits, CKF_USER_PIN_LOCKED);
    assert_int_equal(tok_login(h, CKU_USER, U_PIN(U_USER_PIN)), CKR_PIN_LOCKED);
    assert_int_equal(tok_set_pin(h, U_PIN(U_USER_PIN), U_PIN("777777")), CKR_PIN_LOCKED);
    u_tok_down();
    u_tok_up();
    h = u_open_rw(e);
    assert_int_equal(u_token_flags(e) & lockbits, CKF_USER_PIN_LOCKED);
    assert_int_equal(tok_login(h, CKU_USER, U_PIN(U_USER_PIN)), CKR_PIN_LOCKED);
    /* The SO's counter is separate. */
    assert_int_equal(u_token_flags(e) & (CKF_SO_PIN_COUNT_LOW | CKF_SO_PIN_LOCKED), 0);
    /* C_InitPIN by the SO unlocks with a new PIN. */
    assert_int_equal(tok_login(h, CKU_SO, U_PIN(U_SO_PIN)), CKR_OK);
    assert_int_equal(tok_init_pin(h, U_PIN("24682468")), CKR_OK);
    assert_int_equal(tok_logout(h), CKR_OK);
    assert_int_equal(u_token_flags(e) & lockbits, 0);
    assert_int_equal(tok_login(h, CKU_USER, U_PIN(U_USER_PIN)), CKR_PIN_INCORRECT);
    assert_int_equal(tok_login(h, CKU_USER, U_PIN("24682468")), CKR_OK);
    /* The private object made under the old PIN is still there and readable. */
    CK_ATTRIBUTE q = { CKA_LABEL, NULL, 0 };
    CK_BBOOL tru = CK_TRUE;
    CK_ATTRIBUTE ft[] = { { CKA_PRIVATE, &tru, 1 } };
    CK_OBJECT_HANDLE found[4];
    CK_ULONG nf = 0;
    assert_int_equal(tok_find_init(h, ft, 1), CKR_OK);
    assert_int_equal(tok_find(h, found, 4, &nf), CKR_OK);
    assert_int_equal(tok_find_final(h), CKR_OK);
    assert_int_equal(nf, 1);
    assert_int_equal(tok_get_attributes(h, found[0], &q, 1), CKR_OK);
    assert_int_equal(q.ulValueLen, 4);
    assert_int_equal(tok_close_session(h), CKR_OK);
}

static void test_so_lockout(void **state)
{
    struct tfx *t = *state;
    const struct u_env *e = &t->e;
    CK_SESSION_HANDLE h = u_open_rw(e);
    CK_FLAGS sobits = CKF_SO_PIN_COUNT_LOW | CKF_SO_PIN_FINAL_TRY | CKF_SO_PIN_LOCKED;
    for (int i = 0; i < 3; i++)
        assert_int_equal(tok_login(h, CKU_SO, U_PIN("wrong-so")), CKR_PIN_INCORRECT);
    assert_int_equal(u_token_flags(e) & sobits, CKF_SO_PIN_LOCKED);
    assert_int_equal(u_token_flags(e) & CKF_USER_PIN_LOCKED, 0);
    assert_int_equal(tok_login(h, CKU_SO, U_PIN(U_SO_PIN)), CKR_PIN_LOCKED);
    assert_int_equal(tok_login(h, CKU_USER, U_PIN(U_USER_PIN)), CKR_OK);
    assert_int_equal(tok_close_session(h), CKR_OK);
    CK_UTF8CHAR label[32];
    u_label(label, "x");
    assert_int_equal(tok_init_token(e->slot, U_PIN(U_SO_PIN), label), CKR_PIN_LOCKED);
}

/* A write that fails half-way leaves nothing behind. SQLite triggers make the store fail on
 * demand (these tests run as root too, where chmod cannot make a file read-only). */
static void test_failed_writes_are_atomic(void **state)
{
    struct tfx *t = *state;
    const struct u_env *e = &t->e;
    CK_SESSION_HANDLE h = u_open_rw(e);
    assert_int_equal(tok_login(h, CKU_USER, U_PIN(U_USER_PIN)), CKR_OK);
    CK_OBJECT_HANDLE keep = u_make_data(h, "keep", false);
    sqlite3 *db = u_db_open(e->db);
    struct u_val acc0 = u_db_get(db, "token", "acc", 1);
    int64_t rows0 = u_db_int(db, "SELECT count(*) FROM objects");
    assert_int_equal(rows0, 1);
    int64_t keep_row = u_db_int(db, "SELECT id FROM objects");
    struct u_val attrs0 = u_db_get(db, "objects", "attrs", keep_row);

    /* 1. The object insert fails. */
    u_db_exec(db, "CREATE TRIGGER no_obj BEFORE INSERT ON objects BEGIN SELECT RAISE(ABORT, 'x'); END");
    CK_OBJECT_CLASS cls = CKO_DATA;
    CK_BBOOL tru = CK_TRUE;
    CK_ATTRIBUTE tm[] = { { CKA_CLASS, &cls, sizeof cls }, { CKA_TOKEN, &tru, 1 }, { CKA_LABEL, "new", 3 } };
    CK_OBJECT_HANDLE o = 0;
    assert_int_equal(tok_create_object(h, tm, 3, &o), CKR_DEVICE_ERROR);
    u_db_exec(db, "DROP TRIGGER no_obj");
    /* 2. The object row goes in, then the token row (accumulator) write fails. */
    u_db_exec(db, "CREATE TRIGGER no_tok BEFORE INSERT ON token BEGIN SELECT RAISE(ABORT, 'x'); END");
    assert_int_equal(tok_create_object(h, tm, 3, &o), CKR_DEVICE_ERROR);
    assert_int_equal(u_db_int(db, "SELECT count(*) FROM objects"), rows0);
    /* 3. Update and destroy fail the same way and change nothing. */
    CK_ATTRIBUTE lab = { CKA_LABEL, "changed", 7 };
    assert_int_equal(tok_set_attributes(h, keep, &lab, 1), CKR_DEVICE_ERROR);
    assert_int_equal(tok_destroy_object(h, keep), CKR_DEVICE_ERROR);
    struct u_val attrs1 = u_db_get(db, "objects", "attrs", keep_row);
    assert_int_equal(attrs1.len, attrs0.len);
    assert_memory_equal(attrs1.p, attrs0.p, attrs0.len);
    u_val_free(&attrs1);
    struct u_val acc1 = u_db_get(db, "token", "acc", 1);
    assert_memory_equal(acc1.p, acc0.p, 32);
    u_val_free(&acc1);
    assert_int_equal(u_db_int(db, "SELECT count(*) FROM objects"), rows0);
    u_db_exec(db, "DROP TRIGGER no_tok");
    /* The object is still usable and unchanged through its handle. */
    char buf[16];
    CK_ATTRIBUTE q = { CKA_LABEL, buf, sizeof buf };
    assert_int_equal(tok_get_attributes(h, keep, &q, 1), CKR_OK);
    assert_int_equal(q.ulValueLen, 4);
    assert_memory_equal(buf, "keep", 4);
    /* Writes work again, and the token's integrity state stayed consistent. */
    assert_int_equal(tok_create_object(h, tm, 3, &o), CKR_OK);
    assert_int_equal(tok_set_attributes(h, keep, &lab, 1), CKR_OK);
    assert_int_equal(tok_logout(h), CKR_OK);
    assert_int_equal(tok_login(h, CKU_USER, U_PIN(U_USER_PIN)), CKR_OK);
    assert_int_equal(u_db_int(db, "SELECT count(*) FROM objects"), 2);
    u_val_free(&acc0);
    u_val_free(&attrs0);
    sqlite3_close(db);
    assert_int_equal(tok_close_session(h), CKR_OK);
}

/* When the store cannot record a failed PIN try, the try must not count as a free guess:
 * otherwise an unwritable token (full disk, read-only file, a held lock) gives unlimited
 * guesses with a clear right/wrong answer. */
static void test_lockout_when_store_unwritable(void **state)
{
    struct tfx *t = *state;
    const struct u_env *e = &t->e;
    if (skip_known_bug())
        skip();
    CK_SESSION_HANDLE h = u_open_rw(e);
    sqlite3 *db = u_db_open(e->db);
    u_db_exec(db, "CREATE TRIGGER no_tok BEFORE INSERT ON token BEGIN SELECT RAISE(ABORT, 'x'); END");
    /* max_failures is 3: ten wrong tries. */
    for (int i = 0; i < 10; i++) {
        CK_RV rv = tok_login(h, CKU_USER, U_PIN("000000"));
        assert_int_not_equal(rv, CKR_OK);
    }
    /* Whatever the wrong tries returned, the right PIN must not now be confirmed as right. */
    CK_RV rv = tok_login(h, CKU_USER, U_PIN(U_USER_PIN));
    u_db_exec(db, "DROP TRIGGER no_tok");
    sqlite3_close(db);
    if (rv == CKR_OK)
        assert_int_equal(tok_logout(h), CKR_OK);
    assert_int_equal(tok_close_session(h), CKR_OK);
    assert_int_not_equal(rv, CKR_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_modes, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_exclusive, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_token_roundtrip, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_object_crud, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_object_malformed_columns, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_find, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_transactions, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_data_version_sees_other_connections, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_session_states, tok_setup, tok_teardown),
        cmocka_unit_test_setup_teardown(test_pin_rules, tok_setup, tok_teardown),
        cmocka_unit_test_setup_teardown(test_lockout_persists_and_initpin_unlocks, tok_setup, tok_teardown),
        cmocka_unit_test_setup_teardown(test_so_lockout, tok_setup, tok_teardown),
        cmocka_unit_test_setup_teardown(test_failed_writes_are_atomic, tok_setup, tok_teardown),
        cmocka_unit_test_setup_teardown(test_lockout_when_store_unwritable, tok_setup, tok_teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
