/* Unit tests for object/template.c: parsing callers' templates, building objects under the
 * spec's rules, computed attributes, C_SetAttributeValue/C_CopyObject changes and
 * C_GetAttributeValue semantics. */
#include "unit_util.h"
#include "object/template.h"
#include "base/mem.h"

static int setup(void **state)
{
    (void)state;
    return secmem_init();
}

static CK_BBOOL T = CK_TRUE, F = CK_FALSE;
#define A(type, ptr) { (type), (void *)(ptr), sizeof(*(ptr)) }
#define AB(type, str) { (type), (void *)(str), sizeof(str) - 1 }
#define N(t) ((CK_ULONG)(sizeof(t) / sizeof((t)[0])))

static CK_OBJECT_CLASS c_data = CKO_DATA, c_cert = CKO_CERTIFICATE, c_pub = CKO_PUBLIC_KEY,
                       c_priv = CKO_PRIVATE_KEY, c_sec = CKO_SECRET_KEY;
static CK_KEY_TYPE k_rsa = CKK_RSA, k_ec = CKK_EC, k_aes = CKK_AES, k_gen = CKK_GENERIC_SECRET,
                   k_ed = CKK_EC_EDWARDS;
static CK_CERTIFICATE_TYPE ct_x509 = CKC_X_509, ct_wtls = CKC_WTLS;

/* parse + build in one go; obj is left initialised (empty) on failure. */
static CK_RV build(const CK_ATTRIBUTE *t, CK_ULONG n, enum tmpl_op op, bool so, attrs_t *obj)
{
    attrs_t in;
    CK_RV rv = tmpl_parse(t, n, &in);
    if (rv != CKR_OK) {
        attrs_init(obj);
        return rv;
    }
    rv = tmpl_build(&in, op, CK_UNAVAILABLE_INFORMATION, CK_UNAVAILABLE_INFORMATION, so, obj);
    attrs_free(&in);
    if (rv != CKR_OK)
        attrs_free(obj);
    return rv;
}

static CK_RV build_create(const CK_ATTRIBUTE *t, CK_ULONG n, attrs_t *obj)
{
    CK_RV rv = build(t, n, TMPL_CREATE, false, obj);
    if (rv == CKR_OK) {
        rv = tmpl_finish(obj, TMPL_CREATE, CK_UNAVAILABLE_INFORMATION);
        if (rv != CKR_OK)
            attrs_free(obj);
    }
    return rv;
}

static void assert_bool_attr(const attrs_t *o, CK_ATTRIBUTE_TYPE t, bool want)
{
    const attr_t *a = attrs_get(o, t);
    assert_non_null(a);
    assert_int_equal(a->len, sizeof(CK_BBOOL));
    assert_int_equal(a->val[0], want ? CK_TRUE : CK_FALSE);
}

static void assert_ulong_attr(const attrs_t *o, CK_ATTRIBUTE_TYPE t, CK_ULONG want)
{
    CK_ULONG v = 0;
    assert_true(attrs_ulong(o, t, &v));
    assert_int_equal(v, want);
}

static CK_RV apply(attrs_t *obj, const CK_ATTRIBUTE *t, CK_ULONG n, bool copy, bool so)
{
    attrs_t ch;
    CK_RV rv = tmpl_parse(t, n, &ch);
    if (rv != CKR_OK)
        return rv;
    rv = tmpl_apply(obj, &ch, copy, so);
    attrs_free(&ch);
    return rv;
}

/* Objects used across tests. */
static const uint8_t aes_key[16] = { 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                                     0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff };

static void make_aes(attrs_t *o, CK_BBOOL *sens, CK_BBOOL *extr)
{
    CK_ATTRIBUTE t[4] = { A(CKA_CLASS, &c_sec), A(CKA_KEY_TYPE, &k_aes),
                          { CKA_VALUE, (void *)aes_key, sizeof aes_key } };
    CK_ULONG n = 3;
    if (sens)
        t[n++] = (CK_ATTRIBUTE)A(CKA_SENSITIVE, sens);
    CK_ATTRIBUTE t2[5];
    memcpy(t2, t, sizeof t);
    if (extr)
        t2[n++] = (CK_ATTRIBUTE)A(CKA_EXTRACTABLE, extr);
    assert_int_equal(build_create(t2, n, o), CKR_OK);
}

/* ---- tmpl_parse ------------------------------------------------------------------------ */

static void test_parse_pointer_rules(void **state)
{
    (void)state;
    attrs_t o;
    CK_ATTRIBUTE t[] = { { CKA_LABEL, NULL, 4 } };
    assert_int_equal(tmpl_parse(t, 1, &o), CKR_ATTRIBUTE_VALUE_INVALID);
    assert_int_equal(o.n, 0);
    assert_int_equal(tmpl_parse(NULL, 2, &o), CKR_ARGUMENTS_BAD);
    /* NULL with length 0 is an empty value, accepted for byte arrays. */
    CK_ATTRIBUTE e[] = { { CKA_LABEL, NULL, 0 } };
    assert_int_equal(tmpl_parse(e, 1, &o), CKR_OK);
    assert_int_equal(attrs_get(&o, CKA_LABEL)->len, 0);
    attrs_free(&o);
    assert_int_equal(tmpl_parse(NULL, 0, &o), CKR_OK);
    assert_int_equal(o.n, 0);
    attrs_free(&o);
}

static void test_parse_duplicate_unknown(void **state)
{
    (void)state;
    attrs_t o;
    CK_ATTRIBUTE dup[] = { AB(CKA_LABEL, "a"), A(CKA_TOKEN, &T), AB(CKA_LABEL, "a") };
    assert_int_equal(tmpl_parse(dup, N(dup), &o), CKR_TEMPLATE_INCONSISTENT);
    assert_int_equal(o.n, 0);
    CK_ATTRIBUTE unk[] = { AB(CKA_LABEL, "a"), AB(CKA_VENDOR_DEFINED | 0x1234, "x") };
    assert_int_equal(tmpl_parse(unk, N(unk), &o), CKR_ATTRIBUTE_TYPE_INVALID);
    CK_ATTRIBUTE unk2[] = { AB(0x7777, "x") };
    assert_int_equal(tmpl_parse(unk2, 1, &o), CKR_ATTRIBUTE_TYPE_INVALID);
}

