/* The attribute table: which attributes each object class and key type has, their value
 * kinds and the rules for setting and reading them. One table drives every check. */
#ifndef CRATON_OBJECT_SCHEMA_H
#define CRATON_OBJECT_SCHEMA_H
#include <stdbool.h>
#include "pkcs11.h"

enum attr_kind { AK_BOOL, AK_ULONG, AK_BYTES, AK_DATE, AK_ARRAY, AK_MECHS };

/* Classes an attribute belongs to. */
#define C_DATA   0x01u
#define C_CERT   0x02u
#define C_PUB    0x04u
#define C_PRIV   0x08u
#define C_SECRET 0x10u
#define C_KEYS   (C_PUB | C_PRIV | C_SECRET)
#define C_ALL    (C_DATA | C_CERT | C_KEYS)

/* Key types an attribute belongs to (for C_KEYS classes); K_ANY when not type-specific. */
#define K_RSA 0x01u
#define K_EC  0x02u /* EC, Edwards and Montgomery curves */
#define K_SYM 0x04u
#define K_ANY 0x07u

/* Rules. */
#define F_SECRET   0x0001u /* sealed at rest; refused to readers when sensitive/unextractable */
#define F_TOKEN    0x0002u /* computed by the token; a caller may never give it */
#define F_MODIFY   0x0004u /* may change through C_SetAttributeValue */
#define F_COPY     0x0008u /* may change through C_CopyObject's template */
#define F_TO_TRUE  0x0010u /* may only go from false to true */
#define F_TO_FALSE 0x0020u /* may only go from true to false */
#define F_SO_TRUE  0x0040u /* only the SO may set it to true */
#define F_REQUIRED 0x0080u /* must be given to C_CreateObject */
#define F_GENONLY  0x0100u /* only meaningful in a generation template (e.g. CKA_MODULUS_BITS) */

struct attr_rule {
    CK_ATTRIBUTE_TYPE type;
    enum attr_kind kind;
    unsigned classes;
    unsigned keytypes;
    unsigned flags;
};

/* Rule for type on an object of this class/key type, or NULL when the object has no such
 * attribute. known_out (optional) says whether the type exists at all in the table. */
const struct attr_rule *schema_rule(CK_ATTRIBUTE_TYPE type, CK_OBJECT_CLASS cls,
                                    CK_KEY_TYPE kt, bool *known_out);
unsigned schema_class_bit(CK_OBJECT_CLASS cls);  /* 0 when unsupported */
unsigned schema_keytype_bit(CK_KEY_TYPE kt);     /* 0 when unsupported */
/* Iterate the whole table (for defaults and required checks). */
const struct attr_rule *schema_at(size_t i); /* NULL past the end */
#endif
