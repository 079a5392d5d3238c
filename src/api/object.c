/* Object management functions (PKCS#11 3.0 section 5.7). */
#include "api/api.h"

/* 5.7 C_CreateObject */
CK_EXPORT CK_RV C_CreateObject(CK_SESSION_HANDLE hSession, CK_ATTRIBUTE_PTR pTemplate,
                               CK_ULONG ulCount, CK_OBJECT_HANDLE_PTR phObject)
{
    API_ENTER();
    if ((!pTemplate && ulCount) || !phObject)
        return CKR_ARGUMENTS_BAD;
    API_LOCKED(tok_create_object(hSession, pTemplate, ulCount, phObject));
}

/* 5.7 C_CopyObject */
CK_EXPORT CK_RV C_CopyObject(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
                             CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount,
                             CK_OBJECT_HANDLE_PTR phNewObject)
{
    API_ENTER();
    if ((!pTemplate && ulCount) || !phNewObject)
        return CKR_ARGUMENTS_BAD;
    API_LOCKED(tok_copy_object(hSession, hObject, pTemplate, ulCount, phNewObject));
}

/* 5.7 C_DestroyObject */
CK_EXPORT CK_RV C_DestroyObject(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject)
{
    API_ENTER();
    API_LOCKED(tok_destroy_object(hSession, hObject));
}

/* 5.7 C_GetObjectSize */
CK_EXPORT CK_RV C_GetObjectSize(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
                                CK_ULONG_PTR pulSize)
{
    API_ENTER();
    if (!pulSize)
        return CKR_ARGUMENTS_BAD;
    API_LOCKED(tok_object_size(hSession, hObject, pulSize));
}

/* 5.7 C_GetAttributeValue */
CK_EXPORT CK_RV C_GetAttributeValue(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
                                    CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount)
{
    API_ENTER();
    if (!pTemplate && ulCount)
        return CKR_ARGUMENTS_BAD;
    API_LOCKED(tok_get_attributes(hSession, hObject, pTemplate, ulCount));
}

/* 5.7 C_SetAttributeValue */
CK_EXPORT CK_RV C_SetAttributeValue(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
                                    CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount)
{
    API_ENTER();
    if (!pTemplate && ulCount)
        return CKR_ARGUMENTS_BAD;
    API_LOCKED(tok_set_attributes(hSession, hObject, pTemplate, ulCount));
}

/* 5.7 C_FindObjectsInit */
CK_EXPORT CK_RV C_FindObjectsInit(CK_SESSION_HANDLE hSession, CK_ATTRIBUTE_PTR pTemplate,
                                  CK_ULONG ulCount)
{
    API_ENTER();
    if (!pTemplate && ulCount)
        return CKR_ARGUMENTS_BAD;
    API_LOCKED(tok_find_init(hSession, pTemplate, ulCount));
}

/* 5.7 C_FindObjects */
CK_EXPORT CK_RV C_FindObjects(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE_PTR phObject,
                              CK_ULONG ulMaxObjectCount, CK_ULONG_PTR pulObjectCount)
{
    API_ENTER();
    if ((!phObject && ulMaxObjectCount) || !pulObjectCount)
        return CKR_ARGUMENTS_BAD;
    API_LOCKED(tok_find(hSession, phObject, ulMaxObjectCount, pulObjectCount));
}

/* 5.7 C_FindObjectsFinal */
CK_EXPORT CK_RV C_FindObjectsFinal(CK_SESSION_HANDLE hSession)
{
    API_ENTER();
    API_LOCKED(tok_find_final(hSession));
}
