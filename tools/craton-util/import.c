/* craton-util import: keys and certificates decoded by libcrypto, stored with C_CreateObject. */
#include "util.h"

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/decoder.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

#define FILE_MAX (16u << 20)

enum kind { IT_PRIV, IT_PUB, IT_CERT };
struct item {
    enum kind kind;
    EVP_PKEY *k;
    X509 *x;
    const char *file;
};

struct ctx {
    const struct opts *o;
    struct item *items;
    size_t n;
    char pass[PIN_MAX];
    size_t passlen;
    bool have_pass;
    const char *file; /* being decoded, for the prompt */
};

static int add_item(struct ctx *c, enum kind kind, EVP_PKEY *k, X509 *x)
{
    struct item *nv = realloc(c->items, (c->n + 1) * sizeof *nv);
    if (!nv) {
        EVP_PKEY_free(k);
        X509_free(x);
        return -1;
    }
    c->items = nv;
    nv[c->n++] = (struct item){ kind, k, x, c->file };
    return 0;
}

static int get_pass(struct ctx *c)
{
    if (c->have_pass)
        return 0;
    char prompt[300];
    snprintf(prompt, sizeof prompt, "Passphrase for %s: ", c->file);
    if (pin_get(c->o->pass_file, "CRATON_IMPORT_PASS", prompt, c->pass, &c->passlen))
        return -1;
    c->have_pass = true;
    return 0;
}

static int pass_cb(char *pass, size_t size, size_t *len, const OSSL_PARAM params[], void *arg)
{
    (void)params;
    struct ctx *c = arg;
    if (get_pass(c) || c->passlen > size)
        return 0;
    memcpy(pass, c->pass, c->passlen);
    *len = c->passlen;
    return 1;
}

static bool has_private(EVP_PKEY *k)
{
    BIGNUM *bn = NULL;
    if (EVP_PKEY_is_a(k, "RSA") || EVP_PKEY_is_a(k, "RSA-PSS")) {
        bool r = EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_D, &bn) == 1;
        BN_clear_free(bn);
        return r;
    }
    if (EVP_PKEY_is_a(k, "EC")) {
        bool r = EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_PRIV_KEY, &bn) == 1;
        BN_clear_free(bn);
        return r;
    }
    size_t l = 0;
    return EVP_PKEY_get_raw_private_key(k, NULL, &l) == 1 && l > 0;
}

/* One key from PEM or DER text with libcrypto's decoders (PKCS#8, encrypted PKCS#8,
 * traditional, SubjectPublicKeyInfo). */
static EVP_PKEY *decode_key(struct ctx *c, const uint8_t *data, size_t len, const char *input)
{
    EVP_PKEY *k = NULL;
    OSSL_DECODER_CTX *d = OSSL_DECODER_CTX_new_for_pkey(&k, input, NULL, NULL, 0, NULL, NULL);
    if (!d)
        return NULL;
    OSSL_DECODER_CTX_set_passphrase_cb(d, pass_cb, c);
    const unsigned char *p = data;
    size_t left = len;
    if (!OSSL_DECODER_from_data(d, &p, &left)) {
        EVP_PKEY_free(k);
        k = NULL;
    }
    OSSL_DECODER_CTX_free(d);
    return k;
}

static int add_key(struct ctx *c, EVP_PKEY *k)
{
    return add_item(c, has_private(k) ? IT_PRIV : IT_PUB, k, NULL);
}

static int decode_pkcs12(struct ctx *c, PKCS12 *p12)
{
    const char *pass = NULL;
    if (PKCS12_mac_present(p12)) {
        if (PKCS12_verify_mac(p12, "", 0))
            pass = "";
        else if (PKCS12_verify_mac(p12, NULL, 0))
            pass = NULL;
        else {
            if (get_pass(c))
                return -1;
            if (!PKCS12_verify_mac(p12, c->pass, (int)c->passlen)) {
                errf("%s: wrong passphrase for the PKCS#12 file", c->file);
                return -1;
            }
            pass = c->pass;
        }
    }
    EVP_PKEY *k = NULL;
    X509 *x = NULL;
    STACK_OF(X509) *ca = NULL;
    if (!PKCS12_parse(p12, pass, &k, &x, &ca)) {
        errf("%s: cannot read the PKCS#12 contents", c->file);
        return -1;
    }
    int rc = 0;
    if (k)
        rc |= add_key(c, k);
    if (x)
        rc |= add_item(c, IT_CERT, NULL, x);
    if (ca && sk_X509_num(ca) > 0)
        notef("%s: %d CA certificate(s) in the PKCS#12 file are not imported", c->file,
              sk_X509_num(ca));
    sk_X509_pop_free(ca, X509_free);
    return rc;
}

