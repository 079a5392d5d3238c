/* Token-object writes. Each runs in one BEGIN IMMEDIATE transaction: the row and the token's
 * integrity accumulator change together or not at all. */
#include "token/objstore.h"
#include "base/log.h"
#include "base/mem.h"

#include <string.h>

static void xor32(uint8_t *a, const uint8_t *b)
{
    for (int i = 0; i < 32; i++)
        a[i] ^= b[i];
}

/* Reads the token row inside the transaction and checks its accumulator MAC, so a write
 * never builds on a token row that was changed outside the module. */
static CK_RV begin_write(struct slot *s)
{
    if (!s->keys)
        return CKR_USER_NOT_LOGGED_IN;
    CK_RV rv = store_begin(s->store);
    if (rv != CKR_OK)
        return rv;
    rv = store_token_get(s->store, &s->rec);
    uint8_t mac[32];
    if (rv == CKR_OK)
        rv = seal_acc_mac(s->keys, s->rec.acc, s->rec.objects, mac);
    if (rv == CKR_OK && !secmem_equal(mac, s->rec.acc_mac, 32)) {
        LOG_ERR("token row of slot %lu was changed outside the module", (unsigned long)s->id);
        rv = CKR_DEVICE_ERROR;
    }
    if (rv != CKR_OK)
        store_rollback(s->store);
    return rv;
}

static CK_RV end_write(struct slot *s, CK_RV rv)
{
    if (rv == CKR_OK)
        rv = seal_acc_mac(s->keys, s->rec.acc, s->rec.objects, s->rec.acc_mac);
    if (rv == CKR_OK)
        rv = slot_write_token(s);
    if (rv == CKR_OK)
        rv = store_commit(s->store);
    if (rv != CKR_OK) {
        store_rollback(s->store);
        slot_reload(s); /* our copy of the row may hold the uncommitted change */
    }
    return rv;
}

/* The old row's tag, checked against its content: a write never replaces a forged row
 * silently (the accumulator would otherwise absorb the forgery). */
static CK_RV old_term(struct slot *s, int64_t rowid, uint8_t term[32])
{
    struct object_record r;
    CK_RV rv = store_object_get(s->store, rowid, &r);
    if (rv != CKR_OK)
        return rv;
    attrs_t tmp;
    bool loaded;
    rv = unseal_object(s->keys, s->rec.uuid, &r, &tmp, &loaded);
    attrs_free(&tmp);
    if (rv == CKR_OK)
        memcpy(term, r.term, 32);
    store_record_free(&r);
    return rv;
}

CK_RV objstore_insert_many(struct slot *s, const attrs_t *const *objs, const char *const *uids,
                           size_t n, int64_t *rowids)
{
    CK_RV rv = begin_write(s);
    if (rv != CKR_OK)
        return rv;
    if (s->rec.objects + n > g_mod.cfg.max_objects) {
        store_rollback(s->store);
        return CKR_DEVICE_MEMORY; /* the configured capacity of the token is reached */
    }
    for (size_t i = 0; i < n && rv == CKR_OK; i++) {
        struct object_record r = { 0 };
        rv = seal_object(s->keys, s->rec.uuid, uids[i], objs[i], &r);
        if (rv == CKR_OK)
            rv = store_object_insert(s->store, &r);
        if (rv == CKR_OK) {
            xor32(s->rec.acc, r.term);
            s->rec.objects++;
            rowids[i] = r.rowid;
        }
        store_record_free(&r);
    }
    return end_write(s, rv);
}

CK_RV objstore_insert(struct slot *s, const attrs_t *obj, const char *uid, int64_t *rowid)
{
    return objstore_insert_many(s, &obj, &uid, 1, rowid);
}

CK_RV objstore_update(struct slot *s, int64_t rowid, const attrs_t *obj, const char *uid)
{
    CK_RV rv = begin_write(s);
    if (rv != CKR_OK)
        return rv;
    uint8_t old[32];
    struct object_record r = { 0 };
    r.rowid = rowid;
    rv = old_term(s, rowid, old);
    if (rv == CKR_OK)
        rv = seal_object(s->keys, s->rec.uuid, uid, obj, &r);
    if (rv == CKR_OK)
        rv = store_object_update(s->store, &r);
    if (rv == CKR_OK) {
        xor32(s->rec.acc, old);
        xor32(s->rec.acc, r.term);
    }
    store_record_free(&r);
    return end_write(s, rv);
}

CK_RV objstore_delete(struct slot *s, int64_t rowid)
{
    CK_RV rv = begin_write(s);
    if (rv != CKR_OK)
        return rv;
    uint8_t old[32];
    rv = old_term(s, rowid, old);
    if (rv == CKR_OK)
        rv = store_object_delete(s->store, rowid);
    if (rv == CKR_OK) {
        xor32(s->rec.acc, old);
        s->rec.objects--;
    }
    return end_write(s, rv);
}
