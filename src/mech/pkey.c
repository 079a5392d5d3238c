/* Conversions between PKCS#11 key attributes and libcrypto EVP_PKEYs, and import checks. */
#include "mech/asym_internal.h"
#include "base/mem.h"
#include "base/ossl.h"

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- curves ------------------------------------------------------------------------------ */

static const struct asym_curve g_curves[] = {
    { NID_X9_62_prime256v1, CKK_EC, "prime256v1", 256, 32, 32, 64 },
    { NID_secp384r1, CKK_EC, "secp384r1", 384, 48, 48, 96 },
    { NID_secp521r1, CKK_EC, "secp521r1", 521, 66, 66, 132 },
    { NID_secp256k1, CKK_EC, "secp256k1", 256, 32, 32, 64 },
    { NID_ED25519, CKK_EC_EDWARDS, "ED25519", 255, 32, 32, 64 },
    { NID_ED448, CKK_EC_EDWARDS, "ED448", 448, 57, 57, 114 },
    { NID_X25519, CKK_EC_MONTGOMERY, "X25519", 255, 32, 32, 0 },
    { NID_X448, CKK_EC_MONTGOMERY, "X448", 448, 56, 56, 0 },
};

/* Printable curve names (PKCS#11 3.0 Parameters.curveName) and the usual aliases. */
static const struct {
    const char *name;
    int nid;
} g_curve_names[] = {
    { "prime256v1", NID_X9_62_prime256v1 }, { "secp256r1", NID_X9_62_prime256v1 },
    { "P-256", NID_X9_62_prime256v1 },      { "secp384r1", NID_secp384r1 },
    { "P-384", NID_secp384r1 },             { "secp521r1", NID_secp521r1 },
    { "P-521", NID_secp521r1 },             { "secp256k1", NID_secp256k1 },
    { "edwards25519", NID_ED25519 },        { "Ed25519", NID_ED25519 },
    { "edwards448", NID_ED448 },            { "Ed448", NID_ED448 },
    { "curve25519", NID_X25519 },           { "X25519", NID_X25519 },
    { "curve448", NID_X448 },               { "X448", NID_X448 },
};

/* OIDs from before RFC 8410 that GnuPG and older OpenSC still put in CKA_EC_PARAMS. */
static const struct {
    const char *oid;
    int nid;
} g_legacy_oids[] = {
    { "1.3.6.1.4.1.11591.15.1", NID_ED25519 },
    { "1.3.6.1.4.1.3029.1.5.1", NID_X25519 },
};

const struct asym_curve *asym_curve_by_nid(int nid)
{
    for (size_t i = 0; i < sizeof g_curves / sizeof g_curves[0]; i++)
        if (g_curves[i].nid == nid)
            return &g_curves[i];
    return NULL;
}

CK_RV asym_curve_from_params(const uint8_t *der, size_t len, const struct asym_curve **out)
{
    const unsigned char *p = der;
    int nid = NID_undef;

    if (!der || len < 2 || len > 256)
        return CKR_ATTRIBUTE_VALUE_INVALID;
    if (der[0] == V_ASN1_OBJECT) {
        ASN1_OBJECT *obj = d2i_ASN1_OBJECT(NULL, &p, (long)len);
        if (!obj || p != der + len) {
            ASN1_OBJECT_free(obj);
            return CKR_ATTRIBUTE_VALUE_INVALID;
        }
        nid = OBJ_obj2nid(obj);
        if (nid == NID_undef) {
            char txt[80];
            if (OBJ_obj2txt(txt, sizeof txt, obj, 1) > 0)
                for (size_t i = 0; i < sizeof g_legacy_oids / sizeof g_legacy_oids[0]; i++)
                    if (strcmp(txt, g_legacy_oids[i].oid) == 0)
                        nid = g_legacy_oids[i].nid;
        }
        ASN1_OBJECT_free(obj);
    } else if (der[0] == V_ASN1_PRINTABLESTRING) {
        ASN1_PRINTABLESTRING *s = d2i_ASN1_PRINTABLESTRING(NULL, &p, (long)len);
        if (!s || p != der + len) {
            ASN1_PRINTABLESTRING_free(s);
            return CKR_ATTRIBUTE_VALUE_INVALID;
        }
        const unsigned char *d = ASN1_STRING_get0_data(s);
        size_t n = (size_t)ASN1_STRING_length(s);
        for (size_t i = 0; i < sizeof g_curve_names / sizeof g_curve_names[0]; i++)
            if (strlen(g_curve_names[i].name) == n &&
                strncasecmp((const char *)d, g_curve_names[i].name, n) == 0)
                nid = g_curve_names[i].nid;
        ASN1_PRINTABLESTRING_free(s);
    } else if (der[0] == (V_ASN1_SEQUENCE | V_ASN1_CONSTRUCTED) || der[0] == V_ASN1_NULL) {
        /* Explicit ECParameters and implicitlyCA are not offered (no CKF_EC_ECPARAMETERS). */
        return CKR_CURVE_NOT_SUPPORTED;
    } else {
        return CKR_ATTRIBUTE_VALUE_INVALID;
    }
    const struct asym_curve *c = asym_curve_by_nid(nid);
    if (!c)
        return CKR_CURVE_NOT_SUPPORTED;
    *out = c;
    return CKR_OK;
}

