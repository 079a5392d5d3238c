/* RSA: key-pair generation, PKCS#1 v1.5, raw (X.509), PSS and OAEP over libcrypto. */
#include "mech/asym_internal.h"
#include "base/mem.h"
#include "base/ossl.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/rsa.h>
#include <stdlib.h>
#include <string.h>

enum rsa_kind { K_PKCS = 1, K_X509, K_PSS, K_OAEP };
#define ARG(kind, hash) ((unsigned long)(kind) | ((unsigned long)(hash) << 8))
#define ARG_KIND(a) ((enum rsa_kind)((a) & 0xff))
#define ARG_HASH(a) ((CK_MECHANISM_TYPE)((a) >> 8))

struct rsa_ctx {
    struct mech_ctx base;
    EVP_PKEY *pkey;
    EVP_PKEY_CTX *pctx;  /* single-part operations */
    EVP_MD_CTX *mdctx;   /* hash-and-sign mechanisms */
    enum rsa_kind kind;
    size_t k;            /* modulus bytes */
    size_t hlen;         /* PSS: the digest length the input must have */
};

/* ---- parameters --------------------------------------------------------------------------- */

struct rsa_params {
    const char *md, *mgf1;
    const EVP_MD *sig_md; /* raw PSS: the hash the caller's digest was made with */
    int saltlen;
    const uint8_t *label;
    size_t labellen;
    size_t hlen;
};

static CK_RV pss_params(const struct mech_def *d, const CK_MECHANISM *m, size_t modbits,
                        struct rsa_params *p)
{
    const CK_RSA_PKCS_PSS_PARAMS *pp = m->pParameter;
    if (!pp || m->ulParameterLen != sizeof *pp)
        return CKR_MECHANISM_PARAM_INVALID;
    CK_MECHANISM_TYPE mh = asym_mgf_hash(pp->mgf);
    const EVP_MD *md = asym_md(pp->hashAlg);
    if (!md || !mh || (ARG_HASH(d->arg) && ARG_HASH(d->arg) != pp->hashAlg))
        return CKR_MECHANISM_PARAM_INVALID;
    p->md = asym_md_name(pp->hashAlg);
    p->mgf1 = asym_md_name(mh);
    p->sig_md = ARG_HASH(d->arg) ? NULL : md;
    p->hlen = (size_t)EVP_MD_get_size(md);
    /* RFC 8017 9.1.1: emLen >= hLen + sLen + 2 with emLen = ceil((modBits - 1) / 8). */
    size_t emlen = (modbits - 1 + 7) / 8;
    if (pp->sLen > 1024 || emlen < p->hlen + 2 || pp->sLen > emlen - p->hlen - 2)
        return CKR_MECHANISM_PARAM_INVALID;
    p->saltlen = (int)pp->sLen;
    return CKR_OK;
}

static CK_RV oaep_params(const CK_MECHANISM *m, size_t k, struct rsa_params *p)
{
    const CK_RSA_PKCS_OAEP_PARAMS *op = m->pParameter;
    if (!op || m->ulParameterLen != sizeof *op)
        return CKR_MECHANISM_PARAM_INVALID;
    CK_MECHANISM_TYPE mh = asym_mgf_hash(op->mgf);
    const EVP_MD *md = asym_md(op->hashAlg);
    if (!md || !mh)
        return CKR_MECHANISM_PARAM_INVALID;
    /* CKZ_DATA_SPECIFIED is the only source; some clients leave it 0 with no label. */
    if (op->source != CKZ_DATA_SPECIFIED && !(op->source == 0 && op->ulSourceDataLen == 0))
        return CKR_MECHANISM_PARAM_INVALID;
    if ((op->ulSourceDataLen && !op->pSourceData) || op->ulSourceDataLen > (1u << 20))
        return CKR_MECHANISM_PARAM_INVALID; /* a label is hashed once; 1 MiB is plenty */
    p->md = asym_md_name(op->hashAlg);
    p->mgf1 = asym_md_name(mh);
    p->hlen = (size_t)EVP_MD_get_size(md);
    p->label = op->pSourceData;
    p->labellen = op->ulSourceDataLen;
    if (k < 2 * p->hlen + 2)
        return CKR_KEY_SIZE_RANGE;
    return CKR_OK;
}

