/* Key derivation: HKDF (derive, data, key generation), PBKDF2, SP 800-108 counter and
 * feedback KDFs, and the simple derivations (concatenate, XOR, extract).
 *
 * HKDF and PBKDF2 run on OpenSSL's KDF implementations in the module's context. SP 800-108 is
 * built here over EVP_MAC (HMAC or AES-CMAC), because the PKCS#11 data-parameter list lets the
 * caller order counter, byte strings and the DKM length freely and choose their widths and
 * endianness, which OpenSSL's KBKDF (fixed label||0x00||context||L layout) cannot express.
 *
 * Limits, all reported as CKR_MECHANISM_PARAM_INVALID: HKDF with a salt key
 * (CKF_HKDF_SALT_KEY: this layer receives no object handles), HKDF info over 1024 bytes (the
 * limit of OpenSSL 3.0's HKDF), SP 800-108 additional derived keys, PBKDF2 with more than
 * PBKDF2_MAX_ITER iterations (so a call cannot run for hours). Derived values are at most
 * KDF_MAX_OUT bytes. */
#include "mech/mech.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/ossl.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <string.h>

#define KDF_MAX_OUT 8192u
#define HKDF_MAX_INFO 1024u
#define PBKDF2_MAX_ITER 10000000UL
#define PBKDF2_MAX_PASSWORD 65535UL
#define KEYGEN_MAX 8192u

enum kdf_kind {
    K_HKDF_DERIVE,
    K_HKDF_DATA,
    K_HKDF_KEYGEN,
    K_PBKDF2,
    K_SP108_COUNTER,
    K_SP108_FEEDBACK,
    K_CONCAT_BASE_DATA,
    K_CONCAT_DATA_BASE,
    K_XOR_BASE_DATA,
    K_EXTRACT,
};

static struct {
    EVP_KDF *hkdf, *pbkdf2;
    EVP_MAC *hmac, *cmac;
} g_kdf;

/* --- hashes by mechanism ------------------------------------------------------------- */

struct khash {
    CK_MECHANISM_TYPE hash, hmac;
    CK_KEY_TYPE hmac_key;
    const char *name;
    size_t len;
};

static const struct khash g_khash[] = {
    { CKM_SHA_1, CKM_SHA_1_HMAC, CKK_SHA_1_HMAC, "SHA1", 20 },
    { CKM_SHA224, CKM_SHA224_HMAC, CKK_SHA224_HMAC, "SHA2-224", 28 },
    { CKM_SHA256, CKM_SHA256_HMAC, CKK_SHA256_HMAC, "SHA2-256", 32 },
    { CKM_SHA384, CKM_SHA384_HMAC, CKK_SHA384_HMAC, "SHA2-384", 48 },
    { CKM_SHA512, CKM_SHA512_HMAC, CKK_SHA512_HMAC, "SHA2-512", 64 },
    { CKM_SHA512_224, CKM_SHA512_224_HMAC, CKK_SHA512_224_HMAC, "SHA2-512/224", 28 },
    { CKM_SHA512_256, CKM_SHA512_256_HMAC, CKK_SHA512_256_HMAC, "SHA2-512/256", 32 },
    { CKM_SHA3_224, CKM_SHA3_224_HMAC, CKK_SHA3_224_HMAC, "SHA3-224", 28 },
    { CKM_SHA3_256, CKM_SHA3_256_HMAC, CKK_SHA3_256_HMAC, "SHA3-256", 32 },
    { CKM_SHA3_384, CKM_SHA3_384_HMAC, CKK_SHA3_384_HMAC, "SHA3-384", 48 },
    { CKM_SHA3_512, CKM_SHA3_512_HMAC, CKK_SHA3_512_HMAC, "SHA3-512", 64 },
};
#define NKHASH (sizeof g_khash / sizeof g_khash[0])

/* By hash mechanism (CKM_SHA256) or, leniently, its HMAC mechanism (CKM_SHA256_HMAC): both
 * spellings occur in clients' CK_HKDF_PARAMS.prfHashMechanism. */
static const struct khash *hash_by_mech(CK_MECHANISM_TYPE m, bool allow_hash, bool allow_hmac)
{
    for (size_t i = 0; i < NKHASH; i++)
        if ((allow_hash && g_khash[i].hash == m) || (allow_hmac && g_khash[i].hmac == m))
            return &g_khash[i];
    return NULL;
}

/* --- shared helpers ------------------------------------------------------------------ */

