/* AES-CMAC (NIST SP 800-38B): CKM_AES_CMAC and CKM_AES_CMAC_GENERAL, sign and verify. */
#include "mech/aes_internal.h"

#include <string.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>

struct cmac_ctx {
    struct mech_ctx base;
    EVP_MAC_CTX *mc;
    size_t maclen;
};

static void cmac_free(struct mech_ctx *c)
{
    struct cmac_ctx *x = (struct cmac_ctx *)c;
    if (!x)
        return;
    EVP_MAC_CTX_free(x->mc);
    OPENSSL_free(x);
}

static CK_RV cmac_init(const struct mech_def *d, CK_FLAGS fn, const CK_MECHANISM *m,
                       const struct mech_key *key, struct mech_ctx **out)
{
    static const char *const names[] = { "AES-128-CBC", "AES-192-CBC", "AES-256-CBC" };
    size_t maclen = AES_BLOCK, klen;
    const uint8_t *kv;
    if (fn != CKF_SIGN && fn != CKF_VERIFY)
        return CKR_MECHANISM_INVALID;
    if (d->arg) { /* _GENERAL: CK_MAC_GENERAL_PARAMS, 1..16 */
        if (!m->pParameter || m->ulParameterLen != sizeof(CK_MAC_GENERAL_PARAMS))
            return CKR_MECHANISM_PARAM_INVALID;
        CK_ULONG l = *(const CK_MAC_GENERAL_PARAMS *)m->pParameter;
        if (l < 1 || l > AES_BLOCK)
            return CKR_MECHANISM_PARAM_INVALID;
        maclen = l;
    } else if (m->ulParameterLen != 0) {
        return CKR_MECHANISM_PARAM_INVALID;
    }
    CK_RV rv = sym_key_value(key, CKK_AES, &kv, &klen);
    if (rv != CKR_OK)
        return rv;
    struct cmac_ctx *x = OPENSSL_zalloc(sizeof *x);
    if (!x)
        return CKR_HOST_MEMORY;
    x->base.def = d;
    x->base.fn = fn;
    x->maclen = maclen;
    OSSL_PARAM p[] = { OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER,
                                                        (char *)names[(klen - 16) / 8], 0),
                       OSSL_PARAM_construct_end() };
    if (!(x->mc = EVP_MAC_CTX_new(aes_cmac_mac())) || !EVP_MAC_init(x->mc, kv, klen, p)) {
        cmac_free(&x->base);
        return CKR_FUNCTION_FAILED;
    }
    *out = &x->base;
    return CKR_OK;
}

static CK_RV cmac_update(struct mech_ctx *c, const uint8_t *in, size_t inlen, uint8_t *out,
                         CK_ULONG *outlen)
{
    (void)out;
    (void)outlen;
    struct cmac_ctx *x = (struct cmac_ctx *)c;
    return EVP_MAC_update(x->mc, in, inlen) ? CKR_OK : CKR_FUNCTION_FAILED;
}

static CK_RV cmac_compute(struct cmac_ctx *x, uint8_t mac[AES_BLOCK])
{
    size_t l;
    return EVP_MAC_final(x->mc, mac, &l, AES_BLOCK) && l == AES_BLOCK ? CKR_OK
                                                                     : CKR_FUNCTION_FAILED;
}

static CK_RV cmac_final(struct mech_ctx *c, uint8_t *out, CK_ULONG *outlen)
{
    struct cmac_ctx *x = (struct cmac_ctx *)c;
    uint8_t mac[AES_BLOCK];
    CK_RV rv = mech_out_check(out, outlen, x->maclen);
    if (rv == CKR_OK && (rv = cmac_compute(x, mac)) == CKR_OK) {
        memcpy(out, mac, x->maclen);
        *outlen = x->maclen;
    }
    return rv;
}

static CK_RV cmac_verify_final(struct mech_ctx *c, const uint8_t *sig, size_t siglen)
{
    struct cmac_ctx *x = (struct cmac_ctx *)c;
    uint8_t mac[AES_BLOCK];
    if (siglen != x->maclen)
        return CKR_SIGNATURE_LEN_RANGE;
    CK_RV rv = cmac_compute(x, mac);
    if (rv == CKR_OK && CRYPTO_memcmp(mac, sig, siglen) != 0)
        rv = CKR_SIGNATURE_INVALID;
    return rv;
}

static CK_RV cmac_oneshot(struct mech_ctx *c, const uint8_t *in, size_t inlen, uint8_t *out,
                          CK_ULONG *outlen)
{
    struct cmac_ctx *x = (struct cmac_ctx *)c;
    CK_RV rv = mech_out_check(out, outlen, x->maclen);
    if (rv == CKR_OK)
        rv = cmac_update(c, in, inlen, NULL, NULL);
    return rv == CKR_OK ? cmac_final(c, out, outlen) : rv;
}

static CK_RV cmac_verify_oneshot(struct mech_ctx *c, const uint8_t *in, size_t inlen,
                                 const uint8_t *sig, size_t siglen)
{
    struct cmac_ctx *x = (struct cmac_ctx *)c;
    if (siglen != x->maclen)
        return CKR_SIGNATURE_LEN_RANGE;
    CK_RV rv = cmac_update(c, in, inlen, NULL, NULL);
    return rv == CKR_OK ? cmac_verify_final(c, sig, siglen) : rv;
}

const struct mech_family aes_cmac_family = {
    .name = "aes-cmac",
    .init = cmac_init,
    .update = cmac_update,
    .final = cmac_final,
    .verify_final = cmac_verify_final,
    .oneshot = cmac_oneshot,
    .verify_oneshot = cmac_verify_oneshot,
    .free = cmac_free,
};