static CK_RV set_padding(EVP_PKEY_CTX *pctx, enum rsa_kind kind, const struct rsa_params *p)
{
    switch (kind) {
    case K_PKCS:
        return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1 ? CKR_OK
                                                                           : CKR_GENERAL_ERROR;
    case K_X509:
        return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_NO_PADDING) == 1 ? CKR_OK
                                                                        : CKR_GENERAL_ERROR;
    case K_PSS:
        if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
            (p->sig_md && EVP_PKEY_CTX_set_signature_md(pctx, p->sig_md) != 1) ||
            EVP_PKEY_CTX_set_rsa_mgf1_md_name(pctx, p->mgf1, NULL) != 1 ||
            EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, p->saltlen) != 1)
            return CKR_GENERAL_ERROR;
        return CKR_OK;
    case K_OAEP: {
        if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_OAEP_PADDING) != 1 ||
            EVP_PKEY_CTX_set_rsa_oaep_md_name(pctx, p->md, NULL) != 1 ||
            EVP_PKEY_CTX_set_rsa_mgf1_md_name(pctx, p->mgf1, NULL) != 1)
            return CKR_GENERAL_ERROR;
        if (p->labellen) {
            void *l = OPENSSL_memdup(p->label, p->labellen);
            if (!l)
                return CKR_HOST_MEMORY;
            if (EVP_PKEY_CTX_set0_rsa_oaep_label(pctx, l, (int)p->labellen) != 1) {
                OPENSSL_free(l);
                return CKR_GENERAL_ERROR;
            }
        }
        return CKR_OK;
    }
    }
    return CKR_GENERAL_ERROR;
}

/* ---- operations --------------------------------------------------------------------------- */

static void rsa_free(struct mech_ctx *base)
{
    struct rsa_ctx *c = (struct rsa_ctx *)base;
    if (!c)
        return;
    EVP_PKEY_CTX_free(c->pctx);
    EVP_MD_CTX_free(c->mdctx);
    EVP_PKEY_free(c->pkey);
    free(c);
}

/* Starts fn with pkey (one reference taken over by the context). */
static CK_RV rsa_start(const struct mech_def *d, CK_FLAGS fn, const CK_MECHANISM *m,
                       EVP_PKEY *pkey, struct rsa_ctx **out)
{
    CK_RV rv;
    struct rsa_params p = { 0 };
    enum rsa_kind kind = ARG_KIND(d->arg);
    CK_MECHANISM_TYPE hash = ARG_HASH(d->arg);
    struct rsa_ctx *c = calloc(1, sizeof *c);
    if (!c) {
        EVP_PKEY_free(pkey);
        return CKR_HOST_MEMORY;
    }
    c->base.def = d;
    c->base.fn = fn;
    c->pkey = pkey;
    c->kind = kind;
    int bits = EVP_PKEY_get_bits(pkey);
    c->k = (size_t)EVP_PKEY_get_size(pkey);
    if (!(d->flags & fn)) {
        rv = CKR_MECHANISM_INVALID;
        goto fail;
    }
    if (bits < (int)d->min_key || bits > (int)d->max_key) {
        rv = CKR_KEY_SIZE_RANGE;
        goto fail;
    }
    if (kind == K_PSS)
        rv = pss_params(d, m, (size_t)bits, &p);
    else if (kind == K_OAEP)
        rv = oaep_params(m, c->k, &p);
    else
        rv = m->ulParameterLen ? CKR_MECHANISM_PARAM_INVALID : CKR_OK;
    if (rv != CKR_OK)
        goto fail;
    c->hlen = p.hlen;

    EVP_PKEY_CTX *pctx = NULL;
    if (hash) {
        const char *mdname = asym_md_name(hash);
        c->mdctx = EVP_MD_CTX_new();
        if (!c->mdctx) {
            rv = CKR_HOST_MEMORY;
            goto fail;
        }
        int ok = fn == CKF_SIGN ? EVP_DigestSignInit_ex(c->mdctx, &pctx, mdname, ossl_libctx(),
                                                        NULL, pkey, NULL)
                                : EVP_DigestVerifyInit_ex(c->mdctx, &pctx, mdname,
                                                          ossl_libctx(), NULL, pkey, NULL);
        rv = ok == 1 ? set_padding(pctx, kind, &p) : CKR_GENERAL_ERROR;
    } else {
        c->pctx = pctx = EVP_PKEY_CTX_new_from_pkey(ossl_libctx(), pkey, NULL);
        if (!pctx) {
            rv = CKR_HOST_MEMORY;
            goto fail;
        }
        int ok;
        switch (fn) {
        case CKF_ENCRYPT: ok = EVP_PKEY_encrypt_init(pctx); break;
        case CKF_DECRYPT: ok = EVP_PKEY_decrypt_init(pctx); break;
        case CKF_SIGN:
        case CKF_SIGN_RECOVER: ok = EVP_PKEY_sign_init(pctx); break;
        case CKF_VERIFY: ok = EVP_PKEY_verify_init(pctx); break;
        case CKF_VERIFY_RECOVER: ok = EVP_PKEY_verify_recover_init(pctx); break;
        default: ok = 0; break;
        }
        rv = ok == 1 ? set_padding(pctx, kind, &p) : CKR_KEY_TYPE_INCONSISTENT;
    }
    if (rv != CKR_OK)
        goto fail;
    *out = c;
    return CKR_OK;
fail:
    rsa_free(&c->base);
    return rv;
}

