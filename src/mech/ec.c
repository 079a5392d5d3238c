/* EC over prime curves: key-pair generation, ECDSA (raw r||s) and ECDH (also X25519/X448). */
#include "mech/asym_internal.h"
#include "base/mem.h"
#include "base/ossl.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/kdf.h>
#include <stdlib.h>
#include <string.h>

#define EC_DER_MAX (2 * 66 + 16)

static EVP_KDF *g_x963;

struct ec_ctx {
    struct mech_ctx base;
    EVP_PKEY *pkey;
    EVP_PKEY_CTX *pctx;  /* CKM_ECDSA */
    EVP_MD_CTX *mdctx;   /* CKM_ECDSA_SHA* */
    const struct asym_curve *curve;
};

/* ---- signature encodings ------------------------------------------------------------------ */

/* DER ECDSA-Sig-Value to r||s, each left-padded to the order's length. */
static CK_RV der_to_raw(const struct asym_curve *c, const uint8_t *der, size_t derlen,
                        uint8_t *out)
{
    const unsigned char *p = der;
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)derlen);
    CK_RV rv = CKR_FUNCTION_FAILED;
    if (!sig)
        return rv;
    const BIGNUM *r, *s;
    ECDSA_SIG_get0(sig, &r, &s);
    if (BN_bn2binpad(r, out, (int)c->order_len) == (int)c->order_len &&
        BN_bn2binpad(s, out + c->order_len, (int)c->order_len) == (int)c->order_len)
        rv = CKR_OK;
    ECDSA_SIG_free(sig);
    return rv;
}

/* r||s to DER; *derlen 0 on failure. */
static CK_RV raw_to_der(const struct asym_curve *c, const uint8_t *raw, uint8_t *der,
                        size_t *derlen)
{
    ECDSA_SIG *sig = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(raw, (int)c->order_len, NULL);
    BIGNUM *s = BN_bin2bn(raw + c->order_len, (int)c->order_len, NULL);
    CK_RV rv = CKR_HOST_MEMORY;
    if (!sig || !r || !s || !ECDSA_SIG_set0(sig, r, s)) {
        BN_free(r);
        BN_free(s);
        ECDSA_SIG_free(sig);
        return rv;
    }
    int n = i2d_ECDSA_SIG(sig, NULL);
    if (n > 0 && (size_t)n <= *derlen) {
        unsigned char *p = der;
        *derlen = (size_t)i2d_ECDSA_SIG(sig, &p);
        rv = CKR_OK;
    } else {
        rv = CKR_GENERAL_ERROR;
    }
    ECDSA_SIG_free(sig);
    return rv;
}

/* ---- ECDSA -------------------------------------------------------------------------------- */

static void ec_free(struct mech_ctx *base)
{
    struct ec_ctx *c = (struct ec_ctx *)base;
    if (!c)
        return;
    EVP_PKEY_CTX_free(c->pctx);
    EVP_MD_CTX_free(c->mdctx);
    EVP_PKEY_free(c->pkey);
    free(c);
}

static CK_RV ec_init(const struct mech_def *d, CK_FLAGS fn, const CK_MECHANISM *m,
                     const struct mech_key *key, struct mech_ctx **out)
{
    const struct asym_curve *curve;
    if (fn != CKF_SIGN && fn != CKF_VERIFY)
        return CKR_MECHANISM_INVALID;
    if (m->ulParameterLen)
        return CKR_MECHANISM_PARAM_INVALID;
    if (!key || asym_key_type(key) != CKK_EC)
        return CKR_KEY_TYPE_INCONSISTENT;
    if (fn == CKF_SIGN && asym_key_class(key) != CKO_PRIVATE_KEY)
        return CKR_KEY_TYPE_INCONSISTENT;
    CK_RV rv = asym_curve_of(key->attrs, &curve);
    if (rv != CKR_OK)
        return rv == CKR_CURVE_NOT_SUPPORTED ? CKR_KEY_SIZE_RANGE : rv;
    struct ec_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return CKR_HOST_MEMORY;
    c->base.def = d;
    c->base.fn = fn;
    c->curve = curve;
    if ((rv = asym_key_pkey(key, &c->pkey)) != CKR_OK)
        goto fail;
    rv = CKR_GENERAL_ERROR;
    if (d->arg) {
        const char *md = asym_md_name((CK_MECHANISM_TYPE)d->arg);
        if (!(c->mdctx = EVP_MD_CTX_new()))
            goto fail;
        int ok = fn == CKF_SIGN ? EVP_DigestSignInit_ex(c->mdctx, NULL, md, ossl_libctx(), NULL,
                                                        c->pkey, NULL)
                                : EVP_DigestVerifyInit_ex(c->mdctx, NULL, md, ossl_libctx(),
                                                          NULL, c->pkey, NULL);
        if (ok != 1)
            goto fail;
    } else {
        if (!(c->pctx = EVP_PKEY_CTX_new_from_pkey(ossl_libctx(), c->pkey, NULL)))
            goto fail;
        if ((fn == CKF_SIGN ? EVP_PKEY_sign_init(c->pctx) : EVP_PKEY_verify_init(c->pctx)) != 1)
            goto fail;
    }
    *out = &c->base;
    return CKR_OK;
fail:
    ec_free(&c->base);
    return rv;
}

