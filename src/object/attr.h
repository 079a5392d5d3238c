/* Attribute lists: the in-memory form of an object, and its stable serialized form. */
#ifndef CRATON_OBJECT_ATTR_H
#define CRATON_OBJECT_ATTR_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "pkcs11.h"

typedef struct {
    CK_ATTRIBUTE_TYPE type;
    CK_ULONG len;
    uint8_t *val;   /* secret values live in secure memory */
    bool secret;
} attr_t;

typedef struct {
    attr_t *v;
    size_t n, cap;
    /* One bit per attribute type present (types folded onto 64 bits): most lookups on the
     * operation path ask for attributes a key does not have (CKA_ALLOWED_MECHANISMS, dates),
     * and this answers them without a scan. Kept by attrs_set/attrs_remove, the only writers. */
    uint64_t present;
    /* Changes with every write (from one process-wide counter, so a list that is freed and
     * read again never repeats a value): lets a caller keep facts derived from the list. */
    uint64_t gen;
} attrs_t;

void attrs_init(attrs_t *a);
void attrs_free(attrs_t *a); /* wipes secret values */
const attr_t *attrs_get(const attrs_t *a, CK_ATTRIBUTE_TYPE type);
/* Copies the value; replaces an existing one. Returns CKR_OK or CKR_HOST_MEMORY. */
CK_RV attrs_set(attrs_t *a, CK_ATTRIBUTE_TYPE type, const void *val, CK_ULONG len, bool secret);
CK_RV attrs_set_ulong(attrs_t *a, CK_ATTRIBUTE_TYPE type, CK_ULONG v);
CK_RV attrs_set_bool(attrs_t *a, CK_ATTRIBUTE_TYPE type, bool v);
void attrs_remove(attrs_t *a, CK_ATTRIBUTE_TYPE type);
CK_RV attrs_copy(attrs_t *dst, const attrs_t *src);
/* Read typed values; return false when absent or of the wrong size. */
bool attrs_ulong(const attrs_t *a, CK_ATTRIBUTE_TYPE type, CK_ULONG *out);
bool attrs_bool(const attrs_t *a, CK_ATTRIBUTE_TYPE type, bool dflt);
/* Bit length of a big-endian unsigned integer value (leading zero bytes ignored). */
CK_ULONG attr_bits(const attr_t *a);
/* Whether every attribute of tmpl (type and value) is present in a. */
bool attrs_match(const attrs_t *a, const CK_ATTRIBUTE *tmpl, CK_ULONG n);

/* Serialized form: "CRA1" then per attribute: type u64 LE, len u32 LE, value. Only the
 * attributes whose secret flag equals `secret` are written. out is malloc'd, or secure
 * memory when secret. */
CK_RV attrs_serialize(const attrs_t *a, bool secret, uint8_t **out, size_t *outlen);
void attrs_serialized_free(uint8_t *buf, size_t len, bool secret);
/* Appends the parsed attributes to a, flagged `secret`. CKR_DEVICE_ERROR on any malformation. */
CK_RV attrs_parse(attrs_t *a, const uint8_t *buf, size_t len, bool secret);
#endif
