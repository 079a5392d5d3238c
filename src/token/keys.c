/* Key management on a session: generation, wrapping, unwrapping, derivation, randomness and
 * the mechanism list. Templates are settled here; families only add key material. */
#include "token/internal.h"
#include "token/crypto.h"
#include "token/objstore.h"
#include "mech/mech.h"
#include "object/template.h"

#include <string.h>
#include <time.h>

CK_RV key_lifecycle_ok(const attrs_t *a, bool protect)
{
    const attr_t *st = attrs_get(a, CKA_START_DATE);
    const attr_t *en = attrs_get(a, CKA_END_DATE);
    bool has_start = st && st->len == 8, has_end = protect && en && en->len == 8;
    if (!has_start && !has_end)
        return CKR_OK; /* most keys carry no dates: no clock reading on the hot path */
    char today[9];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(today, sizeof today, "%Y%m%d", &tm);
    if (has_start && memcmp(today, st->val, 8) < 0)
        return CKR_KEY_FUNCTION_NOT_PERMITTED; /* not yet active */
    if (has_end && memcmp(today, en->val, 8) > 0)
        return CKR_KEY_FUNCTION_NOT_PERMITTED; /* deactivated: processing only */
    return CKR_OK;
}

/* Adds a key's CKA_UNWRAP_TEMPLATE / CKA_DERIVE_TEMPLATE to the caller's template; a caller's
 * value that contradicts it makes the template inconsistent. */
static CK_RV merge_required(attrs_t *in, const attrs_t *key, CK_ATTRIBUTE_TYPE which)
{
    const attr_t *t = attrs_get(key, which);
    if (!t)
        return CKR_OK;
    attrs_t req;
    attrs_init(&req);
    CK_RV rv = attrs_parse(&req, t->val, t->len, false);
    for (size_t i = 0; rv == CKR_OK && i < req.n; i++) {
        const attr_t *have = attrs_get(in, req.v[i].type);
        if (have && (have->len != req.v[i].len || memcmp(have->val, req.v[i].val, have->len)))
            rv = CKR_TEMPLATE_INCONSISTENT;
        else if (!have)
            rv = attrs_set(in, req.v[i].type, req.v[i].val, req.v[i].len, false);
    }
    attrs_free(&req);
    return rv;
}

static CK_RV build(struct session *se, const CK_ATTRIBUTE *t, CK_ULONG n, enum tmpl_op op,
                   CK_OBJECT_CLASS cls, CK_KEY_TYPE kt, const attrs_t *key,
                   CK_ATTRIBUTE_TYPE required, attrs_t *obj)
{
    attrs_t in;
    CK_RV rv = tmpl_parse(t, n, &in);
    if (rv != CKR_OK)
        return rv;
    if (key)
        rv = merge_required(&in, key, required);
    if (rv == CKR_OK && (rv = tmpl_build(&in, op, cls, kt, se->slot->login == LOGIN_SO, obj)) != CKR_OK)
        attrs_free(obj); /* tmpl_build may fail after storing some attributes */
    attrs_free(&in);
    if (rv == CKR_OK) {
        rv = object_write_allowed(se, attrs_bool(obj, CKA_TOKEN, false),
                                  attrs_bool(obj, CKA_PRIVATE, false));
        if (rv != CKR_OK)
            attrs_free(obj);
    }
    return rv;
}

static CK_RV generate_key_impl(CK_SESSION_HANDLE h, const CK_MECHANISM *m, const CK_ATTRIBUTE *t,
                       CK_ULONG n, CK_OBJECT_HANDLE *out)
{
    struct session *se = session_get(h);
    if (!se)
        return CKR_SESSION_HANDLE_INVALID;
    const struct mech_def *d = policy_mech(m->mechanism, CKF_GENERATE);
    if (!d || !d->family->generate)
        return CKR_MECHANISM_INVALID;
    attrs_t obj;
    CK_RV rv = build(se, t, n, TMPL_GENERATE, CKO_SECRET_KEY, d->key_type, NULL, 0, &obj);
    if (rv != CKR_OK)
        return rv;
    rv = d->family->generate(d, m, &obj);
    if (rv == CKR_OK)
        rv = tmpl_finish(&obj, TMPL_GENERATE, m->mechanism);
    if (rv == CKR_OK)
        rv = object_add(se, &obj, out);
    attrs_free(&obj);
    return rv;
}