static int decode_pem(struct ctx *c, const uint8_t *buf, size_t len)
{
    BIO *in = BIO_new_mem_buf(buf, (int)len);
    int blocks = 0, rc = 0;
    char *name = NULL, *header = NULL;
    unsigned char *data = NULL;
    long dlen = 0;
    while (in && rc == 0 && PEM_read_bio(in, &name, &header, &data, &dlen)) {
        blocks++;
        const unsigned char *p = data;
        if (!strcmp(name, PEM_STRING_X509) || !strcmp(name, PEM_STRING_X509_OLD) ||
            !strcmp(name, PEM_STRING_X509_TRUSTED)) {
            X509 *x = !strcmp(name, PEM_STRING_X509_TRUSTED) ? d2i_X509_AUX(NULL, &p, dlen)
                                                             : d2i_X509(NULL, &p, dlen);
            if (!x) {
                errf("%s: a bad certificate", c->file);
                rc = -1;
            } else {
                rc = add_item(c, IT_CERT, NULL, x);
            }
        } else if (!strcmp(name, "PKCS12")) {
            PKCS12 *p12 = d2i_PKCS12(NULL, &p, dlen);
            rc = p12 ? decode_pkcs12(c, p12) : -1;
            PKCS12_free(p12);
        } else if (strstr(name, "KEY") && !strstr(name, "PARAMETERS")) {
            /* The block again as PEM text (headers of traditional encrypted keys kept). */
            BIO *one = BIO_new(BIO_s_mem());
            char *pem;
            long pl;
            EVP_PKEY *k = NULL;
            if (one && PEM_write_bio(one, name, header, data, dlen) > 0 &&
                (pl = BIO_get_mem_data(one, &pem)) > 0)
                k = decode_key(c, (const uint8_t *)pem, (size_t)pl, "PEM");
            BIO_free(one);
            if (!k) {
                errf("%s: cannot decode the %s block (wrong passphrase, or an unsupported "
                     "key)", c->file, name);
                rc = -1;
            } else {
                rc = add_key(c, k);
            }
        } else {
            notef("%s: skipping a %s block", c->file, name);
        }
        OPENSSL_free(name);
        OPENSSL_free(header);
        if (data)
            OPENSSL_cleanse(data, (size_t)dlen);
        OPENSSL_free(data);
        name = header = NULL;
        data = NULL;
    }
    BIO_free(in);
    ERR_clear_error();
    if (rc == 0 && blocks == 0) {
        errf("%s: no PEM block", c->file);
        rc = -1;
    }
    return rc;
}

static int decode_file(struct ctx *c, const char *path)
{
    uint8_t *buf;
    size_t len;
    if (file_read(path, &buf, &len, FILE_MAX))
        return -1;
    c->file = path;
    size_t before = c->n;
    int rc = -1;
    if (len > 10 && memmem(buf, len, "-----BEGIN ", 11)) {
        rc = decode_pem(c, buf, len);
    } else {
        const unsigned char *p = buf;
        PKCS12 *p12 = d2i_PKCS12(NULL, &p, (long)len);
        X509 *x = NULL;
        if (p12 && p == buf + len) {
            rc = decode_pkcs12(c, p12);
        } else {
            p = buf;
            if ((x = d2i_X509(NULL, &p, (long)len)) != NULL && p == buf + len) {
                rc = add_item(c, IT_CERT, NULL, x);
                x = NULL;
            } else {
                EVP_PKEY *k = decode_key(c, buf, len, "DER");
                if (k)
                    rc = add_key(c, k);
                else
                    errf("%s: not a key, certificate or PKCS#12 file that libcrypto can "
                         "decode (or a wrong passphrase)", path);
            }
        }
        X509_free(x);
        PKCS12_free(p12);
        ERR_clear_error();
    }
    OPENSSL_cleanse(buf, len);
    free(buf);
    if (rc == 0 && c->n == before) {
        errf("%s: nothing to import", path);
        rc = -1;
    }
    return rc;
}

