/* Objects, templates and attributes (spec 4.1, 4.4, 4.10, 5.7 object
 * management functions). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "harness.h"

#include <stdlib.h>
#include <string.h>

static CK_BBOOL T_ = CK_TRUE, F_ = CK_FALSE;
#define ATTR(t, p, l) {(t), (void *)(p), (CK_ULONG)(l)}
#define BOOL_ATTR(t, v) {(t), (v) ? &T_ : &F_, sizeof(CK_BBOOL)}

static const unsigned char AES16[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};

static CK_RV make_aes(CK_SESSION_HANDLE h, CK_BBOOL token, CK_BBOOL sensitive,
                      CK_BBOOL extractable, const char *label, CK_OBJECT_HANDLE *o)
{
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_KEY_TYPE kt = CKK_AES;
    CK_ATTRIBUTE t[] = {
        ATTR(CKA_CLASS, &cls, sizeof(cls)),
        ATTR(CKA_KEY_TYPE, &kt, sizeof(kt)),
        BOOL_ATTR(CKA_TOKEN, token),
        BOOL_ATTR(CKA_PRIVATE, CK_TRUE),
        BOOL_ATTR(CKA_SENSITIVE, sensitive),
        BOOL_ATTR(CKA_EXTRACTABLE, extractable),
        ATTR(CKA_LABEL, label, strlen(label)),
        ATTR(CKA_VALUE, AES16, sizeof(AES16)),
    };
    return F->C_CreateObject(h, t, 8, o);
}

static CK_BBOOL get_bool(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE t)
{
    CK_BBOOL v = 0xee;
    CK_ATTRIBUTE a = {t, &v, sizeof(v)};
    if (F->C_GetAttributeValue(h, o, &a, 1) != CKR_OK)
        return 0xee;
    return v;
}

static void test_create_session_rules(void **state)
{
    h_fixture *fx = *state;
    CK_SESSION_HANDLE ro, rw;
    CK_OBJECT_HANDLE o;
    assert_ok(h_open(fx->slot, 0, &ro));
    assert_ok(h_open(fx->slot, 1, &rw));
    /* Public session objects: fine in any session. */
    assert_ok(h_create_data(ro, CK_FALSE, CK_FALSE, "s1", "v", 1, &o));
    assert_ok(h_create_data(rw, CK_FALSE, CK_FALSE, "s2", "v", 1, &o));
    /* Token object in an R/O session. */
    assert_rv(h_create_data(ro, CK_TRUE, CK_FALSE, "t", "v", 1, &o), CKR_SESSION_READ_ONLY);
    /* Private objects need a logged-in user. */
    assert_rv(h_create_data(rw, CK_FALSE, CK_TRUE, "p", "v", 1, &o), CKR_USER_NOT_LOGGED_IN);
    /* Design decision: token objects need a login. */
    assert_rv(h_create_data(rw, CK_TRUE, CK_FALSE, "t", "v", 1, &o), CKR_USER_NOT_LOGGED_IN);

    assert_ok(F->C_Login(ro, CKU_USER, H_PIN(H_USER_PIN)));
    assert_rv(h_create_data(ro, CK_TRUE, CK_FALSE, "t", "v", 1, &o), CKR_SESSION_READ_ONLY);
    assert_rv(h_create_data(ro, CK_TRUE, CK_TRUE, "t", "v", 1, &o), CKR_SESSION_READ_ONLY);
    assert_ok(h_create_data(ro, CK_FALSE, CK_TRUE, "p", "v", 1, &o)); /* R/O user: session obj */
    assert_ok(h_create_data(rw, CK_TRUE, CK_FALSE, "t", "v", 1, &o));
    assert_ok(h_create_data(rw, CK_TRUE, CK_TRUE, "tp", "v", 1, &o));
    assert_ok(F->C_Logout(rw));
    assert_ok(F->C_CloseSession(ro));
    /* The SO may write public token objects. */
    assert_ok(F->C_Login(rw, CKU_SO, H_PIN(H_SO_PIN)));
    assert_ok(h_create_data(rw, CK_TRUE, CK_FALSE, "so", "v", 1, &o));
}