static CK_KEY_TYPE attrs_key_type(const attrs_t *a)
{
    CK_ULONG kt;
    return attrs_ulong(a, CKA_KEY_TYPE, &kt) ? kt : CK_UNAVAILABLE_INFORMATION;
}

CK_RV asym_curve_of(const attrs_t *a, const struct asym_curve **out)
{
    const attr_t *p = attrs_get(a, CKA_EC_PARAMS);
    if (!p)
        return CKR_TEMPLATE_INCOMPLETE;
    const struct asym_curve *c;
    CK_RV rv = asym_curve_from_params(p->val, p->len, &c);
    if (rv != CKR_OK)
        return rv;
    CK_KEY_TYPE kt = attrs_key_type(a);
    /* A curve of another family under this key type is a curve this key type lacks. */
    if (kt != CK_UNAVAILABLE_INFORMATION && kt != c->key_type)
        return CKR_CURVE_NOT_SUPPORTED;
    *out = c;
    return CKR_OK;
}

CK_RV asym_set_ec_params(attrs_t *a, const struct asym_curve *c)
{
    ASN1_OBJECT *obj = OBJ_nid2obj(c->nid);
    unsigned char buf[64], *p = buf;
    int n = obj ? i2d_ASN1_OBJECT(obj, NULL) : -1;
    if (n <= 0 || (size_t)n > sizeof buf || i2d_ASN1_OBJECT(obj, &p) != n)
        return CKR_GENERAL_ERROR;
    return attrs_set(a, CKA_EC_PARAMS, buf, (CK_ULONG)n, false);
}

static bool raw_point_ok(const struct asym_curve *c, const uint8_t *p, size_t n)
{
    if (c->key_type != CKK_EC)
        return n == c->field_len;
    if (n == 2 * c->field_len + 1)
        return p[0] == 0x04;
    if (n == c->field_len + 1)
        return p[0] == 0x02 || p[0] == 0x03;
    return false;
}

bool asym_unwrap_point(const struct asym_curve *c, const uint8_t *buf, size_t len,
                       const uint8_t **raw, size_t *rawlen)
{
    if (!buf || len == 0 || len > 1024)
        return false;
    if (buf[0] == V_ASN1_OCTET_STRING) {
        const unsigned char *p = buf;
        ASN1_OCTET_STRING *os = d2i_ASN1_OCTET_STRING(NULL, &p, (long)len);
        if (os && p == buf + len) {
            /* Primitive definite-length form: the content is the last bytes. */
            size_t n = (size_t)ASN1_STRING_length(os);
            const uint8_t *inner = buf + (len - n);
            bool ok = n < len && memcmp(inner, ASN1_STRING_get0_data(os), n) == 0 &&
                      raw_point_ok(c, inner, n);
            ASN1_OCTET_STRING_free(os);
            if (ok) {
                *raw = inner;
                *rawlen = n;
                return true;
            }
        } else {
            ASN1_OCTET_STRING_free(os);
        }
    }
    if (raw_point_ok(c, buf, len)) {
        *raw = buf;
        *rawlen = len;
        return true;
    }
    return false;
}

/* OSSL_PARAM_free without wiping exists only before 3.2's OSSL_PARAM_clear_free. */
static void params_clear_free(OSSL_PARAM *params)
{
    if (!params)
        return;
    for (OSSL_PARAM *p = params; p->key; p++)
        if (p->data && p->data_size)
            OPENSSL_cleanse(p->data, p->data_size);
    OSSL_PARAM_free(params);
}

