/* The mechanism layer: one table of mechanisms, each implemented by a family file over
 * libcrypto in the module's private OSSL_LIB_CTX (base/ossl.h). The token layer calls only
 * what is declared here; it has already checked the session, the key's usage attributes
 * (CKA_SIGN, ...), CKA_ALLOWED_MECHANISMS and login before calling a family. */
#ifndef CRATON_MECH_MECH_H
#define CRATON_MECH_MECH_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <openssl/evp.h>
#include "pkcs11.h"
#include "object/attr.h"

/* Returned by a family when out was NULL: *outlen holds the length (exact or an upper
 * bound, as spec 5.2 allows) and nothing was consumed. The token layer turns it into CKR_OK
 * and keeps the operation alive. CKR_BUFFER_TOO_SMALL likewise consumes nothing. */
#define MECH_LENGTH_ONLY (CKR_VENDOR_DEFINED | 0x4c454eUL)

/* The one output-buffer rule (spec 5.2). Returns CKR_OK when out can take need bytes;
 * otherwise sets *outlen = need and returns MECH_LENGTH_ONLY (out NULL) or
 * CKR_BUFFER_TOO_SMALL. */
static inline CK_RV mech_out_check(const uint8_t *out, CK_ULONG *outlen, size_t need)
{
    if (!out) {
        *outlen = need;
        return MECH_LENGTH_ONLY;
    }
    if (*outlen < need) {
        *outlen = need;
        return CKR_BUFFER_TOO_SMALL;
    }
    return CKR_OK;
}

/* A key as a family sees it: the object's attributes, secret ones included, and a slot where
 * the family may keep a prepared libcrypto object between operations (freed through
 * mech_cache_free when the object changes or goes). cache may be NULL. */
/* What a family stores in a mech_key.cache slot begins with this header. */
struct mech_cache_hdr {
    void (*destroy)(void *self);
};

struct mech_key {
    const attrs_t *attrs;
    void **cache;
    /* For families with `park`: where the caller keeps an ended context of this family
     * (NULL: none). init may take it (pool_take does: it reuses it when it was prepared for
     * this key and variant, else gives it back); what init leaves there the caller frees.
     * Reusing its own context keeps a session's work warm in its CPU's cache. */
    struct mech_ctx **spare;
};

struct mech_def;

/* A context must not keep pointers into key->attrs or into *key->cache after init returns
 * unless it holds its own reference (EVP_PKEY_up_ref, EVP_MAC_CTX_dup, a copy): the object
 * may change or go while the operation is active. */

/* Operation state; a family allocates a larger struct with this as its first member. */
struct mech_ctx {
    const struct mech_def *def;
    CK_FLAGS fn; /* exactly one of CKF_ENCRYPT, CKF_DECRYPT, CKF_DIGEST, CKF_SIGN, CKF_VERIFY,
                    CKF_SIGN_RECOVER, CKF_VERIFY_RECOVER */
};

struct mech_family {
    const char *name;
    /* Starts operation fn. Checks m->pParameter/ulParameterLen (CKR_MECHANISM_PARAM_INVALID),
     * the key's type (CKR_KEY_TYPE_INCONSISTENT) and size (CKR_KEY_SIZE_RANGE). key is NULL
     * for digests. */
    CK_RV (*init)(const struct mech_def *d, CK_FLAGS fn, const CK_MECHANISM *m,
                  const struct mech_key *key, struct mech_ctx **out);
    /* Multi-part. Encrypt/decrypt: output from every update (real streaming), same length
     * rules as oneshot. Digest/sign/verify: out and outlen are NULL. NULL for single-part-only
     * mechanisms (e.g. CKM_RSA_PKCS encryption); the token layer then ends the operation with
     * CKR_FUNCTION_NOT_SUPPORTED on *Update. */
    CK_RV (*update)(struct mech_ctx *c, const uint8_t *in, size_t inlen, uint8_t *out,
                    CK_ULONG *outlen);
    /* Encrypt/decrypt: last output. Digest/sign: the result. Length rules apply. */
    CK_RV (*final)(struct mech_ctx *c, uint8_t *out, CK_ULONG *outlen);
    /* Verify multi-part end: CKR_OK, CKR_SIGNATURE_INVALID or CKR_SIGNATURE_LEN_RANGE. */
    CK_RV (*verify_final)(struct mech_ctx *c, const uint8_t *sig, size_t siglen);
    /* Single-part encrypt/decrypt/digest/sign/sign-recover/verify-recover (for verify-recover
     * in is the signature and out the recovered data). Required. Length rules apply. */
    CK_RV (*oneshot)(struct mech_ctx *c, const uint8_t *in, size_t inlen, uint8_t *out,
                     CK_ULONG *outlen);
    /* Single-part verify. */
    CK_RV (*verify_oneshot)(struct mech_ctx *c, const uint8_t *in, size_t inlen,
                            const uint8_t *sig, size_t siglen);
    void (*free)(struct mech_ctx *c);
    /* Optional, called instead of free when an operation ends: clears what belonged to the
     * message and returns true when c is worth keeping; the token then keeps it and hands it
     * to the next init of this family in the same session as mech_key.spare (no pool traffic
     * for a session that keeps using one key). Otherwise it frees c and returns false. */
    bool (*park)(struct mech_ctx *c);
    /* Digest only (may be NULL): C_DigestKey feeds a secret key's value. */
    CK_RV (*digest_key)(struct mech_ctx *c, const struct mech_key *key);
    /* Optional operation-state export/import (C_GetOperationState): NULL if unsupported. */
    CK_RV (*get_state)(struct mech_ctx *c, uint8_t *out, CK_ULONG *outlen);
    CK_RV (*set_state)(const struct mech_def *d, const uint8_t *in, size_t inlen,
                       struct mech_ctx **out);

