/* General-purpose, slot and token functions (PKCS#11 3.0 base spec 5.4-5.5). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "harness.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static int no_nul(const CK_UTF8CHAR *p, size_t n)
{
    return memchr(p, '\0', n) == NULL;
}

static int padded_eq(const CK_UTF8CHAR *p, size_t n, const char *s)
{
    CK_UTF8CHAR want[256];
    h_pad(want, n, s);
    return memcmp(p, want, n) == 0;
}

/* ---- C_Initialize / C_Finalize argument rules (5.4.1, 5.4.2) ---------- */

static int mtx_created, mtx_destroyed;
static CK_RV t_create(CK_VOID_PTR_PTR pp)
{
    pthread_mutex_t *m = malloc(sizeof(*m));
    if (m == NULL)
        return CKR_HOST_MEMORY;
    pthread_mutex_init(m, NULL);
    *pp = m;
    __atomic_add_fetch(&mtx_created, 1, __ATOMIC_SEQ_CST);
    return CKR_OK;
}
static CK_RV t_destroy(CK_VOID_PTR p)
{
    pthread_mutex_destroy(p);
    free(p);
    __atomic_add_fetch(&mtx_destroyed, 1, __ATOMIC_SEQ_CST);
    return CKR_OK;
}
static CK_RV t_lock(CK_VOID_PTR p)
{
    return pthread_mutex_lock(p) == 0 ? CKR_OK : CKR_GENERAL_ERROR;
}
static CK_RV t_unlock(CK_VOID_PTR p)
{
    return pthread_mutex_unlock(p) == 0 ? CKR_OK : CKR_MUTEX_NOT_LOCKED;
}

static void test_not_initialized(void **state)
{
    (void)state;
    CK_INFO info;
    CK_ULONG n = 0;
    CK_SESSION_HANDLE h;
    assert_rv(F->C_GetInfo(&info), CKR_CRYPTOKI_NOT_INITIALIZED);
    assert_rv(F->C_GetSlotList(CK_FALSE, NULL, &n), CKR_CRYPTOKI_NOT_INITIALIZED);
    assert_rv(F->C_Finalize(NULL), CKR_CRYPTOKI_NOT_INITIALIZED);
    assert_rv(F->C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, &h),
              CKR_CRYPTOKI_NOT_INITIALIZED);
    assert_rv(F->C_CloseAllSessions(0), CKR_CRYPTOKI_NOT_INITIALIZED);
    CK_SESSION_INFO si;
    assert_rv(F->C_GetSessionInfo(1, &si), CKR_CRYPTOKI_NOT_INITIALIZED);
}

static void test_initialize_args(void **state)
{
    (void)state;
    CK_C_INITIALIZE_ARGS a;
    int dummy = 0;

    memset(&a, 0, sizeof(a));
    a.pReserved = &dummy;
    assert_rv(F->C_Initialize(&a), CKR_ARGUMENTS_BAD);

    /* Some but not all mutex functions. */
    memset(&a, 0, sizeof(a));
    a.CreateMutex = t_create;
    assert_rv(F->C_Initialize(&a), CKR_ARGUMENTS_BAD);
    a.DestroyMutex = t_destroy;
    a.LockMutex = t_lock;
    assert_rv(F->C_Initialize(&a), CKR_ARGUMENTS_BAD);
    a.flags = CKF_OS_LOCKING_OK;
    assert_rv(F->C_Initialize(&a), CKR_ARGUMENTS_BAD);

    /* Still not initialised after the failures. */
    CK_INFO info;
    assert_rv(F->C_GetInfo(&info), CKR_CRYPTOKI_NOT_INITIALIZED);

    /* OS locking, no callbacks. */
    memset(&a, 0, sizeof(a));
    a.flags = CKF_OS_LOCKING_OK;
    assert_ok(F->C_Initialize(&a));
    assert_rv(F->C_Initialize(&a), CKR_CRYPTOKI_ALREADY_INITIALIZED);
    assert_rv(F->C_Initialize(NULL), CKR_CRYPTOKI_ALREADY_INITIALIZED);
    assert_rv(F->C_Finalize(&dummy), CKR_ARGUMENTS_BAD);
    assert_ok(F->C_GetInfo(&info)); /* still initialised */
    assert_ok(F->C_Finalize(NULL));
    assert_rv(F->C_Finalize(NULL), CKR_CRYPTOKI_NOT_INITIALIZED);
    assert_rv(F->C_GetInfo(&info), CKR_CRYPTOKI_NOT_INITIALIZED);

    /* No flags, no callbacks: single-threaded application. */
    memset(&a, 0, sizeof(a));
    assert_ok(F->C_Initialize(&a));
    assert_ok(F->C_Finalize(NULL));

    /* NULL args. */
    assert_ok(F->C_Initialize(NULL));
    assert_ok(F->C_Finalize(NULL));
}

