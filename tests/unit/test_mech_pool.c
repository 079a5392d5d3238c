/* The per-key pools of prepared contexts (src/mech/pool.c), driven directly with a fake item
 * kind whose item_free counts frees and poisons the item, and a bare cache slot.
 *
 * Which assertion catches which bug:
 * - take on an empty slot does not install a pool / returns no ref: test_first_take_installs
 *   (pool and cache asserted non-NULL, cache == pool).
 * - give does not keep the item, or take hands out another one: test_give_then_take_same_item.
 * - idle items not bounded by POOL_MAX (or off by one): test_pool_max (exactly one free at the
 *   (POOL_MAX+1)th give, exactly POOL_MAX items taken back).
 * - a pool of another kind or variant, or another family's cache, is used (wrong key schedule or
 *   digest reused): test_other_kind_or_variant (item and pool must both be NULL, foreign cache
 *   untouched).
 * - mech_cache_free leaves idle items alive (leak, or reuse of a context keyed with an old
 *   value): test_cache_free_frees_idle (free count right after mech_cache_free; next take gives
 *   a new, empty pool).
 * - a borrowed item is put back into a dead pool and reused, or the dead pool is freed while
 *   borrowed (use after free) or never (leak): test_cache_free_while_borrowed (free count at
 *   give; ASan/LSan for the pool itself).
 * - keep = false or a NULL pool does not free the item: test_give_keep_false,
 *   test_give_null_pool (free counts).
 * - a reference dropped with a NULL item (init failure path) is lost or double-dropped:
 *   test_give_null_item (LSan / ASan).
 * - a lost compare-and-swap race leaks or double-frees the losing pool, or hands out different
 *   pools: test_concurrent_install (all refs equal the slot; LSan).
 * - refcount / dead flag races between give and mech_cache_free, an item handed to two takers,
 *   or an item of an older pool reused after the free: test_threads_take_give_vs_free (busy flag,
 *   epoch check, alloc == free counts; ASan for double free, TSan build for data races). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mech/mech.h"
#include "mech/pool.h"

#define ITEM_MAGIC 0x9001c0deu

struct item {
    unsigned magic;
    int id;
    unsigned epoch;   /* threaded test: cache generation the item was made in */
    atomic_int busy;  /* threaded test: 1 while a thread holds it */
    struct mech_pool *pool; /* where a family keeps its pool (pool_kind.pool_at) */
};

static atomic_int g_allocs, g_frees, g_next_id;

static struct item *item_new(unsigned epoch)
{
    struct item *it = calloc(1, sizeof *it);
    if (!it)
        abort(); /* also called from worker threads, where cmocka cannot fail a test */
    it->magic = ITEM_MAGIC;
    it->id = atomic_fetch_add(&g_next_id, 1);
    it->epoch = epoch;
    atomic_init(&it->busy, 0);
    atomic_fetch_add(&g_allocs, 1);
    return it;
}

static void item_free(void *p)
{
    struct item *it = p;
    /* A double free shows as a bad magic here even before ASan reports it. */
    if (it->magic != ITEM_MAGIC)
        abort();
    it->magic = 0xdeadu;
    free(it);
    atomic_fetch_add(&g_frees, 1);
}

/* Two kinds: identity is the address, so two objects with the same function differ. */
static const struct pool_kind KIND_A = { item_free, offsetof(struct item, pool) };
static const struct pool_kind KIND_B = { item_free, offsetof(struct item, pool) };

static int reset(void **state)
{
    (void)state;
    atomic_store(&g_allocs, 0);
    atomic_store(&g_frees, 0);
    return 0;
}

static int live(void)
{
    return atomic_load(&g_allocs) - atomic_load(&g_frees);
}

/* ---- single-threaded ---------------------------------------------------------------------- */