/* FIPS 186 truncates the digest to the order's bit length: later bytes never count. */
static size_t digest_span(const struct ec_ctx *c, size_t inlen)
{
    return inlen < c->curve->order_len ? inlen : c->curve->order_len;
}

static CK_RV ec_oneshot(struct mech_ctx *base, const uint8_t *in, size_t inlen, uint8_t *out,
                        CK_ULONG *outlen)
{
    struct ec_ctx *c = (struct ec_ctx *)base;
    if (base->fn != CKF_SIGN)
        return CKR_OPERATION_NOT_INITIALIZED;
    CK_RV rv = mech_out_check(out, outlen, c->curve->sig_len);
    if (rv != CKR_OK)
        return rv;
    uint8_t der[EC_DER_MAX];
    size_t derlen = sizeof der;
    int ok = c->mdctx ? EVP_DigestSign(c->mdctx, der, &derlen, in, inlen)
                      : EVP_PKEY_sign(c->pctx, der, &derlen, in, digest_span(c, inlen));
    if (ok != 1)
        return CKR_FUNCTION_FAILED;
    if ((rv = der_to_raw(c->curve, der, derlen, out)) == CKR_OK)
        *outlen = (CK_ULONG)c->curve->sig_len;
    return rv;
}

static CK_RV ec_verify_common(struct ec_ctx *c, const uint8_t *in, size_t inlen, bool final,
                              const uint8_t *sig, size_t siglen)
{
    if (siglen != c->curve->sig_len)
        return CKR_SIGNATURE_LEN_RANGE;
    uint8_t der[EC_DER_MAX];
    size_t derlen = sizeof der;
    CK_RV rv = raw_to_der(c->curve, sig, der, &derlen);
    if (rv != CKR_OK)
        return rv;
    int ok;
    ERR_set_mark();
    if (final)
        ok = EVP_DigestVerifyFinal(c->mdctx, der, derlen);
    else if (c->mdctx)
        ok = EVP_DigestVerify(c->mdctx, der, derlen, in, inlen);
    else
        ok = EVP_PKEY_verify(c->pctx, der, derlen, in, digest_span(c, inlen));
    ERR_pop_to_mark();
    return ok == 1 ? CKR_OK : CKR_SIGNATURE_INVALID;
}

static CK_RV ec_verify_oneshot(struct mech_ctx *base, const uint8_t *in, size_t inlen,
                               const uint8_t *sig, size_t siglen)
{
    if (base->fn != CKF_VERIFY)
        return CKR_OPERATION_NOT_INITIALIZED;
    return ec_verify_common((struct ec_ctx *)base, in, inlen, false, sig, siglen);
}

static CK_RV ec_update(struct mech_ctx *base, const uint8_t *in, size_t inlen, uint8_t *out,
                       CK_ULONG *outlen)
{
    struct ec_ctx *c = (struct ec_ctx *)base;
    (void)out;
    (void)outlen;
    if (!c->mdctx)
        return CKR_FUNCTION_NOT_SUPPORTED;
    int ok = base->fn == CKF_SIGN ? EVP_DigestSignUpdate(c->mdctx, in, inlen)
                                  : EVP_DigestVerifyUpdate(c->mdctx, in, inlen);
    return ok == 1 ? CKR_OK : CKR_FUNCTION_FAILED;
}