static void test_parse_sizes(void **state)
{
    (void)state;
    attrs_t o;
    uint32_t u32 = 1;
    CK_ULONG ul = 1;
    CK_BYTE two = 2;
    CK_ATTRIBUTE b4[] = { { CKA_TOKEN, &u32, sizeof u32 } };
    assert_int_equal(tmpl_parse(b4, 1, &o), CKR_ATTRIBUTE_VALUE_INVALID);
    CK_ATTRIBUTE b0[] = { { CKA_SIGN, NULL, 0 } };
    assert_int_equal(tmpl_parse(b0, 1, &o), CKR_ATTRIBUTE_VALUE_INVALID);
    CK_ATTRIBUTE b2[] = { { CKA_SIGN, &two, 1 } }; /* a bool must be 0 or 1 */
    assert_int_equal(tmpl_parse(b2, 1, &o), CKR_ATTRIBUTE_VALUE_INVALID);
    CK_ATTRIBUTE u4[] = { { CKA_CLASS, &u32, sizeof u32 } };
    assert_int_equal(tmpl_parse(u4, 1, &o), CKR_ATTRIBUTE_VALUE_INVALID);
    CK_ATTRIBUTE u9[] = { { CKA_VALUE_LEN, "123456789", 9 } };
    assert_int_equal(tmpl_parse(u9, 1, &o), CKR_ATTRIBUTE_VALUE_INVALID);
    CK_ATTRIBUTE ok[] = { { CKA_CLASS, &ul, sizeof ul }, A(CKA_TOKEN, &F) };
    assert_int_equal(tmpl_parse(ok, 2, &o), CKR_OK);
    assert_int_equal(o.n, 2);
    attrs_free(&o);
    /* Dates: empty or 8 digits. */
    CK_ATTRIBUTE d1[] = { AB(CKA_START_DATE, "20240131") };
    assert_int_equal(tmpl_parse(d1, 1, &o), CKR_OK);
    attrs_free(&o);
    CK_ATTRIBUTE d2[] = { AB(CKA_START_DATE, "2024013x") };
    assert_int_equal(tmpl_parse(d2, 1, &o), CKR_ATTRIBUTE_VALUE_INVALID);
    CK_ATTRIBUTE d3[] = { AB(CKA_END_DATE, "2024013") };
    assert_int_equal(tmpl_parse(d3, 1, &o), CKR_ATTRIBUTE_VALUE_INVALID);
    CK_ATTRIBUTE d4[] = { { CKA_END_DATE, NULL, 0 } };
    assert_int_equal(tmpl_parse(d4, 1, &o), CKR_OK);
    attrs_free(&o);
    /* Mechanism lists: whole CK_MECHANISM_TYPEs only. */
    CK_ATTRIBUTE m1[] = { { CKA_ALLOWED_MECHANISMS, "abc", 3 } };
    assert_int_equal(tmpl_parse(m1, 1, &o), CKR_ATTRIBUTE_VALUE_INVALID);
    /* Size limits. */
    CK_ATTRIBUTE big[] = { { CKA_VALUE, (void *)aes_key, TMPL_MAX_VALUE + 1 } };
    assert_int_equal(tmpl_parse(big, 1, &o), CKR_ATTRIBUTE_VALUE_INVALID);
    CK_ATTRIBUTE many[TMPL_MAX_ATTRS + 1];
    for (size_t i = 0; i < N(many); i++)
        many[i] = (CK_ATTRIBUTE){ CKA_LABEL, "x", 1 };
    assert_int_equal(tmpl_parse(many, N(many), &o), CKR_TEMPLATE_INCONSISTENT);
}

static void test_parse_nested_and_read_back(void **state)
{
    (void)state;
    CK_ATTRIBUTE inner[] = { A(CKA_CLASS, &c_sec), A(CKA_KEY_TYPE, &k_aes), AB(CKA_LABEL, "wrapped"),
                             A(CKA_EXTRACTABLE, &F) };
    CK_ATTRIBUTE t[] = { A(CKA_CLASS, &c_sec), A(CKA_KEY_TYPE, &k_aes),
                         { CKA_VALUE, (void *)aes_key, 16 }, A(CKA_WRAP, &T),
                         { CKA_WRAP_TEMPLATE, inner, sizeof inner } };
    attrs_t obj;
    assert_int_equal(build_create(t, N(t), &obj), CKR_OK);
    const attr_t *wt = attrs_get(&obj, CKA_WRAP_TEMPLATE);
    assert_non_null(wt);
    assert_memory_equal(wt->val, "CRA1", 4); /* stored serialized */

    /* Call 1: the array's size. */
    CK_ATTRIBUTE q = { CKA_WRAP_TEMPLATE, NULL, 0 };
    assert_int_equal(tmpl_read(&obj, &q, 1), CKR_OK);
    assert_int_equal(q.ulValueLen, 4 * sizeof(CK_ATTRIBUTE));
    /* Call 2: each value's size. */
    CK_ATTRIBUTE arr[4];
    memset(arr, 0, sizeof arr);
    q.pValue = arr;
    assert_int_equal(tmpl_read(&obj, &q, 1), CKR_OK);
    assert_int_equal(q.ulValueLen, sizeof arr);
    CK_ULONG want_len[4] = { sizeof(CK_ULONG), sizeof(CK_ULONG), 7, 1 };
    CK_ATTRIBUTE_TYPE want_type[4] = { CKA_CLASS, CKA_KEY_TYPE, CKA_LABEL, CKA_EXTRACTABLE };
    for (int i = 0; i < 4; i++) {
        assert_int_equal(arr[i].type, want_type[i]);
        assert_int_equal(arr[i].ulValueLen, want_len[i]);
    }
    /* Call 3: the values. */
    CK_ULONG cls = 0, kt = 0;
    char label[7];
    CK_BBOOL ex = CK_TRUE;
    arr[0].pValue = &cls;
    arr[1].pValue = &kt;
    arr[2].pValue = label;
    arr[3].pValue = &ex;
    assert_int_equal(tmpl_read(&obj, &q, 1), CKR_OK);
    assert_int_equal(cls, CKO_SECRET_KEY);
    assert_int_equal(kt, CKK_AES);
    assert_memory_equal(label, "wrapped", 7);
    assert_int_equal(ex, CK_FALSE);
    /* An inner buffer too small: that entry unavailable, CKR_BUFFER_TOO_SMALL. */
    char small[3];
    arr[2].pValue = small;
    arr[2].ulValueLen = sizeof small;
    assert_int_equal(tmpl_read(&obj, &q, 1), CKR_BUFFER_TOO_SMALL);
    assert_int_equal(arr[2].ulValueLen, CK_UNAVAILABLE_INFORMATION);
    assert_int_equal(arr[0].ulValueLen, sizeof(CK_ULONG));
    /* The outer array too small. */
    q.ulValueLen = 3 * sizeof(CK_ATTRIBUTE);
    assert_int_equal(tmpl_read(&obj, &q, 1), CKR_BUFFER_TOO_SMALL);
    assert_int_equal(q.ulValueLen, CK_UNAVAILABLE_INFORMATION);
    attrs_free(&obj);
}

static void test_parse_nested_errors(void **state)
{
    (void)state;
    attrs_t o;
    CK_ATTRIBUTE inner_dup[] = { AB(CKA_LABEL, "a"), AB(CKA_LABEL, "b") };
    CK_ATTRIBUTE t1[] = { { CKA_WRAP_TEMPLATE, inner_dup, sizeof inner_dup } };
    assert_int_equal(tmpl_parse(t1, 1, &o), CKR_TEMPLATE_INCONSISTENT);
    CK_ATTRIBUTE inner_bad[] = { { CKA_SIGN, "xx", 2 } };
    CK_ATTRIBUTE t2[] = { { CKA_UNWRAP_TEMPLATE, inner_bad, sizeof inner_bad } };
    assert_int_equal(tmpl_parse(t2, 1, &o), CKR_ATTRIBUTE_VALUE_INVALID);
    CK_ATTRIBUTE inner_ok[] = { AB(CKA_LABEL, "a") };
    CK_ATTRIBUTE t3[] = { { CKA_WRAP_TEMPLATE, inner_ok, sizeof inner_ok - 1 } };
    assert_int_equal(tmpl_parse(t3, 1, &o), CKR_ATTRIBUTE_VALUE_INVALID);
    /* No templates inside templates. */
    CK_ATTRIBUTE nest2[] = { { CKA_WRAP_TEMPLATE, inner_ok, sizeof inner_ok } };
    CK_ATTRIBUTE t4[] = { { CKA_DERIVE_TEMPLATE, nest2, sizeof nest2 } };
    assert_int_equal(tmpl_parse(t4, 1, &o), CKR_ATTRIBUTE_VALUE_INVALID);
    CK_ATTRIBUTE inner_null[] = { { CKA_LABEL, NULL, 5 } };
    CK_ATTRIBUTE t5[] = { { CKA_WRAP_TEMPLATE, inner_null, sizeof inner_null } };
    assert_int_equal(tmpl_parse(t5, 1, &o), CKR_ATTRIBUTE_VALUE_INVALID);
    /* An empty nested template is fine. */
    CK_ATTRIBUTE t6[] = { { CKA_WRAP_TEMPLATE, NULL, 0 } };
    assert_int_equal(tmpl_parse(t6, 1, &o), CKR_OK);
    attrs_free(&o);
}

