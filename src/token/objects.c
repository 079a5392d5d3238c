/* Objects: handles, loading and caching token objects, create/copy/destroy/get/set. */
#include "token/internal.h"
#include "token/objstore.h"
#include "token/token.h"
#include "base/log.h"
#include "base/ossl.h"
#include "object/template.h"
#include "mech/mech.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t row_key(const struct slot *s, int64_t rowid)
{
    return ((uint64_t)(s->id + 1) << 40) | (uint64_t)rowid;
}

/* Drops the cached copy of a token object and whatever a family prepared from it. */
static void objref_uncache(struct objref *o)
{
    attrs_free(&o->attrs);
    mech_cache_free(o->mech_cache);
    o->mech_cache = NULL;
    o->loaded = o->secret_loaded = false;
}

static void objref_free(struct objref *o)
{
    attrs_free(&o->attrs);
    mech_cache_free(o->mech_cache);
    free(o);
}

static void objref_forget(struct objref *o)
{
    hmap_del(&g_mod.objects, o->handle);
    if (o->rowid > 0)
        hmap_del(&g_mod.rows, row_key(o->slot, o->rowid));
    else
        hmap_del(&g_mod.session_objects, o->handle);
    objref_free(o);
}

void objects_drop_session(struct session *se)
{
    for (size_t i = hmap_next(&g_mod.objects, 0); i < g_mod.objects.cap;
         i = hmap_next(&g_mod.objects, i + 1)) {
        struct objref *o = g_mod.objects.vals[i];
        if (o->owner == se)
            objref_forget(o);
    }
}

void objects_drop_slot_cache(struct slot *s)
{
    for (size_t i = hmap_next(&g_mod.objects, 0); i < g_mod.objects.cap;
         i = hmap_next(&g_mod.objects, i + 1)) {
        struct objref *o = g_mod.objects.vals[i];
        if (o->slot == s && o->rowid > 0 && o->loaded)
            objref_uncache(o);
    }
}

/* Logout (spec 5.6.4): private session objects are destroyed and handles to private token
 * objects become invalid for good; public token objects only lose their cached copy, which
 * was checked under the key that is now gone. */
void objects_logout(struct slot *s)
{
    for (size_t i = hmap_next(&g_mod.objects, 0); i < g_mod.objects.cap;
         i = hmap_next(&g_mod.objects, i + 1)) {
        struct objref *o = g_mod.objects.vals[i];
        if (o->slot != s)
            continue;
        bool priv = o->rowid > 0 ? o->is_private : attrs_bool(&o->attrs, CKA_PRIVATE, false);
        if (priv)
            objref_forget(o);
        else if (o->rowid > 0 && o->loaded)
            objref_uncache(o);
    }
}

void objects_forget_slot(struct slot *s)
{
    for (size_t i = hmap_next(&g_mod.objects, 0); i < g_mod.objects.cap;
         i = hmap_next(&g_mod.objects, i + 1)) {
        struct objref *o = g_mod.objects.vals[i];
        if (o->slot == s)
            objref_forget(o);
    }
}

/* Notices other processes' (and our own) commits: cached token objects are re-read then. */
void objects_sync(struct slot *s)
{
    clock_gettime(CLOCK_MONOTONIC_COARSE, &s->synced);
    /* A change anywhere in the file (another process's write, the audit anchor) only marks
     * caches as to be checked: objref_load compares each row's digest before trusting it. */
    s->version = store_data_version(s->store);
}

struct objref *objref_for_row(struct slot *s, int64_t rowid)
{
    struct objref *o = hmap_get(&g_mod.rows, row_key(s, rowid));
    if (o)
        return o;
    o = calloc(1, sizeof *o);
    if (!o)
        return NULL;
    o->slot = s;
    o->rowid = rowid;
    o->is_private = true; /* until its row says otherwise */
    attrs_init(&o->attrs);
    o->handle = handle_new(&g_mod.objects);
    if (!o->handle || hmap_put(&g_mod.objects, o->handle, o)) {
        free(o);
        return NULL;
    }
    if (hmap_put(&g_mod.rows, row_key(s, rowid), o)) {
        hmap_del(&g_mod.objects, o->handle);
        free(o);
        return NULL;
    }
    return o;
}

