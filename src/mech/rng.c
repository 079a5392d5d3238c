/* Random numbers for callers and for key generation: the module's checked source
 * (ossl_random, base/rng.c), with the PKCS#11 error codes. */
#include "mech/mech.h"
#include "mech/rng.h"
#include "base/ossl.h"

CK_RV mech_random(uint8_t *out, size_t len)
{
    if (!len)
        return CKR_OK;
    if (!out)
        return CKR_ARGUMENTS_BAD;
    /* A failed draw or a failed continuous test: nothing handed out (out is wiped). */
    return ossl_random(out, len) ? CKR_FUNCTION_FAILED : CKR_OK;
}
