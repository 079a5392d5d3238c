/* Sealing: PIN-wrapped token key, per-object AES-256-GCM and integrity tags. */
#include "store/seal.h"
#include "base/mem.h"
#include "base/ossl.h"
#include "object/schema.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct seal_keys *seal_keys_new(const uint8_t tk[32])
{
    struct seal_keys *k = secmem_alloc(sizeof *k);
    if (!k)
        return NULL;
    memcpy(k->tk, tk, 32);
    /* Separate keys per purpose, so that no value is ever both a MAC and a cipher key. */
    if (ossl_hkdf_sha256(tk, 32, "craton seal v1", k->seal, 32) ||
        ossl_hkdf_sha256(tk, 32, "craton integrity v1", k->integ, 32) ||
        ossl_hkdf_sha256(tk, 32, "craton index v1", k->index, 32)) {
        secmem_free(k);
        return NULL;
    }
    return k;
}

void seal_keys_free(struct seal_keys *k)
{
    secmem_free(k);
}

static void pin_aad(uint8_t aad[24], const uint8_t uuid[16], enum pin_role role)
{
    memcpy(aad, "crPIN", 5);
    aad[5] = (uint8_t)role;
    aad[6] = aad[7] = 0;
    memcpy(aad + 8, uuid, 16);
}

/* One PBKDF2 chain gives a 32-byte master; HKDF splits it into the verifier and the key that
 * wraps the token key. (Asking PBKDF2 for 64 bytes would run two full chains, so the user
 * would pay twice what someone testing guesses against the verifier pays.) */
static CK_RV pin_derive(const struct pin_record *p, const CK_UTF8CHAR *pin, CK_ULONG pinlen,
                        uint8_t *out64)
{
    uint8_t *master = secmem_alloc(32);
    if (!master)
        return CKR_HOST_MEMORY;
    CK_RV rv = CKR_OK;
    if (ossl_pbkdf2_sha256((const char *)pin, pinlen, p->salt, sizeof p->salt, p->iterations,
                           master, 32) ||
        ossl_hkdf_sha256(master, 32, "craton pin verifier v1", out64, 32) ||
        ossl_hkdf_sha256(master, 32, "craton pin wrap v1", out64 + 32, 32))
        rv = CKR_GENERAL_ERROR;
    secmem_free(master);
    return rv;
}

CK_RV seal_pin_set(struct pin_record *p, const uint8_t uuid[16], enum pin_role role,
                   const CK_UTF8CHAR *pin, CK_ULONG pinlen, unsigned long iterations,
                   const uint8_t tk[32])
{
    uint8_t *dk = secmem_alloc(64);
    if (!dk)
        return CKR_HOST_MEMORY;
    struct pin_record n = { 0 };
    n.set = true;
    n.iterations = iterations;
    CK_RV rv = ossl_random(n.salt, sizeof n.salt) ? CKR_GENERAL_ERROR : CKR_OK;
    if (rv == CKR_OK)
        rv = pin_derive(&n, pin, pinlen, dk);
    if (rv == CKR_OK) {
        /* The first half verifies the PIN; the second wraps the token key. They come from one
         * master through HKDF with different labels: the verifier tells nothing of the other. */
        memcpy(n.verifier, dk, 32);
        uint8_t aad[24];
        pin_aad(aad, uuid, role);
        if (ossl_gcm_seal(dk + 32, aad, sizeof aad, tk, 32, n.wrapped))
            rv = CKR_GENERAL_ERROR;
    }
    secmem_free(dk);
    if (rv == CKR_OK)
        *p = n;
    return rv;
}

CK_RV seal_pin_check(const struct pin_record *p, const uint8_t uuid[16], enum pin_role role,
                     const CK_UTF8CHAR *pin, CK_ULONG pinlen, uint8_t tk_out[32])
{
    uint8_t *dk = secmem_alloc(64);
    if (!dk)
        return CKR_HOST_MEMORY;
    CK_RV rv = pin_derive(p, pin, pinlen, dk);
    if (rv == CKR_OK && !secmem_equal(dk, p->verifier, 32))
        rv = CKR_PIN_INCORRECT;
    if (rv == CKR_OK) {
        uint8_t aad[24];
        pin_aad(aad, uuid, role);
        if (ossl_gcm_open(dk + 32, aad, sizeof aad, p->wrapped, sizeof p->wrapped, tk_out))
            rv = CKR_DEVICE_ERROR; /* right PIN, damaged record */
    }
    secmem_free(dk);
    return rv;
}

