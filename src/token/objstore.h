/* Token-object writes: each one transaction that also keeps the token's accumulator right. */
#ifndef CRATON_TOKEN_OBJSTORE_H
#define CRATON_TOKEN_OBJSTORE_H
#include "token/internal.h"

CK_RV objstore_insert(struct slot *s, const attrs_t *obj, const char *uid, int64_t *rowid);
/* Several objects in one transaction: a key pair is stored whole or not at all. */
CK_RV objstore_insert_many(struct slot *s, const attrs_t *const *objs, const char *const *uids,
                           size_t n, int64_t *rowids);
CK_RV objstore_update(struct slot *s, int64_t rowid, const attrs_t *obj, const char *uid);
CK_RV objstore_delete(struct slot *s, int64_t rowid);

/* objects.c helpers shared with find.c */
void objects_sync(struct slot *s);
struct objref *objref_for_row(struct slot *s, int64_t rowid);
CK_RV objref_load(struct objref *o);
bool objref_visible(const struct objref *o);
CK_RV object_get(struct session *se, CK_OBJECT_HANDLE h, struct objref **out);
CK_RV object_get_for_use(struct session *se, CK_OBJECT_HANDLE h, struct objref **out);
/* The same without writing anything (the shared module lock): CKR_OBJECT_HANDLE_INVALID
 * also when the exclusive path must run (store to check, cache to fill, key facts to derive). */
CK_RV object_peek_for_use(struct session *se, CK_OBJECT_HANDLE h, struct objref **out);
bool objects_sync_due(const struct slot *s); /* another process's commits due for a check */
CK_RV object_lookup(struct session *se, CK_OBJECT_HANDLE h, bool for_use, struct objref **out);
CK_RV object_write_allowed(const struct session *se, bool token, bool priv);
CK_RV object_add(struct session *se, attrs_t *obj, CK_OBJECT_HANDLE *out);
/* The unique ID of a handle's object (NULL if none), and the audit record of an object call:
 * returns rv, or CKR_DEVICE_ERROR when rv was CKR_OK but the record could not be written. */
const char *uid_of(CK_OBJECT_HANDLE h);
CK_RV audit_object(struct session *se, const char *op, CK_MECHANISM_TYPE mech, const char *uid,
                   CK_RV rv);
CK_RV object_add_pair(struct session *se, attrs_t *a, attrs_t *b, CK_OBJECT_HANDLE *ha,
                      CK_OBJECT_HANDLE *hb);
#endif
