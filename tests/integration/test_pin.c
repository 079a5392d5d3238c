/* PINs: C_InitPIN, C_SetPIN, length limits, lockout (spec 5.6; token flags
 * table in 3.2 CK_TOKEN_INFO). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "harness.h"

#include <stdlib.h>
#include <string.h>

#define UFL (CKF_USER_PIN_COUNT_LOW | CKF_USER_PIN_FINAL_TRY | CKF_USER_PIN_LOCKED)
#define SFL (CKF_SO_PIN_COUNT_LOW | CKF_SO_PIN_FINAL_TRY | CKF_SO_PIN_LOCKED)

static void test_init_pin_states(void **state)
{
    h_fixture *fx = *state;
    CK_SESSION_HANDLE h;
    /* Only in the R/W SO Functions state. */
    assert_ok(h_open(fx->slot, 1, &h));
    assert_rv(F->C_InitPIN(h, H_PIN("111111")), CKR_USER_NOT_LOGGED_IN);
    assert_ok(F->C_Login(h, CKU_USER, H_PIN(H_USER_PIN)));
    assert_rv(F->C_InitPIN(h, H_PIN("111111")), CKR_USER_NOT_LOGGED_IN);
    assert_ok(F->C_Logout(h));
    CK_SESSION_HANDLE ro;
    assert_ok(h_open(fx->slot, 0, &ro));
    assert_ok(F->C_Login(ro, CKU_USER, H_PIN(H_USER_PIN)));
    /* Spec 5.6: "any other state fails with CKR_USER_NOT_LOGGED_IN", but its
     * return-value list also has CKR_SESSION_READ_ONLY: accept both here. */
    CK_RV rv = F->C_InitPIN(ro, H_PIN("111111"));
    assert_true(rv == CKR_USER_NOT_LOGGED_IN || rv == CKR_SESSION_READ_ONLY);
    assert_ok(F->C_Logout(ro));
    assert_ok(F->C_CloseSession(ro));

    assert_ok(F->C_Login(h, CKU_SO, H_PIN(H_SO_PIN)));
    assert_rv(F->C_InitPIN(h, H_PIN("123")), CKR_PIN_LEN_RANGE);
    char longpin[260];
    memset(longpin, 'x', sizeof(longpin));
    assert_rv(F->C_InitPIN(h, (CK_UTF8CHAR_PTR)longpin, 256), CKR_PIN_LEN_RANGE);
    assert_rv(F->C_InitPIN(h, NULL, 6), CKR_ARGUMENTS_BAD);
    assert_ok(F->C_InitPIN(h, H_PIN("1111")));
    assert_ok(F->C_Logout(h));
    assert_rv(F->C_Login(h, CKU_USER, H_PIN(H_USER_PIN)), CKR_PIN_INCORRECT);
    assert_ok(F->C_Login(h, CKU_USER, H_PIN("1111")));
    assert_ok(F->C_Logout(h));
    /* Max length 255 accepted, UTF-8 bytes. */
    assert_ok(F->C_Login(h, CKU_SO, H_PIN(H_SO_PIN)));
    assert_ok(F->C_InitPIN(h, (CK_UTF8CHAR_PTR)longpin, 255));
    assert_ok(F->C_InitPIN(h, H_PIN("pïn✓")));
    assert_ok(F->C_Logout(h));
    assert_ok(F->C_Login(h, CKU_USER, H_PIN("pïn✓")));
}

static void test_set_pin_user(void **state)
{
    h_fixture *fx = *state;
    CK_SESSION_HANDLE h;
    assert_ok(h_open_login(fx->slot, 1, CKU_USER, &h));
    assert_int_equal(h_state(h), CKS_RW_USER_FUNCTIONS);
    assert_rv(F->C_SetPIN(h, H_PIN("999999"), H_PIN("654321")), CKR_PIN_INCORRECT);
    assert_rv(F->C_SetPIN(h, H_PIN(H_USER_PIN), H_PIN("12")), CKR_PIN_LEN_RANGE);
    assert_rv(F->C_SetPIN(h, NULL, 6, H_PIN("654321")), CKR_ARGUMENTS_BAD);
    assert_rv(F->C_SetPIN(h, H_PIN(H_USER_PIN), NULL, 6), CKR_ARGUMENTS_BAD);
    assert_ok(F->C_SetPIN(h, H_PIN(H_USER_PIN), H_PIN("654321")));
    assert_int_equal(h_state(h), CKS_RW_USER_FUNCTIONS); /* still logged in */
    assert_ok(F->C_Logout(h));
    assert_rv(F->C_Login(h, CKU_USER, H_PIN(H_USER_PIN)), CKR_PIN_INCORRECT);
    assert_ok(F->C_Login(h, CKU_USER, H_PIN("654321")));
    assert_ok(F->C_Logout(h));
    /* The SO PIN was not touched. */
    assert_ok(F->C_Login(h, CKU_SO, H_PIN(H_SO_PIN)));
}

