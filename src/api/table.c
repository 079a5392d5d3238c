/* Function tables, filled from the same X-macro list as the prototypes so none can drift. */
#include "api/table.h"

#define CK_PKCS11_FUNCTION_INFO(name) name,
const CK_FUNCTION_LIST_3_0 craton_functions_3_0 = {
    { 3, 0 },
#include "pkcs11f.h"
};

#define CK_PKCS11_2_0_ONLY
const CK_FUNCTION_LIST craton_functions_2_40 = {
    { 2, 40 },
#include "pkcs11f.h"
};
#undef CK_PKCS11_2_0_ONLY
#undef CK_PKCS11_FUNCTION_INFO