static CK_RV generate_key_pair_impl(CK_SESSION_HANDLE h, const CK_MECHANISM *m,
                            const CK_ATTRIBUTE *pt, CK_ULONG pn, const CK_ATTRIBUTE *st,
                            CK_ULONG sn, CK_OBJECT_HANDLE *pub, CK_OBJECT_HANDLE *priv)
{
    struct session *se = session_get(h);
    if (!se)
        return CKR_SESSION_HANDLE_INVALID;
    const struct mech_def *d = policy_mech(m->mechanism, CKF_GENERATE_KEY_PAIR);
    if (!d || !d->family->generate_pair)
        return CKR_MECHANISM_INVALID;
    attrs_t pa, sa;
    CK_RV rv = build(se, pt, pn, TMPL_GENERATE, CKO_PUBLIC_KEY, d->key_type, NULL, 0, &pa);
    if (rv != CKR_OK)
        return rv;
    rv = build(se, st, sn, TMPL_GENERATE, CKO_PRIVATE_KEY, d->key_type, NULL, 0, &sa);
    if (rv != CKR_OK) {
        attrs_free(&pa);
        return rv;
    }
    CK_ULONG bits;
    if (d->key_type == CKK_RSA && attrs_ulong(&pa, CKA_MODULUS_BITS, &bits))
        rv = policy_rsa_bits(bits);
    if (rv == CKR_OK)
        rv = d->family->generate_pair(d, m, &pa, &sa);
    if (rv == CKR_OK)
        rv = tmpl_finish(&pa, TMPL_GENERATE, m->mechanism);
    if (rv == CKR_OK)
        rv = tmpl_finish(&sa, TMPL_GENERATE, m->mechanism);
    if (rv == CKR_OK)
        rv = object_add_pair(se, &pa, &sa, pub, priv);
    attrs_free(&pa);
    attrs_free(&sa);
    return rv;
}

static CK_RV wrap_key_impl(CK_SESSION_HANDLE h, const CK_MECHANISM *m, CK_OBJECT_HANDLE wrapping,
                   CK_OBJECT_HANDLE key, uint8_t *out, CK_ULONG *outlen)
{
    struct session *se = session_get(h);
    if (!se)
        return CKR_SESSION_HANDLE_INVALID;
    const struct mech_def *d = policy_mech(m->mechanism, CKF_WRAP);
    if (!d || !d->family->wrap)
        return CKR_MECHANISM_INVALID;
    struct objref *w, *k;
    CK_RV rv = key_for_use(se, wrapping, CKA_WRAP, m->mechanism, &w);
    if (rv == CKR_KEY_HANDLE_INVALID)
        return CKR_WRAPPING_KEY_HANDLE_INVALID;
    if (rv != CKR_OK)
        return rv;
    if ((rv = key_lifecycle_ok(&w->attrs, true)) != CKR_OK || (rv = key_policy_ok(&w->attrs)) != CKR_OK)
        return rv;
    /* A GCM wrap is a GCM encryption under the wrapping key: counted, and with the
     * generated-IV policy its IV comes from the token. */
    if (m->mechanism == CKM_AES_GCM && out && (rv = gcm_account(se, w, m)) != CKR_OK)
        return rv;
    rv = key_for_use(se, key, 0, CK_UNAVAILABLE_INFORMATION, &k);
    if (rv != CKR_OK)
        return rv;
    if (obj_class(&k->attrs) == CKO_PUBLIC_KEY || !attrs_bool(&k->attrs, CKA_EXTRACTABLE, false))
        return CKR_KEY_UNEXTRACTABLE;
    if (attrs_bool(&k->attrs, CKA_WRAP_WITH_TRUSTED, false) &&
        !attrs_bool(&w->attrs, CKA_TRUSTED, false))
        return CKR_KEY_NOT_WRAPPABLE;
    const attr_t *wt = attrs_get(&w->attrs, CKA_WRAP_TEMPLATE);
    if (wt) {
        attrs_t req;
        attrs_init(&req);
        rv = attrs_parse(&req, wt->val, wt->len, false);
        for (size_t i = 0; rv == CKR_OK && i < req.n; i++) {
            const attr_t *have = attrs_get(&k->attrs, req.v[i].type);
            if (!have || have->len != req.v[i].len || memcmp(have->val, req.v[i].val, have->len))
                rv = CKR_KEY_NOT_WRAPPABLE;
        }
        attrs_free(&req);
        if (rv != CKR_OK)
            return rv;
    }
    struct mech_key mw = { &w->attrs, &w->mech_cache, NULL };
    rv = d->family->wrap(d, m, &mw, &k->attrs, out, outlen);
    return rv == MECH_LENGTH_ONLY ? CKR_OK : rv;
}