/* ---- templates ---- */

struct tmpl {
    CK_ATTRIBUTE a[32];
    CK_ULONG n;
    void *owned[16];
    size_t owned_len[16];
    int nowned;
};
static CK_BBOOL yes = CK_TRUE, no = CK_FALSE;

static void t_add(struct tmpl *t, CK_ATTRIBUTE_TYPE type, const void *v, CK_ULONG len)
{
    if (t->n < sizeof t->a / sizeof t->a[0])
        t->a[t->n++] = (CK_ATTRIBUTE){ type, (void *)v, len };
}
static void t_own(struct tmpl *t, CK_ATTRIBUTE_TYPE type, void *v, size_t len)
{
    if (t->nowned < 16) {
        t->owned[t->nowned] = v;
        t->owned_len[t->nowned++] = len;
    }
    t_add(t, type, v, (CK_ULONG)len);
}
static void t_free(struct tmpl *t)
{
    for (int i = 0; i < t->nowned; i++) {
        OPENSSL_cleanse(t->owned[i], t->owned_len[i]);
        OPENSSL_free(t->owned[i]);
    }
    t->nowned = 0;
}

static int t_bn(struct tmpl *t, CK_ATTRIBUTE_TYPE type, EVP_PKEY *k, const char *name,
                size_t pad)
{
    BIGNUM *bn = NULL;
    if (!EVP_PKEY_get_bn_param(k, name, &bn))
        return -1;
    size_t n = pad ? pad : (size_t)BN_num_bytes(bn);
    if (!n)
        n = 1;
    unsigned char *b = OPENSSL_malloc(n);
    int ok = b && BN_bn2binpad(bn, b, (int)n) == (int)n;
    BN_clear_free(bn);
    if (!ok) {
        OPENSSL_free(b);
        return -1;
    }
    t_own(t, type, b, n);
    return 0;
}

static int t_der_oid(struct tmpl *t, int nid)
{
    ASN1_OBJECT *obj = OBJ_nid2obj(nid);
    unsigned char *der = NULL;
    int n = obj ? i2d_ASN1_OBJECT(obj, &der) : -1;
    if (n <= 0)
        return -1;
    t_own(t, CKA_EC_PARAMS, der, (size_t)n);
    return 0;
}

static int t_point(struct tmpl *t, const unsigned char *raw, size_t len)
{
    ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
    unsigned char *der = NULL;
    int n = -1;
    if (os && ASN1_OCTET_STRING_set(os, raw, (int)len))
        n = i2d_ASN1_OCTET_STRING(os, &der);
    ASN1_OCTET_STRING_free(os);
    if (n <= 0)
        return -1;
    t_own(t, CKA_EC_POINT, der, (size_t)n);
    return 0;
}

static int ec_nid(EVP_PKEY *k)
{
    char name[64];
    if (!EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof name, NULL))
        return NID_undef;
    int nid = OBJ_txt2nid(name);
    return nid != NID_undef ? nid : EC_curve_nist2nid(name);
}

