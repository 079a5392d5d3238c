/* AES key wrap (RFC 3394, CKM_AES_KEY_WRAP) and with padding (RFC 5649, CKM_AES_KEY_WRAP_KWP):
 * single-part encrypt/decrypt and wrap/unwrap. */
#include "mech/aes_internal.h"
#include "base/mem.h"

#include <limits.h>
#include <string.h>
#include <openssl/crypto.h>

struct kw_ctx {
    struct mech_ctx base;
    EVP_CIPHER_CTX *ev;
    bool pad, enc;
    uint8_t *held; /* KWP decrypt: result kept for a retry after CKR_BUFFER_TOO_SMALL */
    size_t heldlen;
};

static void kw_free(struct mech_ctx *c)
{
    struct kw_ctx *k = (struct kw_ctx *)c;
    if (!k)
        return;
    EVP_CIPHER_CTX_free(k->ev);
    secmem_free(k->held);
    OPENSSL_free(k);
}

static CK_RV kw_init(const struct mech_def *d, CK_FLAGS fn, const CK_MECHANISM *m,
                     const struct mech_key *key, struct mech_ctx **out)
{
    bool pad = d->arg == AES_M_KWP;
    const uint8_t *kv;
    size_t klen;
    if (fn != CKF_ENCRYPT && fn != CKF_DECRYPT)
        return CKR_MECHANISM_INVALID;
    /* Optional IV: 8 bytes for RFC 3394, the 4-byte prefix of the AIV for RFC 5649. */
    if (m->ulParameterLen != 0 && (!m->pParameter || m->ulParameterLen != (pad ? 4u : 8u)))
        return CKR_MECHANISM_PARAM_INVALID;
    CK_RV rv = sym_key_value(key, CKK_AES, &kv, &klen);
    if (rv != CKR_OK)
        return rv;
    struct kw_ctx *k = OPENSSL_zalloc(sizeof *k);
    if (!k)
        return CKR_HOST_MEMORY;
    k->base.def = d;
    k->base.fn = fn;
    k->pad = pad;
    k->enc = fn == CKF_ENCRYPT;
    if (!(k->ev = EVP_CIPHER_CTX_new())) {
        kw_free(&k->base);
        return CKR_HOST_MEMORY;
    }
    EVP_CIPHER_CTX_set_flags(k->ev, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
    if (!EVP_CipherInit_ex2(k->ev, aes_cipher(pad ? AES_M_KWP : AES_M_KW, klen), kv,
                            m->ulParameterLen ? m->pParameter : NULL, k->enc, NULL)) {
        kw_free(&k->base);
        return CKR_FUNCTION_FAILED;
    }
    *out = &k->base;
    return CKR_OK;
}

static CK_RV kw_oneshot(struct mech_ctx *c, const uint8_t *in, size_t inlen, uint8_t *out,
                        CK_ULONG *outlen)
{
    struct kw_ctx *k = (struct kw_ctx *)c;
    CK_RV rv;
    int l;
    if (k->enc) {
        if (inlen > INT_MAX - 16 || (k->pad ? inlen == 0 : (inlen < 16 || inlen % 8)))
            return CKR_DATA_LEN_RANGE;
        size_t need = (inlen + 7) / 8 * 8 + 8;
        if ((rv = mech_out_check(out, outlen, need)) != CKR_OK)
            return rv;
        if (!EVP_CipherUpdate(k->ev, out, &l, in, (int)inlen) || (size_t)l != need)
            return CKR_FUNCTION_FAILED;
        *outlen = need;
        return CKR_OK;
    }
    if (inlen > INT_MAX || inlen % 8 || inlen < (k->pad ? 16u : 24u))
        return CKR_ENCRYPTED_DATA_LEN_RANGE;
    if (!k->pad) {
        if ((rv = mech_out_check(out, outlen, inlen - 8)) != CKR_OK)
            return rv;
        if (!EVP_CipherUpdate(k->ev, out, &l, in, (int)inlen) || (size_t)l != inlen - 8) {
            OPENSSL_cleanse(out, inlen - 8);
            return CKR_ENCRYPTED_DATA_INVALID;
        }
        *outlen = inlen - 8;
        return CKR_OK;
    }
    /* KWP: the exact length is known only after unwrapping; a NULL buffer gets the bound. */
    if (!out && !k->held)
        return mech_out_check(out, outlen, inlen - 8);
    if (!k->held) {
        if (!(k->held = secmem_alloc(inlen)))
            return CKR_HOST_MEMORY;
        if (!EVP_CipherUpdate(k->ev, k->held, &l, in, (int)inlen) || l <= 0)
            return CKR_ENCRYPTED_DATA_INVALID;
        k->heldlen = (size_t)l;
    }
    if ((rv = mech_out_check(out, outlen, k->heldlen)) != CKR_OK)
        return rv;
    memcpy(out, k->held, k->heldlen);
    *outlen = k->heldlen;
    return CKR_OK;
}

const struct mech_family aes_wrap_family = {
    .name = "aes-kw",
    .init = kw_init,
    .oneshot = kw_oneshot,
    .free = kw_free,
    .wrap = sym_wrap,
    .unwrap = sym_unwrap,
};