static CK_RV rsa_init(const struct mech_def *d, CK_FLAGS fn, const CK_MECHANISM *m,
                      const struct mech_key *key, struct mech_ctx **out)
{
    EVP_PKEY *pkey;
    if (!key || asym_key_type(key) != CKK_RSA)
        return CKR_KEY_TYPE_INCONSISTENT;
    /* Private operations need the private key object. */
    bool need_priv = fn == CKF_SIGN || fn == CKF_DECRYPT || fn == CKF_SIGN_RECOVER;
    if (need_priv && asym_key_class(key) != CKO_PRIVATE_KEY)
        return CKR_KEY_TYPE_INCONSISTENT;
    CK_RV rv = asym_key_pkey(key, &pkey);
    if (rv != CKR_OK)
        return rv;
    return rsa_start(d, fn, m, pkey, (struct rsa_ctx **)out);
}

/* The input as k bytes, left-padded with zeros (raw RSA needs the full width). */
static void left_pad(uint8_t *dst, size_t k, const uint8_t *in, size_t inlen)
{
    memset(dst, 0, k - inlen);
    if (inlen)
        memcpy(dst + (k - inlen), in, inlen);
}

static CK_RV rsa_encrypt(struct rsa_ctx *c, const uint8_t *in, size_t inlen, uint8_t *out,
                         CK_ULONG *outlen)
{
    size_t max = c->kind == K_X509 ? c->k : c->kind == K_OAEP ? c->k - 2 * c->hlen - 2
                                                               : c->k - 11;
    if (inlen > max)
        return CKR_DATA_LEN_RANGE;
    CK_RV rv = mech_out_check(out, outlen, c->k);
    if (rv != CKR_OK)
        return rv;
    uint8_t *buf = NULL;
    if (c->kind == K_X509) {
        if (!(buf = secmem_alloc(c->k)))
            return CKR_HOST_MEMORY;
        left_pad(buf, c->k, in, inlen);
        in = buf;
        inlen = c->k;
    }
    size_t n = c->k;
    ERR_set_mark();
    if (EVP_PKEY_encrypt(c->pctx, out, &n, in, inlen) == 1) {
        *outlen = (CK_ULONG)n;
        rv = CKR_OK;
    } else {
        /* Raw input at or above the modulus. */
        rv = c->kind == K_X509 ? CKR_DATA_INVALID : CKR_FUNCTION_FAILED;
    }
    ERR_pop_to_mark();
    secmem_free(buf);
    return rv;
}

/* One error for every decryption failure so the PKCS#1 v1.5 check is no padding oracle (the
 * installed OpenSSL 3.0 has no implicit rejection). */
