/* Unit tests for store/seal.c: PIN records, object sealing and the integrity columns. */
#include "unit_util.h"
#include "store/seal.h"
#include "base/mem.h"
#include "base/ossl.h"
#include "object/template.h"

static const uint8_t UUID[16] = "0123456789abcdef";
static const char UIDA[UID_LEN + 1] = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
static uint8_t TK[32];

static int setup(void **state)
{
    (void)state;
    if (secmem_init() || ossl_open())
        return -1;
    for (int i = 0; i < 32; i++)
        TK[i] = (uint8_t)(0xA0 + i);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ossl_close();
    return 0;
}

/* ---- PINs ------------------------------------------------------------------------------ */

static void test_pin_set_check(void **state)
{
    (void)state;
    struct pin_record p;
    memset(&p, 0xee, sizeof p);
    assert_int_equal(seal_pin_set(&p, UUID, ROLE_USER, U_PIN("123456"), 1000, TK), CKR_OK);
    assert_true(p.set);
    assert_int_equal(p.iterations, 1000);
    assert_int_equal(p.failures, 0);
    uint8_t *tk = secmem_alloc(32);
    memset(tk, 0, 32);
    assert_int_equal(seal_pin_check(&p, UUID, ROLE_USER, U_PIN("123456"), tk), CKR_OK);
    assert_memory_equal(tk, TK, 32);
    assert_int_equal(seal_pin_check(&p, UUID, ROLE_USER, U_PIN("123457"), tk), CKR_PIN_INCORRECT);
    assert_int_equal(seal_pin_check(&p, UUID, ROLE_USER, U_PIN("12345"), tk), CKR_PIN_INCORRECT);
    assert_int_equal(seal_pin_check(&p, UUID, ROLE_USER, U_PIN("1234567"), tk), CKR_PIN_INCORRECT);
    assert_int_equal(seal_pin_check(&p, UUID, ROLE_USER, (CK_UTF8CHAR_PTR)"", 0, tk), CKR_PIN_INCORRECT);
    /* The record is bound to its token and role: the right PIN still does not unwrap. */
    uint8_t other[16];
    memcpy(other, UUID, 16);
    other[15] ^= 1;
    assert_int_equal(seal_pin_check(&p, other, ROLE_USER, U_PIN("123456"), tk), CKR_DEVICE_ERROR);
    assert_int_equal(seal_pin_check(&p, UUID, ROLE_SO, U_PIN("123456"), tk), CKR_DEVICE_ERROR);
    /* A fresh salt every time: same PIN, different records. */
    struct pin_record q;
    assert_int_equal(seal_pin_set(&q, UUID, ROLE_USER, U_PIN("123456"), 1000, TK), CKR_OK);
    assert_memory_not_equal(p.salt, q.salt, 16);
    assert_memory_not_equal(p.verifier, q.verifier, 32);
    assert_memory_not_equal(p.wrapped, q.wrapped, sizeof p.wrapped);
    secmem_free(tk);
}

