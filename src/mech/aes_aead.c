/* AES-GCM and AES-CCM, and the AEAD engine they share with ChaCha20-Poly1305.
 *
 * Speed: a GCM or ChaCha20-Poly1305 context with the default 12-byte nonce goes back to its
 * key's pool (pool.h) when the operation ends; the next operation on that key sets only the
 * nonce and direction, keeping the key schedule (and GCM's hash table), as a libcrypto program
 * holding the key would. CCM fixes lengths per message and is always built afresh. */
#include "mech/aes_internal.h"
#include "mech/pool.h"

#include <limits.h>
#include <stddef.h>
#include <string.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>

struct aead_ctx {
    struct mech_ctx base;
    EVP_CIPHER_CTX *ev;
    enum aead_kind kind;
    bool enc;
    size_t taglen;
    CK_ULONG datalen; /* CCM: the message length fixed at init */
    uint8_t *aad;     /* CCM: AAD goes in only after the length, so it is kept until then */
    size_t aadlen;
    struct sym_buf held; /* decrypt: ciphertext||tag until verified; CCM encrypt: plaintext */
    struct mech_pool *pool; /* the key's pool for a keyed default-nonce context, else NULL */
};

static void aead_item_free(void *item)
{
    struct aead_ctx *a = item;
    EVP_CIPHER_CTX_free(a->ev);
    OPENSSL_free(a->aad);
    sym_buf_free(&a->held);
    OPENSSL_clear_free(a, sizeof *a);
}

static const struct pool_kind g_aead_pool = { aead_item_free, offsetof(struct aead_ctx, pool) };

/* Nothing of a message stays behind in a kept context: the held data and AAD go, and the
 * next operation sets a new nonce (which restarts GCM's counters and tag). */
static void aead_clear_message(struct aead_ctx *a)
{
    sym_buf_free(&a->held);
    OPENSSL_free(a->aad);
    a->aad = NULL;
    a->aadlen = 0;
}

void sym_aead_free(struct mech_ctx *c)
{
    struct aead_ctx *a = (struct aead_ctx *)c;
    if (!a)
        return;
    aead_clear_message(a);
    pool_give(a->pool, &g_aead_pool, a, true);
}

static CK_RV ev_update(EVP_CIPHER_CTX *ev, uint8_t *out, const uint8_t *in, size_t n)
{
    int l;
    do {
        int chunk = n > (1u << 30) ? (1 << 30) : (int)n;
        if (!EVP_CipherUpdate(ev, out, &l, in, chunk) || (out && l != chunk))
            return CKR_FUNCTION_FAILED;
        in += chunk;
        if (out)
            out += chunk;
        n -= (size_t)chunk;
    } while (n > 0);
    return CKR_OK;
}

/* Pool variant: items are interchangeable only for one cipher (mode and key length). */
static unsigned aead_variant(const struct aead_setup *s)
{
    return (unsigned)s->kind << 8 | (unsigned)s->keylen;
}

/* Keeps a pooled context, with nothing of its message, for the session's next init. */
static bool aead_park(struct mech_ctx *c)
{
    struct aead_ctx *a = (struct aead_ctx *)c;
    if (!a->pool) {
        sym_aead_free(c);
        return false;
    }
    aead_clear_message(a);
    return true;
}