/* Runs a libcrypto call that writes at most k bytes (decrypt, verify-recover) through a
 * secure bounce buffer, so the caller's buffer is checked against the exact length. Every
 * failure inside libcrypto is the one code bad_rv (no padding oracle from varied codes). */
typedef int (*pkey_fn)(EVP_PKEY_CTX *, unsigned char *, size_t *, const unsigned char *, size_t);

static CK_RV pkey_into(struct rsa_ctx *c, pkey_fn fn, CK_RV bad_rv, const uint8_t *in,
                       size_t inlen, uint8_t *out, CK_ULONG *outlen)
{
    if (!out) {
        *outlen = c->k; /* an upper bound, as 5.2 allows */
        return MECH_LENGTH_ONLY;
    }
    uint8_t *buf = secmem_alloc(c->k);
    if (!buf)
        return CKR_HOST_MEMORY;
    size_t n = c->k;
    CK_RV rv;
    ERR_set_mark();
    int ok = fn(c->pctx, buf, &n, in, inlen);
    ERR_pop_to_mark();
    if (ok != 1) {
        rv = bad_rv;
    } else if ((rv = mech_out_check(out, outlen, n)) == CKR_OK) {
        memcpy(out, buf, n);
        *outlen = (CK_ULONG)n;
    }
    secmem_free(buf);
    return rv;
}

static CK_RV rsa_decrypt(struct rsa_ctx *c, const uint8_t *in, size_t inlen, uint8_t *out,
                         CK_ULONG *outlen)
{
    if (inlen != c->k)
        return CKR_ENCRYPTED_DATA_LEN_RANGE;
    return pkey_into(c, EVP_PKEY_decrypt, CKR_ENCRYPTED_DATA_INVALID, in, inlen, out, outlen);
}

static CK_RV rsa_sign_raw(struct rsa_ctx *c, const uint8_t *in, size_t inlen, uint8_t *out,
                          CK_ULONG *outlen)
{
    if (c->kind == K_PSS ? inlen != c->hlen
                         : inlen > (c->kind == K_X509 ? c->k : c->k - 11))
        return CKR_DATA_LEN_RANGE;
    CK_RV rv = mech_out_check(out, outlen, c->k);
    if (rv != CKR_OK)
        return rv;
    uint8_t *buf = NULL;
    if (c->kind == K_X509) {
        if (!(buf = secmem_alloc(c->k)))
            return CKR_HOST_MEMORY;
        left_pad(buf, c->k, in, inlen);
        in = buf;
        inlen = c->k;
    }
    size_t n = c->k;
    ERR_set_mark();
    if (EVP_PKEY_sign(c->pctx, out, &n, in, inlen) == 1 && n == c->k) {
        *outlen = (CK_ULONG)n;
        rv = CKR_OK;
    } else {
        rv = c->kind == K_X509 ? CKR_DATA_INVALID : CKR_FUNCTION_FAILED;
    }
    ERR_pop_to_mark();
    secmem_free(buf);
    return rv;
}

static CK_RV rsa_verify_recover(struct rsa_ctx *c, const uint8_t *sig, size_t siglen,
                                uint8_t *out, CK_ULONG *outlen)
{
    if (siglen != c->k)
        return CKR_SIGNATURE_LEN_RANGE;
    return pkey_into(c, EVP_PKEY_verify_recover, CKR_SIGNATURE_INVALID, sig, siglen, out, outlen);
}

static CK_RV rsa_oneshot(struct mech_ctx *base, const uint8_t *in, size_t inlen, uint8_t *out,
                         CK_ULONG *outlen)
{
    struct rsa_ctx *c = (struct rsa_ctx *)base;
    if (c->mdctx) {
        /* Hash-and-sign: the signature length is known before any input is taken. */
        CK_RV rv = mech_out_check(out, outlen, c->k);
        if (rv != CKR_OK)
            return rv;
        size_t n = c->k;
        if (EVP_DigestSign(c->mdctx, out, &n, in, inlen) != 1)
            return CKR_FUNCTION_FAILED;
        *outlen = (CK_ULONG)n;
        return CKR_OK;
    }
    switch (base->fn) {
    case CKF_ENCRYPT: return rsa_encrypt(c, in, inlen, out, outlen);
    case CKF_DECRYPT: return rsa_decrypt(c, in, inlen, out, outlen);
    case CKF_SIGN:
    case CKF_SIGN_RECOVER: return rsa_sign_raw(c, in, inlen, out, outlen);
    case CKF_VERIFY_RECOVER: return rsa_verify_recover(c, in, inlen, out, outlen);
    default: return CKR_OPERATION_NOT_INITIALIZED;
    }
}

