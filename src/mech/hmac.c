/* HMAC over SHA-1, SHA-2 and SHA-3 (fixed and _GENERAL output lengths) and generic secret
 * key generation.
 *
 * Speed: the HMAC EVP_MAC is fetched once at setup. Each operation context carries a keyed
 * EVP_MAC_CTX and goes back to its key's pool (pool.h) when the operation ends, so the next
 * operation on that key only re-initialises the MAC (a copy of the prepared key pads) instead
 * of allocating a context and hashing the key again. Note that libcrypto keeps its HMAC
 * contexts (the key pads) in its own heap, wiped on free but not locked. */
#include "mech/mech.h"
#include "mech/pool.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/ossl.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <stddef.h>
#include <string.h>

#define HMAC_MAX_KEY 8192u    /* bytes; longer keys gain nothing (they are hashed) */
#define GENERIC_MAX_KEY 8192u /* bytes, for CKM_GENERIC_SECRET_KEY_GEN */
#define GENERAL_FLAG 0x100UL

struct halg {
    CK_MECHANISM_TYPE hmac, general;
    CK_KEY_TYPE key_type;
    const char *digest;
    size_t len;
};

static const struct halg g_halgs[] = {
    { CKM_SHA_1_HMAC, CKM_SHA_1_HMAC_GENERAL, CKK_SHA_1_HMAC, "SHA1", 20 },
    { CKM_SHA224_HMAC, CKM_SHA224_HMAC_GENERAL, CKK_SHA224_HMAC, "SHA2-224", 28 },
    { CKM_SHA256_HMAC, CKM_SHA256_HMAC_GENERAL, CKK_SHA256_HMAC, "SHA2-256", 32 },
    { CKM_SHA384_HMAC, CKM_SHA384_HMAC_GENERAL, CKK_SHA384_HMAC, "SHA2-384", 48 },
    { CKM_SHA512_HMAC, CKM_SHA512_HMAC_GENERAL, CKK_SHA512_HMAC, "SHA2-512", 64 },
    { CKM_SHA512_224_HMAC, CKM_SHA512_224_HMAC_GENERAL, CKK_SHA512_224_HMAC, "SHA2-512/224", 28 },
    { CKM_SHA512_256_HMAC, CKM_SHA512_256_HMAC_GENERAL, CKK_SHA512_256_HMAC, "SHA2-512/256", 32 },
    { CKM_SHA3_224_HMAC, CKM_SHA3_224_HMAC_GENERAL, CKK_SHA3_224_HMAC, "SHA3-224", 28 },
    { CKM_SHA3_256_HMAC, CKM_SHA3_256_HMAC_GENERAL, CKK_SHA3_256_HMAC, "SHA3-256", 32 },
    { CKM_SHA3_384_HMAC, CKM_SHA3_384_HMAC_GENERAL, CKK_SHA3_384_HMAC, "SHA3-384", 48 },
    { CKM_SHA3_512_HMAC, CKM_SHA3_512_HMAC_GENERAL, CKK_SHA3_512_HMAC, "SHA3-512", 64 },
};
#define NHALGS (sizeof g_halgs / sizeof g_halgs[0])

static struct {
    EVP_MAC *mac;
    bool usable[NHALGS]; /* digest available in the module's context */
} g_hm;

struct hctx {
    struct mech_ctx base;
    EVP_MAC_CTX *mac; /* keyed for this context's key and digest */
    size_t maclen, full;
    struct mech_pool *pool;
};

static void hctx_item_free(void *item)
{
    struct hctx *c = item;
    EVP_MAC_CTX_free(c->mac);
    OPENSSL_free(c);
}

static const struct pool_kind g_hmac_pool = { hctx_item_free, offsetof(struct hctx, pool) };

static EVP_MAC_CTX *keyed_ctx(size_t alg, const uint8_t *key, size_t keylen)
{
    OSSL_PARAM p[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)g_halgs[alg].digest, 0),
        OSSL_PARAM_construct_end(),
    };
    EVP_MAC_CTX *c = EVP_MAC_CTX_new(g_hm.mac);
    if (c && EVP_MAC_init(c, key, keylen, p))
        return c;
    EVP_MAC_CTX_free(c);
    return NULL;
}