static void test_create_template_errors(void **state)
{
    h_fixture *fx = *state;
    CK_SESSION_HANDLE h;
    CK_OBJECT_HANDLE o;
    assert_ok(h_open_login(fx->slot, 1, CKU_USER, &h));
    CK_OBJECT_CLASS data = CKO_DATA, bogus = 0x12345, sk = CKO_SECRET_KEY;
    CK_KEY_TYPE aes = CKK_AES;
    CK_ULONG four = 1;

    CK_ATTRIBUTE no_class[] = {ATTR(CKA_LABEL, "x", 1), BOOL_ATTR(CKA_TOKEN, 0)};
    assert_rv(F->C_CreateObject(h, no_class, 2, &o), CKR_TEMPLATE_INCOMPLETE);

    CK_ATTRIBUTE bad_size[] = {ATTR(CKA_CLASS, &data, sizeof(data)),
                               ATTR(CKA_TOKEN, &four, 4)};
    assert_rv(F->C_CreateObject(h, bad_size, 2, &o), CKR_ATTRIBUTE_VALUE_INVALID);
    CK_ATTRIBUTE bad_class_size[] = {ATTR(CKA_CLASS, &data, 2)};
    assert_rv(F->C_CreateObject(h, bad_class_size, 1, &o), CKR_ATTRIBUTE_VALUE_INVALID);

    CK_ATTRIBUTE bad_class[] = {ATTR(CKA_CLASS, &bogus, sizeof(bogus))};
    assert_rv(F->C_CreateObject(h, bad_class, 1, &o), CKR_ATTRIBUTE_VALUE_INVALID);

    CK_ATTRIBUTE bad_type[] = {ATTR(CKA_CLASS, &data, sizeof(data)),
                               ATTR(0x0ffffff0UL, "x", 1)};
    assert_rv(F->C_CreateObject(h, bad_type, 2, &o), CKR_ATTRIBUTE_TYPE_INVALID);

    CK_ATTRIBUTE ok1[] = {ATTR(CKA_CLASS, &data, sizeof(data))};
    assert_rv(F->C_CreateObject(h, NULL, 1, &o), CKR_ARGUMENTS_BAD);
    assert_rv(F->C_CreateObject(h, ok1, 1, NULL), CKR_ARGUMENTS_BAD);

    /* Read-only attributes cannot be given. */
    CK_ATTRIBUTE uid[] = {ATTR(CKA_CLASS, &data, sizeof(data)), ATTR(CKA_UNIQUE_ID, "42", 2)};
    assert_rv(F->C_CreateObject(h, uid, 2, &o), CKR_ATTRIBUTE_READ_ONLY);
    CK_ATTRIBUTE sk_base[] = {ATTR(CKA_CLASS, &sk, sizeof(sk)), ATTR(CKA_KEY_TYPE, &aes, sizeof(aes)),
                              ATTR(CKA_VALUE, AES16, 16), BOOL_ATTR(CKA_LOCAL, 1)};
    assert_rv(F->C_CreateObject(h, sk_base, 4, &o), CKR_ATTRIBUTE_READ_ONLY);
    sk_base[3].type = CKA_ALWAYS_SENSITIVE;
    assert_rv(F->C_CreateObject(h, sk_base, 4, &o), CKR_ATTRIBUTE_READ_ONLY);
    sk_base[3].type = CKA_NEVER_EXTRACTABLE;
    assert_rv(F->C_CreateObject(h, sk_base, 4, &o), CKR_ATTRIBUTE_READ_ONLY);
    /* Only the SO may set CKA_TRUSTED. */
    sk_base[3].type = CKA_TRUSTED;
    assert_rv(F->C_CreateObject(h, sk_base, 4, &o), CKR_ATTRIBUTE_READ_ONLY);

    /* AES key: value length must be 16/24/32; value and key type required. */
    CK_ATTRIBUTE aes_bad[] = {ATTR(CKA_CLASS, &sk, sizeof(sk)), ATTR(CKA_KEY_TYPE, &aes, sizeof(aes)),
                              ATTR(CKA_VALUE, AES16, 15)};
    assert_rv(F->C_CreateObject(h, aes_bad, 3, &o), CKR_ATTRIBUTE_VALUE_INVALID);
    assert_rv(F->C_CreateObject(h, aes_bad, 2, &o), CKR_TEMPLATE_INCOMPLETE);
    CK_ATTRIBUTE no_kt[] = {ATTR(CKA_CLASS, &sk, sizeof(sk)), ATTR(CKA_VALUE, AES16, 16)};
    assert_rv(F->C_CreateObject(h, no_kt, 2, &o), CKR_TEMPLATE_INCOMPLETE);
    unsigned char k32[32] = {0};
    aes_bad[2].pValue = k32;
    aes_bad[2].ulValueLen = 24;
    assert_ok(F->C_CreateObject(h, aes_bad, 3, &o));
    aes_bad[2].ulValueLen = 32;
    assert_ok(F->C_CreateObject(h, aes_bad, 3, &o));

    /* Nothing was left behind by the failures. */
    CK_ULONG n = 99;
    assert_ok(h_find(h, NULL, 0, NULL, 0, &n));
    assert_int_equal(n, 2);
}

