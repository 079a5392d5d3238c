/* Cryptographic operations on a session: one active operation of each kind, the key checks
 * that precede them (usage flags, allowed mechanisms, login, re-authentication), and the
 * spec's rule on when an operation ends (5.2: any error but a length query ends it). */
#include "token/internal.h"
#include "token/crypto.h"
#include "token/objstore.h"
#include "token/token.h"
#include "mech/mech.h"
#include "object/template.h"

#include <string.h>

static const CK_FLAGS op_flag[OPK_COUNT] = {
    [OPK_ENCRYPT] = CKF_ENCRYPT, [OPK_DECRYPT] = CKF_DECRYPT, [OPK_DIGEST] = CKF_DIGEST,
    [OPK_SIGN] = CKF_SIGN, [OPK_VERIFY] = CKF_VERIFY, [OPK_SIGNREC] = CKF_SIGN_RECOVER,
    [OPK_VERIFYREC] = CKF_VERIFY_RECOVER,
};

static const CK_ATTRIBUTE_TYPE op_usage[OPK_COUNT] = {
    [OPK_ENCRYPT] = CKA_ENCRYPT, [OPK_DECRYPT] = CKA_DECRYPT, [OPK_DIGEST] = 0,
    [OPK_SIGN] = CKA_SIGN, [OPK_VERIFY] = CKA_VERIFY, [OPK_SIGNREC] = CKA_SIGN_RECOVER,
    [OPK_VERIFYREC] = CKA_VERIFY_RECOVER,
};

static void ctx_free(struct mech_ctx *c)
{
    if (c)
        c->def->family->free(c);
}

/* Ends the operation. A context of a family that parks is kept as the spare for the next
 * init of this kind in this session (one at most; it goes back to its family there). */
static void op_end(struct op_state *op)
{
    struct mech_ctx *c = op->ctx, *spare = op->spare;
    if (c && !spare && c->def->family->park)
        spare = c->def->family->park(c) ? c : NULL;
    else
        ctx_free(c);
    memset(op, 0, sizeof *op);
    op->spare = spare;
}

void ops_end_all(struct session *s)
{
    for (int k = 0; k < OPK_COUNT; k++) {
        op_end(&s->op[k]);
        ctx_free(s->op[k].spare);
        s->op[k].spare = NULL;
    }
}

static bool is_asym(CK_KEY_TYPE kt)
{
    return kt == CKK_RSA || kt == CKK_EC || kt == CKK_EC_EDWARDS || kt == CKK_EC_MONTGOMERY;
}

/* The object must be a key of the class this operation uses: private keys sign and decrypt,
 * public keys verify and encrypt, secret keys do all of it. */
static CK_RV class_fits(CK_OBJECT_CLASS cls, enum op_kind k)
{
    if (cls == CKO_SECRET_KEY)
        return CKR_OK;
    bool private_op = k == OPK_DECRYPT || k == OPK_SIGN || k == OPK_SIGNREC;
    if (cls == CKO_PRIVATE_KEY && private_op)
        return CKR_OK;
    if (cls == CKO_PUBLIC_KEY && !private_op)
        return CKR_OK;
    return CKR_KEY_TYPE_INCONSISTENT;
}

/* The modulus length of an RSA key object, in bits. */
CK_RV rsa_bits(const attrs_t *a, CK_ULONG *bits)
{
    const attr_t *m = attrs_get(a, CKA_MODULUS);
    if (!m)
        return CKR_KEY_TYPE_INCONSISTENT;
    *bits = attr_bits(m);
    return CKR_OK;
}

/* Key-size policy for a key about to be used: RSA moduli within [policy] rsa_min_bits..16384. */
CK_RV key_policy_ok(const attrs_t *a)
{
    CK_ULONG bits;
    CK_RV rv;
    if (obj_keytype(a) == CKK_RSA &&
        ((rv = rsa_bits(a, &bits)) != CKR_OK || (rv = policy_rsa_bits(bits)) != CKR_OK))
        return rv;
    return CKR_OK;
}

