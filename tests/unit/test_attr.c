/* Unit tests for object/attr.c: attribute lists and their serialized form. */
#include "unit_util.h"
#include "object/attr.h"
#include "base/mem.h"

static int setup(void **state)
{
    (void)state;
    return secmem_init();
}

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Appends one TLV to buf at *off. */
static void tlv(uint8_t *buf, size_t *off, uint64_t type, uint32_t len, const void *val)
{
    put_u64(buf + *off, type);
    put_u32(buf + *off + 8, len);
    if (len)
        memcpy(buf + *off + 12, val, len);
    *off += 12 + len;
}

static void test_set_get_copies(void **state)
{
    (void)state;
    attrs_t a;
    attrs_init(&a);
    uint8_t v[4] = { 1, 2, 3, 4 };
    assert_int_equal(attrs_set(&a, CKA_LABEL, v, 4, false), CKR_OK);
    v[0] = 9; /* the list keeps its own copy */
    const attr_t *at = attrs_get(&a, CKA_LABEL);
    assert_non_null(at);
    assert_int_equal(at->type, CKA_LABEL);
    assert_int_equal(at->len, 4);
    assert_false(at->secret);
    assert_memory_equal(at->val, "\x01\x02\x03\x04", 4);
    assert_null(attrs_get(&a, CKA_ID));
    /* Zero length values are stored with a non-NULL pointer. */
    assert_int_equal(attrs_set(&a, CKA_ID, NULL, 0, false), CKR_OK);
    at = attrs_get(&a, CKA_ID);
    assert_non_null(at);
    assert_int_equal(at->len, 0);
    assert_non_null(at->val);
    assert_int_equal(a.n, 2);
    attrs_free(&a);
    assert_int_equal(a.n, 0);
    assert_null(a.v);
}

static void test_replace(void **state)
{
    (void)state;
    attrs_t a;
    attrs_init(&a);
    assert_int_equal(attrs_set(&a, CKA_LABEL, "short", 5, false), CKR_OK);
    assert_int_equal(attrs_set(&a, CKA_ID, "id", 2, false), CKR_OK);
    assert_int_equal(attrs_set(&a, CKA_LABEL, "a much longer label", 19, false), CKR_OK);
    assert_int_equal(a.n, 2);
    const attr_t *at = attrs_get(&a, CKA_LABEL);
    assert_int_equal(at->len, 19);
    assert_memory_equal(at->val, "a much longer label", 19);
    /* Replacing also changes the secret flag (and the memory it lives in). */
    assert_int_equal(attrs_set(&a, CKA_LABEL, "k", 1, true), CKR_OK);
    at = attrs_get(&a, CKA_LABEL);
    assert_true(at->secret);
    assert_int_equal(at->len, 1);
    assert_memory_equal(at->val, "k", 1);
    assert_int_equal(attrs_set(&a, CKA_LABEL, "p", 1, false), CKR_OK);
    assert_false(attrs_get(&a, CKA_LABEL)->secret);
    attrs_free(&a);
}

static void test_remove(void **state)
{
    (void)state;
    attrs_t a;
    attrs_init(&a);
    for (CK_ULONG t = 0; t < 40; t++) /* beyond the first growth */
        assert_int_equal(attrs_set_ulong(&a, 0x1000 + t, t * 3), CKR_OK);
    assert_int_equal(a.n, 40);
    attrs_remove(&a, 0x1000 + 5);
    attrs_remove(&a, 0x1000 + 5); /* absent: no-op */
    attrs_remove(&a, 0x9999);
    assert_int_equal(a.n, 39);
    assert_null(attrs_get(&a, 0x1000 + 5));
    for (CK_ULONG t = 0; t < 40; t++) {
        if (t == 5)
            continue;
        CK_ULONG v = 0;
        assert_true(attrs_ulong(&a, 0x1000 + t, &v));
        assert_int_equal(v, t * 3);
    }
    attrs_free(&a);
}

