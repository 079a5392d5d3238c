/* C_FindObjects: index lookups in the store for token objects, a scan for session objects,
 * then an exact match on each candidate's authenticated attributes. */
#include "token/objstore.h"
#include "token/token.h"
#include "object/template.h"

#include <stdlib.h>
#include <string.h>

static const CK_ATTRIBUTE *tmpl_find(const CK_ATTRIBUTE *t, CK_ULONG n, CK_ATTRIBUTE_TYPE type)
{
    for (CK_ULONG i = 0; i < n; i++)
        if (t[i].type == type)
            return &t[i];
    return NULL;
}

static int push(struct session *se, size_t *cap, CK_OBJECT_HANDLE h)
{
    if (se->nfound == *cap) {
        size_t ncap = *cap ? *cap * 2 : 32;
        CK_OBJECT_HANDLE *nv = realloc(se->found, ncap * sizeof *nv);
        if (!nv)
            return -1;
        se->found = nv;
        *cap = ncap;
    }
    se->found[se->nfound++] = h;
    return 0;
}

static CK_RV find_token_objects(struct session *se, const CK_ATTRIBUTE *t, CK_ULONG n,
                                size_t *cap)
{
    struct slot *s = se->slot;
    struct find_filter f = { 0 };
    uint8_t label_h[32], id_h[32];
    const CK_ATTRIBUTE *a;
    if ((a = tmpl_find(t, n, CKA_TOKEN)) && a->ulValueLen == 1 && *(CK_BBOOL *)a->pValue == CK_FALSE)
        return CKR_OK;
    if ((a = tmpl_find(t, n, CKA_CLASS)) && a->ulValueLen == sizeof(CK_ULONG)) {
        f.has_class = true;
        memcpy(&f.cls, a->pValue, sizeof f.cls);
    }
    if ((a = tmpl_find(t, n, CKA_KEY_TYPE)) && a->ulValueLen == sizeof(CK_ULONG)) {
        f.has_key_type = true;
        memcpy(&f.key_type, a->pValue, sizeof f.key_type);
    }
    f.include_private = s->login == LOGIN_USER;
    if ((a = tmpl_find(t, n, CKA_LABEL))) {
        f.has_label = true;
        f.label = a->pValue;
        f.label_len = a->ulValueLen;
        if (f.include_private && seal_index(s->keys, 'L', a->pValue, a->ulValueLen, label_h) == CKR_OK)
            f.label_h = label_h;
    }
    if ((a = tmpl_find(t, n, CKA_ID))) {
        f.has_id = true;
        f.id = a->pValue;
        f.id_len = a->ulValueLen;
        if (f.include_private && seal_index(s->keys, 'I', a->pValue, a->ulValueLen, id_h) == CKR_OK)
            f.id_h = id_h;
    }
    int64_t *ids = NULL;
    size_t nids = 0;
    objects_sync(s);
    CK_RV rv = store_object_find(s->store, &f, &ids, &nids);
    for (size_t i = 0; rv == CKR_OK && i < nids; i++) {
        struct objref *o = objref_for_row(s, ids[i]);
        if (!o) {
            rv = CKR_HOST_MEMORY;
            break;
        }
        CK_RV lrv = objref_load(o);
        if (lrv == CKR_DEVICE_ERROR) {
            /* A damaged row matched by its index: return it so the caller's next use of it
             * reports the damage, rather than hiding the object. */
            if (push(se, cap, o->handle))
                rv = CKR_HOST_MEMORY;
            continue;
        }
        if (lrv != CKR_OK)
            continue; /* gone meanwhile, or private without login */
        if (objref_visible(o) && attrs_match(&o->attrs, t, n) && push(se, cap, o->handle))
            rv = CKR_HOST_MEMORY;
    }
    free(ids);
    return rv;
}

CK_RV tok_find_init(CK_SESSION_HANDLE h, const CK_ATTRIBUTE *t, CK_ULONG n)
{
    struct session *se = session_get(h);
    if (!se)
        return CKR_SESSION_HANDLE_INVALID;
    if (se->find_active)
        return CKR_OPERATION_ACTIVE;
    hmap_compact(&g_mod.session_objects);
    /* A search template is matched, never stored, but it obeys the same size limits as any
     * other template: its label or ID is hashed for the private-object index. */
    if (n > TMPL_MAX_ATTRS)
        return CKR_TEMPLATE_INCONSISTENT;
    for (CK_ULONG i = 0; i < n; i++) {
        if (t[i].ulValueLen && !t[i].pValue)
            return CKR_ARGUMENTS_BAD;
        if (t[i].ulValueLen > TMPL_MAX_VALUE)
            return CKR_ATTRIBUTE_VALUE_INVALID;
    }
    size_t cap = 0;
    CK_RV rv = find_token_objects(se, t, n, &cap);
    for (size_t i = hmap_next(&g_mod.session_objects, 0); rv == CKR_OK && i < g_mod.session_objects.cap;
         i = hmap_next(&g_mod.session_objects, i + 1)) {
        struct objref *o = g_mod.session_objects.vals[i];
        if (o->slot != se->slot || !objref_visible(o))
            continue;
        if (attrs_match(&o->attrs, t, n) && push(se, &cap, o->handle))
            rv = CKR_HOST_MEMORY;
    }
    if (rv != CKR_OK) {
        session_free_find(se);
        return rv;
    }
    se->find_active = true;
    se->pos = 0;
    return CKR_OK;
}

CK_RV tok_find(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE *out, CK_ULONG max, CK_ULONG *count)
{
    struct session *se = session_get(h);
    if (!se)
        return CKR_SESSION_HANDLE_INVALID;
    if (!se->find_active)
        return CKR_OPERATION_NOT_INITIALIZED;
    CK_ULONG k = 0;
    while (k < max && se->pos < se->nfound)
        out[k++] = se->found[se->pos++];
    *count = k;
    return CKR_OK;
}

CK_RV tok_find_final(CK_SESSION_HANDLE h)
{
    struct session *se = session_get(h);
    if (!se)
        return CKR_SESSION_HANDLE_INVALID;
    if (!se->find_active)
        return CKR_OPERATION_NOT_INITIALIZED;
    session_free_find(se);
    return CKR_OK;
}
