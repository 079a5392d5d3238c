/* Slot and token management functions (PKCS#11 3.0 section 5.5). */
#include "api/api.h"

/* 5.5 C_GetSlotList */
CK_EXPORT CK_RV C_GetSlotList(CK_BBOOL tokenPresent, CK_SLOT_ID_PTR pSlotList, CK_ULONG_PTR pulCount)
{
    API_ENTER();
    if (!pulCount)
        return CKR_ARGUMENTS_BAD;
    API_LOCKED(tok_slot_list(tokenPresent != CK_FALSE, pSlotList, pulCount));
}

/* 5.5 C_GetSlotInfo */
CK_EXPORT CK_RV C_GetSlotInfo(CK_SLOT_ID slotID, CK_SLOT_INFO_PTR pInfo)
{
    API_ENTER();
    if (!pInfo)
        return CKR_ARGUMENTS_BAD;
    API_LOCKED(tok_slot_info(slotID, pInfo));
}

/* 5.5 C_GetTokenInfo */
CK_EXPORT CK_RV C_GetTokenInfo(CK_SLOT_ID slotID, CK_TOKEN_INFO_PTR pInfo)
{
    API_ENTER();
    if (!pInfo)
        return CKR_ARGUMENTS_BAD;
    API_LOCKED(tok_token_info(slotID, pInfo));
}

/* 5.5 C_WaitForSlotEvent: slots here never change by themselves, so there is never an event;
 * waiting for one would block forever, which the blocking form is not worth. */
CK_EXPORT CK_RV C_WaitForSlotEvent(CK_FLAGS flags, CK_SLOT_ID_PTR pSlot, CK_VOID_PTR pReserved)
{
    API_ENTER();
    if (!pSlot || pReserved)
        return CKR_ARGUMENTS_BAD;
    return (flags & CKF_DONT_BLOCK) ? CKR_NO_EVENT : CKR_FUNCTION_NOT_SUPPORTED;
}

/* 5.5 C_InitToken */
CK_EXPORT CK_RV C_InitToken(CK_SLOT_ID slotID, CK_UTF8CHAR_PTR pPin, CK_ULONG ulPinLen,
                            CK_UTF8CHAR_PTR pLabel)
{
    API_ENTER();
    if (!pPin || !pLabel)
        return CKR_ARGUMENTS_BAD;
    API_LOCKED(tok_init_token(slotID, pPin, ulPinLen, pLabel));
}

/* 5.5 C_InitPIN */
CK_EXPORT CK_RV C_InitPIN(CK_SESSION_HANDLE hSession, CK_UTF8CHAR_PTR pPin, CK_ULONG ulPinLen)
{
    API_ENTER();
    if (!pPin && ulPinLen)
        return CKR_ARGUMENTS_BAD;
    if (!pPin)
        return CKR_PIN_LEN_RANGE; /* no protected authentication path here */
    API_LOCKED(tok_init_pin(hSession, pPin, ulPinLen));
}

/* 5.5 C_SetPIN */
CK_EXPORT CK_RV C_SetPIN(CK_SESSION_HANDLE hSession, CK_UTF8CHAR_PTR pOldPin, CK_ULONG ulOldLen,
                         CK_UTF8CHAR_PTR pNewPin, CK_ULONG ulNewLen)
{
    API_ENTER();
    if ((!pOldPin && ulOldLen) || (!pNewPin && ulNewLen))
        return CKR_ARGUMENTS_BAD;
    if (!pOldPin || !pNewPin)
        return CKR_ARGUMENTS_BAD;
    API_LOCKED(tok_set_pin(hSession, pOldPin, ulOldLen, pNewPin, ulNewLen));
}
