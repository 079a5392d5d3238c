/* Template rules: parsing, building objects, changing and reading attributes. */
#include "object/template.h"
#include "object/schema.h"

#include <string.h>


/* Kind of a type regardless of class (every rule for one type agrees), or -1. */
static int kind_of(CK_ATTRIBUTE_TYPE type)
{
    for (size_t i = 0; schema_at(i); i++)
        if (schema_at(i)->type == type)
            return (int)schema_at(i)->kind;
    return -1;
}

static CK_RV check_kind(enum attr_kind kind, const attr_t *at)
{
    switch (kind) {
    case AK_BOOL:
        if (at->len != sizeof(CK_BBOOL) || (at->val[0] != CK_TRUE && at->val[0] != CK_FALSE))
            return CKR_ATTRIBUTE_VALUE_INVALID;
        return CKR_OK;
    case AK_ULONG:
        return at->len == sizeof(CK_ULONG) ? CKR_OK : CKR_ATTRIBUTE_VALUE_INVALID;
    case AK_DATE:
        if (at->len == 0)
            return CKR_OK;
        if (at->len != sizeof(CK_DATE))
            return CKR_ATTRIBUTE_VALUE_INVALID;
        for (size_t i = 0; i < sizeof(CK_DATE); i++)
            if (at->val[i] < '0' || at->val[i] > '9')
                return CKR_ATTRIBUTE_VALUE_INVALID;
        return CKR_OK;
    case AK_MECHS:
        return at->len % sizeof(CK_MECHANISM_TYPE) ? CKR_ATTRIBUTE_VALUE_INVALID : CKR_OK;
    case AK_BYTES:
    case AK_ARRAY:
        return CKR_OK;
    }
    return CKR_ATTRIBUTE_VALUE_INVALID;
}

static CK_RV parse_level(const CK_ATTRIBUTE *t, CK_ULONG n, attrs_t *out, bool nested)
{
    if (n && !t)
        return CKR_ARGUMENTS_BAD;
    if (n > TMPL_MAX_ATTRS)
        return CKR_TEMPLATE_INCONSISTENT;
    for (CK_ULONG i = 0; i < n; i++) {
        const CK_ATTRIBUTE *a = &t[i];
        if (a->ulValueLen && !a->pValue)
            return CKR_ATTRIBUTE_VALUE_INVALID;
        if (a->ulValueLen > TMPL_MAX_VALUE)
            return CKR_ATTRIBUTE_VALUE_INVALID;
        if (attrs_get(out, a->type))
            return CKR_TEMPLATE_INCONSISTENT; /* the same attribute twice */
        int kind = kind_of(a->type);
        if (kind < 0)
            return CKR_ATTRIBUTE_TYPE_INVALID;
        CK_RV rv;
        if (kind == AK_ARRAY) {
            if (nested || a->ulValueLen % sizeof(CK_ATTRIBUTE))
                return CKR_ATTRIBUTE_VALUE_INVALID;
            attrs_t inner;
            attrs_init(&inner);
            rv = parse_level(a->pValue, a->ulValueLen / sizeof(CK_ATTRIBUTE), &inner, true);
            uint8_t *ser = NULL;
            size_t serlen = 0;
            if (rv == CKR_OK)
                rv = attrs_serialize(&inner, false, &ser, &serlen);
            attrs_free(&inner);
            if (rv == CKR_OK)
                rv = attrs_set(out, a->type, ser, (CK_ULONG)serlen, false);
            attrs_serialized_free(ser, serlen, false);
        } else {
            rv = attrs_set(out, a->type, a->pValue, a->ulValueLen, false);
            if (rv == CKR_OK)
                rv = check_kind((enum attr_kind)kind, attrs_get(out, a->type));
        }
        if (rv != CKR_OK)
            return rv;
    }
    return CKR_OK;
}

CK_RV tmpl_parse(const CK_ATTRIBUTE *t, CK_ULONG n, attrs_t *out)
{
    attrs_init(out);
    CK_RV rv = parse_level(t, n, out, false);
    if (rv != CKR_OK)
        attrs_free(out);
    return rv;
}

CK_OBJECT_CLASS obj_class(const attrs_t *obj)
{
    CK_ULONG v;
    return attrs_ulong(obj, CKA_CLASS, &v) ? v : CK_UNAVAILABLE_INFORMATION;
}

CK_KEY_TYPE obj_keytype(const attrs_t *obj)
{
    CK_ULONG v;
    return attrs_ulong(obj, CKA_KEY_TYPE, &v) ? v : CK_UNAVAILABLE_INFORMATION;
}