static CK_RV fromdata(const char *type, int selection, OSSL_PARAM *params, EVP_PKEY **out)
{
    EVP_PKEY_CTX *ctx = asym_ctx_new(type);
    CK_RV rv = CKR_ATTRIBUTE_VALUE_INVALID;
    *out = NULL;
    if (!ctx)
        return CKR_HOST_MEMORY;
    if (EVP_PKEY_fromdata_init(ctx) == 1 && EVP_PKEY_fromdata(ctx, out, selection, params) == 1)
        rv = CKR_OK;
    EVP_PKEY_CTX_free(ctx);
    return rv;
}

CK_RV asym_pkey_from_point(const struct asym_curve *c, const uint8_t *pt, size_t len,
                           EVP_PKEY **out)
{
    OSSL_PARAM params[3];
    size_t i = 0;
    if (c->key_type == CKK_EC)
        params[i++] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
                                                       (char *)c->ossl_name, 0);
    params[i++] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)pt, len);
    params[i] = OSSL_PARAM_construct_end();
    return fromdata(c->key_type == CKK_EC ? "EC" : c->ossl_name, EVP_PKEY_PUBLIC_KEY, params,
                    out);
}

/* ---- RSA ---------------------------------------------------------------------------------- */

struct rsa_bns {
    BIGNUM *n, *e, *d, *p, *q, *dp, *dq, *qinv;
};

static void rsa_bns_free(struct rsa_bns *r)
{
    BN_free(r->n);
    BN_free(r->e);
    BN_clear_free(r->d);
    BN_clear_free(r->p);
    BN_clear_free(r->q);
    BN_clear_free(r->dp);
    BN_clear_free(r->dq);
    BN_clear_free(r->qinv);
    memset(r, 0, sizeof *r);
}

/* false on allocation failure; *bn stays NULL when the attribute is absent. An empty value
 * counts as present and malformed. */
static bool get_bn(const attrs_t *a, CK_ATTRIBUTE_TYPE t, bool secret, BIGNUM **bn,
                   bool *bad)
{
    const attr_t *v = attrs_get(a, t);
    *bn = NULL;
    if (!v)
        return true;
    if (v->len == 0 || v->len > ASYM_RSA_MAX_BITS / 8 + 8) {
        *bad = true;
        return true;
    }
    *bn = secret ? BN_secure_new() : BN_new();
    if (!*bn)
        return false;
    if (secret)
        BN_set_flags(*bn, BN_FLG_CONSTTIME);
    if (!BN_bin2bn(v->val, (int)v->len, *bn)) {
        BN_clear_free(*bn);
        *bn = NULL;
        return false;
    }
    return true;
}

static CK_RV rsa_read(const attrs_t *a, bool priv, struct rsa_bns *r)
{
    bool bad = false;
    memset(r, 0, sizeof *r);
    if (!get_bn(a, CKA_MODULUS, false, &r->n, &bad) ||
        !get_bn(a, CKA_PUBLIC_EXPONENT, false, &r->e, &bad))
        goto nomem;
    if (priv && (!get_bn(a, CKA_PRIVATE_EXPONENT, true, &r->d, &bad) ||
                 !get_bn(a, CKA_PRIME_1, true, &r->p, &bad) ||
                 !get_bn(a, CKA_PRIME_2, true, &r->q, &bad) ||
                 !get_bn(a, CKA_EXPONENT_1, true, &r->dp, &bad) ||
                 !get_bn(a, CKA_EXPONENT_2, true, &r->dq, &bad) ||
                 !get_bn(a, CKA_COEFFICIENT, true, &r->qinv, &bad)))
        goto nomem;
    if (bad) {
        rsa_bns_free(r);
        return CKR_ATTRIBUTE_VALUE_INVALID;
    }
    if (!r->n || (priv && !r->d) || (!priv && !r->e)) {
        rsa_bns_free(r);
        return CKR_TEMPLATE_INCOMPLETE;
    }
    return CKR_OK;
nomem:
    rsa_bns_free(r);
    return CKR_HOST_MEMORY;
}

