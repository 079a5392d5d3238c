/* Shared helpers of the asymmetric families (pkey.c, rsa.c, ec.c, eddsa.c); private to them. */
#ifndef CRATON_MECH_ASYM_INTERNAL_H
#define CRATON_MECH_ASYM_INTERNAL_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <openssl/evp.h>
#include "mech/mech.h"

/* RSA modulus sizes accepted for generation and import (a policy may raise the minimum). */
#define ASYM_RSA_MIN_BITS 1024
#define ASYM_RSA_MAX_BITS 16384

/* A curve this module supports, for CKK_EC, CKK_EC_EDWARDS and CKK_EC_MONTGOMERY keys. */
struct asym_curve {
    int nid;
    CK_KEY_TYPE key_type;
    const char *ossl_name;   /* group name (EC) or key type name (EdDSA/XDH) for libcrypto */
    unsigned bits;           /* field size as CK_MECHANISM_INFO reports it */
    size_t field_len;        /* EC: coordinate bytes; Ed/X: raw public key bytes */
    size_t order_len;        /* EC: bytes of the group order (r and s); Ed/X: private key bytes */
    size_t sig_len;          /* Ed: signature bytes; EC: 2 * order_len */
};

/* CKA_EC_PARAMS (DER OID or DER PrintableString name) to a supported curve.
 * CKR_CURVE_NOT_SUPPORTED when unknown, CKR_ATTRIBUTE_VALUE_INVALID when malformed. */
CK_RV asym_curve_from_params(const uint8_t *der, size_t len, const struct asym_curve **out);
const struct asym_curve *asym_curve_by_nid(int nid);
/* The curve of a key object's CKA_EC_PARAMS, checked against its CKA_KEY_TYPE. */
CK_RV asym_curve_of(const attrs_t *a, const struct asym_curve **out);
/* DER OID of the curve into a (CKA_EC_PARAMS). */
CK_RV asym_set_ec_params(attrs_t *a, const struct asym_curve *c);
/* A public key/point given raw or as a DER OCTET STRING: *raw points into buf. For EC curves
 * the raw form is a SEC1 point (uncompressed or compressed); for Ed/X it has the exact key
 * length. false when it is neither. */
bool asym_unwrap_point(const struct asym_curve *c, const uint8_t *buf, size_t len,
                       const uint8_t **raw, size_t *rawlen);
/* An EVP_PKEY for the public point of curve c (peer keys of ECDH). */
CK_RV asym_pkey_from_point(const struct asym_curve *c, const uint8_t *pt, size_t len,
                           EVP_PKEY **out);

/* The key's EVP_PKEY from the per-object cache (built and stored there on first use). The
 * caller owns one reference. A private key object gives a private EVP_PKEY. */
CK_RV asym_key_pkey(const struct mech_key *key, EVP_PKEY **out);
CK_KEY_TYPE asym_key_type(const struct mech_key *key);
CK_OBJECT_CLASS asym_key_class(const struct mech_key *key);

/* Digests fetched once from the module's context; NULL when hash is not a supported
 * CKM_SHA* / CKM_SHA3_* mechanism. */
int asym_setup(void);
void asym_teardown(void);
const EVP_MD *asym_md(CK_MECHANISM_TYPE hash);
const char *asym_md_name(CK_MECHANISM_TYPE hash);
/* CKG_MGF1_* to its hash mechanism; 0 when unknown. */
CK_MECHANISM_TYPE asym_mgf_hash(CK_RSA_PKCS_MGF_TYPE mgf);

/* Appends a growing buffer (EdDSA multi-part); CKR_HOST_MEMORY / CKR_DATA_LEN_RANGE. */
struct asym_buf {
    uint8_t *p;
    size_t len, cap;
};
CK_RV asym_buf_add(struct asym_buf *b, const uint8_t *in, size_t len);
void asym_buf_free(struct asym_buf *b);

/* Length of a derived secret key from its template: CKA_VALUE_LEN, else the key type's
 * size, else dflt (the whole shared secret); at most max. */
CK_RV asym_derived_len(const attrs_t *key, size_t dflt, size_t max, size_t *out);
/* EVP_PKEY_CTX_new_from_name() in the module context, by the algorithm's OID rather than its
 * short name: OpenSSL 3.0 routes a context whose name maps to a legacy NID to any ENGINE
 * registered as the default for that key type (the libp11 engine that loaded this module,
 * under `openssl -engine pkcs11`), where provider-only calls such as fromdata then fail. An
 * OID name has no legacy NID lookup and always reaches the module's own providers. */
EVP_PKEY_CTX *asym_ctx_new(const char *name);
#endif