/* The value of a secret key (class CKO_SECRET_KEY, or also CKO_DATA when allow_data). */
static CK_RV base_value(const struct mech_key *base, bool allow_data, CK_OBJECT_CLASS *cls_out,
                        const uint8_t **val, size_t *len)
{
    CK_OBJECT_CLASS cls;
    if (!base || !base->attrs)
        return CKR_KEY_HANDLE_INVALID;
    if (!attrs_ulong(base->attrs, CKA_CLASS, &cls) ||
        !(cls == CKO_SECRET_KEY || (allow_data && cls == CKO_DATA)))
        return CKR_KEY_TYPE_INCONSISTENT;
    const attr_t *v = attrs_get(base->attrs, CKA_VALUE);
    if (!v || (!v->val && v->len))
        return CKR_KEY_TYPE_INCONSISTENT;
    if (cls_out)
        *cls_out = cls;
    *val = v->val;
    *len = v->len;
    return CKR_OK;
}

static CK_RV base_key_type(const struct mech_key *base, CK_KEY_TYPE *kt)
{
    return attrs_ulong(base->attrs, CKA_KEY_TYPE, kt) ? CKR_OK : CKR_KEY_TYPE_INCONSISTENT;
}

/* Fixed value length of a key type, 0 when the type takes a length (generic, AES, ...). */
static size_t fixed_len(CK_KEY_TYPE kt)
{
    switch (kt) {
    case CKK_DES:
        return 8;
    case CKK_DES2:
        return 16;
    case CKK_DES3:
        return 24;
    case CKK_CHACHA20:
        return 32;
    default:
        return 0;
    }
}

/* The length to derive for the object being built: CKA_VALUE_LEN, else the key type's fixed
 * length, else dflt (0: none, CKR_TEMPLATE_INCOMPLETE). Checks the length against the type. */
static CK_RV out_len(const attrs_t *key, size_t dflt, size_t max, size_t *len)
{
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_KEY_TYPE kt = CKK_GENERIC_SECRET;
    CK_ULONG vl;
    bool have_kt, have_len;
    (void)attrs_ulong(key, CKA_CLASS, &cls);
    if (cls != CKO_SECRET_KEY && cls != CKO_DATA)
        return CKR_TEMPLATE_INCONSISTENT;
    have_kt = cls == CKO_SECRET_KEY && attrs_ulong(key, CKA_KEY_TYPE, &kt);
    have_len = attrs_ulong(key, CKA_VALUE_LEN, &vl);
    size_t fixed = have_kt ? fixed_len(kt) : 0;
    size_t n;
    if (have_len) {
        if (fixed && vl != fixed)
            return CKR_TEMPLATE_INCONSISTENT;
        n = vl;
    } else if (fixed) {
        n = fixed;
    } else if (dflt && !(have_kt && (kt == CKK_AES || kt == CKK_AES_XTS))) {
        n = dflt;
    } else {
        return CKR_TEMPLATE_INCOMPLETE;
    }
    if (have_kt && kt == CKK_AES && n != 16 && n != 24 && n != 32)
        return CKR_TEMPLATE_INCONSISTENT;
    if (have_kt && kt == CKK_AES_XTS && n != 32 && n != 64)
        return CKR_TEMPLATE_INCONSISTENT;
    if (n == 0 || n > max)
        return CKR_KEY_SIZE_RANGE;
    *len = n;
    return CKR_OK;
}

/* Adds the derived value (secret) and, for key types that carry a length (not DES & co.),
 * CKA_VALUE_LEN when the template had none. */
static CK_RV put_value(attrs_t *key, const uint8_t *v, size_t len)
{
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_KEY_TYPE kt = CKK_GENERIC_SECRET;
    CK_RV rv = attrs_set(key, CKA_VALUE, v, (CK_ULONG)len, true);
    (void)attrs_ulong(key, CKA_CLASS, &cls);
    (void)attrs_ulong(key, CKA_KEY_TYPE, &kt);
    if (rv == CKR_OK && cls == CKO_SECRET_KEY && !fixed_len(kt) && !attrs_get(key, CKA_VALUE_LEN))
        rv = attrs_set_ulong(key, CKA_VALUE_LEN, (CK_ULONG)len);
    return rv;
}

static bool is_bool(CK_BBOOL b)
{
    return b == CK_TRUE || b == CK_FALSE;
}

/* --- HKDF (PKCS#11 3.0 curr. 2.43) --------------------------------------------------- */