/* Fills in what a private key may omit: e (from d and the primes) and the CRT values. */
static CK_RV rsa_complete(struct rsa_bns *r)
{
    CK_RV rv = CKR_HOST_MEMORY;
    BN_CTX *bc = BN_CTX_secure_new_ex(ossl_libctx());
    BIGNUM *p1 = BN_secure_new(), *q1 = BN_secure_new(), *t = BN_secure_new();
    if (!bc || !p1 || !q1 || !t)
        goto out;
    if ((r->p == NULL) != (r->q == NULL)) {
        rv = CKR_TEMPLATE_INCOMPLETE;
        goto out;
    }
    if (!r->p) {
        rv = r->e ? CKR_OK : CKR_TEMPLATE_INCOMPLETE;
        goto out;
    }
    rv = CKR_ATTRIBUTE_VALUE_INVALID;
    if (BN_cmp(r->p, BN_value_one()) <= 0 || BN_cmp(r->q, BN_value_one()) <= 0)
        goto out;
    rv = CKR_HOST_MEMORY;
    if (!BN_sub(p1, r->p, BN_value_one()) || !BN_sub(q1, r->q, BN_value_one()))
        goto out;
    if (!r->e) {
        /* e = d^-1 mod lcm(p-1, q-1), which is the original e as long as e < lcm. */
        BIGNUM *g = BN_secure_new(), *l = BN_secure_new();
        bool ok = g && l && BN_gcd(g, p1, q1, bc) && BN_mul(t, p1, q1, bc) &&
                  BN_div(l, NULL, t, g, bc);
        r->e = ok ? BN_mod_inverse(NULL, r->d, l, bc) : NULL;
        BN_clear_free(g);
        BN_clear_free(l);
        if (!r->e) {
            rv = CKR_ATTRIBUTE_VALUE_INVALID;
            goto out;
        }
    }
    if (!r->dp && (!(r->dp = BN_secure_new()) || !BN_mod(r->dp, r->d, p1, bc)))
        goto out;
    if (!r->dq && (!(r->dq = BN_secure_new()) || !BN_mod(r->dq, r->d, q1, bc)))
        goto out;
    if (!r->qinv) {
        r->qinv = BN_mod_inverse(BN_secure_new(), r->q, r->p, bc);
        if (!r->qinv) {
            rv = CKR_ATTRIBUTE_VALUE_INVALID;
            goto out;
        }
    }
    rv = CKR_OK;
out:
    BN_clear_free(p1);
    BN_clear_free(q1);
    BN_clear_free(t);
    BN_CTX_free(bc);
    return rv;
}

static CK_RV rsa_build(const struct rsa_bns *r, bool priv, EVP_PKEY **out)
{
    CK_RV rv = CKR_HOST_MEMORY;
    OSSL_PARAM *params = NULL;
    OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
    if (!b)
        return CKR_HOST_MEMORY;
    if (!OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_N, r->n) ||
        !OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_E, r->e))
        goto out;
    if (priv) {
        if (!OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_D, r->d))
            goto out;
        if (r->p && (!OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_FACTOR1, r->p) ||
                     !OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_FACTOR2, r->q) ||
                     !OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_EXPONENT1, r->dp) ||
                     !OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_EXPONENT2, r->dq) ||
                     !OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_COEFFICIENT1, r->qinv)))
            goto out;
    }
    params = OSSL_PARAM_BLD_to_param(b);
    if (!params)
        goto out;
    rv = fromdata("RSA", priv ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, params, out);
out:
    params_clear_free(params);
    OSSL_PARAM_BLD_free(b);
    return rv;
}

static CK_RV rsa_from_attrs(const attrs_t *a, bool priv, EVP_PKEY **out)
{
    struct rsa_bns r;
    CK_RV rv = rsa_read(a, priv, &r);
    if (rv == CKR_OK && priv)
        rv = rsa_complete(&r);
    if (rv == CKR_OK) {
        int bits = BN_num_bits(r.n);
        if (bits < 512 || bits > ASYM_RSA_MAX_BITS || BN_is_zero(r.e) || !BN_is_odd(r.n))
            rv = CKR_ATTRIBUTE_VALUE_INVALID;
    }
    if (rv == CKR_OK)
        rv = rsa_build(&r, priv, out);
    rsa_bns_free(&r);
    return rv;
}

/* The consistency an imported RSA key must show: n = p*q with p, q prime, e*d = 1 modulo
 * p-1 and q-1, CRT values that match; without the primes, a raw RSA round trip. */
