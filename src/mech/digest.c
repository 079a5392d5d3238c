/* Message digests (SHA-1, SHA-2, SHA-3): single- and multi-part, C_DigestKey and savable state.
 *
 * Operation state (C_GetOperationState). OpenSSL 3 has no public way to export the internal
 * state of an EVP_MD_CTX, and keeping a copy of all data fed so far would not scale. So when
 * the digests come from OpenSSL's "default" provider, SHA-1 and the SHA-2 family run on the
 * low-level SHA*_Init/Update/Final functions (deprecated in 3.0 but present; the same code
 * the default provider calls underneath), whose context structs are public: get_state
 * serializes their fields in a fixed, architecture-neutral layout (below) and set_state
 * validates and restores them. SHA-3 always runs through EVP and reports
 * CKR_STATE_UNSAVEABLE. When the digests come from any other provider (e.g. "fips"), every
 * digest runs through EVP in the module's library context and no state is savable.
 *
 * A digest that has absorbed a key through C_DigestKey is never savable: its state could hold
 * raw key bytes (the unprocessed tail of the block buffer).
 *
 * State blob v1 (all integers big-endian):
 *   "CRDS" | u8 version=1 | u64 mechanism | u8 kind (1 SHA-1, 2 SHA-256, 3 SHA-512)
 *   | h[5 or 8] (u32, u32 or u64) | Nl, Nh (u32, u32 or u64) | u32 md_len | u32 num
 *   | num bytes of the unprocessed block buffer */
#define OPENSSL_SUPPRESS_DEPRECATED
#include "mech/mech.h"
#include "base/log.h"
#include "base/ossl.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/provider.h>
#include <openssl/sha.h>
#include <string.h>

enum low_kind { LOW_NONE = 0, LOW_SHA1 = 1, LOW_SHA256 = 2, LOW_SHA512 = 3 };

struct dalg {
    CK_MECHANISM_TYPE mech;
    const char *name;
    size_t len;
    enum low_kind low;
    const uint64_t *iv512; /* SHA-512/t initial hash value (FIPS 180-4 5.3.6) */
};

static const uint64_t iv_512_224[8] = {
    0x8C3D37C819544DA2ULL, 0x73E1996689DCD4D6ULL, 0x1DFAB7AE32FF9C82ULL, 0x679DD514582F9FCFULL,
    0x0F6D2B697BD44DA8ULL, 0x77E36F7304C48942ULL, 0x3F9D85A86A1D36C8ULL, 0x1112E6AD91D692A1ULL,
};
static const uint64_t iv_512_256[8] = {
    0x22312194FC2BF72CULL, 0x9F555FA3C84C64C2ULL, 0x2393B86B6F53B151ULL, 0x963877195940EABDULL,
    0x96283EE2A88EFFE3ULL, 0xBE5E1E2553863992ULL, 0x2B0199FC2C85B8AAULL, 0x0EB72DDC81C52CA2ULL,
};

static const struct dalg g_algs[] = {
    { CKM_SHA_1, "SHA1", 20, LOW_SHA1, NULL },
    { CKM_SHA224, "SHA2-224", 28, LOW_SHA256, NULL },
    { CKM_SHA256, "SHA2-256", 32, LOW_SHA256, NULL },
    { CKM_SHA384, "SHA2-384", 48, LOW_SHA512, NULL },
    { CKM_SHA512, "SHA2-512", 64, LOW_SHA512, NULL },
    { CKM_SHA512_224, "SHA2-512/224", 28, LOW_SHA512, iv_512_224 },
    { CKM_SHA512_256, "SHA2-512/256", 32, LOW_SHA512, iv_512_256 },
    { CKM_SHA3_224, "SHA3-224", 28, LOW_NONE, NULL },
    { CKM_SHA3_256, "SHA3-256", 32, LOW_NONE, NULL },
    { CKM_SHA3_384, "SHA3-384", 48, LOW_NONE, NULL },
    { CKM_SHA3_512, "SHA3-512", 64, LOW_NONE, NULL },
};
#define NALGS (sizeof g_algs / sizeof g_algs[0])

