/* Templates: turning callers' CK_ATTRIBUTE arrays into objects under the spec's rules, and
 * reading attributes back out with C_GetAttributeValue's semantics. */
#ifndef CRATON_OBJECT_TEMPLATE_H
#define CRATON_OBJECT_TEMPLATE_H
#include <stdbool.h>
#include "object/attr.h"

/* Size limits: a template longer, or an attribute larger, is refused. */
#define TMPL_MAX_ATTRS 128
#define TMPL_MAX_VALUE (1u << 20) /* certificates and data objects may be large */

enum tmpl_op { TMPL_CREATE, TMPL_GENERATE, TMPL_UNWRAP, TMPL_DERIVE };

/* Copies a caller's template into attrs after checking pointers, sizes and duplicates.
 * Nested templates (CKA_WRAP_TEMPLATE, ...) are validated and stored serialized. */
CK_RV tmpl_parse(const CK_ATTRIBUTE *t, CK_ULONG n, attrs_t *out);

/* Builds a new object from a parsed template. op decides which attributes a caller may give
 * (key material only for TMPL_CREATE; CKA_VALUE_LEN/CKA_MODULUS_BITS only otherwise).
 * default_class / default_keytype are used when the template lacks them
 * (CK_UNAVAILABLE_INFORMATION: none, the template must say). is_so: the SO is logged in. */
CK_RV tmpl_build(const attrs_t *in, enum tmpl_op op, CK_OBJECT_CLASS default_class,
                 CK_KEY_TYPE default_keytype, bool is_so, attrs_t *obj);

/* After a key's material is added (generate/unwrap/derive): derived attributes, CKA_LOCAL,
 * CKA_KEY_GEN_MECHANISM, CKA_ALWAYS_SENSITIVE, CKA_NEVER_EXTRACTABLE. For TMPL_CREATE the
 * same sizes are computed and the lifecycle flags say "not generated here". */
CK_RV tmpl_finish(attrs_t *obj, enum tmpl_op op, CK_MECHANISM_TYPE mech);

/* Applies changes to a copy of obj for C_SetAttributeValue (copy=false) or C_CopyObject
 * (copy=true). obj is only changed when every change is allowed. */
CK_RV tmpl_apply(attrs_t *obj, const attrs_t *changes, bool copy, bool is_so);

/* C_GetAttributeValue over one object: fills what it can, marks the rest unavailable. */
CK_RV tmpl_read(const attrs_t *obj, CK_ATTRIBUTE *t, CK_ULONG n);

/* Convenience accessors for an object's identity. */
CK_OBJECT_CLASS obj_class(const attrs_t *obj);
CK_KEY_TYPE obj_keytype(const attrs_t *obj); /* CK_UNAVAILABLE_INFORMATION if not a key */
#endif
