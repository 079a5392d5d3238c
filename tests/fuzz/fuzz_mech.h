/* Shared by fuzz_mech_params and fuzz_api: a CK_MECHANISM's parameter decoded from the input.
 *
 * Parameters with pointers inside are built as structures whose pointers are NULL or point at
 * exactly sized buffers; every length the library is given is within its buffer (a length
 * inside a parameter has no documented limit, so the library may read all of it). A length
 * that is not the structure's size is never a multiple of 8, so it cannot match some other
 * layout. */
#ifndef CRATON_FUZZ_MECH_H
#define CRATON_FUZZ_MECH_H
#include "fuzz_util.h"

enum pkind { P_RAW, P_GCM, P_CCM, P_CHACHA, P_OAEP, P_ECDH, P_EDDSA, P_HKDF, P_PBKDF2, P_SP108,
             P_SP108_FB, P_STRING, P_CBC_DATA };

static enum pkind param_kind(CK_MECHANISM_TYPE t)
{
    switch (t) {
    case CKM_AES_GCM: return P_GCM;
    case CKM_AES_CCM: return P_CCM;
    case CKM_CHACHA20_POLY1305: return P_CHACHA;
    case CKM_RSA_PKCS_OAEP: return P_OAEP;
    case CKM_ECDH1_DERIVE:
    case CKM_ECDH1_COFACTOR_DERIVE: return P_ECDH;
    case CKM_EDDSA: return P_EDDSA;
    case CKM_HKDF_DERIVE:
    case CKM_HKDF_DATA: return P_HKDF;
    case CKM_PKCS5_PBKD2: return P_PBKDF2;
    case CKM_SP800_108_COUNTER_KDF: return P_SP108;
    case CKM_SP800_108_FEEDBACK_KDF: return P_SP108_FB;
    case CKM_AES_ECB_ENCRYPT_DATA:
    case CKM_CONCATENATE_BASE_AND_DATA:
    case CKM_CONCATENATE_DATA_AND_BASE:
    case CKM_XOR_BASE_AND_DATA: return P_STRING;
    case CKM_AES_CBC_ENCRYPT_DATA: return P_CBC_DATA;
    default: return P_RAW;
    }
}

/* A (pointer, length) pair inside a parameter. min_alloc: the buffer is at least this big
 * (for a length given elsewhere, e.g. GCM's ulIvBits), while len is what is claimed. */
static void rd_buf(struct rd *r, struct arena *ar, void **p, CK_ULONG *len, size_t min_alloc)
{
    uint8_t m = rd_u8(r);
    switch (m % 6) {
    case 0:
        *p = NULL;
        *len = 0;
        return;
    case 1: /* a length without a buffer */
        *p = NULL;
        *len = rd_u8(r) + 1;
        return;
    case 5: { /* a large buffer, really there (the library reads what it is told) */
        size_t n = 4096 + (size_t)rd_u16(r) % 61440;
        *p = arena_alloc(ar, n > min_alloc ? n : min_alloc);
        memset(*p, m, n > min_alloc ? n : min_alloc);
        *len = n;
        return;
    }
    default: {
        size_t n = m % 6 == 4 ? rd_u16(r) % 2048 : rd_u8(r) % 64;
        size_t alloc = n > min_alloc ? n : min_alloc;
        *p = arena_alloc(ar, alloc);
        rd_bytes(r, *p, n);
        if (alloc > n)
            memset((uint8_t *)*p + n, 0, alloc - n);
        *len = n;
        return;
    }
    }
}

static CK_ULONG pick(struct rd *r, const CK_ULONG *tab, size_t n)
{
    uint8_t s = rd_u8(r);
    if (s < 0xf0)
        return tab[s % n];
    return s == 0xff ? (CK_ULONG)rd_u64(r) : rd_u8(r);
}
#define PICK(r, tab) pick((r), (tab), sizeof(tab) / sizeof((tab)[0]))

static const CK_ULONG g_hashes[] = { CKM_SHA256, CKM_SHA_1, CKM_SHA224, CKM_SHA384, CKM_SHA512,
                                     CKM_SHA3_256, CKM_SHA512_256, CKM_MD5, CKM_SHA256_HMAC,
                                     CKM_SHA512_HMAC, CKM_AES_CMAC, 0 };

/* EC public values for ECDH parameters (DER OCTET STRINGs), set by the target: P-256 and
 * X25519. */
static const uint8_t *g_ecdh_point[2];
static size_t g_ecdh_point_len[2];