CK_RV objref_load(struct objref *o)
{
    if (o->rowid <= 0 || (o->loaded && o->version == o->slot->version))
        return CKR_OK;
    if (o->loaded) {
        /* Re-hash the row as it is now (no decryption): unchanged bytes keep the cache. */
        struct object_record cur;
        uint8_t d[32];
        CK_RV rv = store_object_get(o->slot->store, o->rowid, &cur);
        if (rv == CKR_OK) {
            rv = seal_row_digest(o->slot->rec.uuid, &cur, d);
            store_record_free(&cur);
            if (rv == CKR_OK && !memcmp(d, o->digest, 32)) {
                o->version = o->slot->version;
                return CKR_OK;
            }
        }
    }
    objref_uncache(o);
    struct object_record r;
    CK_RV rv = store_object_get(o->slot->store, o->rowid, &r);
    if (rv == CKR_OK) {
        rv = unseal_object(o->slot->keys, o->slot->rec.uuid, &r, &o->attrs, &o->secret_loaded);
        if (rv == CKR_DEVICE_ERROR) {
            LOG_ERR("object %s in slot %lu failed its integrity check", r.uid,
                    (unsigned long)o->slot->id);
            tok_audit(o->slot, NULL, -1, "tamper", CK_UNAVAILABLE_INFORMATION, r.uid,
                      CKR_DEVICE_ERROR, false);
        }
        memcpy(o->uid, r.uid, sizeof o->uid);
        memcpy(o->digest, r.digest, sizeof o->digest);
        o->is_private = r.is_private;
        store_record_free(&r);
    }
    if (rv == CKR_OK) {
        o->loaded = true;
        o->version = o->slot->version;
    }
    return rv;
}

bool objref_visible(const struct objref *o)
{
    if (o->rowid > 0 && !o->loaded)
        return false;
    return !attrs_bool(&o->attrs, CKA_PRIVATE, false) || o->slot->login == LOGIN_USER;
}

/* The key-use path checks for other processes' changes at most once a millisecond: a key
 * destroyed or changed elsewhere is noticed within that time, and a signature costs no SQLite
 * statement. Finds and attribute reads and writes always check. */
bool objects_sync_due(const struct slot *s)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
    long long ms = (now.tv_sec - s->synced.tv_sec) * 1000LL + (now.tv_nsec - s->synced.tv_nsec) / 1000000;
    return ms >= 1 || ms < 0;
}

static void objects_sync_soon(struct slot *s)
{
    if (objects_sync_due(s))
        objects_sync(s);
}

/* The key-use path under the shared module lock, where nothing may be written: the object
 * when using it needs no check of the store and no cache fill, else CKR_OBJECT_HANDLE_INVALID
 * meaning "look again under the exclusive lock" (which also gives the exact error). */
CK_RV object_peek_for_use(struct session *se, CK_OBJECT_HANDLE h, struct objref **out)
{
    struct objref *o = h ? hmap_get(&g_mod.objects, h) : NULL;
    if (!o || o->slot != se->slot)
        return CKR_OBJECT_HANDLE_INVALID;
    if (o->rowid > 0 &&
        (!o->loaded || o->version != o->slot->version || objects_sync_due(o->slot)))
        return CKR_OBJECT_HANDLE_INVALID;
    /* objref_visible, from the facts the exclusive path derived for this attribute list */
    if (o->facts.gen != o->attrs.gen || (o->facts.priv && o->slot->login != LOGIN_USER))
        return CKR_OBJECT_HANDLE_INVALID;
    *out = o;
    return CKR_OK;
}

CK_RV object_get_for_use(struct session *se, CK_OBJECT_HANDLE h, struct objref **out)
{
    return object_lookup(se, h, true, out);
}

CK_RV object_get(struct session *se, CK_OBJECT_HANDLE h, struct objref **out)
{
    return object_lookup(se, h, false, out);
}

