/* Edwards and Montgomery curves: Ed25519/Ed448 key pairs and EdDSA, X25519/X448 key pairs. */
#include "mech/asym_internal.h"
#include "base/ossl.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <stdlib.h>
#include <string.h>

struct ed_ctx {
    struct mech_ctx base;
    EVP_PKEY *pkey;
    EVP_MD_CTX *mdctx;
    const struct asym_curve *curve;
    struct asym_buf msg; /* pure EdDSA hashes the whole message twice: multi-part buffers */
};

static void ed_free(struct mech_ctx *base)
{
    struct ed_ctx *c = (struct ed_ctx *)base;
    if (!c)
        return;
    EVP_MD_CTX_free(c->mdctx);
    EVP_PKEY_free(c->pkey);
    asym_buf_free(&c->msg);
    free(c);
}

/* CK_EDDSA_PARAMS: OpenSSL 3.0 signs only pure Ed25519/Ed448 (the ph and ctx variants came
 * in 3.2), so parameters are accepted only where they ask for exactly that. */
static CK_RV ed_params(const CK_MECHANISM *m)
{
    if (!m->pParameter && !m->ulParameterLen)
        return CKR_OK;
    const CK_EDDSA_PARAMS *p = m->pParameter;
    if (!p || m->ulParameterLen != sizeof *p)
        return CKR_MECHANISM_PARAM_INVALID;
    if (p->phFlag || p->ulContextDataLen)
        return CKR_MECHANISM_PARAM_INVALID;
    return CKR_OK;
}

static CK_RV ed_init(const struct mech_def *d, CK_FLAGS fn, const CK_MECHANISM *m,
                     const struct mech_key *key, struct mech_ctx **out)
{
    const struct asym_curve *curve;
    if (fn != CKF_SIGN && fn != CKF_VERIFY)
        return CKR_MECHANISM_INVALID;
    CK_RV rv = ed_params(m);
    if (rv != CKR_OK)
        return rv;
    if (!key || asym_key_type(key) != CKK_EC_EDWARDS)
        return CKR_KEY_TYPE_INCONSISTENT;
    if (fn == CKF_SIGN && asym_key_class(key) != CKO_PRIVATE_KEY)
        return CKR_KEY_TYPE_INCONSISTENT;
    if ((rv = asym_curve_of(key->attrs, &curve)) != CKR_OK)
        return rv;
    struct ed_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return CKR_HOST_MEMORY;
    c->base.def = d;
    c->base.fn = fn;
    c->curve = curve;
    if ((rv = asym_key_pkey(key, &c->pkey)) != CKR_OK)
        goto fail;
    rv = CKR_GENERAL_ERROR;
    if (!(c->mdctx = EVP_MD_CTX_new()))
        goto fail;
    int ok = fn == CKF_SIGN
                 ? EVP_DigestSignInit_ex(c->mdctx, NULL, NULL, ossl_libctx(), NULL, c->pkey, NULL)
                 : EVP_DigestVerifyInit_ex(c->mdctx, NULL, NULL, ossl_libctx(), NULL, c->pkey,
                                           NULL);
    if (ok != 1)
        goto fail;
    *out = &c->base;
    return CKR_OK;
fail:
    ed_free(&c->base);
    return rv;
}

static CK_RV ed_oneshot(struct mech_ctx *base, const uint8_t *in, size_t inlen, uint8_t *out,
                        CK_ULONG *outlen)
{
    struct ed_ctx *c = (struct ed_ctx *)base;
    if (base->fn != CKF_SIGN)
        return CKR_OPERATION_NOT_INITIALIZED;
    CK_RV rv = mech_out_check(out, outlen, c->curve->sig_len);
    if (rv != CKR_OK)
        return rv;
    size_t n = c->curve->sig_len;
    if (EVP_DigestSign(c->mdctx, out, &n, in, inlen) != 1)
        return CKR_FUNCTION_FAILED;
    *outlen = (CK_ULONG)n;
    return CKR_OK;
}

static CK_RV ed_verify_oneshot(struct mech_ctx *base, const uint8_t *in, size_t inlen,
                               const uint8_t *sig, size_t siglen)
{
    struct ed_ctx *c = (struct ed_ctx *)base;
    if (base->fn != CKF_VERIFY)
        return CKR_OPERATION_NOT_INITIALIZED;
    if (siglen != c->curve->sig_len)
        return CKR_SIGNATURE_LEN_RANGE;
    ERR_set_mark();
    int ok = EVP_DigestVerify(c->mdctx, sig, siglen, in, inlen);
    ERR_pop_to_mark();
    return ok == 1 ? CKR_OK : CKR_SIGNATURE_INVALID;
}

static CK_RV ed_update(struct mech_ctx *base, const uint8_t *in, size_t inlen, uint8_t *out,
                       CK_ULONG *outlen)
{
    (void)out;
    (void)outlen;
    return asym_buf_add(&((struct ed_ctx *)base)->msg, in, inlen);
}

static CK_RV ed_final(struct mech_ctx *base, uint8_t *out, CK_ULONG *outlen)
{
    struct ed_ctx *c = (struct ed_ctx *)base;
    return ed_oneshot(base, c->msg.p ? c->msg.p : (const uint8_t *)"", c->msg.len, out, outlen);
}

static CK_RV ed_verify_final(struct mech_ctx *base, const uint8_t *sig, size_t siglen)
{
    struct ed_ctx *c = (struct ed_ctx *)base;
    return ed_verify_oneshot(base, c->msg.p ? c->msg.p : (const uint8_t *)"", c->msg.len, sig,
                             siglen);
}

/* ---- key pairs ---------------------------------------------------------------------------- */

