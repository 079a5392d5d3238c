/* Shared prologue of the context-reuse tests (test_ctx_reuse.c, test_ctx_reuse_aead.c), on top
 * of interop_util.h: the case label for failure reports, the plain libcrypto EVP references
 * (HMAC, AEAD) the outputs are compared with, and the token helpers that take any session.
 * Header-only: each test is its own executable, so the statics are per test. */
#ifndef CRATON_CTX_REUSE_UTIL_H
#define CRATON_CTX_REUSE_UTIL_H

#include "interop_util.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <string.h>

static char g_whatbuf[160];
#define WHAT(...) (snprintf(g_whatbuf, sizeof g_whatbuf, __VA_ARGS__), g_what = g_whatbuf)

/* ---- EVP ------------------------------------------------------------------------------------- */

static inline int evp_hmac(const char *md, const uint8_t *k, size_t kl, const uint8_t *m,
                           size_t ml, uint8_t *out, size_t *ol)
{
    int ok = EVP_Q_mac(NULL, "HMAC", NULL, md, NULL, k, kl, m, ml, out, 64, ol) != NULL;
    ERR_clear_error();
    return ok;
}

/* AEAD (GCM, ChaCha20-Poly1305): encrypt gives ct || tag; decrypt takes ct || tag and fails on a
 * bad tag. */
static inline int evp_aead(const char *name, int enc, const uint8_t *key, const uint8_t *iv,
                           size_t ivl, const uint8_t *aad, size_t aadl, size_t tagl,
                           const uint8_t *in, size_t il, uint8_t *out, size_t *ol)
{
    EVP_CIPHER *c = EVP_CIPHER_fetch(NULL, name, NULL);
    EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
    int ok = c && x, l = 0, l2 = 0;
    size_t dl = il;
    if (!enc) {
        if (il < tagl)
            ok = 0;
        else
            dl = il - tagl;
    }
    ok = ok && EVP_CipherInit_ex2(x, c, NULL, NULL, enc, NULL) == 1;
    ok = ok && EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_SET_IVLEN, (int)ivl, NULL) == 1;
    if (ok && !enc)
        ok = EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_SET_TAG, (int)tagl, (void *)(in + dl)) == 1;
    ok = ok && EVP_CipherInit_ex2(x, NULL, key, iv, enc, NULL) == 1;
    if (ok && aadl)
        ok = EVP_CipherUpdate(x, NULL, &l, aad, (int)aadl) == 1;
    l = 0;
    if (ok && dl)
        ok = EVP_CipherUpdate(x, out, &l, in, (int)dl) == 1;
    ok = ok && EVP_CipherFinal_ex(x, out + l, &l2) == 1;
    *ol = (size_t)(l + l2);
    if (ok && enc) {
        ok = EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_GET_TAG, (int)tagl, out + *ol) == 1;
        *ol += tagl;
    }
    EVP_CIPHER_CTX_free(x);
    EVP_CIPHER_free(c);
    ERR_clear_error();
    return ok;
}

/* ---- token helpers (any session) ---------------------------------------------------------- */

/* A session secret key with a known value: MAC usages for HMAC keys, cipher usages otherwise. */
static inline CK_RV import_key(CK_SESSION_HANDLE s, CK_KEY_TYPE kt, const uint8_t *v,
                               size_t vl, CK_BBOOL token, const char *label,
                               CK_OBJECT_HANDLE *k)
{
    CK_OBJECT_CLASS c = CKO_SECRET_KEY;
    int mac = kt == CKK_GENERIC_SECRET || kt == CKK_SHA256_HMAC;
    CK_ATTRIBUTE t[11] = {{CKA_CLASS, &c, sizeof c},
                          {CKA_KEY_TYPE, &kt, sizeof kt},
                          {CKA_VALUE, (void *)v, vl},
                          {CKA_TOKEN, &token, 1},
                          {CKA_SENSITIVE, &no, 1},
                          {CKA_EXTRACTABLE, &yes, 1}};
    CK_ULONG n = 6;
    if (mac) {
        t[n++] = (CK_ATTRIBUTE){CKA_SIGN, &yes, 1};
        t[n++] = (CK_ATTRIBUTE){CKA_VERIFY, &yes, 1};
    } else {
        t[n++] = (CK_ATTRIBUTE){CKA_ENCRYPT, &yes, 1};
        t[n++] = (CK_ATTRIBUTE){CKA_DECRYPT, &yes, 1};
        t[n++] = (CK_ATTRIBUTE){CKA_WRAP, &yes, 1};
    }
    if (label)
        t[n++] = (CK_ATTRIBUTE){CKA_LABEL, (void *)label, strlen(label)};
    return F->C_CreateObject(s, t, n, k);
}

/* MAC on session s: single-part, or in three C_SignUpdate pieces when multi. general is the
 * CK_MAC_GENERAL_PARAMS for a _GENERAL mechanism, 0 otherwise. */
static inline CK_RV t_mac(CK_SESSION_HANDLE s, CK_MECHANISM_TYPE mt, CK_ULONG general,
                          CK_OBJECT_HANDLE k, const uint8_t *d, size_t dl, int multi,
                          uint8_t *sig, CK_ULONG *sl)
{
    CK_MECHANISM m = {mt, general ? &general : NULL, general ? sizeof general : 0};
    return iu_sign_on(s, &m, k, d, dl, multi, sig, sl);
}

/* Encrypt/decrypt on session s: single-part (with a length query first) when chunk is 0, else
 * C_*Update in chunk-byte pieces and C_*Final. */
static inline CK_RV t_crypt(CK_SESSION_HANDLE s, int enc, CK_MECHANISM *m,
                            CK_OBJECT_HANDLE k, const uint8_t *in, size_t il, size_t chunk,
                            uint8_t *out, size_t *ol)
{
    return iu_cipher_on(s, enc, m, k, in, il, chunk, 1, out, ol);
}

#endif
