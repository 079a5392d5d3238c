/* Helpers the symmetric families share (aes_internal.h): a key's value checked for type and
 * size, and the growable secure buffer AEAD decryption holds ciphertext in. */
#include "mech/aes_internal.h"
#include "base/mem.h"

#include <stdint.h>
#include <string.h>

CK_RV sym_key_value(const struct mech_key *key, CK_KEY_TYPE want_type, const uint8_t **val,
                    size_t *len)
{
    CK_KEY_TYPE kt;
    if (!key || !key->attrs || !attrs_ulong(key->attrs, CKA_KEY_TYPE, &kt) || kt != want_type)
        return CKR_KEY_TYPE_INCONSISTENT;
    const attr_t *v = attrs_get(key->attrs, CKA_VALUE);
    if (!v)
        return CKR_KEY_SIZE_RANGE;
    bool ok = want_type == CKK_AES ? v->len == 16 || v->len == 24 || v->len == 32 : v->len == 32;
    if (!ok)
        return CKR_KEY_SIZE_RANGE;
    *val = v->val;
    *len = v->len;
    return CKR_OK;
}

CK_RV sym_buf_append(struct sym_buf *b, const uint8_t *in, size_t n)
{
    if (n == 0)
        return CKR_OK;
    if (n > SIZE_MAX / 2 - b->len)
        return CKR_DATA_LEN_RANGE;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n)
            cap *= 2;
        uint8_t *p = secmem_alloc(cap);
        if (!p)
            return CKR_HOST_MEMORY;
        if (b->len)
            memcpy(p, b->p, b->len);
        secmem_free(b->p);
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, in, n);
    b->len += n;
    return CKR_OK;
}

void sym_buf_free(struct sym_buf *b)
{
    secmem_free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}