static void test_get_attribute_value(void **state)
{
    h_fixture *fx = *state;
    CK_SESSION_HANDLE h;
    CK_OBJECT_HANDLE o;
    assert_ok(h_open_login(fx->slot, 1, CKU_USER, &h));
    assert_ok(h_create_data(h, CK_TRUE, CK_FALSE, "hello", "world!!", 7, &o));

    /* Length query. */
    CK_ATTRIBUTE q[] = {ATTR(CKA_LABEL, NULL, 0), ATTR(CKA_VALUE, NULL, 0),
                        ATTR(CKA_CLASS, NULL, 0), ATTR(CKA_TOKEN, NULL, 0)};
    assert_ok(F->C_GetAttributeValue(h, o, q, 4));
    assert_int_equal(q[0].ulValueLen, 5);
    assert_int_equal(q[1].ulValueLen, 7);
    assert_int_equal(q[2].ulValueLen, sizeof(CK_OBJECT_CLASS));
    assert_int_equal(q[3].ulValueLen, sizeof(CK_BBOOL));

    /* Exact values. */
    char lab[16], val[16];
    CK_OBJECT_CLASS cls = 0;
    CK_BBOOL tok = 0, priv = 9, mod = 0, cop = 0, des = 0;
    CK_ATTRIBUTE g[] = {ATTR(CKA_LABEL, lab, sizeof(lab)), ATTR(CKA_VALUE, val, sizeof(val)),
                        ATTR(CKA_CLASS, &cls, sizeof(cls)), ATTR(CKA_TOKEN, &tok, 1),
                        ATTR(CKA_PRIVATE, &priv, 1), ATTR(CKA_MODIFIABLE, &mod, 1),
                        ATTR(CKA_COPYABLE, &cop, 1), ATTR(CKA_DESTROYABLE, &des, 1)};
    assert_ok(F->C_GetAttributeValue(h, o, g, 8));
    assert_int_equal(g[0].ulValueLen, 5);
    assert_memory_equal(lab, "hello", 5);
    assert_int_equal(g[1].ulValueLen, 7);
    assert_memory_equal(val, "world!!", 7);
    assert_int_equal(cls, CKO_DATA);
    assert_int_equal(tok, CK_TRUE);
    assert_int_equal(priv, CK_FALSE);
    assert_int_equal(mod, CK_TRUE); /* defaults per table 4.4 */
    assert_int_equal(cop, CK_TRUE);
    assert_int_equal(des, CK_TRUE);

    /* One buffer too small: that one is unavailable, others filled. */
    memset(lab, 0, sizeof(lab));
    cls = 0;
    CK_ATTRIBUTE s[] = {ATTR(CKA_LABEL, lab, sizeof(lab)), ATTR(CKA_VALUE, val, 3),
                        ATTR(CKA_CLASS, &cls, sizeof(cls))};
    assert_rv(F->C_GetAttributeValue(h, o, s, 3), CKR_BUFFER_TOO_SMALL);
    assert_int_equal(s[0].ulValueLen, 5);
    assert_memory_equal(lab, "hello", 5);
    assert_int_equal(s[1].ulValueLen, CK_UNAVAILABLE_INFORMATION);
    assert_int_equal(s[2].ulValueLen, sizeof(cls));
    assert_int_equal(cls, CKO_DATA);

    /* Unknown type: unavailable, others filled. */
    memset(lab, 0, sizeof(lab));
    CK_ATTRIBUTE u[] = {ATTR(0x0ffffff0UL, val, sizeof(val)), ATTR(CKA_LABEL, lab, sizeof(lab))};
    assert_rv(F->C_GetAttributeValue(h, o, u, 2), CKR_ATTRIBUTE_TYPE_INVALID);
    assert_int_equal(u[0].ulValueLen, CK_UNAVAILABLE_INFORMATION);
    assert_int_equal(u[1].ulValueLen, 5);
    assert_memory_equal(lab, "hello", 5);
    /* An attribute of another class (CKA_KEY_TYPE on data) is invalid too. */
    CK_KEY_TYPE kt;
    CK_ATTRIBUTE k = ATTR(CKA_KEY_TYPE, &kt, sizeof(kt));
    assert_rv(F->C_GetAttributeValue(h, o, &k, 1), CKR_ATTRIBUTE_TYPE_INVALID);
    assert_int_equal(k.ulValueLen, CK_UNAVAILABLE_INFORMATION);

    /* Unique ID: assigned, non-empty, distinct. */
    char uid1[64], uid2[64];
    CK_OBJECT_HANDLE o2;
    assert_ok(h_create_data(h, CK_FALSE, CK_FALSE, "other", "x", 1, &o2));
    CK_ATTRIBUTE id1 = ATTR(CKA_UNIQUE_ID, uid1, sizeof(uid1));
    CK_ATTRIBUTE id2 = ATTR(CKA_UNIQUE_ID, uid2, sizeof(uid2));
    assert_ok(F->C_GetAttributeValue(h, o, &id1, 1));
    assert_ok(F->C_GetAttributeValue(h, o2, &id2, 1));
    assert_true(id1.ulValueLen > 0);
    assert_true(id2.ulValueLen > 0);
    assert_false(id1.ulValueLen == id2.ulValueLen &&
                 memcmp(uid1, uid2, id1.ulValueLen) == 0);

    /* Argument errors. */
    assert_rv(F->C_GetAttributeValue(h, o, NULL, 1), CKR_ARGUMENTS_BAD);
    assert_rv(F->C_GetAttributeValue(h, 0x1234567, g, 1), CKR_OBJECT_HANDLE_INVALID);
    assert_rv(F->C_GetAttributeValue(h, CK_INVALID_HANDLE, g, 1), CKR_OBJECT_HANDLE_INVALID);

    /* Object size. */
    CK_ULONG sz = 0;
    assert_rv(F->C_GetObjectSize(h, o, NULL), CKR_ARGUMENTS_BAD);
    assert_ok(F->C_GetObjectSize(h, o, &sz));
    assert_true(sz > 0);
    assert_rv(F->C_GetObjectSize(h, 0x1234567, &sz), CKR_OBJECT_HANDLE_INVALID);
}