static CK_RV rsa_check(const attrs_t *a, bool priv)
{
    struct rsa_bns r;
    CK_RV rv = rsa_read(a, priv, &r);
    BN_CTX *bc = NULL;
    BIGNUM *t = NULL, *u = NULL, *m = NULL;
    if (rv != CKR_OK)
        return rv;
    bool have_factors = r.p != NULL;
    if (priv && (rv = rsa_complete(&r)) != CKR_OK)
        goto out;
    rv = CKR_HOST_MEMORY;
    bc = BN_CTX_secure_new_ex(ossl_libctx());
    t = BN_secure_new();
    u = BN_secure_new();
    m = BN_new();
    if (!bc || !t || !u || !m)
        goto out;
    rv = CKR_ATTRIBUTE_VALUE_INVALID;
    int bits = BN_num_bits(r.n);
    if (bits < ASYM_RSA_MIN_BITS || bits > ASYM_RSA_MAX_BITS || !BN_is_odd(r.n))
        goto out;
    if (!BN_is_odd(r.e) || BN_cmp(r.e, BN_value_one()) <= 0 || BN_cmp(r.e, r.n) >= 0)
        goto out;
    if (!priv) {
        rv = CKR_OK;
        goto out;
    }
    if (BN_cmp(r.d, BN_value_one()) <= 0 || BN_cmp(r.d, r.n) >= 0)
        goto out;
    if (have_factors) {
        BIGNUM *f[2] = { r.p, r.q }, *ex[2] = { r.dp, r.dq };
        if (!BN_mul(t, r.p, r.q, bc))
            goto fail_mem;
        if (BN_cmp(t, r.n) != 0)
            goto out;
        for (int i = 0; i < 2; i++) {
            int prime = BN_check_prime(f[i], bc, NULL);
            if (prime < 0)
                goto fail_mem;
            if (!prime)
                goto out;
            if (!BN_sub(u, f[i], BN_value_one()) || !BN_mod_mul(t, r.e, r.d, u, bc))
                goto fail_mem;
            if (!BN_is_one(t))
                goto out;
            if (!BN_mod(t, r.d, u, bc))
                goto fail_mem;
            if (BN_cmp(t, ex[i]) != 0)
                goto out;
        }
        if (!BN_mod_mul(t, r.qinv, r.q, r.p, bc))
            goto fail_mem;
        if (!BN_is_one(t) || BN_cmp(r.qinv, r.p) >= 0)
            goto out;
    } else {
        /* Without the primes: (m^e)^d must give m back. */
        if (!BN_set_word(m, 0x10001) || !BN_lshift(m, m, bits / 2) ||
            !BN_mod_exp(t, m, r.e, r.n, bc) || !BN_mod_exp(u, t, r.d, r.n, bc))
            goto fail_mem;
        if (BN_cmp(u, m) != 0)
            goto out;
    }
    rv = CKR_OK;
    goto out;
fail_mem:
    rv = CKR_HOST_MEMORY;
out:
    BN_clear_free(t);
    BN_clear_free(u);
    BN_free(m);
    BN_CTX_free(bc);
    rsa_bns_free(&r);
    return rv;
}

/* ---- EC ----------------------------------------------------------------------------------- */

/* The uncompressed public point d*G for scalar d, which must lie in [1, order). */
static CK_RV ec_public_of(const struct asym_curve *c, const BIGNUM *d, uint8_t *pt, size_t *ptlen)
{
    CK_RV rv = CKR_HOST_MEMORY;
    BN_CTX *bc = BN_CTX_secure_new_ex(ossl_libctx());
    EC_GROUP *g = EC_GROUP_new_by_curve_name_ex(ossl_libctx(), NULL, c->nid);
    EC_POINT *q = g ? EC_POINT_new(g) : NULL;
    if (!bc || !q)
        goto out;
    rv = CKR_ATTRIBUTE_VALUE_INVALID;
    if (BN_is_zero(d) || BN_is_negative(d) || BN_cmp(d, EC_GROUP_get0_order(g)) >= 0)
        goto out;
    rv = CKR_GENERAL_ERROR;
    if (!EC_POINT_mul(g, q, d, NULL, NULL, bc))
        goto out;
    *ptlen = EC_POINT_point2oct(g, q, POINT_CONVERSION_UNCOMPRESSED, pt, *ptlen, bc);
    if (*ptlen == 0)
        goto out;
    rv = CKR_OK;
out:
    EC_POINT_free(q);
    EC_GROUP_free(g);
    BN_CTX_free(bc);
    return rv;
}