    /* Key management. `key`/`pub`/`priv` arrive already built from the caller's template
     * (class, key type, usage flags, CKA_VALUE_LEN, CKA_MODULUS_BITS, CKA_PUBLIC_EXPONENT,
     * CKA_EC_PARAMS as given); the family reads what it needs and adds the key material
     * (CKA_VALUE, CKA_MODULUS, CKA_EC_POINT, ...; secret values with secret=true), copying
     * CKA_EC_PARAMS / CKA_MODULUS / CKA_PUBLIC_EXPONENT to the private key. It returns
     * CKR_TEMPLATE_INCOMPLETE when something required (e.g. CKA_VALUE_LEN) is missing,
     * CKR_TEMPLATE_INCONSISTENT / CKR_KEY_SIZE_RANGE / CKR_CURVE_NOT_SUPPORTED as fits. */
    CK_RV (*generate)(const struct mech_def *d, const CK_MECHANISM *m, attrs_t *key);
    CK_RV (*generate_pair)(const struct mech_def *d, const CK_MECHANISM *m, attrs_t *pub,
                           attrs_t *priv);
    /* Derive into key (built from the template; may lack CKA_VALUE_LEN where the mechanism
     * defines the length). */
    CK_RV (*derive)(const struct mech_def *d, const CK_MECHANISM *m, const struct mech_key *base,
                    attrs_t *key);
    /* Wrap `key` (a secret key's CKA_VALUE, or a private key as PKCS#8) under `wrapping`.
     * Length rules apply. */
    CK_RV (*wrap)(const struct mech_def *d, const CK_MECHANISM *m, const struct mech_key *wrapping,
                  const attrs_t *key, uint8_t *out, CK_ULONG *outlen);
    /* Unwrap into key (built from the template: class and key type known), adding material. */
    CK_RV (*unwrap)(const struct mech_def *d, const CK_MECHANISM *m,
                    const struct mech_key *unwrapping, const uint8_t *in, size_t inlen,
                    attrs_t *key);
};

struct mech_def {
    CK_MECHANISM_TYPE type;
    CK_ULONG min_key, max_key;  /* as CK_MECHANISM_INFO reports them */
    CK_FLAGS flags;             /* CK_MECHANISM_INFO flags: CKF_ENCRYPT, CKF_SIGN, ... */
    CK_KEY_TYPE key_type;       /* key type used or made; CK_UNAVAILABLE_INFORMATION: none */
    const struct mech_family *family;
    unsigned long arg;          /* family-private (e.g. which digest) */
    bool approved;              /* allowed in FIPS-approved-only mode */
};

/* A family file exports its table and optional setup/teardown (fetching algorithms from
 * ossl_libctx() once, at C_Initialize). Registered in mech.c. */
struct mech_table {
    const struct mech_def *defs;
    size_t n;
    int (*setup)(void);     /* 0 or -1; may be NULL */
    void (*teardown)(void); /* may be NULL */
};

int mech_setup(void);        /* after ossl_open() */
void mech_teardown(void);
const struct mech_def *mech_find(CK_MECHANISM_TYPE type); /* NULL: CKR_MECHANISM_INVALID */
size_t mech_count(void);
const struct mech_def *mech_at(size_t i);
void mech_cache_free(void *cache); /* calls the header's destroy; NULL is a no-op */

/* Random bytes from the module's DRBG (rng.c). */
CK_RV mech_random(uint8_t *out, size_t len);

/* Conversions between key objects and libcrypto keys (pkey.c), shared by the families.
 * from_attrs: RSA (CKA_MODULUS, CKA_PUBLIC_EXPONENT, private parts), EC (CKA_EC_PARAMS with a
 * named-curve OID or printable name; CKA_EC_POINT as DER OCTET STRING or raw; CKA_VALUE),
 * Edwards/Montgomery (CKA_EC_PARAMS, CKA_EC_POINT, CKA_VALUE). to_attrs adds the
 * key-type-specific value attributes of class cls (public or private) for k. */
CK_RV mech_pkey_from_attrs(const attrs_t *a, bool want_private, EVP_PKEY **out);
CK_RV mech_pkey_to_attrs(EVP_PKEY *k, CK_OBJECT_CLASS cls, attrs_t *a);
/* Checks an imported key's material (RSA CRT consistency, EC point on the curve) before it is
 * stored by C_CreateObject. CKR_OK for classes without material to check. */
CK_RV mech_validate_import(const attrs_t *a);
#endif