struct dflt {
    CK_ATTRIBUTE_TYPE type;
    unsigned classes;
    int kind;   /* AK_BOOL: value in b; AK_BYTES/AK_DATE: empty; AK_ULONG: value in u */
    bool b;
    CK_ULONG u;
};

/* Defaults chosen so that a key is protected unless the caller asks otherwise:
 * private and secret keys are private, sensitive and unextractable by default. */
static const struct dflt defaults[] = {
    { CKA_TOKEN, C_ALL, AK_BOOL, false, 0 },
    { CKA_MODIFIABLE, C_ALL, AK_BOOL, true, 0 },
    { CKA_COPYABLE, C_ALL, AK_BOOL, true, 0 },
    { CKA_DESTROYABLE, C_ALL, AK_BOOL, true, 0 },
    { CKA_LABEL, C_ALL, AK_BYTES, false, 0 },
    { CKA_PRIVATE, C_DATA | C_CERT | C_PUB, AK_BOOL, false, 0 },
    { CKA_PRIVATE, C_PRIV | C_SECRET, AK_BOOL, true, 0 },
    { CKA_APPLICATION, C_DATA, AK_BYTES, false, 0 },
    { CKA_OBJECT_ID, C_DATA, AK_BYTES, false, 0 },
    { CKA_VALUE, C_DATA, AK_BYTES, false, 0 },
    { CKA_TRUSTED, C_CERT | C_PUB | C_SECRET, AK_BOOL, false, 0 },
    { CKA_CERTIFICATE_CATEGORY, C_CERT, AK_ULONG, false, CK_CERTIFICATE_CATEGORY_UNSPECIFIED },
    { CKA_SUBJECT, C_CERT | C_PUB | C_PRIV, AK_BYTES, false, 0 },
    { CKA_ISSUER, C_CERT, AK_BYTES, false, 0 },
    { CKA_SERIAL_NUMBER, C_CERT, AK_BYTES, false, 0 },
    { CKA_URL, C_CERT, AK_BYTES, false, 0 },
    { CKA_HASH_OF_SUBJECT_PUBLIC_KEY, C_CERT, AK_BYTES, false, 0 },
    { CKA_HASH_OF_ISSUER_PUBLIC_KEY, C_CERT, AK_BYTES, false, 0 },
    { CKA_JAVA_MIDP_SECURITY_DOMAIN, C_CERT, AK_ULONG, false, CK_SECURITY_DOMAIN_UNSPECIFIED },
    { CKA_NAME_HASH_ALGORITHM, C_CERT, AK_ULONG, false, CKM_SHA_1 },
    { CKA_PUBLIC_KEY_INFO, C_CERT | C_PUB | C_PRIV, AK_BYTES, false, 0 },
    { CKA_START_DATE, C_CERT | C_KEYS, AK_DATE, false, 0 },
    { CKA_END_DATE, C_CERT | C_KEYS, AK_DATE, false, 0 },
    { CKA_ID, C_CERT | C_KEYS, AK_BYTES, false, 0 },
    { CKA_DERIVE, C_KEYS, AK_BOOL, false, 0 },
    { CKA_ENCRYPT, C_PUB | C_SECRET, AK_BOOL, true, 0 },
    { CKA_VERIFY, C_PUB | C_SECRET, AK_BOOL, true, 0 },
    { CKA_VERIFY_RECOVER, C_PUB, AK_BOOL, true, 0 },
    { CKA_WRAP, C_PUB | C_SECRET, AK_BOOL, true, 0 },
    { CKA_DECRYPT, C_PRIV | C_SECRET, AK_BOOL, true, 0 },
    { CKA_SIGN, C_PRIV | C_SECRET, AK_BOOL, true, 0 },
    { CKA_SIGN_RECOVER, C_PRIV, AK_BOOL, true, 0 },
    { CKA_UNWRAP, C_PRIV | C_SECRET, AK_BOOL, true, 0 },
    { CKA_SENSITIVE, C_PRIV | C_SECRET, AK_BOOL, true, 0 },
    { CKA_EXTRACTABLE, C_PRIV | C_SECRET, AK_BOOL, false, 0 },
    { CKA_WRAP_WITH_TRUSTED, C_PRIV | C_SECRET, AK_BOOL, false, 0 },
    { CKA_ALWAYS_AUTHENTICATE, C_PRIV, AK_BOOL, false, 0 },
};