static void test_pin_iterations_honoured(void **state)
{
    (void)state;
    struct pin_record p;
    assert_int_equal(seal_pin_set(&p, UUID, ROLE_SO, U_PIN("so-pin-1"), 1234, TK), CKR_OK);
    assert_int_equal(p.iterations, 1234);
    /* The verifier is HKDF-SHA256(PBKDF2-HMAC-SHA256(pin, salt, iterations, 32), "craton pin
     * verifier v1"): one PBKDF2 chain, split by HKDF. */
    uint8_t dk[32], v[32];
    assert_int_equal(ossl_pbkdf2_sha256("so-pin-1", 8, p.salt, 16, 1234, dk, 32), 0);
    assert_int_equal(ossl_hkdf_sha256(dk, 32, "craton pin verifier v1", v, 32), 0);
    assert_memory_equal(p.verifier, v, 32);
    assert_int_equal(ossl_pbkdf2_sha256("so-pin-1", 8, p.salt, 16, 1233, dk, 32), 0);
    assert_int_equal(ossl_hkdf_sha256(dk, 32, "craton pin verifier v1", v, 32), 0);
    assert_memory_not_equal(p.verifier, v, 32);
    /* The stored count is the one used when checking. */
    uint8_t tk[32];
    assert_int_equal(seal_pin_check(&p, UUID, ROLE_SO, U_PIN("so-pin-1"), tk), CKR_OK);
    p.iterations = 1235;
    assert_int_equal(seal_pin_check(&p, UUID, ROLE_SO, U_PIN("so-pin-1"), tk), CKR_PIN_INCORRECT);
    p.iterations = 1234;
    /* A different count on a new record. */
    struct pin_record q;
    assert_int_equal(seal_pin_set(&q, UUID, ROLE_SO, U_PIN("so-pin-1"), 2000, TK), CKR_OK);
    assert_int_equal(q.iterations, 2000);
    assert_int_equal(ossl_pbkdf2_sha256("so-pin-1", 8, q.salt, 16, 2000, dk, 32), 0);
    assert_int_equal(ossl_hkdf_sha256(dk, 32, "craton pin verifier v1", v, 32), 0);
    assert_memory_equal(q.verifier, v, 32);
    assert_int_equal(seal_pin_check(&q, UUID, ROLE_SO, U_PIN("so-pin-1"), tk), CKR_OK);
    assert_memory_equal(tk, TK, 32);
}

static void test_pin_record_tamper(void **state)
{
    (void)state;
    struct pin_record p;
    uint8_t tk[32];
    assert_int_equal(seal_pin_set(&p, UUID, ROLE_USER, U_PIN("123456"), 1000, TK), CKR_OK);
    /* Every single-bit change of the verifier fails the right PIN. */
    for (size_t i = 0; i < 32; i++) {
        for (int bit = 0; bit < 8; bit += 7) {
            struct pin_record q = p;
            q.verifier[i] ^= (uint8_t)(1u << bit);
            assert_int_equal(seal_pin_check(&q, UUID, ROLE_USER, U_PIN("123456"), tk), CKR_PIN_INCORRECT);
        }
    }
    /* A changed salt makes the PIN wrong. */
    for (size_t i = 0; i < 16; i += 5) {
        struct pin_record q = p;
        q.salt[i] ^= 0x01;
        assert_int_equal(seal_pin_check(&q, UUID, ROLE_USER, U_PIN("123456"), tk), CKR_PIN_INCORRECT);
    }
    /* A changed wrapped key: right PIN, damaged record. */
    for (size_t i = 0; i < sizeof p.wrapped; i++) {
        struct pin_record q = p;
        q.wrapped[i] ^= 0x80;
        assert_int_equal(seal_pin_check(&q, UUID, ROLE_USER, U_PIN("123456"), tk), CKR_DEVICE_ERROR);
    }
}

/* ---- objects --------------------------------------------------------------------------- */

static const uint8_t KEYVAL[16] = { 0xde, 0xad, 0xbe, 0xef, 0x01, 0x23, 0x45, 0x67,
                                    0x89, 0xab, 0xcd, 0xef, 0xfe, 0xed, 0xfa, 0xce };
static const char LABEL[] = "Label-Zq8#unique";
static const uint8_t ID[] = { 0x7a, 0x31, 0x9c, 0x04, 0xee, 0x55, 0x12 };

/* A secret key object as the token layer builds it (CKA_VALUE flagged secret). */
static void make_secret_key(attrs_t *o, bool priv)
{
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_KEY_TYPE kt = CKK_AES;
    CK_BBOOL p = priv ? CK_TRUE : CK_FALSE, t = CK_TRUE;
    CK_ATTRIBUTE tm[] = { { CKA_CLASS, &cls, sizeof cls }, { CKA_KEY_TYPE, &kt, sizeof kt },
                          { CKA_VALUE, (void *)KEYVAL, sizeof KEYVAL }, { CKA_PRIVATE, &p, 1 },
                          { CKA_TOKEN, &t, 1 }, { CKA_LABEL, (void *)LABEL, sizeof LABEL - 1 },
                          { CKA_ID, (void *)ID, sizeof ID } };
    attrs_t in;
    assert_int_equal(tmpl_parse(tm, 7, &in), CKR_OK);
    assert_int_equal(tmpl_build(&in, TMPL_CREATE, CK_UNAVAILABLE_INFORMATION,
                                CK_UNAVAILABLE_INFORMATION, false, o), CKR_OK);
    attrs_free(&in);
    assert_int_equal(tmpl_finish(o, TMPL_CREATE, CK_UNAVAILABLE_INFORMATION), CKR_OK);
    assert_int_equal(attrs_set(o, CKA_UNIQUE_ID, UIDA, UID_LEN, false), CKR_OK);
}