CK_RV key_allows_mech(const attrs_t *a, CK_MECHANISM_TYPE m)
{
    const attr_t *al = attrs_get(a, CKA_ALLOWED_MECHANISMS);
    if (!al)
        return CKR_OK;
    for (size_t i = 0; i + sizeof(CK_MECHANISM_TYPE) <= al->len; i += sizeof(CK_MECHANISM_TYPE)) {
        CK_MECHANISM_TYPE t;
        memcpy(&t, al->val + i, sizeof t);
        if (t == m)
            return CKR_OK;
    }
    return CKR_MECHANISM_INVALID;
}

/* The facts an operation checks on every init, derived once per version of the key's
 * attributes instead of a search of the list for each: the list changes only through
 * attr.c, which moves attrs.gen. Under the module lock, like every objref change. */
static const struct objref *key_facts(struct objref *o)
{
    if (o->facts.gen == o->attrs.gen)
        return o;
    const attrs_t *a = &o->attrs;
    o->facts.cls = obj_class(a);
    o->facts.kt = obj_keytype(a);
    o->facts.usage = 0;
    for (int k = 0; k < OPK_COUNT; k++)
        if (op_usage[k] && attrs_bool(a, op_usage[k], false))
            o->facts.usage |= (uint8_t)(1u << k);
    o->facts.allowed = attrs_get(a, CKA_ALLOWED_MECHANISMS) != NULL;
    const attr_t *st = attrs_get(a, CKA_START_DATE), *en = attrs_get(a, CKA_END_DATE);
    o->facts.dates = (st && st->len) || (en && en->len); /* empty dates restrict nothing */
    o->facts.priv = attrs_bool(a, CKA_PRIVATE, false);
    o->facts.always_auth = attrs_bool(a, CKA_ALWAYS_AUTHENTICATE, false);
    o->facts.gen = a->gen;
    return o;
}

static int usage_kind(CK_ATTRIBUTE_TYPE usage)
{
    for (int k = 0; k < OPK_COUNT; k++)
        if (op_usage[k] == usage)
            return k;
    return -1;
}

/* What a key must be for this use, from its facts (derived). */
static CK_RV key_fits_use(const struct objref *o, CK_ATTRIBUTE_TYPE usage, CK_MECHANISM_TYPE mech)
{
    CK_OBJECT_CLASS cls = o->facts.cls;
    if (cls != CKO_SECRET_KEY && cls != CKO_PRIVATE_KEY && cls != CKO_PUBLIC_KEY)
        return CKR_KEY_HANDLE_INVALID;
    if (usage) {
        int k = usage_kind(usage);
        if (k >= 0 ? !(o->facts.usage & (1u << k)) : !attrs_bool(&o->attrs, usage, false))
            return CKR_KEY_FUNCTION_NOT_PERMITTED;
    }
    /* CK_UNAVAILABLE_INFORMATION: a use no mechanism governs (being digested, being wrapped). */
    CK_RV rv;
    if (mech != CK_UNAVAILABLE_INFORMATION && o->facts.allowed &&
        (rv = key_allows_mech(&o->attrs, mech)) != CKR_OK)
        return rv;
    if (!o->secret_loaded)
        return CKR_USER_NOT_LOGGED_IN; /* a public-object key whose value needs the token key */
    return CKR_OK;
}

CK_RV key_for_use(struct session *se, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_TYPE usage,
                  CK_MECHANISM_TYPE mech, struct objref **out)
{
    struct objref *o;
    CK_RV rv = object_get_for_use(se, h, &o);
    if (rv == CKR_OBJECT_HANDLE_INVALID)
        return CKR_KEY_HANDLE_INVALID;
    if (rv != CKR_OK)
        return rv;
    key_facts(o);
    if ((rv = key_fits_use(o, usage, mech)) != CKR_OK)
        return rv;
    *out = o;
    return CKR_OK;
}