static void test_first_take_installs(void **state)
{
    (void)state;
    void *cache = NULL;
    struct mech_key k = { NULL, &cache, NULL };
    struct mech_pool *pool = (struct mech_pool *)1;
    assert_null(pool_take(&k, &KIND_A, 7, &pool));
    assert_non_null(pool);
    assert_non_null(cache);
    assert_ptr_equal(cache, pool);
    /* The slot holds a header whose destroy is set (mech_cache_free calls it). */
    assert_non_null(((struct mech_cache_hdr *)cache)->destroy);
    pool_give(pool, &KIND_A, NULL, false);
    mech_cache_free(cache);
    assert_int_equal(live(), 0);
}

static void test_null_key_or_slot(void **state)
{
    (void)state;
    struct mech_pool *pool = (struct mech_pool *)1;
    assert_null(pool_take(NULL, &KIND_A, 0, &pool));
    assert_null(pool);
    struct mech_key k = { NULL, NULL, NULL };
    pool = (struct mech_pool *)1;
    assert_null(pool_take(&k, &KIND_A, 0, &pool));
    assert_null(pool);
}

static void test_give_then_take_same_item(void **state)
{
    (void)state;
    void *cache = NULL;
    struct mech_key k = { NULL, &cache, NULL };
    struct mech_pool *pool;
    assert_null(pool_take(&k, &KIND_A, 1, &pool));
    struct item *it = item_new(0);
    pool_give(pool, &KIND_A, it, true);
    assert_int_equal(atomic_load(&g_frees), 0);
    for (int round = 0; round < 3; round++) {
        struct mech_pool *p2 = NULL;
        struct item *got = pool_take(&k, &KIND_A, 1, &p2);
        assert_ptr_equal(got, it);
        assert_ptr_equal(p2, pool);
        /* The pool is empty while its only item is out. */
        struct mech_pool *p3 = NULL;
        assert_null(pool_take(&k, &KIND_A, 1, &p3));
        assert_ptr_equal(p3, pool);
        pool_give(p3, &KIND_A, NULL, false);
        pool_give(p2, &KIND_A, got, true);
    }
    /* Two out at once: both come back, neither is freed. */
    struct mech_pool *pa, *pb;
    struct item *a = pool_take(&k, &KIND_A, 1, &pa);
    struct item *b = pool_take(&k, &KIND_A, 1, &pb);
    assert_ptr_equal(a, it);
    assert_null(b);
    b = item_new(0);
    pool_give(pb, &KIND_A, b, true);
    pool_give(pa, &KIND_A, a, true);
    struct item *x = pool_take(&k, &KIND_A, 1, &pa);
    struct item *y = pool_take(&k, &KIND_A, 1, &pb);
    assert_non_null(x);
    assert_non_null(y);
    assert_true((x == a && y == b) || (x == b && y == a));
    pool_give(pa, &KIND_A, x, true);
    pool_give(pb, &KIND_A, y, true);
    assert_int_equal(atomic_load(&g_frees), 0);
    mech_cache_free(cache);
    assert_int_equal(atomic_load(&g_frees), 2);
    assert_int_equal(live(), 0);
}

/* The session's kept context (mech_key.spare): taken from the caller's slot every time;
 * reused, with its own reference, while it is of this key's pool and variant; given back to
 * its pool (not leaked, not reused) for another variant; freed once its pool is gone. */