static CK_RV ec_from_attrs(const attrs_t *a, const struct asym_curve *c, bool priv,
                           EVP_PKEY **out)
{
    const attr_t *pt = attrs_get(a, CKA_EC_POINT), *v = attrs_get(a, CKA_VALUE);
    const uint8_t *raw;
    size_t rawlen;
    if (!priv && pt) {
        if (!asym_unwrap_point(c, pt->val, pt->len, &raw, &rawlen))
            return CKR_ATTRIBUTE_VALUE_INVALID;
        return asym_pkey_from_point(c, raw, rawlen, out);
    }
    if (!v)
        return CKR_TEMPLATE_INCOMPLETE;
    if (v->len == 0 || v->len > 2 * c->order_len)
        return CKR_ATTRIBUTE_VALUE_INVALID;

    CK_RV rv = CKR_HOST_MEMORY;
    OSSL_PARAM *params = NULL;
    OSSL_PARAM_BLD *b = NULL;
    uint8_t point[2 * 66 + 1];
    size_t plen = sizeof point;
    BIGNUM *d = BN_secure_new();
    if (!d || !BN_bin2bn(v->val, (int)v->len, d))
        goto out;
    BN_set_flags(d, BN_FLG_CONSTTIME);
    if ((rv = ec_public_of(c, d, point, &plen)) != CKR_OK)
        goto out;
    rv = CKR_HOST_MEMORY;
    if (!(b = OSSL_PARAM_BLD_new()) ||
        !OSSL_PARAM_BLD_push_utf8_string(b, OSSL_PKEY_PARAM_GROUP_NAME, c->ossl_name, 0) ||
        !OSSL_PARAM_BLD_push_octet_string(b, OSSL_PKEY_PARAM_PUB_KEY, point, plen) ||
        !OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_PRIV_KEY, d) ||
        !(params = OSSL_PARAM_BLD_to_param(b)))
        goto out;
    rv = fromdata("EC", EVP_PKEY_KEYPAIR, params, out);
out:
    params_clear_free(params);
    OSSL_PARAM_BLD_free(b);
    BN_clear_free(d);
    return rv;
}

static CK_RV ecx_from_attrs(const attrs_t *a, const struct asym_curve *c, bool priv,
                            EVP_PKEY **out)
{
    const attr_t *pt = attrs_get(a, CKA_EC_POINT), *v = attrs_get(a, CKA_VALUE);
    const uint8_t *raw;
    size_t rawlen;
    if (!priv && pt) {
        if (!asym_unwrap_point(c, pt->val, pt->len, &raw, &rawlen))
            return CKR_ATTRIBUTE_VALUE_INVALID;
        return asym_pkey_from_point(c, raw, rawlen, out);
    }
    if (!v)
        return CKR_TEMPLATE_INCOMPLETE;
    if (v->len != c->order_len)
        return CKR_ATTRIBUTE_VALUE_INVALID;
    /* libcrypto derives the public key from the private one. */
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PRIV_KEY, v->val, v->len),
        OSSL_PARAM_construct_end(),
    };
    return fromdata(c->ossl_name, EVP_PKEY_KEYPAIR, params, out);
}

/* ---- the shared entry points -------------------------------------------------------------- */

CK_RV mech_pkey_from_attrs(const attrs_t *a, bool want_private, EVP_PKEY **out)
{
    CK_OBJECT_CLASS cls = CK_UNAVAILABLE_INFORMATION;
    if (!a || !out)
        return CKR_ARGUMENTS_BAD;
    *out = NULL;
    attrs_ulong(a, CKA_CLASS, &cls);
    if (want_private && cls == CKO_PUBLIC_KEY)
        return CKR_KEY_TYPE_INCONSISTENT;
    /* A private key object yields the full key pair even when only the public half is asked
     * for: PKCS#11 private EC/Edwards objects carry no CKA_EC_POINT. */
    bool priv = want_private || cls == CKO_PRIVATE_KEY;
    CK_KEY_TYPE kt = attrs_key_type(a);
    const struct asym_curve *c;
    CK_RV rv;
    switch (kt) {
    case CKK_RSA:
        return rsa_from_attrs(a, priv, out);
    case CKK_EC:
    case CKK_EC_EDWARDS:
    case CKK_EC_MONTGOMERY:
        if ((rv = asym_curve_of(a, &c)) != CKR_OK)
            return rv;
        return kt == CKK_EC ? ec_from_attrs(a, c, priv, out) : ecx_from_attrs(a, c, priv, out);
    case CK_UNAVAILABLE_INFORMATION:
        return CKR_TEMPLATE_INCOMPLETE;
    default:
        return CKR_KEY_TYPE_INCONSISTENT;
    }
}