CK_RV seal_index(const struct seal_keys *k, char what, const void *val, size_t len,
                 uint8_t out[32])
{
    if (len >= SIZE_MAX / 2)
        return CKR_ATTRIBUTE_VALUE_INVALID;
    uint8_t *buf = malloc(len + 1);
    if (!buf)
        return CKR_HOST_MEMORY;
    buf[0] = (uint8_t)what;
    if (len)
        memcpy(buf + 1, val, len);
    int rc = ossl_hmac_sha256(k->index, 32, buf, len + 1, out);
    free(buf);
    return rc ? CKR_GENERAL_ERROR : CKR_OK;
}

CK_RV seal_acc_mac(const struct seal_keys *k, const uint8_t acc[32], uint64_t count,
                   uint8_t out[32])
{
    uint8_t buf[4 + 32 + 8];
    memcpy(buf, "cACC", 4);
    memcpy(buf + 4, acc, 32);
    for (int i = 0; i < 8; i++)
        buf[36 + i] = (uint8_t)(count >> (8 * i));
    return ossl_hmac_sha256(k->integ, 32, buf, sizeof buf, out) ? CKR_GENERAL_ERROR : CKR_OK;
}

/* The digest covers everything the row says about the object, so moving a blob to another
 * row, or changing any index column, class or flag, changes it. */
CK_RV seal_row_digest(const uint8_t uuid[16], const struct object_record *r, uint8_t out[32])
{
    size_t len = 16 + UID_LEN + 8 + 8 + 1 + 4 * 8 + r->label_ix_len + r->id_ix_len +
                 r->attrs_len + r->secret_len;
    uint8_t *buf = malloc(len);
    if (!buf)
        return CKR_HOST_MEMORY;
    size_t off = 0;
#define PUT(p, n) do { if (n) memcpy(buf + off, (p), (n)); off += (n); } while (0)
#define PUT64(v) do { uint64_t x_ = (uint64_t)(v); for (int i_ = 0; i_ < 8; i_++) \
                          buf[off++] = (uint8_t)(x_ >> (8 * i_)); } while (0)
    PUT(uuid, 16);
    PUT(r->uid, UID_LEN);
    PUT64(r->cls);
    PUT64(r->key_type);
    buf[off++] = r->is_private;
    PUT64(r->label_ix ? r->label_ix_len : UINT64_MAX);
    PUT(r->label_ix, r->label_ix_len);
    PUT64(r->id_ix ? r->id_ix_len : UINT64_MAX);
    PUT(r->id_ix, r->id_ix_len);
    PUT64(r->attrs_len);
    PUT(r->attrs, r->attrs_len);
    PUT64(r->secret ? r->secret_len : UINT64_MAX);
    PUT(r->secret, r->secret_len);
#undef PUT
#undef PUT64
    int rc = ossl_sha256(buf, off, NULL, 0, out);
    free(buf);
    return rc ? CKR_GENERAL_ERROR : CKR_OK;
}

static void obj_aad(uint8_t aad[4 + 16 + UID_LEN], const uint8_t uuid[16], const char *uid)
{
    memcpy(aad, "cOBJ", 4);
    memcpy(aad + 4, uuid, 16);
    memcpy(aad + 20, uid, UID_LEN);
}

static CK_RV dup_bytes(const void *src, size_t len, uint8_t **dst, size_t *dstlen)
{
    *dst = malloc(len ? len : 1);
    if (!*dst)
        return CKR_HOST_MEMORY;
    if (len)
        memcpy(*dst, src, len);
    *dstlen = len;
    return CKR_OK;
}

