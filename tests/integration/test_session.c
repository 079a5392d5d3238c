/* Sessions and the login state machine (PKCS#11 3.0 base spec 5.6, 5.7, 6.7). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "harness.h"

#include <stdlib.h>
#include <string.h>

static void test_open_session_rules(void **state)
{
    h_fixture *fx = *state;
    CK_SESSION_HANDLE h, hs[8];
    assert_rv(F->C_OpenSession(fx->slot, 0, NULL, NULL, &h),
              CKR_SESSION_PARALLEL_NOT_SUPPORTED);
    assert_rv(F->C_OpenSession(fx->slot, CKF_RW_SESSION, NULL, NULL, &h),
              CKR_SESSION_PARALLEL_NOT_SUPPORTED);
    assert_rv(F->C_OpenSession(fx->slot, CKF_SERIAL_SESSION, NULL, NULL, NULL),
              CKR_ARGUMENTS_BAD);

    for (int i = 0; i < 8; i++)
        assert_ok(h_open(fx->slot, i & 1, &hs[i]));
    int consecutive = 1;
    for (int i = 0; i < 8; i++) {
        assert_true(hs[i] != CK_INVALID_HANDLE);
        for (int j = 0; j < i; j++)
            assert_true(hs[i] != hs[j]);
        if (i > 0 && hs[i] != hs[i - 1] + 1)
            consecutive = 0;
    }
    /* Handles are not sequential small integers. */
    assert_false(consecutive);

    CK_SESSION_INFO si;
    assert_rv(F->C_GetSessionInfo(hs[0], NULL), CKR_ARGUMENTS_BAD);
    assert_ok(F->C_GetSessionInfo(hs[0], &si));
    assert_int_equal(si.slotID, fx->slot);
    assert_int_equal(si.state, CKS_RO_PUBLIC_SESSION);
    assert_int_equal(si.flags, CKF_SERIAL_SESSION);
    assert_int_equal(si.ulDeviceError, 0);
    assert_ok(F->C_GetSessionInfo(hs[1], &si));
    assert_int_equal(si.state, CKS_RW_PUBLIC_SESSION);
    assert_int_equal(si.flags, CKF_SERIAL_SESSION | CKF_RW_SESSION);

    assert_ok(F->C_CloseSession(hs[0]));
    assert_rv(F->C_GetSessionInfo(hs[0], &si), CKR_SESSION_HANDLE_INVALID);
    assert_rv(F->C_CloseSession(hs[0]), CKR_SESSION_HANDLE_INVALID);
    assert_ok(F->C_GetSessionInfo(hs[1], &si));
}

static void test_bad_session_handles(void **state)
{
    (void)state;
    CK_SESSION_HANDLE bad[] = {CK_INVALID_HANDLE, 0x5a5a5a5a, (CK_SESSION_HANDLE)-1};
    CK_SESSION_INFO si;
    CK_OBJECT_HANDLE o;
    CK_ULONG n;
    CK_OBJECT_CLASS cls = CKO_DATA;
    CK_ATTRIBUTE t = {CKA_CLASS, &cls, sizeof(cls)};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CK_SESSION_HANDLE b = bad[i];
        assert_rv(F->C_GetSessionInfo(b, &si), CKR_SESSION_HANDLE_INVALID);
        assert_rv(F->C_CloseSession(b), CKR_SESSION_HANDLE_INVALID);
        assert_rv(F->C_Login(b, CKU_USER, H_PIN(H_USER_PIN)), CKR_SESSION_HANDLE_INVALID);
        assert_rv(F->C_Logout(b), CKR_SESSION_HANDLE_INVALID);
        assert_rv(F->C_InitPIN(b, H_PIN(H_USER_PIN)), CKR_SESSION_HANDLE_INVALID);
        assert_rv(F->C_SetPIN(b, H_PIN(H_USER_PIN), H_PIN("654321")),
                  CKR_SESSION_HANDLE_INVALID);
        assert_rv(F->C_CreateObject(b, &t, 1, &o), CKR_SESSION_HANDLE_INVALID);
        assert_rv(F->C_DestroyObject(b, 1), CKR_SESSION_HANDLE_INVALID);
        assert_rv(F->C_GetAttributeValue(b, 1, &t, 1), CKR_SESSION_HANDLE_INVALID);
        assert_rv(F->C_SetAttributeValue(b, 1, &t, 1), CKR_SESSION_HANDLE_INVALID);
        assert_rv(F->C_GetObjectSize(b, 1, &n), CKR_SESSION_HANDLE_INVALID);
        assert_rv(F->C_CopyObject(b, 1, &t, 1, &o), CKR_SESSION_HANDLE_INVALID);
        assert_rv(F->C_FindObjectsInit(b, &t, 1), CKR_SESSION_HANDLE_INVALID);
        assert_rv(F->C_FindObjects(b, &o, 1, &n), CKR_SESSION_HANDLE_INVALID);
        assert_rv(F->C_FindObjectsFinal(b), CKR_SESSION_HANDLE_INVALID);
    }
}