static void test_typed_accessors(void **state)
{
    (void)state;
    attrs_t a;
    attrs_init(&a);
    assert_int_equal(attrs_set_bool(&a, CKA_TOKEN, true), CKR_OK);
    assert_int_equal(attrs_set_bool(&a, CKA_PRIVATE, false), CKR_OK);
    assert_int_equal(attrs_set(&a, CKA_SIGN, "\x01\x00", 2, false), CKR_OK); /* wrong size */
    assert_int_equal(attrs_set(&a, CKA_CLASS, "\x01\x00\x00\x00", 4, false), CKR_OK);
    assert_int_equal(attrs_get(&a, CKA_TOKEN)->val[0], CK_TRUE);
    assert_int_equal(attrs_get(&a, CKA_TOKEN)->len, sizeof(CK_BBOOL));
    assert_true(attrs_bool(&a, CKA_TOKEN, false));
    assert_false(attrs_bool(&a, CKA_PRIVATE, true));
    assert_true(attrs_bool(&a, CKA_SIGN, true));   /* wrong size: the default */
    assert_false(attrs_bool(&a, CKA_SIGN, false));
    assert_true(attrs_bool(&a, CKA_DERIVE, true)); /* absent: the default */
    CK_ULONG v = 77;
    assert_false(attrs_ulong(&a, CKA_CLASS, &v)); /* 4 bytes is not a CK_ULONG here */
    assert_int_equal(v, 77);
    assert_false(attrs_ulong(&a, CKA_KEY_TYPE, &v));
    assert_int_equal(attrs_set_ulong(&a, CKA_KEY_TYPE, CKK_AES), CKR_OK);
    assert_true(attrs_ulong(&a, CKA_KEY_TYPE, &v));
    assert_int_equal(v, CKK_AES);
    attrs_free(&a);
}

static void test_copy_and_match(void **state)
{
    (void)state;
    attrs_t a, b;
    attrs_init(&a);
    assert_int_equal(attrs_set(&a, CKA_LABEL, "lbl", 3, false), CKR_OK);
    assert_int_equal(attrs_set(&a, CKA_VALUE, "\xde\xad\xbe\xef", 4, true), CKR_OK);
    assert_int_equal(attrs_set_ulong(&a, CKA_CLASS, CKO_SECRET_KEY), CKR_OK);
    assert_int_equal(attrs_copy(&b, &a), CKR_OK);
    assert_int_equal(b.n, 3);
    assert_ptr_not_equal(attrs_get(&b, CKA_LABEL)->val, attrs_get(&a, CKA_LABEL)->val);
    assert_true(attrs_get(&b, CKA_VALUE)->secret);
    assert_memory_equal(attrs_get(&b, CKA_VALUE)->val, "\xde\xad\xbe\xef", 4);
    attrs_get(&a, CKA_LABEL)->val[0] = 'X'; /* deep copy: b unaffected */
    assert_memory_equal(attrs_get(&b, CKA_LABEL)->val, "lbl", 3);

    CK_OBJECT_CLASS cls = CKO_SECRET_KEY, other = CKO_DATA;
    CK_ATTRIBUTE m1[] = { { CKA_CLASS, &cls, sizeof cls }, { CKA_LABEL, "lbl", 3 } };
    CK_ATTRIBUTE m2[] = { { CKA_CLASS, &other, sizeof other } };
    CK_ATTRIBUTE m3[] = { { CKA_LABEL, "lb", 2 } };                /* prefix is no match */
    CK_ATTRIBUTE m4[] = { { CKA_ID, "", 0 } };                    /* absent */
    CK_ATTRIBUTE m5[] = { { CKA_LABEL, NULL, 3 } };               /* no value to compare */
    assert_true(attrs_match(&b, m1, 2));
    assert_true(attrs_match(&b, NULL, 0));
    assert_false(attrs_match(&b, m2, 1));
    assert_false(attrs_match(&b, m3, 1));
    assert_false(attrs_match(&b, m4, 1));
    assert_false(attrs_match(&b, m5, 1));
    attrs_free(&a);
    attrs_free(&b);
}

static void test_serialize_exact_bytes(void **state)
{
    (void)state;
    attrs_t a;
    attrs_init(&a);
    assert_int_equal(attrs_set(&a, CKA_LABEL, "ab", 2, false), CKR_OK);
    assert_int_equal(attrs_set(&a, CKA_VALUE, "K", 1, true), CKR_OK);
    assert_int_equal(attrs_set(&a, 0x80000001UL, NULL, 0, false), CKR_OK);
    uint8_t *out = NULL;
    size_t len = 0;
    assert_int_equal(attrs_serialize(&a, false, &out, &len), CKR_OK);
    uint8_t want[64];
    size_t off = 4;
    memcpy(want, "CRA1", 4);
    tlv(want, &off, CKA_LABEL, 2, "ab");
    tlv(want, &off, 0x80000001UL, 0, NULL);
    assert_int_equal(len, off);
    assert_memory_equal(out, want, off);
    attrs_serialized_free(out, len, false);

    /* The secret half holds only the secret attribute. */
    assert_int_equal(attrs_serialize(&a, true, &out, &len), CKR_OK);
    off = 4;
    tlv(want, &off, CKA_VALUE, 1, "K");
    assert_int_equal(len, off);
    assert_memory_equal(out, want, off);
    attrs_serialized_free(out, len, true);

    /* An empty list is just the magic. */
    attrs_t e;
    attrs_init(&e);
    assert_int_equal(attrs_serialize(&e, false, &out, &len), CKR_OK);
    assert_int_equal(len, 4);
    assert_memory_equal(out, "CRA1", 4);
    attrs_serialized_free(out, len, false);
    attrs_free(&a);
}