static void make_data(attrs_t *o, bool priv)
{
    CK_OBJECT_CLASS cls = CKO_DATA;
    CK_BBOOL p = priv ? CK_TRUE : CK_FALSE, t = CK_TRUE;
    CK_ATTRIBUTE tm[] = { { CKA_CLASS, &cls, sizeof cls }, { CKA_PRIVATE, &p, 1 }, { CKA_TOKEN, &t, 1 },
                          { CKA_LABEL, (void *)LABEL, sizeof LABEL - 1 },
                          { CKA_VALUE, "data-value-Kx7", 14 } };
    attrs_t in;
    assert_int_equal(tmpl_parse(tm, 5, &in), CKR_OK);
    assert_int_equal(tmpl_build(&in, TMPL_CREATE, CK_UNAVAILABLE_INFORMATION,
                                CK_UNAVAILABLE_INFORMATION, false, o), CKR_OK);
    attrs_free(&in);
    assert_int_equal(tmpl_finish(o, TMPL_CREATE, CK_UNAVAILABLE_INFORMATION), CKR_OK);
    assert_int_equal(attrs_set(o, CKA_UNIQUE_ID, UIDA, UID_LEN, false), CKR_OK);
}

/* Same attributes, same values, in any order; and the secret flag follows the schema. */
static void assert_same_object(const attrs_t *a, const attrs_t *b)
{
    assert_int_equal(a->n, b->n);
    for (size_t i = 0; i < a->n; i++) {
        const attr_t *x = &a->v[i], *y = attrs_get(b, x->type);
        assert_non_null(y);
        assert_int_equal(x->len, y->len);
        if (x->len)
            assert_memory_equal(x->val, y->val, x->len);
        assert_int_equal(x->secret, y->secret);
    }
}

static void roundtrip(attrs_t *o, bool expect_secret_col)
{
    struct seal_keys *k = seal_keys_new(TK);
    assert_non_null(k);
    struct object_record r = { 0 };
    assert_int_equal(seal_object(k, UUID, UIDA, o, &r), CKR_OK);
    assert_memory_equal(r.uid, UIDA, UID_LEN + 1);
    assert_int_equal(r.cls, obj_class(o));
    assert_int_equal(r.key_type, obj_keytype(o));
    assert_int_equal(r.is_private, attrs_bool(o, CKA_PRIVATE, false));
    assert_true(expect_secret_col == (r.secret != NULL));
    attrs_t back;
    bool loaded = false;
    assert_int_equal(unseal_object(k, UUID, &r, &back, &loaded), CKR_OK);
    assert_true(loaded);
    assert_same_object(o, &back);
    attrs_free(&back);
    store_record_free(&r);
    seal_keys_free(k);
}

static void test_roundtrip_public_and_private(void **state)
{
    (void)state;
    attrs_t o;
    make_secret_key(&o, false);
    assert_true(attrs_get(&o, CKA_VALUE)->secret);
    roundtrip(&o, true);
    attrs_free(&o);
    make_secret_key(&o, true);
    roundtrip(&o, true);
    attrs_free(&o);
    make_data(&o, false);
    roundtrip(&o, false);
    attrs_free(&o);
    make_data(&o, true);
    roundtrip(&o, true);
    attrs_free(&o);
}