/* Spec 5.6/6.7: user login moves every session of the application. */
static void test_user_login_states(void **state)
{
    h_fixture *fx = *state;
    CK_SESSION_HANDLE ro, rw, ro2, rw2;
    assert_ok(h_open(fx->slot, 0, &ro));
    assert_ok(h_open(fx->slot, 1, &rw));
    assert_int_equal(h_state(ro), CKS_RO_PUBLIC_SESSION);
    assert_int_equal(h_state(rw), CKS_RW_PUBLIC_SESSION);

    assert_rv(F->C_Logout(ro), CKR_USER_NOT_LOGGED_IN);

    /* Log in through the R/O session. */
    assert_ok(F->C_Login(ro, CKU_USER, H_PIN(H_USER_PIN)));
    assert_int_equal(h_state(ro), CKS_RO_USER_FUNCTIONS);
    assert_int_equal(h_state(rw), CKS_RW_USER_FUNCTIONS);

    assert_rv(F->C_Login(ro, CKU_USER, H_PIN(H_USER_PIN)), CKR_USER_ALREADY_LOGGED_IN);
    assert_rv(F->C_Login(rw, CKU_USER, H_PIN(H_USER_PIN)), CKR_USER_ALREADY_LOGGED_IN);
    assert_rv(F->C_Login(rw, CKU_SO, H_PIN(H_SO_PIN)),
              CKR_USER_ANOTHER_ALREADY_LOGGED_IN);

    /* New sessions join the logged-in state. */
    assert_ok(h_open(fx->slot, 0, &ro2));
    assert_ok(h_open(fx->slot, 1, &rw2));
    assert_int_equal(h_state(ro2), CKS_RO_USER_FUNCTIONS);
    assert_int_equal(h_state(rw2), CKS_RW_USER_FUNCTIONS);

    /* Logout through another session logs out all of them. */
    assert_ok(F->C_Logout(rw2));
    assert_int_equal(h_state(ro), CKS_RO_PUBLIC_SESSION);
    assert_int_equal(h_state(rw), CKS_RW_PUBLIC_SESSION);
    assert_int_equal(h_state(ro2), CKS_RO_PUBLIC_SESSION);
    assert_int_equal(h_state(rw2), CKS_RW_PUBLIC_SESSION);
    assert_rv(F->C_Logout(ro), CKR_USER_NOT_LOGGED_IN);

    /* And in again through the R/W session. */
    assert_ok(F->C_Login(rw, CKU_USER, H_PIN(H_USER_PIN)));
    assert_int_equal(h_state(ro2), CKS_RO_USER_FUNCTIONS);
    assert_int_equal(h_state(rw2), CKS_RW_USER_FUNCTIONS);
    assert_ok(F->C_Logout(ro2));
}