static void test_sensitive_keys(void **state)
{
    h_fixture *fx = *state;
    CK_SESSION_HANDLE h;
    CK_OBJECT_HANDLE sens, unext, plain;
    assert_ok(h_open_login(fx->slot, 1, CKU_USER, &h));
    assert_ok(make_aes(h, CK_TRUE, CK_TRUE, CK_TRUE, "sens", &sens));
    assert_ok(make_aes(h, CK_FALSE, CK_FALSE, CK_FALSE, "unext", &unext));
    assert_ok(make_aes(h, CK_FALSE, CK_FALSE, CK_TRUE, "plain", &plain));

    CK_OBJECT_HANDLE objs[2] = {sens, unext};
    for (int i = 0; i < 2; i++) {
        unsigned char v[32];
        char lab[16];
        CK_KEY_TYPE kt = 0;
        CK_ATTRIBUTE t[] = {ATTR(CKA_LABEL, lab, sizeof(lab)), ATTR(CKA_VALUE, v, sizeof(v)),
                            ATTR(CKA_KEY_TYPE, &kt, sizeof(kt))};
        assert_rv(F->C_GetAttributeValue(h, objs[i], t, 3), CKR_ATTRIBUTE_SENSITIVE);
        assert_int_equal(t[1].ulValueLen, CK_UNAVAILABLE_INFORMATION);
        assert_int_equal(t[2].ulValueLen, sizeof(kt));
        assert_int_equal(kt, CKK_AES);
        assert_true(t[0].ulValueLen == 4 || t[0].ulValueLen == 5);
        /* Length query of a sensitive attribute is refused too. */
        CK_ATTRIBUTE q = ATTR(CKA_VALUE, NULL, 0);
        assert_rv(F->C_GetAttributeValue(h, objs[i], &q, 1), CKR_ATTRIBUTE_SENSITIVE);
        assert_int_equal(q.ulValueLen, CK_UNAVAILABLE_INFORMATION);
    }
    unsigned char v[32];
    CK_ATTRIBUTE t = ATTR(CKA_VALUE, v, sizeof(v));
    assert_ok(F->C_GetAttributeValue(h, plain, &t, 1));
    assert_int_equal(t.ulValueLen, 16);
    assert_memory_equal(v, AES16, 16);
    /* CKA_LOCAL is false for imported keys; never settable. */
    assert_int_equal(get_bool(h, plain, CKA_LOCAL), CK_FALSE);
    assert_int_equal(get_bool(h, sens, CKA_SENSITIVE), CK_TRUE);

    /* Generic secret, any length. */
    CK_OBJECT_CLASS sk = CKO_SECRET_KEY;
    CK_KEY_TYPE gs = CKK_GENERIC_SECRET;
    CK_ATTRIBUTE g[] = {ATTR(CKA_CLASS, &sk, sizeof(sk)), ATTR(CKA_KEY_TYPE, &gs, sizeof(gs)),
                        BOOL_ATTR(CKA_SENSITIVE, 0), BOOL_ATTR(CKA_EXTRACTABLE, 1),
                        ATTR(CKA_VALUE, "0123456789abcdefghij", 20)};
    CK_OBJECT_HANDLE go;
    assert_ok(F->C_CreateObject(h, g, 5, &go));
    CK_ULONG vl = 0;
    CK_ATTRIBUTE vlen = ATTR(CKA_VALUE_LEN, &vl, sizeof(vl));
    CK_ATTRIBUTE val = ATTR(CKA_VALUE, v, sizeof(v));
    assert_ok(F->C_GetAttributeValue(h, go, &val, 1));
    assert_int_equal(val.ulValueLen, 20);
    assert_memory_equal(v, "0123456789abcdefghij", 20);
    CK_RV rv = F->C_GetAttributeValue(h, go, &vlen, 1);
    if (rv == CKR_OK)
        assert_int_equal(vl, 20);
}