/* ---- tmpl_build ------------------------------------------------------------------------ */

static void test_build_data_defaults(void **state)
{
    (void)state;
    attrs_t o;
    CK_ATTRIBUTE t[] = { A(CKA_CLASS, &c_data), AB(CKA_VALUE, "v") };
    assert_int_equal(build_create(t, N(t), &o), CKR_OK);
    assert_ulong_attr(&o, CKA_CLASS, CKO_DATA);
    assert_bool_attr(&o, CKA_TOKEN, false);
    assert_bool_attr(&o, CKA_PRIVATE, false);
    assert_bool_attr(&o, CKA_MODIFIABLE, true);
    assert_bool_attr(&o, CKA_COPYABLE, true);
    assert_bool_attr(&o, CKA_DESTROYABLE, true);
    assert_int_equal(attrs_get(&o, CKA_LABEL)->len, 0);
    assert_int_equal(attrs_get(&o, CKA_APPLICATION)->len, 0);
    assert_false(attrs_get(&o, CKA_VALUE)->secret); /* a data object's value is not a key */
    assert_null(attrs_get(&o, CKA_LOCAL));
    assert_null(attrs_get(&o, CKA_KEY_TYPE));
    assert_null(attrs_get(&o, CKA_SENSITIVE));
    attrs_free(&o);
    /* No class at all. */
    CK_ATTRIBUTE nc[] = { AB(CKA_LABEL, "x") };
    assert_int_equal(build(nc, 1, TMPL_CREATE, false, &o), CKR_TEMPLATE_INCOMPLETE);
    /* Unsupported class. */
    CK_OBJECT_CLASS mech = CKO_MECHANISM;
    CK_ATTRIBUTE uc[] = { A(CKA_CLASS, &mech) };
    assert_int_equal(build(uc, 1, TMPL_CREATE, false, &o), CKR_ATTRIBUTE_VALUE_INVALID);
    /* An attribute that exists, but not on this class. */
    CK_ATTRIBUTE wrong[] = { A(CKA_CLASS, &c_data), A(CKA_SIGN, &T) };
    assert_int_equal(build(wrong, N(wrong), TMPL_CREATE, false, &o), CKR_ATTRIBUTE_TYPE_INVALID);
}

static void test_build_default_class_mismatch(void **state)
{
    (void)state;
    attrs_t in, o;
    CK_ATTRIBUTE t[] = { A(CKA_CLASS, &c_pub), A(CKA_KEY_TYPE, &k_rsa) };
    assert_int_equal(tmpl_parse(t, N(t), &in), CKR_OK);
    assert_int_equal(tmpl_build(&in, TMPL_GENERATE, CKO_PRIVATE_KEY, CKK_RSA, false, &o),
                     CKR_TEMPLATE_INCONSISTENT);
    assert_int_equal(tmpl_build(&in, TMPL_GENERATE, CKO_PUBLIC_KEY, CKK_EC, false, &o),
                     CKR_TEMPLATE_INCONSISTENT);
    assert_int_equal(tmpl_build(&in, TMPL_GENERATE, CKO_PUBLIC_KEY, CKK_RSA, false, &o), CKR_OK);
    attrs_free(&o);
    attrs_free(&in);
    /* Class and key type supplied by the defaults. */
    assert_int_equal(tmpl_parse(NULL, 0, &in), CKR_OK);
    assert_int_equal(tmpl_build(&in, TMPL_GENERATE, CKO_SECRET_KEY, CKK_AES, false, &o), CKR_OK);
    assert_ulong_attr(&o, CKA_CLASS, CKO_SECRET_KEY);
    assert_ulong_attr(&o, CKA_KEY_TYPE, CKK_AES);
    attrs_free(&o);
    assert_int_equal(tmpl_build(&in, TMPL_GENERATE, CKO_SECRET_KEY, CK_UNAVAILABLE_INFORMATION,
                                false, &o), CKR_TEMPLATE_INCOMPLETE);
    attrs_free(&in);
}

static void test_build_cert(void **state)
{
    (void)state;
    attrs_t o;
    CK_ATTRIBUTE ok[] = { A(CKA_CLASS, &c_cert), A(CKA_CERTIFICATE_TYPE, &ct_x509),
                          AB(CKA_VALUE, "\x30\x03\x02\x01\x00"), AB(CKA_SUBJECT, "subj") };
    assert_int_equal(build_create(ok, N(ok), &o), CKR_OK);
    assert_bool_attr(&o, CKA_TRUSTED, false);
    assert_bool_attr(&o, CKA_PRIVATE, false);
    assert_ulong_attr(&o, CKA_CERTIFICATE_CATEGORY, CK_CERTIFICATE_CATEGORY_UNSPECIFIED);
    assert_int_equal(attrs_get(&o, CKA_ISSUER)->len, 0);
    attrs_free(&o);
    CK_ATTRIBUTE no_type[] = { A(CKA_CLASS, &c_cert), AB(CKA_VALUE, "x") };
    assert_int_equal(build(no_type, N(no_type), TMPL_CREATE, false, &o), CKR_TEMPLATE_INCOMPLETE);
    CK_ATTRIBUTE no_value[] = { A(CKA_CLASS, &c_cert), A(CKA_CERTIFICATE_TYPE, &ct_x509) };
    assert_int_equal(build(no_value, N(no_value), TMPL_CREATE, false, &o), CKR_TEMPLATE_INCOMPLETE);
    CK_ATTRIBUTE wtls[] = { A(CKA_CLASS, &c_cert), A(CKA_CERTIFICATE_TYPE, &ct_wtls),
                            AB(CKA_VALUE, "x") };
    assert_int_equal(build(wtls, N(wtls), TMPL_CREATE, false, &o), CKR_ATTRIBUTE_VALUE_INVALID);
    CK_ULONG cat = 4;
    CK_ATTRIBUTE badcat[] = { A(CKA_CLASS, &c_cert), A(CKA_CERTIFICATE_TYPE, &ct_x509),
                              AB(CKA_VALUE, "x"), A(CKA_CERTIFICATE_CATEGORY, &cat) };
    assert_int_equal(build(badcat, N(badcat), TMPL_CREATE, false, &o), CKR_ATTRIBUTE_VALUE_INVALID);
    cat = CK_CERTIFICATE_CATEGORY_AUTHORITY;
    assert_int_equal(build(badcat, N(badcat), TMPL_CREATE, false, &o), CKR_OK);
    attrs_free(&o);
}

