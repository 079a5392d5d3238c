/* craton-util: objects (list-objects, export, delete-object). */
#include "util.h"

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

const char *class_name(CK_OBJECT_CLASS c)
{
    switch (c) {
    case CKO_DATA: return "data";
    case CKO_CERTIFICATE: return "certificate";
    case CKO_PUBLIC_KEY: return "public-key";
    case CKO_PRIVATE_KEY: return "private-key";
    case CKO_SECRET_KEY: return "secret-key";
    case CKO_HW_FEATURE: return "hw-feature";
    case CKO_DOMAIN_PARAMETERS: return "domain-parameters";
    case CKO_MECHANISM: return "mechanism";
    case CKO_OTP_KEY: return "otp-key";
    case CKO_PROFILE: return "profile";
    default: return "other";
    }
}

const char *key_type_name(CK_KEY_TYPE k)
{
    switch (k) {
    case CKK_RSA: return "RSA";
    case CKK_EC: return "EC";
    case CKK_EC_EDWARDS: return "EC-Edwards";
    case CKK_EC_MONTGOMERY: return "EC-Montgomery";
    case CKK_AES: return "AES";
    case CKK_GENERIC_SECRET: return "generic-secret";
    case CKK_CHACHA20: return "ChaCha20";
    case CKK_SHA_1_HMAC: return "SHA-1-HMAC";
    case CKK_SHA256_HMAC: return "SHA256-HMAC";
    case CKK_SHA384_HMAC: return "SHA384-HMAC";
    case CKK_SHA512_HMAC: return "SHA512-HMAC";
    case CKK_DES3: return "DES3";
    case CKK_DSA: return "DSA";
    case CKK_DH: return "DH";
    case CKK_HKDF: return "HKDF";
    default: return "other";
    }
}

/* The curve NID of DER EC parameters (OID or printable name); NID_undef when unknown. */
static int curve_nid(const uint8_t *der, size_t len)
{
    const unsigned char *p = der;
    int nid = NID_undef;
    if (len > 2 && der[0] == V_ASN1_OBJECT) {
        ASN1_OBJECT *obj = d2i_ASN1_OBJECT(NULL, &p, (long)len);
        if (obj)
            nid = OBJ_obj2nid(obj);
        ASN1_OBJECT_free(obj);
    } else if (len > 2 && der[0] == V_ASN1_PRINTABLESTRING) {
        ASN1_PRINTABLESTRING *s = d2i_ASN1_PRINTABLESTRING(NULL, &p, (long)len);
        if (s) {
            char name[64];
            int n = ASN1_STRING_length(s);
            if (n > 0 && n < (int)sizeof name) {
                memcpy(name, ASN1_STRING_get0_data(s), (size_t)n);
                name[n] = 0;
                if (!strcasecmp(name, "edwards25519"))
                    nid = NID_ED25519;
                else if (!strcasecmp(name, "edwards448"))
                    nid = NID_ED448;
                else if (!strcasecmp(name, "curve25519"))
                    nid = NID_X25519;
                else if (!strcasecmp(name, "curve448"))
                    nid = NID_X448;
                else if ((nid = OBJ_txt2nid(name)) == NID_undef)
                    nid = EC_curve_nist2nid(name);
            }
        }
        ASN1_PRINTABLESTRING_free(s);
    }
    return nid;
}

static unsigned long nid_bits(int nid)
{
    switch (nid) {
    case NID_ED25519:
    case NID_X25519: return 255;
    case NID_ED448: return 456;
    case NID_X448: return 448;
    case NID_undef: return 0;
    default: {
        EC_GROUP *g = EC_GROUP_new_by_curve_name(nid);
        unsigned long b = g ? (unsigned long)EC_GROUP_get_degree(g) : 0;
        EC_GROUP_free(g);
        return b;
    }
    }
}