/* Pairwise consistency: Ed keys sign and verify; X keys agree with a fresh peer both ways. */
static CK_RV ecx_pairwise(const struct asym_curve *curve, const attrs_t *pub,
                          const attrs_t *priv)
{
    static const uint8_t msg[] = "Craton EdDSA pairwise consistency test";
    EVP_PKEY *kpub = NULL, *kpriv = NULL, *other = NULL;
    EVP_MD_CTX *md = NULL;
    EVP_PKEY_CTX *x = NULL;
    uint8_t a[64], b[64];
    size_t alen = sizeof a, blen = sizeof b;
    CK_RV rv = CKR_GENERAL_ERROR;
    if (mech_pkey_from_attrs(pub, false, &kpub) != CKR_OK ||
        mech_pkey_from_attrs(priv, true, &kpriv) != CKR_OK)
        goto out;
    if (curve->key_type == CKK_EC_EDWARDS) {
        uint8_t sig[114];
        size_t siglen = sizeof sig;
        if (!(md = EVP_MD_CTX_new()) ||
            EVP_DigestSignInit_ex(md, NULL, NULL, ossl_libctx(), NULL, kpriv, NULL) != 1 ||
            EVP_DigestSign(md, sig, &siglen, msg, sizeof msg) != 1 ||
            EVP_DigestVerifyInit_ex(md, NULL, NULL, ossl_libctx(), NULL, kpub, NULL) != 1 ||
            EVP_DigestVerify(md, sig, siglen, msg, sizeof msg) != 1)
            goto out;
    } else {
        if (!(other = EVP_PKEY_Q_keygen(ossl_libctx(), NULL, curve->ossl_name)))
            goto out;
        if (!(x = EVP_PKEY_CTX_new_from_pkey(ossl_libctx(), kpriv, NULL)) ||
            EVP_PKEY_derive_init(x) != 1 || EVP_PKEY_derive_set_peer(x, other) != 1 ||
            EVP_PKEY_derive(x, a, &alen) != 1)
            goto out;
        EVP_PKEY_CTX_free(x);
        if (!(x = EVP_PKEY_CTX_new_from_pkey(ossl_libctx(), other, NULL)) ||
            EVP_PKEY_derive_init(x) != 1 || EVP_PKEY_derive_set_peer(x, kpub) != 1 ||
            EVP_PKEY_derive(x, b, &blen) != 1 || alen != blen || memcmp(a, b, alen) != 0)
            goto out;
    }
    rv = CKR_OK;
out:
    OPENSSL_cleanse(a, sizeof a);
    OPENSSL_cleanse(b, sizeof b);
    EVP_PKEY_CTX_free(x);
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(kpub);
    EVP_PKEY_free(kpriv);
    EVP_PKEY_free(other);
    return rv;
}

static CK_RV ecx_generate_pair(const struct mech_def *d, const CK_MECHANISM *m, attrs_t *pub,
                               attrs_t *priv)
{
    const struct asym_curve *curve;
    EVP_PKEY *k = NULL;
    if (m->ulParameterLen)
        return CKR_MECHANISM_PARAM_INVALID;
    const attr_t *ep = attrs_get(pub, CKA_EC_PARAMS);
    if (!ep)
        return CKR_TEMPLATE_INCOMPLETE;
    CK_RV rv = asym_curve_from_params(ep->val, ep->len, &curve);
    if (rv != CKR_OK)
        return rv;
    if (curve->key_type != d->key_type)
        return CKR_CURVE_NOT_SUPPORTED;
    if ((rv = attrs_set(priv, CKA_EC_PARAMS, ep->val, ep->len, false)) != CKR_OK)
        return rv;
    EVP_PKEY_CTX *ctx = asym_ctx_new(curve->ossl_name);
    rv = CKR_FUNCTION_FAILED;
    if (ctx && EVP_PKEY_keygen_init(ctx) == 1 && EVP_PKEY_generate(ctx, &k) == 1 &&
        (rv = mech_pkey_to_attrs(k, CKO_PUBLIC_KEY, pub)) == CKR_OK &&
        (rv = mech_pkey_to_attrs(k, CKO_PRIVATE_KEY, priv)) == CKR_OK)
        rv = ecx_pairwise(curve, pub, priv);
    EVP_PKEY_free(k);
    EVP_PKEY_CTX_free(ctx);
    return rv;
}

/* ---- table -------------------------------------------------------------------------------- */

static const struct mech_family eddsa = {
    .name = "eddsa",
    .init = ed_init,
    .update = ed_update,
    .final = ed_final,
    .verify_final = ed_verify_final,
    .oneshot = ed_oneshot,
    .verify_oneshot = ed_verify_oneshot,
    .free = ed_free,
};

static const struct mech_family ecx_keygen = {
    .name = "ecx-keygen",
    .generate_pair = ecx_generate_pair,
};

#define ECF (CKF_EC_OID | CKF_EC_CURVENAME)

static const struct mech_def eddsa_defs[] = {
    { CKM_EC_EDWARDS_KEY_PAIR_GEN, 255, 448, CKF_GENERATE_KEY_PAIR | ECF, CKK_EC_EDWARDS,
      &ecx_keygen, 0, false },
    { CKM_EDDSA, 255, 448, CKF_SIGN | CKF_VERIFY | ECF, CKK_EC_EDWARDS, &eddsa, 0, false },
    { CKM_EC_MONTGOMERY_KEY_PAIR_GEN, 255, 448, CKF_GENERATE_KEY_PAIR | ECF, CKK_EC_MONTGOMERY,
      &ecx_keygen, 0, false },
};

const struct mech_table mech_eddsa_table = {
    .defs = eddsa_defs,
    .n = sizeof eddsa_defs / sizeof eddsa_defs[0],
    .setup = asym_setup,
    .teardown = asym_teardown,
};
