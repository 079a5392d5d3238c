/* Attribute lists and their serialization; secret values are kept in secure memory. */
#include "object/attr.h"
#include "base/mem.h"

#include <stdlib.h>
#include <string.h>

#define ATTR_MAGIC "CRA1"
#define ATTR_MAX_COUNT 4096
#define ATTR_MAX_LEN (1u << 24)

static uint64_t g_gen;

static uint64_t next_gen(void)
{
    return __atomic_add_fetch(&g_gen, 1, __ATOMIC_RELAXED);
}

void attrs_init(attrs_t *a)
{
    a->v = NULL;
    a->n = a->cap = 0;
    a->present = 0;
    a->gen = next_gen();
}

static uint64_t type_bit(CK_ATTRIBUTE_TYPE t)
{
    /* Standard types are small and dense; vendor ones carry bit 31. */
    return 1ULL << ((t ^ (t >> 6) ^ (t >> 31)) & 63);
}

static void value_free(attr_t *at)
{
    if (at->secret)
        secmem_free(at->val);
    else
        free(at->val);
    at->val = NULL;
}

void attrs_free(attrs_t *a)
{
    for (size_t i = 0; i < a->n; i++)
        value_free(&a->v[i]);
    free(a->v);
    attrs_init(a);
}

const attr_t *attrs_get(const attrs_t *a, CK_ATTRIBUTE_TYPE type)
{
    if (!(a->present & type_bit(type)))
        return NULL;
    for (size_t i = 0; i < a->n; i++)
        if (a->v[i].type == type)
            return &a->v[i];
    return NULL;
}

CK_RV attrs_set(attrs_t *a, CK_ATTRIBUTE_TYPE type, const void *val, CK_ULONG len, bool secret)
{
    uint8_t *copy;
    if (secret)
        copy = secmem_dup(val, len);
    else {
        copy = malloc(len ? len : 1);
        if (copy && len)
            memcpy(copy, val, len);
    }
    if (!copy)
        return CKR_HOST_MEMORY;
    for (size_t i = 0; i < a->n; i++) {
        if (a->v[i].type == type) {
            value_free(&a->v[i]);
            a->gen = next_gen();
            a->v[i].val = copy;
            a->v[i].len = len;
            a->v[i].secret = secret;
            return CKR_OK;
        }
    }
    if (a->n == a->cap) {
        size_t ncap = a->cap ? a->cap * 2 : 16;
        attr_t *nv = realloc(a->v, ncap * sizeof *nv);
        if (!nv) {
            if (secret)
                secmem_free(copy);
            else
                free(copy);
            return CKR_HOST_MEMORY;
        }
        a->v = nv;
        a->cap = ncap;
    }
    a->v[a->n++] = (attr_t){ type, len, copy, secret };
    a->present |= type_bit(type);
    a->gen = next_gen();
    return CKR_OK;
}

CK_RV attrs_set_ulong(attrs_t *a, CK_ATTRIBUTE_TYPE type, CK_ULONG v)
{
    return attrs_set(a, type, &v, sizeof v, false);
}

CK_RV attrs_set_bool(attrs_t *a, CK_ATTRIBUTE_TYPE type, bool v)
{
    CK_BBOOL b = v ? CK_TRUE : CK_FALSE;
    return attrs_set(a, type, &b, sizeof b, false);
}

void attrs_remove(attrs_t *a, CK_ATTRIBUTE_TYPE type)
{
    for (size_t i = 0; i < a->n; i++) {
        if (a->v[i].type == type) {
            value_free(&a->v[i]);
            a->v[i] = a->v[--a->n];
            a->gen = next_gen();
            a->present = 0; /* other types may share the bit: recompute */
            for (size_t j = 0; j < a->n; j++)
                a->present |= type_bit(a->v[j].type);
            return;
        }
    }
}

