/* Encryption, decryption and message digesting (PKCS#11 3.0 sections 5.8-5.12). Each export
 * checks its pointers and hands the call to the session's operation in the token layer. */
#include "api/api.h"
#include "token/crypto.h"

#define NEED(cond) do { if (!(cond)) return CKR_ARGUMENTS_BAD; } while (0)
#define IN_OK(p, n) ((p) != NULL || (n) == 0)

/* 5.8 C_EncryptInit */
CK_EXPORT CK_RV C_EncryptInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                              CK_OBJECT_HANDLE hKey)
{
    API_ENTER();
    NEED(pMechanism);
    API_CALL(tok_op_init(hSession, OPK_ENCRYPT, pMechanism, hKey));
}

/* 5.8 C_Encrypt */
CK_EXPORT CK_RV C_Encrypt(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
                          CK_BYTE_PTR pEncryptedData, CK_ULONG_PTR pulEncryptedDataLen)
{
    API_ENTER();
    NEED(IN_OK(pData, ulDataLen) && pulEncryptedDataLen);
    API_CALL(tok_op_oneshot(hSession, OPK_ENCRYPT, pData, ulDataLen, pEncryptedData,
                              pulEncryptedDataLen));
}

/* 5.8 C_EncryptUpdate */
CK_EXPORT CK_RV C_EncryptUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen,
                                CK_BYTE_PTR pEncryptedPart, CK_ULONG_PTR pulEncryptedPartLen)
{
    API_ENTER();
    NEED(IN_OK(pPart, ulPartLen) && pulEncryptedPartLen);
    API_CALL(tok_op_update(hSession, OPK_ENCRYPT, pPart, ulPartLen, pEncryptedPart,
                             pulEncryptedPartLen));
}

/* 5.8 C_EncryptFinal */
CK_EXPORT CK_RV C_EncryptFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pLastEncryptedPart,
                               CK_ULONG_PTR pulLastEncryptedPartLen)
{
    API_ENTER();
    NEED(pulLastEncryptedPartLen);
    API_CALL(tok_op_final(hSession, OPK_ENCRYPT, pLastEncryptedPart, pulLastEncryptedPartLen));
}

/* 5.9 C_DecryptInit */
CK_EXPORT CK_RV C_DecryptInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                              CK_OBJECT_HANDLE hKey)
{
    API_ENTER();
    NEED(pMechanism);
    API_CALL(tok_op_init(hSession, OPK_DECRYPT, pMechanism, hKey));
}

/* 5.9 C_Decrypt */
CK_EXPORT CK_RV C_Decrypt(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pEncryptedData,
                          CK_ULONG ulEncryptedDataLen, CK_BYTE_PTR pData, CK_ULONG_PTR pulDataLen)
{
    API_ENTER();
    NEED(IN_OK(pEncryptedData, ulEncryptedDataLen) && pulDataLen);
    API_CALL(tok_op_oneshot(hSession, OPK_DECRYPT, pEncryptedData, ulEncryptedDataLen, pData,
                              pulDataLen));
}

/* 5.9 C_DecryptUpdate */
CK_EXPORT CK_RV C_DecryptUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pEncryptedPart,
                                CK_ULONG ulEncryptedPartLen, CK_BYTE_PTR pPart,
                                CK_ULONG_PTR pulPartLen)
{
    API_ENTER();
    NEED(IN_OK(pEncryptedPart, ulEncryptedPartLen) && pulPartLen);
    API_CALL(tok_op_update(hSession, OPK_DECRYPT, pEncryptedPart, ulEncryptedPartLen, pPart,
                             pulPartLen));
}

/* 5.9 C_DecryptFinal */
CK_EXPORT CK_RV C_DecryptFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pLastPart,
                               CK_ULONG_PTR pulLastPartLen)
{
    API_ENTER();
    NEED(pulLastPartLen);
    API_CALL(tok_op_final(hSession, OPK_DECRYPT, pLastPart, pulLastPartLen));
}

/* 5.10 C_DigestInit */
CK_EXPORT CK_RV C_DigestInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism)
{
    API_ENTER();
    NEED(pMechanism);
    API_CALL(tok_op_init(hSession, OPK_DIGEST, pMechanism, CK_INVALID_HANDLE));
}

/* 5.10 C_Digest */
CK_EXPORT CK_RV C_Digest(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
                         CK_BYTE_PTR pDigest, CK_ULONG_PTR pulDigestLen)
{
    API_ENTER();
    NEED(IN_OK(pData, ulDataLen) && pulDigestLen);
    API_CALL(tok_op_oneshot(hSession, OPK_DIGEST, pData, ulDataLen, pDigest, pulDigestLen));
}

/* 5.10 C_DigestUpdate */
CK_EXPORT CK_RV C_DigestUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen)
{
    API_ENTER();
    NEED(IN_OK(pPart, ulPartLen));
    API_CALL(tok_op_update(hSession, OPK_DIGEST, pPart, ulPartLen, NULL, NULL));
}

/* 5.10 C_DigestKey */
CK_EXPORT CK_RV C_DigestKey(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hKey)
{
    API_ENTER();
    API_LOCKED(tok_digest_key(hSession, hKey));
}

/* 5.10 C_DigestFinal */
CK_EXPORT CK_RV C_DigestFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pDigest,
                              CK_ULONG_PTR pulDigestLen)
{
    API_ENTER();
    NEED(pulDigestLen);
    API_CALL(tok_op_final(hSession, OPK_DIGEST, pDigest, pulDigestLen));
}

/* 5.12 Dual-function operations: the two halves run in turn on the same input; a length query
 * or a short buffer is answered by the producing half before anything is consumed. */

/* 5.12 C_DigestEncryptUpdate */
CK_EXPORT CK_RV C_DigestEncryptUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart,
                                      CK_ULONG ulPartLen, CK_BYTE_PTR pEncryptedPart,
                                      CK_ULONG_PTR pulEncryptedPartLen)
{
    API_ENTER();
    NEED(IN_OK(pPart, ulPartLen) && pulEncryptedPartLen);
    CK_RV rv = tok_op_update(hSession, OPK_ENCRYPT, pPart, ulPartLen, pEncryptedPart,
                             pulEncryptedPartLen);
    if (rv == CKR_OK && pEncryptedPart)
        rv = tok_op_update(hSession, OPK_DIGEST, pPart, ulPartLen, NULL, NULL);
    return api_done(__func__, rv);
}

/* 5.12 C_DecryptDigestUpdate */
CK_EXPORT CK_RV C_DecryptDigestUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pEncryptedPart,
                                      CK_ULONG ulEncryptedPartLen, CK_BYTE_PTR pPart,
                                      CK_ULONG_PTR pulPartLen)
{
    API_ENTER();
    NEED(IN_OK(pEncryptedPart, ulEncryptedPartLen) && pulPartLen);
    CK_RV rv = tok_op_update(hSession, OPK_DECRYPT, pEncryptedPart, ulEncryptedPartLen, pPart,
                             pulPartLen);
    if (rv == CKR_OK && pPart)
        rv = tok_op_update(hSession, OPK_DIGEST, pPart, *pulPartLen, NULL, NULL);
    return api_done(__func__, rv);
}
