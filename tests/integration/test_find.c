/* C_FindObjectsInit / C_FindObjects / C_FindObjectsFinal (spec 5.7). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static CK_BBOOL T_ = CK_TRUE, F_ = CK_FALSE;
#define ATTR(t, p, l) {(t), (void *)(p), (CK_ULONG)(l)}
#define BOOL_ATTR(t, v) {(t), (v) ? &T_ : &F_, sizeof(CK_BBOOL)}

typedef struct {
    CK_OBJECT_HANDLE alpha1, alpha2, beta, k1, k2, priv;
} objs_t;

static CK_RV make_key(CK_SESSION_HANDLE h, CK_KEY_TYPE kt, const char *id,
                      const char *label, CK_OBJECT_HANDLE *o)
{
    static const unsigned char v[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    CK_OBJECT_CLASS sk = CKO_SECRET_KEY;
    CK_ATTRIBUTE t[] = {ATTR(CKA_CLASS, &sk, sizeof(sk)), ATTR(CKA_KEY_TYPE, &kt, sizeof(kt)),
                        BOOL_ATTR(CKA_TOKEN, 1), BOOL_ATTR(CKA_PRIVATE, 0),
                        ATTR(CKA_ID, id, strlen(id)), ATTR(CKA_LABEL, label, strlen(label)),
                        ATTR(CKA_VALUE, v, 16)};
    return F->C_CreateObject(h, t, 7, o);
}

static void populate(h_fixture *fx, CK_SESSION_HANDLE *h, objs_t *o)
{
    assert_ok(h_open_login(fx->slot, 1, CKU_USER, h));
    assert_ok(h_create_data(*h, CK_TRUE, CK_FALSE, "alpha", "1", 1, &o->alpha1));
    assert_ok(h_create_data(*h, CK_TRUE, CK_FALSE, "alpha", "2", 1, &o->alpha2));
    assert_ok(h_create_data(*h, CK_FALSE, CK_FALSE, "beta", "3", 1, &o->beta));
    assert_ok(make_key(*h, CKK_AES, "\x01", "k1", &o->k1));
    assert_ok(make_key(*h, CKK_GENERIC_SECRET, "\x02", "k2", &o->k2));
    assert_ok(h_create_data(*h, CK_TRUE, CK_TRUE, "secret", "4", 1, &o->priv));
}

static int has(const CK_OBJECT_HANDLE *l, CK_ULONG n, CK_OBJECT_HANDLE x)
{
    for (CK_ULONG i = 0; i < n; i++)
        if (l[i] == x)
            return 1;
    return 0;
}

static void test_find_by_attributes(void **state)
{
    h_fixture *fx = *state;
    CK_SESSION_HANDLE h;
    objs_t o;
    populate(fx, &h, &o);
    CK_OBJECT_HANDLE r[32];
    CK_ULONG n;

    CK_OBJECT_CLASS data = CKO_DATA, sk = CKO_SECRET_KEY;
    CK_ATTRIBUTE by_class = ATTR(CKA_CLASS, &data, sizeof(data));
    assert_ok(h_find(h, &by_class, 1, r, 32, &n));
    assert_int_equal(n, 4);
    assert_true(has(r, n, o.alpha1) && has(r, n, o.alpha2) && has(r, n, o.beta) &&
                has(r, n, o.priv));

    CK_ATTRIBUTE by_label = ATTR(CKA_LABEL, "alpha", 5);
    assert_ok(h_find(h, &by_label, 1, r, 32, &n));
    assert_int_equal(n, 2);
    assert_true(has(r, n, o.alpha1) && has(r, n, o.alpha2));
    /* Prefixes do not match. */
    CK_ATTRIBUTE prefix = ATTR(CKA_LABEL, "alp", 3);
    assert_ok(h_find(h, &prefix, 1, r, 32, &n));
    assert_int_equal(n, 0);

    CK_ATTRIBUTE by_id = ATTR(CKA_ID, "\x01", 1);
    assert_ok(h_find(h, &by_id, 1, r, 32, &n));
    assert_int_equal(n, 1);
    assert_true(r[0] == o.k1);

    CK_KEY_TYPE gs = CKK_GENERIC_SECRET;
    CK_ATTRIBUTE two[] = {ATTR(CKA_CLASS, &sk, sizeof(sk)), ATTR(CKA_KEY_TYPE, &gs, sizeof(gs))};
    assert_ok(h_find(h, two, 2, r, 32, &n));
    assert_int_equal(n, 1);
    assert_true(r[0] == o.k2);

    CK_ATTRIBUTE sess = BOOL_ATTR(CKA_TOKEN, 0);
    assert_ok(h_find(h, &sess, 1, r, 32, &n));
    assert_int_equal(n, 1);
    assert_true(r[0] == o.beta);

    CK_ATTRIBUTE label_and_value[] = {ATTR(CKA_LABEL, "alpha", 5), ATTR(CKA_VALUE, "2", 1)};
    assert_ok(h_find(h, label_and_value, 2, r, 32, &n));
    assert_int_equal(n, 1);
    assert_true(r[0] == o.alpha2);

    CK_ATTRIBUTE none = ATTR(CKA_LABEL, "nothing-here", 12);
    assert_ok(h_find(h, &none, 1, r, 32, &n));
    assert_int_equal(n, 0);

    /* By CKA_UNIQUE_ID. */
    char uid[64];
    CK_ATTRIBUTE g = ATTR(CKA_UNIQUE_ID, uid, sizeof(uid));
    assert_ok(F->C_GetAttributeValue(h, o.k2, &g, 1));
    assert_ok(h_find(h, &g, 1, r, 32, &n));
    assert_int_equal(n, 1);
    assert_true(r[0] == o.k2);

    /* Empty template: everything visible. */
    assert_ok(h_find(h, NULL, 0, r, 32, &n));
    assert_int_equal(n, 6);
    assert_ok(F->C_Logout(h));
    assert_ok(h_find(h, NULL, 0, r, 32, &n));
    assert_int_equal(n, 5);
    assert_false(has(r, n, o.priv));
    CK_ATTRIBUTE sec = ATTR(CKA_LABEL, "secret", 6);
    assert_ok(h_find(h, &sec, 1, r, 32, &n));
    assert_int_equal(n, 0);
}

