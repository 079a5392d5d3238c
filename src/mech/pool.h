/* Prepared libcrypto contexts kept per key object, so an operation starts from a keyed context
 * (only the IV or the MAC state reset) instead of a new context and a new key schedule: what a
 * careful libcrypto program does with a key it holds. Internal to the mechanism families.
 *
 * A pool lives in the key object's cache slot (mech_key.cache). An operation takes an item at
 * init (or builds one when the pool is empty) and gives it back when it ends; at most
 * POOL_MAX idle items are kept, one per operation that ran at the same time. The token layer
 * frees the cache (mech_cache_free) when the object changes, goes, or its token logs out:
 * the pool then frees its idle items at once and each borrowed one when it comes back, so a
 * context keyed with an old value is never reused. */
#ifndef CRATON_MECH_POOL_H
#define CRATON_MECH_POOL_H
#include "mech/mech.h"

#define POOL_MAX 8

/* What is pooled: the family's item type (its operation context). Identity is the pointer;
 * variant tells apart items of one family that are not interchangeable (digest, cipher mode,
 * direction, key length). pool_at is where an item keeps the pool it goes back to
 * (offsetof(item type, its struct mech_pool * member)). */
struct pool_kind {
    void (*item_free)(void *item);
    size_t pool_at;
};

struct mech_pool;

/* The item an operation of (kind, variant) on key starts from, or NULL (the caller builds
 * one); *pool gets the reference to give it back to (NULL when key's cache slot holds
 * something else: the caller then frees its item itself). First the context the token kept
 * for this session (key->spare, which this takes): reused when it is still this key's (its
 * pool is the one in the key's cache slot; its own reference keeps that pool's address from
 * being reused) and variant's, given back otherwise. Then an idle item of the pool in the
 * key's cache slot, installing an empty pool when the slot is empty. key, key->cache and
 * key->spare may be NULL. */
void *pool_take(const struct mech_key *key, const struct pool_kind *kind, unsigned variant,
                struct mech_pool **pool);
/* Returns item to pool (or frees it when the pool is gone or full) and drops the reference
 * pool_take gave. keep = false frees the item (e.g. it was left in a state not worth
 * resetting). pool NULL: the item is freed. */
void pool_give(struct mech_pool *pool, const struct pool_kind *kind, void *item, bool keep);
#endif
