/* Mechanism queries (PKCS#11 3.0 section 5.5), answered from the one mechanism table. */
#include "api/api.h"
#include "token/crypto.h"

/* 5.5 C_GetMechanismList */
CK_EXPORT CK_RV C_GetMechanismList(CK_SLOT_ID slotID, CK_MECHANISM_TYPE_PTR pMechanismList,
                                   CK_ULONG_PTR pulCount)
{
    API_ENTER();
    if (!pulCount)
        return CKR_ARGUMENTS_BAD;
    API_LOCKED(tok_mechanism_list(slotID, pMechanismList, pulCount));
}

/* 5.5 C_GetMechanismInfo */
CK_EXPORT CK_RV C_GetMechanismInfo(CK_SLOT_ID slotID, CK_MECHANISM_TYPE type,
                                   CK_MECHANISM_INFO_PTR pInfo)
{
    API_ENTER();
    if (!pInfo)
        return CKR_ARGUMENTS_BAD;
    API_LOCKED(tok_mechanism_info(slotID, type, pInfo));
}
