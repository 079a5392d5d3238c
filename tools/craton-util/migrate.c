/* craton-util migrate-softhsm: copies what SoftHSMv2 lets out into a Craton token, attribute
 * by attribute, both sides through PKCS#11. */
#include "util.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SOFTHSM_DEFAULT "/usr/lib/softhsm/libsofthsm2.so"

struct copy_tmpl {
    CK_ATTRIBUTE a[40];
    CK_ULONG n;
};

static void ct_free(struct copy_tmpl *t)
{
    for (CK_ULONG i = 0; i < t->n; i++) {
        if (t->a[i].pValue) {
            OPENSSL_cleanse(t->a[i].pValue, t->a[i].ulValueLen);
            free(t->a[i].pValue);
        }
    }
    t->n = 0;
}

static void ct_set(struct copy_tmpl *t, CK_ATTRIBUTE_TYPE type, const void *v, CK_ULONG len)
{
    if (t->n >= sizeof t->a / sizeof t->a[0])
        return;
    void *c = malloc(len ? len : 1);
    if (!c)
        return;
    memcpy(c, v, len);
    t->a[t->n++] = (CK_ATTRIBUTE){ type, c, len };
}

/* Copies the listed attributes the source has; required ones must be there. */
static int ct_copy(struct copy_tmpl *t, CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s,
                   CK_OBJECT_HANDLE h, const CK_ATTRIBUTE_TYPE *types, size_t n, bool required)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t *v;
        CK_ULONG l;
        int r = attr_get(f, s, h, types[i], &v, &l);
        if (r == 0 && t->n < sizeof t->a / sizeof t->a[0]) {
            t->a[t->n++] = (CK_ATTRIBUTE){ types[i], v, l };
            continue;
        }
        free(v);
        if (required)
            return -1;
    }
    return 0;
}

static const CK_ATTRIBUTE_TYPE cert_attrs[] = { CKA_SUBJECT, CKA_VALUE };
static const CK_ATTRIBUTE_TYPE cert_opt[] = { CKA_ISSUER, CKA_SERIAL_NUMBER, CKA_ID };
static const CK_ATTRIBUTE_TYPE data_opt[] = { CKA_APPLICATION, CKA_OBJECT_ID, CKA_VALUE };
static const CK_ATTRIBUTE_TYPE key_opt[] = { CKA_ID, CKA_START_DATE, CKA_END_DATE, CKA_DERIVE };
static const CK_ATTRIBUTE_TYPE pub_opt[] = { CKA_SUBJECT, CKA_ENCRYPT, CKA_VERIFY,
                                             CKA_VERIFY_RECOVER, CKA_WRAP };
static const CK_ATTRIBUTE_TYPE priv_opt[] = { CKA_SUBJECT, CKA_DECRYPT, CKA_SIGN,
                                              CKA_SIGN_RECOVER, CKA_UNWRAP };
static const CK_ATTRIBUTE_TYPE sec_opt[] = { CKA_ENCRYPT, CKA_DECRYPT, CKA_SIGN, CKA_VERIFY,
                                             CKA_WRAP, CKA_UNWRAP };
static const CK_ATTRIBUTE_TYPE rsa_pub[] = { CKA_MODULUS, CKA_PUBLIC_EXPONENT };
static const CK_ATTRIBUTE_TYPE rsa_priv[] = { CKA_MODULUS, CKA_PRIVATE_EXPONENT };
static const CK_ATTRIBUTE_TYPE rsa_priv_opt[] = { CKA_PUBLIC_EXPONENT, CKA_PRIME_1, CKA_PRIME_2,
                                                  CKA_EXPONENT_1, CKA_EXPONENT_2,
                                                  CKA_COEFFICIENT };