unsigned long key_bits(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h,
                       CK_OBJECT_CLASS cls, CK_KEY_TYPE kt)
{
    CK_ULONG v;
    uint8_t *b;
    CK_ULONG len;
    unsigned long bits = 0;
    if (cls == CKO_SECRET_KEY) {
        if (attr_ulong(f, s, h, CKA_VALUE_LEN, &v) && v != CK_UNAVAILABLE_INFORMATION)
            return v * 8;
        return 0;
    }
    if (kt == CKK_RSA) {
        if (cls == CKO_PUBLIC_KEY && attr_ulong(f, s, h, CKA_MODULUS_BITS, &v) && v &&
            v != CK_UNAVAILABLE_INFORMATION)
            return v;
        if (attr_get(f, s, h, CKA_MODULUS, &b, &len) == 0) {
            BIGNUM *n = BN_bin2bn(b, (int)len, NULL);
            bits = n ? (unsigned long)BN_num_bits(n) : 0;
            BN_free(n);
            free(b);
        }
        return bits;
    }
    if (kt == CKK_EC || kt == CKK_EC_EDWARDS || kt == CKK_EC_MONTGOMERY) {
        if (attr_get(f, s, h, CKA_EC_PARAMS, &b, &len) == 0) {
            bits = nid_bits(curve_nid(b, len));
            free(b);
        }
    }
    return bits;
}

/* ---- list-objects ---- */