/* Key checks shared with nothing else: a secret key of a type HMAC accepts, with a value. */
static CK_RV hmac_key(const struct halg *a, const struct mech_key *key, const attr_t **val)
{
    CK_OBJECT_CLASS cls;
    CK_KEY_TYPE kt;
    if (!key || !key->attrs)
        return CKR_KEY_HANDLE_INVALID;
    if (!attrs_ulong(key->attrs, CKA_CLASS, &cls) || cls != CKO_SECRET_KEY ||
        !attrs_ulong(key->attrs, CKA_KEY_TYPE, &kt) ||
        (kt != CKK_GENERIC_SECRET && kt != a->key_type))
        return CKR_KEY_TYPE_INCONSISTENT;
    const attr_t *v = attrs_get(key->attrs, CKA_VALUE);
    if (!v || !v->val || v->len < 1 || v->len > HMAC_MAX_KEY)
        return CKR_KEY_SIZE_RANGE;
    *val = v;
    return CKR_OK;
}

static void hctx_free(struct mech_ctx *base)
{
    struct hctx *c = (struct hctx *)base;
    if (c)
        pool_give(c->pool, &g_hmac_pool, c, true);
}

/* Nothing of the message stays to clear: the next init restarts the MAC. Only a context from
 * a pool is worth keeping (the next init checks it is still that key's). */
static bool hctx_park(struct mech_ctx *base)
{
    struct hctx *c = (struct hctx *)base;
    if (c->pool)
        return true;
    hctx_free(base);
    return false;
}

static CK_RV hmac_init(const struct mech_def *d, CK_FLAGS fn, const CK_MECHANISM *m,
                       const struct mech_key *key, struct mech_ctx **out)
{
    size_t alg = d->arg & ~GENERAL_FLAG;
    bool general = (d->arg & GENERAL_FLAG) != 0;
    if (alg >= NHALGS || !g_hm.mac || !g_hm.usable[alg])
        return CKR_MECHANISM_INVALID;
    const struct halg *a = &g_halgs[alg];
    if (fn != CKF_SIGN && fn != CKF_VERIFY)
        return CKR_MECHANISM_INVALID;

    size_t maclen = a->len;
    if (general) {
        /* CK_MAC_GENERAL_PARAMS. The spec allows 0..L; 0 is refused here because an empty
         * MAC would verify any message. */
        if (!m || !m->pParameter || m->ulParameterLen != sizeof(CK_MAC_GENERAL_PARAMS))
            return CKR_MECHANISM_PARAM_INVALID;
        CK_MAC_GENERAL_PARAMS want;
        memcpy(&want, m->pParameter, sizeof want);
        if (want < 1 || want > a->len)
            return CKR_MECHANISM_PARAM_INVALID;
        maclen = want;
    } else if (m && m->ulParameterLen != 0) {
        return CKR_MECHANISM_PARAM_INVALID;
    }

    /* A pooled context was keyed with this key's value and this digest after the checks
     * below passed (the pool is per key object and variant, and goes when the object
     * changes); re-initialising it without a key restarts the MAC. */
    struct mech_pool *pool;
    struct hctx *c = pool_take(key, &g_hmac_pool, (unsigned)alg, &pool);
    if (c && !EVP_MAC_init(c->mac, NULL, 0, NULL)) {
        hctx_item_free(c);
        c = NULL;
    }
    CK_RV rv = CKR_OK;
    if (!c) {
        const attr_t *v;
        if ((rv = hmac_key(a, key, &v)) != CKR_OK) {
            pool_give(pool, &g_hmac_pool, NULL, false);
            return rv;
        }
        c = OPENSSL_zalloc(sizeof *c);
        rv = !c ? CKR_HOST_MEMORY
                : !(c->mac = keyed_ctx(alg, v->val, v->len)) ? CKR_FUNCTION_FAILED : CKR_OK;
        if (rv != CKR_OK) {
            OPENSSL_free(c);
            pool_give(pool, &g_hmac_pool, NULL, false);
            return rv;
        }
    }
    c->base.def = d;
    c->base.fn = fn;
    c->maclen = maclen;
    c->full = a->len;
    c->pool = pool;
    *out = &c->base;
    return CKR_OK;
}

static CK_RV hmac_update(struct mech_ctx *base, const uint8_t *in, size_t inlen, uint8_t *out,
                         CK_ULONG *outlen)
{
    struct hctx *c = (struct hctx *)base;
    (void)out;
    (void)outlen;
    if (inlen && !EVP_MAC_update(c->mac, in, inlen))
        return CKR_FUNCTION_FAILED;
    return CKR_OK;
}