/* key_for_use under the shared module lock: OP_RETRY_EXCLUSIVE whenever finding or checking
 * the key would write (a store check due, a cache to fill, facts to derive) or the answer is
 * an error (the exclusive path then gives it, exactly as before). */
static CK_RV key_for_use_shared(struct session *se, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_TYPE usage,
                                CK_MECHANISM_TYPE mech, struct objref **out)
{
    struct objref *o; /* object_peek_for_use also checks that o's facts are current */
    if (object_peek_for_use(se, h, &o) != CKR_OK || key_fits_use(o, usage, mech) != CKR_OK)
        return OP_RETRY_EXCLUSIVE;
    *out = o;
    return CKR_OK;
}

static CK_RV op_init_locked(struct session *se, enum op_kind k, const CK_MECHANISM *m,
                            CK_OBJECT_HANDLE key, bool shared);

static CK_RV op_init_session(CK_SESSION_HANDLE h, enum op_kind k, const CK_MECHANISM *m,
                             CK_OBJECT_HANDLE key, bool shared)
{
    struct session *se = session_get(h);
    if (!se)
        return CKR_SESSION_HANDLE_INVALID;
    mutex_lock(se->mu);
    CK_RV rv = op_init_locked(se, k, m, key, shared);
    mutex_unlock(se->mu);
    return rv;
}

/* Most inits only read the module's state (the key is cached and current), so they run under
 * the shared module lock, side by side on several threads; the few that must write (a store
 * check every millisecond, a cache fill, a new block of GCM invocations) and every error run
 * again under the exclusive lock. Either way the session's mutex orders it against that
 * session's other calls. */
CK_RV tok_op_init(CK_SESSION_HANDLE h, enum op_kind k, const CK_MECHANISM *m, CK_OBJECT_HANDLE key)
{
    tok_lock_shared();
    CK_RV rv = op_init_session(h, k, m, key, true);
    tok_unlock();
    if (rv != OP_RETRY_EXCLUSIVE)
        return rv;
    tok_lock();
    rv = op_init_session(h, k, m, key, false);
    tok_unlock();
    return rv;
}

static CK_RV op_init_locked(struct session *se, enum op_kind k, const CK_MECHANISM *m,
                            CK_OBJECT_HANDLE key, bool shared)
{
    struct op_state *op = &se->op[k];
    if (op->ctx)
        return CKR_OPERATION_ACTIVE;
    const struct mech_def *d = policy_mech(m->mechanism, op_flag[k]);
    if (!d)
        return CKR_MECHANISM_INVALID;
    struct mech_key mk = { NULL, NULL, NULL };
    const char *uid = NULL;
    bool relogin = false;
    CK_RV rv;
    if (k != OPK_DIGEST) {
        struct objref *o;
        rv = shared ? key_for_use_shared(se, key, op_usage[k], m->mechanism, &o)
                    : key_for_use(se, key, op_usage[k], m->mechanism, &o);
        if (rv != CKR_OK)
            return rv;
        CK_OBJECT_CLASS cls = o->facts.cls; /* derived by key_for_use */
        CK_KEY_TYPE kt = o->facts.kt;
        if (is_asym(kt) != (cls != CKO_SECRET_KEY))
            return CKR_KEY_TYPE_INCONSISTENT;
        if ((rv = class_fits(cls, k)) != CKR_OK)
            return rv;
        if (kt == CKK_RSA && (rv = key_policy_ok(&o->attrs)) != CKR_OK)
            return rv;
        if (o->facts.dates &&
            (rv = key_lifecycle_ok(&o->attrs, k == OPK_ENCRYPT || k == OPK_SIGN ||
                                                  k == OPK_SIGNREC)) != CKR_OK)
            return rv;
        if (k == OPK_ENCRYPT && m->mechanism == CKM_AES_GCM &&
            (rv = shared ? gcm_account_shared(se, o, m) : gcm_account(se, o, m)) != CKR_OK)
            return rv;
        uid = o->uid;
        mk.attrs = &o->attrs;
        mk.cache = &o->mech_cache;
        relogin = cls == CKO_PRIVATE_KEY && o->facts.always_auth;
    }
    /* The kept context is offered to an init of its own family; what init leaves goes. */
    if (op->spare && op->spare->def->family == d->family)
        mk.spare = &op->spare;
    struct mech_ctx *c = NULL;
    rv = d->family->init(d, op_flag[k], m, k == OPK_DIGEST ? NULL : &mk, &c);
    ctx_free(op->spare);
    op->spare = NULL;
    if (rv != CKR_OK)
        return rv;
    op->ctx = c;
    op->need_login = relogin;
    op->updated = false;
    op->mech = m->mechanism;
    op->user = login_user(se->slot);
    memcpy(op->uid, uid ? uid : "", uid ? sizeof op->uid : 1);
    return CKR_OK;
}