static void test_set_attribute_rules(void **state)
{
    h_fixture *fx = *state;
    CK_SESSION_HANDLE h;
    CK_OBJECT_HANDLE d, k, fixed;
    assert_ok(h_open_login(fx->slot, 1, CKU_USER, &h));
    assert_ok(h_create_data(h, CK_TRUE, CK_FALSE, "old", "v", 1, &d));
    assert_ok(make_aes(h, CK_TRUE, CK_FALSE, CK_TRUE, "k", &k));

    CK_ATTRIBUTE lab = ATTR(CKA_LABEL, "renamed", 7);
    assert_ok(F->C_SetAttributeValue(h, d, &lab, 1));
    char buf[16];
    CK_ATTRIBUTE g = ATTR(CKA_LABEL, buf, sizeof(buf));
    assert_ok(F->C_GetAttributeValue(h, d, &g, 1));
    assert_int_equal(g.ulValueLen, 7);
    assert_memory_equal(buf, "renamed", 7);

    CK_OBJECT_CLASS sk = CKO_SECRET_KEY;
    CK_ATTRIBUTE cls = ATTR(CKA_CLASS, &sk, sizeof(sk));
    assert_rv(F->C_SetAttributeValue(h, d, &cls, 1), CKR_ATTRIBUTE_READ_ONLY);
    CK_ATTRIBUTE uid = ATTR(CKA_UNIQUE_ID, "1", 1);
    assert_rv(F->C_SetAttributeValue(h, d, &uid, 1), CKR_ATTRIBUTE_READ_ONLY);
    CK_ATTRIBUTE tok = BOOL_ATTR(CKA_TOKEN, 0);
    assert_rv(F->C_SetAttributeValue(h, d, &tok, 1), CKR_ATTRIBUTE_READ_ONLY);
    CK_ATTRIBUTE bad = ATTR(0x0ffffff0UL, "x", 1);
    assert_rv(F->C_SetAttributeValue(h, d, &bad, 1), CKR_ATTRIBUTE_TYPE_INVALID);
    CK_ULONG four = 1;
    CK_ATTRIBUTE badsz = ATTR(CKA_SENSITIVE, &four, 4);
    assert_rv(F->C_SetAttributeValue(h, k, &badsz, 1), CKR_ATTRIBUTE_VALUE_INVALID);
    assert_rv(F->C_SetAttributeValue(h, d, NULL, 1), CKR_ARGUMENTS_BAD);
    assert_rv(F->C_SetAttributeValue(h, 0x1234567, &lab, 1), CKR_OBJECT_HANDLE_INVALID);

    /* Computed attributes. */
    CK_ATTRIBUTE loc = BOOL_ATTR(CKA_LOCAL, 1);
    assert_rv(F->C_SetAttributeValue(h, k, &loc, 1), CKR_ATTRIBUTE_READ_ONLY);
    CK_ATTRIBUTE as = BOOL_ATTR(CKA_ALWAYS_SENSITIVE, 1);
    assert_rv(F->C_SetAttributeValue(h, k, &as, 1), CKR_ATTRIBUTE_READ_ONLY);
    CK_ATTRIBUTE ne = BOOL_ATTR(CKA_NEVER_EXTRACTABLE, 1);
    assert_rv(F->C_SetAttributeValue(h, k, &ne, 1), CKR_ATTRIBUTE_READ_ONLY);

    /* One-way flags (table 4.10 footnote 11/12). */
    CK_ATTRIBUTE s_on = BOOL_ATTR(CKA_SENSITIVE, 1), s_off = BOOL_ATTR(CKA_SENSITIVE, 0);
    CK_ATTRIBUTE e_on = BOOL_ATTR(CKA_EXTRACTABLE, 1), e_off = BOOL_ATTR(CKA_EXTRACTABLE, 0);
    assert_ok(F->C_SetAttributeValue(h, k, &s_on, 1));
    assert_rv(F->C_SetAttributeValue(h, k, &s_off, 1), CKR_ATTRIBUTE_READ_ONLY);
    assert_int_equal(get_bool(h, k, CKA_SENSITIVE), CK_TRUE);
    assert_ok(F->C_SetAttributeValue(h, k, &e_off, 1));
    assert_rv(F->C_SetAttributeValue(h, k, &e_on, 1), CKR_ATTRIBUTE_READ_ONLY);
    assert_int_equal(get_bool(h, k, CKA_EXTRACTABLE), CK_FALSE);

    /* CKA_TRUSTED: not by the user. */
    CK_ATTRIBUTE tr = BOOL_ATTR(CKA_TRUSTED, 1);
    assert_rv(F->C_SetAttributeValue(h, k, &tr, 1), CKR_ATTRIBUTE_READ_ONLY);
    assert_int_equal(get_bool(h, k, CKA_TRUSTED), CK_FALSE);

    /* A failed template changes nothing (all or nothing). */
    CK_ATTRIBUTE mix[] = {ATTR(CKA_LABEL, "partial", 7), ATTR(CKA_CLASS, &sk, sizeof(sk))};
    assert_rv(F->C_SetAttributeValue(h, d, mix, 2), CKR_ATTRIBUTE_READ_ONLY);
    g.ulValueLen = sizeof(buf);
    assert_ok(F->C_GetAttributeValue(h, d, &g, 1));
    assert_int_equal(g.ulValueLen, 7);
    assert_memory_equal(buf, "renamed", 7);

    /* CKA_MODIFIABLE = false. */
    CK_OBJECT_CLASS data = CKO_DATA;
    CK_ATTRIBUTE ft[] = {ATTR(CKA_CLASS, &data, sizeof(data)), BOOL_ATTR(CKA_TOKEN, 1),
                         BOOL_ATTR(CKA_MODIFIABLE, 0), ATTR(CKA_LABEL, "fixed", 5)};
    assert_ok(F->C_CreateObject(h, ft, 4, &fixed));
    assert_rv(F->C_SetAttributeValue(h, fixed, &lab, 1), CKR_ACTION_PROHIBITED);

    /* Token object in an R/O session. */
    CK_SESSION_HANDLE ro;
    assert_ok(h_open(fx->slot, 0, &ro));
    assert_rv(F->C_SetAttributeValue(ro, d, &lab, 1), CKR_SESSION_READ_ONLY);
    /* Session object in an R/O session: fine. */
    CK_OBJECT_HANDLE so;
    assert_ok(h_create_data(ro, CK_FALSE, CK_FALSE, "sess", "v", 1, &so));
    assert_ok(F->C_SetAttributeValue(ro, so, &lab, 1));

    /* Public token object in a public session: login required (design). */
    assert_ok(F->C_Logout(h));
    assert_rv(F->C_SetAttributeValue(h, d, &lab, 1), CKR_USER_NOT_LOGGED_IN);
    assert_rv(F->C_DestroyObject(h, d), CKR_USER_NOT_LOGGED_IN);
    CK_OBJECT_HANDLE c;
    assert_rv(F->C_CopyObject(h, d, NULL, 0, &c), CKR_USER_NOT_LOGGED_IN);
    /* Nothing changed. */
    assert_ok(F->C_Login(h, CKU_USER, H_PIN(H_USER_PIN)));
    assert_int_equal(h_count_label(h, "renamed"), 2); /* d + the session object */
}

