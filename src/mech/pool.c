/* Per-key pools of prepared contexts (pool.h).
 *
 * Locking: pool_take runs inside an operation's init, under the token's module lock held
 * shared (so several at once: the slot is filled by compare-and-swap, the rest is under the
 * pool's mutex); the cache free (mech_cache_free -> pool_destroy) runs under it held
 * exclusively, so never beside a take. pool_give runs when an operation ends, under the
 * session's lock only, so it may race the free: the pool's own mutex and reference count
 * settle that. The count is one for the cache slot plus one per borrowed item; whoever
 * drops it to zero frees the pool. */
#include "mech/pool.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct mech_pool {
    struct mech_cache_hdr hdr;
    const struct pool_kind *kind;
    unsigned variant;
    pthread_mutex_t mu;
    unsigned refs;
    bool dead; /* out of the cache slot: items coming back are freed */
    unsigned n;
    void *idle[POOL_MAX];
};

static void pool_unref_locked(struct mech_pool *p)
{
    bool last = --p->refs == 0;
    pthread_mutex_unlock(&p->mu);
    if (last) {
        pthread_mutex_destroy(&p->mu);
        free(p);
    }
}

static void pool_destroy(void *self)
{
    struct mech_pool *p = self;
    pthread_mutex_lock(&p->mu);
    p->dead = true;
    unsigned n = p->n;
    void *idle[POOL_MAX];
    for (unsigned i = 0; i < n; i++)
        idle[i] = p->idle[i];
    p->n = 0;
    const struct pool_kind *kind = p->kind;
    pool_unref_locked(p);
    for (unsigned i = 0; i < n; i++)
        kind->item_free(idle[i]);
}

static struct mech_pool *pool_new(const struct pool_kind *kind, unsigned variant)
{
    struct mech_pool *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    if (pthread_mutex_init(&p->mu, NULL)) {
        free(p);
        return NULL;
    }
    p->hdr.destroy = pool_destroy;
    p->kind = kind;
    p->variant = variant;
    p->refs = 1;
    return p;
}

static struct mech_pool *item_pool(const struct pool_kind *kind, void *item)
{
    struct mech_pool *p;
    memcpy(&p, (char *)item + kind->pool_at, sizeof(struct mech_pool *));
    return p;
}

void *pool_take(const struct mech_key *key, const struct pool_kind *kind, unsigned variant,
                struct mech_pool **pool)
{
    *pool = NULL;
    if (!key)
        return NULL;
    void *cur = key->cache ? __atomic_load_n(key->cache, __ATOMIC_ACQUIRE) : NULL;
    void *spare = key->spare ? *key->spare : NULL;
    if (spare) {
        *key->spare = NULL;
        struct mech_pool *sp = item_pool(kind, spare);
        if (sp && (void *)sp == cur && sp->kind == kind && sp->variant == variant) {
            *pool = sp; /* the spare's reference goes on with it */
            return spare;
        }
        pool_give(sp, kind, spare, true);
    }
    if (!key->cache)
        return NULL;
    struct mech_pool *p = cur;
    if (!p) {
        struct mech_pool *fresh = pool_new(kind, variant);
        void *expected = NULL;
        if (!fresh)
            return NULL;
        if (__atomic_compare_exchange_n(key->cache, &expected, fresh, false, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE)) {
            p = fresh;
        } else {
            pool_destroy(fresh);
            p = expected;
        }
    }
    /* Another family's cache, or ours for another digest/mode: no pooling for this use. */
    if (p->hdr.destroy != pool_destroy || p->kind != kind || p->variant != variant)
        return NULL;
    pthread_mutex_lock(&p->mu);
    void *item = p->n ? p->idle[--p->n] : NULL;
    p->refs++;
    pthread_mutex_unlock(&p->mu);
    *pool = p;
    return item;
}

void pool_give(struct mech_pool *p, const struct pool_kind *kind, void *item, bool keep)
{
    if (!p) {
        if (item)
            kind->item_free(item);
        return;
    }
    pthread_mutex_lock(&p->mu);
    if (item && keep && !p->dead && p->n < POOL_MAX) {
        p->idle[p->n++] = item;
        item = NULL;
    }
    pool_unref_locked(p);
    if (item)
        kind->item_free(item);
}