static CK_RV apply_defaults(attrs_t *obj, unsigned cb)
{
    static const CK_BYTE empty = 0;
    for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++) {
        const struct dflt *d = &defaults[i];
        if (!(d->classes & cb) || attrs_get(obj, d->type))
            continue;
        CK_RV rv;
        if (d->kind == AK_BOOL)
            rv = attrs_set_bool(obj, d->type, d->b);
        else if (d->kind == AK_ULONG)
            rv = attrs_set_ulong(obj, d->type, d->u);
        else
            rv = attrs_set(obj, d->type, &empty, 0, false);
        if (rv != CKR_OK)
            return rv;
    }
    return CKR_OK;
}

static bool is_material(const struct attr_rule *r, unsigned cb, enum tmpl_op op)
{
    /* A generation template may choose the RSA public exponent. */
    if (op == TMPL_GENERATE && r->type == CKA_PUBLIC_EXPONENT)
        return false;
    /* The attributes that carry a key's value: given on import, made by the token otherwise. */
    if (r->flags & F_SECRET)
        return true;
    if (!(cb & (C_PUB | C_PRIV)))
        return false;
    return r->type == CKA_MODULUS || r->type == CKA_PUBLIC_EXPONENT || r->type == CKA_EC_POINT;
}

CK_RV tmpl_build(const attrs_t *in, enum tmpl_op op, CK_OBJECT_CLASS default_class,
                 CK_KEY_TYPE default_keytype, bool is_so, attrs_t *obj)
{
    attrs_init(obj);
    CK_ULONG cls = default_class, kt = default_keytype;
    const attr_t *a;
    if ((a = attrs_get(in, CKA_CLASS)) != NULL)
        memcpy(&cls, a->val, sizeof cls);
    if (cls == CK_UNAVAILABLE_INFORMATION)
        return CKR_TEMPLATE_INCOMPLETE;
    if (default_class != CK_UNAVAILABLE_INFORMATION && cls != default_class)
        return CKR_TEMPLATE_INCONSISTENT;
    unsigned cb = schema_class_bit(cls);
    if (!cb)
        return CKR_ATTRIBUTE_VALUE_INVALID;
    if (cb & C_KEYS) {
        if ((a = attrs_get(in, CKA_KEY_TYPE)) != NULL) {
            CK_ULONG given;
            memcpy(&given, a->val, sizeof given);
            if (default_keytype != CK_UNAVAILABLE_INFORMATION && given != default_keytype)
                return CKR_TEMPLATE_INCONSISTENT;
            kt = given;
        }
        if (kt == CK_UNAVAILABLE_INFORMATION)
            return CKR_TEMPLATE_INCOMPLETE;
        unsigned kb = schema_keytype_bit(kt);
        if (!kb)
            return CKR_ATTRIBUTE_VALUE_INVALID;
        if ((kb == K_SYM) != (cb == C_SECRET))
            return CKR_TEMPLATE_INCONSISTENT;
    }
    if (cb == C_CERT) {
        CK_ULONG ct;
        if (!attrs_ulong(in, CKA_CERTIFICATE_TYPE, &ct))
            return CKR_TEMPLATE_INCOMPLETE;
        if (ct != CKC_X_509)
            return CKR_ATTRIBUTE_VALUE_INVALID;
    }
    CK_RV rv = CKR_OK;
    for (size_t i = 0; i < in->n && rv == CKR_OK; i++) {
        const attr_t *at = &in->v[i];
        bool known;
        const struct attr_rule *r = schema_rule(at->type, cls, kt, &known);
        if (!r)
            return CKR_ATTRIBUTE_TYPE_INVALID;
        if (r->flags & F_TOKEN)
            return CKR_ATTRIBUTE_READ_ONLY;
        if ((r->flags & F_GENONLY) && op == TMPL_CREATE)
            return CKR_TEMPLATE_INCONSISTENT;
        if (op != TMPL_CREATE && is_material(r, cb, op))
            return CKR_TEMPLATE_INCONSISTENT; /* the token makes the key, not the caller */
        if ((r->flags & F_SO_TRUE) && at->val[0] == CK_TRUE && !is_so)
            return CKR_ATTRIBUTE_READ_ONLY;
        if (r->type == CKA_CERTIFICATE_CATEGORY) {
            CK_ULONG v;
            memcpy(&v, at->val, sizeof v);
            if (v > CK_CERTIFICATE_CATEGORY_OTHER_ENTITY)
                return CKR_ATTRIBUTE_VALUE_INVALID;
        }
        rv = attrs_set(obj, at->type, at->val, at->len, (r->flags & F_SECRET) != 0);
    }
    if (rv == CKR_OK && !attrs_get(obj, CKA_CLASS))
        rv = attrs_set_ulong(obj, CKA_CLASS, cls);
    if (rv == CKR_OK && (cb & C_KEYS) && !attrs_get(obj, CKA_KEY_TYPE))
        rv = attrs_set_ulong(obj, CKA_KEY_TYPE, kt);
    if (rv == CKR_OK && op == TMPL_CREATE) {
        for (size_t i = 0; schema_at(i); i++) {
            const struct attr_rule *r = schema_at(i);
            unsigned kb = (cb & C_KEYS) ? schema_keytype_bit(kt) : K_ANY;
            if ((r->flags & F_REQUIRED) && (r->classes & cb) && (r->keytypes & kb) &&
                !attrs_get(obj, r->type))
                return CKR_TEMPLATE_INCOMPLETE;
        }
    }
    if (rv == CKR_OK)
        rv = apply_defaults(obj, cb);
    return rv;
}