static CK_RV hkdf_derive(const struct mech_def *d, const CK_MECHANISM *m,
                         const struct mech_key *base, attrs_t *key)
{
    CK_HKDF_PARAMS p;
    if (!m || !m->pParameter || m->ulParameterLen != sizeof p)
        return CKR_MECHANISM_PARAM_INVALID;
    memcpy(&p, m->pParameter, sizeof p);
    if (!is_bool(p.bExtract) || !is_bool(p.bExpand) || (!p.bExtract && !p.bExpand))
        return CKR_MECHANISM_PARAM_INVALID;
    const struct khash *h = hash_by_mech(p.prfHashMechanism, true, true);
    if (!h)
        return CKR_MECHANISM_PARAM_INVALID;
    const uint8_t *salt = NULL;
    size_t saltlen = 0;
    if (p.bExtract) {
        switch (p.ulSaltType) {
        case CKF_HKDF_SALT_NULL:
            if (p.pSalt || p.ulSaltLen)
                return CKR_MECHANISM_PARAM_INVALID;
            break; /* OpenSSL then uses HashLen zero bytes, as RFC 5869 says */
        case CKF_HKDF_SALT_DATA:
            if (!p.pSalt || !p.ulSaltLen)
                return CKR_MECHANISM_PARAM_INVALID;
            salt = p.pSalt;
            saltlen = p.ulSaltLen;
            break;
        default: /* CKF_HKDF_SALT_KEY needs an object handle this layer cannot resolve */
            return CKR_MECHANISM_PARAM_INVALID;
        }
    }
    if (p.bExpand && ((p.ulInfoLen && !p.pInfo) || p.ulInfoLen > HKDF_MAX_INFO))
        return CKR_MECHANISM_PARAM_INVALID;

    CK_OBJECT_CLASS bcls;
    const uint8_t *ikm;
    size_t ikmlen;
    CK_RV rv = base_value(base, d->arg == K_HKDF_DATA, &bcls, &ikm, &ikmlen);
    if (rv != CKR_OK)
        return rv;
    if (bcls == CKO_SECRET_KEY) {
        CK_KEY_TYPE kt;
        if ((rv = base_key_type(base, &kt)) != CKR_OK)
            return rv;
        if (kt != CKK_HKDF && kt != CKK_GENERIC_SECRET)
            return CKR_KEY_TYPE_INCONSISTENT;
    } else if (!p.bExtract || !salt) {
        /* A data object is no key: only extract with a real salt makes it one. */
        return CKR_MECHANISM_PARAM_INVALID;
    }
    if (ikmlen == 0)
        return CKR_KEY_SIZE_RANGE;

    size_t n;
    size_t max = p.bExpand ? (255 * h->len < KDF_MAX_OUT ? 255 * h->len : KDF_MAX_OUT) : h->len;
    if ((rv = out_len(key, h->len, max, &n)) != CKR_OK)
        return rv;
    if (!p.bExpand && n != h->len)
        return CKR_TEMPLATE_INCONSISTENT; /* extract alone yields exactly the PRK */

    int mode = !p.bExpand ? EVP_KDF_HKDF_MODE_EXTRACT_ONLY
               : !p.bExtract ? EVP_KDF_HKDF_MODE_EXPAND_ONLY
                             : EVP_KDF_HKDF_MODE_EXTRACT_AND_EXPAND;
    OSSL_PARAM prm[6];
    size_t k = 0;
    prm[k++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)h->name, 0);
    prm[k++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)ikm, ikmlen);
    prm[k++] = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
    if (salt)
        prm[k++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, saltlen);
    if (p.bExpand && p.ulInfoLen)
        prm[k++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, p.pInfo, p.ulInfoLen);
    prm[k] = OSSL_PARAM_construct_end();

    uint8_t *out = secmem_alloc(n);
    EVP_KDF_CTX *kc = g_kdf.hkdf ? EVP_KDF_CTX_new(g_kdf.hkdf) : NULL;
    if (!out || !kc)
        rv = out ? CKR_FUNCTION_FAILED : CKR_HOST_MEMORY;
    else if (EVP_KDF_derive(kc, out, n, prm) != 1)
        rv = CKR_FUNCTION_FAILED;
    else
        rv = put_value(key, out, n);
    EVP_KDF_CTX_free(kc);
    secmem_free(out);
    return rv;
}

/* --- key generation (CKM_HKDF_KEY_GEN) ----------------------------------------------- */