CK_RV attrs_copy(attrs_t *dst, const attrs_t *src)
{
    attrs_init(dst);
    for (size_t i = 0; i < src->n; i++) {
        CK_RV rv = attrs_set(dst, src->v[i].type, src->v[i].val, src->v[i].len, src->v[i].secret);
        if (rv != CKR_OK) {
            attrs_free(dst);
            return rv;
        }
    }
    return CKR_OK;
}

bool attrs_ulong(const attrs_t *a, CK_ATTRIBUTE_TYPE type, CK_ULONG *out)
{
    const attr_t *at = attrs_get(a, type);
    if (!at || at->len != sizeof(CK_ULONG))
        return false;
    memcpy(out, at->val, sizeof *out);
    return true;
}

bool attrs_bool(const attrs_t *a, CK_ATTRIBUTE_TYPE type, bool dflt)
{
    const attr_t *at = attrs_get(a, type);
    if (!at || at->len != sizeof(CK_BBOOL))
        return dflt;
    return at->val[0] != CK_FALSE;
}

CK_ULONG attr_bits(const attr_t *a)
{
    size_t i = 0;
    while (i < a->len && a->val[i] == 0)
        i++;
    if (i == a->len)
        return 0;
    CK_ULONG bits = (CK_ULONG)(a->len - i - 1) * 8;
    for (uint8_t top = a->val[i]; top; top >>= 1)
        bits++;
    return bits;
}

bool attrs_match(const attrs_t *a, const CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
    for (CK_ULONG i = 0; i < n; i++) {
        const attr_t *at = attrs_get(a, tmpl[i].type);
        if (!at || at->len != tmpl[i].ulValueLen)
            return false;
        if (at->len && (!tmpl[i].pValue || memcmp(at->val, tmpl[i].pValue, at->len) != 0))
            return false;
    }
    return true;
}

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static uint32_t get_u32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

CK_RV attrs_serialize(const attrs_t *a, bool secret, uint8_t **out, size_t *outlen)
{
    size_t total = 4;
    for (size_t i = 0; i < a->n; i++)
        if (a->v[i].secret == secret)
            total += 12 + a->v[i].len;
    uint8_t *buf = secret ? secmem_alloc(total) : malloc(total);
    if (!buf)
        return CKR_HOST_MEMORY;
    memcpy(buf, ATTR_MAGIC, 4);
    size_t off = 4;
    for (size_t i = 0; i < a->n; i++) {
        const attr_t *at = &a->v[i];
        if (at->secret != secret)
            continue;
        put_u64(buf + off, at->type);
        put_u32(buf + off + 8, (uint32_t)at->len);
        if (at->len)
            memcpy(buf + off + 12, at->val, at->len);
        off += 12 + at->len;
    }
    *out = buf;
    *outlen = total;
    return CKR_OK;
}

void attrs_serialized_free(uint8_t *buf, size_t len, bool secret)
{
    (void)len;
    if (secret)
        secmem_free(buf);
    else
        free(buf);
}

CK_RV attrs_parse(attrs_t *a, const uint8_t *buf, size_t len, bool secret)
{
    if (len < 4 || memcmp(buf, ATTR_MAGIC, 4) != 0)
        return CKR_DEVICE_ERROR;
    size_t off = 4, count = 0;
    while (off < len) {
        if (len - off < 12 || ++count > ATTR_MAX_COUNT)
            return CKR_DEVICE_ERROR;
        uint64_t type = get_u64(buf + off);
        uint32_t vlen = get_u32(buf + off + 8);
        off += 12;
        if (vlen > ATTR_MAX_LEN || vlen > len - off)
            return CKR_DEVICE_ERROR;
        if (attrs_get(a, (CK_ATTRIBUTE_TYPE)type))
            return CKR_DEVICE_ERROR; /* a duplicate can only come from tampering */
        CK_RV rv = attrs_set(a, (CK_ATTRIBUTE_TYPE)type, buf + off, vlen, secret);
        if (rv != CKR_OK)
            return rv;
        off += vlen;
    }
    return CKR_OK;
}
