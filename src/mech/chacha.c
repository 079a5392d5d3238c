/* ChaCha20 key generation and ChaCha20-Poly1305 (RFC 8439) over the shared AEAD engine. */
#include "mech/aes_internal.h"
#include "base/mem.h"
#include "base/ossl.h"

static struct {
    EVP_CIPHER *aead;
} g_chacha;

/* A provider without ChaCha20-Poly1305 (e.g. FIPS) must not stop the module from starting:
 * the mechanism then answers CKR_MECHANISM_INVALID. */
static int chacha_setup(void)
{
    g_chacha.aead = EVP_CIPHER_fetch(ossl_libctx(), "ChaCha20-Poly1305", NULL);
    return 0;
}

static void chacha_teardown(void)
{
    EVP_CIPHER_free(g_chacha.aead);
    g_chacha.aead = NULL;
}

static CK_RV chacha_generate(const struct mech_def *d, const CK_MECHANISM *m, attrs_t *key)
{
    (void)d;
    CK_ULONG len = 32, kt;
    if (m->ulParameterLen != 0)
        return CKR_MECHANISM_PARAM_INVALID;
    if (attrs_ulong(key, CKA_KEY_TYPE, &kt) && kt != CKK_CHACHA20)
        return CKR_TEMPLATE_INCONSISTENT;
    if (attrs_ulong(key, CKA_VALUE_LEN, &len) && len != 32)
        return CKR_KEY_SIZE_RANGE;
    uint8_t *v = secmem_alloc(32);
    if (!v)
        return CKR_HOST_MEMORY;
    CK_RV rv = mech_random(v, 32);
    if (rv == CKR_OK)
        rv = attrs_set(key, CKA_VALUE, v, 32, true);
    secmem_free(v);
    return rv;
}

static CK_RV chacha_init(const struct mech_def *d, CK_FLAGS fn, const CK_MECHANISM *m,
                         const struct mech_key *key, struct mech_ctx **out)
{
    const CK_SALSA20_CHACHA20_POLY1305_PARAMS *p = m->pParameter;
    if ((fn != CKF_ENCRYPT && fn != CKF_DECRYPT) || !g_chacha.aead)
        return CKR_MECHANISM_INVALID;
    if (!p || m->ulParameterLen != sizeof *p)
        return CKR_MECHANISM_PARAM_INVALID;
    /* Only the RFC 8439 96-bit nonce: libcrypto would zero-extend a 64-bit one, which is
     * not the original 64-bit-nonce construction, so it is refused rather than guessed. */
    if (!p->pNonce || p->ulNonceLen != 12 || (p->ulAADLen && !p->pAAD))
        return CKR_MECHANISM_PARAM_INVALID;
    struct aead_setup s = {
        .kind = AEAD_CHACHA, .cipher = g_chacha.aead, .iv = p->pNonce, .ivlen = 12,
        .aad = p->pAAD, .aadlen = p->ulAADLen, .taglen = 16, .mk = key,
    };
    CK_RV rv = sym_key_value(key, CKK_CHACHA20, &s.key, &s.keylen);
    return rv == CKR_OK ? sym_aead_start(d, fn, &s, out) : rv;
}

static const struct mech_family chacha_gen_family = {
    .name = "chacha20-keygen",
    .generate = chacha_generate,
};

static const struct mech_family chacha_aead_family = {
    .name = "chacha20-poly1305",
    .init = chacha_init,
    .update = sym_aead_update,
    .final = sym_aead_final,
    .oneshot = sym_aead_oneshot,
    .free = sym_aead_free,
};

/* ChaCha20 key sizes are reported in bits (256), as the current mechanisms spec does. */
static const struct mech_def chacha_defs[] = {
    { CKM_CHACHA20_KEY_GEN, 256, 256, CKF_GENERATE, CKK_CHACHA20, &chacha_gen_family, 0, false },
    { CKM_CHACHA20_POLY1305, 256, 256, CKF_ENCRYPT | CKF_DECRYPT, CKK_CHACHA20,
      &chacha_aead_family, 0, false },
};

const struct mech_table mech_chacha_table = {
    .defs = chacha_defs,
    .n = sizeof chacha_defs / sizeof chacha_defs[0],
    .setup = chacha_setup,
    .teardown = chacha_teardown,
};
