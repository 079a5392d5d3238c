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

/* Sign on session s single-part, or in three C_SignUpdate pieces when multi. */
static inline CK_RV iu_sign_on(CK_SESSION_HANDLE s, CK_MECHANISM *m, CK_OBJECT_HANDLE k,
                               const uint8_t *d, size_t dl, int multi, uint8_t *sig,
                               CK_ULONG *sl)
{
    CK_RV rv = F->C_SignInit(s, m, k);
    if (rv != CKR_OK || !multi)
        return rv != CKR_OK ? rv : F->C_Sign(s, (CK_BYTE_PTR)d, dl, sig, sl);
    size_t a = dl / 3, b = dl / 3 * 2;
    if ((rv = F->C_SignUpdate(s, (CK_BYTE_PTR)d, a)) == CKR_OK &&
        (rv = F->C_SignUpdate(s, (CK_BYTE_PTR)d + a, b - a)) == CKR_OK &&
        (rv = F->C_SignUpdate(s, (CK_BYTE_PTR)d + b, dl - b)) == CKR_OK)
        return F->C_SignFinal(s, sig, sl);
    return rv;
}

/* The same on the shared session S. */
static inline CK_RV tok_sign(CK_MECHANISM *m, CK_OBJECT_HANDLE k, const uint8_t *d, size_t dl,
                             int multi, uint8_t *sig, CK_ULONG *sl)
{
    return iu_sign_on(S, m, k, d, dl, multi, sig, sl);
}

/* Encrypt/decrypt on session s: single-part when chunk is 0 (after a length query with a
 * NULL buffer when query is set), else C_*Update in chunk-byte pieces and C_*Final. *ol is
 * the room in out on entry, the length written on return. */
static inline CK_RV iu_cipher_on(CK_SESSION_HANDLE s, int enc, CK_MECHANISM *m,
                                 CK_OBJECT_HANDLE k, const uint8_t *in, size_t il, size_t chunk,
                                 int query, uint8_t *out, size_t *ol)
{
    CK_RV rv = enc ? F->C_EncryptInit(s, m, k) : F->C_DecryptInit(s, m, k);
    size_t cap = *ol, done = 0;
    CK_ULONG l = cap;
    if (rv != CKR_OK)
        return rv;
    if (!chunk) {
        if (query) {
            CK_ULONG need = 0;
            rv = enc ? F->C_Encrypt(s, (CK_BYTE_PTR)in, il, NULL, &need)
                     : F->C_Decrypt(s, (CK_BYTE_PTR)in, il, NULL, &need);
            if (rv != CKR_OK)
                return rv;
            if (need > cap)
                return CKR_GENERAL_ERROR;
        }
        rv = enc ? F->C_Encrypt(s, (CK_BYTE_PTR)in, il, out, &l)
                 : F->C_Decrypt(s, (CK_BYTE_PTR)in, il, out, &l);
        *ol = l;
        return rv;
    }
    for (size_t off = 0; off < il; off += chunk) {
        size_t n = il - off < chunk ? il - off : chunk;
        l = cap - done;
        rv = enc ? F->C_EncryptUpdate(s, (CK_BYTE_PTR)in + off, n, out + done, &l)
                 : F->C_DecryptUpdate(s, (CK_BYTE_PTR)in + off, n, out + done, &l);
        if (rv != CKR_OK)
            return rv;
        done += l;
    }
    l = cap - done;
    rv = enc ? F->C_EncryptFinal(s, out + done, &l) : F->C_DecryptFinal(s, out + done, &l);
    *ol = done + l;
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