static void json_str(const char *s, size_t n)
{
    putchar('"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20 || c == 0x7f)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

static const struct {
    CK_ATTRIBUTE_TYPE t;
    const char *name;
} usage_attrs[] = {
    { CKA_ENCRYPT, "encrypt" }, { CKA_DECRYPT, "decrypt" }, { CKA_SIGN, "sign" },
    { CKA_VERIFY, "verify" },   { CKA_WRAP, "wrap" },       { CKA_UNWRAP, "unwrap" },
    { CKA_DERIVE, "derive" },   { CKA_SIGN_RECOVER, "sign-recover" },
    { CKA_VERIFY_RECOVER, "verify-recover" },
};
static const struct {
    CK_ATTRIBUTE_TYPE t;
    const char *name;
} prop_attrs[] = {
    { CKA_PRIVATE, "private" },     { CKA_SENSITIVE, "sensitive" },
    { CKA_EXTRACTABLE, "extractable" }, { CKA_MODIFIABLE, "modifiable" },
};

static void list_one(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h,
                     CK_SLOT_ID slot, const char *token, bool json, bool first)
{
    CK_ULONG cls = CK_UNAVAILABLE_INFORMATION, kt = CK_UNAVAILABLE_INFORMATION;
    attr_ulong(f, s, h, CKA_CLASS, &cls);
    bool is_key = cls == CKO_PUBLIC_KEY || cls == CKO_PRIVATE_KEY || cls == CKO_SECRET_KEY;
    if (is_key)
        attr_ulong(f, s, h, CKA_KEY_TYPE, &kt);
    uint8_t *label = NULL, *id = NULL, *uid = NULL;
    CK_ULONG ll = 0, il = 0, ul = 0;
    attr_get(f, s, h, CKA_LABEL, &label, &ll);
    attr_get(f, s, h, CKA_ID, &id, &il);
    attr_get(f, s, h, CKA_UNIQUE_ID, &uid, &ul);
    unsigned long bits = is_key ? key_bits(f, s, h, cls, kt) : 0;
    if (json) {
        printf("%s\n  {\"slot\": %lu, \"token\": ", first ? "" : ",", (unsigned long)slot);
        json_str(token, strlen(token));
        printf(", \"class\": \"%s\", \"label\": ", class_name(cls));
        json_str(label ? (const char *)label : "", ll);
        printf(", \"id\": \"");
        hex_print(stdout, id, il);
        printf("\"");
        if (is_key)
            printf(", \"key_type\": \"%s\", \"bits\": %lu", key_type_name(kt), bits);
        printf(", \"usage\": [");
        int k = 0;
        for (size_t i = 0; is_key && i < sizeof usage_attrs / sizeof usage_attrs[0]; i++) {
            bool v;
            if (attr_bool(f, s, h, usage_attrs[i].t, &v) && v)
                printf("%s\"%s\"", k++ ? ", " : "", usage_attrs[i].name);
        }
        printf("], \"flags\": [");
        k = 0;
        for (size_t i = 0; i < sizeof prop_attrs / sizeof prop_attrs[0]; i++) {
            bool v;
            if (attr_bool(f, s, h, prop_attrs[i].t, &v) && v)
                printf("%s\"%s\"", k++ ? ", " : "", prop_attrs[i].name);
        }
        printf("], \"unique_id\": ");
        json_str(uid ? (const char *)uid : "", ul);
        printf("}");
    } else {
        printf("  %-12s", class_name(cls));
        if (is_key) {
            char kd[48];
            snprintf(kd, sizeof kd, bits ? "%s-%lu" : "%s", key_type_name(kt), bits);
            printf(" %-14s", kd);
        }
        printf(" label=\"%.*s\" id=", (int)ll, label ? (const char *)label : "");
        if (il)
            hex_print(stdout, id, il);
        else
            printf("-");
        if (is_key) {
            printf(" usage=");
            int k = 0;
            for (size_t i = 0; i < sizeof usage_attrs / sizeof usage_attrs[0]; i++) {
                bool v;
                if (attr_bool(f, s, h, usage_attrs[i].t, &v) && v)
                    printf("%s%s", k++ ? "," : "", usage_attrs[i].name);
            }
            if (!k)
                printf("-");
        }
        int k = 0;
        for (size_t i = 0; i < sizeof prop_attrs / sizeof prop_attrs[0]; i++) {
            bool v;
            if (attr_bool(f, s, h, prop_attrs[i].t, &v) && v)
                printf("%s%s", k++ ? "," : " flags=", prop_attrs[i].name);
        }
        printf(" uid=%.*s\n", (int)ul, uid ? (const char *)uid : "-");
    }
    free(label);
    free(id);
    free(uid);
}

/* Logs in when asked to (--login) or when a PIN is at hand; 0 also when no login is wanted. */
static int maybe_login(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s, const struct opts *o,
                       const char *label, bool *logged_in)
{
    *logged_in = false;
    if (!o->login && !pin_available(o->pin_file, "CRATON_PIN"))
        return 0;
    int rc = p11_login(f, s, CKU_USER, o, label);
    if (rc == 0)
        *logged_in = true;
    return rc;
}

int cmd_list_objects(struct opts *o)
{
    if (o->nargs) {
        errf("unexpected argument '%s'", o->args[0]);
        return EX_USAGE;
    }
    void *dl;
    CK_FUNCTION_LIST_PTR f;
    if (p11_load(o->module, &dl, &f))
        return EX_FAIL;
    CK_SLOT_ID *slots = NULL;
    CK_ULONG n = 0;
    int rc = EX_OK;
    if (o->token || o->slot) {
        CK_TOKEN_INFO ti;
        slots = malloc(sizeof *slots);
        if (!slots || p11_find_token(f, o->token, o->slot, slots, &ti))
            rc = EX_FAIL;
        n = 1;
    } else if (p11_slots(f, &slots, &n)) {
        rc = EX_FAIL;
    }
    bool first = true;
    if (o->json && rc == EX_OK)
        printf("[");
    for (CK_ULONG i = 0; rc == EX_OK && i < n; i++) {
        CK_TOKEN_INFO ti;
        if (f->C_GetTokenInfo(slots[i], &ti) != CKR_OK || !(ti.flags & CKF_TOKEN_INITIALIZED))
            continue;
        char label[33];
        p11_str(label, sizeof label, ti.label, sizeof ti.label);
        CK_SESSION_HANDLE s;
        if (p11_session(f, slots[i], false, &s)) {
            rc = EX_FAIL;
            break;
        }
        bool in;
        int lr = maybe_login(f, s, o, label, &in);
        if (lr) {
            rc = lr;
            break;
        }
        CK_OBJECT_HANDLE *hs;
        CK_ULONG cnt;
        if (p11_find(f, s, NULL, 0, &hs, &cnt)) {
            rc = EX_FAIL;
            break;
        }
        if (!o->json)
            printf("Token '%s' (slot %lu): %lu object%s%s\n", label, (unsigned long)slots[i],
                   (unsigned long)cnt, cnt == 1 ? "" : "s",
                   in ? "" : " (public only; --login shows private ones)");
        for (CK_ULONG k = 0; k < cnt; k++) {
            list_one(f, s, hs[k], slots[i], label, o->json, first);
            first = false;
        }
        free(hs);
        f->C_CloseSession(s);
    }
    if (o->json && rc == EX_OK)
        printf("%s]\n", first ? "" : "\n");
    free(slots);
    p11_unload(dl, f);
    return rc;
}

/* ---- selecting objects ---- */

struct selector {
    CK_ATTRIBUTE t[3];
    CK_ULONG n;
    uint8_t *id;
};

static int selector_make(const struct opts *o, struct selector *sel)
{
    memset(sel, 0, sizeof *sel);
    if (!o->label && !o->id && !o->uid) {
        errf("choose the object with --label, --id or --uid");
        return -1;
    }
    if (o->label)
        sel->t[sel->n++] = (CK_ATTRIBUTE){ CKA_LABEL, (void *)o->label, strlen(o->label) };
    if (o->id) {
        size_t l;
        if (hex_decode(o->id, &sel->id, &l))
            return -1;
        sel->t[sel->n++] = (CK_ATTRIBUTE){ CKA_ID, sel->id, l };
    }
    if (o->uid)
        sel->t[sel->n++] = (CK_ATTRIBUTE){ CKA_UNIQUE_ID, (void *)o->uid, strlen(o->uid) };
    return 0;
}

static int find_class(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s, const struct selector *sel,
                      CK_OBJECT_CLASS cls, CK_OBJECT_HANDLE **hs, CK_ULONG *n)
{
    CK_ATTRIBUTE t[4];
    memcpy(t, sel->t, sel->n * sizeof t[0]);
    t[sel->n] = (CK_ATTRIBUTE){ CKA_CLASS, &cls, sizeof cls };
    return p11_find(f, s, t, sel->n + 1, hs, n);
}

/* ---- export ---- */

static EVP_PKEY *pkey_from_object(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s,
                                  CK_OBJECT_HANDLE h)
{
    EVP_PKEY *k = NULL;
    uint8_t *a = NULL, *b = NULL;
    CK_ULONG al = 0, bl = 0, kt = CK_UNAVAILABLE_INFORMATION;
    if (attr_get(f, s, h, CKA_PUBLIC_KEY_INFO, &a, &al) == 0 && al > 0) {
        const unsigned char *p = a;
        k = d2i_PUBKEY(NULL, &p, (long)al);
    }
    free(a);
    a = NULL;
    if (k || !attr_ulong(f, s, h, CKA_KEY_TYPE, &kt))
        return k;
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    BIGNUM *n = NULL, *e = NULL;
    ASN1_OCTET_STRING *os = NULL;
    if (!bld)
        return NULL;
    if (kt == CKK_RSA) {
        if (attr_get(f, s, h, CKA_MODULUS, &a, &al) || attr_get(f, s, h, CKA_PUBLIC_EXPONENT, &b, &bl))
            goto out;
        n = BN_bin2bn(a, (int)al, NULL);
        e = BN_bin2bn(b, (int)bl, NULL);
        if (!n || !e || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
            !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e))
            goto out;
        ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    } else if (kt == CKK_EC || kt == CKK_EC_EDWARDS || kt == CKK_EC_MONTGOMERY) {
        if (attr_get(f, s, h, CKA_EC_PARAMS, &a, &al) || attr_get(f, s, h, CKA_EC_POINT, &b, &bl))
            goto out;
        int nid = curve_nid(a, al);
        const unsigned char *p = b, *raw = b;
        size_t rawlen = bl;
        if ((os = d2i_ASN1_OCTET_STRING(NULL, &p, (long)bl)) != NULL && p == b + bl) {
            raw = ASN1_STRING_get0_data(os);
            rawlen = (size_t)ASN1_STRING_length(os);
        }
        if (kt != CKK_EC) {
            int type = nid == NID_ED25519 ? EVP_PKEY_ED25519 : nid == NID_ED448 ? EVP_PKEY_ED448
                       : nid == NID_X25519 ? EVP_PKEY_X25519 : nid == NID_X448 ? EVP_PKEY_X448 : 0;
            if (type)
                k = EVP_PKEY_new_raw_public_key(type, NULL, raw, rawlen);
            goto out;
        }
        const char *gname = nid != NID_undef ? OBJ_nid2sn(nid) : NULL;
        if (!gname ||
            !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, gname, 0) ||
            !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, raw, rawlen))
            goto out;
        ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    } else {
        goto out;
    }
    if (ctx && (params = OSSL_PARAM_BLD_to_param(bld)) && EVP_PKEY_fromdata_init(ctx) > 0 &&
        EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_PUBLIC_KEY, params) <= 0)
        k = NULL;