static CK_RV rsa_verify_oneshot(struct mech_ctx *base, const uint8_t *in, size_t inlen,
                                const uint8_t *sig, size_t siglen)
{
    struct rsa_ctx *c = (struct rsa_ctx *)base;
    if (base->fn != CKF_VERIFY)
        return CKR_OPERATION_NOT_INITIALIZED;
    if (siglen != c->k)
        return CKR_SIGNATURE_LEN_RANGE;
    int ok;
    ERR_set_mark();
    if (c->mdctx) {
        ok = EVP_DigestVerify(c->mdctx, sig, siglen, in, inlen);
    } else if (c->kind == K_PSS ? inlen != c->hlen
                                : inlen > (c->kind == K_X509 ? c->k : c->k - 11)) {
        ERR_pop_to_mark();
        return CKR_DATA_LEN_RANGE;
    } else if (c->kind == K_X509) {
        uint8_t *buf = malloc(c->k);
        if (!buf) {
            ERR_pop_to_mark();
            return CKR_HOST_MEMORY;
        }
        left_pad(buf, c->k, in, inlen);
        ok = EVP_PKEY_verify(c->pctx, sig, siglen, buf, c->k);
        free(buf);
    } else {
        ok = EVP_PKEY_verify(c->pctx, sig, siglen, in, inlen);
    }
    ERR_pop_to_mark();
    return ok == 1 ? CKR_OK : CKR_SIGNATURE_INVALID;
}

static CK_RV rsa_update(struct mech_ctx *base, const uint8_t *in, size_t inlen, uint8_t *out,
                        CK_ULONG *outlen)
{
    struct rsa_ctx *c = (struct rsa_ctx *)base;
    (void)out;
    (void)outlen;
    if (!c->mdctx)
        return CKR_FUNCTION_NOT_SUPPORTED;
    int ok = base->fn == CKF_SIGN ? EVP_DigestSignUpdate(c->mdctx, in, inlen)
                                  : EVP_DigestVerifyUpdate(c->mdctx, in, inlen);
    return ok == 1 ? CKR_OK : CKR_FUNCTION_FAILED;
}

static CK_RV rsa_final(struct mech_ctx *base, uint8_t *out, CK_ULONG *outlen)
{
    struct rsa_ctx *c = (struct rsa_ctx *)base;
    if (!c->mdctx || base->fn != CKF_SIGN)
        return CKR_OPERATION_NOT_INITIALIZED;
    CK_RV rv = mech_out_check(out, outlen, c->k);
    if (rv != CKR_OK)
        return rv;
    size_t n = c->k;
    if (EVP_DigestSignFinal(c->mdctx, out, &n) != 1)
        return CKR_FUNCTION_FAILED;
    *outlen = (CK_ULONG)n;
    return CKR_OK;
}

static CK_RV rsa_verify_final(struct mech_ctx *base, const uint8_t *sig, size_t siglen)
{
    struct rsa_ctx *c = (struct rsa_ctx *)base;
    if (!c->mdctx || base->fn != CKF_VERIFY)
        return CKR_OPERATION_NOT_INITIALIZED;
    if (siglen != c->k)
        return CKR_SIGNATURE_LEN_RANGE;
    ERR_set_mark();
    int ok = EVP_DigestVerifyFinal(c->mdctx, sig, siglen);
    ERR_pop_to_mark();
    return ok == 1 ? CKR_OK : CKR_SIGNATURE_INVALID;
}

/* ---- wrap / unwrap of secret keys --------------------------------------------------------- */