static void test_spare(void **state)
{
    (void)state;
    void *cache = NULL;
    struct mech_ctx *slot = NULL;
    struct mech_key k = { NULL, &cache, &slot };
    struct mech_pool *pool;
    assert_null(pool_take(&k, &KIND_A, 3, &pool));
    struct item *it = item_new(0);
    it->pool = pool;
    slot = (struct mech_ctx *)it;

    /* Fits: the same item and pool, the slot emptied. */
    struct mech_pool *p2 = NULL;
    assert_ptr_equal(pool_take(&k, &KIND_A, 3, &p2), it);
    assert_ptr_equal(p2, pool);
    assert_null(slot);

    /* Another variant: the spare goes back to its pool, where variant 3 finds it again. */
    slot = (struct mech_ctx *)it;
    struct mech_pool *p4 = (struct mech_pool *)1;
    assert_null(pool_take(&k, &KIND_A, 4, &p4));
    assert_null(p4);
    assert_null(slot);
    assert_int_equal(atomic_load(&g_frees), 0);
    struct mech_pool *p3 = NULL;
    assert_ptr_equal(pool_take(&k, &KIND_A, 3, &p3), it);
    assert_ptr_equal(p3, pool);

    /* Its key changed (cache freed while it was kept): never reused, freed when offered. */
    mech_cache_free(cache);
    cache = NULL;
    slot = (struct mech_ctx *)it;
    struct mech_pool *pn = NULL;
    assert_null(pool_take(&k, &KIND_A, 3, &pn));
    assert_null(slot);
    assert_int_equal(atomic_load(&g_frees), 1);
    assert_non_null(pn);
    pool_give(pn, &KIND_A, NULL, false);
    mech_cache_free(cache);
    assert_int_equal(live(), 0);
}

static void test_pool_max(void **state)
{
    (void)state;
    void *cache = NULL;
    struct mech_key k = { NULL, &cache, NULL };
    struct mech_pool *refs[POOL_MAX + 1];
    struct item *items[POOL_MAX + 1];
    for (int i = 0; i < POOL_MAX + 1; i++) {
        assert_null(pool_take(&k, &KIND_A, 3, &refs[i]));
        assert_non_null(refs[i]);
        items[i] = item_new(0);
    }
    for (int i = 0; i < POOL_MAX; i++)
        pool_give(refs[i], &KIND_A, items[i], true);
    assert_int_equal(atomic_load(&g_frees), 0);
    pool_give(refs[POOL_MAX], &KIND_A, items[POOL_MAX], true);
    assert_int_equal(atomic_load(&g_frees), 1); /* full: the extra one goes at once */
    /* Exactly POOL_MAX idle items, each once. */
    struct item *back[POOL_MAX];
    for (int i = 0; i < POOL_MAX; i++) {
        back[i] = pool_take(&k, &KIND_A, 3, &refs[i]);
        assert_non_null(back[i]);
        assert_int_equal(back[i]->magic, ITEM_MAGIC);
        for (int j = 0; j < i; j++)
            assert_ptr_not_equal(back[i], back[j]);
    }
    assert_null(pool_take(&k, &KIND_A, 3, &refs[POOL_MAX]));
    pool_give(refs[POOL_MAX], &KIND_A, NULL, false);
    for (int i = 0; i < POOL_MAX; i++)
        pool_give(refs[i], &KIND_A, back[i], true);
    assert_int_equal(atomic_load(&g_frees), 1);
    mech_cache_free(cache);
    assert_int_equal(atomic_load(&g_frees), POOL_MAX + 1);
    assert_int_equal(live(), 0);
}

/* Another family's cache object in the slot. */
static atomic_int g_foreign_destroyed;
static void foreign_destroy(void *self)
{
    atomic_fetch_add(&g_foreign_destroyed, 1);
    free(self);
}