/* In the R/W Public Session state C_SetPIN changes the normal user's PIN. */
static void test_set_pin_rw_public(void **state)
{
    h_fixture *fx = *state;
    CK_SESSION_HANDLE h;
    assert_ok(h_open(fx->slot, 1, &h));
    assert_rv(F->C_SetPIN(h, H_PIN("000000"), H_PIN("222222")), CKR_PIN_INCORRECT);
    assert_ok(F->C_SetPIN(h, H_PIN(H_USER_PIN), H_PIN("222222")));
    assert_int_equal(h_state(h), CKS_RW_PUBLIC_SESSION);
    assert_rv(F->C_Login(h, CKU_USER, H_PIN(H_USER_PIN)), CKR_PIN_INCORRECT);
    assert_ok(F->C_Login(h, CKU_USER, H_PIN("222222")));
}

static void test_set_pin_read_only(void **state)
{
    h_fixture *fx = *state;
    CK_SESSION_HANDLE ro;
    assert_ok(h_open(fx->slot, 0, &ro));
    assert_rv(F->C_SetPIN(ro, H_PIN(H_USER_PIN), H_PIN("333333")), CKR_SESSION_READ_ONLY);
    assert_ok(F->C_Login(ro, CKU_USER, H_PIN(H_USER_PIN)));
    assert_int_equal(h_state(ro), CKS_RO_USER_FUNCTIONS);
    assert_rv(F->C_SetPIN(ro, H_PIN(H_USER_PIN), H_PIN("333333")), CKR_SESSION_READ_ONLY);
    assert_ok(F->C_Logout(ro));
    /* The PIN did not change. */
    assert_ok(F->C_Login(ro, CKU_USER, H_PIN(H_USER_PIN)));
}

static void test_set_pin_so(void **state)
{
    h_fixture *fx = *state;
    CK_SESSION_HANDLE h;
    assert_ok(h_open_login(fx->slot, 1, CKU_SO, &h));
    assert_rv(F->C_SetPIN(h, H_PIN("00000000"), H_PIN("55555555")), CKR_PIN_INCORRECT);
    assert_rv(F->C_SetPIN(h, H_PIN(H_SO_PIN), H_PIN("55")), CKR_PIN_LEN_RANGE);
    assert_ok(F->C_SetPIN(h, H_PIN(H_SO_PIN), H_PIN("55555555")));
    assert_int_equal(h_state(h), CKS_RW_SO_FUNCTIONS);
    assert_ok(F->C_Logout(h));
    assert_rv(F->C_Login(h, CKU_SO, H_PIN(H_SO_PIN)), CKR_PIN_INCORRECT);
    assert_ok(F->C_Login(h, CKU_SO, H_PIN("55555555")));
    assert_ok(F->C_Logout(h));
    /* The user PIN was not touched. */
    assert_ok(F->C_Login(h, CKU_USER, H_PIN(H_USER_PIN)));
    assert_ok(F->C_CloseSession(h));
    /* C_InitToken now needs the new SO PIN. */
    CK_UTF8CHAR lab[32];
    h_pad(lab, 32, "again");
    assert_rv(F->C_InitToken(fx->slot, H_PIN(H_SO_PIN), lab), CKR_PIN_INCORRECT);
    assert_ok(F->C_InitToken(fx->slot, H_PIN("55555555"), lab));
}

