/* AES: key generation, ECB/CBC/CBC_PAD/CTR/CTS, ENCRYPT_DATA derivation, generic wrapping. */
#include "mech/aes_internal.h"
#include "mech/pool.h"
#include "base/mem.h"
#include "base/ossl.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>

/* ---- Algorithms fetched once ------------------------------------------------------------ */

static struct {
    EVP_CIPHER *c[AES_M_COUNT][3];
    EVP_MAC *cmac;
} g_aes;

static const char *const mode_names[AES_M_COUNT] = {
    "ECB", "CBC", "CTR", "CBC-CTS", "GCM", "CCM", "WRAP", "WRAP-PAD",
};

static int keyidx(size_t keylen)
{
    return keylen == 16 ? 0 : keylen == 24 ? 1 : keylen == 32 ? 2 : -1;
}

const EVP_CIPHER *aes_cipher(enum aes_mode m, size_t keylen)
{
    int i = keyidx(keylen);
    return i < 0 || (unsigned)m >= AES_M_COUNT ? NULL : g_aes.c[m][i];
}

EVP_MAC *aes_cmac_mac(void)
{
    return g_aes.cmac;
}

static void aes_teardown(void)
{
    for (int m = 0; m < AES_M_COUNT; m++)
        for (int i = 0; i < 3; i++) {
            EVP_CIPHER_free(g_aes.c[m][i]);
            g_aes.c[m][i] = NULL;
        }
    EVP_MAC_free(g_aes.cmac);
    g_aes.cmac = NULL;
}

static int aes_setup(void)
{
    static const int bits[3] = { 128, 192, 256 };
    char name[32];
    for (int m = 0; m < AES_M_COUNT; m++)
        for (int i = 0; i < 3; i++) {
            snprintf(name, sizeof name, "AES-%d-%s", bits[i], mode_names[m]);
            g_aes.c[m][i] = EVP_CIPHER_fetch(ossl_libctx(), name, NULL);
            if (!g_aes.c[m][i])
                goto fail;
        }
    g_aes.cmac = EVP_MAC_fetch(ossl_libctx(), "CMAC", NULL);
    if (g_aes.cmac)
        return 0;
fail:
    aes_teardown();
    return -1;
}

static bool no_param(const CK_MECHANISM *m)
{
    return m->ulParameterLen == 0;
}

/* ---- Key generation ---------------------------------------------------------------------- */

