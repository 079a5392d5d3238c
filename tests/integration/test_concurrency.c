/* Several processes on the same token at once (issue 2 "Done when": two
 * processes creating and destroying objects at the same time lose nothing). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define WORKERS 3
#define PER_WORKER 40

static int wait_for_file(const char *path)
{
    struct stat st;
    for (int i = 0; i < 20000; i++) { /* up to ~20 s */
        if (stat(path, &st) == 0)
            return 0;
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    return -1;
}

static int first_slot(CK_SLOT_ID *slot)
{
    CK_SLOT_ID *s = NULL;
    CK_ULONG n = 0;
    CHILD_RV(h_slots(&s, &n), CKR_OK);
    CHILD_TRUE(n >= 2);
    *slot = s[0];
    free(s);
    return 0;
}

/* worker <id> <gofile>: create PER_WORKER token objects, destroy the odd
 * ones, rename the ones divisible by 4. */
static int child_worker(int id, const char *gofile)
{
    CK_SLOT_ID slot;
    CK_SESSION_HANDLE h;
    CK_OBJECT_HANDLE objs[PER_WORKER];
    CHILD_RV(F->C_Initialize(NULL), CKR_OK);
    if (first_slot(&slot))
        return 1;
    CHILD_RV(h_open_login(slot, 1, CKU_USER, &h), CKR_OK);
    CHILD_TRUE(wait_for_file(gofile) == 0);
    for (int i = 0; i < PER_WORKER; i++) {
        char label[32], value[32];
        snprintf(label, sizeof(label), "w%d-%d", id, i);
        snprintf(value, sizeof(value), "value %d/%d", id, i);
        CHILD_RV(h_create_data(h, CK_TRUE, i % 3 == 0, label, value, strlen(value), &objs[i]),
                 CKR_OK);
        if (i % 2 == 1)
            CHILD_RV(F->C_DestroyObject(h, objs[i]), CKR_OK);
    }
    for (int i = 0; i < PER_WORKER; i += 4) {
        char label[32];
        snprintf(label, sizeof(label), "w%d-%d-r", id, i);
        CK_ATTRIBUTE a = {CKA_LABEL, label, strlen(label)};
        CHILD_RV(F->C_SetAttributeValue(h, objs[i], &a, 1), CKR_OK);
    }
    CHILD_RV(F->C_Finalize(NULL), CKR_OK);
    return 0;
}

/* create <label>: one public token object. */
static int child_create(const char *label)
{
    CK_SLOT_ID slot;
    CK_SESSION_HANDLE h;
    CK_OBJECT_HANDLE o;
    CHILD_RV(F->C_Initialize(NULL), CKR_OK);
    if (first_slot(&slot))
        return 1;
    CHILD_RV(h_open_login(slot, 1, CKU_USER, &h), CKR_OK);
    CHILD_RV(h_create_data(h, CK_TRUE, CK_FALSE, label, "child", 5, &o), CKR_OK);
    CHILD_RV(F->C_Finalize(NULL), CKR_OK);
    return 0;
}

/* count <label> <n>: expect n objects with that label. */
static int child_count(const char *label, int want)
{
    CK_SLOT_ID slot;
    CK_SESSION_HANDLE h;
    CHILD_RV(F->C_Initialize(NULL), CKR_OK);
    if (first_slot(&slot))
        return 1;
    CHILD_RV(h_open_login(slot, 0, CKU_USER, &h), CKR_OK);
    CK_ULONG n = h_count_label(h, label);
    if (n != (CK_ULONG)want) {
        fprintf(stderr, "count %s: got %lu want %d\n", label, (unsigned long)n, want);
        return 1;
    }
    CHILD_RV(F->C_Finalize(NULL), CKR_OK);
    return 0;
}

static int child_main(int argc, char **argv)
{
    h_load();
    if (strcmp(argv[1], "worker") == 0 && argc == 4)
        return child_worker(atoi(argv[2]), argv[3]);
    if (strcmp(argv[1], "create") == 0 && argc == 3)
        return child_create(argv[2]);
    if (strcmp(argv[1], "count") == 0 && argc == 4)
        return child_count(argv[2], atoi(argv[3]));
    fprintf(stderr, "bad child args\n");
    return 2;
}