static CK_RV unwrap_key_impl(CK_SESSION_HANDLE h, const CK_MECHANISM *m, CK_OBJECT_HANDLE unwrapping,
                     const uint8_t *in, CK_ULONG inlen, const CK_ATTRIBUTE *t, CK_ULONG n,
                     CK_OBJECT_HANDLE *out)
{
    struct session *se = session_get(h);
    if (!se)
        return CKR_SESSION_HANDLE_INVALID;
    const struct mech_def *d = policy_mech(m->mechanism, CKF_UNWRAP);
    if (!d || !d->family->unwrap)
        return CKR_MECHANISM_INVALID;
    struct objref *u;
    CK_RV rv = key_for_use(se, unwrapping, CKA_UNWRAP, m->mechanism, &u);
    if (rv == CKR_KEY_HANDLE_INVALID)
        return CKR_UNWRAPPING_KEY_HANDLE_INVALID;
    if (rv != CKR_OK)
        return rv;
    if ((rv = key_lifecycle_ok(&u->attrs, false)) != CKR_OK || (rv = key_policy_ok(&u->attrs)) != CKR_OK)
        return rv;
    attrs_t obj;
    rv = build(se, t, n, TMPL_UNWRAP, CK_UNAVAILABLE_INFORMATION, CK_UNAVAILABLE_INFORMATION,
               &u->attrs, CKA_UNWRAP_TEMPLATE, &obj);
    if (rv != CKR_OK)
        return rv;
    struct mech_key mu = { &u->attrs, &u->mech_cache, NULL };
    rv = d->family->unwrap(d, m, &mu, in, inlen, &obj);
    if (rv == CKR_OK)
        rv = tmpl_finish(&obj, TMPL_UNWRAP, m->mechanism);
    if (rv == CKR_OK && mech_validate_import(&obj) != CKR_OK)
        rv = CKR_WRAPPED_KEY_INVALID;
    if (rv == CKR_OK)
        rv = object_add(se, &obj, out);
    attrs_free(&obj);
    return rv;
}

static CK_RV derive_key_impl(CK_SESSION_HANDLE h, const CK_MECHANISM *m, CK_OBJECT_HANDLE base,
                     const CK_ATTRIBUTE *t, CK_ULONG n, CK_OBJECT_HANDLE *out)
{
    struct session *se = session_get(h);
    if (!se)
        return CKR_SESSION_HANDLE_INVALID;
    const struct mech_def *d = policy_mech(m->mechanism, CKF_DERIVE);
    if (!d || !d->family->derive)
        return CKR_MECHANISM_INVALID;
    struct objref *b;
    CK_RV rv = key_for_use(se, base, CKA_DERIVE, m->mechanism, &b);
    if (rv != CKR_OK)
        return rv;
    if ((rv = key_lifecycle_ok(&b->attrs, true)) != CKR_OK)
        return rv;
    /* Derived keys are secret keys; the key type defaults to a generic secret. */
    attrs_t in;
    rv = tmpl_parse(t, n, &in);
    if (rv != CKR_OK)
        return rv;
    CK_KEY_TYPE kt = attrs_get(&in, CKA_KEY_TYPE) ? CK_UNAVAILABLE_INFORMATION : CKK_GENERIC_SECRET;
    attrs_free(&in);
    attrs_t obj;
    rv = build(se, t, n, TMPL_DERIVE, CKO_SECRET_KEY, kt, &b->attrs, CKA_DERIVE_TEMPLATE, &obj);
    if (rv != CKR_OK)
        return rv;
    struct mech_key mb = { &b->attrs, &b->mech_cache, NULL };
    rv = d->family->derive(d, m, &mb, &obj);
    if (rv == CKR_OK)
        rv = tmpl_finish(&obj, TMPL_DERIVE, m->mechanism);
    if (rv == CKR_OK) {
        /* A derived key is only as protected as its base has always been (spec 4.9). */
        bool as = attrs_bool(&b->attrs, CKA_ALWAYS_SENSITIVE, false) &&
                  attrs_bool(&obj, CKA_SENSITIVE, true);
        bool ne = attrs_bool(&b->attrs, CKA_NEVER_EXTRACTABLE, false) &&
                  !attrs_bool(&obj, CKA_EXTRACTABLE, false);
        rv = attrs_set_bool(&obj, CKA_ALWAYS_SENSITIVE, as);
        if (rv == CKR_OK)
            rv = attrs_set_bool(&obj, CKA_NEVER_EXTRACTABLE, ne);
    }
    if (rv == CKR_OK)
        rv = object_add(se, &obj, out);
    attrs_free(&obj);
    return rv;
}

