/* The mechanism table: assembled at C_Initialize from every family file linked in. */
#include "mech/mech.h"
#include "base/log.h"

#include <stdlib.h>

/* Family tables are weak so that each family lands on its own; the table holds only what is
 * present, and C_GetMechanismList never offers a mechanism that is not there. */
#define FAMILY(name) extern const struct mech_table name __attribute__((weak));
FAMILY(mech_digest_table)
FAMILY(mech_hmac_table)
FAMILY(mech_aes_table)
FAMILY(mech_chacha_table)
FAMILY(mech_rsa_table)
FAMILY(mech_ec_table)
FAMILY(mech_eddsa_table)
FAMILY(mech_kdf_table)
#undef FAMILY

static const struct mech_table *const *families(size_t *n)
{
    static const struct mech_table *list[8];
    size_t k = 0;
    const struct mech_table *all[] = { &mech_digest_table, &mech_hmac_table, &mech_aes_table,
                                       &mech_chacha_table, &mech_rsa_table, &mech_ec_table,
                                       &mech_eddsa_table, &mech_kdf_table };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (all[i])
            list[k++] = all[i];
    *n = k;
    return list;
}

static struct {
    const struct mech_def **defs;
    size_t n;
} g_mech;

static int by_type(const void *a, const void *b)
{
    CK_MECHANISM_TYPE x = (*(const struct mech_def *const *)a)->type;
    CK_MECHANISM_TYPE y = (*(const struct mech_def *const *)b)->type;
    return x < y ? -1 : x > y;
}

int mech_setup(void)
{
    size_t nf, total = 0;
    const struct mech_table *const *f = families(&nf);
    for (size_t i = 0; i < nf; i++) {
        if (f[i]->setup && f[i]->setup()) {
            LOG_ERR("mechanism family %zu failed to set up", i);
            for (size_t j = 0; j < i; j++)
                if (f[j]->teardown)
                    f[j]->teardown();
            return -1;
        }
        total += f[i]->n;
    }
    g_mech.defs = calloc(total ? total : 1, sizeof(const struct mech_def *));
    if (!g_mech.defs)
        return -1;
    g_mech.n = 0;
    for (size_t i = 0; i < nf; i++)
        for (size_t j = 0; j < f[i]->n; j++)
            g_mech.defs[g_mech.n++] = &f[i]->defs[j];
    /* Sorted by type: C_GetMechanismList lists in order and lookups are a binary search. */
    qsort(g_mech.defs, g_mech.n, sizeof(const struct mech_def *), by_type);
    for (size_t i = 1; i < g_mech.n; i++)
        if (g_mech.defs[i]->type == g_mech.defs[i - 1]->type)
            LOG_ERR("mechanism 0x%lx is registered twice", (unsigned long)g_mech.defs[i]->type);
    return 0;
}

/* The last definitions found, by a hash of the type: an operation's init asks for the same
 * few mechanisms again and again. Entries are whole pointers into the static tables, stored
 * and read atomically, so racing threads see either an old or a new entry, both valid. */
#define HOT_SLOTS 64
static const struct mech_def *g_hot[HOT_SLOTS];

static size_t hot_slot(CK_MECHANISM_TYPE type)
{
    return (size_t)((type * 2654435761u) >> 7) % HOT_SLOTS;
}

void mech_teardown(void)
{
    for (size_t i = 0; i < HOT_SLOTS; i++)
        __atomic_store_n(&g_hot[i], NULL, __ATOMIC_RELEASE);
    size_t nf;
    const struct mech_table *const *f = families(&nf);
    for (size_t i = 0; i < nf; i++)
        if (f[i]->teardown)
            f[i]->teardown();
    free(g_mech.defs);
    g_mech.defs = NULL;
    g_mech.n = 0;
}

static const struct mech_def *mech_search(CK_MECHANISM_TYPE type);

const struct mech_def *mech_find(CK_MECHANISM_TYPE type)
{
    size_t h = hot_slot(type);
    const struct mech_def *d = __atomic_load_n(&g_hot[h], __ATOMIC_ACQUIRE);
    if (d && d->type == type)
        return d;
    if ((d = mech_search(type)))
        __atomic_store_n(&g_hot[h], d, __ATOMIC_RELEASE);
    return d;
}

static const struct mech_def *mech_search(CK_MECHANISM_TYPE type)
{
    size_t lo = 0, hi = g_mech.n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        CK_MECHANISM_TYPE t = g_mech.defs[mid]->type;
        if (t == type)
            return g_mech.defs[mid];
        if (t < type)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

void mech_cache_free(void *cache)
{
    if (cache)
        ((struct mech_cache_hdr *)cache)->destroy(cache);
}

size_t mech_count(void)
{
    return g_mech.n;
}

const struct mech_def *mech_at(size_t i)
{
    return i < g_mech.n ? g_mech.defs[i] : NULL;
}