static void test_other_kind_or_variant(void **state)
{
    (void)state;
    void *cache = NULL;
    struct mech_key k = { NULL, &cache, NULL };
    struct mech_pool *pool, *other;
    assert_null(pool_take(&k, &KIND_A, 1, &pool));
    struct item *it = item_new(0);
    pool_give(pool, &KIND_A, it, true);
    /* Same kind, other variant: nothing, and no ref to give back to. */
    other = (struct mech_pool *)1;
    assert_null(pool_take(&k, &KIND_A, 2, &other));
    assert_null(other);
    /* Other kind, same variant. */
    other = (struct mech_pool *)1;
    assert_null(pool_take(&k, &KIND_B, 1, &other));
    assert_null(other);
    /* The caller then frees its own item through pool_give(NULL). */
    struct item *mine = item_new(0);
    pool_give(other, &KIND_B, mine, true);
    assert_int_equal(atomic_load(&g_frees), 1);
    /* The slot still holds the first pool, with its item. */
    assert_ptr_equal(cache, pool);
    struct item *got = pool_take(&k, &KIND_A, 1, &other);
    assert_ptr_equal(got, it);
    assert_ptr_equal(other, pool);
    pool_give(other, &KIND_A, got, true);
    mech_cache_free(cache);
    assert_int_equal(live(), 0);

    /* A foreign cache (e.g. an asym family's prepared key) is neither used nor replaced. */
    struct mech_cache_hdr *f = malloc(sizeof *f + 64);
    assert_non_null(f);
    memset(f, 0xa5, sizeof *f + 64);
    f->destroy = foreign_destroy;
    cache = f;
    other = (struct mech_pool *)1;
    assert_null(pool_take(&k, &KIND_A, 1, &other));
    assert_null(other);
    assert_ptr_equal(cache, f);
    assert_int_equal(atomic_load(&g_foreign_destroyed), 0);
    mech_cache_free(cache);
    assert_int_equal(atomic_load(&g_foreign_destroyed), 1);
}

static void test_cache_free_frees_idle(void **state)
{
    (void)state;
    void *cache = NULL;
    struct mech_key k = { NULL, &cache, NULL };
    struct mech_pool *r[3];
    struct item *its[3];
    for (int i = 0; i < 3; i++) {
        assert_null(pool_take(&k, &KIND_A, 0, &r[i]));
        its[i] = item_new(0);
    }
    for (int i = 0; i < 3; i++)
        pool_give(r[i], &KIND_A, its[i], true);
    assert_int_equal(atomic_load(&g_frees), 0);
    mech_cache_free(cache);
    cache = NULL; /* as objref_uncache does */
    assert_int_equal(atomic_load(&g_frees), 3);
    /* A new pool, empty: none of the old (freed) items comes back. */
    struct mech_pool *p;
    assert_null(pool_take(&k, &KIND_A, 0, &p));
    assert_non_null(p);
    pool_give(p, &KIND_A, NULL, false);
    mech_cache_free(cache);
    assert_int_equal(live(), 0);
}

static void test_cache_free_while_borrowed(void **state)
{
    (void)state;
    void *cache = NULL;
    struct mech_key k = { NULL, &cache, NULL };
    struct mech_pool *p1, *p2, *p3;
    assert_null(pool_take(&k, &KIND_A, 0, &p1));
    struct item *a = item_new(0);
    pool_give(p1, &KIND_A, a, true);
    /* a out again, plus b built while a is out, plus an idle c. */
    assert_ptr_equal(pool_take(&k, &KIND_A, 0, &p1), a);
    assert_null(pool_take(&k, &KIND_A, 0, &p2));
    struct item *b = item_new(0);
    assert_null(pool_take(&k, &KIND_A, 0, &p3));
    pool_give(p3, &KIND_A, item_new(0), true);
    assert_int_equal(atomic_load(&g_frees), 0);

    mech_cache_free(cache); /* the object changed: idle c goes now */
    cache = NULL;
    assert_int_equal(atomic_load(&g_frees), 1);

    /* Meanwhile the key gets a new pool, filled with an item of the new value. */
    struct mech_pool *q;
    assert_null(pool_take(&k, &KIND_A, 0, &q));
    assert_ptr_not_equal(q, p1);
    struct item *fresh = item_new(1);
    pool_give(q, &KIND_A, fresh, true);

    /* The borrowed ones come back to the dead pool: freed, even with keep = true. */
    pool_give(p1, &KIND_A, a, true);
    assert_int_equal(atomic_load(&g_frees), 2);
    pool_give(p2, &KIND_A, b, true);
    assert_int_equal(atomic_load(&g_frees), 3);
    /* Only the new item is in the live pool. */
    struct item *got = pool_take(&k, &KIND_A, 0, &q);
    assert_ptr_equal(got, fresh);
    struct mech_pool *q2;
    assert_null(pool_take(&k, &KIND_A, 0, &q2));
    pool_give(q2, &KIND_A, NULL, false);
    pool_give(q, &KIND_A, got, true);
    mech_cache_free(cache);
    assert_int_equal(live(), 0);
    /* The dead pool itself: freed at the last give (LSan reports it otherwise). */
}