static void test_concurrent_create_destroy(void **state)
{
    h_fixture *fx = *state;
    assert_ok(h_setup_token(&fx->slot));
    assert_ok(F->C_Finalize(NULL));

    char gofile[PATH_MAX + 8];
    snprintf(gofile, sizeof(gofile), "%s/go", fx->env.dir);
    pid_t pids[WORKERS];
    for (int w = 0; w < WORKERS; w++) {
        char id[8];
        snprintf(id, sizeof(id), "%d", w);
        pids[w] = h_run_self("worker", id, gofile, NULL);
        assert_true(pids[w] > 0);
    }
    /* Let all of them reach the start line, then go. */
    struct timespec ts = {0, 300000000};
    nanosleep(&ts, NULL);
    FILE *f = fopen(gofile, "w");
    assert_non_null(f);
    fclose(f);
    int failed = 0;
    for (int w = 0; w < WORKERS; w++)
        failed += h_wait(pids[w]) != 0;
    assert_int_equal(failed, 0);

    assert_ok(F->C_Initialize(NULL));
    CK_SESSION_HANDLE h;
    assert_ok(h_open_login(fx->slot, 0, CKU_USER, &h));
    CK_ULONG total = 99;
    assert_ok(h_find(h, NULL, 0, NULL, 0, &total));
    assert_int_equal(total, WORKERS * PER_WORKER / 2);
    for (int w = 0; w < WORKERS; w++) {
        for (int i = 0; i < PER_WORKER; i++) {
            char label[32], value[32], got[32];
            snprintf(label, sizeof(label), i % 4 == 0 ? "w%d-%d-r" : "w%d-%d", w, i);
            CK_ATTRIBUTE t = {CKA_LABEL, label, strlen(label)};
            CK_OBJECT_HANDLE o;
            CK_ULONG n;
            assert_ok(h_find(h, &t, 1, &o, 1, &n));
            if (i % 2 == 1) {
                assert_int_equal(n, 0);
                continue;
            }
            if (n != 1)
                print_error("object %s: found %lu\n", label, (unsigned long)n);
            assert_int_equal(n, 1);
            snprintf(value, sizeof(value), "value %d/%d", w, i);
            CK_ATTRIBUTE g = {CKA_VALUE, got, sizeof(got)};
            assert_ok(F->C_GetAttributeValue(h, o, &g, 1));
            assert_int_equal(g.ulValueLen, strlen(value));
            assert_memory_equal(got, value, strlen(value));
        }
    }
}

/* A running process sees another process's changes without re-initialising. */
static void test_cross_process_visibility(void **state)
{
    h_fixture *fx = *state;
    assert_ok(h_setup_token(&fx->slot));
    CK_SESSION_HANDLE h;
    assert_ok(h_open_login(fx->slot, 1, CKU_USER, &h));

    assert_int_equal(h_wait(h_run_self("create", "from-child", NULL)), 0);
    CK_ATTRIBUTE t = {CKA_LABEL, "from-child", 10};
    CK_OBJECT_HANDLE o;
    CK_ULONG n;
    assert_ok(h_find(h, &t, 1, &o, 1, &n));
    assert_int_equal(n, 1);
    char v[8];
    CK_ATTRIBUTE g = {CKA_VALUE, v, sizeof(v)};
    assert_ok(F->C_GetAttributeValue(h, o, &g, 1));
    assert_int_equal(g.ulValueLen, 5);
    assert_memory_equal(v, "child", 5);

    /* Parent renames and creates; a new process sees both. */
    CK_ATTRIBUTE nl = {CKA_LABEL, "renamed-by-parent", 17};
    assert_ok(F->C_SetAttributeValue(h, o, &nl, 1));
    CK_OBJECT_HANDLE p;
    assert_ok(h_create_data(h, CK_TRUE, CK_TRUE, "from-parent", "p", 1, &p));
    assert_int_equal(h_wait(h_run_self("count", "from-child", "0", NULL)), 0);
    assert_int_equal(h_wait(h_run_self("count", "renamed-by-parent", "1", NULL)), 0);
    assert_int_equal(h_wait(h_run_self("count", "from-parent", "1", NULL)), 0);

    /* Parent destroys; a new process no longer sees it. */
    assert_ok(F->C_DestroyObject(h, p));
    assert_int_equal(h_wait(h_run_self("count", "from-parent", "0", NULL)), 0);

    /* A second child's object appears in the parent's find too. */
    assert_int_equal(h_wait(h_run_self("create", "second", NULL)), 0);
    assert_int_equal(h_count_label(h, "second"), 1);
}

int main(int argc, char **argv)
{
    if (argc > 1)
        return child_main(argc, argv);
    h_load();
#define T(fn) cmocka_unit_test_setup_teardown(fn, h_fixture_setup_bare, h_fixture_teardown)
    const struct CMUnitTest tests[] = {
        T(test_concurrent_create_destroy),
        T(test_cross_process_visibility),
    };
    return cmocka_run_group_tests_name("concurrency", tests, NULL, NULL);
}
