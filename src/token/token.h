/* The token layer's offer to the API layer: slots, tokens, sessions, login and objects.
 * Every function here expects the module lock held (tok_lock) unless it says otherwise;
 * pointer arguments have been checked by the caller. */
#ifndef CRATON_TOKEN_TOKEN_H
#define CRATON_TOKEN_TOKEN_H
#include <stdbool.h>
#include "pkcs11.h"

/* Module life. tok_initialize/tok_finalize take the lock themselves. */
CK_RV tok_initialize(const CK_C_INITIALIZE_ARGS *args);
CK_RV tok_finalize(void);
bool tok_ready(void); /* initialized in this process (false in a forked child) */
void tok_lock(void);
void tok_unlock(void);
/* The module lock shared (crypto.c's fast path of an operation's init, which only reads the
 * module's state); tok_unlock releases it. */
void tok_lock_shared(void);
bool tok_fips_mode(void); /* FIPS-approved-only policy in force */

/* Slots and tokens (PKCS#11 3.0 section 5.5). */
CK_RV tok_slot_list(bool present_only, CK_SLOT_ID *list, CK_ULONG *count);
CK_RV tok_slot_info(CK_SLOT_ID id, CK_SLOT_INFO *info);
CK_RV tok_token_info(CK_SLOT_ID id, CK_TOKEN_INFO *info);
CK_RV tok_init_token(CK_SLOT_ID id, const CK_UTF8CHAR *pin, CK_ULONG len, const CK_UTF8CHAR *label);
CK_RV tok_init_pin(CK_SESSION_HANDLE h, const CK_UTF8CHAR *pin, CK_ULONG len);
CK_RV tok_set_pin(CK_SESSION_HANDLE h, const CK_UTF8CHAR *old, CK_ULONG oldlen,
                  const CK_UTF8CHAR *pin, CK_ULONG len);

/* Sessions and login (5.6). */
CK_RV tok_open_session(CK_SLOT_ID id, CK_FLAGS flags, CK_SESSION_HANDLE *h);
CK_RV tok_close_session(CK_SESSION_HANDLE h);
CK_RV tok_close_all_sessions(CK_SLOT_ID id);
CK_RV tok_session_info(CK_SESSION_HANDLE h, CK_SESSION_INFO *info);
CK_RV tok_login(CK_SESSION_HANDLE h, CK_USER_TYPE type, const CK_UTF8CHAR *pin, CK_ULONG len);
CK_RV tok_logout(CK_SESSION_HANDLE h);

/* Objects (5.7). */
CK_RV tok_create_object(CK_SESSION_HANDLE h, const CK_ATTRIBUTE *t, CK_ULONG n,
                        CK_OBJECT_HANDLE *out);
CK_RV tok_copy_object(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o, const CK_ATTRIBUTE *t,
                      CK_ULONG n, CK_OBJECT_HANDLE *out);
CK_RV tok_destroy_object(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o);
CK_RV tok_object_size(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o, CK_ULONG *size);
CK_RV tok_get_attributes(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o, CK_ATTRIBUTE *t, CK_ULONG n);
CK_RV tok_set_attributes(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o, const CK_ATTRIBUTE *t,
                         CK_ULONG n);
CK_RV tok_find_init(CK_SESSION_HANDLE h, const CK_ATTRIBUTE *t, CK_ULONG n);
CK_RV tok_find(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE *out, CK_ULONG max, CK_ULONG *count);
CK_RV tok_find_final(CK_SESSION_HANDLE h);
#endif