static void test_so_login_states(void **state)
{
    h_fixture *fx = *state;
    CK_SESSION_HANDLE ro, rw, rw2, h;
    assert_ok(h_open(fx->slot, 0, &ro));
    assert_ok(h_open(fx->slot, 1, &rw));
    /* SO cannot log in while an R/O session exists. */
    assert_rv(F->C_Login(rw, CKU_SO, H_PIN(H_SO_PIN)), CKR_SESSION_READ_ONLY_EXISTS);
    assert_rv(F->C_Login(ro, CKU_SO, H_PIN(H_SO_PIN)), CKR_SESSION_READ_ONLY_EXISTS);
    assert_int_equal(h_state(rw), CKS_RW_PUBLIC_SESSION);
    assert_ok(F->C_CloseSession(ro));

    assert_ok(F->C_Login(rw, CKU_SO, H_PIN(H_SO_PIN)));
    assert_int_equal(h_state(rw), CKS_RW_SO_FUNCTIONS);
    /* No R/O session while the SO is logged in. */
    assert_rv(h_open(fx->slot, 0, &h), CKR_SESSION_READ_WRITE_SO_EXISTS);
    assert_ok(h_open(fx->slot, 1, &rw2));
    assert_int_equal(h_state(rw2), CKS_RW_SO_FUNCTIONS);

    assert_rv(F->C_Login(rw2, CKU_SO, H_PIN(H_SO_PIN)), CKR_USER_ALREADY_LOGGED_IN);
    assert_rv(F->C_Login(rw2, CKU_USER, H_PIN(H_USER_PIN)),
              CKR_USER_ANOTHER_ALREADY_LOGGED_IN);

    assert_ok(F->C_Logout(rw2));
    assert_int_equal(h_state(rw), CKS_RW_PUBLIC_SESSION);
    assert_int_equal(h_state(rw2), CKS_RW_PUBLIC_SESSION);
    assert_rv(F->C_Logout(rw), CKR_USER_NOT_LOGGED_IN);
    /* R/O sessions are allowed again. */
    assert_ok(h_open(fx->slot, 0, &h));
    assert_int_equal(h_state(h), CKS_RO_PUBLIC_SESSION);
}

static void test_login_errors(void **state)
{
    h_fixture *fx = *state;
    CK_SESSION_HANDLE h;
    assert_ok(h_open(fx->slot, 1, &h));
    assert_rv(F->C_Login(h, 5, H_PIN(H_USER_PIN)), CKR_USER_TYPE_INVALID);
    assert_rv(F->C_Login(h, 0x80000001UL, H_PIN(H_USER_PIN)), CKR_USER_TYPE_INVALID);
    assert_rv(F->C_Login(h, CKU_USER, NULL, 6), CKR_ARGUMENTS_BAD);
    assert_rv(F->C_Login(h, CKU_USER, H_PIN("000000")), CKR_PIN_INCORRECT);
    assert_int_equal(h_state(h), CKS_RW_PUBLIC_SESSION);
    assert_rv(F->C_Login(h, CKU_SO, H_PIN("00000000")), CKR_PIN_INCORRECT);
    assert_int_equal(h_state(h), CKS_RW_PUBLIC_SESSION);
    /* A PIN that is a prefix / extension of the right one is wrong. */
    assert_rv(F->C_Login(h, CKU_USER, (CK_UTF8CHAR_PTR)H_USER_PIN, 5), CKR_PIN_INCORRECT);
    assert_rv(F->C_Login(h, CKU_USER, H_PIN(H_USER_PIN "7")), CKR_PIN_INCORRECT);
    /* The user PIN is not the SO PIN and vice versa. */
    assert_rv(F->C_Login(h, CKU_USER, H_PIN(H_SO_PIN)), CKR_PIN_INCORRECT);
    assert_rv(F->C_Login(h, CKU_SO, H_PIN(H_USER_PIN)), CKR_PIN_INCORRECT);
    assert_ok(F->C_Login(h, CKU_USER, H_PIN(H_USER_PIN)));
    assert_int_equal(h_state(h), CKS_RW_USER_FUNCTIONS);
}