static CK_RV hkdf_keygen(const struct mech_def *d, const CK_MECHANISM *m, attrs_t *key)
{
    CK_ULONG len;
    CK_KEY_TYPE kt;
    CK_OBJECT_CLASS cls;
    (void)d;
    if (m && m->ulParameterLen != 0)
        return CKR_MECHANISM_PARAM_INVALID;
    if (attrs_ulong(key, CKA_CLASS, &cls) && cls != CKO_SECRET_KEY)
        return CKR_TEMPLATE_INCONSISTENT;
    if (attrs_ulong(key, CKA_KEY_TYPE, &kt) && kt != CKK_HKDF)
        return CKR_TEMPLATE_INCONSISTENT;
    if (!attrs_ulong(key, CKA_VALUE_LEN, &len))
        return CKR_TEMPLATE_INCOMPLETE;
    if (len < 1 || len > KEYGEN_MAX)
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

/* --- PBKDF2 (CKM_PKCS5_PBKD2, C_GenerateKey) ----------------------------------------- */

static const char *pbkdf2_prf(CK_ULONG prf)
{
    switch (prf) {
    case CKP_PKCS5_PBKD2_HMAC_SHA1:
        return "SHA1";
    case CKP_PKCS5_PBKD2_HMAC_SHA224:
        return "SHA2-224";
    case CKP_PKCS5_PBKD2_HMAC_SHA256:
        return "SHA2-256";
    case CKP_PKCS5_PBKD2_HMAC_SHA384:
        return "SHA2-384";
    case CKP_PKCS5_PBKD2_HMAC_SHA512:
        return "SHA2-512";
    case CKP_PKCS5_PBKD2_HMAC_SHA512_224:
        return "SHA2-512/224";
    case CKP_PKCS5_PBKD2_HMAC_SHA512_256:
        return "SHA2-512/256";
    default:
        return NULL;
    }
}

/* Both layouts have the same size on common ABIs; they differ only in whether the last field
 * is the password length (CK_PKCS5_PBKD2_PARAMS2, 3.0) or a pointer to it (the v2.20
 * CK_PKCS5_PBKD2_PARAMS). A value below 64 KiB is read as a length: no valid pointer is that
 * small on Linux (vm.mmap_min_addr), and no password is that long. */
static CK_RV pbkdf2_generate(const struct mech_def *d, const CK_MECHANISM *m, attrs_t *key)
{
    CK_PKCS5_PBKD2_PARAMS2 p;
    CK_ULONG pwlen;
    (void)d;
    if (!m || !m->pParameter ||
        (m->ulParameterLen != sizeof(CK_PKCS5_PBKD2_PARAMS2) &&
         m->ulParameterLen != sizeof(CK_PKCS5_PBKD2_PARAMS)))
        return CKR_MECHANISM_PARAM_INVALID;
    if (m->ulParameterLen == sizeof p) {
        memcpy(&p, m->pParameter, sizeof p);
        pwlen = p.ulPasswordLen;
        if (pwlen > PBKDF2_MAX_PASSWORD) {
            const CK_PKCS5_PBKD2_PARAMS *old = m->pParameter;
            pwlen = *old->ulPasswordLen;
        }
    } else {
        const CK_PKCS5_PBKD2_PARAMS *old = m->pParameter;
        memcpy(&p, old, offsetof(CK_PKCS5_PBKD2_PARAMS, ulPasswordLen));
        if (!old->ulPasswordLen)
            return CKR_MECHANISM_PARAM_INVALID;
        pwlen = *old->ulPasswordLen;
    }
    if (pwlen > PBKDF2_MAX_PASSWORD || (pwlen && !p.pPassword))
        return CKR_MECHANISM_PARAM_INVALID;
    if (p.saltSource != CKZ_SALT_SPECIFIED || !p.pSaltSourceData || !p.ulSaltSourceDataLen)
        return CKR_MECHANISM_PARAM_INVALID;
    if (p.iterations < 1 || p.iterations > PBKDF2_MAX_ITER)
        return CKR_MECHANISM_PARAM_INVALID;
    const char *md = pbkdf2_prf(p.prf);
    if (!md || p.ulPrfDataLen != 0)
        return CKR_MECHANISM_PARAM_INVALID;

    CK_OBJECT_CLASS cls;
    if (attrs_ulong(key, CKA_CLASS, &cls) && cls != CKO_SECRET_KEY)
        return CKR_TEMPLATE_INCONSISTENT;
    size_t n;
    CK_RV rv = out_len(key, 0, KDF_MAX_OUT, &n);
    if (rv != CKR_OK)
        return rv;

    int pkcs5 = 1; /* no SP 800-132 lower bounds here: policy lives in the token layer */
    uint64_t iter = p.iterations;
    static const uint8_t empty[1];
    OSSL_PARAM prm[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)md, 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD,
                                          pwlen ? (void *)p.pPassword : (void *)empty, pwlen),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, p.pSaltSourceData,
                                          p.ulSaltSourceDataLen),
        OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_ITER, &iter),
        OSSL_PARAM_construct_int(OSSL_KDF_PARAM_PKCS5, &pkcs5),
        OSSL_PARAM_construct_end(),
    };
    uint8_t *out = secmem_alloc(n);
    EVP_KDF_CTX *kc = g_kdf.pbkdf2 ? EVP_KDF_CTX_new(g_kdf.pbkdf2) : NULL;
    if (!out || !kc)
        rv = out ? CKR_FUNCTION_FAILED : CKR_HOST_MEMORY;
    else if (EVP_KDF_derive(kc, out, n, prm) != 1)
        rv = CKR_FUNCTION_FAILED;
    else
        rv = put_value(key, out, n);
    EVP_KDF_CTX_free(kc);
    secmem_free(out);
    return rv;
}

/* --- SP 800-108 (PKCS#11 3.0 curr. 2.42) ---------------------------------------------- */

