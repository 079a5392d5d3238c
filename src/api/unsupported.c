/* Functions whose work belongs to later parts (the message-based API of 3.0): each exists,
 * checks that the library is initialised, and answers CKR_FUNCTION_NOT_SUPPORTED. */
#include "api/api.h"

CK_EXPORT CK_RV C_MessageEncryptInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR  pMechanism, CK_OBJECT_HANDLE  hKey)
{
    (void)hSession;
    (void)pMechanism;
    (void)hKey;
    API_ENTER();
    return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_EXPORT CK_RV C_EncryptMessage(CK_SESSION_HANDLE hSession, CK_VOID_PTR       pParameter, CK_ULONG          ulParameterLen, CK_BYTE_PTR       pAssociatedData, CK_ULONG          ulAssociatedDataLen, CK_BYTE_PTR       pPlaintext, CK_ULONG          ulPlaintextLen, CK_BYTE_PTR       pCiphertext, CK_ULONG_PTR      pulCiphertextLen)
{
    (void)hSession;
    (void)pParameter;
    (void)ulParameterLen;
    (void)pAssociatedData;
    (void)ulAssociatedDataLen;
    (void)pPlaintext;
    (void)ulPlaintextLen;
    (void)pCiphertext;
    (void)pulCiphertextLen;
    API_ENTER();
    return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_EXPORT CK_RV C_EncryptMessageBegin(CK_SESSION_HANDLE hSession, CK_VOID_PTR       pParameter, CK_ULONG          ulParameterLen, CK_BYTE_PTR       pAssociatedData, CK_ULONG          ulAssociatedDataLen)
{
    (void)hSession;
    (void)pParameter;
    (void)ulParameterLen;
    (void)pAssociatedData;
    (void)ulAssociatedDataLen;
    API_ENTER();
    return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_EXPORT CK_RV C_EncryptMessageNext(CK_SESSION_HANDLE hSession, CK_VOID_PTR       pParameter, CK_ULONG          ulParameterLen, CK_BYTE_PTR       pPlaintextPart, CK_ULONG          ulPlaintextPartLen, CK_BYTE_PTR       pCiphertextPart, CK_ULONG_PTR      pulCiphertextPartLen, CK_FLAGS          flags)
{
    (void)hSession;
    (void)pParameter;
    (void)ulParameterLen;
    (void)pPlaintextPart;
    (void)ulPlaintextPartLen;
    (void)pCiphertextPart;
    (void)pulCiphertextPartLen;
    (void)flags;
    API_ENTER();
    return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_EXPORT CK_RV C_MessageEncryptFinal(CK_SESSION_HANDLE hSession)
{
    (void)hSession;
    API_ENTER();
    return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_EXPORT CK_RV C_MessageDecryptInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR  pMechanism, CK_OBJECT_HANDLE  hKey)
{
    (void)hSession;
    (void)pMechanism;
    (void)hKey;
    API_ENTER();
    return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_EXPORT CK_RV C_DecryptMessage(CK_SESSION_HANDLE hSession, CK_VOID_PTR       pParameter, CK_ULONG          ulParameterLen, CK_BYTE_PTR       pAssociatedData, CK_ULONG          ulAssociatedDataLen, CK_BYTE_PTR       pCiphertext, CK_ULONG          ulCiphertextLen, CK_BYTE_PTR       pPlaintext, CK_ULONG_PTR      pulPlaintextLen)
{
    (void)hSession;
    (void)pParameter;
    (void)ulParameterLen;
    (void)pAssociatedData;
    (void)ulAssociatedDataLen;
    (void)pCiphertext;
    (void)ulCiphertextLen;
    (void)pPlaintext;
    (void)pulPlaintextLen;
    API_ENTER();
    return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_EXPORT CK_RV C_DecryptMessageBegin(CK_SESSION_HANDLE hSession, CK_VOID_PTR       pParameter, CK_ULONG          ulParameterLen, CK_BYTE_PTR       pAssociatedData, CK_ULONG          ulAssociatedDataLen)
{
    (void)hSession;
    (void)pParameter;
    (void)ulParameterLen;
    (void)pAssociatedData;
    (void)ulAssociatedDataLen;
    API_ENTER();
    return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_EXPORT CK_RV C_DecryptMessageNext(CK_SESSION_HANDLE hSession, CK_VOID_PTR       pParameter, CK_ULONG          ulParameterLen, CK_BYTE_PTR       pCiphertextPart, CK_ULONG          ulCiphertextPartLen, CK_BYTE_PTR       pPlaintextPart, CK_ULONG_PTR      pulPlaintextPartLen, CK_FLAGS          flags)
{
    (void)hSession;
    (void)pParameter;
    (void)ulParameterLen;
    (void)pCiphertextPart;
    (void)ulCiphertextPartLen;
    (void)pPlaintextPart;
    (void)pulPlaintextPartLen;
    (void)flags;
    API_ENTER();
    return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_EXPORT CK_RV C_MessageDecryptFinal(CK_SESSION_HANDLE hSession)
{
    (void)hSession;
    API_ENTER();
    return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_EXPORT CK_RV C_MessageSignInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR  pMechanism, CK_OBJECT_HANDLE  hKey)
{
    (void)hSession;
    (void)pMechanism;
    (void)hKey;
    API_ENTER();
    return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_EXPORT CK_RV C_SignMessage(CK_SESSION_HANDLE hSession, CK_VOID_PTR       pParameter, CK_ULONG          ulParameterLen, CK_BYTE_PTR       pData, CK_ULONG          ulDataLen, CK_BYTE_PTR       pSignature, CK_ULONG_PTR      pulSignatureLen)
{
    (void)hSession;
    (void)pParameter;
    (void)ulParameterLen;
    (void)pData;
    (void)ulDataLen;
    (void)pSignature;
    (void)pulSignatureLen;
    API_ENTER();
    return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_EXPORT CK_RV C_SignMessageBegin(CK_SESSION_HANDLE hSession, CK_VOID_PTR       pParameter, CK_ULONG          ulParameterLen)
{
    (void)hSession;
    (void)pParameter;
    (void)ulParameterLen;
    API_ENTER();
    return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_EXPORT CK_RV C_SignMessageNext(CK_SESSION_HANDLE hSession, CK_VOID_PTR       pParameter, CK_ULONG          ulParameterLen, CK_BYTE_PTR       pData, CK_ULONG          ulDataLen, CK_BYTE_PTR       pSignature, CK_ULONG_PTR      pulSignatureLen)
{
    (void)hSession;
    (void)pParameter;
    (void)ulParameterLen;
    (void)pData;
    (void)ulDataLen;
    (void)pSignature;
    (void)pulSignatureLen;
    API_ENTER();
    return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_EXPORT CK_RV C_MessageSignFinal(CK_SESSION_HANDLE hSession)
{
    (void)hSession;
    API_ENTER();
    return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_EXPORT CK_RV C_MessageVerifyInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR  pMechanism, CK_OBJECT_HANDLE  hKey)
{
    (void)hSession;
    (void)pMechanism;
    (void)hKey;
    API_ENTER();
    return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_EXPORT CK_RV C_VerifyMessage(CK_SESSION_HANDLE hSession, CK_VOID_PTR       pParameter, CK_ULONG          ulParameterLen, CK_BYTE_PTR       pData, CK_ULONG          ulDataLen, CK_BYTE_PTR       pSignature, CK_ULONG          ulSignatureLen)
{
    (void)hSession;
    (void)pParameter;
    (void)ulParameterLen;
    (void)pData;
    (void)ulDataLen;
    (void)pSignature;
    (void)ulSignatureLen;
    API_ENTER();
    return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_EXPORT CK_RV C_VerifyMessageBegin(CK_SESSION_HANDLE hSession, CK_VOID_PTR       pParameter, CK_ULONG          ulParameterLen)
{
    (void)hSession;
    (void)pParameter;
    (void)ulParameterLen;
    API_ENTER();
    return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_EXPORT CK_RV C_VerifyMessageNext(CK_SESSION_HANDLE hSession, CK_VOID_PTR       pParameter, CK_ULONG          ulParameterLen, CK_BYTE_PTR       pData, CK_ULONG          ulDataLen, CK_BYTE_PTR       pSignature, CK_ULONG          ulSignatureLen)
{
    (void)hSession;
    (void)pParameter;
    (void)ulParameterLen;
    (void)pData;
    (void)ulDataLen;
    (void)pSignature;
    (void)ulSignatureLen;
    API_ENTER();
    return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_EXPORT CK_RV C_MessageVerifyFinal(CK_SESSION_HANDLE hSession)
{
    (void)hSession;
    API_ENTER();
    return CKR_FUNCTION_NOT_SUPPORTED;
}
