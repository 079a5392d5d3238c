/* Persistence across processes: the test binary re-executes itself
 * (fork + exec of /proc/self/exe) so every child is a brand-new process that
 * loads the module with dlopen and calls C_Initialize. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- child side ------------------------------------------------------- */

static int child_first_slot(CK_SLOT_ID *slot)
{
    CK_SLOT_ID *s = NULL;
    CK_ULONG n = 0;
    CHILD_RV(h_slots(&s, &n), CKR_OK);
    CHILD_TRUE(n >= 2);
    *slot = s[0];
    free(s);
    return 0;
}

/* verify <slot>: objects written by the parent are there. */
static int child_verify(CK_SLOT_ID want_slot)
{
    CK_SLOT_ID slot;
    CK_SESSION_HANDLE h;
    CHILD_RV(F->C_Initialize(NULL), CKR_OK);
    if (child_first_slot(&slot))
        return 1;
    CHILD_TRUE(slot == want_slot);
    CK_TOKEN_INFO ti;
    CHILD_RV(F->C_GetTokenInfo(slot, &ti), CKR_OK);
    CK_UTF8CHAR lab[32];
    h_pad(lab, 32, "persist");
    CHILD_TRUE(memcmp(ti.label, lab, 32) == 0);
    CHILD_TRUE(ti.flags & CKF_USER_PIN_INITIALIZED);
    CHILD_RV(h_open(slot, 1, &h), CKR_OK);
    CHILD_TRUE(h_count_label(h, "pub") == 1);
    CHILD_TRUE(h_count_label(h, "priv") == 0); /* not logged in */
    CHILD_TRUE(h_count_label(h, "sess") == 0);
    CHILD_RV(F->C_Login(h, CKU_USER, H_PIN(H_USER_PIN)), CKR_OK);
    CHILD_TRUE(h_count_label(h, "priv") == 1);
    CHILD_TRUE(h_count_label(h, "aes") == 1);
    CHILD_TRUE(h_count_label(h, "sess") == 0);

    CK_ATTRIBUTE t = {CKA_LABEL, "priv", 4};
    CK_OBJECT_HANDLE o;
    CK_ULONG n;
    CHILD_RV(h_find(h, &t, 1, &o, 1, &n), CKR_OK);
    char v[32];
    CK_ATTRIBUTE g = {CKA_VALUE, v, sizeof(v)};
    CHILD_RV(F->C_GetAttributeValue(h, o, &g, 1), CKR_OK);
    CHILD_TRUE(g.ulValueLen == 11 && memcmp(v, "private\0val", 11) == 0);

    CK_ATTRIBUTE tk = {CKA_LABEL, "aes", 3};
    CHILD_RV(h_find(h, &tk, 1, &o, 1, &n), CKR_OK);
    g.ulValueLen = sizeof(v);
    CHILD_RV(F->C_GetAttributeValue(h, o, &g, 1), CKR_ATTRIBUTE_SENSITIVE);
    CK_KEY_TYPE kt = 0;
    CK_ATTRIBUTE gk = {CKA_KEY_TYPE, &kt, sizeof(kt)};
    CHILD_RV(F->C_GetAttributeValue(h, o, &gk, 1), CKR_OK);
    CHILD_TRUE(kt == CKK_AES);

    /* Modify: destroy "pub", rename "priv" -> "priv2". */
    CK_ATTRIBUTE tp = {CKA_LABEL, "pub", 3};
    CHILD_RV(h_find(h, &tp, 1, &o, 1, &n), CKR_OK);
    CHILD_RV(F->C_DestroyObject(h, o), CKR_OK);
    CHILD_RV(h_find(h, &t, 1, &o, 1, &n), CKR_OK);
    CK_ATTRIBUTE nl = {CKA_LABEL, "priv2", 5};
    CHILD_RV(F->C_SetAttributeValue(h, o, &nl, 1), CKR_OK);
    CHILD_RV(F->C_Finalize(NULL), CKR_OK);
    return 0;
}