/* Sets a big-endian integer attribute from a key parameter, padded to pad bytes if nonzero. */
static CK_RV set_bn_param(attrs_t *a, CK_ATTRIBUTE_TYPE t, EVP_PKEY *k, const char *name,
                          bool secret, size_t pad)
{
    BIGNUM *bn = NULL;
    CK_RV rv = CKR_GENERAL_ERROR;
    if (!EVP_PKEY_get_bn_param(k, name, &bn))
        return CKR_GENERAL_ERROR;
    size_t n = pad ? pad : (size_t)BN_num_bytes(bn);
    if (n == 0)
        n = 1;
    uint8_t *buf = secmem_alloc(n);
    if (!buf) {
        rv = CKR_HOST_MEMORY;
    } else if (BN_bn2binpad(bn, buf, (int)n) == (int)n) {
        rv = attrs_set(a, t, buf, (CK_ULONG)n, secret);
    }
    secmem_free(buf);
    BN_clear_free(bn);
    return rv;
}

static CK_RV set_point(attrs_t *a, const uint8_t *raw, size_t len)
{
    ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
    unsigned char *der = NULL;
    CK_RV rv = CKR_HOST_MEMORY;
    if (os && ASN1_OCTET_STRING_set(os, raw, (int)len)) {
        int n = i2d_ASN1_OCTET_STRING(os, &der);
        if (n > 0)
            rv = attrs_set(a, CKA_EC_POINT, der, (CK_ULONG)n, false);
    }
    OPENSSL_free(der);
    ASN1_OCTET_STRING_free(os);
    return rv;
}

static const struct asym_curve *curve_of_pkey(EVP_PKEY *k)
{
    if (EVP_PKEY_is_a(k, "EC")) {
        char name[64];
        if (!EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof name,
                                            NULL))
            return NULL;
        int nid = OBJ_txt2nid(name);
        if (nid == NID_undef)
            nid = EC_curve_nist2nid(name);
        const struct asym_curve *c = asym_curve_by_nid(nid);
        return c && c->key_type == CKK_EC ? c : NULL;
    }
    for (size_t i = 0; i < sizeof g_curves / sizeof g_curves[0]; i++)
        if (g_curves[i].key_type != CKK_EC && EVP_PKEY_is_a(k, g_curves[i].ossl_name))
            return &g_curves[i];
    return NULL;
}

static CK_RV ec_point_to_attrs(EVP_PKEY *k, const struct asym_curve *c, attrs_t *a)
{
    uint8_t pt[2 * 66 + 1];
    size_t n = 0;
    if (!EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof pt, &n) ||
        n == 0)
        return CKR_GENERAL_ERROR;
    if (pt[0] != 0x04) {
        /* Stored points are always uncompressed. */
        CK_RV rv = CKR_GENERAL_ERROR;
        EC_GROUP *g = EC_GROUP_new_by_curve_name_ex(ossl_libctx(), NULL, c->nid);
        EC_POINT *q = g ? EC_POINT_new(g) : NULL;
        if (q && EC_POINT_oct2point(g, q, pt, n, NULL)) {
            n = EC_POINT_point2oct(g, q, POINT_CONVERSION_UNCOMPRESSED, pt, sizeof pt, NULL);
            rv = n ? CKR_OK : CKR_GENERAL_ERROR;
        }
        EC_POINT_free(q);
        EC_GROUP_free(g);
        if (rv != CKR_OK)
            return rv;
    }
    return set_point(a, pt, n);
}

