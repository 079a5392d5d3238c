/* Signing, MACing and verification, with and without recovery (PKCS#11 3.0 5.13-5.14). */
#include "api/api.h"
#include "token/crypto.h"

#define NEED(cond) do { if (!(cond)) return CKR_ARGUMENTS_BAD; } while (0)
#define IN_OK(p, n) ((p) != NULL || (n) == 0)

/* 5.13 C_SignInit */
CK_EXPORT CK_RV C_SignInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                           CK_OBJECT_HANDLE hKey)
{
    API_ENTER();
    NEED(pMechanism);
    API_CALL(tok_op_init(hSession, OPK_SIGN, pMechanism, hKey));
}

/* 5.13 C_Sign */
CK_EXPORT CK_RV C_Sign(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
                       CK_BYTE_PTR pSignature, CK_ULONG_PTR pulSignatureLen)
{
    API_ENTER();
    NEED(IN_OK(pData, ulDataLen) && pulSignatureLen);
    API_CALL(tok_op_oneshot(hSession, OPK_SIGN, pData, ulDataLen, pSignature, pulSignatureLen));
}

/* 5.13 C_SignUpdate */
CK_EXPORT CK_RV C_SignUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen)
{
    API_ENTER();
    NEED(IN_OK(pPart, ulPartLen));
    API_CALL(tok_op_update(hSession, OPK_SIGN, pPart, ulPartLen, NULL, NULL));
}

/* 5.13 C_SignFinal */
CK_EXPORT CK_RV C_SignFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSignature,
                            CK_ULONG_PTR pulSignatureLen)
{
    API_ENTER();
    NEED(pulSignatureLen);
    API_CALL(tok_op_final(hSession, OPK_SIGN, pSignature, pulSignatureLen));
}

/* 5.13 C_SignRecoverInit */
CK_EXPORT CK_RV C_SignRecoverInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                                  CK_OBJECT_HANDLE hKey)
{
    API_ENTER();
    NEED(pMechanism);
    API_CALL(tok_op_init(hSession, OPK_SIGNREC, pMechanism, hKey));
}

/* 5.13 C_SignRecover */
CK_EXPORT CK_RV C_SignRecover(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
                              CK_BYTE_PTR pSignature, CK_ULONG_PTR pulSignatureLen)
{
    API_ENTER();
    NEED(IN_OK(pData, ulDataLen) && pulSignatureLen);
    API_CALL(tok_op_oneshot(hSession, OPK_SIGNREC, pData, ulDataLen, pSignature,
                              pulSignatureLen));
}

/* 5.14 C_VerifyInit */
CK_EXPORT CK_RV C_VerifyInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                             CK_OBJECT_HANDLE hKey)
{
    API_ENTER();
    NEED(pMechanism);
    API_CALL(tok_op_init(hSession, OPK_VERIFY, pMechanism, hKey));
}

/* 5.14 C_Verify */
CK_EXPORT CK_RV C_Verify(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
                         CK_BYTE_PTR pSignature, CK_ULONG ulSignatureLen)
{
    API_ENTER();
    NEED(IN_OK(pData, ulDataLen) && IN_OK(pSignature, ulSignatureLen));
    API_CALL(tok_op_verify(hSession, pData, ulDataLen, pSignature, ulSignatureLen));
}

/* 5.14 C_VerifyUpdate */
CK_EXPORT CK_RV C_VerifyUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen)
{
    API_ENTER();
    NEED(IN_OK(pPart, ulPartLen));
    API_CALL(tok_op_update(hSession, OPK_VERIFY, pPart, ulPartLen, NULL, NULL));
}

/* 5.14 C_VerifyFinal */
CK_EXPORT CK_RV C_VerifyFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSignature,
                              CK_ULONG ulSignatureLen)
{
    API_ENTER();
    NEED(IN_OK(pSignature, ulSignatureLen));
    API_CALL(tok_op_verify_final(hSession, pSignature, ulSignatureLen));
}

/* 5.14 C_VerifyRecoverInit */
CK_EXPORT CK_RV C_VerifyRecoverInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                                    CK_OBJECT_HANDLE hKey)
{
    API_ENTER();
    NEED(pMechanism);
    API_CALL(tok_op_init(hSession, OPK_VERIFYREC, pMechanism, hKey));
}

/* 5.14 C_VerifyRecover */
CK_EXPORT CK_RV C_VerifyRecover(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSignature,
                                CK_ULONG ulSignatureLen, CK_BYTE_PTR pData, CK_ULONG_PTR pulDataLen)
{
    API_ENTER();
    NEED(IN_OK(pSignature, ulSignatureLen) && pulDataLen);
    API_CALL(tok_op_oneshot(hSession, OPK_VERIFYREC, pSignature, ulSignatureLen, pData,
                              pulDataLen));
}

/* 5.12 C_SignEncryptUpdate */
CK_EXPORT CK_RV C_SignEncryptUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart,
                                    CK_ULONG ulPartLen, CK_BYTE_PTR pEncryptedPart,
                                    CK_ULONG_PTR pulEncryptedPartLen)
{
    API_ENTER();
    NEED(IN_OK(pPart, ulPartLen) && pulEncryptedPartLen);
    CK_RV rv = tok_op_update(hSession, OPK_ENCRYPT, pPart, ulPartLen, pEncryptedPart,
                             pulEncryptedPartLen);
    if (rv == CKR_OK && pEncryptedPart)
        rv = tok_op_update(hSession, OPK_SIGN, pPart, ulPartLen, NULL, NULL);
    return api_done(__func__, rv);
}

/* 5.12 C_DecryptVerifyUpdate */
CK_EXPORT CK_RV C_DecryptVerifyUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pEncryptedPart,
                                      CK_ULONG ulEncryptedPartLen, CK_BYTE_PTR pPart,
                                      CK_ULONG_PTR pulPartLen)
{
    API_ENTER();
    NEED(IN_OK(pEncryptedPart, ulEncryptedPartLen) && pulPartLen);
    CK_RV rv = tok_op_update(hSession, OPK_DECRYPT, pEncryptedPart, ulEncryptedPartLen, pPart,
                             pulPartLen);
    if (rv == CKR_OK && pPart)
        rv = tok_op_update(hSession, OPK_VERIFY, pPart, *pulPartLen, NULL, NULL);
    return api_done(__func__, rv);
}