CK_RV sym_aead_start(const struct mech_def *d, CK_FLAGS fn, const struct aead_setup *s,
                 struct mech_ctx **out)
{
    size_t ivlen = s->ivlen;
    /* The common case (a 12-byte GCM or ChaCha20-Poly1305 nonce) is each cipher's default:
     * one init, no parameters to parse, and a context worth keeping per key. */
    bool dflt = s->kind != AEAD_CCM && ivlen == 12;
    if (fn != CKF_ENCRYPT && fn != CKF_DECRYPT)
        return CKR_MECHANISM_INVALID;
    bool enc = fn == CKF_ENCRYPT;
    struct mech_pool *pool = NULL;
    struct aead_ctx *a = dflt ? pool_take(s->mk, &g_aead_pool, aead_variant(s), &pool) : NULL;
    if (a && !EVP_CipherInit_ex2(a->ev, NULL, NULL, s->iv, enc, NULL)) {
        aead_item_free(a);
        a = NULL;
    }
    bool fresh = !a;
    if (fresh && !(a = OPENSSL_zalloc(sizeof *a))) {
        pool_give(pool, &g_aead_pool, NULL, false);
        return CKR_HOST_MEMORY;
    }
    a->base.def = d;
    a->base.fn = fn;
    a->kind = s->kind;
    a->enc = enc;
    a->taglen = s->taglen;
    a->datalen = s->ccm_datalen;
    a->pool = pool;
    CK_RV rv = CKR_HOST_MEMORY;
    if (fresh) {
        if (!(a->ev = EVP_CIPHER_CTX_new()))
            goto fail;
        OSSL_PARAM p[3], *q = p;
        *q++ = OSSL_PARAM_construct_size_t(OSSL_CIPHER_PARAM_AEAD_IVLEN, &ivlen);
        if (s->kind == AEAD_CCM)
            *q++ = OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, NULL,
                                                     s->taglen);
        *q = OSSL_PARAM_construct_end();
        rv = CKR_FUNCTION_FAILED;
        if (dflt ? !EVP_CipherInit_ex2(a->ev, s->cipher, s->key, s->iv, enc, NULL)
                 : (!EVP_CipherInit_ex2(a->ev, s->cipher, NULL, NULL, enc, p) ||
                    !EVP_CipherInit_ex2(a->ev, NULL, s->key, s->iv, enc, NULL)))
            goto fail;
    }
    if (s->kind == AEAD_CCM) {
        if (s->aadlen && !(a->aad = OPENSSL_memdup(s->aad, s->aadlen))) {
            rv = CKR_HOST_MEMORY;
            goto fail;
        }
        a->aadlen = s->aadlen;
    } else if (s->aadlen && (rv = ev_update(a->ev, NULL, s->aad, s->aadlen)) != CKR_OK) {
        goto fail;
    }
    *out = &a->base;
    return CKR_OK;
fail:
    a->pool = NULL; /* a context that failed to start is not kept */
    sym_aead_free(&a->base);
    pool_give(pool, &g_aead_pool, NULL, false);
    return rv;
}

/* CCM takes the message length, then the AAD, then the whole message in one call. */
static CK_RV ccm_prefix(struct aead_ctx *a, size_t len)
{
    int l;
    if (!EVP_CipherUpdate(a->ev, NULL, &l, NULL, (int)len))
        return CKR_FUNCTION_FAILED;
    return a->aadlen ? ev_update(a->ev, NULL, a->aad, a->aadlen) : CKR_OK;
}

/* Encrypts what is left (all of it for CCM, nothing more for streamed modes) and writes the
 * tag after it. out has room for ptlen + taglen. */
static CK_RV seal(struct aead_ctx *a, const uint8_t *pt, size_t ptlen, uint8_t *out)
{
    CK_RV rv;
    int l;
    if (a->kind == AEAD_CCM) {
        if (ptlen > INT_MAX)
            return CKR_DATA_LEN_RANGE;
        if ((rv = ccm_prefix(a, ptlen)) != CKR_OK)
            return rv;
    }
    if (ptlen && (rv = ev_update(a->ev, out, pt, ptlen)) != CKR_OK)
        return rv;
    if (!EVP_CipherFinal_ex(a->ev, out + ptlen, &l))
        return CKR_FUNCTION_FAILED;
    OSSL_PARAM p[] = { OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG,
                                                         out + ptlen, a->taglen),
                       OSSL_PARAM_construct_end() };
    return EVP_CIPHER_CTX_get_params(a->ev, p) ? CKR_OK : CKR_FUNCTION_FAILED;
}