struct sp108 {
    bool feedback;
    const CK_PRF_DATA_PARAM *dp;
    size_t ndp;
    const uint8_t *iv;
    size_t ivlen;
};

static bool width_ok(CK_ULONG bits, CK_ULONG max)
{
    return bits >= 8 && bits <= max && bits % 8 == 0;
}

/* Checks the data parameter list for the mode: exactly one iteration variable (a counter
 * format in counter mode, no value in feedback mode), at most one optional counter (feedback
 * only) and one DKM length, any byte arrays. */
static CK_RV sp108_check(const struct sp108 *s)
{
    bool iter = false, ctr = false, dkm = false;
    if (!s->dp || s->ndp == 0 || s->ndp > 64)
        return CKR_MECHANISM_PARAM_INVALID;
    for (size_t i = 0; i < s->ndp; i++) {
        const CK_PRF_DATA_PARAM *p = &s->dp[i];
        switch (p->type) {
        case CK_SP800_108_ITERATION_VARIABLE:
            if (iter)
                return CKR_MECHANISM_PARAM_INVALID;
            iter = true;
            if (s->feedback) {
                if (p->pValue || p->ulValueLen)
                    return CKR_MECHANISM_PARAM_INVALID;
                break;
            }
            /* fall through: in counter mode it carries a counter format */
            goto counter_format;
        case CK_SP800_108_OPTIONAL_COUNTER:
            if (!s->feedback || ctr)
                return CKR_MECHANISM_PARAM_INVALID;
            ctr = true;
        counter_format: {
            CK_SP800_108_COUNTER_FORMAT f;
            if (!p->pValue || p->ulValueLen != sizeof f)
                return CKR_MECHANISM_PARAM_INVALID;
            memcpy(&f, p->pValue, sizeof f);
            if (!is_bool(f.bLittleEndian) || !width_ok(f.ulWidthInBits, 32))
                return CKR_MECHANISM_PARAM_INVALID;
            break;
        }
        case CK_SP800_108_DKM_LENGTH: {
            CK_SP800_108_DKM_LENGTH_FORMAT f;
            if (dkm || !p->pValue || p->ulValueLen != sizeof f)
                return CKR_MECHANISM_PARAM_INVALID;
            dkm = true;
            memcpy(&f, p->pValue, sizeof f);
            if (!is_bool(f.bLittleEndian) || !width_ok(f.ulWidthInBits, 64) ||
                (f.dkmLengthMethod != CK_SP800_108_DKM_LENGTH_SUM_OF_KEYS &&
                 f.dkmLengthMethod != CK_SP800_108_DKM_LENGTH_SUM_OF_SEGMENTS))
                return CKR_MECHANISM_PARAM_INVALID;
            break;
        }
        case CK_SP800_108_BYTE_ARRAY:
            if (p->ulValueLen && !p->pValue)
                return CKR_MECHANISM_PARAM_INVALID;
            break;
        default:
            return CKR_MECHANISM_PARAM_INVALID;
        }
    }
    return iter ? CKR_OK : CKR_MECHANISM_PARAM_INVALID;
}

/* Writes v as a width-bit integer; CKR_MECHANISM_PARAM_INVALID when it does not fit. */
static CK_RV encode_uint(uint64_t v, CK_ULONG bits, CK_BBOOL le, uint8_t *out)
{
    size_t n = bits / 8;
    if (bits < 64 && (v >> bits) != 0)
        return CKR_MECHANISM_PARAM_INVALID;
    for (size_t i = 0; i < n; i++) {
        uint8_t b = (uint8_t)(v >> (8 * i));
        out[le ? i : n - 1 - i] = b;
    }
    return CKR_OK;
}

static CK_RV mac_feed_uint(EVP_MAC_CTX *c, uint64_t v, CK_ULONG bits, CK_BBOOL le)
{
    uint8_t buf[8];
    CK_RV rv = encode_uint(v, bits, le, buf);
    if (rv == CKR_OK && !EVP_MAC_update(c, buf, bits / 8))
        rv = CKR_FUNCTION_FAILED;
    return rv;
}