static void test_find_operation_state(void **state)
{
    h_fixture *fx = *state;
    CK_SESSION_HANDLE h, h2;
    objs_t o;
    populate(fx, &h, &o);
    CK_OBJECT_HANDLE r[4];
    CK_ULONG n;
    assert_rv(F->C_FindObjects(h, r, 4, &n), CKR_OPERATION_NOT_INITIALIZED);
    assert_rv(F->C_FindObjectsFinal(h), CKR_OPERATION_NOT_INITIALIZED);
    assert_rv(F->C_FindObjectsInit(h, NULL, 1), CKR_ARGUMENTS_BAD);

    assert_ok(F->C_FindObjectsInit(h, NULL, 0));
    assert_rv(F->C_FindObjectsInit(h, NULL, 0), CKR_OPERATION_ACTIVE);
    assert_rv(F->C_FindObjects(h, NULL, 4, &n), CKR_ARGUMENTS_BAD);
    assert_rv(F->C_FindObjects(h, r, 4, NULL), CKR_ARGUMENTS_BAD);
    /* Another session has its own find operation. */
    assert_ok(h_open(fx->slot, 0, &h2));
    assert_ok(F->C_FindObjectsInit(h2, NULL, 0));
    assert_ok(F->C_FindObjectsFinal(h2));
    assert_ok(F->C_FindObjects(h, r, 4, &n));
    assert_int_equal(n, 4);
    assert_ok(F->C_FindObjectsFinal(h));
    assert_rv(F->C_FindObjects(h, r, 4, &n), CKR_OPERATION_NOT_INITIALIZED);
    assert_rv(F->C_FindObjectsFinal(h), CKR_OPERATION_NOT_INITIALIZED);
    /* Init works again after Final. */
    assert_ok(F->C_FindObjectsInit(h, NULL, 0));
    assert_ok(F->C_FindObjectsFinal(h));
    /* Closing a session with an active find is fine. */
    assert_ok(F->C_FindObjectsInit(h2, NULL, 0));
    assert_ok(F->C_CloseSession(h2));
}