/* Key attributes of k for class cls; key type in *kt. */
static int t_key(struct tmpl *t, EVP_PKEY *k, bool priv, CK_KEY_TYPE *kt)
{
    if (EVP_PKEY_is_a(k, "RSA")) {
        *kt = CKK_RSA;
        if (t_bn(t, CKA_MODULUS, k, OSSL_PKEY_PARAM_RSA_N, 0) ||
            t_bn(t, CKA_PUBLIC_EXPONENT, k, OSSL_PKEY_PARAM_RSA_E, 0))
            return -1;
        if (!priv)
            return 0;
        if (t_bn(t, CKA_PRIVATE_EXPONENT, k, OSSL_PKEY_PARAM_RSA_D, 0))
            return -1;
        /* CRT parts when present (two-prime keys) */
        if (t_bn(t, CKA_PRIME_1, k, OSSL_PKEY_PARAM_RSA_FACTOR1, 0) == 0 &&
            t_bn(t, CKA_PRIME_2, k, OSSL_PKEY_PARAM_RSA_FACTOR2, 0) == 0 &&
            t_bn(t, CKA_EXPONENT_1, k, OSSL_PKEY_PARAM_RSA_EXPONENT1, 0) == 0 &&
            t_bn(t, CKA_EXPONENT_2, k, OSSL_PKEY_PARAM_RSA_EXPONENT2, 0) == 0)
            t_bn(t, CKA_COEFFICIENT, k, OSSL_PKEY_PARAM_RSA_COEFFICIENT1, 0);
        return 0;
    }
    if (EVP_PKEY_is_a(k, "EC")) {
        *kt = CKK_EC;
        int nid = ec_nid(k);
        if (nid == NID_undef || t_der_oid(t, nid)) {
            errf("an EC key on an unnamed or unknown curve");
            return -1;
        }
        if (priv)
            return t_bn(t, CKA_VALUE, k, OSSL_PKEY_PARAM_PRIV_KEY,
                        (size_t)(EVP_PKEY_get_bits(k) + 7) / 8);
        unsigned char pt[200];
        size_t pl = 0;
        EVP_PKEY_set_utf8_string_param(k, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
                                       "uncompressed");
        if (!EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, pt,
                                             sizeof pt, &pl))
            return -1;
        return t_point(t, pt, pl);
    }
    int nid = EVP_PKEY_is_a(k, "ED25519") ? NID_ED25519 : EVP_PKEY_is_a(k, "ED448") ? NID_ED448
                                                                                 : NID_undef;
    if (nid == NID_undef) {
        errf("unsupported key type %s (RSA, EC, Ed25519 and Ed448 are)",
             EVP_PKEY_get0_type_name(k) ? EVP_PKEY_get0_type_name(k) : "?");
        return -1;
    }
    *kt = CKK_EC_EDWARDS;
    if (t_der_oid(t, nid))
        return -1;
    size_t l = 0;
    if (priv) {
        if (!EVP_PKEY_get_raw_private_key(k, NULL, &l))
            return -1;
        unsigned char *b = OPENSSL_malloc(l);
        if (!b || !EVP_PKEY_get_raw_private_key(k, b, &l)) {
            OPENSSL_free(b);
            return -1;
        }
        t_own(t, CKA_VALUE, b, l);
        return 0;
    }
    unsigned char pub[64];
    l = sizeof pub;
    if (!EVP_PKEY_get_raw_public_key(k, pub, &l))
        return -1;
    return t_point(t, pub, l);
}

static int t_cert(struct tmpl *t, X509 *x)
{
    unsigned char *subj = NULL, *iss = NULL, *ser = NULL, *val = NULL;
    int sl = i2d_X509_NAME(X509_get_subject_name(x), &subj);
    int il = i2d_X509_NAME(X509_get_issuer_name(x), &iss);
    int nl = i2d_ASN1_INTEGER(X509_get_serialNumber(x), &ser);
    int vl = i2d_X509(x, &val);
    if (sl <= 0 || il <= 0 || nl <= 0 || vl <= 0) {
        OPENSSL_free(subj);
        OPENSSL_free(iss);
        OPENSSL_free(ser);
        OPENSSL_free(val);
        return -1;
    }
    t_own(t, CKA_SUBJECT, subj, (size_t)sl);
    t_own(t, CKA_ISSUER, iss, (size_t)il);
    t_own(t, CKA_SERIAL_NUMBER, ser, (size_t)nl);
    t_own(t, CKA_VALUE, val, (size_t)vl);
    return 0;
}

/* SHA-1 of the public key's bits (the usual key identifier) */
static int default_id(EVP_PKEY *k, uint8_t out[20])
{
    X509_PUBKEY *xp = NULL;
    const unsigned char *pk;
    int pklen;
    int ok = X509_PUBKEY_set(&xp, k) && X509_PUBKEY_get0_param(NULL, &pk, &pklen, NULL, xp) &&
             SHA1(pk, (size_t)pklen, out);
    X509_PUBKEY_free(xp);
    return ok ? 0 : -1;
}