static void test_initialize_mutex_callbacks(void **state)
{
    (void)state;
    CK_C_INITIALIZE_ARGS a;
    memset(&a, 0, sizeof(a));
    a.CreateMutex = t_create;
    a.DestroyMutex = t_destroy;
    a.LockMutex = t_lock;
    a.UnlockMutex = t_unlock;
    mtx_created = mtx_destroyed = 0;
    assert_ok(F->C_Initialize(&a));
    CK_SLOT_ID slot;
    CK_SESSION_HANDLE h;
    assert_ok(h_init_token(H_LABEL, &slot));
    assert_ok(h_open(slot, 1, &h));
    assert_ok(F->C_CloseSession(h));
    /* Without CKF_OS_LOCKING_OK the library must use the supplied callbacks. */
    assert_true(mtx_created > 0);
    assert_ok(F->C_Finalize(NULL));
    assert_int_equal(mtx_created, mtx_destroyed);

    /* Both: callbacks and OS locking allowed. */
    a.flags = CKF_OS_LOCKING_OK;
    assert_ok(F->C_Initialize(&a));
    assert_ok(F->C_Finalize(NULL));
}

/* ---- C_GetInfo, C_GetFunctionList, interfaces (5.4.3-5.4.6) ----------- */

static void test_get_info(void **state)
{
    (void)state;
    CK_INFO info;
    memset(&info, 0, sizeof(info));
    assert_ok(F->C_Initialize(NULL));
    assert_rv(F->C_GetInfo(NULL), CKR_ARGUMENTS_BAD);
    assert_ok(F->C_GetInfo(&info));
    assert_int_equal(info.cryptokiVersion.major, 3);
    assert_int_equal(info.cryptokiVersion.minor, 0);
    assert_true(no_nul(info.manufacturerID, sizeof(info.manufacturerID)));
    assert_true(no_nul(info.libraryDescription, sizeof(info.libraryDescription)));
    assert_true(info.manufacturerID[0] != ' ');
    assert_int_equal(info.flags, 0);
    /* The 2.40 table reports the same library. */
    CK_INFO info2;
    assert_ok(F2->C_GetInfo(&info2));
    assert_memory_equal(info.manufacturerID, info2.manufacturerID,
                        sizeof(info.manufacturerID));
    assert_ok(F->C_Finalize(NULL));
}

static void test_get_function_list(void **state)
{
    (void)state;
    CK_FUNCTION_LIST_PTR fl = NULL;
    assert_rv(h_GetFunctionList(NULL), CKR_ARGUMENTS_BAD);
    assert_ok(h_GetFunctionList(&fl)); /* allowed before C_Initialize */
    assert_non_null(fl);
    assert_non_null(fl->C_Initialize);
    assert_non_null(fl->C_FindObjects);
    assert_non_null(fl->C_WaitForSlotEvent);
    assert_true(fl->version.major == 2 || fl->version.major == 3);
    assert_ok(fl->C_Initialize(NULL));
    assert_rv(F->C_Initialize(NULL), CKR_CRYPTOKI_ALREADY_INITIALIZED);
    assert_ok(fl->C_Finalize(NULL));
}

static int is_pkcs11(CK_INTERFACE_PTR i)
{
    return i->pInterfaceName != NULL &&
           strcmp((const char *)i->pInterfaceName, "PKCS 11") == 0;
}

