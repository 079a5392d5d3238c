/* Mechanism queries (PKCS#11 3.0 section 5.5). The mechanism table is empty until the
 * cryptography lands: an honest empty list, and CKR_MECHANISM_INVALID for any query. */
#include "api/api.h"

/* 5.5 C_GetMechanismList */
CK_EXPORT CK_RV C_GetMechanismList(CK_SLOT_ID slotID, CK_MECHANISM_TYPE_PTR pMechanismList,
                                   CK_ULONG_PTR pulCount)
{
    API_ENTER();
    if (!pulCount)
        return CKR_ARGUMENTS_BAD;
    CK_SLOT_INFO info;
    tok_lock();
    CK_RV rv = tok_slot_info(slotID, &info);
    tok_unlock();
    (void)pMechanismList;
    if (rv == CKR_OK)
        *pulCount = 0;
    return rv;
}

/* 5.5 C_GetMechanismInfo */
CK_EXPORT CK_RV C_GetMechanismInfo(CK_SLOT_ID slotID, CK_MECHANISM_TYPE type,
                                   CK_MECHANISM_INFO_PTR pInfo)
{
    (void)type;
    API_ENTER();
    if (!pInfo)
        return CKR_ARGUMENTS_BAD;
    CK_SLOT_INFO info;
    tok_lock();
    CK_RV rv = tok_slot_info(slotID, &info);
    tok_unlock();
    return rv == CKR_OK ? CKR_MECHANISM_INVALID : rv;
}