static int child_fail(const char *who, int count, const char *expect)
{
    CK_SLOT_ID slot;
    CK_SESSION_HANDLE h;
    CHILD_RV(F->C_Initialize(NULL), CKR_OK);
    if (child_first_slot(&slot))
        return 1;
    CHILD_RV(h_open(slot, 1, &h), CKR_OK);
    CK_USER_TYPE u = strcmp(who, "so") == 0 ? CKU_SO : CKU_USER;
    for (int i = 0; i < count; i++) {
        CK_RV rv = F->C_Login(h, u, H_PIN("00000000"));
        if (strcmp(expect, "either") == 0)
            CHILD_TRUE(rv == CKR_PIN_INCORRECT || rv == CKR_PIN_LOCKED);
        else
            CHILD_RV(rv, CKR_PIN_INCORRECT);
    }
    CHILD_RV(F->C_Finalize(NULL), CKR_OK);
    return 0;
}

static int child_login(const char *pin, const char *expect)
{
    CK_SLOT_ID slot;
    CK_SESSION_HANDLE h;
    CHILD_RV(F->C_Initialize(NULL), CKR_OK);
    if (child_first_slot(&slot))
        return 1;
    CHILD_RV(h_open(slot, 1, &h), CKR_OK);
    CK_RV want = strcmp(expect, "ok") == 0 ? CKR_OK
               : strcmp(expect, "locked") == 0 ? CKR_PIN_LOCKED
                                               : CKR_PIN_INCORRECT;
    /* A fresh process starts in the public state even if the parent is
     * logged in. */
    CHILD_TRUE(h_state(h) == CKS_RW_PUBLIC_SESSION);
    CHILD_RV(F->C_Login(h, CKU_USER, (CK_UTF8CHAR_PTR)pin, strlen(pin)), want);
    CHILD_RV(F->C_Finalize(NULL), CKR_OK);
    return 0;
}

static int child_main(int argc, char **argv)
{
    h_load();
    if (strcmp(argv[1], "verify") == 0 && argc == 3)
        return child_verify(strtoul(argv[2], NULL, 10));
    if (strcmp(argv[1], "fail") == 0 && argc == 5)
        return child_fail(argv[2], atoi(argv[3]), argv[4]);
    if (strcmp(argv[1], "login") == 0 && argc == 4)
        return child_login(argv[2], argv[3]);
    fprintf(stderr, "bad child args\n");
    return 2;
}

/* ---- parent side ------------------------------------------------------ */

static void test_objects_survive_process(void **state)
{
    h_fixture *fx = *state;
    CK_SESSION_HANDLE h;
    CK_OBJECT_HANDLE o;
    assert_ok(F->C_Initialize(NULL));
    assert_ok(h_init_token("persist", &fx->slot));
    assert_ok(h_init_user_pin(fx->slot));
    assert_ok(h_open_login(fx->slot, 1, CKU_USER, &h));
    assert_ok(h_create_data(h, CK_TRUE, CK_FALSE, "pub", "public", 6, &o));
    assert_ok(h_create_data(h, CK_TRUE, CK_TRUE, "priv", "private\0val", 11, &o));
    assert_ok(h_create_data(h, CK_FALSE, CK_FALSE, "sess", "x", 1, &o));
    static const unsigned char key[32] = {9, 8, 7};
    CK_OBJECT_CLASS sk = CKO_SECRET_KEY;
    CK_KEY_TYPE aes = CKK_AES;
    CK_BBOOL t = CK_TRUE;
    CK_ATTRIBUTE kt[] = {{CKA_CLASS, &sk, sizeof(sk)}, {CKA_KEY_TYPE, &aes, sizeof(aes)},
                         {CKA_TOKEN, &t, 1}, {CKA_SENSITIVE, &t, 1},
                         {CKA_LABEL, "aes", 3}, {CKA_VALUE, (void *)key, 32}};
    assert_ok(F->C_CreateObject(h, kt, 6, &o));
    char uid[64];
    CK_ATTRIBUTE ga = {CKA_UNIQUE_ID, uid, sizeof(uid)};
    assert_ok(F->C_GetAttributeValue(h, o, &ga, 1));
    CK_ULONG uidlen = ga.ulValueLen;
    assert_ok(F->C_Finalize(NULL));

    char slotbuf[32];
    snprintf(slotbuf, sizeof(slotbuf), "%lu", (unsigned long)fx->slot);
    assert_int_equal(h_wait(h_run_self("verify", slotbuf, NULL)), 0);

    /* The child's changes are visible here. */
    assert_ok(F->C_Initialize(NULL));
    assert_ok(h_open_login(fx->slot, 0, CKU_USER, &h));
    assert_int_equal(h_count_label(h, "pub"), 0);
    assert_int_equal(h_count_label(h, "priv"), 0);
    assert_int_equal(h_count_label(h, "priv2"), 1);
    assert_int_equal(h_count_label(h, "aes"), 1);
    /* CKA_UNIQUE_ID is stable across processes. */
    CK_ATTRIBUTE by_uid = {CKA_UNIQUE_ID, uid, uidlen};
    CK_ULONG n;
    CK_OBJECT_HANDLE found;
    assert_ok(h_find(h, &by_uid, 1, &found, 1, &n));
    assert_int_equal(n, 1);
}