static CK_RV ec_final(struct mech_ctx *base, uint8_t *out, CK_ULONG *outlen)
{
    struct ec_ctx *c = (struct ec_ctx *)base;
    if (!c->mdctx || base->fn != CKF_SIGN)
        return CKR_OPERATION_NOT_INITIALIZED;
    CK_RV rv = mech_out_check(out, outlen, c->curve->sig_len);
    if (rv != CKR_OK)
        return rv;
    uint8_t der[EC_DER_MAX];
    size_t derlen = sizeof der;
    if (EVP_DigestSignFinal(c->mdctx, der, &derlen) != 1)
        return CKR_FUNCTION_FAILED;
    if ((rv = der_to_raw(c->curve, der, derlen, out)) == CKR_OK)
        *outlen = (CK_ULONG)c->curve->sig_len;
    return rv;
}

static CK_RV ec_verify_final(struct mech_ctx *base, const uint8_t *sig, size_t siglen)
{
    struct ec_ctx *c = (struct ec_ctx *)base;
    if (!c->mdctx || base->fn != CKF_VERIFY)
        return CKR_OPERATION_NOT_INITIALIZED;
    return ec_verify_common(c, NULL, 0, true, sig, siglen);
}

/* ---- key-pair generation ------------------------------------------------------------------ */

static CK_RV ec_pairwise(const attrs_t *pub, const attrs_t *priv)
{
    static const uint8_t msg[] = "Craton ECDSA pairwise consistency test";
    EVP_PKEY *kpub = NULL, *kpriv = NULL;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    uint8_t sig[EC_DER_MAX];
    size_t siglen = sizeof sig;
    CK_RV rv = CKR_GENERAL_ERROR;
    if (!md || mech_pkey_from_attrs(pub, false, &kpub) != CKR_OK ||
        mech_pkey_from_attrs(priv, true, &kpriv) != CKR_OK)
        goto out;
    if (EVP_DigestSignInit_ex(md, NULL, "SHA2-256", ossl_libctx(), NULL, kpriv, NULL) != 1 ||
        EVP_DigestSign(md, sig, &siglen, msg, sizeof msg) != 1 ||
        EVP_DigestVerifyInit_ex(md, NULL, "SHA2-256", ossl_libctx(), NULL, kpub, NULL) != 1 ||
        EVP_DigestVerify(md, sig, siglen, msg, sizeof msg) != 1)
        goto out;
    rv = CKR_OK;
out:
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(kpub);
    EVP_PKEY_free(kpriv);
    return rv;
}

static CK_RV ec_generate_pair(const struct mech_def *d, const CK_MECHANISM *m, attrs_t *pub,
                              attrs_t *priv)
{
    (void)d;
    const struct asym_curve *curve;
    EVP_PKEY *k = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    if (m->ulParameterLen)
        return CKR_MECHANISM_PARAM_INVALID;
    const attr_t *ep = attrs_get(pub, CKA_EC_PARAMS);
    if (!ep)
        return CKR_TEMPLATE_INCOMPLETE;
    CK_RV rv = asym_curve_from_params(ep->val, ep->len, &curve);
    if (rv != CKR_OK)
        return rv;
    if (curve->key_type != CKK_EC)
        return CKR_CURVE_NOT_SUPPORTED;
    /* The private key carries the caller's encoding of the curve. */
    if ((rv = attrs_set(priv, CKA_EC_PARAMS, ep->val, ep->len, false)) != CKR_OK)
        return rv;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)curve->ossl_name,
                                         0),
        OSSL_PARAM_construct_end(),
    };
    rv = CKR_FUNCTION_FAILED;
    if (!(ctx = asym_ctx_new("EC")) ||
        EVP_PKEY_keygen_init(ctx) != 1 || EVP_PKEY_CTX_set_params(ctx, params) != 1 ||
        EVP_PKEY_generate(ctx, &k) != 1)
        goto out;
    if ((rv = mech_pkey_to_attrs(k, CKO_PUBLIC_KEY, pub)) != CKR_OK ||
        (rv = mech_pkey_to_attrs(k, CKO_PRIVATE_KEY, priv)) != CKR_OK)
        goto out;
    rv = ec_pairwise(pub, priv);