out:
    ASN1_OCTET_STRING_free(os);
    BN_free(n);
    BN_free(e);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    EVP_PKEY_CTX_free(ctx);
    free(a);
    free(b);
    return k;
}

static X509 *cert_from_object(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h)
{
    uint8_t *v;
    CK_ULONG l;
    if (attr_get(f, s, h, CKA_VALUE, &v, &l))
        return NULL;
    const unsigned char *p = v;
    X509 *x = d2i_X509(NULL, &p, (long)l);
    free(v);
    return x;
}

/* Opens a session on the selected token, logged in when a PIN is at hand or required. */
static int token_session(struct opts *o, bool need_login, void **dl, CK_FUNCTION_LIST_PTR *f,
                         CK_SESSION_HANDLE *s, bool rw)
{
    if (p11_load(o->module, dl, f))
        return EX_FAIL;
    CK_SLOT_ID slot;
    CK_TOKEN_INFO ti;
    if (p11_find_token(*f, o->token, o->slot, &slot, &ti) || p11_session(*f, slot, rw, s)) {
        p11_unload(*dl, *f);
        return EX_FAIL;
    }
    char label[33];
    p11_str(label, sizeof label, ti.label, sizeof ti.label);
    bool in;
    int rc = need_login ? p11_login(*f, *s, CKU_USER, o, label) : maybe_login(*f, *s, o, label, &in);
    if (rc)
        p11_unload(*dl, *f);
    return rc;
}