static void test_lockout_persists(void **state)
{
    h_fixture *fx = *state;
    assert_ok(h_setup_token(&fx->slot));
    assert_ok(F->C_Finalize(NULL));

    assert_int_equal(h_wait(h_run_self("fail", "user", "4", "incorrect", NULL)), 0);
    assert_ok(F->C_Initialize(NULL));
    CK_FLAGS fl = h_token_flags(fx->slot);
    assert_true(fl & CKF_USER_PIN_COUNT_LOW);
    assert_false(fl & (CKF_USER_PIN_FINAL_TRY | CKF_USER_PIN_LOCKED));
    assert_ok(F->C_Finalize(NULL));

    assert_int_equal(h_wait(h_run_self("fail", "user", "5", "incorrect", NULL)), 0);
    assert_ok(F->C_Initialize(NULL));
    assert_true(h_token_flags(fx->slot) & CKF_USER_PIN_FINAL_TRY);
    assert_false(h_token_flags(fx->slot) & CKF_USER_PIN_LOCKED);
    assert_ok(F->C_Finalize(NULL));

    assert_int_equal(h_wait(h_run_self("fail", "user", "1", "either", NULL)), 0);
    assert_int_equal(h_wait(h_run_self("login", H_USER_PIN, "locked", NULL)), 0);
    assert_ok(F->C_Initialize(NULL));
    assert_true(h_token_flags(fx->slot) & CKF_USER_PIN_LOCKED);
    /* SO unlocks here; the next process can log in. */
    CK_SESSION_HANDLE h;
    assert_ok(h_open_login(fx->slot, 1, CKU_SO, &h));
    assert_ok(F->C_InitPIN(h, H_PIN("newpin")));
    assert_ok(F->C_Finalize(NULL));
    assert_int_equal(h_wait(h_run_self("login", "newpin", "ok", NULL)), 0);
    assert_int_equal(h_wait(h_run_self("login", H_USER_PIN, "incorrect", NULL)), 0);

    /* SO counter persists as well. */
    assert_int_equal(h_wait(h_run_self("fail", "so", "2", "incorrect", NULL)), 0);
    assert_ok(F->C_Initialize(NULL));
    assert_true(h_token_flags(fx->slot) & CKF_SO_PIN_COUNT_LOW);
}

/* A PIN change is seen by the next process; a parent's login is not. */
static void test_pin_change_and_login_state(void **state)
{
    h_fixture *fx = *state;
    CK_SESSION_HANDLE h;
    assert_ok(h_setup_token(&fx->slot));
    assert_ok(h_open_login(fx->slot, 1, CKU_USER, &h));
    assert_ok(F->C_SetPIN(h, H_PIN(H_USER_PIN), H_PIN("changed1")));
    /* Parent stays logged in while children run. */
    assert_int_equal(h_wait(h_run_self("login", "changed1", "ok", NULL)), 0);
    assert_int_equal(h_wait(h_run_self("login", H_USER_PIN, "incorrect", NULL)), 0);
    assert_int_equal(h_state(h), CKS_RW_USER_FUNCTIONS);
}

int main(int argc, char **argv)
{
    if (argc > 1)
        return child_main(argc, argv);
    h_load();
#define T(fn) cmocka_unit_test_setup_teardown(fn, h_fixture_setup_bare, h_fixture_teardown)
    const struct CMUnitTest tests[] = {
        T(test_objects_survive_process),
        T(test_lockout_persists),
        T(test_pin_change_and_login_state),
    };
    return cmocka_run_group_tests_name("persist", tests, NULL, NULL);
}