static void test_build_trusted_only_so(void **state)
{
    (void)state;
    attrs_t o;
    CK_ATTRIBUTE t[] = { A(CKA_CLASS, &c_cert), A(CKA_CERTIFICATE_TYPE, &ct_x509),
                         AB(CKA_VALUE, "x"), A(CKA_TRUSTED, &T) };
    assert_int_equal(build(t, N(t), TMPL_CREATE, false, &o), CKR_ATTRIBUTE_READ_ONLY);
    assert_int_equal(build(t, N(t), TMPL_CREATE, true, &o), CKR_OK);
    assert_bool_attr(&o, CKA_TRUSTED, true);
    attrs_free(&o);
    t[3].pValue = &F; /* false is anyone's to say */
    assert_int_equal(build(t, N(t), TMPL_CREATE, false, &o), CKR_OK);
    attrs_free(&o);
    CK_ATTRIBUTE s[] = { A(CKA_CLASS, &c_sec), A(CKA_KEY_TYPE, &k_aes),
                         { CKA_VALUE, (void *)aes_key, 16 }, A(CKA_TRUSTED, &T) };
    assert_int_equal(build(s, N(s), TMPL_CREATE, false, &o), CKR_ATTRIBUTE_READ_ONLY);
}

static void test_build_token_only(void **state)
{
    (void)state;
    static const CK_ATTRIBUTE_TYPE ro[] = { CKA_LOCAL, CKA_ALWAYS_SENSITIVE, CKA_NEVER_EXTRACTABLE,
                                            CKA_KEY_GEN_MECHANISM, CKA_UNIQUE_ID };
    CK_ULONG mech = CKM_AES_KEY_GEN;
    for (size_t i = 0; i < N(ro); i++) {
        CK_ATTRIBUTE t[4] = { A(CKA_CLASS, &c_sec), A(CKA_KEY_TYPE, &k_aes),
                              { CKA_VALUE, (void *)aes_key, 16 } };
        if (ro[i] == CKA_KEY_GEN_MECHANISM)
            t[3] = (CK_ATTRIBUTE){ ro[i], &mech, sizeof mech };
        else if (ro[i] == CKA_UNIQUE_ID)
            t[3] = (CK_ATTRIBUTE){ ro[i], "0123", 4 };
        else
            t[3] = (CK_ATTRIBUTE){ ro[i], &F, 1 };
        attrs_t o;
        assert_int_equal(build(t, 4, TMPL_CREATE, false, &o), CKR_ATTRIBUTE_READ_ONLY);
        assert_int_equal(build(t, 4, TMPL_CREATE, true, &o), CKR_ATTRIBUTE_READ_ONLY);
    }
    /* CKA_UNIQUE_ID is the token's also on data objects. */
    attrs_t o;
    CK_ATTRIBUTE d[] = { A(CKA_CLASS, &c_data), AB(CKA_UNIQUE_ID, "x") };
    assert_int_equal(build(d, N(d), TMPL_CREATE, false, &o), CKR_ATTRIBUTE_READ_ONLY);
    /* Generation-only attributes are refused at creation. */
    CK_ULONG len = 16, bits = 2048;
    CK_ATTRIBUTE vl[] = { A(CKA_CLASS, &c_sec), A(CKA_KEY_TYPE, &k_aes),
                          { CKA_VALUE, (void *)aes_key, 16 }, A(CKA_VALUE_LEN, &len) };
    assert_int_equal(build(vl, N(vl), TMPL_CREATE, false, &o), CKR_TEMPLATE_INCONSISTENT);
    CK_ATTRIBUTE mb[] = { A(CKA_CLASS, &c_pub), A(CKA_KEY_TYPE, &k_rsa), AB(CKA_MODULUS, "\xc1"),
                          A(CKA_MODULUS_BITS, &bits) };
    assert_int_equal(build(mb, N(mb), TMPL_CREATE, false, &o), CKR_TEMPLATE_INCONSISTENT);
    /* ...but taken by generation, which in turn refuses key material. */
    CK_ATTRIBUTE g[] = { A(CKA_CLASS, &c_sec), A(CKA_KEY_TYPE, &k_aes), A(CKA_VALUE_LEN, &len) };
    assert_int_equal(build(g, N(g), TMPL_GENERATE, false, &o), CKR_OK);
    assert_ulong_attr(&o, CKA_VALUE_LEN, 16);
    attrs_free(&o);
    assert_int_equal(build(vl, 3, TMPL_GENERATE, false, &o), CKR_TEMPLATE_INCONSISTENT);
    assert_int_equal(build(mb, 3, TMPL_GENERATE, false, &o), CKR_TEMPLATE_INCONSISTENT);
    CK_ATTRIBUTE gp[] = { A(CKA_CLASS, &c_pub), A(CKA_KEY_TYPE, &k_rsa), A(CKA_MODULUS_BITS, &bits) };
    assert_int_equal(build(gp, N(gp), TMPL_GENERATE, false, &o), CKR_OK);
    attrs_free(&o);
}

static void test_build_required_per_class(void **state)
{
    (void)state;
    attrs_t o;
    /* RSA public: modulus required. */
    CK_ATTRIBUTE rp[] = { A(CKA_CLASS, &c_pub), A(CKA_KEY_TYPE, &k_rsa), AB(CKA_PUBLIC_EXPONENT, "\x01\x00\x01"),
                          AB(CKA_MODULUS, "\xc3\x51") };
    assert_int_equal(build(rp, 3, TMPL_CREATE, false, &o), CKR_TEMPLATE_INCOMPLETE);
    assert_int_equal(build(rp, 4, TMPL_CREATE, false, &o), CKR_OK);
    attrs_free(&o);
    /* RSA private: modulus and private exponent. */
    CK_ATTRIBUTE rv[] = { A(CKA_CLASS, &c_priv), A(CKA_KEY_TYPE, &k_rsa), AB(CKA_MODULUS, "\xc3\x51"),
                          AB(CKA_PRIVATE_EXPONENT, "\x05") };
    assert_int_equal(build(rv, 3, TMPL_CREATE, false, &o), CKR_TEMPLATE_INCOMPLETE);
    CK_ATTRIBUTE rv2[] = { rv[0], rv[1], rv[3] };
    assert_int_equal(build(rv2, 3, TMPL_CREATE, false, &o), CKR_TEMPLATE_INCOMPLETE);
    assert_int_equal(build(rv, 4, TMPL_CREATE, false, &o), CKR_OK);
    assert_true(attrs_get(&o, CKA_PRIVATE_EXPONENT)->secret);
    assert_false(attrs_get(&o, CKA_MODULUS)->secret);
    attrs_free(&o);
    /* EC public: params and point. */
    CK_ATTRIBUTE ep[] = { A(CKA_CLASS, &c_pub), A(CKA_KEY_TYPE, &k_ec), AB(CKA_EC_PARAMS, "\x06\x01\x01"),
                          AB(CKA_EC_POINT, "\x04\x01\x02") };
    assert_int_equal(build(ep, 3, TMPL_CREATE, false, &o), CKR_TEMPLATE_INCOMPLETE);
    CK_ATTRIBUTE ep2[] = { ep[0], ep[1], ep[3] };
    assert_int_equal(build(ep2, 3, TMPL_CREATE, false, &o), CKR_TEMPLATE_INCOMPLETE);
    assert_int_equal(build(ep, 4, TMPL_CREATE, false, &o), CKR_OK);
    attrs_free(&o);
    /* EC (Edwards) private: params and value. */
    CK_ATTRIBUTE ev[] = { A(CKA_CLASS, &c_priv), A(CKA_KEY_TYPE, &k_ed), AB(CKA_EC_PARAMS, "\x06\x01\x01"),
                          AB(CKA_VALUE, "0123456789abcdef0123456789abcdef") };
    assert_int_equal(build(ev, 3, TMPL_CREATE, false, &o), CKR_TEMPLATE_INCOMPLETE);
    assert_int_equal(build(ev, 4, TMPL_CREATE, false, &o), CKR_OK);
    assert_true(attrs_get(&o, CKA_VALUE)->secret);
    attrs_free(&o);
    /* Secret: value. */
    CK_ATTRIBUTE sk[] = { A(CKA_CLASS, &c_sec), A(CKA_KEY_TYPE, &k_gen), AB(CKA_VALUE, "abc") };
    assert_int_equal(build(sk, 2, TMPL_CREATE, false, &o), CKR_TEMPLATE_INCOMPLETE);
    assert_int_equal(build(sk, 3, TMPL_CREATE, false, &o), CKR_OK);
    attrs_free(&o);
    /* A key without key type, and key types that do not fit the class. */
    CK_ATTRIBUTE nk[] = { A(CKA_CLASS, &c_sec), AB(CKA_VALUE, "abc") };
    assert_int_equal(build(nk, N(nk), TMPL_CREATE, false, &o), CKR_TEMPLATE_INCOMPLETE);
    CK_ATTRIBUTE mix[] = { A(CKA_CLASS, &c_priv), A(CKA_KEY_TYPE, &k_aes), AB(CKA_VALUE, "abc") };
    assert_int_equal(build(mix, N(mix), TMPL_CREATE, false, &o), CKR_TEMPLATE_INCONSISTENT);
    CK_ATTRIBUTE mix2[] = { A(CKA_CLASS, &c_sec), A(CKA_KEY_TYPE, &k_rsa), AB(CKA_VALUE, "abc") };
    assert_int_equal(build(mix2, N(mix2), TMPL_CREATE, false, &o), CKR_TEMPLATE_INCONSISTENT);
    CK_KEY_TYPE dsa = CKK_DSA;
    CK_ATTRIBUTE uk[] = { A(CKA_CLASS, &c_pub), A(CKA_KEY_TYPE, &dsa) };
    assert_int_equal(build(uk, N(uk), TMPL_CREATE, false, &o), CKR_ATTRIBUTE_VALUE_INVALID);
    /* An RSA attribute on an EC key. */
    CK_ATTRIBUTE rx[] = { ep[0], ep[1], ep[2], ep[3], AB(CKA_MODULUS, "\x01") };
    assert_int_equal(build(rx, N(rx), TMPL_CREATE, false, &o), CKR_ATTRIBUTE_TYPE_INVALID);
}