static struct {
    EVP_MD *md[NALGS];
    bool low_ok; /* digests served by the default provider: low-level path allowed */
} g_dig;

struct dctx {
    struct mech_ctx base;
    const struct dalg *alg;
    EVP_MD_CTX *md;   /* EVP path */
    bool low;         /* low-level path */
    bool keyed;       /* C_DigestKey was used: state not savable */
    union {
        SHA_CTX s1;
        SHA256_CTX s256;
        SHA512_CTX s512;
    } u;
};

static const struct mech_family g_digest_family;

static const struct dalg *alg_of(const struct mech_def *d)
{
    return d->arg < NALGS ? &g_algs[d->arg] : NULL;
}

static int low_init(struct dctx *c)
{
    const struct dalg *a = c->alg;
    switch (a->mech) {
    case CKM_SHA_1:
        return SHA1_Init(&c->u.s1);
    case CKM_SHA224:
        return SHA224_Init(&c->u.s256);
    case CKM_SHA256:
        return SHA256_Init(&c->u.s256);
    case CKM_SHA384:
        return SHA384_Init(&c->u.s512);
    case CKM_SHA512:
        return SHA512_Init(&c->u.s512);
    case CKM_SHA512_224:
    case CKM_SHA512_256:
        /* No public init for SHA-512/t in 3.0: SHA-512 with the t-specific IV and output
         * length (SHA512_Final honours md_len 28 and 32). */
        if (!SHA512_Init(&c->u.s512))
            return 0;
        for (int i = 0; i < 8; i++)
            c->u.s512.h[i] = a->iv512[i];
        c->u.s512.md_len = (unsigned int)a->len;
        return 1;
    default:
        return 0;
    }
}

static int low_update(struct dctx *c, const void *in, size_t len)
{
    switch (c->alg->low) {
    case LOW_SHA1:
        return SHA1_Update(&c->u.s1, in, len);
    case LOW_SHA256:
        return SHA256_Update(&c->u.s256, in, len);
    case LOW_SHA512:
        return SHA512_Update(&c->u.s512, in, len);
    default:
        return 0;
    }
}

static int low_final(struct dctx *c, uint8_t *out)
{
    switch (c->alg->low) {
    case LOW_SHA1:
        return SHA1_Final(out, &c->u.s1);
    case LOW_SHA256:
        return SHA256_Final(out, &c->u.s256); /* md_len selects 224 or 256 */
    case LOW_SHA512:
        return SHA512_Final(out, &c->u.s512); /* md_len selects 224/256/384/512 */
    default:
        return 0;
    }
}

static void dctx_free(struct mech_ctx *base)
{
    struct dctx *c = (struct dctx *)base;
    if (!c)
        return;
    EVP_MD_CTX_free(c->md);
    OPENSSL_clear_free(c, sizeof *c);
}

static CK_RV dctx_new(const struct mech_def *d, struct dctx **out)
{
    const struct dalg *a = alg_of(d);
    size_t idx = d->arg;
    if (!a || !g_dig.md[idx])
        return CKR_MECHANISM_INVALID;
    struct dctx *c = OPENSSL_zalloc(sizeof *c);
    if (!c)
        return CKR_HOST_MEMORY;
    c->base.def = d;
    c->base.fn = CKF_DIGEST;
    c->alg = a;
    c->low = g_dig.low_ok && a->low != LOW_NONE;
    *out = c;
    return CKR_OK;
}

static CK_RV digest_init(const struct mech_def *d, CK_FLAGS fn, const CK_MECHANISM *m,
                         const struct mech_key *key, struct mech_ctx **out)
{
    struct dctx *c = NULL;
    CK_RV rv;
    (void)key;
    if (fn != CKF_DIGEST)
        return CKR_MECHANISM_INVALID;
    if (m && m->ulParameterLen != 0)
        return CKR_MECHANISM_PARAM_INVALID;
    if ((rv = dctx_new(d, &c)) != CKR_OK)
        return rv;
    if (c->low) {
        if (!low_init(c))
            goto fail;
    } else {
        c->md = EVP_MD_CTX_new();
        if (!c->md || !EVP_DigestInit_ex2(c->md, g_dig.md[d->arg], NULL))
            goto fail;
    }
    *out = &c->base;
    return CKR_OK;
fail:
    dctx_free(&c->base);
    return CKR_FUNCTION_FAILED;
}