out:
    EVP_PKEY_free(k);
    EVP_PKEY_CTX_free(ctx);
    return rv;
}

/* ---- ECDH --------------------------------------------------------------------------------- */

static bool kdf_hash(CK_EC_KDF_TYPE kdf, CK_MECHANISM_TYPE *hash)
{
    switch (kdf) {
    case CKD_NULL: *hash = 0; return true;
    case CKD_SHA1_KDF: *hash = CKM_SHA_1; return true;
    case CKD_SHA224_KDF: *hash = CKM_SHA224; return true;
    case CKD_SHA256_KDF: *hash = CKM_SHA256; return true;
    case CKD_SHA384_KDF: *hash = CKM_SHA384; return true;
    case CKD_SHA512_KDF: *hash = CKM_SHA512; return true;
    case CKD_SHA3_224_KDF: *hash = CKM_SHA3_224; return true;
    case CKD_SHA3_256_KDF: *hash = CKM_SHA3_256; return true;
    case CKD_SHA3_384_KDF: *hash = CKM_SHA3_384; return true;
    case CKD_SHA3_512_KDF: *hash = CKM_SHA3_512; return true;
    default: return false;
    }
}

/* ANSI X9.63 KDF over the shared secret Z with SharedInfo. */
static CK_RV x963(CK_MECHANISM_TYPE hash, const uint8_t *z, size_t zlen, const uint8_t *info,
                  size_t infolen, uint8_t *out, size_t outlen)
{
    EVP_KDF_CTX *k = g_x963 ? EVP_KDF_CTX_new(g_x963) : NULL;
    if (!k)
        return CKR_GENERAL_ERROR;
    OSSL_PARAM params[4];
    size_t i = 0;
    params[i++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
                                                   (char *)asym_md_name(hash), 0);
    params[i++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)z, zlen);
    if (infolen)
        params[i++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info,
                                                        infolen);
    params[i] = OSSL_PARAM_construct_end();
    int ok = EVP_KDF_derive(k, out, outlen, params);
    EVP_KDF_CTX_free(k);
    return ok == 1 ? CKR_OK : CKR_FUNCTION_FAILED;
}

/* Z = x(d * Q) on a prime curve, by point arithmetic rather than EVP_PKEY_derive: a derive
 * context made from a key can be routed to an ENGINE registered as the default for EC keys
 * (the libp11 engine that loaded us, under `openssl -engine pkcs11`), which cannot use the
 * module's keys. EC_POINT_mul with a secret scalar runs OpenSSL's constant-time ladder. The
 * supported curves have cofactor 1, so plain and cofactor ECDH agree. */
static CK_RV ecdh_prime(const struct asym_curve *curve, const attrs_t *priv, const uint8_t *pt,
                        size_t ptlen, uint8_t **zout, size_t *zlen)
{
    const attr_t *v = attrs_get(priv, CKA_VALUE);
    if (!v || !v->len)
        return CKR_KEY_TYPE_INCONSISTENT;
    CK_RV rv = CKR_FUNCTION_FAILED;
    EC_GROUP *g = EC_GROUP_new_by_curve_name_ex(ossl_libctx(), NULL, curve->nid);
    EC_POINT *q = g ? EC_POINT_new(g) : NULL, *r = g ? EC_POINT_new(g) : NULL;
    BN_CTX *bn = BN_CTX_secure_new_ex(ossl_libctx());
    BIGNUM *dsec = BN_secure_new(), *x = BN_new();
    uint8_t *z = secmem_alloc(curve->field_len);
    if (!g || !q || !r || !bn || !dsec || !x || !z)
        goto out;
    BN_set_flags(dsec, BN_FLG_CONSTTIME);
    if (!BN_bin2bn(v->val, (int)v->len, dsec))
        goto out;
    ERR_set_mark();
    int ok = EC_POINT_oct2point(g, q, pt, ptlen, bn) == 1 && EC_POINT_is_on_curve(g, q, bn) == 1 &&
             !EC_POINT_is_at_infinity(g, q);
    ERR_pop_to_mark();
    if (!ok) {
        rv = CKR_MECHANISM_PARAM_INVALID; /* the peer's point is not on the key's curve */
        goto out;
    }
    if (EC_POINT_mul(g, r, NULL, q, dsec, bn) != 1 || EC_POINT_is_at_infinity(g, r) ||
        EC_POINT_get_affine_coordinates(g, r, x, NULL, bn) != 1 ||
        BN_bn2binpad(x, z, (int)curve->field_len) != (int)curve->field_len)
        goto out;
    *zout = z;
    *zlen = curve->field_len;
    z = NULL;
    rv = CKR_OK;
out:
    secmem_free(z);
    BN_clear_free(dsec);
    BN_clear_free(x);
    BN_CTX_free(bn);
    EC_POINT_clear_free(r);
    EC_POINT_free(q);
    EC_GROUP_free(g);
    return rv;
}