CK_RV tmpl_finish(attrs_t *obj, enum tmpl_op op, CK_MECHANISM_TYPE mech)
{
    CK_OBJECT_CLASS cls = obj_class(obj);
    CK_KEY_TYPE kt = obj_keytype(obj);
    CK_RV rv = CKR_OK;
    if (cls == CKO_SECRET_KEY) {
        const attr_t *v = attrs_get(obj, CKA_VALUE);
        if (!v)
            return CKR_TEMPLATE_INCOMPLETE;
        if (kt == CKK_AES && v->len != 16 && v->len != 24 && v->len != 32)
            return op == TMPL_CREATE ? CKR_ATTRIBUTE_VALUE_INVALID : CKR_TEMPLATE_INCONSISTENT;
        if (kt == CKK_CHACHA20 && v->len != 32)
            return op == TMPL_CREATE ? CKR_ATTRIBUTE_VALUE_INVALID : CKR_TEMPLATE_INCONSISTENT;
        rv = attrs_set_ulong(obj, CKA_VALUE_LEN, v->len);
    }
    if (rv == CKR_OK && cls == CKO_PUBLIC_KEY && kt == CKK_RSA) {
        const attr_t *m = attrs_get(obj, CKA_MODULUS);
        if (!m || m->len == 0)
            return CKR_TEMPLATE_INCOMPLETE;
        CK_ULONG bits = attr_bits(m);
        rv = attrs_set_ulong(obj, CKA_MODULUS_BITS, bits);
    }
    if (rv != CKR_OK || (cls != CKO_PUBLIC_KEY && cls != CKO_PRIVATE_KEY && cls != CKO_SECRET_KEY))
        return rv;
    bool local = op == TMPL_GENERATE;
    rv = attrs_set_bool(obj, CKA_LOCAL, local);
    if (rv == CKR_OK)
        rv = attrs_set_ulong(obj, CKA_KEY_GEN_MECHANISM, local ? mech : CK_UNAVAILABLE_INFORMATION);
    if (rv == CKR_OK && cls != CKO_PUBLIC_KEY) {
        /* A key that came in from outside was seen outside: never "always sensitive". Derived
         * keys inherit from their base, which the caller settles after this call. */
        bool sens = attrs_bool(obj, CKA_SENSITIVE, true);
        bool extr = attrs_bool(obj, CKA_EXTRACTABLE, false);
        rv = attrs_set_bool(obj, CKA_ALWAYS_SENSITIVE, op != TMPL_CREATE && op != TMPL_UNWRAP && sens);
        if (rv == CKR_OK)
            rv = attrs_set_bool(obj, CKA_NEVER_EXTRACTABLE,
                                op != TMPL_CREATE && op != TMPL_UNWRAP && !extr);
    }
    return rv;
}