static void test_give_keep_false(void **state)
{
    (void)state;
    void *cache = NULL;
    struct mech_key k = { NULL, &cache, NULL };
    struct mech_pool *p;
    assert_null(pool_take(&k, &KIND_A, 0, &p));
    pool_give(p, &KIND_A, item_new(0), false);
    assert_int_equal(atomic_load(&g_frees), 1);
    assert_null(pool_take(&k, &KIND_A, 0, &p));
    assert_non_null(p);
    pool_give(p, &KIND_A, NULL, false);
    mech_cache_free(cache);
    assert_int_equal(live(), 0);
}

static void test_give_null_pool(void **state)
{
    (void)state;
    pool_give(NULL, &KIND_A, item_new(0), true);
    assert_int_equal(atomic_load(&g_frees), 1);
    pool_give(NULL, &KIND_A, item_new(0), false);
    assert_int_equal(atomic_load(&g_frees), 2);
    pool_give(NULL, &KIND_A, NULL, true); /* nothing to do, no crash */
    assert_int_equal(live(), 0);
}

static void test_give_null_item(void **state)
{
    (void)state;
    void *cache = NULL;
    struct mech_key k = { NULL, &cache, NULL };
    struct mech_pool *p, *p2;
    assert_null(pool_take(&k, &KIND_A, 0, &p));
    assert_null(pool_take(&k, &KIND_A, 0, &p2));
    pool_give(p, &KIND_A, NULL, true); /* an init that failed after taking a ref */
    mech_cache_free(cache);
    cache = NULL;
    pool_give(p2, &KIND_A, NULL, false); /* the last ref to a dead pool: the pool goes */
    assert_int_equal(live(), 0);
}

/* ---- threads --------------------------------------------------------------------------------- */

#define NTHREADS 4

struct install_arg {
    struct mech_key *k;
    pthread_barrier_t *bar;
    struct mech_pool *got;
};

static void *install_worker(void *argp)
{
    struct install_arg *a = argp;
    pthread_barrier_wait(a->bar);
    if (pool_take(a->k, &KIND_A, 5, &a->got))
        abort();
    return NULL;
}

/* Threads racing to install the first pool: one wins the compare-and-swap, the others drop their
 * own and use the winner's. */
static void test_concurrent_install(void **state)
{
    (void)state;
    for (int round = 0; round < 200; round++) {
        void *cache = NULL;
        struct mech_key k = { NULL, &cache, NULL };
        pthread_barrier_t bar;
        pthread_barrier_init(&bar, NULL, NTHREADS);
        pthread_t t[NTHREADS];
        struct install_arg a[NTHREADS];
        for (int i = 0; i < NTHREADS; i++) {
            a[i] = (struct install_arg){ &k, &bar, NULL };
            assert_int_equal(pthread_create(&t[i], NULL, install_worker, &a[i]), 0);
        }
        for (int i = 0; i < NTHREADS; i++)
            pthread_join(t[i], NULL);
        pthread_barrier_destroy(&bar);
        for (int i = 0; i < NTHREADS; i++) {
            assert_non_null(a[i].got);
            assert_ptr_equal(a[i].got, cache);
        }
        int freed = atomic_load(&g_frees);
        for (int i = 0; i < NTHREADS; i++)
            pool_give(a[i].got, &KIND_A, item_new(0), true);
        assert_int_equal(atomic_load(&g_frees), freed); /* all kept: one live pool */
        mech_cache_free(cache);
        assert_int_equal(live(), 0);
    }
}