static CK_RV rsa_wrap(const struct mech_def *d, const CK_MECHANISM *m,
                      const struct mech_key *wrapping, const attrs_t *key, uint8_t *out,
                      CK_ULONG *outlen)
{
    CK_ULONG cls;
    EVP_PKEY *pkey;
    struct rsa_ctx *c;
    if (!wrapping || asym_key_type(wrapping) != CKK_RSA)
        return CKR_WRAPPING_KEY_TYPE_INCONSISTENT;
    const attr_t *v = attrs_get(key, CKA_VALUE);
    if (!attrs_ulong(key, CKA_CLASS, &cls) || cls != CKO_SECRET_KEY || !v)
        return CKR_KEY_NOT_WRAPPABLE;
    CK_RV rv = asym_key_pkey(wrapping, &pkey);
    if (rv != CKR_OK)
        return rv;
    rv = rsa_start(d, CKF_ENCRYPT, m, pkey, &c);
    if (rv == CKR_KEY_SIZE_RANGE)
        return CKR_WRAPPING_KEY_SIZE_RANGE;
    if (rv != CKR_OK)
        return rv;
    rv = rsa_encrypt(c, v->val, v->len, out, outlen);
    if (rv == CKR_DATA_LEN_RANGE || rv == CKR_DATA_INVALID)
        rv = CKR_KEY_SIZE_RANGE;
    rsa_free(&c->base);
    return rv;
}

static CK_RV rsa_unwrap(const struct mech_def *d, const CK_MECHANISM *m,
                        const struct mech_key *unwrapping, const uint8_t *in, size_t inlen,
                        attrs_t *key)
{
    CK_ULONG cls, want = 0;
    EVP_PKEY *pkey;
    struct rsa_ctx *c;
    if (!unwrapping || asym_key_type(unwrapping) != CKK_RSA ||
        asym_key_class(unwrapping) != CKO_PRIVATE_KEY)
        return CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT;
    /* Private keys travel as PKCS#8 under AES key wrap, not under RSA. */
    if (!attrs_ulong(key, CKA_CLASS, &cls) || cls != CKO_SECRET_KEY)
        return CKR_TEMPLATE_INCONSISTENT;
    CK_RV rv = asym_key_pkey(unwrapping, &pkey);
    if (rv != CKR_OK)
        return rv;
    rv = rsa_start(d, CKF_DECRYPT, m, pkey, &c);
    if (rv == CKR_KEY_SIZE_RANGE)
        return CKR_UNWRAPPING_KEY_SIZE_RANGE;
    if (rv != CKR_OK)
        return rv;
    uint8_t *buf = secmem_alloc(c->k);
    CK_ULONG n = (CK_ULONG)c->k;
    if (!buf) {
        rv = CKR_HOST_MEMORY;
        goto out;
    }
    rv = rsa_decrypt(c, in, inlen, buf, &n);
    if (rv == CKR_ENCRYPTED_DATA_LEN_RANGE) {
        rv = CKR_WRAPPED_KEY_LEN_RANGE;
        goto out;
    }
    if (rv != CKR_OK) {
        rv = CKR_WRAPPED_KEY_INVALID;
        goto out;
    }
    const uint8_t *val = buf;
    bool have_len = attrs_ulong(key, CKA_VALUE_LEN, &want);
    if (c->kind == K_X509 && have_len && want <= n) {
        /* Raw RSA returns k bytes: the key is the trailing CKA_VALUE_LEN of them. */
        val = buf + (n - want);
        n = want;
    }
    if (n == 0 || (have_len && want != n)) {
        rv = CKR_TEMPLATE_INCONSISTENT;
        goto out;
    }
    rv = attrs_set(key, CKA_VALUE, val, n, true);
    if (rv == CKR_OK)
        rv = attrs_set_ulong(key, CKA_VALUE_LEN, n);
out:
    secmem_free(buf);
    rsa_free(&c->base);
    return rv;
}

/* ---- key-pair generation ------------------------------------------------------------------ */

/* Sign and verify a fixed message with the pair as it will be stored (FIPS 140-3 pairwise
 * consistency test); both keys are rebuilt from the attributes, which checks the conversion
 * as well. */
