/* Shared by the export files: the entry check, the lock and result logging. No crypto and no
 * SQL happen in src/api; each C_* checks its arguments and calls one token-layer function. */
#ifndef CRATON_API_API_H
#define CRATON_API_API_H
#include "pkcs11.h"
#include "base/log.h"
#include "token/token.h"

#define CK_EXPORT __attribute__((visibility("default")))

/* A forked child, or a process that has not called C_Initialize, gets this first. */
#define API_ENTER()                                    \
    do {                                               \
        if (!tok_ready())                              \
            return CKR_CRYPTOKI_NOT_INITIALIZED;       \
        LOG_DEBUG("%s", __func__);                     \
    } while (0)

/* Runs one token-layer call under the module lock and logs its result at debug level. */
#define API_LOCKED(call)                               \
    do {                                               \
        tok_lock();                                    \
        CK_RV rv_ = (call);                            \
        tok_unlock();                                  \
        return api_done(__func__, rv_);                \
    } while (0)

/* For token-layer calls that take their own locks (the cryptographic operations). */
#define API_CALL(call) return api_done(__func__, (call))

static inline CK_RV api_done(const char *fn, CK_RV rv)
{
    if (rv != CKR_OK)
        LOG_DEBUG("%s -> 0x%08lx", fn, (unsigned long)rv);
    return rv;
}
#endif
