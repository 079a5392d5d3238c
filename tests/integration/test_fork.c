/* Fork safety (GUIDE section 3; spec 3.0 section 6.6.x "applications and
 * processes"): a forked child gets CKR_CRYPTOKI_NOT_INITIALIZED until it
 * calls C_Initialize itself; the parent is unaffected. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

typedef struct {
    CK_SLOT_ID slot;
    CK_SESSION_HANDLE ps;    /* parent's logged-in session */
    CK_OBJECT_HANDLE tok;    /* parent's token object */
    CK_OBJECT_HANDLE sess;   /* parent's session object */
} parent_t;

static int child_body(const parent_t *p)
{
    CK_INFO info;
    CK_ULONG n;
    CK_SESSION_INFO si;
    CK_SESSION_HANDLE h;
    CK_ATTRIBUTE g = {CKA_LABEL, NULL, 0};
    CHILD_RV(F->C_GetInfo(&info), CKR_CRYPTOKI_NOT_INITIALIZED);
    CHILD_RV(F->C_GetSlotList(CK_FALSE, NULL, &n), CKR_CRYPTOKI_NOT_INITIALIZED);
    CHILD_RV(F->C_GetSessionInfo(p->ps, &si), CKR_CRYPTOKI_NOT_INITIALIZED);
    CHILD_RV(F->C_GetAttributeValue(p->ps, p->tok, &g, 1), CKR_CRYPTOKI_NOT_INITIALIZED);
    CHILD_RV(h_open(p->slot, 1, &h), CKR_CRYPTOKI_NOT_INITIALIZED);
    CHILD_RV(F->C_FindObjectsInit(p->ps, NULL, 0), CKR_CRYPTOKI_NOT_INITIALIZED);
    CHILD_RV(F->C_Logout(p->ps), CKR_CRYPTOKI_NOT_INITIALIZED);
    CHILD_RV(F->C_CloseSession(p->ps), CKR_CRYPTOKI_NOT_INITIALIZED);
    CHILD_RV(F->C_Finalize(NULL), CKR_CRYPTOKI_NOT_INITIALIZED);

    CHILD_RV(F->C_Initialize(NULL), CKR_OK);
    /* The parent's handles mean nothing here. */
    CHILD_RV(F->C_GetSessionInfo(p->ps, &si), CKR_SESSION_HANDLE_INVALID);
    CHILD_RV(h_open(p->slot, 1, &h), CKR_OK);
    CHILD_TRUE(h_state(h) == CKS_RW_PUBLIC_SESSION); /* login not inherited */
    CHILD_RV(F->C_GetAttributeValue(h, p->sess, &g, 1), CKR_OBJECT_HANDLE_INVALID);
    CHILD_TRUE(h_count_label(h, "parent-session") == 0);
    CHILD_RV(F->C_Login(h, CKU_USER, H_PIN(H_USER_PIN)), CKR_OK);
    CHILD_TRUE(h_count_label(h, "parent-token") == 1);
    CK_OBJECT_HANDLE o;
    CHILD_RV(h_create_data(h, CK_TRUE, CK_FALSE, "child-token", "c", 1, &o), CKR_OK);
    CHILD_RV(F->C_Finalize(NULL), CKR_OK);
    return 0;
}

static pid_t fork_child(const parent_t *p, int do_exit_without_finalize)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        if (do_exit_without_finalize) {
            CK_INFO info;
            int rc = F->C_GetInfo(&info) == CKR_CRYPTOKI_NOT_INITIALIZED &&
                             F->C_Initialize(NULL) == CKR_OK
                         ? 0
                         : 1;
            _exit(rc); /* no C_Finalize: must not disturb the parent */
        }
        _exit(child_body(p));
    }
    return pid;
}

static void setup_parent(h_fixture *fx, parent_t *p)
{
    p->slot = fx->slot;
    assert_ok(h_open_login(fx->slot, 1, CKU_USER, &p->ps));
    assert_ok(h_create_data(p->ps, CK_TRUE, CK_TRUE, "parent-token", "t", 1, &p->tok));
    assert_ok(h_create_data(p->ps, CK_FALSE, CK_FALSE, "parent-session", "s", 1, &p->sess));
}

static void check_parent_intact(const parent_t *p)
{
    assert_int_equal(h_state(p->ps), CKS_RW_USER_FUNCTIONS);
    char v[4];
    CK_ATTRIBUTE g = {CKA_VALUE, v, sizeof(v)};
    assert_ok(F->C_GetAttributeValue(p->ps, p->sess, &g, 1));
    assert_int_equal(g.ulValueLen, 1);
    assert_int_equal(v[0], 's');
    g.ulValueLen = sizeof(v);
    assert_ok(F->C_GetAttributeValue(p->ps, p->tok, &g, 1));
    assert_int_equal(v[0], 't');
    CK_INFO info;
    assert_ok(F->C_GetInfo(&info));
}

static void test_fork_child_not_initialized(void **state)
{
    h_fixture *fx = *state;
    parent_t p;
    setup_parent(fx, &p);
    assert_int_equal(h_wait(fork_child(&p, 0)), 0);
    check_parent_intact(&p);
    /* The child's token object is visible to the parent. */
    assert_int_equal(h_count_label(p.ps, "child-token"), 1);
}

static void test_fork_child_exits_without_finalize(void **state)
{
    h_fixture *fx = *state;
    parent_t p;
    setup_parent(fx, &p);
    assert_int_equal(h_wait(fork_child(&p, 1)), 0);
    check_parent_intact(&p);
    /* Parent can still write. */
    CK_OBJECT_HANDLE o;
    assert_ok(h_create_data(p.ps, CK_TRUE, CK_FALSE, "after", "a", 1, &o));
    assert_int_equal(h_count_label(p.ps, "after"), 1);
}

/* Fork while a find operation is active in the parent. */
static void test_fork_during_find(void **state)
{
    h_fixture *fx = *state;
    parent_t p;
    setup_parent(fx, &p);
    assert_ok(F->C_FindObjectsInit(p.ps, NULL, 0));
    assert_int_equal(h_wait(fork_child(&p, 0)), 0);
    CK_OBJECT_HANDLE r[8];
    CK_ULONG n = 0;
    assert_ok(F->C_FindObjects(p.ps, r, 8, &n));
    assert_true(n >= 2); /* parent-token and parent-session at least */
    assert_ok(F->C_FindObjectsFinal(p.ps));
}

/* Several children at once, each re-initialising. */
static void test_fork_many(void **state)
{
    h_fixture *fx = *state;
    parent_t p;
    setup_parent(fx, &p);
    pid_t pids[4];
    for (int i = 0; i < 4; i++)
        pids[i] = fork_child(&p, 0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(h_wait(pids[i]), 0);
    check_parent_intact(&p);
    assert_int_equal(h_count_label(p.ps, "child-token"), 4);
}

int main(void)
{
    h_load();
#define T(fn) cmocka_unit_test_setup_teardown(fn, h_fixture_setup, h_fixture_teardown)
    const struct CMUnitTest tests[] = {
        T(test_fork_child_not_initialized),
        T(test_fork_child_exits_without_finalize),
        T(test_fork_during_find),
        T(test_fork_many),
    };
    return cmocka_run_group_tests_name("fork", tests, NULL, NULL);
}
