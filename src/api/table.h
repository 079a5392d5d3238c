/* The function tables handed out by C_GetFunctionList and C_GetInterface. */
#ifndef CRATON_API_TABLE_H
#define CRATON_API_TABLE_H
#include "pkcs11.h"
extern const CK_FUNCTION_LIST_3_0 craton_functions_3_0;
extern const CK_FUNCTION_LIST craton_functions_2_40;
#endif
