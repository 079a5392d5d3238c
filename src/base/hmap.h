/* A small open-addressing hash map from 64-bit keys to pointers (handles to their objects). */
#ifndef CRATON_BASE_HMAP_H
#define CRATON_BASE_HMAP_H
#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint64_t *keys;  /* 0 marks an empty slot; keys must be non-zero */
    void **vals;
    size_t cap, n, tomb;
} hmap_t;

void hmap_init(hmap_t *m);
void hmap_free(hmap_t *m);
void *hmap_get(const hmap_t *m, uint64_t key);
int hmap_put(hmap_t *m, uint64_t key, void *val); /* 0, or -1 on no memory */
void *hmap_del(hmap_t *m, uint64_t key);          /* the removed value or NULL */
/* Shrinks a map that is mostly empty after many deletions, so iterating it costs what it
 * holds, not what it once held. Never call it while iterating the map. */
void hmap_compact(hmap_t *m);
/* Iteration: i from 0; returns the next filled index >= i, or m->cap at the end. */
size_t hmap_next(const hmap_t *m, size_t i);
#endif