/* The token's locking: pool_take runs under the module lock, as does the cache free, while
 * pool_give runs under the session lock only. Here takes share a read lock (they may also run
 * at once, which pool_take allows), the free takes the write lock, gives take nothing. */
static pthread_rwlock_t g_modlock = PTHREAD_RWLOCK_INITIALIZER;
static void *g_cache;
static struct mech_key g_key = { NULL, &g_cache, NULL };
static unsigned g_epoch; /* changes under the write lock with each free */
static atomic_bool g_stop;
static atomic_int g_errors, g_reused;

static void *churn_worker(void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg;
    while (!atomic_load(&g_stop)) {
        struct mech_pool *p;
        pthread_rwlock_rdlock(&g_modlock);
        struct item *it = pool_take(&g_key, &KIND_A, 9, &p);
        unsigned epoch = g_epoch;
        pthread_rwlock_unlock(&g_modlock);
        if (!p)
            atomic_fetch_add(&g_errors, 1); /* our kind is the only one: always a pool */
        if (it) {
            atomic_fetch_add(&g_reused, 1);
            /* Never one of an older cache (an old key value), never in two hands. */
            if (it->magic != ITEM_MAGIC || it->epoch != epoch ||
                atomic_exchange(&it->busy, 1) != 0)
                atomic_fetch_add(&g_errors, 1);
        } else {
            it = item_new(epoch);
            atomic_store(&it->busy, 1);
        }
        /* The "operation": touch the item a little. */
        seed = seed * 1103515245u + 12345u;
        it->id ^= (int)(seed >> 16);
        if ((seed >> 8) % 7 == 0)
            sched_yield();
        atomic_store(&it->busy, 0);
        pool_give(p, &KIND_A, it, (seed >> 4) % 13 != 0);
    }
    return NULL;
}

static void test_threads_take_give_vs_free(void **state)
{
    (void)state;
    g_cache = NULL;
    g_epoch = 0;
    atomic_store(&g_stop, false);
    atomic_store(&g_errors, 0);
    atomic_store(&g_reused, 0);
    pthread_t t[NTHREADS];
    for (int i = 0; i < NTHREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, churn_worker, (void *)(uintptr_t)(i + 1)), 0);
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    int frees = 0;
    do {
        struct timespec nap = { 0, 200 * 1000 };
        nanosleep(&nap, NULL);
        pthread_rwlock_wrlock(&g_modlock);
        mech_cache_free(g_cache); /* the object changed */
        g_cache = NULL;
        g_epoch++;
        pthread_rwlock_unlock(&g_modlock);
        frees++;
        clock_gettime(CLOCK_MONOTONIC, &now);
    } while ((now.tv_sec - start.tv_sec) * 1000000000L + (now.tv_nsec - start.tv_nsec) <
             700000000L);
    atomic_store(&g_stop, true);
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(t[i], NULL);
    /* Finally the object goes. */
    mech_cache_free(g_cache);
    g_cache = NULL;
    assert_int_equal(atomic_load(&g_errors), 0);
    assert_true(frees > 10);
    assert_true(atomic_load(&g_reused) > 0); /* the pool was really exercised */
    assert_int_equal(live(), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_first_take_installs, reset),
        cmocka_unit_test_setup(test_null_key_or_slot, reset),
        cmocka_unit_test_setup(test_give_then_take_same_item, reset),
        cmocka_unit_test_setup(test_spare, reset),
        cmocka_unit_test_setup(test_pool_max, reset),
        cmocka_unit_test_setup(test_other_kind_or_variant, reset),
        cmocka_unit_test_setup(test_cache_free_frees_idle, reset),
        cmocka_unit_test_setup(test_cache_free_while_borrowed, reset),
        cmocka_unit_test_setup(test_give_keep_false, reset),
        cmocka_unit_test_setup(test_give_null_pool, reset),
        cmocka_unit_test_setup(test_give_null_item, reset),
        cmocka_unit_test_setup(test_concurrent_install, reset),
        cmocka_unit_test_setup(test_threads_take_give_vs_free, reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