static void test_trusted_by_so(void **state)
{
    h_fixture *fx = *state;
    CK_SESSION_HANDLE h;
    CK_OBJECT_HANDLE k;
    assert_ok(h_open_login(fx->slot, 1, CKU_SO, &h));
    CK_OBJECT_CLASS sk = CKO_SECRET_KEY;
    CK_KEY_TYPE aes = CKK_AES;
    CK_ATTRIBUTE t[] = {ATTR(CKA_CLASS, &sk, sizeof(sk)), ATTR(CKA_KEY_TYPE, &aes, sizeof(aes)),
                        ATTR(CKA_VALUE, AES16, 16), BOOL_ATTR(CKA_TOKEN, 1),
                        BOOL_ATTR(CKA_PRIVATE, 0), BOOL_ATTR(CKA_TRUSTED, 1)};
    assert_ok(F->C_CreateObject(h, t, 6, &k));
    assert_int_equal(get_bool(h, k, CKA_TRUSTED), CK_TRUE);
}

static void test_copy_object(void **state)
{
    h_fixture *fx = *state;
    CK_SESSION_HANDLE h;
    CK_OBJECT_HANDLE o, c, nc, k, kc;
    assert_ok(h_open_login(fx->slot, 1, CKU_USER, &h));
    assert_ok(h_create_data(h, CK_FALSE, CK_FALSE, "orig", "payload", 7, &o));
    CK_ATTRIBUTE ct[] = {ATTR(CKA_LABEL, "copy", 4), BOOL_ATTR(CKA_TOKEN, 1),
                         BOOL_ATTR(CKA_PRIVATE, 1)};
    assert_rv(F->C_CopyObject(h, o, ct, 3, NULL), CKR_ARGUMENTS_BAD);
    assert_rv(F->C_CopyObject(h, 0x1234567, ct, 3, &c), CKR_OBJECT_HANDLE_INVALID);
    assert_ok(F->C_CopyObject(h, o, ct, 3, &c));
    assert_true(c != o);
    char lab[16], val[16], u1[64], u2[64];
    CK_ATTRIBUTE g[] = {ATTR(CKA_LABEL, lab, sizeof(lab)), ATTR(CKA_VALUE, val, sizeof(val)),
                        ATTR(CKA_UNIQUE_ID, u1, sizeof(u1))};
    assert_ok(F->C_GetAttributeValue(h, c, g, 3));
    assert_int_equal(g[0].ulValueLen, 4);
    assert_memory_equal(lab, "copy", 4);
    assert_int_equal(g[1].ulValueLen, 7);
    assert_memory_equal(val, "payload", 7);
    assert_int_equal(get_bool(h, c, CKA_TOKEN), CK_TRUE);
    assert_int_equal(get_bool(h, c, CKA_PRIVATE), CK_TRUE);
    CK_ULONG ul1 = g[2].ulValueLen;
    CK_ATTRIBUTE g2[] = {ATTR(CKA_LABEL, lab, sizeof(lab)), ATTR(CKA_UNIQUE_ID, u2, sizeof(u2))};
    assert_ok(F->C_GetAttributeValue(h, o, g2, 2));
    assert_int_equal(g2[0].ulValueLen, 4);
    assert_memory_equal(lab, "orig", 4);
    assert_false(ul1 == g2[1].ulValueLen && memcmp(u1, u2, ul1) == 0);
    assert_int_equal(get_bool(h, o, CKA_TOKEN), CK_FALSE);

    /* Template errors on copy. */
    CK_OBJECT_CLASS sk = CKO_SECRET_KEY;
    CK_ATTRIBUTE bad_cls = ATTR(CKA_CLASS, &sk, sizeof(sk));
    assert_rv(F->C_CopyObject(h, o, &bad_cls, 1, &nc), CKR_ATTRIBUTE_READ_ONLY);
    CK_ATTRIBUTE bad_type = ATTR(0x0ffffff0UL, "x", 1);
    assert_rv(F->C_CopyObject(h, o, &bad_type, 1, &nc), CKR_ATTRIBUTE_TYPE_INVALID);
    CK_ATTRIBUTE uid = ATTR(CKA_UNIQUE_ID, "1", 1);
    assert_rv(F->C_CopyObject(h, o, &uid, 1, &nc), CKR_ATTRIBUTE_READ_ONLY);

    /* Copy to a token object from an R/O session. */
    CK_SESSION_HANDLE ro;
    assert_ok(h_open(fx->slot, 0, &ro));
    CK_ATTRIBUTE tok = BOOL_ATTR(CKA_TOKEN, 1);
    assert_rv(F->C_CopyObject(ro, o, &tok, 1, &nc), CKR_SESSION_READ_ONLY);

    /* CKA_COPYABLE = false. */
    CK_OBJECT_CLASS data = CKO_DATA;
    CK_ATTRIBUTE nt[] = {ATTR(CKA_CLASS, &data, sizeof(data)), BOOL_ATTR(CKA_COPYABLE, 0)};
    assert_ok(F->C_CreateObject(h, nt, 2, &nc));
    assert_rv(F->C_CopyObject(h, nc, NULL, 0, &c), CKR_ACTION_PROHIBITED);

    /* A sensitive key stays sensitive in its copy. */
    assert_ok(make_aes(h, CK_FALSE, CK_TRUE, CK_TRUE, "k", &k));
    CK_ATTRIBUTE unsens = BOOL_ATTR(CKA_SENSITIVE, 0);
    assert_rv(F->C_CopyObject(h, k, &unsens, 1, &kc), CKR_ATTRIBUTE_READ_ONLY);
    assert_ok(F->C_CopyObject(h, k, NULL, 0, &kc));
    unsigned char v[32];
    CK_ATTRIBUTE va = ATTR(CKA_VALUE, v, sizeof(v));
    assert_rv(F->C_GetAttributeValue(h, kc, &va, 1), CKR_ATTRIBUTE_SENSITIVE);
}