static void test_roundtrip(void **state)
{
    (void)state;
    attrs_t a, b;
    attrs_init(&a);
    attrs_init(&b);
    uint8_t big[5000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)(i * 7 + 1);
    assert_int_equal(attrs_set_ulong(&a, CKA_CLASS, CKO_DATA), CKR_OK);
    assert_int_equal(attrs_set_bool(&a, CKA_TOKEN, true), CKR_OK);
    assert_int_equal(attrs_set(&a, CKA_VALUE, big, sizeof big, false), CKR_OK);
    assert_int_equal(attrs_set(&a, CKA_LABEL, "", 0, false), CKR_OK);
    assert_int_equal(attrs_set(&a, 0xFFFFFFFFFFFFFFF0ULL & (CK_ULONG)-1, "x", 1, false), CKR_OK);
    uint8_t *out;
    size_t len;
    assert_int_equal(attrs_serialize(&a, false, &out, &len), CKR_OK);
    assert_int_equal(attrs_parse(&b, out, len, false), CKR_OK);
    assert_int_equal(b.n, a.n);
    for (size_t i = 0; i < a.n; i++) {
        const attr_t *x = &a.v[i], *y = attrs_get(&b, x->type);
        assert_non_null(y);
        assert_int_equal(y->len, x->len);
        assert_false(y->secret);
        if (x->len)
            assert_memory_equal(y->val, x->val, x->len);
    }
    attrs_serialized_free(out, len, false);
    attrs_free(&a);
    attrs_free(&b);
}

static void test_parse_secret_flag(void **state)
{
    (void)state;
    uint8_t buf[64];
    size_t off = 4;
    memcpy(buf, "CRA1", 4);
    tlv(buf, &off, CKA_VALUE, 3, "key");
    tlv(buf, &off, CKA_PRIME_1, 2, "pq");
    attrs_t a;
    attrs_init(&a);
    assert_int_equal(attrs_set(&a, CKA_LABEL, "pub", 3, false), CKR_OK);
    assert_int_equal(attrs_parse(&a, buf, off, true), CKR_OK); /* appends */
    assert_int_equal(a.n, 3);
    assert_false(attrs_get(&a, CKA_LABEL)->secret);
    assert_true(attrs_get(&a, CKA_VALUE)->secret);
    assert_true(attrs_get(&a, CKA_PRIME_1)->secret);
    assert_memory_equal(attrs_get(&a, CKA_VALUE)->val, "key", 3);
    /* secret values live in libsodium's guarded allocations: page-aligned end, i.e. the
     * value pointer is not an ordinary malloc chunk. We can at least check the flag drives
     * serialization into the secret half. */
    uint8_t *out;
    size_t len;
    assert_int_equal(attrs_serialize(&a, true, &out, &len), CKR_OK);
    assert_int_equal(len, off);
    assert_memory_equal(out, buf, off);
    attrs_serialized_free(out, len, true);
    attrs_free(&a);
}

/* Every malformed input gives CKR_DEVICE_ERROR; the list can then be freed (no leak, no
 * crash under ASan). */
static void expect_bad(const uint8_t *buf, size_t len)
{
    attrs_t a;
    attrs_init(&a);
    assert_int_equal(attrs_parse(&a, buf, len, false), CKR_DEVICE_ERROR);
    attrs_free(&a);
    attrs_init(&a);
    assert_int_equal(attrs_parse(&a, buf, len, true), CKR_DEVICE_ERROR);
    attrs_free(&a);
}

static void test_parse_malformed(void **state)
{
    (void)state;
    uint8_t buf[128];
    size_t off = 4;
    memcpy(buf, "CRA1", 4);
    tlv(buf, &off, CKA_LABEL, 3, "abc");

    /* Too short for the magic, and wrong magic. */
    expect_bad(buf, 0);
    expect_bad(buf, 3);
    uint8_t bad[128];
    memcpy(bad, buf, off);
    bad[0] = 'c';
    expect_bad(bad, off);
    memcpy(bad, buf, off);
    memcpy(bad, "CRA2", 4);
    expect_bad(bad, off);
    /* Truncated header (1..11 bytes after the magic). */
    for (size_t cut = 5; cut < 16; cut++)
        expect_bad(buf, cut);
    /* Truncated value. */
    expect_bad(buf, off - 1);
    /* Value length beyond the buffer by one. */
    memcpy(bad, buf, off);
    put_u32(bad + 12, 4);
    expect_bad(bad, off);
    /* Oversized length fields: huge, and just over the 16 MiB limit. */
    put_u32(bad + 12, 0xFFFFFFFFu);
    expect_bad(bad, off);
    put_u32(bad + 12, (1u << 24) + 1);
    expect_bad(bad, off);
    /* Duplicate type. */
    size_t o2 = off;
    memcpy(bad, buf, off);
    tlv(bad, &o2, CKA_LABEL, 1, "z");
    expect_bad(bad, o2);
    /* Duplicate of an attribute already in the list being appended to. */
    attrs_t a;
    attrs_init(&a);
    assert_int_equal(attrs_set(&a, CKA_LABEL, "x", 1, false), CKR_OK);
    assert_int_equal(attrs_parse(&a, buf, off, false), CKR_DEVICE_ERROR);
    attrs_free(&a);
    /* The magic alone is a valid empty list. */
    attrs_init(&a);
    assert_int_equal(attrs_parse(&a, buf, 4, false), CKR_OK);
    assert_int_equal(a.n, 0);
    attrs_free(&a);
}