static void test_user_pin_not_initialized(void **state)
{
    (void)state;
    CK_SLOT_ID s2;
    CK_SESSION_HANDLE h;
    assert_ok(h_init_token("nopin", &s2));
    assert_false(h_token_flags(s2) & CKF_USER_PIN_INITIALIZED);
    assert_ok(h_open(s2, 1, &h));
    assert_rv(F->C_Login(h, CKU_USER, H_PIN(H_USER_PIN)), CKR_USER_PIN_NOT_INITIALIZED);
    assert_int_equal(h_state(h), CKS_RW_PUBLIC_SESSION);
    /* SO can still log in. */
    assert_ok(F->C_Login(h, CKU_SO, H_PIN(H_SO_PIN)));
    assert_ok(F->C_Logout(h));
}

/* Spec 5.6 C_CloseSession: closing the last session returns the token to
 * public sessions; C_CloseAllSessions likewise. */
static void test_close_logs_out(void **state)
{
    h_fixture *fx = *state;
    CK_SESSION_HANDLE a, b, c;
    assert_ok(h_open_login(fx->slot, 1, CKU_USER, &a));
    assert_ok(h_open(fx->slot, 0, &b));
    assert_int_equal(h_state(b), CKS_RO_USER_FUNCTIONS);
    assert_ok(F->C_CloseSession(a));
    /* Another session still open: still logged in. */
    assert_int_equal(h_state(b), CKS_RO_USER_FUNCTIONS);
    assert_ok(F->C_CloseSession(b));
    assert_ok(h_open(fx->slot, 1, &c));
    assert_int_equal(h_state(c), CKS_RW_PUBLIC_SESSION);
    assert_rv(F->C_Logout(c), CKR_USER_NOT_LOGGED_IN);

    /* C_CloseAllSessions. */
    assert_ok(F->C_Login(c, CKU_USER, H_PIN(H_USER_PIN)));
    assert_ok(h_open(fx->slot, 0, &a));
    assert_ok(F->C_CloseAllSessions(fx->slot));
    CK_SESSION_INFO si;
    assert_rv(F->C_GetSessionInfo(a, &si), CKR_SESSION_HANDLE_INVALID);
    assert_rv(F->C_Logout(c), CKR_SESSION_HANDLE_INVALID);
    assert_ok(h_open(fx->slot, 1, &b));
    assert_int_equal(h_state(b), CKS_RW_PUBLIC_SESSION);

    /* SO too. */
    assert_ok(F->C_Login(b, CKU_SO, H_PIN(H_SO_PIN)));
    assert_ok(F->C_CloseAllSessions(fx->slot));
    assert_ok(h_open(fx->slot, 0, &a)); /* R/O allowed: SO is logged out */
    assert_int_equal(h_state(a), CKS_RO_PUBLIC_SESSION);
}

/* Login state is per token: two tokens, logged in on one only. */
static void test_login_per_token(void **state)
{
    h_fixture *fx = *state;
    CK_SLOT_ID s2;
    CK_SESSION_HANDLE a, b;
    assert_ok(h_init_token("other", &s2));
    assert_ok(h_init_user_pin(s2));
    assert_ok(h_open_login(fx->slot, 1, CKU_USER, &a));
    assert_ok(h_open(s2, 1, &b));
    assert_int_equal(h_state(b), CKS_RW_PUBLIC_SESSION);
    assert_ok(F->C_Login(b, CKU_SO, H_PIN(H_SO_PIN)));
    assert_int_equal(h_state(a), CKS_RW_USER_FUNCTIONS);
    assert_int_equal(h_state(b), CKS_RW_SO_FUNCTIONS);
    CK_SESSION_INFO si;
    assert_ok(F->C_GetSessionInfo(b, &si));
    assert_int_equal(si.slotID, s2);
    assert_ok(F->C_CloseAllSessions(s2));
    assert_int_equal(h_state(a), CKS_RW_USER_FUNCTIONS);
}