CK_RV object_lookup(struct session *se, CK_OBJECT_HANDLE h, bool for_use, struct objref **out)
{
    struct objref *o = h ? hmap_get(&g_mod.objects, h) : NULL;
    if (!o || o->slot != se->slot)
        return CKR_OBJECT_HANDLE_INVALID;
    if (o->rowid > 0) {
        if (for_use)
            objects_sync_soon(o->slot);
        else
            objects_sync(o->slot);
        CK_RV rv = objref_load(o);
        if (rv == CKR_OBJECT_HANDLE_INVALID || rv == CKR_USER_NOT_LOGGED_IN) {
            if (rv == CKR_OBJECT_HANDLE_INVALID)
                objref_forget(o); /* destroyed, here or by another process */
            return CKR_OBJECT_HANDLE_INVALID;
        }
        if (rv != CKR_OK)
            return rv;
    }
    if (!objref_visible(o))
        return CKR_OBJECT_HANDLE_INVALID;
    *out = o;
    return CKR_OK;
}

/* Who may write an object with these TOKEN/PRIVATE values in this session. */
CK_RV object_write_allowed(const struct session *se, bool token, bool priv)
{
    if (token && !(se->flags & CKF_RW_SESSION))
        return CKR_SESSION_READ_ONLY;
    if (priv && se->slot->login != LOGIN_USER)
        return CKR_USER_NOT_LOGGED_IN;
    /* Every token object is tagged under the PIN-protected token key: writing one needs a
     * login (the user's, or the SO's for public objects). */
    if (token && se->slot->login == LOGIN_NONE)
        return CKR_USER_NOT_LOGGED_IN;
    return CKR_OK;
}