/* An EC public value the ECDH family can use, or fuzz. */
static void ecdh_public(struct rd *r, struct arena *ar, CK_ECDH1_DERIVE_PARAMS *p)
{
    uint8_t s = rd_u8(r) % 4;
    const uint8_t *v = NULL;
    size_t n = 0;
    if ((s == 1 || s == 2) && g_ecdh_point[0]) {
        v = g_ecdh_point[0];
        n = g_ecdh_point_len[0];
    } else if (s == 3 && g_ecdh_point[1]) {
        v = g_ecdh_point[1];
        n = g_ecdh_point_len[1];
    }
    if (!v || !n) {
        rd_buf(r, ar, (void **)&p->pPublicData, &p->ulPublicDataLen, 0);
        return;
    }
    if (s == 2 && n > 2 && v[0] == 0x04 && v[1] == n - 2) { /* raw, without the DER wrap */
        v += 2;
        n -= 2;
    }
    p->pPublicData = arena_alloc(ar, n);
    memcpy(p->pPublicData, v, n);
    p->ulPublicDataLen = n;
    /* Sometimes a byte of it flipped. */
    uint8_t f = rd_u8(r);
    if (f >= 0xc0)
        p->pPublicData[f % n] ^= (uint8_t)(1 << (f & 7));
}

static void sp108_data_params(struct rd *r, struct arena *ar, CK_PRF_DATA_PARAM **out,
                              CK_ULONG *count, bool feedback)
{
    uint8_t m = rd_u8(r);
    size_t n = m % 8;
    if (m >= 0xf8) { /* a count without an array */
        *out = NULL;
        *count = n + 1;
        return;
    }
    CK_PRF_DATA_PARAM *dp = arena_alloc(ar, (n ? n : 1) * sizeof *dp);
    for (size_t i = 0; i < n; i++) {
        static const CK_ULONG types[] = { CK_SP800_108_ITERATION_VARIABLE,
                                          CK_SP800_108_OPTIONAL_COUNTER, CK_SP800_108_DKM_LENGTH,
                                          CK_SP800_108_BYTE_ARRAY };
        dp[i].type = PICK(r, types);
        uint8_t vm = rd_u8(r) % 4;
        if (vm == 0 && (dp[i].type == CK_SP800_108_OPTIONAL_COUNTER ||
                        (dp[i].type == CK_SP800_108_ITERATION_VARIABLE && !feedback))) {
            CK_SP800_108_COUNTER_FORMAT *f = arena_alloc(ar, sizeof *f);
            memset(f, 0, sizeof *f);
            f->bLittleEndian = rd_u8(r);
            f->ulWidthInBits = rd_u8(r);
            dp[i].pValue = f;
            dp[i].ulValueLen = sizeof *f;
        } else if (vm == 0 && dp[i].type == CK_SP800_108_DKM_LENGTH) {
            CK_SP800_108_DKM_LENGTH_FORMAT *f = arena_alloc(ar, sizeof *f);
            memset(f, 0, sizeof *f);
            f->dkmLengthMethod = rd_u8(r) % 4;
            f->bLittleEndian = rd_u8(r);
            f->ulWidthInBits = rd_u8(r);
            dp[i].pValue = f;
            dp[i].ulValueLen = sizeof *f;
        } else {
            rd_buf(r, ar, &dp[i].pValue, &dp[i].ulValueLen, 0);
        }
    }
    *out = dp;
    *count = n;
    uint8_t c = rd_u8(r);
    if (c >= 0xf0 && n)
        *count = n - 1 - c % n; /* claim fewer than given (never more) */
}

