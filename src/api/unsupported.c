/* Functions whose work belongs to later parts (cryptography, message-based API): each exists,
 * checks that the library is initialised, and answers CKR_FUNCTION_NOT_SUPPORTED. */
#include "api/api.h"

CK_EXPORT CK_RV C_GetOperationState(CK_SESSION_HANDLE hSession, CK_BYTE_PTR       pOperationState, CK_ULONG_PTR      pulOperationStateLen)
{
    (void)hSession;
    (void)pOperationState;
    (void)pulOperationStateLen;
    API_ENTER();
    return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_EXPORT CK_RV C_SetOperationState(CK_SESSION_HANDLE hSession, CK_BYTE_PTR       pOperationState, CK_ULONG          ulOperationStateLen, CK_OBJECT_HANDLE  hEncryptionKey, CK_OBJECT_HANDLE  hAuthenticationKey)
{
    (void)hSession;
    (void)pOperationState;
    (void)ulOperationStateLen;
    (void)hEncryptionKey;
    (void)hAuthenticationKey;
    API_ENTER();
    return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_EXPORT CK_RV C_EncryptInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR  pMechanism, CK_OBJECT_HANDLE  hKey)
{
    (void)hSession;
    (void)pMechanism;
    (void)hKey;
    API_ENTER();
    return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_EXPORT CK_RV C_Encrypt(CK_SESSION_HANDLE hSession, CK_BYTE_PTR       pData, CK_ULONG          ulDataLen, CK_BYTE_PTR       pEncryptedData, CK_ULONG_PTR      pulEncryptedDataLen)
{
    (void)hSession;
    (void)pData;
    (void)ulDataLen;
    (void)pEncryptedData;
    (void)pulEncryptedDataLen;
    API_ENTER();
    return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_EXPORT CK_RV C_EncryptUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR       pPart, CK_ULONG          ulPartLen, CK_BYTE_PTR       pEncryptedPart, CK_ULONG_PTR      pulEncryptedPartLen)
{
    (void)hSession;
    (void)pPart;
    (void)ulPartLen;
    (void)pEncryptedPart;
    (void)pulEncryptedPartLen;
    API_ENTER();
    return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_EXPORT CK_RV C_EncryptFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR       pLastEncryptedPart, CK_ULONG_PTR      pulLastEncryptedPartLen)
{
    (void)hSession;
    (void)pLastEncryptedPart;
    (void)pulLastEncryptedPartLen;
    API_ENTER();
    return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_EXPORT CK_RV C_DecryptInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR  pMechanism, CK_OBJECT_HANDLE  hKey)
{
    (void)hSession;
    (void)pMechanism;
    (void)hKey;
    API_ENTER();
    return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_EXPORT CK_RV C_Decrypt(CK_SESSION_HANDLE hSession, CK_BYTE_PTR       pEncryptedData, CK_ULONG          ulEncryptedDataLen, CK_BYTE_PTR       pData, CK_ULONG_PTR      pulDataLen)
{
    (void)hSession;
    (void)pEncryptedData;
    (void)ulEncryptedDataLen;
    (void)pData;
    (void)pulDataLen;
    API_ENTER();
    return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_EXPORT CK_RV C_DecryptUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR       pEncryptedPart, CK_ULONG          ulEncryptedPartLen, CK_BYTE_PTR       pPart, CK_ULONG_PTR      pulPartLen)
{
    (void)hSession;
    (void)pEncryptedPart;
    (void)ulEncryptedPartLen;
    (void)pPart;
    (void)pulPartLen;
    API_ENTER();
    return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_EXPORT CK_RV C_DecryptFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR       pLastPart, CK_ULONG_PTR      pulLastPartLen)
{
    (void)hSession;
    (void)pLastPart;
    (void)pulLastPartLen;
    API_ENTER();
    return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_EXPORT CK_RV C_DigestInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR  pMechanism)
{
    (void)hSession;
    (void)pMechanism;
    API_ENTER();
    return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_EXPORT CK_RV C_Digest(CK_SESSION_HANDLE hSession, CK_BYTE_PTR       pData, CK_ULONG          ulDataLen, CK_BYTE_PTR       pDigest, CK_ULONG_PTR      pulDigestLen)
{
    (void)hSession;
    (void)pData;
    (void)ulDataLen;
    (void)pDigest;
    (void)pulDigestLen;
    API_ENTER();
    return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_EXPORT CK_RV C_DigestUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR       pPart, CK_ULONG          ulPartLen)
{
    (void)hSession;
    (void)pPart;
    (void)ulPartLen;
    API_ENTER();
    return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_EXPORT CK_RV C_DigestKey(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE  hKey)
{
    (void)hSession;
    (void)hKey;
    API_ENTER();
    return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_EXPORT CK_RV C_DigestFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR       pDigest, CK_ULONG_PTR      pulDigestLen)
{
    (void)hSession;
    (void)pDigest;
    (void)pulDigestLen;
    API_ENTER();
    return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_EXPORT CK_RV C_SignInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR  pMechanism, CK_OBJECT_HANDLE  hKey)
{
    (void)hSession;
    (void)pMechanism;
    (void)hKey;
    API_ENTER();
    return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_EXPORT CK_RV C_Sign(CK_SESSION_HANDLE hSession, CK_BYTE_PTR       pData, CK_ULONG          ulDataLen, CK_BYTE_PTR       pSignature, CK_ULONG_PTR      pulSignatureLen)
{
    (void)hSession;
    (void)pData;
    (void)ulDataLen;
    (void)pSignature;
    (void)pulSignatureLen;
    API_ENTER();
    return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_EXPORT CK_RV C_SignUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR       pPart, CK_ULONG          ulPartLen)
{
    (void)hSession;
    (void)pPart;
    (void)ulPartLen;
    API_ENTER();
    return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_EXPORT CK_RV C_SignFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR       pSignature, CK_ULONG_PTR      pulSignatureLen)
{
    (void)hSession;
    (void)pSignature;
    (void)pulSignatureLen;
    API_ENTER();
    return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_EXPORT CK_RV C_SignRecoverInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR  pMechanism, CK_OBJECT_HANDLE  hKey)
{
    (void)hSession;
    (void)pMechanism;
    (void)hKey;
    API_ENTER();
    return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_EXPORT CK_RV C_SignRecover(CK_SESSION_HANDLE hSession, CK_BYTE_PTR       pData, CK_ULONG          ulDataLen, CK_BYTE_PTR       pSignature, CK_ULONG_PTR      pulSignatureLen)
{
    (void)hSession;
    (void)pData;
    (void)ulDataLen;
    (void)pSignature;
    (void)pulSignatureLen;
    API_ENTER();
    return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_EXPORT CK_RV C_VerifyInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR  pMechanism, CK_OBJECT_HANDLE  hKey)
{
    (void)hSession;
    (void)pMechanism;
    (void)hKey;
    API_ENTER();
    return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_EXPORT CK_RV C_Verify(CK_SESSION_HANDLE hSession, CK_BYTE_PTR       pData, CK_ULONG          ulDataLen, CK_BYTE_PTR       pSignature, CK_ULONG          ulSignatureLen)
{
    (void)hSession;
    (void)pData;
    (void)ulDataLen;
    (void)pSignature;
    (void)ulSignatureLen;
    API_ENTER();
    return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_EXPORT CK_RV C_VerifyUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR       pPart, CK_ULONG          ulPartLen)
{
    (void)hSession;
    (void)pPart;
    (void)ulPartLen;
    API_ENTER();
    return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_EXPORT CK_RV C_VerifyFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR       pSignature, CK_ULONG          ulSignatureLen)
{
    (void)hSession;
    (void)pSignature;
    (void)ulSignatureLen;
    API_ENTER();
    return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_EXPORT CK_RV C_VerifyRecoverInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR  pMechanism, CK_OBJECT_HANDLE  hKey)
{
    (void)hSession;
    (void)pMechanism;
    (void)hKey;
    API_ENTER();
    return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_EXPORT CK_RV C_VerifyRecover(CK_SESSION_HANDLE hSession, CK_BYTE_PTR       pSignature, CK_ULONG          ulSignatureLen, CK_BYTE_PTR       pData, CK_ULONG_PTR      pulDataLen)
{
    (void)hSession;
    (void)pSignature;
    (void)ulSignatureLen;
    (void)pData;
    (void)pulDataLen;
    API_ENTER();
    return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_EXPORT CK_RV C_DigestEncryptUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR       pPart, CK_ULONG          ulPartLen, CK_BYTE_PTR       pEncryptedPart, CK_ULONG_PTR      pulEncryptedPartLen)
{
    (void)hSession;
    (void)pPart;
    (void)ulPartLen;
    (void)pEncryptedPart;
    (void)pulEncryptedPartLen;
    API_ENTER();
    return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_EXPORT CK_RV C_DecryptDigestUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR       pEncryptedPart, CK_ULONG          ulEncryptedPartLen, CK_BYTE_PTR       pPart, CK_ULONG_PTR      pulPartLen)
{
    (void)hSession;
    (void)pEncryptedPart;
    (void)ulEncryptedPartLen;
    (void)pPart;
    (void)pulPartLen;
    API_ENTER();
    return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_EXPORT CK_RV C_SignEncryptUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR       pPart, CK_ULONG          ulPartLen, CK_BYTE_PTR       pEncryptedPart, CK_ULONG_PTR      pulEncryptedPartLen)
{
    (void)hSession;
    (void)pPart;
    (void)ulPartLen;
    (void)pEncryptedPart;
    (void)pulEncryptedPartLen;
    API_ENTER();
    return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_EXPORT CK_RV C_DecryptVerifyUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR       pEncryptedPart, CK_ULONG          ulEncryptedPartLen, CK_BYTE_PTR       pPart, CK_ULONG_PTR      pulPartLen)
{
    (void)hSession;
    (void)pEncryptedPart;
    (void)ulEncryptedPartLen;
    (void)pPart;
    (void)pulPartLen;
    API_ENTER();
    return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_EXPORT CK_RV C_GenerateKey(CK_SESSION_HANDLE    hSession, CK_MECHANISM_PTR     pMechanism, CK_ATTRIBUTE_PTR     pTemplate, CK_ULONG             ulCount, CK_OBJECT_HANDLE_PTR phKey)
{
    (void)hSession;
    (void)pMechanism;
    (void)pTemplate;
    (void)ulCount;
    (void)phKey;
    API_ENTER();
    return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_EXPORT CK_RV C_GenerateKeyPair(CK_SESSION_HANDLE    hSession, CK_MECHANISM_PTR     pMechanism, CK_ATTRIBUTE_PTR     pPublicKeyTemplate, CK_ULONG             ulPublicKeyAttributeCount, CK_ATTRIBUTE_PTR     pPrivateKeyTemplate, CK_ULONG             ulPrivateKeyAttributeCount, CK_OBJECT_HANDLE_PTR phPublicKey, CK_OBJECT_HANDLE_PTR phPrivateKey)
{
    (void)hSession;
    (void)pMechanism;
    (void)pPublicKeyTemplate;
    (void)ulPublicKeyAttributeCount;
    (void)pPrivateKeyTemplate;
    (void)ulPrivateKeyAttributeCount;
    (void)phPublicKey;
    (void)phPrivateKey;
    API_ENTER();
    return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_EXPORT CK_RV C_WrapKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR  pMechanism, CK_OBJECT_HANDLE  hWrappingKey, CK_OBJECT_HANDLE  hKey, CK_BYTE_PTR       pWrappedKey, CK_ULONG_PTR      pulWrappedKeyLen)
{
    (void)hSession;
    (void)pMechanism;
    (void)hWrappingKey;
    (void)hKey;
    (void)pWrappedKey;
    (void)pulWrappedKeyLen;
    API_ENTER();
    return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_EXPORT CK_RV C_UnwrapKey(CK_SESSION_HANDLE    hSession, CK_MECHANISM_PTR     pMechanism, CK_OBJECT_HANDLE     hUnwrappingKey, CK_BYTE_PTR          pWrappedKey, CK_ULONG             ulWrappedKeyLen, CK_ATTRIBUTE_PTR     pTemplate, CK_ULONG             ulAttributeCount, CK_OBJECT_HANDLE_PTR phKey)
{
    (void)hSession;
    (void)pMechanism;
    (void)hUnwrappingKey;
    (void)pWrappedKey;
    (void)ulWrappedKeyLen;
    (void)pTemplate;
    (void)ulAttributeCount;
    (void)phKey;
    API_ENTER();
    return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_EXPORT CK_RV C_DeriveKey(CK_SESSION_HANDLE    hSession, CK_MECHANISM_PTR     pMechanism, CK_OBJECT_HANDLE     hBaseKey, CK_ATTRIBUTE_PTR     pTemplate, CK_ULONG             ulAttributeCount, CK_OBJECT_HANDLE_PTR phKey)
{
    (void)hSession;
    (void)pMechanism;
    (void)hBaseKey;
    (void)pTemplate;
    (void)ulAttributeCount;
    (void)phKey;
    API_ENTER();
    return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_EXPORT CK_RV C_SeedRandom(CK_SESSION_HANDLE hSession, CK_BYTE_PTR       pSeed, CK_ULONG          ulSeedLen)
{
    (void)hSession;
    (void)pSeed;
    (void)ulSeedLen;
    API_ENTER();
    return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_EXPORT CK_RV C_GenerateRandom(CK_SESSION_HANDLE hSession, CK_BYTE_PTR       RandomData, CK_ULONG          ulRandomLen)
{
    (void)hSession;
    (void)RandomData;
    (void)ulRandomLen;
    API_ENTER();
    return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_EXPORT CK_RV C_GetFunctionStatus(CK_SESSION_HANDLE hSession)
{
    (void)hSession;
    API_ENTER();
    return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_EXPORT CK_RV C_CancelFunction(CK_SESSION_HANDLE hSession)
{
    (void)hSession;
    API_ENTER();
    return CKR_FUNCTION_NOT_SUPPORTED;
}

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