CK_RV mech_pkey_to_attrs(EVP_PKEY *k, CK_OBJECT_CLASS cls, attrs_t *a)
{
    CK_RV rv;
    if (!k || !a || (cls != CKO_PUBLIC_KEY && cls != CKO_PRIVATE_KEY))
        return CKR_ARGUMENTS_BAD;
    bool priv = cls == CKO_PRIVATE_KEY;
    if (EVP_PKEY_is_a(k, "RSA")) {
        if (!attrs_get(a, CKA_KEY_TYPE) && (rv = attrs_set_ulong(a, CKA_KEY_TYPE, CKK_RSA)))
            return rv;
        if ((rv = set_bn_param(a, CKA_MODULUS, k, OSSL_PKEY_PARAM_RSA_N, false, 0)) ||
            (rv = set_bn_param(a, CKA_PUBLIC_EXPONENT, k, OSSL_PKEY_PARAM_RSA_E, false, 0)))
            return rv;
        if (!priv)
            return attrs_set_ulong(a, CKA_MODULUS_BITS, (CK_ULONG)EVP_PKEY_get_bits(k));
        static const struct {
            CK_ATTRIBUTE_TYPE t;
            const char *name;
        } parts[] = {
            { CKA_PRIVATE_EXPONENT, OSSL_PKEY_PARAM_RSA_D },
            { CKA_PRIME_1, OSSL_PKEY_PARAM_RSA_FACTOR1 },
            { CKA_PRIME_2, OSSL_PKEY_PARAM_RSA_FACTOR2 },
            { CKA_EXPONENT_1, OSSL_PKEY_PARAM_RSA_EXPONENT1 },
            { CKA_EXPONENT_2, OSSL_PKEY_PARAM_RSA_EXPONENT2 },
            { CKA_COEFFICIENT, OSSL_PKEY_PARAM_RSA_COEFFICIENT1 },
        };
        for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
            rv = set_bn_param(a, parts[i].t, k, parts[i].name, true, 0);
            /* The CRT parts are optional: a key made from n, e, d alone has none. */
            if (rv != CKR_OK && (i == 0 || rv == CKR_HOST_MEMORY))
                return rv;
        }
        return CKR_OK;
    }
    const struct asym_curve *c = curve_of_pkey(k);
    if (!c)
        return CKR_CURVE_NOT_SUPPORTED;
    if (!attrs_get(a, CKA_KEY_TYPE) && (rv = attrs_set_ulong(a, CKA_KEY_TYPE, c->key_type)))
        return rv;
    if (!attrs_get(a, CKA_EC_PARAMS) && (rv = asym_set_ec_params(a, c)))
        return rv;
    if (c->key_type == CKK_EC) {
        if (priv)
            return set_bn_param(a, CKA_VALUE, k, OSSL_PKEY_PARAM_PRIV_KEY, true, c->order_len);
        return ec_point_to_attrs(k, c, a);
    }
    uint8_t buf[64];
    size_t n = sizeof buf;
    if (priv) {
        if (EVP_PKEY_get_raw_private_key(k, buf, &n) != 1 || n != c->order_len)
            rv = CKR_GENERAL_ERROR;
        else
            rv = attrs_set(a, CKA_VALUE, buf, (CK_ULONG)n, true);
        OPENSSL_cleanse(buf, sizeof buf);
        return rv;
    }
    if (EVP_PKEY_get_raw_public_key(k, buf, &n) != 1 || n != c->field_len)
        return CKR_GENERAL_ERROR;
    return set_point(a, buf, n);
}

static CK_RV ec_check(const attrs_t *a, bool priv)
{
    EVP_PKEY *k = NULL;
    CK_RV rv = mech_pkey_from_attrs(a, priv, &k);
    if (rv != CKR_OK)
        return rv == CKR_KEY_TYPE_INCONSISTENT ? CKR_TEMPLATE_INCONSISTENT : rv;
    if (EVP_PKEY_is_a(k, "EC")) {
        /* The point decoded onto the curve already; this adds order * Q = O. For private
         * keys the scalar range was checked when the public point was computed. */
        EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(ossl_libctx(), k, NULL);
        if (!ctx)
            rv = CKR_HOST_MEMORY;
        else if ((priv ? EVP_PKEY_private_check(ctx) : EVP_PKEY_public_check(ctx)) != 1)
            rv = CKR_ATTRIBUTE_VALUE_INVALID;
        EVP_PKEY_CTX_free(ctx);
    }
    EVP_PKEY_free(k);
    return rv;
}

CK_RV mech_validate_import(const attrs_t *a)
{
    CK_OBJECT_CLASS cls;
    if (!a)
        return CKR_ARGUMENTS_BAD;
    if (!attrs_ulong(a, CKA_CLASS, &cls) || (cls != CKO_PUBLIC_KEY && cls != CKO_PRIVATE_KEY))
        return CKR_OK;
    bool priv = cls == CKO_PRIVATE_KEY;
    switch (attrs_key_type(a)) {
    case CKK_RSA: {
        CK_RV rv = rsa_check(a, priv);
        if (rv == CKR_OK) {
            /* And libcrypto must accept it as it will be used. */
            EVP_PKEY *k = NULL;
            rv = mech_pkey_from_attrs(a, priv, &k);
            EVP_PKEY_free(k);
        }
        return rv;
    }
    case CKK_EC:
    case CKK_EC_EDWARDS:
    case CKK_EC_MONTGOMERY:
        return ec_check(a, priv);
    default:
        return CKR_OK;
    }
}