static const char *const op_name[OPK_COUNT] = {
    [OPK_ENCRYPT] = "C_Encrypt", [OPK_DECRYPT] = "C_Decrypt", [OPK_DIGEST] = "C_Digest",
    [OPK_SIGN] = "C_Sign", [OPK_VERIFY] = "C_Verify", [OPK_SIGNREC] = "C_SignRecover",
    [OPK_VERIFYREC] = "C_VerifyRecover",
};

/* Maps a family's answer to the caller's and ends the operation where the spec says so. Each
 * ended use of a key is audited; when its record cannot be written the output is wiped and the
 * call fails, so no result leaves without its trace. */
static CK_RV settle_out(struct session *se, struct op_state *op, CK_RV rv, bool ends_on_success,
                        uint8_t *out, CK_ULONG *outlen)
{
    if (rv == MECH_LENGTH_ONLY)
        return CKR_OK;
    if (rv == CKR_BUFFER_TOO_SMALL)
        return rv;
    if (rv != CKR_OK || ends_on_success) {
        enum op_kind k = (enum op_kind)(op - se->op);
        if (k != OPK_DIGEST || op->uid[0]) {
            CK_RV arv = tok_audit(se->slot, se, op->user, op_name[k], op->mech,
                                  op->uid, rv, true);
            if (arv != CKR_OK && rv == CKR_OK) {
                if (out && outlen)
                    memset(out, 0, *outlen);
                rv = arv;
            }
        }
        op_end(op);
    }
    return rv;
}

#define settle(op, rv, ends) settle_out(se, (op), (rv), (ends), NULL, NULL)

/* Takes a reference to the session and its lock; *sep stays NULL only when the handle is
 * invalid. Every caller ends with put_op(). */
static CK_RV get_op(CK_SESSION_HANDLE h, enum op_kind k, struct session **sep,
                    struct op_state **out)
{
    struct session *se = session_acquire(h);
    *sep = se;
    if (!se)
        return CKR_SESSION_HANDLE_INVALID;
    mutex_lock(se->mu);
    struct op_state *op = &se->op[k];
    if (!op->ctx)
        return CKR_OPERATION_NOT_INITIALIZED;
    if (op->need_login)
        return CKR_USER_NOT_LOGGED_IN; /* stays active: C_Login(CKU_CONTEXT_SPECIFIC) next */
    *out = op;
    return CKR_OK;
}

static CK_RV put_op(struct session *se, CK_RV rv)
{
    if (se) {
        mutex_unlock(se->mu);
        session_release(se);
    }
    return rv;
}