CK_RV seal_object(const struct seal_keys *k, const uint8_t uuid[16], const char *uid,
                  const attrs_t *obj, struct object_record *r)
{
    int64_t rowid = r->rowid;
    memset(r, 0, sizeof *r);
    r->rowid = rowid;
    memcpy(r->uid, uid, UID_LEN);
    r->uid[UID_LEN] = 0;
    CK_ULONG v;
    r->cls = attrs_ulong(obj, CKA_CLASS, &v) ? v : CK_UNAVAILABLE_INFORMATION;
    r->key_type = attrs_ulong(obj, CKA_KEY_TYPE, &v) ? v : CK_UNAVAILABLE_INFORMATION;
    r->is_private = attrs_bool(obj, CKA_PRIVATE, false);

    /* A private object is sealed whole: its label, ID and public values stay confidential
     * too. A public object keeps its public attributes in clear and seals only secrets. */
    attrs_t pub, sec;
    attrs_init(&pub);
    attrs_init(&sec);
    CK_RV rv = CKR_OK;
    for (size_t i = 0; i < obj->n && rv == CKR_OK; i++) {
        const attr_t *a = &obj->v[i];
        bool to_secret = r->is_private || a->secret;
        rv = attrs_set(to_secret ? &sec : &pub, a->type, a->val, a->len, to_secret);
    }
    uint8_t *plain = NULL;
    size_t plainlen = 0;
    if (rv == CKR_OK)
        rv = attrs_serialize(&pub, false, &r->attrs, &r->attrs_len);
    if (rv == CKR_OK && sec.n) {
        rv = attrs_serialize(&sec, true, &plain, &plainlen);
        if (rv == CKR_OK) {
            r->secret_len = plainlen + OSSL_GCM_OVERHEAD;
            r->secret = malloc(r->secret_len);
            uint8_t aad[4 + 16 + UID_LEN];
            obj_aad(aad, uuid, uid);
            if (!r->secret)
                rv = CKR_HOST_MEMORY;
            else if (ossl_gcm_seal(k->seal, aad, sizeof aad, plain, plainlen, r->secret))
                rv = CKR_GENERAL_ERROR;
        }
        attrs_serialized_free(plain, plainlen, true);
    }
    const attr_t *label = attrs_get(obj, CKA_LABEL);
    const attr_t *id = attrs_get(obj, CKA_ID);
    if (rv == CKR_OK && label) {
        if (r->is_private) {
            uint8_t h[32];
            rv = seal_index(k, 'L', label->val, label->len, h);
            if (rv == CKR_OK)
                rv = dup_bytes(h, 32, &r->label_ix, &r->label_ix_len);
        } else
            rv = dup_bytes(label->val, label->len, &r->label_ix, &r->label_ix_len);
    }
    if (rv == CKR_OK && id) {
        if (r->is_private) {
            uint8_t h[32];
            rv = seal_index(k, 'I', id->val, id->len, h);
            if (rv == CKR_OK)
                rv = dup_bytes(h, 32, &r->id_ix, &r->id_ix_len);
        } else
            rv = dup_bytes(id->val, id->len, &r->id_ix, &r->id_ix_len);
    }
    if (rv == CKR_OK)
        rv = seal_row_digest(uuid, r, r->digest);
    if (rv == CKR_OK && ossl_hmac_sha256(k->integ, 32, r->digest, 32, r->term))
        rv = CKR_GENERAL_ERROR;
    attrs_free(&pub);
    attrs_free(&sec);
    if (rv != CKR_OK)
        store_record_free(r);
    return rv;
}

CK_RV unseal_object(const struct seal_keys *k, const uint8_t uuid[16],
                    const struct object_record *r, attrs_t *out, bool *secret_loaded)
{
    uint8_t d[32];
    attrs_init(out);
    *secret_loaded = false;
    CK_RV rv = seal_row_digest(uuid, r, d);
    if (rv != CKR_OK)
        return rv;
    if (!secmem_equal(d, r->digest, 32))
        return CKR_DEVICE_ERROR;
    if (k) {
        uint8_t t[32];
        if (ossl_hmac_sha256(k->integ, 32, d, 32, t))
            return CKR_GENERAL_ERROR;
        if (!secmem_equal(t, r->term, 32))
            return CKR_DEVICE_ERROR;
    } else if (r->is_private) {
        return CKR_USER_NOT_LOGGED_IN;
    }
    rv = attrs_parse(out, r->attrs, r->attrs_len, false);
    if (rv == CKR_OK && r->secret && k) {
        uint8_t *plain = secmem_alloc(r->secret_len);
        uint8_t aad[4 + 16 + UID_LEN];
        obj_aad(aad, uuid, r->uid);
        if (!plain)
            rv = CKR_HOST_MEMORY;
        else if (r->secret_len < OSSL_GCM_OVERHEAD ||
                 ossl_gcm_open(k->seal, aad, sizeof aad, r->secret, r->secret_len, plain))
            rv = CKR_DEVICE_ERROR;
        else
            rv = attrs_parse(out, plain, r->secret_len - OSSL_GCM_OVERHEAD, true);
        secmem_free(plain);
        if (rv == CKR_OK)
            *secret_loaded = true;
    } else if (rv == CKR_OK && !r->secret) {
        *secret_loaded = true;
    }
    /* Only key material stays in secure memory; the rest of a private object's sealed
     * attributes (label, ID, flags) are ordinary once opened. */
    for (size_t i = 0; rv == CKR_OK && i < out->n; i++) {
        const struct attr_rule *rule = schema_rule(out->v[i].type, r->cls, r->key_type, NULL);
        bool want = rule && (rule->flags & F_SECRET);
        if (out->v[i].secret != want) {
            attr_t moved = out->v[i];
            rv = attrs_set(out, moved.type, moved.val, moved.len, want);
        }
    }
    /* The row's plain columns must agree with the authenticated attributes. */
    CK_ULONG v;
    if (rv == CKR_OK &&
        (!attrs_ulong(out, CKA_CLASS, &v) || v != r->cls ||
         attrs_bool(out, CKA_PRIVATE, false) != r->is_private))
        rv = CKR_DEVICE_ERROR;
    if (rv != CKR_OK)
        attrs_free(out);
    return rv;
}