CK_RV tmpl_apply(attrs_t *obj, const attrs_t *changes, bool copy, bool is_so)
{
    CK_OBJECT_CLASS cls = obj_class(obj);
    CK_KEY_TYPE kt = obj_keytype(obj);
    for (size_t i = 0; i < changes->n; i++) {
        const attr_t *c = &changes->v[i];
        const struct attr_rule *r = schema_rule(c->type, cls, kt, NULL);
        if (!r)
            return CKR_ATTRIBUTE_TYPE_INVALID;
        const attr_t *cur = attrs_get(obj, c->type);
        bool same = cur && cur->len == c->len && (!c->len || !memcmp(cur->val, c->val, c->len));
        if (same)
            continue; /* restating a value is not a change */
        if (r->flags & (F_TOKEN | F_GENONLY))
            return CKR_ATTRIBUTE_READ_ONLY;
        if (!(r->flags & (copy ? (F_COPY | F_MODIFY) : F_MODIFY)))
            return CKR_ATTRIBUTE_READ_ONLY;
        if (r->kind == AK_BOOL) {
            bool now = cur && cur->len == 1 && cur->val[0];
            bool want = c->val[0] != 0;
            if ((r->flags & F_TO_TRUE) && now && !want)
                return CKR_ATTRIBUTE_READ_ONLY;
            if ((r->flags & F_TO_FALSE) && !now && want)
                return CKR_ATTRIBUTE_READ_ONLY;
            if ((r->flags & F_SO_TRUE) && want && !is_so)
                return CKR_ATTRIBUTE_READ_ONLY;
        }
    }
    for (size_t i = 0; i < changes->n; i++) {
        const attr_t *c = &changes->v[i];
        const struct attr_rule *r = schema_rule(c->type, cls, kt, NULL);
        CK_RV rv = attrs_set(obj, c->type, c->val, c->len, (r->flags & F_SECRET) != 0);
        if (rv != CKR_OK)
            return rv;
    }
    return CKR_OK;
}

static CK_RV read_nested(const attr_t *at, CK_ATTRIBUTE *out)
{
    attrs_t inner;
    attrs_init(&inner);
    CK_RV rv = attrs_parse(&inner, at->val, at->len, false);
    if (rv != CKR_OK) {
        attrs_free(&inner);
        return rv;
    }
    CK_ULONG need = (CK_ULONG)inner.n * sizeof(CK_ATTRIBUTE);
    if (!out->pValue) {
        out->ulValueLen = need;
    } else if (out->ulValueLen < need) {
        out->ulValueLen = CK_UNAVAILABLE_INFORMATION;
        rv = CKR_BUFFER_TOO_SMALL;
    } else {
        CK_ATTRIBUTE *arr = out->pValue;
        for (size_t i = 0; i < inner.n; i++) {
            arr[i].type = inner.v[i].type;
            if (!arr[i].pValue) {
                arr[i].ulValueLen = inner.v[i].len;
            } else if (arr[i].ulValueLen < inner.v[i].len) {
                arr[i].ulValueLen = CK_UNAVAILABLE_INFORMATION;
                rv = CKR_BUFFER_TOO_SMALL;
            } else {
                memcpy(arr[i].pValue, inner.v[i].val, inner.v[i].len);
                arr[i].ulValueLen = inner.v[i].len;
            }
        }
        out->ulValueLen = need;
    }
    attrs_free(&inner);
    return rv;
}

CK_RV tmpl_read(const attrs_t *obj, CK_ATTRIBUTE *t, CK_ULONG n)
{
    CK_OBJECT_CLASS cls = obj_class(obj);
    CK_KEY_TYPE kt = obj_keytype(obj);
    bool hidden = attrs_bool(obj, CKA_SENSITIVE, false) || !attrs_bool(obj, CKA_EXTRACTABLE, true);
    CK_RV result = CKR_OK;
    for (CK_ULONG i = 0; i < n; i++) {
        CK_RV rv = CKR_OK;
        const struct attr_rule *r = schema_rule(t[i].type, cls, kt, NULL);
        const attr_t *at = attrs_get(obj, t[i].type);
        if (r && (r->flags & F_SECRET) && hidden)
            rv = CKR_ATTRIBUTE_SENSITIVE;
        else if (!at)
            rv = CKR_ATTRIBUTE_TYPE_INVALID;
        else if (r && r->kind == AK_ARRAY)
            rv = read_nested(at, &t[i]);
        else if (!t[i].pValue)
            t[i].ulValueLen = at->len;
        else if (t[i].ulValueLen < at->len)
            rv = CKR_BUFFER_TOO_SMALL;
        else {
            if (at->len)
                memcpy(t[i].pValue, at->val, at->len);
            t[i].ulValueLen = at->len;
        }
        if (rv != CKR_OK) {
            if (!(r && r->kind == AK_ARRAY && rv == CKR_BUFFER_TOO_SMALL))
                t[i].ulValueLen = CK_UNAVAILABLE_INFORMATION;
            /* Spec 5.7: any of the applicable errors may be returned; report the first. */
            if (result == CKR_OK)
                result = rv;
        }
    }
    return result;
}
