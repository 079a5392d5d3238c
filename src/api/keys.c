/* Key management, random numbers and operation state (PKCS#11 3.0 sections 5.15-5.17, 5.6). */
#include "api/api.h"
#include "token/crypto.h"

#define NEED(cond) do { if (!(cond)) return CKR_ARGUMENTS_BAD; } while (0)
#define IN_OK(p, n) ((p) != NULL || (n) == 0)

/* 5.15 C_GenerateKey */
CK_EXPORT CK_RV C_GenerateKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                              CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount, CK_OBJECT_HANDLE_PTR phKey)
{
    API_ENTER();
    NEED(pMechanism && IN_OK(pTemplate, ulCount) && phKey);
    API_LOCKED(tok_generate_key(hSession, pMechanism, pTemplate, ulCount, phKey));
}

/* 5.15 C_GenerateKeyPair */
CK_EXPORT CK_RV C_GenerateKeyPair(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                                  CK_ATTRIBUTE_PTR pPublicKeyTemplate,
                                  CK_ULONG ulPublicKeyAttributeCount,
                                  CK_ATTRIBUTE_PTR pPrivateKeyTemplate,
                                  CK_ULONG ulPrivateKeyAttributeCount,
                                  CK_OBJECT_HANDLE_PTR phPublicKey, CK_OBJECT_HANDLE_PTR phPrivateKey)
{
    API_ENTER();
    NEED(pMechanism && IN_OK(pPublicKeyTemplate, ulPublicKeyAttributeCount) &&
         IN_OK(pPrivateKeyTemplate, ulPrivateKeyAttributeCount) && phPublicKey && phPrivateKey);
    API_LOCKED(tok_generate_key_pair(hSession, pMechanism, pPublicKeyTemplate,
                                     ulPublicKeyAttributeCount, pPrivateKeyTemplate,
                                     ulPrivateKeyAttributeCount, phPublicKey, phPrivateKey));
}

/* 5.15 C_WrapKey */
CK_EXPORT CK_RV C_WrapKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                          CK_OBJECT_HANDLE hWrappingKey, CK_OBJECT_HANDLE hKey,
                          CK_BYTE_PTR pWrappedKey, CK_ULONG_PTR pulWrappedKeyLen)
{
    API_ENTER();
    NEED(pMechanism && pulWrappedKeyLen);
    API_LOCKED(tok_wrap_key(hSession, pMechanism, hWrappingKey, hKey, pWrappedKey,
                            pulWrappedKeyLen));
}

/* 5.15 C_UnwrapKey */
CK_EXPORT CK_RV C_UnwrapKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                            CK_OBJECT_HANDLE hUnwrappingKey, CK_BYTE_PTR pWrappedKey,
                            CK_ULONG ulWrappedKeyLen, CK_ATTRIBUTE_PTR pTemplate,
                            CK_ULONG ulAttributeCount, CK_OBJECT_HANDLE_PTR phKey)
{
    API_ENTER();
    NEED(pMechanism && IN_OK(pWrappedKey, ulWrappedKeyLen) && IN_OK(pTemplate, ulAttributeCount) &&
         phKey);
    API_LOCKED(tok_unwrap_key(hSession, pMechanism, hUnwrappingKey, pWrappedKey, ulWrappedKeyLen,
                              pTemplate, ulAttributeCount, phKey));
}

/* 5.15 C_DeriveKey */
CK_EXPORT CK_RV C_DeriveKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                            CK_OBJECT_HANDLE hBaseKey, CK_ATTRIBUTE_PTR pTemplate,
                            CK_ULONG ulAttributeCount, CK_OBJECT_HANDLE_PTR phKey)
{
    API_ENTER();
    NEED(pMechanism && IN_OK(pTemplate, ulAttributeCount) && phKey);
    API_LOCKED(tok_derive_key(hSession, pMechanism, hBaseKey, pTemplate, ulAttributeCount, phKey));
}

/* 5.16 C_SeedRandom: the DRBG reseeds itself from the OS; caller seed is not mixed in. */
CK_EXPORT CK_RV C_SeedRandom(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSeed, CK_ULONG ulSeedLen)
{
    API_ENTER();
    NEED(IN_OK(pSeed, ulSeedLen));
    tok_lock();
    CK_SESSION_INFO info;
    CK_RV rv = tok_session_info(hSession, &info);
    tok_unlock();
    return rv == CKR_OK ? CKR_RANDOM_SEED_NOT_SUPPORTED : rv;
}

/* 5.16 C_GenerateRandom */
CK_EXPORT CK_RV C_GenerateRandom(CK_SESSION_HANDLE hSession, CK_BYTE_PTR RandomData,
                                 CK_ULONG ulRandomLen)
{
    API_ENTER();
    NEED(IN_OK(RandomData, ulRandomLen));
    API_CALL(tok_random(hSession, RandomData, ulRandomLen));
}

/* 5.6 C_GetOperationState: digests only; states that would carry keys are unsaveable. */
CK_EXPORT CK_RV C_GetOperationState(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pOperationState,
                                    CK_ULONG_PTR pulOperationStateLen)
{
    API_ENTER();
    NEED(pulOperationStateLen);
    API_LOCKED(tok_op_state_get(hSession, pOperationState, pulOperationStateLen));
}

/* 5.6 C_SetOperationState */
CK_EXPORT CK_RV C_SetOperationState(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pOperationState,
                                    CK_ULONG ulOperationStateLen, CK_OBJECT_HANDLE hEncryptionKey,
                                    CK_OBJECT_HANDLE hAuthenticationKey)
{
    API_ENTER();
    NEED(pOperationState && ulOperationStateLen);
    if (hEncryptionKey || hAuthenticationKey)
        return CKR_KEY_NOT_NEEDED; /* saved states here never involve keys */
    API_LOCKED(tok_op_state_set(hSession, pOperationState, ulOperationStateLen));
}

/* 5.17 Legacy parallel-function calls: this token has no parallel sessions. */
CK_EXPORT CK_RV C_GetFunctionStatus(CK_SESSION_HANDLE hSession)
{
    (void)hSession;
    API_ENTER();
    return CKR_FUNCTION_NOT_PARALLEL;
}

CK_EXPORT CK_RV C_CancelFunction(CK_SESSION_HANDLE hSession)
{
    (void)hSession;
    API_ENTER();
    return CKR_FUNCTION_NOT_PARALLEL;
}