static void test_destroy_object(void **state)
{
    h_fixture *fx = *state;
    CK_SESSION_HANDLE h, ro;
    CK_OBJECT_HANDLE o, t, nd;
    assert_ok(h_open_login(fx->slot, 1, CKU_USER, &h));
    assert_ok(h_create_data(h, CK_FALSE, CK_FALSE, "gone", "v", 1, &o));
    assert_ok(h_create_data(h, CK_TRUE, CK_TRUE, "tok", "v", 1, &t));
    assert_ok(F->C_DestroyObject(h, o));
    CK_ATTRIBUTE g = ATTR(CKA_LABEL, NULL, 0);
    assert_rv(F->C_GetAttributeValue(h, o, &g, 1), CKR_OBJECT_HANDLE_INVALID);
    assert_rv(F->C_DestroyObject(h, o), CKR_OBJECT_HANDLE_INVALID);
    assert_rv(F->C_DestroyObject(h, CK_INVALID_HANDLE), CKR_OBJECT_HANDLE_INVALID);
    assert_int_equal(h_count_label(h, "gone"), 0);

    assert_ok(h_open(fx->slot, 0, &ro));
    assert_rv(F->C_DestroyObject(ro, t), CKR_SESSION_READ_ONLY);
    assert_ok(F->C_DestroyObject(h, t));
    assert_rv(F->C_GetAttributeValue(h, t, &g, 1), CKR_OBJECT_HANDLE_INVALID);

    CK_OBJECT_CLASS data = CKO_DATA;
    CK_ATTRIBUTE nt[] = {ATTR(CKA_CLASS, &data, sizeof(data)), BOOL_ATTR(CKA_TOKEN, 1),
                         BOOL_ATTR(CKA_DESTROYABLE, 0), ATTR(CKA_LABEL, "stay", 4)};
    assert_ok(F->C_CreateObject(h, nt, 4, &nd));
    assert_rv(F->C_DestroyObject(h, nd), CKR_ACTION_PROHIBITED);
    assert_int_equal(h_count_label(h, "stay"), 1);
}