static void test_index_columns(void **state)
{
    (void)state;
    struct seal_keys *k = seal_keys_new(TK);
    attrs_t o;
    struct object_record r = { 0 };
    /* Public: the raw label and ID, so C_FindObjects can look them up. */
    make_secret_key(&o, false);
    assert_int_equal(seal_object(k, UUID, UIDA, &o, &r), CKR_OK);
    assert_int_equal(r.label_ix_len, sizeof LABEL - 1);
    assert_memory_equal(r.label_ix, LABEL, sizeof LABEL - 1);
    assert_int_equal(r.id_ix_len, sizeof ID);
    assert_memory_equal(r.id_ix, ID, sizeof ID);
    store_record_free(&r);
    attrs_free(&o);
    /* Private: the keyed hashes. */
    make_secret_key(&o, true);
    assert_int_equal(seal_object(k, UUID, UIDA, &o, &r), CKR_OK);
    uint8_t h[32];
    assert_int_equal(seal_index(k, 'L', LABEL, sizeof LABEL - 1, h), CKR_OK);
    assert_int_equal(r.label_ix_len, 32);
    assert_memory_equal(r.label_ix, h, 32);
    assert_int_equal(seal_index(k, 'I', ID, sizeof ID, h), CKR_OK);
    assert_int_equal(r.id_ix_len, 32);
    assert_memory_equal(r.id_ix, h, 32);
    /* Label and ID hashes differ for the same bytes (domain separated). */
    uint8_t h2[32];
    assert_int_equal(seal_index(k, 'L', ID, sizeof ID, h2), CKR_OK);
    assert_memory_not_equal(h, h2, 32);
    store_record_free(&r);
    attrs_free(&o);
    /* An object without label/ID attributes leaves the columns NULL. */
    attrs_t bare;
    attrs_init(&bare);
    assert_int_equal(attrs_set_ulong(&bare, CKA_CLASS, CKO_DATA), CKR_OK);
    assert_int_equal(seal_object(k, UUID, UIDA, &bare, &r), CKR_OK);
    assert_null(r.label_ix);
    assert_null(r.id_ix);
    assert_null(r.secret);
    store_record_free(&r);
    attrs_free(&bare);
    seal_keys_free(k);
}

/* Nothing a private object holds is readable from any column. */
static void assert_not_in_record(const struct object_record *r, const void *needle, size_t n)
{
    assert_false(u_contains(r->attrs, r->attrs_len, needle, n));
    assert_false(u_contains(r->secret, r->secret_len, needle, n));
    assert_false(u_contains(r->label_ix, r->label_ix_len, needle, n));
    assert_false(u_contains(r->id_ix, r->id_ix_len, needle, n));
    assert_false(u_contains(r->digest, 32, needle, n));
    assert_false(u_contains(r->term, 32, needle, n));
    assert_false(u_contains((const uint8_t *)r->uid, UID_LEN, needle, n));
}

static void test_private_not_in_clear(void **state)
{
    (void)state;
    struct seal_keys *k = seal_keys_new(TK);
    attrs_t o;
    struct object_record r = { 0 };
    make_secret_key(&o, true);
    assert_int_equal(seal_object(k, UUID, UIDA, &o, &r), CKR_OK);
    assert_not_in_record(&r, LABEL, sizeof LABEL - 1);
    assert_not_in_record(&r, ID, sizeof ID);
    assert_not_in_record(&r, KEYVAL, sizeof KEYVAL);
    /* Even a 6-byte piece of the label. */
    assert_not_in_record(&r, LABEL + 3, 6);
    /* The public part of a private object is just the magic. */
    assert_int_equal(r.attrs_len, 4);
    store_record_free(&r);
    attrs_free(&o);
    make_data(&o, true);
    assert_int_equal(seal_object(k, UUID, UIDA, &o, &r), CKR_OK);
    assert_not_in_record(&r, LABEL, sizeof LABEL - 1);
    assert_not_in_record(&r, "data-value-Kx7", 14);
    store_record_free(&r);
    attrs_free(&o);
    /* A public secret key: label in clear, key value only sealed. */
    make_secret_key(&o, false);
    assert_int_equal(seal_object(k, UUID, UIDA, &o, &r), CKR_OK);
    assert_true(u_contains(r.attrs, r.attrs_len, LABEL, sizeof LABEL - 1));
    assert_not_in_record(&r, KEYVAL, sizeof KEYVAL);
    assert_not_in_record(&r, KEYVAL + 5, 6);
    store_record_free(&r);
    attrs_free(&o);
    seal_keys_free(k);
}