static const CK_ATTRIBUTE_TYPE ec_pub[] = { CKA_EC_PARAMS, CKA_EC_POINT };
static const CK_ATTRIBUTE_TYPE ec_priv[] = { CKA_EC_PARAMS, CKA_VALUE };
static const CK_ATTRIBUTE_TYPE sec_val[] = { CKA_VALUE };
#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Builds the Craton template for one SoftHSM object. 0 copy, 1 skip (why set), -1 error. */
static int build(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h,
                 struct copy_tmpl *t, CK_OBJECT_CLASS *cls_out, const char **why)
{
    static CK_BBOOL yes = CK_TRUE;
    CK_ULONG cls = CK_UNAVAILABLE_INFORMATION, kt = CK_UNAVAILABLE_INFORMATION;
    bool priv = false, sens = true, extr = false;
    if (!attr_ulong(f, s, h, CKA_CLASS, &cls)) {
        *why = "its class cannot be read";
        return 1;
    }
    *cls_out = cls;
    attr_bool(f, s, h, CKA_PRIVATE, &priv);
    CK_BBOOL pv = priv ? CK_TRUE : CK_FALSE;
    ct_set(t, CKA_CLASS, &cls, sizeof cls);
    ct_set(t, CKA_TOKEN, &yes, 1);
    ct_set(t, CKA_PRIVATE, &pv, 1);
    ct_copy(t, f, s, h, (const CK_ATTRIBUTE_TYPE[]){ CKA_LABEL }, 1, false);
    switch (cls) {
    case CKO_CERTIFICATE: {
        CK_ULONG ct = CK_UNAVAILABLE_INFORMATION;
        if (!attr_ulong(f, s, h, CKA_CERTIFICATE_TYPE, &ct) || ct != CKC_X_509) {
            *why = "not an X.509 certificate";
            return 1;
        }
        ct_set(t, CKA_CERTIFICATE_TYPE, &ct, sizeof ct);
        if (ct_copy(t, f, s, h, cert_attrs, N(cert_attrs), true)) {
            *why = "its value cannot be read";
            return 1;
        }
        ct_copy(t, f, s, h, cert_opt, N(cert_opt), false);
        return 0;
    }
    case CKO_DATA:
        ct_copy(t, f, s, h, data_opt, N(data_opt), false);
        return 0;
    case CKO_PUBLIC_KEY:
    case CKO_PRIVATE_KEY:
    case CKO_SECRET_KEY:
        break;
    default:
        *why = "a class Craton does not store";
        return 1;
    }
    if (!attr_ulong(f, s, h, CKA_KEY_TYPE, &kt)) {
        *why = "its key type cannot be read";
        return 1;
    }
    if (cls != CKO_PUBLIC_KEY) {
        attr_bool(f, s, h, CKA_SENSITIVE, &sens);
        attr_bool(f, s, h, CKA_EXTRACTABLE, &extr);
        if (sens || !extr) {
            *why = "SoftHSM keeps it inside (sensitive or not extractable)";
            return 1;
        }
    }
    ct_set(t, CKA_KEY_TYPE, &kt, sizeof kt);
    ct_copy(t, f, s, h, key_opt, N(key_opt), false);
    int r = 0;
    bool ec = kt == CKK_EC || kt == CKK_EC_EDWARDS || kt == CKK_EC_MONTGOMERY;
    if (cls == CKO_PUBLIC_KEY) {
        ct_copy(t, f, s, h, pub_opt, N(pub_opt), false);
        if (kt == CKK_RSA)
            r = ct_copy(t, f, s, h, rsa_pub, N(rsa_pub), true);
        else if (ec)
            r = ct_copy(t, f, s, h, ec_pub, N(ec_pub), true);
        else
            r = 1;
    } else if (cls == CKO_PRIVATE_KEY) {
        ct_copy(t, f, s, h, priv_opt, N(priv_opt), false);
        if (kt == CKK_RSA) {
            r = ct_copy(t, f, s, h, rsa_priv, N(rsa_priv), true);
            ct_copy(t, f, s, h, rsa_priv_opt, N(rsa_priv_opt), false);
        } else if (ec) {
            r = ct_copy(t, f, s, h, ec_priv, N(ec_priv), true);
        } else {
            r = 1;
        }
    } else {
        ct_copy(t, f, s, h, sec_opt, N(sec_opt), false);
        r = ct_copy(t, f, s, h, sec_val, N(sec_val), true);
    }
    if (r) {
        *why = "a key type or attribute Craton cannot take";
        return 1;
    }
    if (cls != CKO_PUBLIC_KEY) {
        /* On Craton the copy is sensitive; it stays extractable as it was. */
        ct_set(t, CKA_SENSITIVE, &yes, 1);
        ct_set(t, CKA_EXTRACTABLE, &yes, 1);
    }
    return 0;
}

/* An object with the same class, label and ID already on the target. */
static bool already_there(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s, const struct copy_tmpl *t)
{
    CK_ATTRIBUTE q[3];
    CK_ULONG n = 0;
    for (CK_ULONG i = 0; i < t->n; i++)
        if (t->a[i].type == CKA_CLASS || t->a[i].type == CKA_LABEL || t->a[i].type == CKA_ID)
            q[n++] = t->a[i];
    CK_OBJECT_HANDLE *hs = NULL;
    CK_ULONG cnt = 0;
    if (n > 3 || p11_find(f, s, q, n, &hs, &cnt))
        return false;
    free(hs);
    return cnt > 0;
}

static void describe(const struct copy_tmpl *t, CK_OBJECT_CLASS cls, char *out, size_t cap)
{
    const char *label = "";
    int ll = 0;
    for (CK_ULONG i = 0; i < t->n; i++)
        if (t->a[i].type == CKA_LABEL) {
            label = t->a[i].pValue;
            ll = (int)t->a[i].ulValueLen;
        }
    snprintf(out, cap, "%s \"%.*s\"", class_name(cls), ll, label);
}