static CK_RV ecdh_derive(const struct mech_def *d, const CK_MECHANISM *m,
                         const struct mech_key *base, attrs_t *key)
{
    const CK_ECDH1_DERIVE_PARAMS *p = m->pParameter;
    const struct asym_curve *curve;
    CK_MECHANISM_TYPE hash;
    CK_ULONG cls;
    if (!p || m->ulParameterLen != sizeof *p || !kdf_hash(p->kdf, &hash))
        return CKR_MECHANISM_PARAM_INVALID;
    if ((p->ulSharedDataLen && (!p->pSharedData || hash == 0)) || !p->pPublicData ||
        !p->ulPublicDataLen)
        return CKR_MECHANISM_PARAM_INVALID;
    if (!base)
        return CKR_KEY_TYPE_INCONSISTENT;
    CK_KEY_TYPE kt = asym_key_type(base);
    if ((kt != CKK_EC && kt != CKK_EC_MONTGOMERY) || asym_key_class(base) != CKO_PRIVATE_KEY)
        return CKR_KEY_TYPE_INCONSISTENT;
    if (attrs_ulong(key, CKA_CLASS, &cls) && cls != CKO_SECRET_KEY)
        return CKR_TEMPLATE_INCONSISTENT;
    CK_RV rv = asym_curve_of(base->attrs, &curve);
    if (rv != CKR_OK)
        return rv;

    const uint8_t *pt;
    size_t ptlen;
    EVP_PKEY *own = NULL, *peer = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    uint8_t *z = NULL, *val = NULL;
    size_t zlen = 0, n;
    if (!asym_unwrap_point(curve, p->pPublicData, p->ulPublicDataLen, &pt, &ptlen) ||
        asym_pkey_from_point(curve, pt, ptlen, &peer) != CKR_OK)
        return CKR_MECHANISM_PARAM_INVALID;
    if (kt == CKK_EC) {
        (void)d; /* CKM_ECDH1_DERIVE and CKM_ECDH1_COFACTOR_DERIVE agree on these curves */
        if ((rv = ecdh_prime(curve, base->attrs, pt, ptlen, &z, &zlen)) != CKR_OK)
            goto out;
    } else {
        if ((rv = asym_key_pkey(base, &own)) != CKR_OK)
            goto out;
        rv = CKR_FUNCTION_FAILED;
        if (!(ctx = EVP_PKEY_CTX_new_from_pkey(ossl_libctx(), own, NULL)) ||
            EVP_PKEY_derive_init(ctx) != 1)
            goto out;
        ERR_set_mark();
        int ok = EVP_PKEY_derive_set_peer_ex(ctx, peer, 1);
        ERR_pop_to_mark();
        if (ok != 1) {
            rv = CKR_MECHANISM_PARAM_INVALID;
            goto out;
        }
        if (EVP_PKEY_derive(ctx, NULL, &zlen) != 1 || !(z = secmem_alloc(zlen)) ||
            EVP_PKEY_derive(ctx, z, &zlen) != 1)
            goto out;
    }
    /* Without a KDF the key is cut from Z, keeping its trailing bytes; a KDF stretches. */
    if ((rv = asym_derived_len(key, zlen, hash ? 4096 : zlen, &n)) != CKR_OK)
        goto out;
    if (hash) {
        rv = CKR_HOST_MEMORY;
        if (!(val = secmem_alloc(n)))
            goto out;
        if ((rv = x963(hash, z, zlen, p->pSharedData, p->ulSharedDataLen, val, n)) != CKR_OK)
            goto out;
        rv = attrs_set(key, CKA_VALUE, val, (CK_ULONG)n, true);
    } else {
        rv = attrs_set(key, CKA_VALUE, z + (zlen - n), (CK_ULONG)n, true);
    }
    if (rv == CKR_OK)
        rv = attrs_set_ulong(key, CKA_VALUE_LEN, (CK_ULONG)n);
out:
    secmem_free(z);
    secmem_free(val);
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(own);
    EVP_PKEY_free(peer);
    return rv;
}