static CK_RV sp108_block(const struct sp108 *s, EVP_MAC_CTX *c, uint64_t i, const uint8_t *prev,
                         size_t prevlen, uint64_t keys_bits, uint64_t segs_bits)
{
    CK_RV rv = CKR_OK;
    for (size_t k = 0; k < s->ndp && rv == CKR_OK; k++) {
        const CK_PRF_DATA_PARAM *p = &s->dp[k];
        switch (p->type) {
        case CK_SP800_108_ITERATION_VARIABLE:
            if (s->feedback) {
                if (prevlen && !EVP_MAC_update(c, prev, prevlen))
                    rv = CKR_FUNCTION_FAILED;
                break;
            }
            /* fall through */
        case CK_SP800_108_OPTIONAL_COUNTER: {
            CK_SP800_108_COUNTER_FORMAT f;
            memcpy(&f, p->pValue, sizeof f);
            rv = mac_feed_uint(c, i, f.ulWidthInBits, f.bLittleEndian);
            break;
        }
        case CK_SP800_108_DKM_LENGTH: {
            CK_SP800_108_DKM_LENGTH_FORMAT f;
            memcpy(&f, p->pValue, sizeof f);
            uint64_t l = f.dkmLengthMethod == CK_SP800_108_DKM_LENGTH_SUM_OF_KEYS ? keys_bits
                                                                                : segs_bits;
            rv = mac_feed_uint(c, l, f.ulWidthInBits, f.bLittleEndian);
            break;
        }
        case CK_SP800_108_BYTE_ARRAY:
            if (p->ulValueLen && !EVP_MAC_update(c, p->pValue, p->ulValueLen))
                rv = CKR_FUNCTION_FAILED;
            break;
        default:
            rv = CKR_MECHANISM_PARAM_INVALID;
        }
    }
    return rv;
}

/* A keyed PRF context for prfType over the base key. */
static CK_RV sp108_prf(CK_MECHANISM_TYPE prf, const struct mech_key *base, EVP_MAC_CTX **out,
                       size_t *hlen)
{
    const uint8_t *kv;
    size_t kl;
    CK_KEY_TYPE kt;
    CK_RV rv = base_value(base, false, NULL, &kv, &kl);
    if (rv != CKR_OK || (rv = base_key_type(base, &kt)) != CKR_OK)
        return rv;
    OSSL_PARAM prm[2];
    EVP_MAC *mac;
    if (prf == CKM_AES_CMAC) {
        if (kt != CKK_AES)
            return CKR_KEY_TYPE_INCONSISTENT;
        const char *cipher = kl == 16 ? "AES-128-CBC" : kl == 24 ? "AES-192-CBC"
                             : kl == 32 ? "AES-256-CBC" : NULL;
        if (!cipher)
            return CKR_KEY_SIZE_RANGE;
        prm[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, (char *)cipher, 0);
        mac = g_kdf.cmac;
        *hlen = 16;
    } else {
        const struct khash *h = hash_by_mech(prf, false, true);
        if (!h)
            return CKR_MECHANISM_PARAM_INVALID;
        if (kt != CKK_GENERIC_SECRET && kt != h->hmac_key)
            return CKR_KEY_TYPE_INCONSISTENT;
        if (kl == 0)
            return CKR_KEY_SIZE_RANGE;
        prm[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)h->name, 0);
        mac = g_kdf.hmac;
        *hlen = h->len;
    }
    prm[1] = OSSL_PARAM_construct_end();
    EVP_MAC_CTX *c = mac ? EVP_MAC_CTX_new(mac) : NULL;
    if (!c || !EVP_MAC_init(c, kv, kl, prm)) {
        EVP_MAC_CTX_free(c);
        return CKR_FUNCTION_FAILED;
    }
    *out = c;
    return CKR_OK;
}

static CK_RV sp108_derive(const struct mech_def *d, const CK_MECHANISM *m,
                          const struct mech_key *base, attrs_t *key)
{
    struct sp108 s = { .feedback = d->arg == K_SP108_FEEDBACK };
    CK_MECHANISM_TYPE prf;
    if (!m || !m->pParameter)
        return CKR_MECHANISM_PARAM_INVALID;
    if (s.feedback) {
        CK_SP800_108_FEEDBACK_KDF_PARAMS p;
        if (m->ulParameterLen != sizeof p)
            return CKR_MECHANISM_PARAM_INVALID;
        memcpy(&p, m->pParameter, sizeof p);
        if (p.ulAdditionalDerivedKeys || (p.ulIVLen && !p.pIV))
            return CKR_MECHANISM_PARAM_INVALID;
        prf = p.prfType;
        s.dp = p.pDataParams;
        s.ndp = p.ulNumberOfDataParams;
        s.iv = p.pIV;
        s.ivlen = p.ulIVLen;
    } else {
        CK_SP800_108_KDF_PARAMS p;
        if (m->ulParameterLen != sizeof p)
            return CKR_MECHANISM_PARAM_INVALID;
        memcpy(&p, m->pParameter, sizeof p);
        if (p.ulAdditionalDerivedKeys)
            return CKR_MECHANISM_PARAM_INVALID;
        prf = p.prfType;
        s.dp = p.pDataParams;
        s.ndp = p.ulNumberOfDataParams;
    }
    CK_RV rv = sp108_check(&s);
    if (rv != CKR_OK)
        return rv;

    EVP_MAC_CTX *keyed = NULL;
    size_t h, n;
    if ((rv = sp108_prf(prf, base, &keyed, &h)) != CKR_OK)
        return rv;
    if ((rv = out_len(key, 0, KDF_MAX_OUT, &n)) != CKR_OK) {
        EVP_MAC_CTX_free(keyed);
        return rv;
    }
    size_t blocks = (n + h - 1) / h;
    uint8_t *dkm = secmem_alloc(blocks * h);
    if (!dkm) {
        EVP_MAC_CTX_free(keyed);
        return CKR_HOST_MEMORY;
    }
    for (size_t i = 0; i < blocks && rv == CKR_OK; i++) {
        EVP_MAC_CTX *c = EVP_MAC_CTX_dup(keyed);
        size_t got = 0;
        const uint8_t *prev = i ? dkm + (i - 1) * h : s.iv;
        size_t prevlen = i ? h : s.ivlen;
        if (!c)
            rv = CKR_HOST_MEMORY;
        else
            rv = sp108_block(&s, c, i + 1, prev, prevlen, (uint64_t)n * 8,
                             (uint64_t)blocks * h * 8);
        if (rv == CKR_OK && (!EVP_MAC_final(c, dkm + i * h, &got, h) || got != h))
            rv = CKR_FUNCTION_FAILED;
        EVP_MAC_CTX_free(c);
    }
    if (rv == CKR_OK)
        rv = put_value(key, dkm, n);
    EVP_MAC_CTX_free(keyed);
    secmem_free(dkm);
    return rv;
}

