/* Secure memory: every key byte and PIN the module holds lives in here.
 *
 * Small secrets (up to 2 KiB: key values, RSA components, PINs) come from a pool of 256 KiB
 * chunks, each one sodium_malloc region: locked, surrounded by guard pages, left out of core
 * dumps. Carving blocks out of a few chunks instead of one sodium_malloc per secret (an mmap,
 * an mlock and two mprotects, each a new kernel mapping) keeps a key load to a memcpy and lets
 * 100,000 keys live without 300,000 mappings. What a block lacks against a sodium_malloc of its
 * own is a guard page between neighbours; blocks are wiped when freed. Larger secrets get their
 * own sodium_malloc region as before. */
#include "base/mem.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#define CHUNK_SIZE (256u * 1024u)
#define N_CLASSES 8 /* 16, 32, ..., 2048 bytes */
#define MAX_POOLED (16u << (N_CLASSES - 1))

struct chunk {
    uint8_t *base;
    unsigned cls;
};

static struct {
    pthread_mutex_t mu;
    void *free_list[N_CLASSES];
    struct chunk *chunks;
    size_t nchunks, cap;
} g_pool = { PTHREAD_MUTEX_INITIALIZER, { NULL }, NULL, 0, 0 };

int secmem_init(void)
{
    /* sodium_init() is idempotent and thread-safe; it returns 1 when already done. */
    return sodium_init() < 0 ? -1 : 0;
}

static unsigned class_of(size_t len)
{
    unsigned c = 0;
    while ((16u << c) < len)
        c++;
    return c;
}

/* Under the pool lock: a new chunk for class c, its blocks pushed on the free list. */
static int grow(unsigned c)
{
    if (g_pool.nchunks == g_pool.cap) {
        size_t ncap = g_pool.cap ? g_pool.cap * 2 : 16;
        struct chunk *nv = realloc(g_pool.chunks, ncap * sizeof *nv);
        if (!nv)
            return -1;
        g_pool.chunks = nv;
        g_pool.cap = ncap;
    }
    uint8_t *base = sodium_malloc(CHUNK_SIZE);
    if (!base)
        return -1;
    size_t bs = 16u << c;
    for (size_t off = 0; off + bs <= CHUNK_SIZE; off += bs) {
        void **blk = (void **)(base + off);
        *blk = g_pool.free_list[c];
        g_pool.free_list[c] = blk;
    }
    /* Kept sorted by address so secmem_free finds a block's chunk by binary search. */
    size_t i = g_pool.nchunks;
    while (i > 0 && g_pool.chunks[i - 1].base > base) {
        g_pool.chunks[i] = g_pool.chunks[i - 1];
        i--;
    }
    g_pool.chunks[i] = (struct chunk){ base, c };
    g_pool.nchunks++;
    return 0;
}

static const struct chunk *chunk_of(const void *p)
{
    size_t lo = 0, hi = g_pool.nchunks;
    const uint8_t *q = p;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        const struct chunk *ch = &g_pool.chunks[mid];
        if (q < ch->base)
            hi = mid;
        else if (q >= ch->base + CHUNK_SIZE)
            lo = mid + 1;
        else
            return ch;
    }
    return NULL;
}

void *secmem_alloc(size_t len)
{
    if (len > MAX_POOLED)
        return sodium_malloc(len);
    unsigned c = class_of(len ? len : 1);
    pthread_mutex_lock(&g_pool.mu);
    void **blk = g_pool.free_list[c];
    if (!blk && grow(c) == 0)
        blk = g_pool.free_list[c];
    if (blk)
        g_pool.free_list[c] = *blk;
    pthread_mutex_unlock(&g_pool.mu);
    if (blk)
        *blk = NULL;
    return blk;
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
    if (!p)
        return;
    pthread_mutex_lock(&g_pool.mu);
    const struct chunk *ch = chunk_of(p);
    if (ch) {
        unsigned c = ch->cls;
        sodium_memzero(p, 16u << c);
        *(void **)p = g_pool.free_list[c];
        g_pool.free_list[c] = p;
    }
    pthread_mutex_unlock(&g_pool.mu);
    if (!ch)
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