static void test_unseal_without_keys(void **state)
{
    (void)state;
    struct seal_keys *k = seal_keys_new(TK);
    attrs_t o, back;
    bool loaded = true;
    struct object_record r = { 0 };
    /* Private: refused. */
    make_secret_key(&o, true);
    assert_int_equal(seal_object(k, UUID, UIDA, &o, &r), CKR_OK);
    assert_int_equal(unseal_object(NULL, UUID, &r, &back, &loaded), CKR_USER_NOT_LOGGED_IN);
    assert_false(loaded);
    assert_int_equal(back.n, 0);
    store_record_free(&r);
    attrs_free(&o);
    make_data(&o, true);
    assert_int_equal(seal_object(k, UUID, UIDA, &o, &r), CKR_OK);
    assert_int_equal(unseal_object(NULL, UUID, &r, &back, &loaded), CKR_USER_NOT_LOGGED_IN);
    store_record_free(&r);
    attrs_free(&o);
    /* Public with a secret part: loads without it. */
    make_secret_key(&o, false);
    assert_int_equal(seal_object(k, UUID, UIDA, &o, &r), CKR_OK);
    loaded = true;
    assert_int_equal(unseal_object(NULL, UUID, &r, &back, &loaded), CKR_OK);
    assert_false(loaded);
    assert_null(attrs_get(&back, CKA_VALUE));
    assert_int_equal(back.n, o.n - 1);
    assert_memory_equal(attrs_get(&back, CKA_LABEL)->val, LABEL, sizeof LABEL - 1);
    CK_ULONG vl = 0;
    assert_true(attrs_ulong(&back, CKA_VALUE_LEN, &vl));
    assert_int_equal(vl, 16);
    attrs_free(&back);
    /* With keys the value comes back, in secure memory (flagged secret). */
    assert_int_equal(unseal_object(k, UUID, &r, &back, &loaded), CKR_OK);
    assert_true(loaded);
    const attr_t *v = attrs_get(&back, CKA_VALUE);
    assert_non_null(v);
    assert_true(v->secret);
    assert_memory_equal(v->val, KEYVAL, 16);
    assert_false(attrs_get(&back, CKA_LABEL)->secret);
    attrs_free(&back);
    store_record_free(&r);
    attrs_free(&o);
    /* Public, nothing secret: complete without keys. */
    make_data(&o, false);
    assert_int_equal(seal_object(k, UUID, UIDA, &o, &r), CKR_OK);
    assert_int_equal(unseal_object(NULL, UUID, &r, &back, &loaded), CKR_OK);
    assert_true(loaded);
    assert_same_object(&o, &back);
    attrs_free(&back);
    store_record_free(&r);
    attrs_free(&o);
    seal_keys_free(k);
}

static void test_unseal_wrong_context(void **state)
{
    (void)state;
    struct seal_keys *k = seal_keys_new(TK);
    uint8_t tk2[32];
    memcpy(tk2, TK, 32);
    tk2[0] ^= 1;
    struct seal_keys *k2 = seal_keys_new(tk2);
    attrs_t o, back;
    bool loaded;
    struct object_record r = { 0 };
    make_secret_key(&o, false);
    assert_int_equal(seal_object(k, UUID, UIDA, &o, &r), CKR_OK);
    /* Another token's key. */
    assert_int_equal(unseal_object(k2, UUID, &r, &back, &loaded), CKR_DEVICE_ERROR);
    assert_int_equal(back.n, 0);
    /* Another token's uuid (the digest covers it). */
    uint8_t uuid2[16];
    memcpy(uuid2, UUID, 16);
    uuid2[3] ^= 4;
    assert_int_equal(unseal_object(k, uuid2, &r, &back, &loaded), CKR_DEVICE_ERROR);
    assert_int_equal(unseal_object(NULL, uuid2, &r, &back, &loaded), CKR_DEVICE_ERROR);
    /* Another uid. */
    r.uid[0] = 'b';
    assert_int_equal(unseal_object(k, UUID, &r, &back, &loaded), CKR_DEVICE_ERROR);
    assert_int_equal(unseal_object(NULL, UUID, &r, &back, &loaded), CKR_DEVICE_ERROR);
    store_record_free(&r);
    attrs_free(&o);
    seal_keys_free(k);
    seal_keys_free(k2);
}