static void test_parse_count_limit(void **state)
{
    (void)state;
    /* 4096 attributes are accepted, 4097 are not. */
    size_t n = 4097;
    uint8_t *buf = malloc(4 + n * 12);
    assert_non_null(buf);
    memcpy(buf, "CRA1", 4);
    size_t off = 4;
    for (size_t i = 0; i < n; i++)
        tlv(buf, &off, 0x10000 + i, 0, NULL);
    attrs_t a;
    attrs_init(&a);
    assert_int_equal(attrs_parse(&a, buf, off - 12, false), CKR_OK);
    assert_int_equal(a.n, 4096);
    attrs_free(&a);
    attrs_init(&a);
    assert_int_equal(attrs_parse(&a, buf, off, false), CKR_DEVICE_ERROR);
    attrs_free(&a);
    free(buf);
}

/* Every prefix of a valid serialization parses only when it ends on a boundary. */
static void test_parse_every_prefix(void **state)
{
    (void)state;
    uint8_t buf[256];
    size_t off = 4, bounds[8], nb = 0;
    memcpy(buf, "CRA1", 4);
    bounds[nb++] = off;
    tlv(buf, &off, CKA_CLASS, 8, "\x00\x00\x00\x00\x00\x00\x00\x00");
    bounds[nb++] = off;
    tlv(buf, &off, CKA_LABEL, 0, NULL);
    bounds[nb++] = off;
    tlv(buf, &off, CKA_VALUE, 40, "0123456789012345678901234567890123456789");
    bounds[nb++] = off;
    for (size_t len = 0; len <= off; len++) {
        bool boundary = false;
        for (size_t i = 0; i < nb; i++)
            boundary |= bounds[i] == len;
        attrs_t a;
        attrs_init(&a);
        /* A copy of exactly len bytes, so ASan sees any over-read. */
        uint8_t *p = malloc(len ? len : 1);
        memcpy(p, buf, len);
        assert_int_equal(attrs_parse(&a, p, len, false), boundary ? CKR_OK : CKR_DEVICE_ERROR);
        free(p);
        attrs_free(&a);
    }
}

/* Single-byte corruption anywhere never crashes; it either parses or is refused. */
static void test_parse_flips_no_crash(void **state)
{
    (void)state;
    uint8_t buf[256];
    size_t off = 4;
    memcpy(buf, "CRA1", 4);
    tlv(buf, &off, CKA_CLASS, 8, "\x01\x00\x00\x00\x00\x00\x00\x00");
    tlv(buf, &off, CKA_LABEL, 5, "hello");
    tlv(buf, &off, CKA_VALUE, 16, "0123456789abcdef");
    for (size_t i = 0; i < off; i++) {
        for (int bit = 0; bit < 8; bit++) {
            uint8_t *p = malloc(off);
            memcpy(p, buf, off);
            p[i] ^= (uint8_t)(1u << bit);
            attrs_t a;
            attrs_init(&a);
            CK_RV rv = attrs_parse(&a, p, off, bit & 1);
            assert_true(rv == CKR_OK || rv == CKR_DEVICE_ERROR);
            if (i < 4 || (i >= 12 && i < 16) || (i >= 32 && i < 36) || (i >= 49 && i < 53))
                assert_int_equal(rv, CKR_DEVICE_ERROR); /* magic or a length field */
            attrs_free(&a);
            free(p);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_get_copies),
        cmocka_unit_test(test_replace),
        cmocka_unit_test(test_remove),
        cmocka_unit_test(test_typed_accessors),
        cmocka_unit_test(test_copy_and_match),
        cmocka_unit_test(test_serialize_exact_bytes),
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_parse_secret_flag),
        cmocka_unit_test(test_parse_malformed),
        cmocka_unit_test(test_parse_count_limit),
        cmocka_unit_test(test_parse_every_prefix),
        cmocka_unit_test(test_parse_flips_no_crash),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