static void test_user_lockout(void **state)
{
    h_fixture *fx = *state;
    CK_SESSION_HANDLE h;
    assert_ok(h_open(fx->slot, 1, &h));
    assert_int_equal(h_token_flags(fx->slot) & (UFL | SFL), 0);

    /* One failure: count low. */
    assert_rv(F->C_Login(h, CKU_USER, H_PIN("000000")), CKR_PIN_INCORRECT);
    assert_int_equal(h_token_flags(fx->slot) & (UFL | SFL), CKF_USER_PIN_COUNT_LOW);
    for (int i = 2; i <= 5; i++)
        assert_rv(F->C_Login(h, CKU_USER, H_PIN("000000")), CKR_PIN_INCORRECT);
    assert_int_equal(h_token_flags(fx->slot) & UFL, CKF_USER_PIN_COUNT_LOW);
    /* A successful login resets the counter and the flags. */
    assert_ok(F->C_Login(h, CKU_USER, H_PIN(H_USER_PIN)));
    assert_int_equal(h_token_flags(fx->slot) & UFL, 0);
    assert_ok(F->C_Logout(h));

    for (int i = 1; i <= 8; i++)
        assert_rv(F->C_Login(h, CKU_USER, H_PIN("000000")), CKR_PIN_INCORRECT);
    assert_int_equal(h_token_flags(fx->slot) & UFL, CKF_USER_PIN_COUNT_LOW);
    assert_rv(F->C_Login(h, CKU_USER, H_PIN("000000")), CKR_PIN_INCORRECT); /* 9th */
    CK_FLAGS fl = h_token_flags(fx->slot);
    assert_true(fl & CKF_USER_PIN_FINAL_TRY);
    assert_true(fl & CKF_USER_PIN_COUNT_LOW);
    assert_false(fl & CKF_USER_PIN_LOCKED);

    /* 10th failure locks (the call itself may report either code). */
    CK_RV rv = F->C_Login(h, CKU_USER, H_PIN("000000"));
    assert_true(rv == CKR_PIN_INCORRECT || rv == CKR_PIN_LOCKED);
    assert_true(h_token_flags(fx->slot) & CKF_USER_PIN_LOCKED);
    assert_false(h_token_flags(fx->slot) & CKF_USER_PIN_FINAL_TRY);
    assert_rv(F->C_Login(h, CKU_USER, H_PIN(H_USER_PIN)), CKR_PIN_LOCKED);
    assert_rv(F->C_Login(h, CKU_USER, H_PIN("000000")), CKR_PIN_LOCKED);
    assert_int_equal(h_state(h), CKS_RW_PUBLIC_SESSION);
    /* C_SetPIN with the right old PIN is refused as well. */
    assert_rv(F->C_SetPIN(h, H_PIN(H_USER_PIN), H_PIN("444444")), CKR_PIN_LOCKED);
    /* The SO is not affected. */
    assert_int_equal(h_token_flags(fx->slot) & SFL, 0);

    /* Lock survives C_Finalize/C_Initialize. */
    assert_ok(F->C_Finalize(NULL));
    assert_ok(F->C_Initialize(NULL));
    assert_true(h_token_flags(fx->slot) & CKF_USER_PIN_LOCKED);
    assert_ok(h_open(fx->slot, 1, &h));
    assert_rv(F->C_Login(h, CKU_USER, H_PIN(H_USER_PIN)), CKR_PIN_LOCKED);

    /* C_InitPIN by the SO unlocks. */
    assert_ok(F->C_Login(h, CKU_SO, H_PIN(H_SO_PIN)));
    assert_ok(F->C_InitPIN(h, H_PIN("777777")));
    assert_ok(F->C_Logout(h));
    assert_int_equal(h_token_flags(fx->slot) & UFL, 0);
    assert_rv(F->C_Login(h, CKU_USER, H_PIN(H_USER_PIN)), CKR_PIN_INCORRECT);
    assert_ok(F->C_Login(h, CKU_USER, H_PIN("777777")));
    assert_int_equal(h_token_flags(fx->slot) & UFL, 0);
}

/* Failed C_SetPIN old-PIN checks count as failures too. */
static void test_set_pin_failures_count(void **state)
{
    h_fixture *fx = *state;
    CK_SESSION_HANDLE h;
    assert_ok(h_open(fx->slot, 1, &h));
    assert_rv(F->C_SetPIN(h, H_PIN("000000"), H_PIN("222222")), CKR_PIN_INCORRECT);
    assert_true(h_token_flags(fx->slot) & CKF_USER_PIN_COUNT_LOW);
}

