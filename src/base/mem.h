/* Secure memory for key bytes and PINs: locked, guarded, wiped (libsodium underneath). */
#ifndef CRATON_BASE_MEM_H
#define CRATON_BASE_MEM_H
#include <stdbool.h>
#include <stddef.h>

/* Must succeed once before any other call here; safe to call again. */
int secmem_init(void);
/* Locked, guard-paged, excluded from core dumps; NULL on failure. Size 0 is allowed. */
void *secmem_alloc(size_t len);
void *secmem_dup(const void *src, size_t len);
/* Wipes then frees; NULL is a no-op. */
void secmem_free(void *p);
void secmem_wipe(void *p, size_t len);
/* Constant-time equality of two equal-length buffers. */
bool secmem_equal(const void *a, const void *b, size_t len);
#endif