/* The full MAC into tag (EVP_MAX_MD_SIZE bytes). */
static CK_RV compute(struct hctx *c, uint8_t *tag)
{
    size_t l = 0;
    if (!EVP_MAC_final(c->mac, tag, &l, EVP_MAX_MD_SIZE) || l != c->full)
        return CKR_FUNCTION_FAILED;
    return CKR_OK;
}

static CK_RV hmac_final(struct mech_ctx *base, uint8_t *out, CK_ULONG *outlen)
{
    struct hctx *c = (struct hctx *)base;
    uint8_t tag[EVP_MAX_MD_SIZE];
    CK_RV rv = mech_out_check(out, outlen, c->maclen);
    if (rv != CKR_OK)
        return rv;
    if ((rv = compute(c, tag)) == CKR_OK) {
        memcpy(out, tag, c->maclen);
        *outlen = c->maclen;
    }
    OPENSSL_cleanse(tag, sizeof tag);
    return rv;
}

static CK_RV hmac_oneshot(struct mech_ctx *base, const uint8_t *in, size_t inlen, uint8_t *out,
                          CK_ULONG *outlen)
{
    struct hctx *c = (struct hctx *)base;
    CK_RV rv = mech_out_check(out, outlen, c->maclen);
    if (rv != CKR_OK)
        return rv;
    if ((rv = hmac_update(base, in, inlen, NULL, NULL)) != CKR_OK)
        return rv;
    return hmac_final(base, out, outlen);
}

static CK_RV hmac_verify_final(struct mech_ctx *base, const uint8_t *sig, size_t siglen)
{
    struct hctx *c = (struct hctx *)base;
    uint8_t tag[EVP_MAX_MD_SIZE];
    if (siglen != c->maclen)
        return CKR_SIGNATURE_LEN_RANGE;
    if (!sig)
        return CKR_ARGUMENTS_BAD;
    CK_RV rv = compute(c, tag);
    if (rv == CKR_OK && CRYPTO_memcmp(tag, sig, c->maclen) != 0)
        rv = CKR_SIGNATURE_INVALID;
    OPENSSL_cleanse(tag, sizeof tag);
    return rv;
}

static CK_RV hmac_verify_oneshot(struct mech_ctx *base, const uint8_t *in, size_t inlen,
                                 const uint8_t *sig, size_t siglen)
{
    struct hctx *c = (struct hctx *)base;
    if (siglen != c->maclen)
        return CKR_SIGNATURE_LEN_RANGE;
    CK_RV rv = hmac_update(base, in, inlen, NULL, NULL);
    if (rv != CKR_OK)
        return rv;
    return hmac_verify_final(base, sig, siglen);
}

/* --- generic secret key generation (PKCS#11 3.0 curr. 2.8.1 / v2.40 2.3) ----------------- */

static bool generic_key_type_ok(CK_KEY_TYPE kt)
{
    if (kt == CKK_GENERIC_SECRET)
        return true;
    for (size_t i = 0; i < NHALGS; i++)
        if (g_halgs[i].key_type == kt)
            return true;
    return false;
}

static CK_RV generic_generate(const struct mech_def *d, const CK_MECHANISM *m, attrs_t *key)
{
    CK_ULONG len;
    CK_KEY_TYPE kt;
    CK_OBJECT_CLASS cls;
    (void)d;
    if (m && m->ulParameterLen != 0)
        return CKR_MECHANISM_PARAM_INVALID;
    if (attrs_ulong(key, CKA_CLASS, &cls) && cls != CKO_SECRET_KEY)
        return CKR_TEMPLATE_INCONSISTENT;
    if (attrs_ulong(key, CKA_KEY_TYPE, &kt) && !generic_key_type_ok(kt))
        return CKR_TEMPLATE_INCONSISTENT;
    if (!attrs_ulong(key, CKA_VALUE_LEN, &len))
        return CKR_TEMPLATE_INCOMPLETE;
    if (len < 1 || len > GENERIC_MAX_KEY)
        return CKR_KEY_SIZE_RANGE;
    uint8_t *v = secmem_alloc(len);
    if (!v)
        return CKR_HOST_MEMORY;
    CK_RV rv = mech_random(v, len);
    if (rv == CKR_OK)
        rv = attrs_set(key, CKA_VALUE, v, len, true);
    secmem_free(v);
    return rv;
}