static void test_build_key_defaults(void **state)
{
    (void)state;
    attrs_t o;
    CK_ATTRIBUTE sk[] = { A(CKA_CLASS, &c_sec), A(CKA_KEY_TYPE, &k_aes), { CKA_VALUE, (void *)aes_key, 16 } };
    assert_int_equal(build(sk, N(sk), TMPL_CREATE, false, &o), CKR_OK);
    assert_bool_attr(&o, CKA_SENSITIVE, true);
    assert_bool_attr(&o, CKA_EXTRACTABLE, false);
    assert_bool_attr(&o, CKA_PRIVATE, true);
    assert_bool_attr(&o, CKA_WRAP_WITH_TRUSTED, false);
    assert_bool_attr(&o, CKA_TRUSTED, false);
    assert_bool_attr(&o, CKA_TOKEN, false);
    assert_bool_attr(&o, CKA_DERIVE, false);
    assert_true(attrs_get(&o, CKA_VALUE)->secret);
    attrs_free(&o);
    CK_ATTRIBUTE pk[] = { A(CKA_CLASS, &c_priv), A(CKA_KEY_TYPE, &k_ec), AB(CKA_EC_PARAMS, "\x06\x01\x01"),
                          AB(CKA_VALUE, "k") };
    assert_int_equal(build(pk, N(pk), TMPL_CREATE, false, &o), CKR_OK);
    assert_bool_attr(&o, CKA_SENSITIVE, true);
    assert_bool_attr(&o, CKA_EXTRACTABLE, false);
    assert_bool_attr(&o, CKA_PRIVATE, true);
    assert_bool_attr(&o, CKA_ALWAYS_AUTHENTICATE, false);
    assert_null(attrs_get(&o, CKA_TRUSTED)); /* not a private key attribute */
    attrs_free(&o);
    CK_ATTRIBUTE pub[] = { A(CKA_CLASS, &c_pub), A(CKA_KEY_TYPE, &k_ec), AB(CKA_EC_PARAMS, "\x06\x01\x01"),
                           AB(CKA_EC_POINT, "\x04") };
    assert_int_equal(build(pub, N(pub), TMPL_CREATE, false, &o), CKR_OK);
    assert_bool_attr(&o, CKA_PRIVATE, false);
    assert_null(attrs_get(&o, CKA_SENSITIVE));
    assert_null(attrs_get(&o, CKA_EXTRACTABLE));
    attrs_free(&o);
    /* Caller's explicit choice wins. */
    CK_ATTRIBUTE ex[] = { sk[0], sk[1], sk[2], A(CKA_SENSITIVE, &F), A(CKA_EXTRACTABLE, &T),
                          A(CKA_PRIVATE, &F) };
    assert_int_equal(build(ex, N(ex), TMPL_CREATE, false, &o), CKR_OK);
    assert_bool_attr(&o, CKA_SENSITIVE, false);
    assert_bool_attr(&o, CKA_EXTRACTABLE, true);
    assert_bool_attr(&o, CKA_PRIVATE, false);
    attrs_free(&o);
}

/* ---- tmpl_finish ------------------------------------------------------------------------ */