static void test_interface_list(void **state)
{
    (void)state;
    CK_ULONG n = 0;
    assert_rv(h_GetInterfaceList(NULL, NULL), CKR_ARGUMENTS_BAD);
    assert_ok(h_GetInterfaceList(NULL, &n));
    assert_true(n >= 2);
    CK_INTERFACE *list = calloc(n + 1, sizeof(*list));
    assert_non_null(list);
    CK_ULONG small = n - 1;
    assert_rv(h_GetInterfaceList(list, &small), CKR_BUFFER_TOO_SMALL);
    assert_int_equal(small, n);
    CK_ULONG got = n;
    assert_ok(h_GetInterfaceList(list, &got));
    assert_int_equal(got, n);
    int have30 = 0, have240 = 0;
    for (CK_ULONG i = 0; i < got; i++) {
        if (!is_pkcs11(&list[i]))
            continue;
        CK_VERSION *v = (CK_VERSION *)list[i].pFunctionList;
        assert_non_null(v);
        if (v->major == 3 && v->minor == 0)
            have30++;
        if (v->major == 2 && v->minor == 40)
            have240++;
    }
    assert_int_equal(have30, 1);
    assert_int_equal(have240, 1);
    free(list);
}

static void test_get_interface(void **state)
{
    (void)state;
    CK_INTERFACE_PTR i = NULL;
    assert_rv(h_GetInterface(NULL, NULL, NULL, 0), CKR_ARGUMENTS_BAD);

    assert_ok(h_GetInterface(NULL, NULL, &i, 0));
    assert_non_null(i);
    assert_true(is_pkcs11(i));
    CK_FUNCTION_LIST_3_0_PTR f3 = i->pFunctionList;
    assert_int_equal(f3->version.major, 3);
    assert_int_equal(f3->version.minor, 0);
    assert_non_null(f3->C_LoginUser);
    assert_non_null(f3->C_SessionCancel);
    assert_non_null(f3->C_MessageEncryptInit);

    CK_VERSION v240 = {2, 40};
    i = NULL;
    assert_ok(h_GetInterface((CK_UTF8CHAR_PTR) "PKCS 11", &v240, &i, 0));
    assert_non_null(i);
    CK_FUNCTION_LIST_PTR f2 = i->pFunctionList;
    assert_int_equal(f2->version.major, 2);
    assert_int_equal(f2->version.minor, 40);
    assert_non_null(f2->C_GetInfo);

    CK_VERSION v30 = {3, 0};
    i = NULL;
    assert_ok(h_GetInterface((CK_UTF8CHAR_PTR) "PKCS 11", &v30, &i, 0));
    assert_int_equal(((CK_VERSION *)i->pFunctionList)->major, 3);

    i = NULL;
    assert_ok(h_GetInterface((CK_UTF8CHAR_PTR) "PKCS 11", NULL, &i, 0));
    assert_non_null(i);

    CK_VERSION v99 = {9, 9};
    i = NULL;
    assert_true(h_GetInterface((CK_UTF8CHAR_PTR) "PKCS 11", &v99, &i, 0) != CKR_OK);
    assert_true(h_GetInterface((CK_UTF8CHAR_PTR) "No Such Interface", NULL, &i, 0) !=
                CKR_OK);
}

/* ---- Slots and tokens (5.5) -------------------------------------------- */

