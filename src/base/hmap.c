/* Open addressing with linear probing; deleted slots become tombstones until the next grow. */
#include "base/hmap.h"

#include <stdlib.h>

#define TOMB UINT64_MAX

static size_t slot_of(uint64_t key, size_t cap)
{
    key ^= key >> 33;
    key *= 0xff51afd7ed558ccdULL;
    key ^= key >> 33;
    return (size_t)key & (cap - 1);
}

void hmap_init(hmap_t *m)
{
    m->keys = NULL;
    m->vals = NULL;
    m->cap = m->n = m->tomb = 0;
}

void hmap_free(hmap_t *m)
{
    free(m->keys);
    free(m->vals);
    hmap_init(m);
}

void *hmap_get(const hmap_t *m, uint64_t key)
{
    if (!m->cap)
        return NULL;
    for (size_t i = slot_of(key, m->cap);; i = (i + 1) & (m->cap - 1)) {
        if (m->keys[i] == key)
            return m->vals[i];
        if (m->keys[i] == 0)
            return NULL;
    }
}

static int rebuild(hmap_t *m, size_t ncap)
{
    uint64_t *nk = calloc(ncap, sizeof *nk);
    void **nv = calloc(ncap, sizeof *nv);
    if (!nk || !nv) {
        free(nk);
        free(nv);
        return -1;
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (m->keys[i] == 0 || m->keys[i] == TOMB)
            continue;
        size_t j = slot_of(m->keys[i], ncap);
        while (nk[j])
            j = (j + 1) & (ncap - 1);
        nk[j] = m->keys[i];
        nv[j] = m->vals[i];
    }
    free(m->keys);
    free(m->vals);
    m->keys = nk;
    m->vals = nv;
    m->cap = ncap;
    m->tomb = 0;
    return 0;
}

static int grow(hmap_t *m)
{
    size_t ncap = m->cap ? m->cap * 2 : 64;
    if (m->n * 4 < m->cap)
        ncap = m->cap; /* mostly tombstones: rebuild at the same size */
    return rebuild(m, ncap);
}

void hmap_compact(hmap_t *m)
{
    if (m->cap <= 64 || m->n * 8 > m->cap)
        return;
    size_t ncap = 64;
    while (ncap < m->n * 4)
        ncap *= 2;
    rebuild(m, ncap); /* on failure the map simply stays as it was */
}

int hmap_put(hmap_t *m, uint64_t key, void *val)
{
    if ((m->n + m->tomb + 1) * 4 >= m->cap * 3 && grow(m))
        return -1;
    size_t tomb_at = SIZE_MAX;
    for (size_t i = slot_of(key, m->cap);; i = (i + 1) & (m->cap - 1)) {
        if (m->keys[i] == key) {
            m->vals[i] = val;
            return 0;
        }
        if (m->keys[i] == TOMB && tomb_at == SIZE_MAX)
            tomb_at = i;
        if (m->keys[i] == 0) {
            if (tomb_at != SIZE_MAX) {
                i = tomb_at;
                m->tomb--;
            }
            m->keys[i] = key;
            m->vals[i] = val;
            m->n++;
            return 0;
        }
    }
}

void *hmap_del(hmap_t *m, uint64_t key)
{
    if (!m->cap)
        return NULL;
    for (size_t i = slot_of(key, m->cap);; i = (i + 1) & (m->cap - 1)) {
        if (m->keys[i] == key) {
            void *v = m->vals[i];
            m->keys[i] = TOMB;
            m->vals[i] = NULL;
            m->n--;
            m->tomb++;
            return v;
        }
        if (m->keys[i] == 0)
            return NULL;
    }
}

size_t hmap_next(const hmap_t *m, size_t i)
{
    while (i < m->cap && (m->keys[i] == 0 || m->keys[i] == TOMB))
        i++;
    return i;
}