/* Verifies and decrypts ct||tag; plaintext reaches the caller only when the tag is good. */
static CK_RV open_all(struct aead_ctx *a, const uint8_t *in, size_t inlen, uint8_t *out,
                      CK_ULONG *outlen)
{
    if (inlen < a->taglen)
        return CKR_ENCRYPTED_DATA_LEN_RANGE;
    size_t ctlen = inlen - a->taglen;
    if (a->kind == AEAD_CCM && (ctlen != a->datalen || ctlen > INT_MAX))
        return CKR_ENCRYPTED_DATA_LEN_RANGE;
    CK_RV rv = mech_out_check(out, outlen, ctlen);
    if (rv != CKR_OK)
        return rv;
    OSSL_PARAM p[] = { OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG,
                                                         (void *)(in + ctlen), a->taglen),
                       OSSL_PARAM_construct_end() };
    int l;
    if (!EVP_CIPHER_CTX_set_params(a->ev, p))
        return CKR_FUNCTION_FAILED;
    if (a->kind == AEAD_CCM && (rv = ccm_prefix(a, ctlen)) != CKR_OK)
        return rv;
    /* CCM checks the tag inside the update, the others in final. */
    bool ok = true;
    if (ctlen || a->kind == AEAD_CCM)
        ok = ev_update(a->ev, out, in, ctlen) == CKR_OK;
    if (ok && a->kind != AEAD_CCM)
        ok = EVP_CipherFinal_ex(a->ev, out + ctlen, &l) == 1;
    if (!ok) {
        OPENSSL_cleanse(out, ctlen);
        return CKR_ENCRYPTED_DATA_INVALID;
    }
    *outlen = ctlen;
    return CKR_OK;
}

CK_RV sym_aead_update(struct mech_ctx *c, const uint8_t *in, size_t inlen, uint8_t *out,
                  CK_ULONG *outlen)
{
    struct aead_ctx *a = (struct aead_ctx *)c;
    CK_RV rv;
    if (!a->enc || a->kind == AEAD_CCM) {
        if (a->kind == AEAD_CCM && a->enc && inlen > a->datalen - a->held.len)
            return CKR_DATA_LEN_RANGE;
        if ((rv = mech_out_check(out, outlen, 0)) != CKR_OK)
            return rv;
        if ((rv = sym_buf_append(&a->held, in, inlen)) == CKR_OK)
            *outlen = 0;
        return rv;
    }
    if ((rv = mech_out_check(out, outlen, inlen)) != CKR_OK)
        return rv;
    if (inlen && (rv = ev_update(a->ev, out, in, inlen)) != CKR_OK)
        return rv;
    *outlen = inlen;
    return CKR_OK;
}

CK_RV sym_aead_final(struct mech_ctx *c, uint8_t *out, CK_ULONG *outlen)
{
    struct aead_ctx *a = (struct aead_ctx *)c;
    CK_RV rv;
    if (!a->enc)
        return open_all(a, a->held.p, a->held.len, out, outlen);
    size_t ptlen = a->kind == AEAD_CCM ? a->held.len : 0;
    if (a->kind == AEAD_CCM && ptlen != a->datalen)
        return CKR_DATA_LEN_RANGE;
    if ((rv = mech_out_check(out, outlen, ptlen + a->taglen)) != CKR_OK)
        return rv;
    if ((rv = seal(a, a->held.p, ptlen, out)) == CKR_OK)
        *outlen = ptlen + a->taglen;
    return rv;
}

CK_RV sym_aead_oneshot(struct mech_ctx *c, const uint8_t *in, size_t inlen, uint8_t *out,
                   CK_ULONG *outlen)
{
    struct aead_ctx *a = (struct aead_ctx *)c;
    CK_RV rv;
    if (!a->enc)
        return open_all(a, in, inlen, out, outlen);
    if ((a->kind == AEAD_CCM && inlen != a->datalen) || inlen > SIZE_MAX - a->taglen)
        return CKR_DATA_LEN_RANGE;
    if ((rv = mech_out_check(out, outlen, inlen + a->taglen)) != CKR_OK)
        return rv;
    if ((rv = seal(a, in, inlen, out)) == CKR_OK)
        *outlen = inlen + a->taglen;
    return rv;
}

/* ---- Parameters --------------------------------------------------------------------------- */

/* The CK_GCM_PARAMS of v2.30 headers, without ulIvBits, which some clients still send. */
struct gcm_params_v230 {
    CK_BYTE_PTR pIv;
    CK_ULONG ulIvLen;
    CK_BYTE_PTR pAAD;
    CK_ULONG ulAADLen;
    CK_ULONG ulTagBits;
};