CK_RV tok_op_oneshot(CK_SESSION_HANDLE h, enum op_kind k, const uint8_t *in, CK_ULONG inlen,
                     uint8_t *out, CK_ULONG *outlen)
{
    struct session *se;
    struct op_state *op;
    CK_RV rv = get_op(h, k, &se, &op);
    if (rv != CKR_OK)
        return put_op(se, rv);
    if (op->updated)
        return put_op(se, settle(op, CKR_OPERATION_ACTIVE, true));
    const struct mech_family *f = op->ctx->def->family;
    return put_op(se, settle_out(se, op, f->oneshot(op->ctx, in, inlen, out, outlen), true, out, outlen));
}

CK_RV tok_op_update(CK_SESSION_HANDLE h, enum op_kind k, const uint8_t *in, CK_ULONG inlen,
                    uint8_t *out, CK_ULONG *outlen)
{
    struct session *se;
    struct op_state *op;
    CK_RV rv = get_op(h, k, &se, &op);
    if (rv != CKR_OK)
        return put_op(se, rv);
    const struct mech_family *f = op->ctx->def->family;
    if (!f->update)
        return put_op(se, settle(op, CKR_FUNCTION_NOT_SUPPORTED, true));
    rv = settle(op, f->update(op->ctx, in, inlen, out, outlen), false);
    if (rv == CKR_OK && op->ctx)
        op->updated = true;
    return put_op(se, rv);
}

CK_RV tok_op_final(CK_SESSION_HANDLE h, enum op_kind k, uint8_t *out, CK_ULONG *outlen)
{
    struct session *se;
    struct op_state *op;
    CK_RV rv = get_op(h, k, &se, &op);
    if (rv != CKR_OK)
        return put_op(se, rv);
    const struct mech_family *f = op->ctx->def->family;
    if (!f->final)
        return put_op(se, settle(op, CKR_FUNCTION_NOT_SUPPORTED, true));
    return put_op(se, settle_out(se, op, f->final(op->ctx, out, outlen), true, out, outlen));
}

CK_RV tok_op_verify(CK_SESSION_HANDLE h, const uint8_t *in, CK_ULONG inlen, const uint8_t *sig,
                    CK_ULONG siglen)
{
    struct session *se;
    struct op_state *op;
    CK_RV rv = get_op(h, OPK_VERIFY, &se, &op);
    if (rv != CKR_OK)
        return put_op(se, rv);
    if (op->updated)
        return put_op(se, settle(op, CKR_OPERATION_ACTIVE, true));
    const struct mech_family *f = op->ctx->def->family;
    return put_op(se, settle(op, f->verify_oneshot(op->ctx, in, inlen, sig, siglen), true));
}

CK_RV tok_op_verify_final(CK_SESSION_HANDLE h, const uint8_t *sig, CK_ULONG siglen)
{
    struct session *se;
    struct op_state *op;
    CK_RV rv = get_op(h, OPK_VERIFY, &se, &op);
    if (rv != CKR_OK)
        return put_op(se, rv);
    const struct mech_family *f = op->ctx->def->family;
    if (!f->verify_final)
        return put_op(se, settle(op, CKR_FUNCTION_NOT_SUPPORTED, true));
    return put_op(se, settle(op, f->verify_final(op->ctx, sig, siglen), true));
}

CK_RV tok_op_cancel(CK_SESSION_HANDLE h, CK_FLAGS flags)
{
    struct session *se = session_get(h);
    if (!se)
        return CKR_SESSION_HANDLE_INVALID;
    mutex_lock(se->mu);
    for (int k = 0; k < OPK_COUNT; k++)
        if (flags & op_flag[k])
            op_end(&se->op[k]);
    mutex_unlock(se->mu);
    return CKR_OK;
}