/* --- table --------------------------------------------------------------------------- */

static int hmac_setup(void)
{
    OSSL_LIB_CTX *lc = ossl_libctx();
    g_hm.mac = EVP_MAC_fetch(lc, "HMAC", NULL);
    if (!g_hm.mac) {
        LOG_ERR("HMAC is not available");
        return -1;
    }
    for (size_t i = 0; i < NHALGS; i++) {
        EVP_MD *md = EVP_MD_fetch(lc, g_halgs[i].digest, NULL);
        g_hm.usable[i] = md != NULL;
        if (!md)
            LOG_WARN("HMAC digest %s is not available", g_halgs[i].digest);
        EVP_MD_free(md);
    }
    return 0;
}

static void hmac_teardown(void)
{
    EVP_MAC_free(g_hm.mac);
    memset(&g_hm, 0, sizeof g_hm);
}

static const struct mech_family g_hmac_family = {
    .name = "hmac",
    .init = hmac_init,
    .update = hmac_update,
    .final = hmac_final,
    .verify_final = hmac_verify_final,
    .oneshot = hmac_oneshot,
    .verify_oneshot = hmac_verify_oneshot,
    .free = hctx_free,
    .park = hctx_park,
};

static const struct mech_family g_generic_family = {
    .name = "generic-secret",
    .generate = generic_generate,
};

/* HMAC key sizes are reported in bytes, generic secret key generation in bits (as the spec
 * says for that mechanism). */
#define HMAC_DEF(mech, i, gen)                                                                  \
    { (mech), 1, HMAC_MAX_KEY, CKF_SIGN | CKF_VERIFY, CKK_GENERIC_SECRET, &g_hmac_family,     \
      (unsigned long)(i) | ((gen) ? GENERAL_FLAG : 0), true }

static const struct mech_def g_hmac_defs[] = {
    HMAC_DEF(CKM_SHA_1_HMAC, 0, 0),       HMAC_DEF(CKM_SHA_1_HMAC_GENERAL, 0, 1),
    HMAC_DEF(CKM_SHA224_HMAC, 1, 0),      HMAC_DEF(CKM_SHA224_HMAC_GENERAL, 1, 1),
    HMAC_DEF(CKM_SHA256_HMAC, 2, 0),      HMAC_DEF(CKM_SHA256_HMAC_GENERAL, 2, 1),
    HMAC_DEF(CKM_SHA384_HMAC, 3, 0),      HMAC_DEF(CKM_SHA384_HMAC_GENERAL, 3, 1),
    HMAC_DEF(CKM_SHA512_HMAC, 4, 0),      HMAC_DEF(CKM_SHA512_HMAC_GENERAL, 4, 1),
    HMAC_DEF(CKM_SHA512_224_HMAC, 5, 0),  HMAC_DEF(CKM_SHA512_224_HMAC_GENERAL, 5, 1),
    HMAC_DEF(CKM_SHA512_256_HMAC, 6, 0),  HMAC_DEF(CKM_SHA512_256_HMAC_GENERAL, 6, 1),
    HMAC_DEF(CKM_SHA3_224_HMAC, 7, 0),    HMAC_DEF(CKM_SHA3_224_HMAC_GENERAL, 7, 1),
    HMAC_DEF(CKM_SHA3_256_HMAC, 8, 0),    HMAC_DEF(CKM_SHA3_256_HMAC_GENERAL, 8, 1),
    HMAC_DEF(CKM_SHA3_384_HMAC, 9, 0),    HMAC_DEF(CKM_SHA3_384_HMAC_GENERAL, 9, 1),
    HMAC_DEF(CKM_SHA3_512_HMAC, 10, 0),   HMAC_DEF(CKM_SHA3_512_HMAC_GENERAL, 10, 1),
    { CKM_GENERIC_SECRET_KEY_GEN, 8, GENERIC_MAX_KEY * 8, CKF_GENERATE, CKK_GENERIC_SECRET,
      &g_generic_family, 0, true },
};

const struct mech_table mech_hmac_table = {
    .defs = g_hmac_defs,
    .n = sizeof g_hmac_defs / sizeof g_hmac_defs[0],
    .setup = hmac_setup,
    .teardown = hmac_teardown,
};