/* Fills m->pParameter / ulParameterLen for mechanism type t. */
static void build_param(struct rd *r, struct arena *ar, CK_MECHANISM *m)
{
    enum pkind kind = param_kind(m->mechanism);
    uint8_t shape = rd_u8(r);
    if (kind == P_RAW || shape >= 0xf8) {
        /* Bytes as they come. For a structure with pointers, only NULL or a length that no
         * structure has (not a multiple of 8). */
        rd_buf(r, ar, &m->pParameter, &m->ulParameterLen, 0);
        if (kind != P_RAW && m->ulParameterLen % 8 == 0 && m->ulParameterLen) {
            m->pParameter = NULL; /* a length without a buffer instead */
        }
        return;
    }
    union {
        CK_GCM_PARAMS gcm;
        struct { CK_BYTE_PTR pIv; CK_ULONG ulIvLen; CK_BYTE_PTR pAAD; CK_ULONG ulAADLen;
                 CK_ULONG ulTagBits; } gcm230;
        CK_CCM_PARAMS ccm;
        CK_SALSA20_CHACHA20_POLY1305_PARAMS chacha;
        CK_RSA_PKCS_OAEP_PARAMS oaep;
        CK_ECDH1_DERIVE_PARAMS ecdh;
        CK_EDDSA_PARAMS eddsa;
        CK_HKDF_PARAMS hkdf;
        CK_PKCS5_PBKD2_PARAMS2 pbkdf2;
        CK_PKCS5_PBKD2_PARAMS pbkdf2_old;
        CK_SP800_108_KDF_PARAMS sp108;
        CK_SP800_108_FEEDBACK_KDF_PARAMS sp108fb;
        CK_KEY_DERIVATION_STRING_DATA str;
        CK_AES_CBC_ENCRYPT_DATA_PARAMS cbc;
    } u;
    memset(&u, 0, sizeof u);
    size_t size = 0;
    switch (kind) {
    case P_GCM: {
        static const CK_ULONG tags[] = { 128, 96, 32, 64, 104, 112, 120, 0, 8, 129, 256 };
        bool old = shape & 1;
        CK_ULONG ivbits = 0;
        uint8_t ivm = rd_u8(r);
        if (ivm >= 0xe0)
            ivbits = rd_u16(r) % 4096;
        void *iv;
        CK_ULONG ivlen;
        rd_buf(r, ar, &iv, &ivlen, (ivbits + 7) / 8);
        if (ivm < 0xe0)
            ivbits = ivlen * 8;
        void *aad;
        CK_ULONG aadlen;
        rd_buf(r, ar, &aad, &aadlen, 0);
        CK_ULONG tag = PICK(r, tags);
        if (old) {
            u.gcm230.pIv = iv;
            u.gcm230.ulIvLen = ivlen;
            u.gcm230.pAAD = aad;
            u.gcm230.ulAADLen = aadlen;
            u.gcm230.ulTagBits = tag;
            size = sizeof u.gcm230;
        } else {
            u.gcm.pIv = iv;
            u.gcm.ulIvLen = ivlen;
            u.gcm.ulIvBits = ivbits;
            u.gcm.pAAD = aad;
            u.gcm.ulAADLen = aadlen;
            u.gcm.ulTagBits = tag;
            size = sizeof u.gcm;
        }
        break;
    }
    case P_CCM: {
        static const CK_ULONG dl[] = { 0, 16, 32, 1, 15, 65536, 0xffffffffUL, ~(CK_ULONG)0 };
        u.ccm.ulDataLen = PICK(r, dl);
        rd_buf(r, ar, (void **)&u.ccm.pNonce, &u.ccm.ulNonceLen, 0);
        rd_buf(r, ar, (void **)&u.ccm.pAAD, &u.ccm.ulAADLen, 0);
        u.ccm.ulMACLen = rd_u8(r);
        size = sizeof u.ccm;
        break;
    }
    case P_CHACHA:
        rd_buf(r, ar, (void **)&u.chacha.pNonce, &u.chacha.ulNonceLen, 0);
        rd_buf(r, ar, (void **)&u.chacha.pAAD, &u.chacha.ulAADLen, 0);
        size = sizeof u.chacha;
        break;
    case P_OAEP: {
        static const CK_ULONG mgfs[] = { CKG_MGF1_SHA256, CKG_MGF1_SHA1, CKG_MGF1_SHA384,
                                         CKG_MGF1_SHA512, CKG_MGF1_SHA3_256, CKG_MGF1_SHA224, 0 };
        u.oaep.hashAlg = PICK(r, g_hashes);
        u.oaep.mgf = PICK(r, mgfs);
        u.oaep.source = rd_u8(r) < 0xf0 ? CKZ_DATA_SPECIFIED : rd_u8(r);
        rd_buf(r, ar, &u.oaep.pSourceData, &u.oaep.ulSourceDataLen, 0);
        size = sizeof u.oaep;
        break;
    }
    case P_ECDH: {
        static const CK_ULONG kdfs[] = { CKD_NULL, CKD_SHA256_KDF, CKD_SHA1_KDF, CKD_SHA512_KDF,
                                         CKD_SHA3_256_KDF, CKD_SHA224_KDF, CKD_SHA384_KDF };
        u.ecdh.kdf = PICK(r, kdfs);
        rd_buf(r, ar, (void **)&u.ecdh.pSharedData, &u.ecdh.ulSharedDataLen, 0);
        ecdh_public(r, ar, &u.ecdh);
        size = sizeof u.ecdh;
        break;
    }
    case P_EDDSA:
        u.eddsa.phFlag = rd_u8(r) & 0x81;
        rd_buf(r, ar, (void **)&u.eddsa.pContextData, &u.eddsa.ulContextDataLen, 0);
        size = sizeof u.eddsa;
        break;
    case P_HKDF: {
        static const CK_ULONG salts[] = { CKF_HKDF_SALT_NULL, CKF_HKDF_SALT_DATA,
                                          CKF_HKDF_SALT_KEY, 0, 7 };
        u.hkdf.bExtract = rd_u8(r) % 3;
        u.hkdf.bExpand = rd_u8(r) % 3;
        u.hkdf.prfHashMechanism = PICK(r, g_hashes);
        u.hkdf.ulSaltType = PICK(r, salts);
        rd_buf(r, ar, (void **)&u.hkdf.pSalt, &u.hkdf.ulSaltLen, 0);
        u.hkdf.hSaltKey = rd_u8(r);
        rd_buf(r, ar, (void **)&u.hkdf.pInfo, &u.hkdf.ulInfoLen, 0);
        size = sizeof u.hkdf;
        break;
    }
    case P_PBKDF2: {
        static const CK_ULONG prfs[] = { CKP_PKCS5_PBKD2_HMAC_SHA256, CKP_PKCS5_PBKD2_HMAC_SHA1,
                                         CKP_PKCS5_PBKD2_HMAC_SHA512, CKP_PKCS5_PBKD2_HMAC_SHA224,
                                         CKP_PKCS5_PBKD2_HMAC_GOSTR3411, 0 };
        u.pbkdf2.saltSource = rd_u8(r) < 0xf0 ? CKZ_SALT_SPECIFIED : rd_u8(r);
        rd_buf(r, ar, &u.pbkdf2.pSaltSourceData, &u.pbkdf2.ulSaltSourceDataLen, 0);
        /* Iterations: cheap counts, or beyond the limit (refused at once). */
        uint16_t it = rd_u16(r);
        u.pbkdf2.iterations = it < 0xff00 ? it % 64 : 10000000UL + (it & 0xff) - 8;
        u.pbkdf2.prf = PICK(r, prfs);
        rd_buf(r, ar, &u.pbkdf2.pPrfData, &u.pbkdf2.ulPrfDataLen, 0);
        /* The password. The library reads a PARAMS2 length above 65535 as the v2.20 pointer
         * (kdf.c's documented heuristic), so such a length is given as the old layout. */
        uint8_t pm = rd_u8(r);
        void *pw;
        CK_ULONG pwlen;
        rd_buf(r, ar, &pw, &pwlen, 0);
        u.pbkdf2.pPassword = pw;
        if ((pm & 1) && pwlen <= 65535) {
            u.pbkdf2.ulPasswordLen = pwlen;
            size = sizeof u.pbkdf2;
        } else {
            CK_ULONG *lp = arena_alloc(ar, sizeof *lp);
            *lp = pwlen;
            u.pbkdf2_old.ulPasswordLen = (pm & 2) ? lp : NULL;
            size = sizeof u.pbkdf2_old;
        }
        break;
    }
    case P_SP108:
    case P_SP108_FB: {
        static const CK_ULONG prfs[] = { CKM_SHA256_HMAC, CKM_AES_CMAC, CKM_SHA_1_HMAC,
                                         CKM_SHA512_HMAC, CKM_SHA3_256_HMAC, CKM_SHA256, 0 };
        bool fb = kind == P_SP108_FB;
        CK_ULONG prf = PICK(r, prfs);
        CK_PRF_DATA_PARAM *dp;
        CK_ULONG ndp;
        sp108_data_params(r, ar, &dp, &ndp, fb);
        CK_ULONG nadd = rd_u8(r) >= 0xf0 ? rd_u8(r) % 4 + 1 : 0; /* with a NULL array */
        if (fb) {
            u.sp108fb.prfType = prf;
            u.sp108fb.pDataParams = dp;
            u.sp108fb.ulNumberOfDataParams = ndp;
            rd_buf(r, ar, (void **)&u.sp108fb.pIV, &u.sp108fb.ulIVLen, 0);
            u.sp108fb.ulAdditionalDerivedKeys = nadd;
            size = sizeof u.sp108fb;
        } else {
            u.sp108.prfType = prf;
            u.sp108.pDataParams = dp;
            u.sp108.ulNumberOfDataParams = ndp;
            u.sp108.ulAdditionalDerivedKeys = nadd;
            size = sizeof u.sp108;
        }
        break;
    }
    case P_STRING:
        rd_buf(r, ar, (void **)&u.str.pData, &u.str.ulLen, 0);
        size = sizeof u.str;
        break;
    case P_CBC_DATA:
        rd_bytes(r, u.cbc.iv, sizeof u.cbc.iv);
        rd_buf(r, ar, (void **)&u.cbc.pData, &u.cbc.length, 0);
        size = sizeof u.cbc;
        break;
    default:
        break;
    }
    /* The structure's own size, or one that is not a multiple of 8 (truncated or padded),
     * allocated exactly. */
    size_t claim = size;
    if (shape >= 0xe0) {
        size_t d = 1 + shape % 7;
        claim = (shape & 8) ? size + d : size - d;
    }
    uint8_t *p = arena_alloc(ar, claim);
    memset(p, 0, claim);
    memcpy(p, &u, claim < size ? claim : size);
    m->pParameter = p;
    m->ulParameterLen = claim;
}

#endif
