/* Random numbers for callers and for key generation: the module context's DRBG. */
#include "mech/mech.h"
#include "base/ossl.h"

#include <openssl/rand.h>

CK_RV mech_random(uint8_t *out, size_t len)
{
    return RAND_bytes_ex(ossl_libctx(), out, len, 256) == 1 ? CKR_OK : CKR_FUNCTION_FAILED;
}
