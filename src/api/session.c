/* Session management functions (PKCS#11 3.0 section 5.6). */
#include "api/api.h"
#include "token/crypto.h"

/* 5.6 C_OpenSession; application callbacks are accepted but never called (no events). */
CK_EXPORT CK_RV C_OpenSession(CK_SLOT_ID slotID, CK_FLAGS flags, CK_VOID_PTR pApplication,
                              CK_NOTIFY Notify, CK_SESSION_HANDLE_PTR phSession)
{
    (void)pApplication;
    (void)Notify;
    API_ENTER();
    if (!phSession)
        return CKR_ARGUMENTS_BAD;
    API_LOCKED(tok_open_session(slotID, flags, phSession));
}

/* 5.6 C_CloseSession */
CK_EXPORT CK_RV C_CloseSession(CK_SESSION_HANDLE hSession)
{
    API_ENTER();
    API_LOCKED(tok_close_session(hSession));
}

/* 5.6 C_CloseAllSessions */
CK_EXPORT CK_RV C_CloseAllSessions(CK_SLOT_ID slotID)
{
    API_ENTER();
    API_LOCKED(tok_close_all_sessions(slotID));
}

/* 5.6 C_GetSessionInfo */
CK_EXPORT CK_RV C_GetSessionInfo(CK_SESSION_HANDLE hSession, CK_SESSION_INFO_PTR pInfo)
{
    API_ENTER();
    if (!pInfo)
        return CKR_ARGUMENTS_BAD;
    API_LOCKED(tok_session_info(hSession, pInfo));
}

/* 5.6 C_SessionCancel (3.0): ends the operations named in flags. */
CK_EXPORT CK_RV C_SessionCancel(CK_SESSION_HANDLE hSession, CK_FLAGS flags)
{
    API_ENTER();
    tok_lock();
    /* Cryptographic operations first (this also checks the handle), then a find. */
    CK_RV rv = tok_op_cancel(hSession, flags);
    if (rv == CKR_OK && (flags & CKF_FIND_OBJECTS)) {
        rv = tok_find_final(hSession);
        if (rv == CKR_OPERATION_NOT_INITIALIZED)
            rv = CKR_OK;
    }
    tok_unlock();
    return api_done(__func__, rv);
}

/* 5.6 C_Login */
CK_EXPORT CK_RV C_Login(CK_SESSION_HANDLE hSession, CK_USER_TYPE userType, CK_UTF8CHAR_PTR pPin,
                        CK_ULONG ulPinLen)
{
    API_ENTER();
    if (!pPin && ulPinLen)
        return CKR_ARGUMENTS_BAD;
    static const CK_UTF8CHAR empty[1] = { 0 };
    API_LOCKED(tok_login(hSession, userType, pPin ? pPin : empty, ulPinLen));
}

/* 5.6 C_LoginUser (3.0): this token has no user names; only the unnamed login is offered. */
CK_EXPORT CK_RV C_LoginUser(CK_SESSION_HANDLE hSession, CK_USER_TYPE userType,
                            CK_UTF8CHAR_PTR pPin, CK_ULONG ulPinLen, CK_UTF8CHAR_PTR pUsername,
                            CK_ULONG ulUsernameLen)
{
    API_ENTER();
    if ((!pPin && ulPinLen) || (!pUsername && ulUsernameLen))
        return CKR_ARGUMENTS_BAD;
    if (ulUsernameLen)
        return CKR_ARGUMENTS_BAD;
    static const CK_UTF8CHAR empty[1] = { 0 };
    API_LOCKED(tok_login(hSession, userType, pPin ? pPin : empty, ulPinLen));
}

/* 5.6 C_Logout */
CK_EXPORT CK_RV C_Logout(CK_SESSION_HANDLE hSession)
{
    API_ENTER();
    API_LOCKED(tok_logout(hSession));
}
