/* General-purpose functions and the interface tables (PKCS#11 3.0 sections 5.4 and 5.2). */
#include "api/api.h"
#include "api/table.h"

#include <pthread.h>
#include <string.h>

static pthread_mutex_t g_init_mu = PTHREAD_MUTEX_INITIALIZER;

/* 5.4 C_Initialize */
CK_EXPORT CK_RV C_Initialize(CK_VOID_PTR pInitArgs)
{
    const CK_C_INITIALIZE_ARGS *args = pInitArgs;
    if (args && args->pReserved)
        return CKR_ARGUMENTS_BAD;
    pthread_mutex_lock(&g_init_mu);
    CK_RV rv = tok_initialize(args);
    pthread_mutex_unlock(&g_init_mu);
    return api_done(__func__, rv);
}

/* 5.4 C_Finalize */
CK_EXPORT CK_RV C_Finalize(CK_VOID_PTR pReserved)
{
    if (pReserved)
        return CKR_ARGUMENTS_BAD;
    pthread_mutex_lock(&g_init_mu);
    CK_RV rv = tok_finalize();
    pthread_mutex_unlock(&g_init_mu);
    return rv;
}

static void pad(CK_UTF8CHAR *dst, size_t len, const char *src)
{
    memset(dst, ' ', len);
    size_t n = strlen(src);
    memcpy(dst, src, n < len ? n : len);
}

/* 5.4 C_GetInfo */
CK_EXPORT CK_RV C_GetInfo(CK_INFO_PTR pInfo)
{
    API_ENTER();
    if (!pInfo)
        return CKR_ARGUMENTS_BAD;
    memset(pInfo, 0, sizeof *pInfo);
    pInfo->cryptokiVersion.major = 3;
    pInfo->cryptokiVersion.minor = 0;
    pad(pInfo->manufacturerID, sizeof pInfo->manufacturerID, "Craton project");
    pad(pInfo->libraryDescription, sizeof pInfo->libraryDescription,
        tok_fips_mode() ? "Craton (FIPS-approved only)" : "Craton PKCS#11 soft token");
    pInfo->libraryVersion.major = CRATON_VERSION_MAJOR;
    pInfo->libraryVersion.minor = CRATON_VERSION_MINOR;
    return CKR_OK;
}

static CK_INTERFACE g_interfaces[] = {
    { (CK_UTF8CHAR_PTR) "PKCS 11", (CK_VOID_PTR)&craton_functions_3_0, 0 },
    { (CK_UTF8CHAR_PTR) "PKCS 11", (CK_VOID_PTR)&craton_functions_2_40, 0 },
};
#define N_INTERFACES (sizeof g_interfaces / sizeof g_interfaces[0])

/* 5.4 C_GetFunctionList: the 2.40 table, which every client understands. */
CK_EXPORT CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR ppFunctionList)
{
    if (!ppFunctionList)
        return CKR_ARGUMENTS_BAD;
    *ppFunctionList = (CK_FUNCTION_LIST_PTR)&craton_functions_2_40;
    return CKR_OK;
}

/* 5.4 C_GetInterfaceList */
CK_EXPORT CK_RV C_GetInterfaceList(CK_INTERFACE_PTR pInterfacesList, CK_ULONG_PTR pulCount)
{
    if (!pulCount)
        return CKR_ARGUMENTS_BAD;
    if (!pInterfacesList) {
        *pulCount = N_INTERFACES;
        return CKR_OK;
    }
    if (*pulCount < N_INTERFACES) {
        *pulCount = N_INTERFACES;
        return CKR_BUFFER_TOO_SMALL;
    }
    memcpy(pInterfacesList, g_interfaces, sizeof g_interfaces);
    *pulCount = N_INTERFACES;
    return CKR_OK;
}

/* 5.4 C_GetInterface: by name (NULL: the default, 3.0), version (NULL: newest) and flags. */
CK_EXPORT CK_RV C_GetInterface(CK_UTF8CHAR_PTR pInterfaceName, CK_VERSION_PTR pVersion,
                               CK_INTERFACE_PTR_PTR ppInterface, CK_FLAGS flags)
{
    if (!ppInterface)
        return CKR_ARGUMENTS_BAD;
    for (size_t i = 0; i < N_INTERFACES; i++) {
        CK_INTERFACE *it = &g_interfaces[i];
        const CK_VERSION *v = (const CK_VERSION *)it->pFunctionList; /* first member */
        if (pInterfaceName && strcmp((const char *)pInterfaceName, (const char *)it->pInterfaceName))
            continue;
        if (pVersion && (pVersion->major != v->major || pVersion->minor != v->minor))
            continue;
        if ((it->flags & flags) != flags)
            continue;
        *ppInterface = it;
        return CKR_OK;
    }
    return CKR_ARGUMENTS_BAD;
}