/* ---- table -------------------------------------------------------------------------------- */

static int ec_setup(void)
{
    if (asym_setup())
        return -1;
    g_x963 = EVP_KDF_fetch(ossl_libctx(), "X963KDF", NULL);
    if (!g_x963) {
        asym_teardown();
        return -1;
    }
    return 0;
}

static void ec_teardown(void)
{
    EVP_KDF_free(g_x963);
    g_x963 = NULL;
    asym_teardown();
}

static const struct mech_family ecdsa_raw = {
    .name = "ecdsa",
    .init = ec_init,
    .oneshot = ec_oneshot,
    .verify_oneshot = ec_verify_oneshot,
    .free = ec_free,
};

static const struct mech_family ecdsa_hashed = {
    .name = "ecdsa-hash",
    .init = ec_init,
    .update = ec_update,
    .final = ec_final,
    .verify_final = ec_verify_final,
    .oneshot = ec_oneshot,
    .verify_oneshot = ec_verify_oneshot,
    .free = ec_free,
};

static const struct mech_family ec_keygen = {
    .name = "ec-keygen",
    .generate_pair = ec_generate_pair,
};

static const struct mech_family ecdh = {
    .name = "ecdh",
    .derive = ecdh_derive,
};

/* CK_MECHANISM_INFO for EC: key sizes are field sizes in bits; curves by OID or name,
 * points uncompressed. */
#define ECF (CKF_EC_F_P | CKF_EC_OID | CKF_EC_CURVENAME | CKF_EC_UNCOMPRESS)
#define SV (CKF_SIGN | CKF_VERIFY)
#define ECDSA_H(mech, hash) { mech, 256, 521, SV | ECF, CKK_EC, &ecdsa_hashed, hash, true }

static const struct mech_def ec_defs[] = {
    { CKM_EC_KEY_PAIR_GEN, 256, 521, CKF_GENERATE_KEY_PAIR | ECF, CKK_EC, &ec_keygen, 0, true },
    { CKM_ECDSA, 256, 521, SV | ECF, CKK_EC, &ecdsa_raw, 0, true },
    /* SHA-1 signatures are not approved for new signatures (SP 800-131A). */
    { CKM_ECDSA_SHA1, 256, 521, SV | ECF, CKK_EC, &ecdsa_hashed, CKM_SHA_1, false },
    ECDSA_H(CKM_ECDSA_SHA224, CKM_SHA224),
    ECDSA_H(CKM_ECDSA_SHA256, CKM_SHA256),
    ECDSA_H(CKM_ECDSA_SHA384, CKM_SHA384),
    ECDSA_H(CKM_ECDSA_SHA512, CKM_SHA512),
    ECDSA_H(CKM_ECDSA_SHA3_224, CKM_SHA3_224),
    ECDSA_H(CKM_ECDSA_SHA3_256, CKM_SHA3_256),
    ECDSA_H(CKM_ECDSA_SHA3_384, CKM_SHA3_384),
    ECDSA_H(CKM_ECDSA_SHA3_512, CKM_SHA3_512),
    /* Also X25519/X448 (CKK_EC_MONTGOMERY) base keys; key_type names the EC one. */
    { CKM_ECDH1_DERIVE, 255, 521, CKF_DERIVE | ECF, CKK_EC, &ecdh, 0, true },
    { CKM_ECDH1_COFACTOR_DERIVE, 255, 521, CKF_DERIVE | ECF, CKK_EC, &ecdh, 0, true },
};

const struct mech_table mech_ec_table = {
    .defs = ec_defs,
    .n = sizeof ec_defs / sizeof ec_defs[0],
    .setup = ec_setup,
    .teardown = ec_teardown,
};
