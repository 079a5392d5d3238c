/* Key bytes live in locked memory that is left out of core dumps: every path that holds a
 * secret (secure allocations, secret attributes, sealed-then-opened objects, the token's key
 * set) is checked against the kernel's own view of the mapping in /proc/self/smaps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "base/mem.h"
#include "base/ossl.h"
#include "object/attr.h"
#include "store/seal.h"

/* AddressSanitizer and ThreadSanitizer intercept mlock() and do nothing, so locking cannot be observed in an
 * ASan build; exclusion from core dumps still can. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define LOCKING_OBSERVABLE 0
#else
#define LOCKING_OBSERVABLE 1
#endif

/* Whether the mapping that holds p is locked (VmFlags "lo") and not dumped ("dd"). */
static void mapping_flags(const void *p, int *locked, int *dontdump)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    assert_non_null(f);
    char line[512];
    int inside = 0;
    *locked = *dontdump = -1;
    uintptr_t a = (uintptr_t)p;
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' ')) {
            inside = a >= lo && a < hi;
            continue;
        }
        if (inside && !strncmp(line, "VmFlags:", 8)) {
            *locked = strstr(line, " lo") != NULL;
            *dontdump = strstr(line, " dd") != NULL;
            break;
        }
    }
    fclose(f);
    assert_true(*locked >= 0);
}

static int setup(void **state)
{
    (void)state;
    return secmem_init() || ossl_open() ? -1 : 0;
}

static void test_secure_alloc_is_locked_and_undumped(void **state)
{
    (void)state;
    uint8_t *k = secmem_alloc(32);
    assert_non_null(k);
    memset(k, 0xA5, 32);
    int lo, dd;
    mapping_flags(k, &lo, &dd);
    if (LOCKING_OBSERVABLE)
        assert_int_equal(lo, 1);
    assert_int_equal(dd, 1);
    secmem_free(k);
    /* The control: ordinary heap memory is neither, so the check can tell them apart. */
    char *heap = malloc(64);
    mapping_flags(heap, &lo, &dd);
    assert_int_equal(lo, 0);
    free(heap);
}

static void test_secret_attributes_go_to_secure_memory(void **state)
{
    (void)state;
    attrs_t a;
    attrs_init(&a);
    const uint8_t value[32] = { 1, 2, 3 };
    assert_int_equal(attrs_set(&a, CKA_VALUE, value, sizeof value, true), CKR_OK);
    assert_int_equal(attrs_set(&a, CKA_LABEL, "label", 5, false), CKR_OK);
    int lo, dd;
    mapping_flags(attrs_get(&a, CKA_VALUE)->val, &lo, &dd);
    if (LOCKING_OBSERVABLE)
        assert_int_equal(lo, 1);
    assert_int_equal(dd, 1);
    mapping_flags(attrs_get(&a, CKA_LABEL)->val, &lo, &dd);
    assert_int_equal(lo, 0);
    attrs_free(&a);
}

static void test_unsealed_key_and_token_keys_are_locked(void **state)
{
    (void)state;
    uint8_t tk[32] = { 9 }, uuid[16] = { 1 };
    struct seal_keys *k = seal_keys_new(tk);
    assert_non_null(k);
    int lo, dd;
    mapping_flags(k, &lo, &dd);
    if (LOCKING_OBSERVABLE)
        assert_int_equal(lo, 1);
    assert_int_equal(dd, 1);
    /* A secret key sealed and opened again: its value comes back in secure memory. */
    attrs_t obj, out;
    attrs_init(&obj);
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_KEY_TYPE kt = CKK_AES;
    const uint8_t v[32] = { 0xC3, 0x5A };
    attrs_set(&obj, CKA_CLASS, &cls, sizeof cls, false);
    attrs_set(&obj, CKA_KEY_TYPE, &kt, sizeof kt, false);
    attrs_set_bool(&obj, CKA_PRIVATE, false);
    attrs_set(&obj, CKA_VALUE, v, sizeof v, true);
    char uid[UID_LEN + 1];
    memset(uid, 'a', UID_LEN);
    uid[UID_LEN] = 0;
    struct object_record r = { 0 };
    assert_int_equal(seal_object(k, uuid, uid, &obj, &r), CKR_OK);
    bool loaded;
    assert_int_equal(unseal_object(k, uuid, &r, &out, &loaded), CKR_OK);
    assert_true(loaded);
    const attr_t *val = attrs_get(&out, CKA_VALUE);
    assert_non_null(val);
    assert_memory_equal(val->val, v, sizeof v);
    mapping_flags(val->val, &lo, &dd);
    if (LOCKING_OBSERVABLE)
        assert_int_equal(lo, 1);
    assert_int_equal(dd, 1);
    /* Nothing of the value is in the sealed record. */
    assert_null(memmem(r.secret, r.secret_len, v, 8));
    assert_null(memmem(r.attrs, r.attrs_len, v, 8));
    store_record_free(&r);
    attrs_free(&obj);
    attrs_free(&out);
    seal_keys_free(k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_secure_alloc_is_locked_and_undumped),
        cmocka_unit_test(test_secret_attributes_go_to_secure_memory),
        cmocka_unit_test(test_unsealed_key_and_token_keys_are_locked),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
