/*
 * Craton - PKCS #11 v3.0 (Cryptoki) interface.
 *
 * The one header that applications and Craton itself include.  It sets up
 * the Unix/Linux platform conventions, then pulls in the types and
 * constants (pkcs11t.h) and the function table (pkcs11f.h), and from the
 * latter builds the prototypes, the CK_C_* pointer types and the
 * CK_FUNCTION_LIST / CK_FUNCTION_LIST_3_0 structures.
 *
 * Each platform macro below may be predefined by the includer (for instance
 * to add a visibility attribute to CK_DECLARE_FUNCTION).
 */
#ifndef CRATON_PKCS11_H
#define CRATON_PKCS11_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Platform conventions (Unix: plain pointers, default ABI, no packing) */
#ifndef CK_PTR
#define CK_PTR *
#endif

#ifndef CK_DECLARE_FUNCTION
#define CK_DECLARE_FUNCTION(returnType, name) returnType name
#endif

#ifndef CK_DECLARE_FUNCTION_POINTER
#define CK_DECLARE_FUNCTION_POINTER(returnType, name) returnType (* name)
#endif

#ifndef CK_CALLBACK_FUNCTION
#define CK_CALLBACK_FUNCTION(returnType, name) returnType (* name)
#endif

#ifndef NULL_PTR
#define NULL_PTR NULL
#endif

/* ---- Types and constants ------------------------------------------------ */
#include "pkcs11t.h"

/* ---- Prototypes: extern CK_RV C_xxx(args); ------------------------------ */
#define CK_NEED_ARG_LIST 1
#define CK_PKCS11_FUNCTION_INFO(name) extern CK_DECLARE_FUNCTION(CK_RV, name)
#include "pkcs11f.h"
#undef CK_PKCS11_FUNCTION_INFO
#undef CK_NEED_ARG_LIST

/* ---- Function pointer types: CK_C_xxx ----------------------------------- */
#define CK_NEED_ARG_LIST 1
#define CK_PKCS11_FUNCTION_INFO(name) \
    typedef CK_DECLARE_FUNCTION_POINTER(CK_RV, CK_##name)
#include "pkcs11f.h"
#undef CK_PKCS11_FUNCTION_INFO
#undef CK_NEED_ARG_LIST

/* ---- Function lists ----------------------------------------------------- */
#define CK_PKCS11_FUNCTION_INFO(name) CK_##name name;

/* v2.40 layout: version followed by the 68 v2.x entry points */
struct CK_FUNCTION_LIST {
    CK_VERSION version;
#define CK_PKCS11_2_0_ONLY 1
#include "pkcs11f.h"
#undef CK_PKCS11_2_0_ONLY
};

/* v3.0 layout: the v2.40 entry points followed by the 24 new ones */
struct CK_FUNCTION_LIST_3_0 {
    CK_VERSION version;
#include "pkcs11f.h"
};

#undef CK_PKCS11_FUNCTION_INFO

#ifdef __cplusplus
}
#endif

#endif /* CRATON_PKCS11_H */