static CK_RV rsa_pairwise(const attrs_t *pub, const attrs_t *priv)
{
    static const uint8_t msg[] = "Craton RSA pairwise consistency test";
    EVP_PKEY *kpub = NULL, *kpriv = NULL;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    uint8_t sig[ASYM_RSA_MAX_BITS / 8];
    size_t siglen = sizeof sig;
    CK_RV rv = CKR_GENERAL_ERROR;
    if (!md || mech_pkey_from_attrs(pub, false, &kpub) != CKR_OK ||
        mech_pkey_from_attrs(priv, true, &kpriv) != CKR_OK)
        goto out;
    if (EVP_DigestSignInit_ex(md, NULL, "SHA2-256", ossl_libctx(), NULL, kpriv, NULL) != 1 ||
        EVP_DigestSign(md, sig, &siglen, msg, sizeof msg) != 1)
        goto out;
    if (EVP_DigestVerifyInit_ex(md, NULL, "SHA2-256", ossl_libctx(), NULL, kpub, NULL) != 1 ||
        EVP_DigestVerify(md, sig, siglen, msg, sizeof msg) != 1)
        goto out;
    rv = CKR_OK;
out:
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(kpub);
    EVP_PKEY_free(kpriv);
    return rv;
}

static CK_RV rsa_generate_pair(const struct mech_def *d, const CK_MECHANISM *m, attrs_t *pub,
                               attrs_t *priv)
{
    CK_ULONG bits;
    CK_RV rv;
    BIGNUM *e = NULL;
    EVP_PKEY *k = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    if (m->ulParameterLen)
        return CKR_MECHANISM_PARAM_INVALID;
    if (!attrs_ulong(pub, CKA_MODULUS_BITS, &bits))
        return CKR_TEMPLATE_INCOMPLETE;
    if (bits < d->min_key || bits > d->max_key)
        return CKR_KEY_SIZE_RANGE;
    const attr_t *ea = attrs_get(pub, CKA_PUBLIC_EXPONENT);
    if (ea) {
        /* Any odd e >= 3 the caller asks for, up to 256 bits (SP 800-56B's ceiling). */
        if (ea->len == 0 || ea->len > 64 || !(e = BN_bin2bn(ea->val, (int)ea->len, NULL)))
            return ea->len ? CKR_HOST_MEMORY : CKR_ATTRIBUTE_VALUE_INVALID;
        if (!BN_is_odd(e) || BN_is_one(e) || BN_num_bits(e) > 256) {
            rv = CKR_ATTRIBUTE_VALUE_INVALID;
            goto out;
        }
    }
    rv = CKR_HOST_MEMORY;
    ctx = asym_ctx_new("RSA");
    if (!ctx)
        goto out;
    rv = CKR_FUNCTION_FAILED;
    if (EVP_PKEY_keygen_init(ctx) != 1 || EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, (int)bits) != 1 ||
        (e && EVP_PKEY_CTX_set1_rsa_keygen_pubexp(ctx, e) != 1) ||
        EVP_PKEY_generate(ctx, &k) != 1)
        goto out;
    if ((rv = mech_pkey_to_attrs(k, CKO_PUBLIC_KEY, pub)) != CKR_OK ||
        (rv = mech_pkey_to_attrs(k, CKO_PRIVATE_KEY, priv)) != CKR_OK)
        goto out;
    rv = rsa_pairwise(pub, priv);
out:
    BN_free(e);
    EVP_PKEY_free(k);
    EVP_PKEY_CTX_free(ctx);
    return rv;
}

/* ---- table -------------------------------------------------------------------------------- */

static const struct mech_family rsa_single = {
    .name = "rsa",
    .init = rsa_init,
    .oneshot = rsa_oneshot,
    .verify_oneshot = rsa_verify_oneshot,
    .free = rsa_free,
    .wrap = rsa_wrap,
    .unwrap = rsa_unwrap,
};

static const struct mech_family rsa_hashed = {
    .name = "rsa-hash",
    .init = rsa_init,
    .update = rsa_update,
    .final = rsa_final,
    .verify_final = rsa_verify_final,
    .oneshot = rsa_oneshot,
    .verify_oneshot = rsa_verify_oneshot,
    .free = rsa_free,
};