/* --- simple derivations (PKCS#11 3.0 curr. 2.38) -------------------------------------- */

/* Length for the simple derivations: template length or key type's, else `avail` when
 * dflt_avail (concatenate, XOR), else CKR_TEMPLATE_INCOMPLETE (extract). Never more than
 * avail. A template without a key type makes a generic secret key. */
static CK_RV simple_len(attrs_t *key, size_t avail, bool dflt_avail, size_t *n)
{
    CK_KEY_TYPE kt;
    CK_RV rv = out_len(key, dflt_avail ? avail : 0, KDF_MAX_OUT, n);
    if (rv != CKR_OK)
        return rv;
    if (*n > avail)
        return CKR_TEMPLATE_INCONSISTENT;
    if (!attrs_ulong(key, CKA_KEY_TYPE, &kt))
        return attrs_set_ulong(key, CKA_KEY_TYPE, CKK_GENERIC_SECRET);
    return CKR_OK;
}

static CK_RV simple_derive(const struct mech_def *d, const CK_MECHANISM *m,
                           const struct mech_key *base, attrs_t *key)
{
    const uint8_t *bv;
    size_t bl;
    CK_OBJECT_CLASS cls;
    CK_RV rv = base_value(base, false, NULL, &bv, &bl);
    if (rv != CKR_OK)
        return rv;
    if (attrs_ulong(key, CKA_CLASS, &cls) && cls != CKO_SECRET_KEY)
        return CKR_TEMPLATE_INCONSISTENT;

    const uint8_t *data = NULL;
    size_t dl = 0;
    CK_EXTRACT_PARAMS bit = 0;
    if (d->arg == K_EXTRACT) {
        if (!m || !m->pParameter || m->ulParameterLen != sizeof bit)
            return CKR_MECHANISM_PARAM_INVALID;
        memcpy(&bit, m->pParameter, sizeof bit);
        if (bl == 0 || bit >= (CK_ULONG)bl * 8)
            return CKR_MECHANISM_PARAM_INVALID;
    } else {
        CK_KEY_DERIVATION_STRING_DATA p;
        if (!m || !m->pParameter || m->ulParameterLen != sizeof p)
            return CKR_MECHANISM_PARAM_INVALID;
        memcpy(&p, m->pParameter, sizeof p);
        if (p.ulLen && !p.pData)
            return CKR_MECHANISM_PARAM_INVALID;
        if (p.ulLen > KDF_MAX_OUT)
            return CKR_MECHANISM_PARAM_INVALID;
        data = p.pData;
        dl = p.ulLen;
    }

    size_t avail = d->arg == K_XOR_BASE_DATA ? (bl < dl ? bl : dl)
                   : d->arg == K_EXTRACT     ? bl
                                             : bl + dl;
    size_t n = 0;
    if ((rv = simple_len(key, avail, d->arg != K_EXTRACT, &n)) != CKR_OK)
        return rv;
    if (d->arg == K_EXTRACT && bl == 0)
        return CKR_KEY_SIZE_RANGE; /* no bits to extract from an empty key */
    uint8_t *out = secmem_alloc(avail ? avail : 1);
    if (!out)
        return CKR_HOST_MEMORY;
    switch (d->arg) {
    case K_CONCAT_BASE_DATA:
        memcpy(out, bv, bl);
        if (dl)
            memcpy(out + bl, data, dl);
        break;
    case K_CONCAT_DATA_BASE:
        if (dl)
            memcpy(out, data, dl);
        memcpy(out + dl, bv, bl);
        break;
    case K_XOR_BASE_DATA:
        for (size_t i = 0; i < avail; i++)
            out[i] = bv[i] ^ data[i];
        break;
    default: { /* extract: bits b[bit..] with b0 the first byte's MSB, wrapping around */
        size_t total = bl * 8;
        if (total == 0) { /* refused above already; said again for the analyser */
            n = 0;
            break;
        }
        for (size_t i = 0; i < n; i++) {
            uint8_t byte = 0;
            for (size_t j = 0; j < 8; j++) {
                size_t pos = (bit + i * 8 + j) % total;
                byte = (uint8_t)(byte << 1 | ((bv[pos / 8] >> (7 - pos % 8)) & 1));
            }
            out[i] = byte;
        }
        break;
    }
    }
    rv = put_value(key, out, n);
    secmem_free(out);
    return rv;
}