static void test_slot_list_fresh(void **state)
{
    (void)state;
    CK_ULONG n = 99;
    CK_SLOT_ID slots[8];
    assert_rv(F->C_GetSlotList(CK_FALSE, NULL, NULL), CKR_ARGUMENTS_BAD);
    assert_ok(F->C_GetSlotList(CK_FALSE, NULL, &n));
    assert_int_equal(n, 1);
    n = 0;
    assert_rv(F->C_GetSlotList(CK_FALSE, slots, &n), CKR_BUFFER_TOO_SMALL);
    assert_int_equal(n, 1);
    n = 8;
    assert_ok(F->C_GetSlotList(CK_FALSE, slots, &n));
    assert_int_equal(n, 1);
    CK_SLOT_ID free_slot = slots[0];
    /* The free slot has a (blank) token present. */
    n = 8;
    assert_ok(F->C_GetSlotList(CK_TRUE, slots, &n));
    assert_int_equal(n, 1);
    assert_int_equal(slots[0], free_slot);

    CK_SLOT_INFO si;
    assert_rv(F->C_GetSlotInfo(free_slot, NULL), CKR_ARGUMENTS_BAD);
    assert_ok(F->C_GetSlotInfo(free_slot, &si));
    assert_true(si.flags & CKF_TOKEN_PRESENT);
    assert_true(no_nul(si.slotDescription, sizeof(si.slotDescription)));
    assert_true(no_nul(si.manufacturerID, sizeof(si.manufacturerID)));

    CK_TOKEN_INFO ti;
    assert_rv(F->C_GetTokenInfo(free_slot, NULL), CKR_ARGUMENTS_BAD);
    assert_ok(F->C_GetTokenInfo(free_slot, &ti));
    assert_false(ti.flags & CKF_TOKEN_INITIALIZED);
    assert_false(ti.flags & CKF_USER_PIN_INITIALIZED);
    assert_true(no_nul(ti.label, sizeof(ti.label)));
    assert_true(no_nul(ti.manufacturerID, sizeof(ti.manufacturerID)));
    assert_true(no_nul(ti.model, sizeof(ti.model)));
    assert_true(no_nul(ti.serialNumber, sizeof(ti.serialNumber)));

    /* A session on an uninitialised token. */
    CK_SESSION_HANDLE h;
    assert_rv(h_open(free_slot, 1, &h), CKR_TOKEN_NOT_RECOGNIZED);
    assert_rv(h_open(free_slot, 0, &h), CKR_TOKEN_NOT_RECOGNIZED);
}

static void test_invalid_slot(void **state)
{
    (void)state;
    CK_SLOT_ID bad = 0x7fff1234;
    CK_SLOT_INFO si;
    CK_TOKEN_INFO ti;
    CK_SESSION_HANDLE h;
    CK_UTF8CHAR lab[32];
    h_pad(lab, 32, "x");
    assert_rv(F->C_GetSlotInfo(bad, &si), CKR_SLOT_ID_INVALID);
    assert_rv(F->C_GetTokenInfo(bad, &ti), CKR_SLOT_ID_INVALID);
    assert_rv(h_open(bad, 1, &h), CKR_SLOT_ID_INVALID);
    assert_rv(F->C_InitToken(bad, H_PIN(H_SO_PIN), lab), CKR_SLOT_ID_INVALID);
    assert_rv(F->C_CloseAllSessions(bad), CKR_SLOT_ID_INVALID);
}

static void test_wait_for_slot_event(void **state)
{
    (void)state;
    CK_SLOT_ID s;
    assert_rv(F->C_WaitForSlotEvent(CKF_DONT_BLOCK, &s, NULL), CKR_NO_EVENT);
    assert_rv(F->C_WaitForSlotEvent(0, &s, NULL), CKR_FUNCTION_NOT_SUPPORTED);
    assert_rv(F->C_WaitForSlotEvent(CKF_DONT_BLOCK, NULL, NULL), CKR_ARGUMENTS_BAD);
}