static CK_RV feed(struct dctx *c, const uint8_t *in, size_t len)
{
    if (!len)
        return CKR_OK;
    int ok = c->low ? low_update(c, in, len) : EVP_DigestUpdate(c->md, in, len);
    return ok ? CKR_OK : CKR_FUNCTION_FAILED;
}

static CK_RV digest_update(struct mech_ctx *base, const uint8_t *in, size_t inlen, uint8_t *out,
                           CK_ULONG *outlen)
{
    (void)out;
    (void)outlen;
    return feed((struct dctx *)base, in, inlen);
}

static CK_RV digest_final(struct mech_ctx *base, uint8_t *out, CK_ULONG *outlen)
{
    struct dctx *c = (struct dctx *)base;
    CK_RV rv = mech_out_check(out, outlen, c->alg->len);
    if (rv != CKR_OK)
        return rv;
    int ok = c->low ? low_final(c, out) : EVP_DigestFinal_ex(c->md, out, NULL);
    if (!ok)
        return CKR_FUNCTION_FAILED;
    *outlen = c->alg->len;
    return CKR_OK;
}

static CK_RV digest_oneshot(struct mech_ctx *base, const uint8_t *in, size_t inlen, uint8_t *out,
                            CK_ULONG *outlen)
{
    struct dctx *c = (struct dctx *)base;
    /* Length rules first: a length query or short buffer consumes nothing. */
    CK_RV rv = mech_out_check(out, outlen, c->alg->len);
    if (rv != CKR_OK)
        return rv;
    if ((rv = feed(c, in, inlen)) != CKR_OK)
        return rv;
    return digest_final(base, out, outlen);
}

/* C_DigestKey: only a secret key's value can be digested. */
static CK_RV digest_key(struct mech_ctx *base, const struct mech_key *key)
{
    struct dctx *c = (struct dctx *)base;
    CK_OBJECT_CLASS cls;
    if (!key || !key->attrs || !attrs_ulong(key->attrs, CKA_CLASS, &cls) ||
        cls != CKO_SECRET_KEY)
        return CKR_KEY_INDIGESTIBLE;
    const attr_t *v = attrs_get(key->attrs, CKA_VALUE);
    if (!v || (!v->val && v->len))
        return CKR_KEY_INDIGESTIBLE;
    c->keyed = true;
    return feed(c, v->val, v->len);
}

/* --- state serialization ------------------------------------------------------------- */

#define STATE_MAGIC "CRDS"
#define STATE_VERSION 1
#define STATE_HDR (4 + 1 + 8 + 1)

static uint8_t *put32(uint8_t *p, uint32_t v)
{
    for (int i = 3; i >= 0; i--)
        *p++ = (uint8_t)(v >> (8 * i));
    return p;
}

static uint8_t *put64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--)
        *p++ = (uint8_t)(v >> (8 * i));
    return p;
}

static uint32_t get32(const uint8_t **pp)
{
    const uint8_t *p = *pp;
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v = (v << 8) | p[i];
    *pp = p + 4;
    return v;
}

static uint64_t get64(const uint8_t **pp)
{
    const uint8_t *p = *pp;
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    *pp = p + 8;
    return v;
}

/* Fixed part of the body after the header, per kind (without the buffered bytes). */
static size_t body_fixed(enum low_kind k)
{
    switch (k) {
    case LOW_SHA1:
        return 5 * 4 + 2 * 4 + 4 + 4;
    case LOW_SHA256:
        return 8 * 4 + 2 * 4 + 4 + 4;
    case LOW_SHA512:
        return 8 * 8 + 2 * 8 + 4 + 4;
    default:
        return 0;
    }
}