static CK_RV aes_generate(const struct mech_def *d, const CK_MECHANISM *m, attrs_t *key)
{
    (void)d;
    CK_ULONG len, kt;
    if (!no_param(m))
        return CKR_MECHANISM_PARAM_INVALID;
    if (attrs_ulong(key, CKA_KEY_TYPE, &kt) && kt != CKK_AES)
        return CKR_TEMPLATE_INCONSISTENT;
    if (!attrs_ulong(key, CKA_VALUE_LEN, &len))
        return CKR_TEMPLATE_INCOMPLETE;
    if (keyidx(len) < 0)
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

/* ---- ECB, CBC, CBC_PAD, CTR, CTS ------------------------------------------------------------
 * Output is computed before libcrypto sees any input, so a length query or a short buffer
 * consumes nothing. Partial blocks are held here (never inside libcrypto, whose padding is
 * off), which keeps the output of every call exact. */

enum blk_mode { BLK_ECB, BLK_CBC, BLK_CBC_PAD, BLK_CTR, BLK_CTS };

struct blk_ctx {
    struct mech_ctx base;
    EVP_CIPHER_CTX *ev;  /* the block-aligned stream; for CTS the CBC chain */
    EVP_CIPHER_CTX *cts; /* CTS: the last 17..32 bytes (or a whole single-part message) */
    struct mech_pool *pool; /* ECB/CBC/CBC_PAD/CTR: the key's pool of keyed contexts */
    /* Everything from here on belongs to one message (cleared for reuse). */
    enum blk_mode mode;
    bool enc;
    uint8_t buf[2 * AES_BLOCK];
    size_t buflen;
    bool ctr_limited;
    uint64_t ctr_left; /* CTR: bytes before the counter bits would wrap */
    bool last_ready;   /* CBC_PAD decrypt: last block already decrypted (kept for a retry) */
    uint8_t last[AES_BLOCK];
    size_t lastlen;
};

static CK_RV len_err(const struct blk_ctx *b)
{
    return b->enc ? CKR_DATA_LEN_RANGE : CKR_ENCRYPTED_DATA_LEN_RANGE;
}

static CK_RV cipher_init(EVP_CIPHER_CTX **ev, const EVP_CIPHER *c, const uint8_t *key,
                         const uint8_t *iv, bool enc, const OSSL_PARAM *params)
{
    *ev = EVP_CIPHER_CTX_new();
    if (!*ev)
        return CKR_HOST_MEMORY;
    if (!EVP_CipherInit_ex2(*ev, c, key, iv, enc ? 1 : 0, params) ||
        !EVP_CIPHER_CTX_set_padding(*ev, 0))
        return CKR_FUNCTION_FAILED;
    return CKR_OK;
}

static void blk_item_free(void *item)
{
    struct blk_ctx *b = item;
    EVP_CIPHER_CTX_free(b->ev);
    EVP_CIPHER_CTX_free(b->cts);
    OPENSSL_clear_free(b, sizeof *b);
}

/* Keyed ECB/CBC/CTR contexts are kept per key like the AEAD ones (pool.h). A key schedule is
 * for one direction, so the direction is part of the variant. */
static const struct pool_kind g_blk_pool = { blk_item_free, offsetof(struct blk_ctx, pool) };

static unsigned blk_variant(enum blk_mode mode, bool enc, size_t klen)
{
    return (unsigned)mode << 9 | (unsigned)enc << 8 | (unsigned)klen;
}

static void blk_clear_message(struct blk_ctx *b)
{
    OPENSSL_cleanse(&b->mode, sizeof *b - offsetof(struct blk_ctx, mode));
}

static void blk_free(struct mech_ctx *c)
{
    struct blk_ctx *b = (struct blk_ctx *)c;
    if (!b)
        return;
    blk_clear_message(b);
    pool_give(b->pool, &g_blk_pool, b, true);
}

static bool blk_park(struct mech_ctx *c)
{
    struct blk_ctx *b = (struct blk_ctx *)c;
    if (!b->pool) {
        blk_free(c);
        return false;
    }
    blk_clear_message(b);
    return true;
}

static CK_RV blk_init(const struct mech_def *d, CK_FLAGS fn, const CK_MECHANISM *m,
                      const struct mech_key *key, struct mech_ctx **out)
{
    enum blk_mode mode = (enum blk_mode)d->arg;
    const uint8_t *iv = NULL, *kv;
    size_t klen;
    if (fn != CKF_ENCRYPT && fn != CKF_DECRYPT)
        return CKR_MECHANISM_INVALID;
    const CK_AES_CTR_PARAMS *ctr = NULL;
    switch (mode) {
    case BLK_ECB:
        if (!no_param(m))
            return CKR_MECHANISM_PARAM_INVALID;
        break;
    case BLK_CBC:
    case BLK_CBC_PAD:
    case BLK_CTS:
        if (!m->pParameter || m->ulParameterLen != AES_BLOCK)
            return CKR_MECHANISM_PARAM_INVALID;
        iv = m->pParameter;
        break;
    case BLK_CTR:
        if (!m->pParameter || m->ulParameterLen != sizeof(CK_AES_CTR_PARAMS))
            return CKR_MECHANISM_PARAM_INVALID;
        ctr = m->pParameter;
        if (ctr->ulCounterBits == 0 || ctr->ulCounterBits > 128)
            return CKR_MECHANISM_PARAM_INVALID;
        iv = ctr->cb;
        break;
    default:
        return CKR_MECHANISM_INVALID;
    }
    CK_RV rv = sym_key_value(key, CKK_AES, &kv, &klen);
    if (rv != CKR_OK)
        return rv;
    bool enc = fn == CKF_ENCRYPT;
    struct mech_pool *pool = NULL;
    struct blk_ctx *b =
        mode != BLK_CTS ? pool_take(key, &g_blk_pool, blk_variant(mode, enc, klen), &pool) : NULL;
    /* A kept context has this key's schedule for this direction: only the IV is new. */
    if (b && !EVP_CipherInit_ex2(b->ev, NULL, NULL, iv, enc ? 1 : 0, NULL)) {
        blk_item_free(b);
        b = NULL;
    }
    bool fresh = !b;
    if (fresh && !(b = OPENSSL_zalloc(sizeof *b))) {
        pool_give(pool, &g_blk_pool, NULL, false);
        return CKR_HOST_MEMORY;
    }
    b->pool = pool;
    b->base.def = d;
    b->base.fn = fn;
    b->mode = mode;
    b->enc = fn == CKF_ENCRYPT;
    if (ctr && ctr->ulCounterBits < 60) {
        /* The counter occupies the low ulCounterBits of cb; refuse to run past its end rather
         * than carry into the nonce (libcrypto increments all 128 bits). */
        uint64_t low = 0;
        for (int i = 8; i < 16; i++)
            low = low << 8 | ctr->cb[i];
        uint64_t span = (uint64_t)1 << ctr->ulCounterBits;
        b->ctr_limited = true;
        b->ctr_left = (span - (low & (span - 1))) * AES_BLOCK;
    }
    enum aes_mode am = mode == BLK_ECB ? AES_M_ECB : mode == BLK_CTR ? AES_M_CTR : AES_M_CBC;
    rv = fresh ? cipher_init(&b->ev, aes_cipher(am, klen), kv, iv, b->enc, NULL) : CKR_OK;
    if (rv == CKR_OK && mode == BLK_CTS) {
        OSSL_PARAM p[] = { OSSL_PARAM_construct_utf8_string(OSSL_CIPHER_PARAM_CTS_MODE,
                                                            (char *)"CS3", 0),
                           OSSL_PARAM_construct_end() };
        rv = cipher_init(&b->cts, aes_cipher(AES_M_CTS, klen), kv, iv, b->enc, p);
    }
    if (rv != CKR_OK) {
        struct mech_pool *held = b->pool;
        b->pool = NULL; /* a context that failed to start is not kept */
        blk_free(&b->base);
        pool_give(held, &g_blk_pool, NULL, false);
        return rv;
    }
    *out = &b->base;
    return CKR_OK;
}

static CK_RV run(EVP_CIPHER_CTX *ev, uint8_t *out, const uint8_t *in, size_t n)
{
    int l;
    while (n > 0) {
        int chunk = n > (1u << 30) ? (1 << 30) : (int)n;
        if (!EVP_CipherUpdate(ev, out, &l, in, chunk) || l != chunk)
            return CKR_FUNCTION_FAILED;
        in += chunk;
        out += chunk;
        n -= (size_t)chunk;
    }
    return CKR_OK;
}

/* Emits exactly `emit` bytes (block multiple) from the stream buf||in, holding the rest. */
static CK_RV feed(struct blk_ctx *b, const uint8_t *in, size_t inlen, uint8_t *out, size_t emit)
{
    CK_RV rv = CKR_OK;
    if (emit > 0 && b->buflen >= AES_BLOCK) {
        size_t k = b->buflen / AES_BLOCK * AES_BLOCK;
        if (k > emit)
            k = emit;
        if ((rv = run(b->ev, out, b->buf, k)) != CKR_OK)
            return rv;
        memmove(b->buf, b->buf + k, b->buflen - k);
        b->buflen -= k;
        out += k;
        emit -= k;
    }
    if (emit > 0 && b->buflen > 0) {
        size_t need = AES_BLOCK - b->buflen;
        memcpy(b->buf + b->buflen, in, need);
        in += need;
        inlen -= need;
        if ((rv = run(b->ev, out, b->buf, AES_BLOCK)) != CKR_OK)
            return rv;
        b->buflen = 0;
        out += AES_BLOCK;
        emit -= AES_BLOCK;
    }
    if (emit > 0) {
        if ((rv = run(b->ev, out, in, emit)) != CKR_OK)
            return rv;
        in += emit;
        inlen -= emit;
    }
    memcpy(b->buf + b->buflen, in, inlen);
    b->buflen += inlen;
    return CKR_OK;
}

static size_t emit_for(const struct blk_ctx *b, size_t total)
{
    switch (b->mode) {
    case BLK_CBC_PAD:
        if (!b->enc)
            return total == 0 ? 0 : (total - 1) / AES_BLOCK * AES_BLOCK;
        return total / AES_BLOCK * AES_BLOCK;
    case BLK_CTS:
        return total > 2 * AES_BLOCK ? (total - AES_BLOCK - 1) / AES_BLOCK * AES_BLOCK : 0;
    default:
        return total / AES_BLOCK * AES_BLOCK;
    }
}

static CK_RV ctr_run(struct blk_ctx *b, const uint8_t *in, size_t inlen, uint8_t *out,
                     CK_ULONG *outlen)
{
    if (b->ctr_limited && inlen > b->ctr_left)
        return len_err(b);
    CK_RV rv = mech_out_check(out, outlen, inlen);
    if (rv != CKR_OK)
        return rv;
    if ((rv = run(b->ev, out, in, inlen)) != CKR_OK)
        return rv;
    if (b->ctr_limited)
        b->ctr_left -= inlen;
    *outlen = inlen;
    return CKR_OK;
}

static CK_RV blk_update(struct mech_ctx *c, const uint8_t *in, size_t inlen, uint8_t *out,
                        CK_ULONG *outlen)
{
    struct blk_ctx *b = (struct blk_ctx *)c;
    if (b->mode == BLK_CTR)
        return ctr_run(b, in, inlen, out, outlen);
    if (inlen > SIZE_MAX - sizeof b->buf)
        return len_err(b);
    size_t emit = emit_for(b, b->buflen + inlen);
    CK_RV rv = mech_out_check(out, outlen, emit);
    if (rv != CKR_OK)
        return rv;
    if ((rv = feed(b, in, inlen, out, emit)) != CKR_OK)
        return rv;
    *outlen = emit;
    return CKR_OK;
}

static CK_RV unpad(const uint8_t blk[AES_BLOCK], size_t *plen)
{
    unsigned pad = blk[AES_BLOCK - 1], bad = (pad == 0) | (pad > AES_BLOCK);
    for (unsigned i = 0; i < AES_BLOCK; i++)
        bad |= (i >= AES_BLOCK - pad) & (blk[i] != pad);
    if (bad)
        return CKR_ENCRYPTED_DATA_INVALID;
    *plen = AES_BLOCK - pad;
    return CKR_OK;
}

static CK_RV blk_final(struct mech_ctx *c, uint8_t *out, CK_ULONG *outlen)
{
    struct blk_ctx *b = (struct blk_ctx *)c;
    CK_RV rv;
    switch (b->mode) {
    case BLK_ECB:
    case BLK_CBC:
        if (b->buflen)
            return len_err(b);
        /* fallthrough */
    case BLK_CTR:
        if ((rv = mech_out_check(out, outlen, 0)) == CKR_OK)
            *outlen = 0;
        return rv;
    case BLK_CBC_PAD:
        if (b->enc) {
            if ((rv = mech_out_check(out, outlen, AES_BLOCK)) != CKR_OK)
                return rv;
            uint8_t pad = (uint8_t)(AES_BLOCK - b->buflen);
            memset(b->buf + b->buflen, pad, pad);
            if ((rv = run(b->ev, out, b->buf, AES_BLOCK)) == CKR_OK)
                *outlen = AES_BLOCK;
            b->buflen = 0;
            return rv;
        }
        if (!b->last_ready) {
            if (b->buflen != AES_BLOCK)
                return CKR_ENCRYPTED_DATA_LEN_RANGE;
            if ((rv = run(b->ev, b->last, b->buf, AES_BLOCK)) != CKR_OK)
                return rv;
            b->last_ready = true;
            if ((rv = unpad(b->last, &b->lastlen)) != CKR_OK)
                return rv;
        }
        if ((rv = mech_out_check(out, outlen, b->lastlen)) != CKR_OK)
            return rv;
        memcpy(out, b->last, b->lastlen);
        *outlen = b->lastlen;
        return CKR_OK;
    case BLK_CTS: {
        if (b->buflen < AES_BLOCK)
            return len_err(b);
        if ((rv = mech_out_check(out, outlen, b->buflen)) != CKR_OK)
            return rv;
        uint8_t iv[AES_BLOCK];
        if (!EVP_CIPHER_CTX_get_updated_iv(b->ev, iv, sizeof iv) ||
            !EVP_CipherInit_ex2(b->cts, NULL, NULL, iv, b->enc ? 1 : 0, NULL))
            return CKR_FUNCTION_FAILED;
        if ((rv = run(b->cts, out, b->buf, b->buflen)) == CKR_OK)
            *outlen = b->buflen;
        return rv;
    }
    }
    return CKR_FUNCTION_FAILED;
}

/* CBC_PAD single-part decryption into a buffer shorter than the input: the exact length is
 * only known after decrypting, so it is done on a copy that a short buffer leaves unused. */
static CK_RV cbcpad_decrypt_exact(struct blk_ctx *b, const uint8_t *in, size_t inlen,
                                  uint8_t *out, CK_ULONG *outlen)
{
    EVP_CIPHER_CTX *tmp = EVP_CIPHER_CTX_new();
    uint8_t *pt = secmem_alloc(inlen);
    CK_RV rv = CKR_HOST_MEMORY;
    size_t plen;
    if (!tmp || !pt)
        goto out;
    rv = CKR_FUNCTION_FAILED;
    if (!EVP_CIPHER_CTX_copy(tmp, b->ev))
        goto out;
    if ((rv = run(tmp, pt, in, inlen)) != CKR_OK)
        goto out;
    if ((rv = unpad(pt + inlen - AES_BLOCK, &plen)) != CKR_OK)
        goto out;
    plen += inlen - AES_BLOCK;
    if ((rv = mech_out_check(out, outlen, plen)) == CKR_OK) {
        memcpy(out, pt, plen);
        *outlen = plen;
    }
out:
    EVP_CIPHER_CTX_free(tmp);
    secmem_free(pt);
    return rv;
}

static CK_RV blk_oneshot(struct mech_ctx *c, const uint8_t *in, size_t inlen, uint8_t *out,
                         CK_ULONG *outlen)
{
    struct blk_ctx *b = (struct blk_ctx *)c;
    CK_RV rv;
    switch (b->mode) {
    case BLK_CTR:
        return ctr_run(b, in, inlen, out, outlen);
    case BLK_CTS:
        if (inlen < AES_BLOCK)
            return len_err(b);
        if ((rv = mech_out_check(out, outlen, inlen)) != CKR_OK)
            return rv;
        if ((rv = run(b->cts, out, in, inlen)) == CKR_OK)
            *outlen = inlen;
        return rv;
    case BLK_ECB:
    case BLK_CBC:
        if (inlen % AES_BLOCK)
            return len_err(b);
        if ((rv = mech_out_check(out, outlen, inlen)) != CKR_OK)
            return rv;
        if ((rv = run(b->ev, out, in, inlen)) == CKR_OK)
            *outlen = inlen;
        return rv;
    case BLK_CBC_PAD:
        break;
    }
    if (b->enc) {
        size_t body = inlen / AES_BLOCK * AES_BLOCK;
        if (inlen > SIZE_MAX - AES_BLOCK)
            return CKR_DATA_LEN_RANGE;
        if ((rv = mech_out_check(out, outlen, body + AES_BLOCK)) != CKR_OK)
            return rv;
        CK_ULONG l = AES_BLOCK;
        if ((rv = feed(b, in, inlen, out, body)) == CKR_OK &&
            (rv = blk_final(c, out + body, &l)) == CKR_OK)
            *outlen = body + l;
        return rv;
    }
    if (inlen == 0 || inlen % AES_BLOCK)
        return CKR_ENCRYPTED_DATA_LEN_RANGE;
    if (out && *outlen < inlen)
        return cbcpad_decrypt_exact(b, in, inlen, out, outlen);
    if ((rv = mech_out_check(out, outlen, inlen)) != CKR_OK)
        return rv; /* an upper bound, as 5.2 allows */
    CK_ULONG l = AES_BLOCK;
    if ((rv = feed(b, in, inlen, out, inlen - AES_BLOCK)) == CKR_OK &&
        (rv = blk_final(c, out + inlen - AES_BLOCK, &l)) == CKR_OK)
        *outlen = inlen - AES_BLOCK + l;
    return rv;
}

/* ---- Generic wrap / unwrap ----------------------------------------------------------------- */

static CK_RV map_rv(CK_RV rv, const CK_RV from[], const CK_RV to[], size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (rv == from[i])
            return to[i];
    return rv;
}

CK_RV sym_wrap(const struct mech_def *d, const CK_MECHANISM *m, const struct mech_key *wrapping,
               const attrs_t *key, uint8_t *out, CK_ULONG *outlen)
{
    static const CK_RV from[] = { CKR_KEY_TYPE_INCONSISTENT, CKR_KEY_SIZE_RANGE,
                                  CKR_DATA_LEN_RANGE };
    static const CK_RV to[] = { CKR_WRAPPING_KEY_TYPE_INCONSISTENT, CKR_WRAPPING_KEY_SIZE_RANGE,
                                CKR_KEY_SIZE_RANGE };
    CK_OBJECT_CLASS cls;
    const uint8_t *plain = NULL;
    uint8_t *owned = NULL;
    size_t plen = 0;
    struct mech_ctx *c = NULL;
    CK_RV rv;
    if (!attrs_ulong(key, CKA_CLASS, &cls))
        return CKR_KEY_NOT_WRAPPABLE;
    if (cls == CKO_SECRET_KEY) {
        const attr_t *v = attrs_get(key, CKA_VALUE);
        if (!v || v->len == 0)
            return CKR_KEY_NOT_WRAPPABLE;
        plain = v->val;
        plen = v->len;
    } else if (cls == CKO_PRIVATE_KEY && sym_pkcs8_encode) {
        if ((rv = sym_pkcs8_encode(key, &owned, &plen)) != CKR_OK)
            return rv;
        plain = owned;
    } else {
        return CKR_KEY_NOT_WRAPPABLE;
    }
    if ((d->type == CKM_AES_ECB || d->type == CKM_AES_CBC) && plen % AES_BLOCK) {
        /* The unpadded modes wrap with trailing zeros; unwrap cuts at CKA_VALUE_LEN. */
        size_t padded = (plen / AES_BLOCK + 1) * AES_BLOCK;
        uint8_t *z = secmem_alloc(padded);
        if (!z) {
            rv = CKR_HOST_MEMORY;
            goto out;
        }
        memcpy(z, plain, plen);
        memset(z + plen, 0, padded - plen);
        secmem_free(owned);
        plain = owned = z;
        plen = padded;
    }
    rv = d->family->init(d, CKF_ENCRYPT, m, wrapping, &c);
    if (rv == CKR_OK)
        rv = d->family->oneshot(c, plain, plen, out, outlen);
    rv = map_rv(rv, from, to, sizeof from / sizeof from[0]);
out:
    if (c)
        d->family->free(c);
    secmem_free(owned);
    return rv;
}

static bool padless(CK_MECHANISM_TYPE t)
{
    return t == CKM_AES_ECB || t == CKM_AES_CBC || t == CKM_AES_KEY_WRAP;
}

CK_RV sym_unwrap(const struct mech_def *d, const CK_MECHANISM *m,
                 const struct mech_key *unwrapping, const uint8_t *in, size_t inlen,
                 attrs_t *key)
{
    static const CK_RV from[] = { CKR_KEY_TYPE_INCONSISTENT, CKR_KEY_SIZE_RANGE,
                                  CKR_ENCRYPTED_DATA_INVALID, CKR_ENCRYPTED_DATA_LEN_RANGE,
                                  CKR_BUFFER_TOO_SMALL };
    static const CK_RV to[] = { CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT,
                                CKR_UNWRAPPING_KEY_SIZE_RANGE, CKR_WRAPPED_KEY_INVALID,
                                CKR_WRAPPED_KEY_LEN_RANGE, CKR_WRAPPED_KEY_LEN_RANGE };
    CK_OBJECT_CLASS cls;
    CK_KEY_TYPE kt = CK_UNAVAILABLE_INFORMATION;
    CK_ULONG vlen;
    struct mech_ctx *c = NULL;
    uint8_t *pt = NULL;
    CK_ULONG plen = inlen;
    if (!attrs_ulong(key, CKA_CLASS, &cls) ||
        (cls != CKO_SECRET_KEY && cls != CKO_PRIVATE_KEY))
        return CKR_TEMPLATE_INCONSISTENT;
    attrs_ulong(key, CKA_KEY_TYPE, &kt);
    CK_RV rv = d->family->init(d, CKF_DECRYPT, m, unwrapping, &c);
    if (rv == CKR_OK && !(pt = secmem_alloc(inlen ? inlen : 1)))
        rv = CKR_HOST_MEMORY;
    if (rv == CKR_OK)
        rv = d->family->oneshot(c, in, inlen, pt, &plen);
    rv = map_rv(rv, from, to, sizeof from / sizeof from[0]);
    if (rv != CKR_OK)
        goto out;
    if (cls == CKO_PRIVATE_KEY) {
        rv = sym_pkcs8_decode ? sym_pkcs8_decode(pt, plen, key) : CKR_FUNCTION_NOT_SUPPORTED;
        goto out;
    }
    if (attrs_ulong(key, CKA_VALUE_LEN, &vlen)) {
        if (vlen == 0 || vlen > plen || (!padless(d->type) && vlen != plen)) {
            rv = CKR_TEMPLATE_INCONSISTENT;
            goto out;
        }
        plen = vlen;
    }
    if (plen == 0 || (kt == CKK_AES && keyidx(plen) < 0) || (kt == CKK_CHACHA20 && plen != 32)) {
        rv = CKR_WRAPPED_KEY_LEN_RANGE;
        goto out;
    }
    rv = attrs_set(key, CKA_VALUE, pt, plen, true);
out:
    if (c)
        d->family->free(c);
    secmem_free(pt);
    return rv;
}

/* ---- Key derivation by data encryption ---------------------------------------------------- */

static CK_RV aes_derive(const struct mech_def *d, const CK_MECHANISM *m,
                        const struct mech_key *base, attrs_t *key)
{
    const uint8_t *data, *iv = NULL, *kv;
    size_t len, klen;
    CK_ULONG vlen, kt = CK_UNAVAILABLE_INFORMATION;
    if (!m->pParameter)
        return CKR_MECHANISM_PARAM_INVALID;
    if (d->type == CKM_AES_ECB_ENCRYPT_DATA) {
        const CK_KEY_DERIVATION_STRING_DATA *p = m->pParameter;
        if (m->ulParameterLen != sizeof *p)
            return CKR_MECHANISM_PARAM_INVALID;
        data = p->pData;
        len = p->ulLen;
    } else {
        const CK_AES_CBC_ENCRYPT_DATA_PARAMS *p = m->pParameter;
        if (m->ulParameterLen != sizeof *p)
            return CKR_MECHANISM_PARAM_INVALID;
        data = p->pData;
        len = p->length;
        iv = p->iv;
    }
    if (!data || len == 0 || len % AES_BLOCK)
        return CKR_MECHANISM_PARAM_INVALID;
    CK_RV rv = sym_key_value(base, CKK_AES, &kv, &klen);
    if (rv != CKR_OK)
        return rv;
    attrs_ulong(key, CKA_KEY_TYPE, &kt);
    size_t want = len;
    if (attrs_ulong(key, CKA_VALUE_LEN, &vlen)) {
        if (vlen == 0 || vlen > len)
            return CKR_TEMPLATE_INCONSISTENT;
        want = vlen;
    } else if (kt == CKK_AES && keyidx(len) < 0) {
        return CKR_TEMPLATE_INCOMPLETE;
    } else if (kt == CKK_CHACHA20) {
        want = 32;
        if (len < want)
            return CKR_TEMPLATE_INCONSISTENT;
    }
    EVP_CIPHER_CTX *ev = NULL;
    uint8_t *v = secmem_alloc(len);
    if (!v)
        return CKR_HOST_MEMORY;
    rv = cipher_init(&ev, aes_cipher(iv ? AES_M_CBC : AES_M_ECB, klen), kv, iv, true, NULL);
    if (rv == CKR_OK)
        rv = run(ev, v, data, len);
    if (rv == CKR_OK)
        rv = attrs_set(key, CKA_VALUE, v, want, true);
    EVP_CIPHER_CTX_free(ev);
    secmem_free(v);
    return rv;
}

/* ---- The table ------------------------------------------------------------------------------ */

static const struct mech_family aes_gen_family = {
    .name = "aes-keygen",
    .generate = aes_generate,
};

static const struct mech_family aes_block_family = {
    .name = "aes-block",
    .init = blk_init,
    .update = blk_update,
    .final = blk_final,
    .oneshot = blk_oneshot,
    .free = blk_free,
    .park = blk_park,
    .wrap = sym_wrap,
    .unwrap = sym_unwrap,
};

static const struct mech_family aes_derive_family = {
    .name = "aes-derive",
    .derive = aes_derive,
};

#define ENCDEC (CKF_ENCRYPT | CKF_DECRYPT)
#define WRAPS (CKF_WRAP | CKF_UNWRAP)

static const struct mech_def aes_defs[] = {
    { CKM_AES_KEY_GEN, 16, 32, CKF_GENERATE, CKK_AES, &aes_gen_family, 0, true },
    { CKM_AES_ECB, 16, 32, ENCDEC | WRAPS, CKK_AES, &aes_block_family, BLK_ECB, true },
    { CKM_AES_CBC, 16, 32, ENCDEC | WRAPS, CKK_AES, &aes_block_family, BLK_CBC, true },
    { CKM_AES_CBC_PAD, 16, 32, ENCDEC | WRAPS, CKK_AES, &aes_block_family, BLK_CBC_PAD, true },
    { CKM_AES_CTR, 16, 32, ENCDEC, CKK_AES, &aes_block_family, BLK_CTR, true },
    { CKM_AES_CTS, 16, 32, ENCDEC, CKK_AES, &aes_block_family, BLK_CTS, true },
    { CKM_AES_GCM, 16, 32, ENCDEC | WRAPS, CKK_AES, &aes_aead_family, AEAD_GCM, true },
    { CKM_AES_CCM, 16, 32, ENCDEC, CKK_AES, &aes_aead_family, AEAD_CCM, true },
    { CKM_AES_CMAC, 16, 32, CKF_SIGN | CKF_VERIFY, CKK_AES, &aes_cmac_family, 0, true },
    { CKM_AES_CMAC_GENERAL, 16, 32, CKF_SIGN | CKF_VERIFY, CKK_AES, &aes_cmac_family, 1, true },
    { CKM_AES_ECB_ENCRYPT_DATA, 16, 32, CKF_DERIVE, CKK_AES, &aes_derive_family, 0, true },
    { CKM_AES_CBC_ENCRYPT_DATA, 16, 32, CKF_DERIVE, CKK_AES, &aes_derive_family, 0, true },
    { CKM_AES_KEY_WRAP, 16, 32, ENCDEC | WRAPS, CKK_AES, &aes_wrap_family, AES_M_KW, true },
    { CKM_AES_KEY_WRAP_KWP, 16, 32, ENCDEC | WRAPS, CKK_AES, &aes_wrap_family, AES_M_KWP, true },
};

const struct mech_table mech_aes_table = {
    .defs = aes_defs,
    .n = sizeof aes_defs / sizeof aes_defs[0],
    .setup = aes_setup,
    .teardown = aes_teardown,
};