static void test_find_batches(void **state)
{
    h_fixture *fx = *state;
    CK_SESSION_HANDLE h;
    CK_OBJECT_HANDLE made[25];
    assert_ok(h_open_login(fx->slot, 1, CKU_USER, &h));
    for (int i = 0; i < 25; i++) {
        char v[8];
        snprintf(v, sizeof(v), "%d", i);
        assert_ok(h_create_data(h, i % 2 ? CK_TRUE : CK_FALSE, CK_FALSE, "batch", v,
                                strlen(v), &made[i]));
    }
    CK_ATTRIBUTE t = ATTR(CKA_LABEL, "batch", 5);
    assert_ok(F->C_FindObjectsInit(h, &t, 1));
    CK_OBJECT_HANDLE all[40];
    CK_ULONG total = 0, n;
    CK_ULONG sizes[] = {7, 7, 7, 4};
    for (int b = 0; b < 4; b++) {
        n = 99;
        assert_ok(F->C_FindObjects(h, &all[total], 7, &n));
        assert_int_equal(n, sizes[b]);
        total += n;
    }
    n = 99;
    assert_ok(F->C_FindObjects(h, &all[total], 7, &n));
    assert_int_equal(n, 0);
    assert_ok(F->C_FindObjectsFinal(h));
    assert_int_equal(total, 25);
    for (int i = 0; i < 25; i++) {
        assert_true(has(all, total, made[i]));
        for (int j = 0; j < i; j++)
            assert_true(all[i] != all[j]);
    }
    /* ulMaxObjectCount 1 and 0. */
    assert_ok(F->C_FindObjectsInit(h, &t, 1));
    n = 99;
    assert_ok(F->C_FindObjects(h, all, 1, &n));
    assert_int_equal(n, 1);
    n = 99;
    assert_ok(F->C_FindObjects(h, all, 0, &n));
    assert_int_equal(n, 0);
    assert_ok(F->C_FindObjectsFinal(h));
}

/* Objects destroyed during a find are not returned later as valid handles. */
static void test_find_then_destroy(void **state)
{
    h_fixture *fx = *state;
    CK_SESSION_HANDLE h;
    objs_t o;
    populate(fx, &h, &o);
    CK_OBJECT_HANDLE r[16];
    CK_ULONG n;
    assert_ok(F->C_DestroyObject(h, o.alpha1));
    CK_ATTRIBUTE by_label = ATTR(CKA_LABEL, "alpha", 5);
    assert_ok(h_find(h, &by_label, 1, r, 16, &n));
    assert_int_equal(n, 1);
    assert_true(r[0] == o.alpha2);
    /* Changed label is found under the new name only. */
    CK_ATTRIBUTE nl = ATTR(CKA_LABEL, "gamma", 5);
    assert_ok(F->C_SetAttributeValue(h, o.alpha2, &nl, 1));
    assert_ok(h_find(h, &by_label, 1, r, 16, &n));
    assert_int_equal(n, 0);
    assert_ok(h_find(h, &nl, 1, r, 16, &n));
    assert_int_equal(n, 1);
    assert_true(r[0] == o.alpha2);
}

int main(void)
{
    h_load();
#define T(fn) cmocka_unit_test_setup_teardown(fn, h_fixture_setup, h_fixture_teardown)
    const struct CMUnitTest tests[] = {
        T(test_find_by_attributes),
        T(test_find_operation_state),
        T(test_find_batches),
        T(test_find_then_destroy),
    };
    return cmocka_run_group_tests_name("find", tests, NULL, NULL);
}