static void test_private_visibility(void **state)
{
    h_fixture *fx = *state;
    CK_SESSION_HANDLE h, other;
    CK_OBJECT_HANDLE tp, sp, pub;
    assert_ok(h_open_login(fx->slot, 1, CKU_USER, &h));
    assert_ok(h_create_data(h, CK_TRUE, CK_TRUE, "priv", "secret", 6, &tp));
    assert_ok(h_create_data(h, CK_FALSE, CK_TRUE, "spriv", "secret", 6, &sp));
    assert_ok(h_create_data(h, CK_TRUE, CK_FALSE, "pub", "open", 4, &pub));
    assert_ok(F->C_Logout(h));

    CK_ATTRIBUTE g = ATTR(CKA_LABEL, NULL, 0);
    assert_rv(F->C_GetAttributeValue(h, tp, &g, 1), CKR_OBJECT_HANDLE_INVALID);
    assert_int_equal(h_count_label(h, "priv"), 0);
    assert_int_equal(h_count_label(h, "pub"), 1);
    CK_ULONG n = 99;
    assert_ok(h_find(h, NULL, 0, NULL, 0, &n));
    assert_int_equal(n, 1);
    assert_ok(h_open(fx->slot, 0, &other));
    assert_int_equal(h_count_label(other, "priv"), 0);

    /* Spec 5.6 C_Logout: private session objects are destroyed. */
    assert_ok(F->C_Login(h, CKU_USER, H_PIN(H_USER_PIN)));
    assert_int_equal(h_count_label(h, "priv"), 1);
    CK_ULONG spriv = h_count_label(h, "spriv");
    if (spriv != 0)
        print_error("C_Logout left %lu private session object(s) alive; spec 3.0 "
                    "5.6.4 C_Logout: they are destroyed\n", (unsigned long)spriv);
    assert_int_equal(spriv, 0);
    assert_int_equal(h_count_label(other, "priv"), 1);
}

static void test_session_object_lifetime(void **state)
{
    h_fixture *fx = *state;
    CK_SESSION_HANDLE a, b;
    CK_OBJECT_HANDLE o, objs[10];
    assert_ok(h_open(fx->slot, 1, &a));
    assert_ok(h_open(fx->slot, 0, &b));
    assert_ok(h_create_data(a, CK_FALSE, CK_FALSE, "mine", "123", 3, &o));
    /* Visible to the other session of the same application. */
    char v[8];
    CK_ATTRIBUTE g = ATTR(CKA_VALUE, v, sizeof(v));
    assert_ok(F->C_GetAttributeValue(b, o, &g, 1));
    assert_int_equal(g.ulValueLen, 3);
    assert_memory_equal(v, "123", 3);
    assert_int_equal(h_count_label(b, "mine"), 1);
    /* Another session may destroy it (session objects are shared). */
    CK_OBJECT_HANDLE o2;
    assert_ok(h_create_data(a, CK_FALSE, CK_FALSE, "mine2", "1", 1, &o2));
    assert_ok(F->C_DestroyObject(b, o2));
    /* Handles are not sequential. */
    int consecutive = 1;
    for (int i = 0; i < 10; i++) {
        assert_ok(h_create_data(a, CK_FALSE, CK_FALSE, "many", "1", 1, &objs[i]));
        assert_true(objs[i] != CK_INVALID_HANDLE);
        if (i > 0 && objs[i] != objs[i - 1] + 1)
            consecutive = 0;
    }
    assert_false(consecutive);
    /* Vanish with their session. */
    assert_ok(F->C_CloseSession(a));
    g.ulValueLen = sizeof(v);
    assert_rv(F->C_GetAttributeValue(b, o, &g, 1), CKR_OBJECT_HANDLE_INVALID);
    assert_int_equal(h_count_label(b, "mine"), 0);
    assert_int_equal(h_count_label(b, "many"), 0);
}

int main(void)
{
    h_load();
#define T(fn) cmocka_unit_test_setup_teardown(fn, h_fixture_setup, h_fixture_teardown)
    const struct CMUnitTest tests[] = {
        T(test_create_session_rules),
        T(test_create_template_errors),
        T(test_get_attribute_value),
        T(test_sensitive_keys),
        T(test_set_attribute_rules),
        T(test_trusted_by_so),
        T(test_copy_object),
        T(test_destroy_object),
        T(test_private_visibility),
        T(test_session_object_lifetime),
    };
    return cmocka_run_group_tests_name("object", tests, NULL, NULL);
}