/* Outside the module lock: the DRBG is per thread. */
CK_RV tok_random(CK_SESSION_HANDLE h, uint8_t *out, CK_ULONG len)
{
    struct session *se = session_acquire(h);
    if (!se)
        return CKR_SESSION_HANDLE_INVALID;
    CK_RV rv = len ? mech_random(out, len) : CKR_OK;
    session_release(se);
    return rv;
}

/* The exported forms: each call is audited with its mechanism and the key it made or used. */
CK_RV tok_generate_key(CK_SESSION_HANDLE h, const CK_MECHANISM *m, const CK_ATTRIBUTE *t,
                       CK_ULONG n, CK_OBJECT_HANDLE *out)
{
    CK_RV rv = generate_key_impl(h, m, t, n, out);
    struct session *se = session_get(h);
    return se ? audit_object(se, "C_GenerateKey", m->mechanism, rv == CKR_OK ? uid_of(*out) : NULL, rv)
              : rv;
}

CK_RV tok_generate_key_pair(CK_SESSION_HANDLE h, const CK_MECHANISM *m,
                            const CK_ATTRIBUTE *pt, CK_ULONG pn, const CK_ATTRIBUTE *st,
                            CK_ULONG sn, CK_OBJECT_HANDLE *pub, CK_OBJECT_HANDLE *priv)
{
    CK_RV rv = generate_key_pair_impl(h, m, pt, pn, st, sn, pub, priv);
    struct session *se = session_get(h);
    return se ? audit_object(se, "C_GenerateKeyPair", m->mechanism,
                             rv == CKR_OK ? uid_of(*priv) : NULL, rv)
              : rv;
}

CK_RV tok_wrap_key(CK_SESSION_HANDLE h, const CK_MECHANISM *m, CK_OBJECT_HANDLE wrapping,
                   CK_OBJECT_HANDLE key, uint8_t *out, CK_ULONG *outlen)
{
    CK_RV rv = wrap_key_impl(h, m, wrapping, key, out, outlen);
    struct session *se = session_get(h);
    if (!se || (rv == CKR_OK && !out))
        return rv; /* a length query wraps nothing */
    rv = audit_object(se, "C_WrapKey", m->mechanism, uid_of(key), rv);
    if (rv == CKR_DEVICE_ERROR && out)
        memset(out, 0, *outlen); /* no unaudited key material leaves */
    return rv;
}

CK_RV tok_unwrap_key(CK_SESSION_HANDLE h, const CK_MECHANISM *m, CK_OBJECT_HANDLE unwrapping,
                     const uint8_t *in, CK_ULONG inlen, const CK_ATTRIBUTE *t, CK_ULONG n,
                     CK_OBJECT_HANDLE *out)
{
    CK_RV rv = unwrap_key_impl(h, m, unwrapping, in, inlen, t, n, out);
    struct session *se = session_get(h);
    return se ? audit_object(se, "C_UnwrapKey", m->mechanism, rv == CKR_OK ? uid_of(*out) : NULL, rv)
              : rv;
}

CK_RV tok_derive_key(CK_SESSION_HANDLE h, const CK_MECHANISM *m, CK_OBJECT_HANDLE base,
                     const CK_ATTRIBUTE *t, CK_ULONG n, CK_OBJECT_HANDLE *out)
{
    CK_RV rv = derive_key_impl(h, m, base, t, n, out);
    struct session *se = session_get(h);
    return se ? audit_object(se, "C_DeriveKey", m->mechanism, rv == CKR_OK ? uid_of(*out) : NULL, rv)
              : rv;
}