static void test_finish_sizes(void **state)
{
    (void)state;
    attrs_t o;
    make_aes(&o, NULL, NULL);
    assert_ulong_attr(&o, CKA_VALUE_LEN, 16);
    attrs_free(&o);
    CK_ATTRIBUTE gs[] = { A(CKA_CLASS, &c_sec), A(CKA_KEY_TYPE, &k_gen), AB(CKA_VALUE, "1234567") };
    assert_int_equal(build_create(gs, N(gs), &o), CKR_OK);
    assert_ulong_attr(&o, CKA_VALUE_LEN, 7);
    attrs_free(&o);
    /* AES lengths: 15 refused on import, and after generation too (differently). */
    CK_ATTRIBUTE a15[] = { A(CKA_CLASS, &c_sec), A(CKA_KEY_TYPE, &k_aes), { CKA_VALUE, (void *)aes_key, 15 } };
    assert_int_equal(build(a15, N(a15), TMPL_CREATE, false, &o), CKR_OK);
    assert_int_equal(tmpl_finish(&o, TMPL_CREATE, CK_UNAVAILABLE_INFORMATION), CKR_ATTRIBUTE_VALUE_INVALID);
    assert_int_equal(tmpl_finish(&o, TMPL_GENERATE, CKM_AES_KEY_GEN), CKR_TEMPLATE_INCONSISTENT);
    attrs_free(&o);
    /* A secret key with no value cannot be finished. */
    CK_ATTRIBUTE nv[] = { A(CKA_CLASS, &c_sec), A(CKA_KEY_TYPE, &k_aes) };
    assert_int_equal(build(nv, N(nv), TMPL_GENERATE, false, &o), CKR_OK);
    assert_int_equal(tmpl_finish(&o, TMPL_GENERATE, CKM_AES_KEY_GEN), CKR_TEMPLATE_INCOMPLETE);
    attrs_free(&o);
    /* RSA modulus bits: leading zero bytes skipped, the top byte counted exactly. */
    struct { const char *m; size_t len; CK_ULONG bits; } mods[] = {
        { "\x00\x01\xff", 3, 9 }, { "\x80", 1, 8 }, { "\x7f\xff", 2, 15 }, { "\x01", 1, 1 },
    };
    for (size_t i = 0; i < N(mods); i++) {
        CK_ATTRIBUTE rp[] = { A(CKA_CLASS, &c_pub), A(CKA_KEY_TYPE, &k_rsa),
                              { CKA_MODULUS, (void *)mods[i].m, mods[i].len } };
        assert_int_equal(build_create(rp, N(rp), &o), CKR_OK);
        assert_ulong_attr(&o, CKA_MODULUS_BITS, mods[i].bits);
        attrs_free(&o);
    }
    uint8_t m2048[256];
    memset(m2048, 0xa5, sizeof m2048);
    m2048[0] = 0xc0;
    CK_ATTRIBUTE rp[] = { A(CKA_CLASS, &c_pub), A(CKA_KEY_TYPE, &k_rsa), { CKA_MODULUS, m2048, sizeof m2048 } };
    assert_int_equal(build_create(rp, N(rp), &o), CKR_OK);
    assert_ulong_attr(&o, CKA_MODULUS_BITS, 2048);
    attrs_free(&o);
    /* An empty modulus. */
    CK_ATTRIBUTE r0[] = { A(CKA_CLASS, &c_pub), A(CKA_KEY_TYPE, &k_rsa), { CKA_MODULUS, NULL, 0 } };
    assert_int_equal(build(r0, N(r0), TMPL_CREATE, false, &o), CKR_OK);
    assert_int_equal(tmpl_finish(&o, TMPL_CREATE, CK_UNAVAILABLE_INFORMATION), CKR_TEMPLATE_INCOMPLETE);
    attrs_free(&o);
}

static void test_finish_lifecycle(void **state)
{
    (void)state;
    attrs_t in, o;
    /* Created (imported): not local, no mechanism, never "always sensitive". */
    make_aes(&o, &T, &F);
    assert_bool_attr(&o, CKA_LOCAL, false);
    assert_ulong_attr(&o, CKA_KEY_GEN_MECHANISM, CK_UNAVAILABLE_INFORMATION);
    assert_bool_attr(&o, CKA_ALWAYS_SENSITIVE, false);
    assert_bool_attr(&o, CKA_NEVER_EXTRACTABLE, false);
    attrs_free(&o);
    /* Generated, sensitive and unextractable. */
    CK_ULONG len = 32;
    CK_ATTRIBUTE g[] = { A(CKA_CLASS, &c_sec), A(CKA_KEY_TYPE, &k_aes), A(CKA_VALUE_LEN, &len) };
    assert_int_equal(tmpl_parse(g, N(g), &in), CKR_OK);
    assert_int_equal(tmpl_build(&in, TMPL_GENERATE, CK_UNAVAILABLE_INFORMATION,
                                CK_UNAVAILABLE_INFORMATION, false, &o), CKR_OK);
    uint8_t key[32] = { 0 };
    assert_int_equal(attrs_set(&o, CKA_VALUE, key, 32, true), CKR_OK);
    assert_int_equal(tmpl_finish(&o, TMPL_GENERATE, CKM_AES_KEY_GEN), CKR_OK);
    assert_bool_attr(&o, CKA_LOCAL, true);
    assert_ulong_attr(&o, CKA_KEY_GEN_MECHANISM, CKM_AES_KEY_GEN);
    assert_bool_attr(&o, CKA_ALWAYS_SENSITIVE, true);
    assert_bool_attr(&o, CKA_NEVER_EXTRACTABLE, true);
    assert_ulong_attr(&o, CKA_VALUE_LEN, 32);
    attrs_free(&o);
    attrs_free(&in);
    /* Generated, not sensitive, extractable. */
    CK_ATTRIBUTE g2[] = { g[0], g[1], g[2], A(CKA_SENSITIVE, &F), A(CKA_EXTRACTABLE, &T) };
    assert_int_equal(tmpl_parse(g2, N(g2), &in), CKR_OK);
    assert_int_equal(tmpl_build(&in, TMPL_GENERATE, CK_UNAVAILABLE_INFORMATION,
                                CK_UNAVAILABLE_INFORMATION, false, &o), CKR_OK);
    assert_int_equal(attrs_set(&o, CKA_VALUE, key, 32, true), CKR_OK);
    assert_int_equal(tmpl_finish(&o, TMPL_GENERATE, CKM_AES_KEY_GEN), CKR_OK);
    assert_bool_attr(&o, CKA_ALWAYS_SENSITIVE, false);
    assert_bool_attr(&o, CKA_NEVER_EXTRACTABLE, false);
    attrs_free(&o);
    attrs_free(&in);
    /* Unwrapped: not local, never "always sensitive" even when sensitive. */
    CK_ATTRIBUTE u[] = { A(CKA_CLASS, &c_sec), A(CKA_KEY_TYPE, &k_aes) };
    assert_int_equal(tmpl_parse(u, N(u), &in), CKR_OK);
    assert_int_equal(tmpl_build(&in, TMPL_UNWRAP, CK_UNAVAILABLE_INFORMATION,
                                CK_UNAVAILABLE_INFORMATION, false, &o), CKR_OK);
    assert_int_equal(attrs_set(&o, CKA_VALUE, key, 16, true), CKR_OK);
    assert_int_equal(tmpl_finish(&o, TMPL_UNWRAP, CKM_AES_KEY_WRAP), CKR_OK);
    assert_bool_attr(&o, CKA_LOCAL, false);
    assert_ulong_attr(&o, CKA_KEY_GEN_MECHANISM, CK_UNAVAILABLE_INFORMATION);
    assert_bool_attr(&o, CKA_ALWAYS_SENSITIVE, false);
    assert_bool_attr(&o, CKA_NEVER_EXTRACTABLE, false);
    attrs_free(&o);
    /* Derived: not local; the flags follow the new key's own until the caller settles them. */
    assert_int_equal(tmpl_build(&in, TMPL_DERIVE, CK_UNAVAILABLE_INFORMATION,
                                CK_UNAVAILABLE_INFORMATION, false, &o), CKR_OK);
    assert_int_equal(attrs_set(&o, CKA_VALUE, key, 16, true), CKR_OK);
    assert_int_equal(tmpl_finish(&o, TMPL_DERIVE, CKM_SHA256_HMAC), CKR_OK);
    assert_bool_attr(&o, CKA_LOCAL, false);
    assert_bool_attr(&o, CKA_ALWAYS_SENSITIVE, true);
    assert_bool_attr(&o, CKA_NEVER_EXTRACTABLE, true);
    attrs_free(&o);
    attrs_free(&in);
    /* A public key has LOCAL but no sensitivity history; a data object has neither. */
    CK_ATTRIBUTE pub[] = { A(CKA_CLASS, &c_pub), A(CKA_KEY_TYPE, &k_ec), AB(CKA_EC_PARAMS, "\x06"),
                           AB(CKA_EC_POINT, "\x04") };
    assert_int_equal(build_create(pub, N(pub), &o), CKR_OK);
    assert_bool_attr(&o, CKA_LOCAL, false);
    assert_null(attrs_get(&o, CKA_ALWAYS_SENSITIVE));
    assert_null(attrs_get(&o, CKA_NEVER_EXTRACTABLE));
    attrs_free(&o);
    CK_ATTRIBUTE d[] = { A(CKA_CLASS, &c_data) };
    assert_int_equal(build_create(d, N(d), &o), CKR_OK);
    assert_null(attrs_get(&o, CKA_LOCAL));
    attrs_free(&o);
}

