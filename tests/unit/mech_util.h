/* Shared helpers of the mechanism unit tests (test_mech_*.c): the group fixture that brings the
 * mechanism layer up and down, hex decoding, key attribute sets, and single-part operations
 * through a family's function table. Header-only (static inline): each test is built alone. */
#ifndef CRATON_MECH_UTIL_H
#define CRATON_MECH_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "base/mem.h"
#include "base/ossl.h"
#include "mech/mech.h"

/* ---- fixture ------------------------------------------------------------------------------ */

/* Secure memory, libcrypto and the mechanism tables; nonzero on failure. */
static inline int mu_mech_open(void)
{
    return secmem_init() || ossl_open() || mech_setup() ? -1 : 0;
}

static inline void mu_mech_close(void)
{
    mech_teardown();
    ossl_close();
}

static inline int mu_group_setup(void **state)
{
    (void)state;
    return mu_mech_open();
}

static inline int mu_group_teardown(void **state)
{
    (void)state;
    mu_mech_close();
    return 0;
}

/* ---- hex and attributes ------------------------------------------------------------------- */

/* Decode hex into out (at most max bytes); every byte must parse. */
static inline size_t mu_unhex(const char *h, uint8_t *out, size_t max)
{
    size_t n = strlen(h) / 2;
    assert_true(n <= max);
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        assert_int_equal(sscanf(h + 2 * i, "%2x", &v), 1);
        out[i] = (uint8_t)v;
    }
    return n;
}

/* Decode hex into out without bounds or parse checks (for the known-answer tables only). */
static inline size_t mu_unhex_unchecked(const char *h, uint8_t *out)
{
    size_t n = strlen(h) / 2;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        sscanf(h + 2 * i, "%2x", &v);
        out[i] = (uint8_t)v;
    }
    return n;
}

static inline void mu_set_hex(attrs_t *a, CK_ATTRIBUTE_TYPE t, const char *hex, bool secret)
{
    uint8_t buf[1100];
    size_t n = mu_unhex(hex, buf, sizeof buf);
    assert_int_equal(attrs_set(a, t, buf, (CK_ULONG)n, secret), CKR_OK);
}

/* A fresh attribute set with CKA_CLASS and CKA_KEY_TYPE. */
static inline void mu_key_head(attrs_t *a, CK_OBJECT_CLASS cls, CK_KEY_TYPE kt)
{
    attrs_init(a);
    assert_int_equal(attrs_set_ulong(a, CKA_CLASS, cls), CKR_OK);
    assert_int_equal(attrs_set_ulong(a, CKA_KEY_TYPE, kt), CKR_OK);
}

/* A secret key (CKO_SECRET_KEY of type kt, value v) and the mech_key that points at it. */
struct mu_key {
    attrs_t a;
    struct mech_key k;
};

static inline void mu_key_make(struct mu_key *k, CK_KEY_TYPE kt, const uint8_t *v, size_t len)
{
    attrs_init(&k->a);
    assert_int_equal(attrs_set_ulong(&k->a, CKA_CLASS, CKO_SECRET_KEY), CKR_OK);
    assert_int_equal(attrs_set_ulong(&k->a, CKA_KEY_TYPE, kt), CKR_OK);
    assert_int_equal(attrs_set(&k->a, CKA_VALUE, v, len, true), CKR_OK);
    k->k = (struct mech_key){ .attrs = &k->a };
}

/* ---- operations --------------------------------------------------------------------------- */

static inline CK_RV mu_start(CK_MECHANISM_TYPE t, const void *param, CK_ULONG plen, CK_FLAGS fn,
                             const struct mech_key *k, struct mech_ctx **c)
{
    const struct mech_def *d = mech_find(t);
    assert_non_null(d);
    CK_MECHANISM m = { t, (void *)param, plen };
    return d->family->init(d, fn, &m, k, c);
}

/* One single-part operation; the result of oneshot. */
static inline CK_RV mu_once(CK_MECHANISM_TYPE t, const void *param, CK_ULONG plen, CK_FLAGS fn,
                            const struct mech_key *k, const uint8_t *in, size_t inlen,
                            uint8_t *out, CK_ULONG *outlen)
{
    struct mech_ctx *c = NULL;
    CK_RV rv = mu_start(t, param, plen, fn, k, &c);
    if (rv != CKR_OK)
        return rv;
    rv = c->def->family->oneshot(c, in, inlen, out, outlen);
    c->def->family->free(c);
    return rv;
}

static inline CK_RV mu_verify(CK_MECHANISM_TYPE t, const void *param, CK_ULONG plen,
                              const struct mech_key *k, const uint8_t *in, size_t inlen,
                              const uint8_t *sig, size_t siglen)
{
    struct mech_ctx *c = NULL;
    CK_RV rv = mu_start(t, param, plen, CKF_VERIFY, k, &c);
    if (rv != CKR_OK)
        return rv;
    rv = c->def->family->verify_oneshot(c, in, inlen, sig, siglen);
    c->def->family->free(c);
    return rv;
}

#endif