static void test_so_lockout(void **state)
{
    h_fixture *fx = *state;
    CK_SESSION_HANDLE h;
    assert_ok(h_open(fx->slot, 1, &h));
    assert_rv(F->C_Login(h, CKU_SO, H_PIN("00000000")), CKR_PIN_INCORRECT);
    assert_int_equal(h_token_flags(fx->slot) & (UFL | SFL), CKF_SO_PIN_COUNT_LOW);
    for (int i = 2; i <= 9; i++)
        assert_rv(F->C_Login(h, CKU_SO, H_PIN("00000000")), CKR_PIN_INCORRECT);
    assert_true(h_token_flags(fx->slot) & CKF_SO_PIN_FINAL_TRY);
    assert_false(h_token_flags(fx->slot) & CKF_SO_PIN_LOCKED);
    CK_RV rv = F->C_Login(h, CKU_SO, H_PIN("00000000"));
    assert_true(rv == CKR_PIN_INCORRECT || rv == CKR_PIN_LOCKED);
    assert_true(h_token_flags(fx->slot) & CKF_SO_PIN_LOCKED);
    assert_rv(F->C_Login(h, CKU_SO, H_PIN(H_SO_PIN)), CKR_PIN_LOCKED);
    assert_int_equal(h_token_flags(fx->slot) & UFL, 0);
    /* The user still works. */
    assert_ok(F->C_Login(h, CKU_USER, H_PIN(H_USER_PIN)));
    assert_ok(F->C_Logout(h));
    assert_ok(F->C_CloseSession(h));
    /* C_InitToken needs the SO PIN: locked. */
    CK_UTF8CHAR lab[32];
    h_pad(lab, 32, "x");
    assert_rv(F->C_InitToken(fx->slot, H_PIN(H_SO_PIN), lab), CKR_PIN_LOCKED);
}

static void test_configured_max_failures(void **state)
{
    h_fixture *fx = *state;
    assert_ok(F->C_Finalize(NULL));
    assert_int_equal(h_env_write_config(&fx->env, 3), 0);
    assert_ok(F->C_Initialize(NULL));
    CK_SESSION_HANDLE h;
    assert_ok(h_open(fx->slot, 1, &h));
    assert_rv(F->C_Login(h, CKU_USER, H_PIN("000000")), CKR_PIN_INCORRECT);
    assert_false(h_token_flags(fx->slot) & CKF_USER_PIN_FINAL_TRY);
    assert_rv(F->C_Login(h, CKU_USER, H_PIN("000000")), CKR_PIN_INCORRECT);
    assert_true(h_token_flags(fx->slot) & CKF_USER_PIN_FINAL_TRY);
    CK_RV rv = F->C_Login(h, CKU_USER, H_PIN("000000"));
    assert_true(rv == CKR_PIN_INCORRECT || rv == CKR_PIN_LOCKED);
    assert_rv(F->C_Login(h, CKU_USER, H_PIN(H_USER_PIN)), CKR_PIN_LOCKED);
}

static void test_pin_len_config(void **state)
{
    h_fixture *fx = *state;
    CK_SESSION_HANDLE h;
    assert_ok(h_open_login(fx->slot, 1, CKU_USER, &h));
    /* 4 is the minimum: accepted; 3 is not. */
    assert_ok(F->C_SetPIN(h, H_PIN(H_USER_PIN), H_PIN("4444")));
    assert_rv(F->C_SetPIN(h, H_PIN("4444"), H_PIN("333")), CKR_PIN_LEN_RANGE);
    assert_rv(F->C_SetPIN(h, H_PIN("4444"), (CK_UTF8CHAR_PTR) "", 0), CKR_PIN_LEN_RANGE);
    CK_TOKEN_INFO ti;
    assert_ok(F->C_GetTokenInfo(fx->slot, &ti));
    assert_int_equal(ti.ulMinPinLen, 4);
    assert_int_equal(ti.ulMaxPinLen, 255);
}

int main(void)
{
    h_load();
#define T(fn) cmocka_unit_test_setup_teardown(fn, h_fixture_setup, h_fixture_teardown)
    const struct CMUnitTest tests[] = {
        T(test_init_pin_states),
        T(test_set_pin_user),
        T(test_set_pin_rw_public),
        T(test_set_pin_read_only),
        T(test_set_pin_so),
        T(test_user_lockout),
        T(test_set_pin_failures_count),
        T(test_so_lockout),
        T(test_configured_max_failures),
        T(test_pin_len_config),
    };
    return cmocka_run_group_tests_name("pin", tests, NULL, NULL);
}