/* ---- tmpl_apply ------------------------------------------------------------------------ */

static void test_apply_one_way(void **state)
{
    (void)state;
    attrs_t o;
    /* SENSITIVE: false -> true only. */
    make_aes(&o, &F, &T);
    CK_ATTRIBUTE s_t[] = { A(CKA_SENSITIVE, &T) }, s_f[] = { A(CKA_SENSITIVE, &F) };
    assert_int_equal(apply(&o, s_t, 1, false, false), CKR_OK);
    assert_bool_attr(&o, CKA_SENSITIVE, true);
    assert_int_equal(apply(&o, s_f, 1, false, false), CKR_ATTRIBUTE_READ_ONLY);
    assert_int_equal(apply(&o, s_f, 1, true, false), CKR_ATTRIBUTE_READ_ONLY);
    assert_int_equal(apply(&o, s_f, 1, false, true), CKR_ATTRIBUTE_READ_ONLY); /* not even SO */
    assert_bool_attr(&o, CKA_SENSITIVE, true);
    /* EXTRACTABLE: true -> false only. */
    CK_ATTRIBUTE e_t[] = { A(CKA_EXTRACTABLE, &T) }, e_f[] = { A(CKA_EXTRACTABLE, &F) };
    assert_int_equal(apply(&o, e_f, 1, false, false), CKR_OK);
    assert_bool_attr(&o, CKA_EXTRACTABLE, false);
    assert_int_equal(apply(&o, e_t, 1, false, false), CKR_ATTRIBUTE_READ_ONLY);
    assert_int_equal(apply(&o, e_t, 1, true, false), CKR_ATTRIBUTE_READ_ONLY);
    /* COPYABLE: true -> false only. */
    CK_ATTRIBUTE c_t[] = { A(CKA_COPYABLE, &T) }, c_f[] = { A(CKA_COPYABLE, &F) };
    assert_int_equal(apply(&o, c_f, 1, false, false), CKR_OK);
    assert_int_equal(apply(&o, c_t, 1, false, false), CKR_ATTRIBUTE_READ_ONLY);
    assert_int_equal(apply(&o, c_t, 1, true, false), CKR_ATTRIBUTE_READ_ONLY);
    /* WRAP_WITH_TRUSTED: false -> true only. */
    CK_ATTRIBUTE w_t[] = { A(CKA_WRAP_WITH_TRUSTED, &T) }, w_f[] = { A(CKA_WRAP_WITH_TRUSTED, &F) };
    assert_int_equal(apply(&o, w_t, 1, false, false), CKR_OK);
    assert_int_equal(apply(&o, w_f, 1, false, false), CKR_ATTRIBUTE_READ_ONLY);
    assert_bool_attr(&o, CKA_WRAP_WITH_TRUSTED, true);
    /* TRUSTED: only the SO may set it. */
    CK_ATTRIBUTE t_t[] = { A(CKA_TRUSTED, &T) };
    assert_int_equal(apply(&o, t_t, 1, false, false), CKR_ATTRIBUTE_READ_ONLY);
    assert_int_equal(apply(&o, t_t, 1, false, true), CKR_OK);
    assert_bool_attr(&o, CKA_TRUSTED, true);
    attrs_free(&o);
}

static void test_apply_copy_only_and_readonly(void **state)
{
    (void)state;
    attrs_t o;
    make_aes(&o, NULL, NULL);
    static const CK_ATTRIBUTE_TYPE copy_only[] = { CKA_TOKEN, CKA_PRIVATE, CKA_MODIFIABLE };
    for (size_t i = 0; i < N(copy_only); i++) {
        bool now = attrs_bool(&o, copy_only[i], false);
        CK_ATTRIBUTE c[] = { { copy_only[i], now ? &F : &T, 1 } };
        assert_int_equal(apply(&o, c, 1, false, false), CKR_ATTRIBUTE_READ_ONLY);
        attrs_t cp;
        assert_int_equal(attrs_copy(&cp, &o), CKR_OK);
        assert_int_equal(apply(&cp, c, 1, true, false), CKR_OK);
        assert_bool_attr(&cp, copy_only[i], !now);
        attrs_free(&cp);
    }
    /* Never changeable: class, key type, the key value, computed attributes. */
    CK_ULONG other = CKO_DATA, kt = CKK_GENERIC_SECRET, vl = 32;
    CK_ATTRIBUTE ro[][1] = { { A(CKA_CLASS, &other) }, { A(CKA_KEY_TYPE, &kt) },
                             { { CKA_VALUE, "0123456789abcdef", 16 } }, { A(CKA_LOCAL, &T) },
                             { A(CKA_ALWAYS_SENSITIVE, &T) }, { A(CKA_VALUE_LEN, &vl) },
                             { A(CKA_NEVER_EXTRACTABLE, &T) } };
    for (size_t i = 0; i < N(ro); i++) {
        assert_int_equal(apply(&o, ro[i], 1, false, false), CKR_ATTRIBUTE_READ_ONLY);
        assert_int_equal(apply(&o, ro[i], 1, true, true), CKR_ATTRIBUTE_READ_ONLY);
    }
    /* An attribute this class does not have. */
    CK_ATTRIBUTE na[] = { AB(CKA_APPLICATION, "x") };
    assert_int_equal(apply(&o, na, 1, false, false), CKR_ATTRIBUTE_TYPE_INVALID);
    attrs_free(&o);
}

static void test_apply_restate_and_atomic(void **state)
{
    (void)state;
    attrs_t o;
    make_aes(&o, NULL, NULL);
    /* Restating current values of read-only attributes is not a change. */
    CK_ATTRIBUTE same[] = { A(CKA_CLASS, &c_sec), A(CKA_KEY_TYPE, &k_aes), A(CKA_LOCAL, &F),
                            A(CKA_SENSITIVE, &T), A(CKA_EXTRACTABLE, &F),
                            { CKA_VALUE, (void *)aes_key, 16 } };
    assert_int_equal(apply(&o, same, N(same), false, false), CKR_OK);
    assert_bool_attr(&o, CKA_SENSITIVE, true);
    /* One bad change refuses the whole call and leaves the object untouched. */
    CK_ATTRIBUTE mix[] = { AB(CKA_LABEL, "new label"), A(CKA_SIGN, &F), A(CKA_SENSITIVE, &F) };
    assert_int_equal(apply(&o, mix, N(mix), false, false), CKR_ATTRIBUTE_READ_ONLY);
    assert_int_equal(attrs_get(&o, CKA_LABEL)->len, 0);
    assert_bool_attr(&o, CKA_SIGN, true);
    /* Good changes apply. */
    assert_int_equal(apply(&o, mix, 2, false, false), CKR_OK);
    assert_memory_equal(attrs_get(&o, CKA_LABEL)->val, "new label", 9);
    assert_bool_attr(&o, CKA_SIGN, false);
    assert_false(attrs_get(&o, CKA_LABEL)->secret);
    assert_true(attrs_get(&o, CKA_VALUE)->secret);
    attrs_free(&o);
}

/* ---- tmpl_read ------------------------------------------------------------------------- */