int cmd_export(struct opts *o)
{
    if (o->pub == o->cert) {
        errf("choose one of --public and --cert");
        return EX_USAGE;
    }
    if (o->nargs) {
        errf("unexpected argument '%s'", o->args[0]);
        return EX_USAGE;
    }
    struct selector sel;
    if (selector_make(o, &sel)) {
        free(sel.id);
        return EX_USAGE;
    }
    void *dl;
    CK_FUNCTION_LIST_PTR f;
    CK_SESSION_HANDLE s;
    int rc = token_session(o, false, &dl, &f, &s, false);
    if (rc) {
        free(sel.id);
        return rc;
    }
    rc = EX_FAIL;
    EVP_PKEY *k = NULL;
    X509 *x = NULL;
    static const CK_OBJECT_CLASS pub_order[] = { CKO_PUBLIC_KEY, CKO_PRIVATE_KEY, CKO_CERTIFICATE };
    static const CK_OBJECT_CLASS cert_order[] = { CKO_CERTIFICATE };
    const CK_OBJECT_CLASS *order = o->pub ? pub_order : cert_order;
    size_t norder = o->pub ? 3 : 1;
    bool found = false;
    for (size_t i = 0; i < norder && !k && !x; i++) {
        CK_OBJECT_HANDLE *hs;
        CK_ULONG n;
        if (find_class(f, s, &sel, order[i], &hs, &n))
            goto out;
        if (n > 1) {
            errf("%lu %s objects match: be more specific (--id, --uid)", (unsigned long)n,
                 class_name(order[i]));
            free(hs);
            goto out;
        }
        if (n == 1) {
            found = true;
            if (order[i] == CKO_CERTIFICATE) {
                X509 *c = cert_from_object(f, s, hs[0]);
                if (c && o->pub) {
                    k = X509_get_pubkey(c);
                    X509_free(c);
                } else {
                    x = c;
                }
            } else {
                k = pkey_from_object(f, s, hs[0]);
            }
        }
        free(hs);
    }
    if (!k && !x) {
        errf(found ? "the object's %s cannot be read or decoded"
                   : "no %s matches (private objects need a login: --pin-file or CRATON_PIN)",
             o->pub ? "public key" : "certificate");
        goto out;
    }
    BIO *bio = o->out ? BIO_new(BIO_s_mem()) : BIO_new_fp(stdout, BIO_NOCLOSE);
    int ok = bio && (k ? PEM_write_bio_PUBKEY(bio, k) : PEM_write_bio_X509(bio, x));
    if (ok && o->out) {
        char *mem;
        long len = BIO_get_mem_data(bio, &mem);
        ok = file_write_atomic(o->out, (const uint8_t *)mem, (size_t)len, 0644, true) == 0;
    } else if (!ok) {
        errf("cannot write the PEM");
    }
    BIO_free(bio);
    rc = ok ? EX_OK : EX_FAIL;
out:
    EVP_PKEY_free(k);
    X509_free(x);
    free(sel.id);
    p11_unload(dl, f);
    return rc;
}