/* C_SessionCancel (3.0) ends exactly the operations its flags name; the others stay active. */
static void test_session_cancel(void **state)
{
    h_fixture *fx = *state;
    CK_SESSION_HANDLE s;
    assert_ok(h_open_login(fx->slot, 0, CKU_USER, &s));
    CK_BYTE msg[] = "cancel me", out[64];
    CK_ULONG outlen = sizeof out;
    CK_MECHANISM sha = { CKM_SHA256, NULL, 0 };
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_KEY_TYPE kt = CKK_GENERIC_SECRET;
    CK_BBOOL yes = CK_TRUE;
    CK_BYTE val[32] = { 1, 2, 3 };
    CK_ATTRIBUTE t[] = { { CKA_CLASS, &cls, sizeof cls }, { CKA_KEY_TYPE, &kt, sizeof kt },
                         { CKA_SIGN, &yes, sizeof yes }, { CKA_VALUE, val, sizeof val } };
    CK_OBJECT_HANDLE key;
    assert_ok(F->C_CreateObject(s, t, 4, &key));
    CK_MECHANISM hmac = { CKM_SHA256_HMAC, NULL, 0 };

    assert_ok(F->C_DigestInit(s, &sha));
    assert_ok(F->C_DigestUpdate(s, msg, sizeof msg));
    assert_ok(F->C_SignInit(s, &hmac, key));
    assert_ok(F->C_SignUpdate(s, msg, sizeof msg));

    /* Cancel the signature only: a new one may start, the digest goes on. */
    assert_ok(F->C_SessionCancel(s, CKF_SIGN));
    assert_rv(F->C_SignUpdate(s, msg, sizeof msg), CKR_OPERATION_NOT_INITIALIZED);
    assert_ok(F->C_DigestUpdate(s, msg, sizeof msg));
    assert_ok(F->C_SignInit(s, &hmac, key));

    /* Both at once, with a flag for an operation that is not active. */
    assert_ok(F->C_SessionCancel(s, CKF_SIGN | CKF_DIGEST | CKF_ENCRYPT));
    assert_rv(F->C_DigestFinal(s, out, &outlen), CKR_OPERATION_NOT_INITIALIZED);
    assert_rv(F->C_Sign(s, msg, sizeof msg, out, &outlen), CKR_OPERATION_NOT_INITIALIZED);
    assert_ok(F->C_DigestInit(s, &sha));
    assert_ok(F->C_Digest(s, msg, sizeof msg, out, &outlen));
    assert_int_equal(outlen, 32);

    assert_rv(F->C_SessionCancel(CK_INVALID_HANDLE, CKF_SIGN), CKR_SESSION_HANDLE_INVALID);
    assert_ok(F->C_CloseSession(s));
}

static void test_session_after_finalize(void **state)
{
    h_fixture *fx = *state;
    CK_SESSION_HANDLE a;
    CK_SESSION_INFO si;
    assert_ok(h_open_login(fx->slot, 1, CKU_USER, &a));
    assert_ok(F->C_Finalize(NULL));
    assert_rv(F->C_GetSessionInfo(a, &si), CKR_CRYPTOKI_NOT_INITIALIZED);
    assert_ok(F->C_Initialize(NULL));
    assert_rv(F->C_GetSessionInfo(a, &si), CKR_SESSION_HANDLE_INVALID);
    CK_SESSION_HANDLE b;
    assert_ok(h_open(fx->slot, 1, &b));
    assert_int_equal(h_state(b), CKS_RW_PUBLIC_SESSION); /* login did not survive */
}

int main(void)
{
    h_load();
#define T(fn) cmocka_unit_test_setup_teardown(fn, h_fixture_setup, h_fixture_teardown)
    const struct CMUnitTest tests[] = {
        T(test_open_session_rules),
        T(test_bad_session_handles),
        T(test_user_login_states),
        T(test_so_login_states),
        T(test_login_errors),
        T(test_user_pin_not_initialized),
        T(test_close_logs_out),
        T(test_login_per_token),
        T(test_session_cancel),
        T(test_session_after_finalize),
    };
    return cmocka_run_group_tests_name("session", tests, NULL, NULL);
}
