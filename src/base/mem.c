/* Secure memory: every key byte and PIN the module holds lives in here. */
#include "base/mem.h"

#include <string.h>
#include <sodium.h>

int secmem_init(void)
{
    /* sodium_init() is idempotent and thread-safe; it returns 1 when already done. */
    return sodium_init() < 0 ? -1 : 0;
}

void *secmem_alloc(size_t len)
{
    /* sodium_malloc() locks the pages, surrounds them with guard pages and marks them
     * MADV_DONTDUMP where the kernel has it, so key bytes neither swap nor reach a core. */
    return sodium_malloc(len ? len : 1);
}

void *secmem_dup(const void *src, size_t len)
{
    void *p = secmem_alloc(len);
    if (p && len)
        memcpy(p, src, len);
    return p;
}

void secmem_free(void *p)
{
    if (p)
        sodium_free(p); /* wipes before unmapping */
}

void secmem_wipe(void *p, size_t len)
{
    if (p && len)
        sodium_memzero(p, len);
}

bool secmem_equal(const void *a, const void *b, size_t len)
{
    return sodium_memcmp(a, b, len) == 0;
}