int cmd_migrate_softhsm(struct opts *o)
{
    if (!o->softhsm_conf) {
        errf("--softhsm-conf FILE is required");
        return EX_USAGE;
    }
    if (o->nargs) {
        errf("unexpected argument '%s'", o->args[0]);
        return EX_USAGE;
    }
    if (access(o->softhsm_conf, R_OK)) {
        errf("cannot read %s", o->softhsm_conf);
        return EX_FAIL;
    }
    const char *smod = o->softhsm_module ? o->softhsm_module : SOFTHSM_DEFAULT;
    setenv("SOFTHSM2_CONF", o->softhsm_conf, 1);
    void *sdl = NULL, *cdl = NULL;
    CK_FUNCTION_LIST_PTR sf = NULL, cf = NULL;
    CK_OBJECT_HANDLE *hs = NULL;
    int rc = EX_FAIL;
    if (p11_load(smod, &sdl, &sf))
        return EX_FAIL;
    CK_SLOT_ID sslot, cslot;
    CK_TOKEN_INFO sti, cti;
    CK_SESSION_HANDLE ss, cs;
    char slabel[33], clabel[33];
    if (p11_find_token(sf, o->softhsm_token, NULL, &sslot, &sti) ||
        p11_session(sf, sslot, false, &ss))
        goto out;
    p11_str(slabel, sizeof slabel, sti.label, sizeof sti.label);
    bool have_pin = pin_available(o->softhsm_pin_file, "SOFTHSM_PIN") || isatty(STDIN_FILENO);
    if (have_pin) {
        char pin[PIN_MAX], prompt[96];
        size_t len;
        snprintf(prompt, sizeof prompt, "User PIN for SoftHSM token '%s': ", slabel);
        if (pin_get(o->softhsm_pin_file, "SOFTHSM_PIN", prompt, pin, &len)) {
            rc = EX_PIN;
            goto out;
        }
        CK_RV rv = sf->C_Login(ss, CKU_USER, (CK_UTF8CHAR_PTR)pin, len);
        pin_wipe(pin);
        if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) {
            errf("C_Login on SoftHSM token '%s': %s", slabel, rv_name(rv));
            rc = EX_PIN;
            goto out;
        }
    } else {
        notef("no SoftHSM PIN (--softhsm-pin-file, SOFTHSM_PIN): copying public objects only");
    }

    if (p11_load(o->module, &cdl, &cf))
        goto out;
    if (p11_find_token(cf, o->token, o->slot, &cslot, &cti) || p11_session(cf, cslot, true, &cs))
        goto out;
    p11_str(clabel, sizeof clabel, cti.label, sizeof cti.label);
    if ((rc = p11_login(cf, cs, CKU_USER, o, clabel)) != 0)
        goto out;
    rc = EX_FAIL;

    CK_ULONG n;
    if (p11_find(sf, ss, NULL, 0, &hs, &n))
        goto out;
    unsigned long copied = 0, skipped = 0, failed = 0, present = 0;
    struct progress pr;
    progress_start(&pr, "migrating", n);
    for (CK_ULONG i = 0; i < n; i++) {
        struct copy_tmpl t = { .n = 0 };
        CK_OBJECT_CLASS cls = CK_UNAVAILABLE_INFORMATION;
        const char *why = NULL;
        char desc[120];
        int r = build(sf, ss, hs[i], &t, &cls, &why);
        describe(&t, cls, desc, sizeof desc);
        progress_clear(&pr);
        if (r) {
            notef("skipped %s: %s", desc, why ? why : "error");
            skipped++;
        } else if (already_there(cf, cs, &t)) {
            notef("skipped %s: already on '%s'", desc, clabel);
            present++;
        } else {
            CK_OBJECT_HANDLE h;
            CK_RV rv = cf->C_CreateObject(cs, t.a, t.n, &h);
            if (rv == CKR_OK) {
                printf("copied %s\n", desc);
                fflush(stdout);
                copied++;
            } else {
                errf("C_CreateObject for %s: %s", desc, rv_name(rv));
                failed++;
            }
        }
        ct_free(&t);
        progress_set(&pr, i + 1);
    }
    progress_end(&pr);
    printf("SoftHSM token '%s' -> Craton token '%s': %lu copied, %lu already there, %lu not "
           "extractable or unsupported, %lu failed\n",
           slabel, clabel, copied, present, skipped, failed);
    rc = failed ? EX_FAIL : EX_OK;
out:
    free(hs);
    p11_unload(cdl, cf);
    p11_unload(sdl, sf);
    return rc;
}