static CK_RV new_uid(char out[UID_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    uint8_t r[UID_LEN / 2];
    if (ossl_random(r, sizeof r))
        return CKR_GENERAL_ERROR;
    for (size_t i = 0; i < sizeof r; i++) {
        out[2 * i] = hex[r[i] >> 4];
        out[2 * i + 1] = hex[r[i] & 15];
    }
    out[UID_LEN] = 0;
    return CKR_OK;
}

CK_RV object_add(struct session *se, attrs_t *obj, CK_OBJECT_HANDLE *out)
{
    bool token = attrs_bool(obj, CKA_TOKEN, false);
    bool priv = attrs_bool(obj, CKA_PRIVATE, false);
    CK_RV rv = object_write_allowed(se, token, priv);
    char uid[UID_LEN + 1];
    if (rv == CKR_OK)
        rv = new_uid(uid);
    if (rv == CKR_OK)
        rv = attrs_set(obj, CKA_UNIQUE_ID, uid, UID_LEN, false);
    if (rv != CKR_OK)
        return rv;
    struct slot *s = se->slot;
    if (token) {
        int64_t rowid = 0;
        rv = objstore_insert(s, obj, uid, &rowid);
        if (rv != CKR_OK)
            return rv;
        struct objref *o = objref_for_row(s, rowid);
        if (!o)
            return CKR_HOST_MEMORY; /* stored; found again by C_FindObjects */
        memcpy(o->uid, uid, sizeof o->uid);
        o->is_private = priv;
        *out = o->handle;
        return CKR_OK;
    }
    struct objref *o = calloc(1, sizeof *o);
    if (!o)
        return CKR_HOST_MEMORY;
    o->slot = s;
    o->owner = se;
    o->attrs = *obj;
    attrs_init(obj); /* ownership moved */
    o->is_private = priv;
    o->loaded = o->secret_loaded = true;
    memcpy(o->uid, uid, sizeof o->uid);
    o->handle = handle_new(&g_mod.objects);
    if (!o->handle || hmap_put(&g_mod.objects, o->handle, o)) {
        objref_free(o);
        return CKR_HOST_MEMORY;
    }
    if (hmap_put(&g_mod.session_objects, o->handle, o)) {
        hmap_del(&g_mod.objects, o->handle);
        objref_free(o);
        return CKR_HOST_MEMORY;
    }
    *out = o->handle;
    return CKR_OK;
}

const char *uid_of(CK_OBJECT_HANDLE h)
{
    struct objref *o = hmap_get(&g_mod.objects, h);
    return o ? o->uid : NULL;
}

CK_RV audit_object(struct session *se, const char *op, CK_MECHANISM_TYPE mech, const char *uid,
                   CK_RV rv)
{
    CK_RV arv = tok_audit(se->slot, se, login_user(se->slot), op, mech, uid, rv, false);
    return rv == CKR_OK ? arv : rv;
}

CK_RV object_add_pair(struct session *se, attrs_t *a, attrs_t *b, CK_OBJECT_HANDLE *ha,
                      CK_OBJECT_HANDLE *hb)
{
    bool ta = attrs_bool(a, CKA_TOKEN, false), tb = attrs_bool(b, CKA_TOKEN, false);
    CK_RV rv = object_write_allowed(se, ta, attrs_bool(a, CKA_PRIVATE, false));
    if (rv == CKR_OK)
        rv = object_write_allowed(se, tb, attrs_bool(b, CKA_PRIVATE, false));
    if (rv != CKR_OK)
        return rv;
    if (!(ta && tb)) {
        rv = object_add(se, a, ha);
        if (rv == CKR_OK && (rv = object_add(se, b, hb)) != CKR_OK)
            tok_destroy_object(se->handle, *ha);
        return rv;
    }
    char ua[UID_LEN + 1], ub[UID_LEN + 1];
    if ((rv = new_uid(ua)) != CKR_OK || (rv = new_uid(ub)) != CKR_OK ||
        (rv = attrs_set(a, CKA_UNIQUE_ID, ua, UID_LEN, false)) != CKR_OK ||
        (rv = attrs_set(b, CKA_UNIQUE_ID, ub, UID_LEN, false)) != CKR_OK)
        return rv;
    const attrs_t *objs[2] = { a, b };
    const char *uids[2] = { ua, ub };
    int64_t rows[2];
    rv = objstore_insert_many(se->slot, objs, uids, 2, rows);
    if (rv != CKR_OK)
        return rv;
    struct objref *oa = objref_for_row(se->slot, rows[0]);
    struct objref *ob = objref_for_row(se->slot, rows[1]);
    if (!oa || !ob)
        return CKR_HOST_MEMORY;
    oa->is_private = attrs_bool(a, CKA_PRIVATE, false);
    ob->is_private = attrs_bool(b, CKA_PRIVATE, false);
    *ha = oa->handle;
    *hb = ob->handle;
    return CKR_OK;
}

CK_RV tok_create_object(CK_SESSION_HANDLE h, const CK_ATTRIBUTE *t, CK_ULONG n,
                        CK_OBJECT_HANDLE *out)
{
    struct session *se = session_get(h);
    if (!se)
        return CKR_SESSION_HANDLE_INVALID;
    attrs_t in, obj;
    CK_RV rv = tmpl_parse(t, n, &in);
    if (rv != CKR_OK)
        return rv;
    rv = tmpl_build(&in, TMPL_CREATE, CK_UNAVAILABLE_INFORMATION, CK_UNAVAILABLE_INFORMATION,
                    se->slot->login == LOGIN_SO, &obj);
    attrs_free(&in);
    if (rv == CKR_OK)
        rv = tmpl_finish(&obj, TMPL_CREATE, CK_UNAVAILABLE_INFORMATION);
    if (rv == CKR_OK)
        rv = mech_validate_import(&obj); /* an inconsistent key never reaches the store */
    if (rv == CKR_OK)
        rv = object_add(se, &obj, out);
    attrs_free(&obj);
    return audit_object(se, "C_CreateObject", CK_UNAVAILABLE_INFORMATION,
                        rv == CKR_OK ? uid_of(*out) : NULL, rv);
}

CK_RV tok_copy_object(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE src, const CK_ATTRIBUTE *t,
                      CK_ULONG n, CK_OBJECT_HANDLE *out)
{
    struct session *se = session_get(h);
    if (!se)
        return CKR_SESSION_HANDLE_INVALID;
    struct objref *o;
    CK_RV rv = object_get(se, src, &o);
    if (rv != CKR_OK)
        return rv;
    if (!attrs_bool(&o->attrs, CKA_COPYABLE, true))
        return CKR_ACTION_PROHIBITED;
    if (!o->secret_loaded)
        return CKR_USER_NOT_LOGGED_IN;
    attrs_t changes, obj;
    rv = tmpl_parse(t, n, &changes);
    if (rv != CKR_OK)
        return rv;
    rv = attrs_copy(&obj, &o->attrs);
    if (rv == CKR_OK) {
        attrs_remove(&obj, CKA_UNIQUE_ID);
        rv = tmpl_apply(&obj, &changes, true, se->slot->login == LOGIN_SO);
        if (rv == CKR_OK)
            rv = object_add(se, &obj, out);
        attrs_free(&obj);
    }
    attrs_free(&changes);
    return audit_object(se, "C_CopyObject", CK_UNAVAILABLE_INFORMATION,
                        rv == CKR_OK ? uid_of(*out) : o->uid, rv);
}

CK_RV tok_destroy_object(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE oh)
{
    struct session *se = session_get(h);
    if (!se)
        return CKR_SESSION_HANDLE_INVALID;
    struct objref *o;
    CK_RV rv = object_get(se, oh, &o);
    if (rv != CKR_OK)
        return rv;
    char uid[UID_LEN + 1];
    memcpy(uid, o->uid, sizeof uid);
    if (!attrs_bool(&o->attrs, CKA_DESTROYABLE, true))
        rv = CKR_ACTION_PROHIBITED;
    else if (o->rowid > 0) {
        rv = object_write_allowed(se, true, attrs_bool(&o->attrs, CKA_PRIVATE, false));
        if (rv == CKR_OK)
            rv = objstore_delete(o->slot, o->rowid);
    }
    if (rv == CKR_OK || rv == CKR_OBJECT_HANDLE_INVALID)
        objref_forget(o);
    return audit_object(se, "C_DestroyObject", CK_UNAVAILABLE_INFORMATION, uid, rv);
}

CK_RV tok_object_size(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE oh, CK_ULONG *size)
{
    struct session *se = session_get(h);
    if (!se)
        return CKR_SESSION_HANDLE_INVALID;
    struct objref *o;
    CK_RV rv = object_get(se, oh, &o);
    if (rv != CKR_OK)
        return rv;
    CK_ULONG total = 0;
    for (size_t i = 0; i < o->attrs.n; i++)
        total += 12 + o->attrs.v[i].len; /* the stored form's size */
    *size = total;
    return CKR_OK;
}

CK_RV tok_get_attributes(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE oh, CK_ATTRIBUTE *t, CK_ULONG n)
{
    struct session *se = session_get(h);
    if (!se)
        return CKR_SESSION_HANDLE_INVALID;
    struct objref *o;
    CK_RV rv = object_get(se, oh, &o);
    if (rv != CKR_OK)
        return rv;
    return tmpl_read(&o->attrs, t, n);
}

CK_RV tok_set_attributes(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE oh, const CK_ATTRIBUTE *t,
                         CK_ULONG n)
{
    struct session *se = session_get(h);
    if (!se)
        return CKR_SESSION_HANDLE_INVALID;
    struct objref *o;
    CK_RV rv = object_get(se, oh, &o);
    if (rv != CKR_OK)
        return rv;
    if (!attrs_bool(&o->attrs, CKA_MODIFIABLE, true))
        return CKR_ACTION_PROHIBITED;
    bool token = o->rowid > 0;
    rv = object_write_allowed(se, token, attrs_bool(&o->attrs, CKA_PRIVATE, false));
    if (rv == CKR_OK && token && !o->secret_loaded)
        rv = CKR_USER_NOT_LOGGED_IN;
    if (rv != CKR_OK)
        return rv;
    attrs_t changes, obj;
    rv = tmpl_parse(t, n, &changes);
    if (rv != CKR_OK)
        return rv;
    rv = attrs_copy(&obj, &o->attrs);
    if (rv == CKR_OK)
        rv = tmpl_apply(&obj, &changes, false, se->slot->login == LOGIN_SO);
    if (rv == CKR_OK && token)
        rv = objstore_update(o->slot, o->rowid, &obj, o->uid);
    if (rv == CKR_OK) {
        objref_uncache(o);
        o->attrs = obj; /* ownership moved */
        attrs_init(&obj);
        o->loaded = o->secret_loaded = !token; /* token objects: re-read from the store */
    }
    attrs_free(&obj);
    attrs_free(&changes);
    return audit_object(se, "C_SetAttributeValue", CK_UNAVAILABLE_INFORMATION, o->uid, rv);
}