static size_t block_size(enum low_kind k)
{
    return k == LOW_SHA1 ? SHA_CBLOCK : k == LOW_SHA256 ? SHA256_CBLOCK : SHA512_CBLOCK;
}

static CK_RV digest_get_state(struct mech_ctx *base, uint8_t *out, CK_ULONG *outlen)
{
    struct dctx *c = (struct dctx *)base;
    if (!c->low || c->keyed)
        return CKR_STATE_UNSAVEABLE;
    enum low_kind k = c->alg->low;
    unsigned int num = k == LOW_SHA1 ? c->u.s1.num
                       : k == LOW_SHA256 ? c->u.s256.num : c->u.s512.num;
    size_t need = STATE_HDR + body_fixed(k) + num;
    CK_RV rv = mech_out_check(out, outlen, need);
    if (rv != CKR_OK)
        return rv;
    uint8_t *p = out;
    memcpy(p, STATE_MAGIC, 4);
    p += 4;
    *p++ = STATE_VERSION;
    p = put64(p, c->alg->mech);
    *p++ = (uint8_t)k;
    switch (k) {
    case LOW_SHA1: {
        const SHA_CTX *s = &c->u.s1;
        p = put32(p, s->h0);
        p = put32(p, s->h1);
        p = put32(p, s->h2);
        p = put32(p, s->h3);
        p = put32(p, s->h4);
        p = put32(p, s->Nl);
        p = put32(p, s->Nh);
        p = put32(p, SHA_DIGEST_LENGTH);
        p = put32(p, s->num);
        memcpy(p, s->data, s->num);
        p += s->num;
        break;
    }
    case LOW_SHA256: {
        const SHA256_CTX *s = &c->u.s256;
        for (int i = 0; i < 8; i++)
            p = put32(p, s->h[i]);
        p = put32(p, s->Nl);
        p = put32(p, s->Nh);
        p = put32(p, s->md_len);
        p = put32(p, s->num);
        memcpy(p, s->data, s->num);
        p += s->num;
        break;
    }
    default: {
        const SHA512_CTX *s = &c->u.s512;
        for (int i = 0; i < 8; i++)
            p = put64(p, s->h[i]);
        p = put64(p, s->Nl);
        p = put64(p, s->Nh);
        p = put32(p, s->md_len);
        p = put32(p, s->num);
        memcpy(p, s->u.p, s->num);
        p += s->num;
        break;
    }
    }
    *outlen = (CK_ULONG)(p - out);
    return CKR_OK;
}