int cmd_import(struct opts *o)
{
    if (!o->label) {
        errf("--label is required");
        return EX_USAGE;
    }
    if (!o->aes == !o->nargs) {
        errf(o->aes ? "--aes takes no other FILE" : "give the FILE(s) to import, or --aes FILE");
        return EX_USAGE;
    }
    uint8_t *id = NULL, dflt_id[20];
    size_t idlen = 0;
    if (o->id && hex_decode(o->id, &id, &idlen))
        return EX_USAGE;
    struct ctx c;
    memset(&c, 0, sizeof c);
    c.o = o;
    int rc = EX_FAIL;
    uint8_t *aes = NULL;
    size_t aeslen = 0;
    CK_OBJECT_HANDLE created[64];
    size_t ncreated = 0;
    void *dl = NULL;
    CK_FUNCTION_LIST_PTR f = NULL;
    CK_SESSION_HANDLE s;
    struct progress pr;

    if (o->aes) {
        if (file_read(o->aes, &aes, &aeslen, 64))
            goto out;
        if (aeslen != 16 && aeslen != 24 && aeslen != 32) {
            errf("%s: an AES key file holds 16, 24 or 32 raw bytes, not %zu", o->aes, aeslen);
            goto out;
        }
    } else {
        progress_start(&pr, "decoding", (uint64_t)o->nargs);
        for (int i = 0; i < o->nargs; i++) {
            if (decode_file(&c, o->args[i])) {
                progress_end(&pr);
                goto out;
            }
            progress_set(&pr, (uint64_t)i + 1);
        }
        progress_end(&pr);
        if (c.n > sizeof created / sizeof created[0] / 2) {
            errf("too many objects in one call");
            goto out;
        }
        if (!id) {
            EVP_PKEY *k = NULL;
            for (size_t i = 0; i < c.n && !k; i++)
                k = c.items[i].k ? c.items[i].k : X509_get0_pubkey(c.items[i].x);
            if (k && default_id(k, dflt_id) == 0) {
                id = dflt_id;
                idlen = sizeof dflt_id;
            }
        }
    }

    if (p11_load(o->module, &dl, &f))
        goto out;
    CK_SLOT_ID slot;
    CK_TOKEN_INFO ti;
    if (p11_find_token(f, o->token, o->slot, &slot, &ti) || p11_session(f, slot, true, &s))
        goto out;
    char tlabel[33];
    p11_str(tlabel, sizeof tlabel, ti.label, sizeof ti.label);
    if ((rc = p11_login(f, s, CKU_USER, o, tlabel)) != 0)
        goto out;
    rc = EX_FAIL;

    if (aes) {
        CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
        CK_KEY_TYPE kt = CKK_AES;
        struct tmpl t = { .n = 0 };
        t_add(&t, CKA_CLASS, &cls, sizeof cls);
        t_add(&t, CKA_KEY_TYPE, &kt, sizeof kt);
        t_add(&t, CKA_TOKEN, &yes, 1);
        t_add(&t, CKA_PRIVATE, &yes, 1);
        t_add(&t, CKA_SENSITIVE, &yes, 1);
        t_add(&t, CKA_EXTRACTABLE, &no, 1);
        t_add(&t, CKA_LABEL, o->label, strlen(o->label));
        if (id)
            t_add(&t, CKA_ID, id, idlen);
        t_add(&t, CKA_ENCRYPT, &yes, 1);
        t_add(&t, CKA_DECRYPT, &yes, 1);
        t_add(&t, CKA_WRAP, &yes, 1);
        t_add(&t, CKA_UNWRAP, &yes, 1);
        t_add(&t, CKA_SIGN, &no, 1);
        t_add(&t, CKA_VERIFY, &no, 1);
        t_add(&t, CKA_DERIVE, &no, 1);
        t_add(&t, CKA_VALUE, aes, aeslen);
        CK_OBJECT_HANDLE h;
        CK_RV rv = f->C_CreateObject(s, t.a, t.n, &h);
        if (rv != CKR_OK) {
            errf("C_CreateObject (AES key): %s", rv_name(rv));
            goto out;
        }
        printf("imported secret-key AES-%zu label=\"%s\"\n", aeslen * 8, o->label);
        rc = EX_OK;
        goto out;
    }

    /* The certificate's subject goes on the keys too. */
    X509 *cert = NULL;
    for (size_t i = 0; i < c.n; i++)
        if (c.items[i].kind == IT_CERT && !cert)
            cert = c.items[i].x;
    progress_start(&pr, "importing", (uint64_t)c.n);
    for (size_t i = 0; i < c.n; i++) {
        struct item *it = &c.items[i];
        /* A private key brings its public key object along. */
        for (int pass = 0; pass < (it->kind == IT_PRIV ? 2 : 1); pass++) {
            bool priv = it->kind == IT_PRIV && pass == 0;
            CK_OBJECT_CLASS cls = it->kind == IT_CERT ? CKO_CERTIFICATE
                                  : priv              ? CKO_PRIVATE_KEY
                                                      : CKO_PUBLIC_KEY;
            CK_KEY_TYPE kt = 0;
            CK_CERTIFICATE_TYPE ct = CKC_X_509;
            struct tmpl t = { .n = 0 };
            t_add(&t, CKA_CLASS, &cls, sizeof cls);
            t_add(&t, CKA_TOKEN, &yes, 1);
            t_add(&t, CKA_PRIVATE, priv ? &yes : &no, 1);
            t_add(&t, CKA_LABEL, o->label, strlen(o->label));
            if (id)
                t_add(&t, CKA_ID, id, idlen);
            int ok;
            if (it->kind == IT_CERT) {
                t_add(&t, CKA_CERTIFICATE_TYPE, &ct, sizeof ct);
                ok = t_cert(&t, it->x) == 0;
            } else {
                ok = t_key(&t, it->k, priv, &kt) == 0;
                t_add(&t, CKA_KEY_TYPE, &kt, sizeof kt);
                /* Every usage flag explicit: the token's defaults are its own. */
                if (priv) {
                    t_add(&t, CKA_SENSITIVE, &yes, 1);
                    t_add(&t, CKA_EXTRACTABLE, &no, 1);
                    t_add(&t, CKA_SIGN, &yes, 1);
                    t_add(&t, CKA_DECRYPT, kt == CKK_RSA ? &yes : &no, 1);
                    t_add(&t, CKA_DERIVE, kt == CKK_EC ? &yes : &no, 1);
                    t_add(&t, CKA_UNWRAP, &no, 1);
                    t_add(&t, CKA_SIGN_RECOVER, &no, 1);
                } else {
                    t_add(&t, CKA_VERIFY, &yes, 1);
                    t_add(&t, CKA_ENCRYPT, kt == CKK_RSA ? &yes : &no, 1);
                    t_add(&t, CKA_DERIVE, &no, 1);
                    t_add(&t, CKA_WRAP, &no, 1);
                    t_add(&t, CKA_VERIFY_RECOVER, &no, 1);
                }
                if (cert && ok) {
                    unsigned char *subj = NULL;
                    int sl = i2d_X509_NAME(X509_get_subject_name(cert), &subj);
                    if (sl > 0)
                        t_own(&t, CKA_SUBJECT, subj, (size_t)sl);
                }
            }
            CK_OBJECT_HANDLE h;
            CK_RV rv = ok ? f->C_CreateObject(s, t.a, t.n, &h) : CKR_GENERAL_ERROR;
            t_free(&t);
            if (rv != CKR_OK) {
                progress_end(&pr);
                if (ok)
                    errf("%s: C_CreateObject (%s): %s", it->file, class_name(cls), rv_name(rv));
                else
                    errf("%s: cannot convert the %s", it->file, class_name(cls));
                goto out;
            }
            created[ncreated++] = h;
            progress_clear(&pr);
            printf("imported %s", class_name(cls));
            if (it->kind != IT_CERT)
                printf(" %s-%d", key_type_name(kt),
                       EVP_PKEY_is_a(it->k, "ED25519") ? 255 : EVP_PKEY_get_bits(it->k));
            printf(" label=\"%s\" id=", o->label);
            hex_print(stdout, id, idlen);
            printf(" from %s\n", it->file);
            fflush(stdout);
        }
        progress_set(&pr, i + 1);
    }
    progress_end(&pr);
    rc = EX_OK;
out:
    if (rc != EX_OK && ncreated) {
        /* all or nothing */
        for (size_t i = 0; i < ncreated; i++)
            f->C_DestroyObject(s, created[i]);
        errf("nothing imported (the %zu objects made so far were removed)", ncreated);
    }
    if (dl)
        p11_unload(dl, f);
    for (size_t i = 0; i < c.n; i++) {
        EVP_PKEY_free(c.items[i].k);
        X509_free(c.items[i].x);
    }
    free(c.items);
    OPENSSL_cleanse(c.pass, sizeof c.pass);
    if (aes) {
        OPENSSL_cleanse(aes, aeslen);
        free(aes);
    }
    if (id != dflt_id)
        free(id);
    return rc;
}