/* ---- delete-object ---- */

int cmd_delete_object(struct opts *o)
{
    static const struct { const char *name; CK_OBJECT_CLASS c; } types[] = {
        { "private", CKO_PRIVATE_KEY }, { "public", CKO_PUBLIC_KEY },
        { "secret", CKO_SECRET_KEY },   { "cert", CKO_CERTIFICATE },
        { "data", CKO_DATA },
    };
    CK_OBJECT_CLASS cls = 0;
    bool have_cls = false;
    if (o->type) {
        for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
            if (!strcmp(o->type, types[i].name)) {
                cls = types[i].c;
                have_cls = true;
            }
        if (!have_cls) {
            errf("--type: one of private, public, secret, cert, data");
            return EX_USAGE;
        }
    }
    if (o->nargs) {
        errf("unexpected argument '%s'", o->args[0]);
        return EX_USAGE;
    }
    struct selector sel;
    if (selector_make(o, &sel)) {
        free(sel.id);
        return EX_USAGE;
    }
    if (have_cls)
        sel.t[sel.n++] = (CK_ATTRIBUTE){ CKA_CLASS, &cls, sizeof cls };
    void *dl;
    CK_FUNCTION_LIST_PTR f;
    CK_SESSION_HANDLE s;
    int rc = token_session(o, true, &dl, &f, &s, true);
    if (rc) {
        free(sel.id);
        return rc;
    }
    CK_OBJECT_HANDLE *hs = NULL;
    CK_ULONG n = 0;
    rc = EX_FAIL;
    if (p11_find(f, s, sel.t, sel.n, &hs, &n))
        goto out;
    if (n == 0) {
        errf("no object matches");
        goto out;
    }
    if (n > 1 && !o->all) {
        errf("%lu objects match (a key pair and its certificate share label and ID): narrow "
             "with --type or --uid, or delete them all with --all",
             (unsigned long)n);
        goto out;
    }
    unsigned long done = 0;
    for (CK_ULONG i = 0; i < n; i++) {
        CK_ULONG c = CK_UNAVAILABLE_INFORMATION;
        attr_ulong(f, s, hs[i], CKA_CLASS, &c);
        CK_RV rv = f->C_DestroyObject(s, hs[i]);
        if (rv != CKR_OK) {
            errf("C_DestroyObject (%s): %s", class_name(c), rv_name(rv));
            continue;
        }
        printf("deleted %s\n", class_name(c));
        done++;
    }
    rc = done == n ? EX_OK : EX_FAIL;
out:
    free(hs);
    free(sel.id);
    p11_unload(dl, f);
    return rc;
}