static CK_RV digest_set_state(const struct mech_def *d, const uint8_t *in, size_t inlen,
                              struct mech_ctx **out)
{
    const struct dalg *a = alg_of(d);
    struct dctx *c = NULL;
    CK_RV rv;
    if (!a || d->family != &g_digest_family)
        return CKR_SAVED_STATE_INVALID;
    if (!g_dig.low_ok || a->low == LOW_NONE)
        return CKR_SAVED_STATE_INVALID;
    if (!in || inlen < STATE_HDR || memcmp(in, STATE_MAGIC, 4) != 0 || in[4] != STATE_VERSION)
        return CKR_SAVED_STATE_INVALID;
    const uint8_t *p = in + 5;
    if (get64(&p) != a->mech || *p++ != (uint8_t)a->low)
        return CKR_SAVED_STATE_INVALID;
    size_t fixed = body_fixed(a->low);
    if (inlen < STATE_HDR + fixed)
        return CKR_SAVED_STATE_INVALID;
    /* num sits at the end of the fixed part; check the total length before parsing. */
    const uint8_t *q = in + STATE_HDR + fixed - 4;
    uint32_t num = get32(&q);
    if (num >= block_size(a->low) || inlen != STATE_HDR + fixed + num)
        return CKR_SAVED_STATE_INVALID;
    if ((rv = dctx_new(d, &c)) != CKR_OK)
        return rv;
    if (!c->low || !low_init(c)) { /* sets md_len and the struct's other fields */
        dctx_free(&c->base);
        return CKR_SAVED_STATE_INVALID;
    }
    uint32_t md_len;
    switch (a->low) {
    case LOW_SHA1: {
        SHA_CTX *s = &c->u.s1;
        s->h0 = get32(&p);
        s->h1 = get32(&p);
        s->h2 = get32(&p);
        s->h3 = get32(&p);
        s->h4 = get32(&p);
        s->Nl = get32(&p);
        s->Nh = get32(&p);
        md_len = get32(&p);
        s->num = get32(&p);
        memcpy(s->data, p, num);
        if (md_len != SHA_DIGEST_LENGTH)
            goto bad;
        break;
    }
    case LOW_SHA256: {
        SHA256_CTX *s = &c->u.s256;
        for (int i = 0; i < 8; i++)
            s->h[i] = get32(&p);
        s->Nl = get32(&p);
        s->Nh = get32(&p);
        md_len = get32(&p);
        s->num = get32(&p);
        memcpy(s->data, p, num);
        if (md_len != s->md_len) /* low_init set the mechanism's own */
            goto bad;
        break;
    }
    default: {
        SHA512_CTX *s = &c->u.s512;
        for (int i = 0; i < 8; i++)
            s->h[i] = get64(&p);
        s->Nl = get64(&p);
        s->Nh = get64(&p);
        md_len = get32(&p);
        s->num = get32(&p);
        memcpy(s->u.p, p, num);
        if (md_len != s->md_len)
            goto bad;
        break;
    }
    }
    *out = &c->base;
    return CKR_OK;
bad:
    dctx_free(&c->base);
    return CKR_SAVED_STATE_INVALID;
}

/* --- table --------------------------------------------------------------------------- */

static int digest_setup(void)
{
    OSSL_LIB_CTX *lc = ossl_libctx();
    bool all_default = true;
    for (size_t i = 0; i < NALGS; i++) {
        g_dig.md[i] = EVP_MD_fetch(lc, g_algs[i].name, NULL);
        if (!g_dig.md[i]) {
            /* Not offered by the loaded providers: init reports CKR_MECHANISM_INVALID. */
            LOG_WARN("digest %s is not available", g_algs[i].name);
            continue;
        }
        const OSSL_PROVIDER *prov = EVP_MD_get0_provider(g_dig.md[i]);
        const char *pname = prov ? OSSL_PROVIDER_get0_name(prov) : NULL;
        if (g_algs[i].low != LOW_NONE && (!pname || strcmp(pname, "default") != 0))
            all_default = false;
    }
    g_dig.low_ok = all_default;
    return 0;
}

static void digest_teardown(void)
{
    for (size_t i = 0; i < NALGS; i++) {
        EVP_MD_free(g_dig.md[i]);
        g_dig.md[i] = NULL;
    }
    g_dig.low_ok = false;
}

static const struct mech_family g_digest_family = {
    .name = "digest",
    .init = digest_init,
    .update = digest_update,
    .final = digest_final,
    .oneshot = digest_oneshot,
    .free = dctx_free,
    .digest_key = digest_key,
    .get_state = digest_get_state,
    .set_state = digest_set_state,
};

#define DIG(mech, idx) \
    { (mech), 0, 0, CKF_DIGEST, CK_UNAVAILABLE_INFORMATION, &g_digest_family, (idx), true }

static const struct mech_def g_digest_defs[] = {
    DIG(CKM_SHA_1, 0),       DIG(CKM_SHA224, 1),     DIG(CKM_SHA256, 2),
    DIG(CKM_SHA384, 3),      DIG(CKM_SHA512, 4),     DIG(CKM_SHA512_224, 5),
    DIG(CKM_SHA512_256, 6),  DIG(CKM_SHA3_224, 7),   DIG(CKM_SHA3_256, 8),
    DIG(CKM_SHA3_384, 9),    DIG(CKM_SHA3_512, 10),
};

const struct mech_table mech_digest_table = {
    .defs = g_digest_defs,
    .n = sizeof g_digest_defs / sizeof g_digest_defs[0],
    .setup = digest_setup,
    .teardown = digest_teardown,
};