static void test_init_token_new_slot(void **state)
{
    (void)state;
    CK_SLOT_ID free0, slot, *slots = NULL;
    CK_ULONG n;
    assert_ok(h_free_slot(&free0));

    CK_UTF8CHAR lab[32];
    h_pad(lab, 32, "Tëst token ✓"); /* UTF-8 label */
    assert_rv(F->C_InitToken(free0, H_PIN(H_SO_PIN), NULL), CKR_ARGUMENTS_BAD);
    assert_ok(F->C_InitToken(free0, H_PIN(H_SO_PIN), lab));
    slot = free0;

    assert_ok(h_slots(&slots, &n));
    assert_int_equal(n, 2);
    assert_int_equal(slots[0], slot); /* initialised first, same ID */
    CK_SLOT_ID free1 = slots[1];
    assert_true(free1 != slot);
    free(slots);

    CK_TOKEN_INFO ti;
    assert_ok(F->C_GetTokenInfo(slot, &ti));
    assert_true(ti.flags & CKF_TOKEN_INITIALIZED);
    assert_false(ti.flags & CKF_USER_PIN_INITIALIZED);
    assert_false(ti.flags & CKF_WRITE_PROTECTED);
    assert_memory_equal(ti.label, lab, 32);
    assert_int_equal(ti.ulMinPinLen, 4);
    assert_int_equal(ti.ulMaxPinLen, 255);
    assert_true(no_nul(ti.serialNumber, sizeof(ti.serialNumber)));
    assert_true(ti.serialNumber[0] != ' ');
    assert_true(no_nul(ti.manufacturerID, sizeof(ti.manufacturerID)));
    assert_true(no_nul(ti.model, sizeof(ti.model)));
    CK_UTF8CHAR serial1[16];
    memcpy(serial1, ti.serialNumber, 16);

    assert_ok(F->C_GetTokenInfo(free1, &ti));
    assert_false(ti.flags & CKF_TOKEN_INITIALIZED);

    /* User PIN initialised flag after C_InitPIN. */
    assert_ok(h_init_user_pin(slot));
    assert_true(h_token_flags(slot) & CKF_USER_PIN_INITIALIZED);

    /* Second token: its own slot and serial, the first keeps its ID. */
    CK_SLOT_ID slot2;
    assert_ok(h_init_token("second", &slot2));
    assert_int_equal(slot2, free1);
    assert_ok(h_slots(&slots, &n));
    assert_int_equal(n, 3);
    assert_true((slots[0] == slot && slots[1] == slot2) ||
                (slots[0] == slot2 && slots[1] == slot));
    assert_true(slots[2] != slot && slots[2] != slot2);
    free(slots);
    assert_ok(F->C_GetTokenInfo(slot2, &ti));
    assert_true(padded_eq(ti.label, 32, "second"));
    assert_memory_not_equal(ti.serialNumber, serial1, 16);

    /* Same IDs, labels and flags after C_Finalize + C_Initialize. */
    assert_ok(F->C_Finalize(NULL));
    assert_ok(F->C_Initialize(NULL));
    assert_ok(h_slots(&slots, &n));
    assert_int_equal(n, 3);
    free(slots);
    assert_ok(F->C_GetTokenInfo(slot, &ti));
    assert_memory_equal(ti.label, lab, 32);
    assert_memory_equal(ti.serialNumber, serial1, 16);
    assert_true(ti.flags & CKF_USER_PIN_INITIALIZED);
    assert_ok(F->C_GetTokenInfo(slot2, &ti));
    assert_true(padded_eq(ti.label, 32, "second"));
    assert_false(ti.flags & CKF_USER_PIN_INITIALIZED);
}

static void test_token_session_counts(void **state)
{
    h_fixture *fx = *state;
    CK_SESSION_HANDLE a, b, c;
    CK_TOKEN_INFO ti;
    assert_ok(h_open(fx->slot, 0, &a));
    assert_ok(h_open(fx->slot, 1, &b));
    assert_ok(h_open(fx->slot, 1, &c));
    assert_ok(F->C_GetTokenInfo(fx->slot, &ti));
    assert_int_equal(ti.ulSessionCount, 3);
    assert_int_equal(ti.ulRwSessionCount, 2);
    assert_ok(F->C_CloseSession(b));
    assert_ok(F->C_GetTokenInfo(fx->slot, &ti));
    assert_int_equal(ti.ulSessionCount, 2);
    assert_int_equal(ti.ulRwSessionCount, 1);
    assert_ok(F->C_CloseAllSessions(fx->slot));
    assert_ok(F->C_GetTokenInfo(fx->slot, &ti));
    assert_int_equal(ti.ulSessionCount, 0);
    assert_int_equal(ti.ulRwSessionCount, 0);
    (void)a;
    (void)c;
}