/* --- table --------------------------------------------------------------------------- */

static int kdf_setup(void)
{
    OSSL_LIB_CTX *lc = ossl_libctx();
    g_kdf.hkdf = EVP_KDF_fetch(lc, "HKDF", NULL);
    g_kdf.pbkdf2 = EVP_KDF_fetch(lc, "PBKDF2", NULL);
    g_kdf.hmac = EVP_MAC_fetch(lc, "HMAC", NULL);
    g_kdf.cmac = EVP_MAC_fetch(lc, "CMAC", NULL);
    if (!g_kdf.hkdf || !g_kdf.pbkdf2 || !g_kdf.hmac || !g_kdf.cmac)
        LOG_WARN("some KDF primitives are unavailable; their mechanisms will fail");
    return 0;
}

static void kdf_teardown(void)
{
    EVP_KDF_free(g_kdf.hkdf);
    EVP_KDF_free(g_kdf.pbkdf2);
    EVP_MAC_free(g_kdf.hmac);
    EVP_MAC_free(g_kdf.cmac);
    memset(&g_kdf, 0, sizeof g_kdf);
}

static const struct mech_family g_hkdf_family = {
    .name = "hkdf", .generate = hkdf_keygen, .derive = hkdf_derive,
};
static const struct mech_family g_pbkdf2_family = { .name = "pbkdf2", .generate = pbkdf2_generate };
static const struct mech_family g_sp108_family = { .name = "sp800-108", .derive = sp108_derive };
static const struct mech_family g_simple_family = { .name = "simple-kdf", .derive = simple_derive };

#define UNAV CK_UNAVAILABLE_INFORMATION
static const struct mech_def g_kdf_defs[] = {
    { CKM_HKDF_DERIVE, 1, KDF_MAX_OUT, CKF_DERIVE, CKK_HKDF, &g_hkdf_family, K_HKDF_DERIVE, true },
    { CKM_HKDF_DATA, 1, KDF_MAX_OUT, CKF_DERIVE, CKK_HKDF, &g_hkdf_family, K_HKDF_DATA, true },
    { CKM_HKDF_KEY_GEN, 8, KEYGEN_MAX * 8, CKF_GENERATE, CKK_HKDF, &g_hkdf_family, K_HKDF_KEYGEN,
      true },
    { CKM_PKCS5_PBKD2, 0, 0, CKF_GENERATE, UNAV, &g_pbkdf2_family, K_PBKDF2, true },
    { CKM_SP800_108_COUNTER_KDF, 0, 0, CKF_DERIVE, UNAV, &g_sp108_family, K_SP108_COUNTER, true },
    { CKM_SP800_108_FEEDBACK_KDF, 0, 0, CKF_DERIVE, UNAV, &g_sp108_family, K_SP108_FEEDBACK,
      true },
    { CKM_CONCATENATE_BASE_AND_DATA, 0, 0, CKF_DERIVE, CKK_GENERIC_SECRET, &g_simple_family,
      K_CONCAT_BASE_DATA, false },
    { CKM_CONCATENATE_DATA_AND_BASE, 0, 0, CKF_DERIVE, CKK_GENERIC_SECRET, &g_simple_family,
      K_CONCAT_DATA_BASE, false },
    { CKM_XOR_BASE_AND_DATA, 0, 0, CKF_DERIVE, CKK_GENERIC_SECRET, &g_simple_family,
      K_XOR_BASE_DATA, false },
    { CKM_EXTRACT_KEY_FROM_KEY, 0, 0, CKF_DERIVE, CKK_GENERIC_SECRET, &g_simple_family, K_EXTRACT,
      false },
};

const struct mech_table mech_kdf_table = {
    .defs = g_kdf_defs,
    .n = sizeof g_kdf_defs / sizeof g_kdf_defs[0],
    .setup = kdf_setup,
    .teardown = kdf_teardown,
};
