/* Shared pieces of the asymmetric families: the per-object key cache, digests, buffers. */
#include "mech/asym_internal.h"
#include "base/ossl.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static CK_KEY_TYPE attrs_key_type(const attrs_t *a)
{
    CK_ULONG kt;
    return attrs_ulong(a, CKA_KEY_TYPE, &kt) ? kt : CK_UNAVAILABLE_INFORMATION;
}

/* ---- per-object cache --------------------------------------------------------------------- */

struct asym_cache {
    struct mech_cache_hdr hdr;
    EVP_PKEY *pkey;
};

static void asym_cache_destroy(void *self)
{
    struct asym_cache *c = self;
    EVP_PKEY_free(c->pkey);
    free(c);
}

CK_KEY_TYPE asym_key_type(const struct mech_key *key)
{
    return attrs_key_type(key->attrs);
}

CK_OBJECT_CLASS asym_key_class(const struct mech_key *key)
{
    CK_ULONG cls;
    return attrs_ulong(key->attrs, CKA_CLASS, &cls) ? cls : CK_UNAVAILABLE_INFORMATION;
}

CK_RV asym_key_pkey(const struct mech_key *key, EVP_PKEY **out)
{
    bool priv = asym_key_class(key) == CKO_PRIVATE_KEY;
    if (key->cache) {
        struct asym_cache *c = __atomic_load_n((struct asym_cache **)key->cache,
                                               __ATOMIC_ACQUIRE);
        if (c && c->hdr.destroy == asym_cache_destroy && EVP_PKEY_up_ref(c->pkey)) {
            *out = c->pkey;
            return CKR_OK;
        }
    }
    EVP_PKEY *k = NULL;
    CK_RV rv = mech_pkey_from_attrs(key->attrs, priv, &k);
    if (rv != CKR_OK)
        return rv;
    if (key->cache) {
        struct asym_cache *c = malloc(sizeof *c);
        if (c && EVP_PKEY_up_ref(k)) {
            c->hdr.destroy = asym_cache_destroy;
            c->pkey = k;
            void *expected = NULL;
            /* Another thread may have filled the slot meanwhile; keep its entry then. */
            if (!__atomic_compare_exchange_n(key->cache, &expected, c, false,
                                             __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
                EVP_PKEY_free(k);
                free(c);
            }
        } else {
            free(c);
        }
    }
    *out = k;
    return CKR_OK;
}

/* ---- digests ------------------------------------------------------------------------------ */

static const struct {
    CK_MECHANISM_TYPE mech;
    const char *name;
} g_md_names[] = {
    { CKM_SHA_1, "SHA1" },         { CKM_SHA224, "SHA2-224" },     { CKM_SHA256, "SHA2-256" },
    { CKM_SHA384, "SHA2-384" },    { CKM_SHA512, "SHA2-512" },     { CKM_SHA3_224, "SHA3-224" },
    { CKM_SHA3_256, "SHA3-256" },  { CKM_SHA3_384, "SHA3-384" },   { CKM_SHA3_512, "SHA3-512" },
};
#define N_MDS (sizeof g_md_names / sizeof g_md_names[0])

static struct {
    int refs;
    EVP_MD *md[N_MDS];
} g_asym;

int asym_setup(void)
{
    if (g_asym.refs++ > 0)
        return 0;
    for (size_t i = 0; i < N_MDS; i++) {
        g_asym.md[i] = EVP_MD_fetch(ossl_libctx(), g_md_names[i].name, NULL);
        if (!g_asym.md[i]) {
            g_asym.refs = 1;
            asym_teardown();
            return -1;
        }
    }
    return 0;
}

void asym_teardown(void)
{
    if (g_asym.refs == 0 || --g_asym.refs > 0)
        return;
    for (size_t i = 0; i < N_MDS; i++) {
        EVP_MD_free(g_asym.md[i]);
        g_asym.md[i] = NULL;
    }
}

const EVP_MD *asym_md(CK_MECHANISM_TYPE hash)
{
    for (size_t i = 0; i < N_MDS; i++)
        if (g_md_names[i].mech == hash)
            return g_asym.md[i];
    return NULL;
}

const char *asym_md_name(CK_MECHANISM_TYPE hash)
{
    for (size_t i = 0; i < N_MDS; i++)
        if (g_md_names[i].mech == hash)
            return g_md_names[i].name;
    return NULL;
}

CK_MECHANISM_TYPE asym_mgf_hash(CK_RSA_PKCS_MGF_TYPE mgf)
{
    switch (mgf) {
    case CKG_MGF1_SHA1: return CKM_SHA_1;
    case CKG_MGF1_SHA224: return CKM_SHA224;
    case CKG_MGF1_SHA256: return CKM_SHA256;
    case CKG_MGF1_SHA384: return CKM_SHA384;
    case CKG_MGF1_SHA512: return CKM_SHA512;
    case CKG_MGF1_SHA3_224: return CKM_SHA3_224;
    case CKG_MGF1_SHA3_256: return CKM_SHA3_256;
    case CKG_MGF1_SHA3_384: return CKM_SHA3_384;
    case CKG_MGF1_SHA3_512: return CKM_SHA3_512;
    default: return 0;
    }
}

/* ---- small shared pieces ------------------------------------------------------------------ */

#define ASYM_BUF_MAX (64UL << 20)

CK_RV asym_buf_add(struct asym_buf *b, const uint8_t *in, size_t len)
{
    if (len == 0)
        return CKR_OK;
    if (len > ASYM_BUF_MAX - b->len)
        return CKR_DATA_LEN_RANGE;
    if (b->len + len > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + len)
            cap *= 2;
        uint8_t *p = malloc(cap);
        if (!p)
            return CKR_HOST_MEMORY;
        if (b->len)
            memcpy(p, b->p, b->len);
        if (b->p) {
            OPENSSL_cleanse(b->p, b->cap);
            free(b->p);
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, in, len);
    b->len += len;
    return CKR_OK;
}

void asym_buf_free(struct asym_buf *b)
{
    if (b->p) {
        OPENSSL_cleanse(b->p, b->cap);
        free(b->p);
    }
    memset(b, 0, sizeof *b);
}

CK_RV asym_derived_len(const attrs_t *key, size_t dflt, size_t max, size_t *out)
{
    CK_ULONG len = 0, kt = CKK_GENERIC_SECRET;
    bool have_len = attrs_ulong(key, CKA_VALUE_LEN, &len);
    attrs_ulong(key, CKA_KEY_TYPE, &kt);
    size_t fixed = 0;
    switch (kt) {
    case CKK_DES: fixed = 8; break;
    case CKK_DES2: fixed = 16; break;
    case CKK_DES3: fixed = 24; break;
    case CKK_CHACHA20: fixed = 32; break;
    default: break;
    }
    if (!have_len) {
        if (fixed)
            len = fixed;
        else if (kt == CKK_AES)
            /* No size named: the whole secret when it is an AES key size. */
            len = (dflt == 16 || dflt == 24 || dflt == 32) ? dflt : 0;
        else
            len = dflt;
        if (len == 0)
            return CKR_TEMPLATE_INCOMPLETE;
    }
    if (len == 0 || (fixed && len != fixed) ||
        (kt == CKK_AES && len != 16 && len != 24 && len != 32))
        return CKR_TEMPLATE_INCONSISTENT;
    if (len > max)
        return CKR_KEY_SIZE_RANGE;
    *out = len;
    return CKR_OK;
}

EVP_PKEY_CTX *asym_ctx_new(const char *name)
{
    static const struct { const char *name, *oid; } oids[] = {
        { "RSA", "1.2.840.113549.1.1.1" }, { "EC", "1.2.840.10045.2.1" },
        { "ED25519", "1.3.101.112" },      { "ED448", "1.3.101.113" },
        { "X25519", "1.3.101.110" },       { "X448", "1.3.101.111" },
    };
    for (size_t i = 0; i < sizeof oids / sizeof oids[0]; i++)
        if (!strcasecmp(name, oids[i].name))
            return EVP_PKEY_CTX_new_from_name(ossl_libctx(), oids[i].oid, NULL);
    return EVP_PKEY_CTX_new_from_name(ossl_libctx(), name, NULL);
}