static const struct mech_family rsa_keygen = {
    .name = "rsa-keygen",
    .generate_pair = rsa_generate_pair,
};

#define MINB ASYM_RSA_MIN_BITS
#define MAXB ASYM_RSA_MAX_BITS
#define SV (CKF_SIGN | CKF_VERIFY)
#define ALL_PKCS (CKF_ENCRYPT | CKF_DECRYPT | SV | CKF_SIGN_RECOVER | CKF_VERIFY_RECOVER | \
                  CKF_WRAP | CKF_UNWRAP)
#define HASHED(mech, kind, hash, ok) { mech, MINB, MAXB, SV, CKK_RSA, &rsa_hashed, \
                                       ARG(kind, hash), ok }

static int rsa_setup(void)
{
    return asym_setup();
}

static const struct mech_def rsa_defs[] = {
    { CKM_RSA_PKCS_KEY_PAIR_GEN, MINB, MAXB, CKF_GENERATE_KEY_PAIR, CKK_RSA, &rsa_keygen, 0,
      true },
    { CKM_RSA_PKCS, MINB, MAXB, ALL_PKCS, CKK_RSA, &rsa_single, ARG(K_PKCS, 0), true },
    { CKM_RSA_X_509, MINB, MAXB, ALL_PKCS, CKK_RSA, &rsa_single, ARG(K_X509, 0), false },
    { CKM_RSA_PKCS_PSS, MINB, MAXB, SV, CKK_RSA, &rsa_single, ARG(K_PSS, 0), true },
    { CKM_RSA_PKCS_OAEP, MINB, MAXB, CKF_ENCRYPT | CKF_DECRYPT | CKF_WRAP | CKF_UNWRAP, CKK_RSA,
      &rsa_single, ARG(K_OAEP, 0), true },
    /* SHA-1 signatures are not approved for new signatures (SP 800-131A). */
    HASHED(CKM_SHA1_RSA_PKCS, K_PKCS, CKM_SHA_1, false),
    HASHED(CKM_SHA224_RSA_PKCS, K_PKCS, CKM_SHA224, true),
    HASHED(CKM_SHA256_RSA_PKCS, K_PKCS, CKM_SHA256, true),
    HASHED(CKM_SHA384_RSA_PKCS, K_PKCS, CKM_SHA384, true),
    HASHED(CKM_SHA512_RSA_PKCS, K_PKCS, CKM_SHA512, true),
    HASHED(CKM_SHA3_224_RSA_PKCS, K_PKCS, CKM_SHA3_224, true),
    HASHED(CKM_SHA3_256_RSA_PKCS, K_PKCS, CKM_SHA3_256, true),
    HASHED(CKM_SHA3_384_RSA_PKCS, K_PKCS, CKM_SHA3_384, true),
    HASHED(CKM_SHA3_512_RSA_PKCS, K_PKCS, CKM_SHA3_512, true),
    HASHED(CKM_SHA1_RSA_PKCS_PSS, K_PSS, CKM_SHA_1, false),
    HASHED(CKM_SHA224_RSA_PKCS_PSS, K_PSS, CKM_SHA224, true),
    HASHED(CKM_SHA256_RSA_PKCS_PSS, K_PSS, CKM_SHA256, true),
    HASHED(CKM_SHA384_RSA_PKCS_PSS, K_PSS, CKM_SHA384, true),
    HASHED(CKM_SHA512_RSA_PKCS_PSS, K_PSS, CKM_SHA512, true),
    HASHED(CKM_SHA3_224_RSA_PKCS_PSS, K_PSS, CKM_SHA3_224, true),
    HASHED(CKM_SHA3_256_RSA_PKCS_PSS, K_PSS, CKM_SHA3_256, true),
    HASHED(CKM_SHA3_384_RSA_PKCS_PSS, K_PSS, CKM_SHA3_384, true),
    HASHED(CKM_SHA3_512_RSA_PKCS_PSS, K_PSS, CKM_SHA3_512, true),
};

const struct mech_table mech_rsa_table = {
    .defs = rsa_defs,
    .n = sizeof rsa_defs / sizeof rsa_defs[0],
    .setup = rsa_setup,
    .teardown = asym_teardown,
};