static void test_reinit_token(void **state)
{
    h_fixture *fx = *state;
    CK_SESSION_HANDLE h;
    CK_OBJECT_HANDLE o;
    CK_SLOT_ID *slots = NULL;
    CK_ULONG n0, n;
    assert_ok(h_slots(&slots, &n0));
    free(slots);

    assert_ok(h_open_login(fx->slot, 1, CKU_USER, &h));
    assert_ok(h_create_data(h, CK_TRUE, CK_FALSE, "keepme", "abc", 3, &o));
    assert_ok(h_create_data(h, CK_TRUE, CK_TRUE, "keepme", "def", 3, &o));

    CK_UTF8CHAR lab[32];
    h_pad(lab, 32, "reinit");
    /* Any open session blocks C_InitToken. */
    assert_rv(F->C_InitToken(fx->slot, H_PIN(H_SO_PIN), lab), CKR_SESSION_EXISTS);
    assert_ok(F->C_CloseSession(h));

    assert_rv(F->C_InitToken(fx->slot, H_PIN("99999999"), lab), CKR_PIN_INCORRECT);
    /* Nothing was destroyed by the failed attempt. */
    assert_ok(h_open_login(fx->slot, 0, CKU_USER, &h));
    assert_int_equal(h_count_label(h, "keepme"), 2);
    assert_ok(F->C_CloseSession(h));

    assert_ok(F->C_InitToken(fx->slot, H_PIN(H_SO_PIN), lab));
    assert_ok(h_slots(&slots, &n));
    assert_int_equal(n, n0); /* no new slot: the token was re-initialised */
    assert_int_equal(slots[0], fx->slot);
    free(slots);

    CK_TOKEN_INFO ti;
    assert_ok(F->C_GetTokenInfo(fx->slot, &ti));
    assert_memory_equal(ti.label, lab, 32);
    assert_true(ti.flags & CKF_TOKEN_INITIALIZED);
    /* Spec 5.6 C_InitToken: access by the normal user is disabled until the
     * SO sets the normal user's PIN. */
    assert_false(ti.flags & CKF_USER_PIN_INITIALIZED);
    assert_ok(h_open(fx->slot, 0, &h));
    assert_rv(F->C_Login(h, CKU_USER, H_PIN(H_USER_PIN)), CKR_USER_PIN_NOT_INITIALIZED);
    assert_int_equal(h_count_label(h, "keepme"), 0);
    assert_ok(F->C_CloseSession(h));

    assert_ok(h_init_user_pin(fx->slot));
    assert_ok(h_open_login(fx->slot, 0, CKU_USER, &h));
    assert_int_equal(h_count_label(h, "keepme"), 0);
    CK_ULONG all = 99;
    assert_ok(h_find(h, NULL, 0, NULL, 0, &all));
    assert_int_equal(all, 0);
}

static void test_init_token_pin_len(void **state)
{
    (void)state;
    CK_SLOT_ID s;
    CK_UTF8CHAR lab[32];
    char longpin[300];
    memset(longpin, '7', sizeof(longpin));
    h_pad(lab, 32, "pinlen");
    assert_ok(h_free_slot(&s));
    assert_rv(F->C_InitToken(s, (CK_UTF8CHAR_PTR) "123", 3, lab), CKR_PIN_LEN_RANGE);
    assert_rv(F->C_InitToken(s, (CK_UTF8CHAR_PTR)longpin, 256, lab), CKR_PIN_LEN_RANGE);
    assert_false(h_token_flags(s) & CKF_TOKEN_INITIALIZED);
    /* Boundaries are accepted: 255 bytes is max_length. */
    assert_ok(F->C_InitToken(s, (CK_UTF8CHAR_PTR)longpin, 255, lab));
    CK_SESSION_HANDLE h;
    assert_ok(h_open(s, 1, &h));
    assert_ok(F->C_Login(h, CKU_SO, (CK_UTF8CHAR_PTR)longpin, 255));
    assert_ok(F->C_CloseSession(h));
}

int main(void)
{
    h_load();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_not_initialized, h_fixture_setup_bare,
                                        h_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_initialize_args, h_fixture_setup_bare,
                                        h_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_initialize_mutex_callbacks,
                                        h_fixture_setup_bare, h_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_get_info, h_fixture_setup_bare,
                                        h_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_get_function_list, h_fixture_setup_bare,
                                        h_fixture_teardown),
        cmocka_unit_test(test_interface_list),
        cmocka_unit_test(test_get_interface),
        cmocka_unit_test_setup_teardown(test_slot_list_fresh, h_fixture_setup_init,
                                        h_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_invalid_slot, h_fixture_setup_init,
                                        h_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_wait_for_slot_event, h_fixture_setup_init,
                                        h_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_init_token_new_slot, h_fixture_setup_init,
                                        h_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_token_session_counts, h_fixture_setup,
                                        h_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_reinit_token, h_fixture_setup,
                                        h_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_init_token_pin_len, h_fixture_setup_init,
                                        h_fixture_teardown),
    };
    return cmocka_run_group_tests_name("general", tests, NULL, NULL);
}