static CK_RV gcm_params(const CK_MECHANISM *m, struct aead_setup *s)
{
    CK_ULONG tagbits;
    if (!m->pParameter)
        return CKR_MECHANISM_PARAM_INVALID;
    if (m->ulParameterLen == sizeof(CK_GCM_PARAMS)) {
        const CK_GCM_PARAMS *p = m->pParameter;
        s->iv = p->pIv;
        s->ivlen = p->ulIvLen;
        /* ulIvBits is informational in 3.0; use it only when ulIvLen is missing. */
        if (s->ivlen == 0 && p->ulIvBits % 8 == 0)
            s->ivlen = p->ulIvBits / 8;
        s->aad = p->pAAD;
        s->aadlen = p->ulAADLen;
        tagbits = p->ulTagBits;
    } else if (m->ulParameterLen == sizeof(struct gcm_params_v230)) {
        const struct gcm_params_v230 *p = m->pParameter;
        s->iv = p->pIv;
        s->ivlen = p->ulIvLen;
        s->aad = p->pAAD;
        s->aadlen = p->ulAADLen;
        tagbits = p->ulTagBits;
    } else {
        return CKR_MECHANISM_PARAM_INVALID;
    }
    if (!s->iv || s->ivlen < 1 || s->ivlen > 256 || (s->aadlen && !s->aad))
        return CKR_MECHANISM_PARAM_INVALID;
    switch (tagbits) {
    case 32: case 64: case 96: case 104: case 112: case 120: case 128:
        s->taglen = tagbits / 8;
        return CKR_OK;
    default:
        return CKR_MECHANISM_PARAM_INVALID;
    }
}

static CK_RV ccm_params(const CK_MECHANISM *m, struct aead_setup *s)
{
    const CK_CCM_PARAMS *p = m->pParameter;
    if (!p || m->ulParameterLen != sizeof *p)
        return CKR_MECHANISM_PARAM_INVALID;
    if (!p->pNonce || p->ulNonceLen < 7 || p->ulNonceLen > 13 || (p->ulAADLen && !p->pAAD))
        return CKR_MECHANISM_PARAM_INVALID;
    if (p->ulMACLen < 4 || p->ulMACLen > 16 || p->ulMACLen % 2)
        return CKR_MECHANISM_PARAM_INVALID;
    /* The length field has 15 - nonce bytes; and libcrypto takes an int. */
    unsigned lbytes = 15 - (unsigned)p->ulNonceLen;
    if (p->ulDataLen > INT_MAX || (lbytes < 4 && p->ulDataLen >> (8 * lbytes)))
        return CKR_MECHANISM_PARAM_INVALID;
    s->iv = p->pNonce;
    s->ivlen = p->ulNonceLen;
    s->aad = p->pAAD;
    s->aadlen = p->ulAADLen;
    s->taglen = p->ulMACLen;
    s->ccm_datalen = p->ulDataLen;
    return CKR_OK;
}

static CK_RV aes_aead_init(const struct mech_def *d, CK_FLAGS fn, const CK_MECHANISM *m,
                           const struct mech_key *key, struct mech_ctx **out)
{
    struct aead_setup s = { .kind = (enum aead_kind)d->arg };
    CK_RV rv = CKR_MECHANISM_INVALID;
    if (fn == CKF_ENCRYPT || fn == CKF_DECRYPT)
        rv = s.kind == AEAD_GCM ? gcm_params(m, &s) : ccm_params(m, &s);
    if (rv == CKR_OK)
        rv = sym_key_value(key, CKK_AES, &s.key, &s.keylen);
    if (rv != CKR_OK)
        return rv;
    s.cipher = aes_cipher(s.kind == AEAD_GCM ? AES_M_GCM : AES_M_CCM, s.keylen);
    s.mk = key;
    return sym_aead_start(d, fn, &s, out);
}

const struct mech_family aes_aead_family = {
    .name = "aes-aead",
    .init = aes_aead_init,
    .update = sym_aead_update,
    .final = sym_aead_final,
    .oneshot = sym_aead_oneshot,
    .free = sym_aead_free,
    .park = aead_park,
    .wrap = sym_wrap,
    .unwrap = sym_unwrap,
};
