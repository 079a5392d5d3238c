/* Shared prologue of the interop tests (test_interop_*.c): the token session they run in, the
 * soft-check macros (a failing case is reported with its mechanism, the other cases still run,
 * and the test fails at the end on g_fail), and the token helpers they all use. Header-only:
 * each test is its own executable, so the statics are per test. */
#ifndef CRATON_INTEROP_UTIL_H
#define CRATON_INTEROP_UTIL_H

#include "harness.h"

#include <openssl/err.h>
#include <string.h>

static h_env env;
static CK_SLOT_ID slot;
static CK_SESSION_HANDLE S;
static int g_fail;
static const char *g_what = "";

#define NOTE_FAIL(...)                                                                             \
    do {                                                                                           \
        print_error("FAIL %s:%d [%s] ", __FILE__, __LINE__, g_what);                               \
        print_error(__VA_ARGS__);                                                                  \
        print_error("\n");                                                                         \
        g_fail++;                                                                                  \
    } while (0)
/* Soft checks: report the failing case and leave it (the other cases still run). */
#define EXPECT(cond, ...)                                                                          \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            NOTE_FAIL(__VA_ARGS__);                                                                \
            ERR_clear_error();                                                                     \
            goto out;                                                                              \
        }                                                                                          \
    } while (0)
#define EXPECT_RV(expr, exp)                                                                       \
    do {                                                                                           \
        CK_RV r__ = (expr);                                                                        \
        if (r__ != (CK_RV)(exp)) {                                                                 \
            NOTE_FAIL("%s = %s, expected %s", #expr, h_rv(r__), h_rv(exp));                        \
            goto out;                                                                              \
        }                                                                                          \
    } while (0)

static CK_BBOOL yes = CK_TRUE, no = CK_FALSE;

/* ---- fixture ------------------------------------------------------------------------------ */

/* A fresh token environment, initialised, with a logged-in user R/W session in S. */
static inline int iu_open(void)
{
    if (h_env_create(&env, 10) != 0 || h_setup_token(&slot) != CKR_OK ||
        h_open_login(slot, 1, CKU_USER, &S) != CKR_OK)
        return -1;
    return 0;
}

static inline void iu_close(void)
{
    (void)F->C_Finalize(NULL);
    h_env_destroy(&env);
}

/* cmocka group fixtures for tests that need nothing beyond the session. */
static inline int iu_grp_setup(void **state)
{
    (void)state;
    return iu_open();
}

static inline int iu_grp_teardown(void **state)
{
    (void)state;
    iu_close();
    return 0;
}

/* ---- token helpers ------------------------------------------------------------------------ */

static inline CK_ULONG get_attr(CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE t, void *buf, CK_ULONG cap)
{
    CK_ATTRIBUTE a = {t, buf, cap};
    if (F->C_GetAttributeValue(S, o, &a, 1) != CKR_OK)
        return 0;
    return a.ulValueLen;
}

/* Sign single-part, or in three C_SignUpdate pieces when multi. */
static inline CK_RV tok_sign(CK_MECHANISM *m, CK_OBJECT_HANDLE k, const uint8_t *d, size_t dl,
                             int multi, uint8_t *sig, CK_ULONG *sl)
{
    CK_RV rv = F->C_SignInit(S, m, k);
    if (rv != CKR_OK || !multi)
        return rv != CKR_OK ? rv : F->C_Sign(S, (CK_BYTE_PTR)d, dl, sig, sl);
    size_t a = dl / 3, b = dl / 3 * 2;
    if ((rv = F->C_SignUpdate(S, (CK_BYTE_PTR)d, a)) == CKR_OK &&
        (rv = F->C_SignUpdate(S, (CK_BYTE_PTR)d + a, b - a)) == CKR_OK &&
        (rv = F->C_SignUpdate(S, (CK_BYTE_PTR)d + b, dl - b)) == CKR_OK)
        return F->C_SignFinal(S, sig, sl);
    return rv;
}

/* Verify single-part, or in two C_VerifyUpdate pieces when multi. */
static inline CK_RV tok_verify(CK_MECHANISM *m, CK_OBJECT_HANDLE k, const uint8_t *d, size_t dl,
                               int multi, const uint8_t *sig, size_t sl)
{
    CK_RV rv = F->C_VerifyInit(S, m, k);
    if (rv != CKR_OK || !multi)
        return rv != CKR_OK ? rv : F->C_Verify(S, (CK_BYTE_PTR)d, dl, (CK_BYTE_PTR)sig, sl);
    size_t a = dl / 2;
    if ((rv = F->C_VerifyUpdate(S, (CK_BYTE_PTR)d, a)) == CKR_OK &&
        (rv = F->C_VerifyUpdate(S, (CK_BYTE_PTR)d + a, dl - a)) == CKR_OK)
        return F->C_VerifyFinal(S, (CK_BYTE_PTR)sig, sl);
    return rv;
}

#endif