/* A record edited in memory, field by field: every change is caught with keys. */
static void test_record_field_edits(void **state)
{
    (void)state;
    struct seal_keys *k = seal_keys_new(TK);
    attrs_t o, back;
    bool loaded;
    for (int priv = 0; priv < 2; priv++) {
        make_secret_key(&o, priv);
        struct object_record r = { 0 };
        assert_int_equal(seal_object(k, UUID, UIDA, &o, &r), CKR_OK);
        uint8_t *cols[] = { r.attrs, r.secret, r.label_ix, r.id_ix, r.digest, r.term };
        size_t lens[] = { r.attrs_len, r.secret_len, r.label_ix_len, r.id_ix_len, 32, 32 };
        for (size_t c = 0; c < 6; c++) {
            for (size_t i = 0; i < lens[c]; i++) {
                cols[c][i] ^= 0x01;
                assert_int_equal(unseal_object(k, UUID, &r, &back, &loaded), CKR_DEVICE_ERROR);
                /* Without keys the keyless digest still catches every content change;
                 * the keyed tag alone is only checked with the key. */
                CK_RV want = CKR_DEVICE_ERROR;
                if (c == 5)
                    want = priv ? CKR_USER_NOT_LOGGED_IN : CKR_OK;
                assert_int_equal(unseal_object(NULL, UUID, &r, &back, &loaded), want);
                attrs_free(&back);
                cols[c][i] ^= 0x01;
            }
        }
        CK_ULONG save = r.cls;
        r.cls = CKO_DATA;
        assert_int_equal(unseal_object(k, UUID, &r, &back, &loaded), CKR_DEVICE_ERROR);
        r.cls = save;
        save = r.key_type;
        r.key_type = CKK_GENERIC_SECRET;
        assert_int_equal(unseal_object(k, UUID, &r, &back, &loaded), CKR_DEVICE_ERROR);
        r.key_type = save;
        r.is_private = !r.is_private;
        assert_int_equal(unseal_object(k, UUID, &r, &back, &loaded), CKR_DEVICE_ERROR);
        r.is_private = !r.is_private;
        /* Shortened blobs. */
        r.attrs_len--;
        assert_int_equal(unseal_object(k, UUID, &r, &back, &loaded), CKR_DEVICE_ERROR);
        r.attrs_len++;
        r.secret_len = 10;
        assert_int_equal(unseal_object(k, UUID, &r, &back, &loaded), CKR_DEVICE_ERROR);
        r.secret_len = lens[1];
        /* Intact again. */
        assert_int_equal(unseal_object(k, UUID, &r, &back, &loaded), CKR_OK);
        attrs_free(&back);
        store_record_free(&r);
        attrs_free(&o);
    }
    seal_keys_free(k);
}

static void test_acc_mac(void **state)
{
    (void)state;
    struct seal_keys *k = seal_keys_new(TK);
    uint8_t acc[32] = { 0 }, m1[32], m2[32], m3[32];
    assert_int_equal(seal_acc_mac(k, acc, 3, m1), CKR_OK);
    assert_int_equal(seal_acc_mac(k, acc, 4, m2), CKR_OK);
    assert_memory_not_equal(m1, m2, 32);
    acc[31] = 1;
    assert_int_equal(seal_acc_mac(k, acc, 3, m3), CKR_OK);
    assert_memory_not_equal(m1, m3, 32);
    acc[31] = 0;
    assert_int_equal(seal_acc_mac(k, acc, 3, m2), CKR_OK);
    assert_memory_equal(m1, m2, 32);
    seal_keys_free(k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pin_set_check),
        cmocka_unit_test(test_pin_iterations_honoured),
        cmocka_unit_test(test_pin_record_tamper),
        cmocka_unit_test(test_roundtrip_public_and_private),
        cmocka_unit_test(test_index_columns),
        cmocka_unit_test(test_private_not_in_clear),
        cmocka_unit_test(test_unseal_without_keys),
        cmocka_unit_test(test_unseal_wrong_context),
        cmocka_unit_test(test_record_field_edits),
        cmocka_unit_test(test_acc_mac),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