/* Under the module lock (it reads a key object), so the session is looked up, not acquired. */
static CK_RV digest_key_locked(struct session *se, CK_OBJECT_HANDLE key)
{
    struct op_state *op = &se->op[OPK_DIGEST];
    if (!op->ctx)
        return CKR_OPERATION_NOT_INITIALIZED;
    struct objref *o;
    CK_RV rv = key_for_use(se, key, 0, CK_UNAVAILABLE_INFORMATION, &o);
    if (rv == CKR_OK && obj_class(&o->attrs) != CKO_SECRET_KEY)
        rv = CKR_KEY_INDIGESTIBLE;
    if (rv != CKR_OK)
        return settle(op, rv, true);
    const struct mech_family *f = op->ctx->def->family;
    if (!f->digest_key)
        return settle(op, CKR_KEY_INDIGESTIBLE, true);
    struct mech_key mk = { &o->attrs, &o->mech_cache, NULL };
    rv = settle(op, f->digest_key(op->ctx, &mk), false);
    if (rv == CKR_OK)
        op->updated = true;
    return rv;
}

CK_RV tok_digest_key(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE key)
{
    struct session *se = session_get(h);
    if (!se)
        return CKR_SESSION_HANDLE_INVALID;
    mutex_lock(se->mu);
    CK_RV rv = digest_key_locked(se, key);
    mutex_unlock(se->mu);
    return rv;
}

CK_RV tok_context_login(struct session *se)
{
    /* Re-authenticates the pending CKA_ALWAYS_AUTHENTICATE operation(s) of this session. */
    bool any = false;
    mutex_lock(se->mu);
    for (int k = 0; k < OPK_COUNT; k++) {
        if (se->op[k].ctx && se->op[k].need_login) {
            se->op[k].need_login = false;
            any = true;
        }
    }
    mutex_unlock(se->mu);
    return any ? CKR_OK : CKR_OPERATION_NOT_INITIALIZED;
}

static CK_RV state_get_locked(struct session *se, uint8_t *out, CK_ULONG *outlen)
{
    /* Only a lone digest's state can be saved: keys never leave in a state blob. */
    for (int k = 0; k < OPK_COUNT; k++)
        if (k != OPK_DIGEST && se->op[k].ctx)
            return CKR_STATE_UNSAVEABLE;
    struct op_state *op = &se->op[OPK_DIGEST];
    if (!op->ctx)
        return CKR_OPERATION_NOT_INITIALIZED;
    const struct mech_family *f = op->ctx->def->family;
    if (!f->get_state)
        return CKR_STATE_UNSAVEABLE;
    CK_RV rv = f->get_state(op->ctx, out, outlen);
    return rv == MECH_LENGTH_ONLY ? CKR_OK : rv;
}

static CK_RV state_set_locked(struct session *se, const uint8_t *in, CK_ULONG inlen)
{
    /* The blob names its mechanism; try each family that can restore a state. */
    for (size_t i = 0; i < mech_count(); i++) {
        const struct mech_def *d = mech_at(i);
        if (!(d->flags & CKF_DIGEST) || !d->family->set_state)
            continue;
        struct mech_ctx *c = NULL;
        if (d->family->set_state(d, in, inlen, &c) == CKR_OK) {
            op_end(&se->op[OPK_DIGEST]);
            se->op[OPK_DIGEST].ctx = c;
            se->op[OPK_DIGEST].updated = true;
            return CKR_OK;
        }
    }
    return CKR_SAVED_STATE_INVALID;
}

CK_RV tok_op_state_get(CK_SESSION_HANDLE h, uint8_t *out, CK_ULONG *outlen)
{
    struct session *se = session_get(h);
    if (!se)
        return CKR_SESSION_HANDLE_INVALID;
    mutex_lock(se->mu);
    CK_RV rv = state_get_locked(se, out, outlen);
    mutex_unlock(se->mu);
    return rv;
}

CK_RV tok_op_state_set(CK_SESSION_HANDLE h, const uint8_t *in, CK_ULONG inlen)
{
    struct session *se = session_get(h);
    if (!se)
        return CKR_SESSION_HANDLE_INVALID;
    mutex_lock(se->mu);
    CK_RV rv = state_set_locked(se, in, inlen);
    mutex_unlock(se->mu);
    return rv;
}