static void test_read_sensitive(void **state)
{
    (void)state;
    attrs_t o;
    make_aes(&o, &T, &T);
    CK_ATTRIBUTE lab[] = { AB(CKA_LABEL, "key-label") };
    assert_int_equal(apply(&o, lab, 1, false, false), CKR_OK);
    char label[32], value[32];
    CK_ULONG kt = 0, vlen = 0;
    CK_ATTRIBUTE t[] = { { CKA_LABEL, label, sizeof label }, { CKA_VALUE, value, sizeof value },
                         { CKA_KEY_TYPE, &kt, sizeof kt }, { CKA_VALUE_LEN, &vlen, sizeof vlen } };
    memset(value, 0x5a, sizeof value);
    assert_int_equal(tmpl_read(&o, t, N(t)), CKR_ATTRIBUTE_SENSITIVE);
    assert_int_equal(t[0].ulValueLen, 9);
    assert_memory_equal(label, "key-label", 9);
    assert_int_equal(t[1].ulValueLen, CK_UNAVAILABLE_INFORMATION);
    for (size_t i = 0; i < sizeof value; i++)
        assert_int_equal((uint8_t)value[i], 0x5a); /* nothing written */
    assert_int_equal(t[2].ulValueLen, sizeof kt);
    assert_int_equal(kt, CKK_AES);
    assert_int_equal(vlen, 16);
    /* A length query for the value is refused the same way. */
    CK_ATTRIBUTE q = { CKA_VALUE, NULL, 0 };
    assert_int_equal(tmpl_read(&o, &q, 1), CKR_ATTRIBUTE_SENSITIVE);
    assert_int_equal(q.ulValueLen, CK_UNAVAILABLE_INFORMATION);
    attrs_free(&o);
    /* Unextractable but not sensitive: still hidden. */
    make_aes(&o, &F, &F);
    q = (CK_ATTRIBUTE){ CKA_VALUE, value, sizeof value };
    assert_int_equal(tmpl_read(&o, &q, 1), CKR_ATTRIBUTE_SENSITIVE);
    assert_int_equal(q.ulValueLen, CK_UNAVAILABLE_INFORMATION);
    attrs_free(&o);
    /* Neither: readable. */
    make_aes(&o, &F, &T);
    q = (CK_ATTRIBUTE){ CKA_VALUE, value, sizeof value };
    assert_int_equal(tmpl_read(&o, &q, 1), CKR_OK);
    assert_int_equal(q.ulValueLen, 16);
    assert_memory_equal(value, aes_key, 16);
    attrs_free(&o);
    /* A sensitive RSA private key: every secret component hidden, public ones readable. */
    CK_ATTRIBUTE rk[] = { A(CKA_CLASS, &c_priv), A(CKA_KEY_TYPE, &k_rsa), AB(CKA_MODULUS, "\xc3\x51"),
                          AB(CKA_PRIVATE_EXPONENT, "\x05"), AB(CKA_PRIME_1, "\x0b"),
                          AB(CKA_PUBLIC_EXPONENT, "\x03") };
    assert_int_equal(build_create(rk, N(rk), &o), CKR_OK);
    uint8_t b1[8], b2[8], b3[8];
    CK_ATTRIBUTE r[] = { { CKA_PRIME_1, b1, 8 }, { CKA_MODULUS, b2, 8 }, { CKA_PRIVATE_EXPONENT, b3, 8 } };
    assert_int_equal(tmpl_read(&o, r, N(r)), CKR_ATTRIBUTE_SENSITIVE);
    assert_int_equal(r[0].ulValueLen, CK_UNAVAILABLE_INFORMATION);
    assert_int_equal(r[1].ulValueLen, 2);
    assert_memory_equal(b2, "\xc3\x51", 2);
    assert_int_equal(r[2].ulValueLen, CK_UNAVAILABLE_INFORMATION);
    attrs_free(&o);
}

static void test_read_sizes_and_invalid(void **state)
{
    (void)state;
    attrs_t o;
    CK_ATTRIBUTE t[] = { A(CKA_CLASS, &c_data), AB(CKA_VALUE, "0123456789"), AB(CKA_LABEL, "L") };
    assert_int_equal(build_create(t, N(t), &o), CKR_OK);
    /* Length query. */
    CK_ATTRIBUTE q[] = { { CKA_VALUE, NULL, 0 }, { CKA_LABEL, NULL, 12345 }, { CKA_CLASS, NULL, 0 } };
    assert_int_equal(tmpl_read(&o, q, N(q)), CKR_OK);
    assert_int_equal(q[0].ulValueLen, 10);
    assert_int_equal(q[1].ulValueLen, 1);
    assert_int_equal(q[2].ulValueLen, sizeof(CK_ULONG));
    /* Buffer too small for one; others still filled. */
    char small[9], lab[4];
    CK_ULONG cls = 0;
    CK_ATTRIBUTE r[] = { { CKA_VALUE, small, sizeof small }, { CKA_LABEL, lab, sizeof lab },
                         { CKA_CLASS, &cls, sizeof cls } };
    assert_int_equal(tmpl_read(&o, r, N(r)), CKR_BUFFER_TOO_SMALL);
    assert_int_equal(r[0].ulValueLen, CK_UNAVAILABLE_INFORMATION);
    assert_int_equal(r[1].ulValueLen, 1);
    assert_int_equal(lab[0], 'L');
    assert_int_equal(cls, CKO_DATA);
    /* Exact size works. */
    char exact[10];
    CK_ATTRIBUTE e = { CKA_VALUE, exact, sizeof exact };
    assert_int_equal(tmpl_read(&o, &e, 1), CKR_OK);
    assert_memory_equal(exact, "0123456789", 10);
    /* Attributes the object does not have, and unknown types. */
    uint8_t buf[16];
    CK_ATTRIBUTE inv[] = { { CKA_SIGN, buf, sizeof buf }, { CKA_LABEL, lab, sizeof lab },
                           { 0x7777, buf, sizeof buf }, { CKA_MODULUS, NULL, 0 } };
    assert_int_equal(tmpl_read(&o, inv, N(inv)), CKR_ATTRIBUTE_TYPE_INVALID);
    assert_int_equal(inv[0].ulValueLen, CK_UNAVAILABLE_INFORMATION);
    assert_int_equal(inv[1].ulValueLen, 1);
    assert_int_equal(inv[2].ulValueLen, CK_UNAVAILABLE_INFORMATION);
    assert_int_equal(inv[3].ulValueLen, CK_UNAVAILABLE_INFORMATION);
    attrs_free(&o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_pointer_rules),
        cmocka_unit_test(test_parse_duplicate_unknown),
        cmocka_unit_test(test_parse_sizes),
        cmocka_unit_test(test_parse_nested_and_read_back),
        cmocka_unit_test(test_parse_nested_errors),
        cmocka_unit_test(test_build_data_defaults),
        cmocka_unit_test(test_build_default_class_mismatch),
        cmocka_unit_test(test_build_cert),
        cmocka_unit_test(test_build_trusted_only_so),
        cmocka_unit_test(test_build_token_only),
        cmocka_unit_test(test_build_required_per_class),
        cmocka_unit_test(test_build_key_defaults),
        cmocka_unit_test(test_finish_sizes),
        cmocka_unit_test(test_finish_lifecycle),
        cmocka_unit_test(test_apply_one_way),
        cmocka_unit_test(test_apply_copy_only_and_readonly),
        cmocka_unit_test(test_apply_restate_and_atomic),
        cmocka_unit_test(test_read_sensitive),
        cmocka_unit_test(test_read_sizes_and_invalid),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
