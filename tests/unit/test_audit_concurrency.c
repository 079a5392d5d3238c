/* Audit log under concurrency: 4 threads and 3 processes append to one chain, with rotation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "audit/audit.h"
#include "base/mem.h"
#include "base/ossl.h"

#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define SLOT 1UL
#define FX_DIR "/tmp/craton-audit-conc-XXXXXX"
#include "audit_fixture.h"
#define THREADS 4
#define PROCS 3
#define PER_THREAD 150
#define PER_PROC 200

struct targ {
    audit_log_t *log;
    int id;
    int fails;
};

static void *thread_main(void *p)
{
    struct targ *a = p;
    for (int i = 0; i < PER_THREAD; i++) {
        char uid[48];
        snprintf(uid, sizeof uid, "t%d-%d", a->id, i);
        struct audit_event ev = { SLOT, (unsigned long)a->id, 1, "C_Sign", 0x1041, uid, CKR_OK,
                                  true };
        if (audit_append(a->log, &ev) != CKR_OK)
            a->fails++;
    }
    return NULL;
}

static int child_main(const char *dir, int id, const struct audit_config *c)
{
    audit_log_t *log;
    if (audit_open(dir, SLOT, "conc", c, &log) != CKR_OK)
        return 10;
    for (int i = 0; i < PER_PROC; i++) {
        char uid[48];
        snprintf(uid, sizeof uid, "p%d-%d", id, i);
        /* a mix of per-use and admin records, so tail anchoring runs concurrently too */
        struct audit_event ev = { SLOT, 100 + (unsigned long)id, 1, i % 50 ? "C_Sign" : "C_Login",
                                  0x1041, uid, CKR_OK, i % 50 != 0 };
        if (audit_append(log, &ev) != CKR_OK)
            return 11;
    }
    audit_close(log);
    return 0;
}

struct tally {
    int total, threads[THREADS], procs[PROCS], genesis;
    unsigned long long last;
    int out_of_order;
};

static int tally_one(const struct audit_record *r, void *arg)
{
    struct tally *t = arg;
    int a, b;
    if (t->total && r->seq != t->last + 1)
        t->out_of_order++;
    t->last = r->seq;
    t->total++;
    if (!strcmp(r->op, "audit.genesis"))
        t->genesis++;
    else if (r->has_object && sscanf(r->object, "t%d-%d", &a, &b) == 2 && a >= 0 && a < THREADS)
        t->threads[a]++;
    else if (r->has_object && sscanf(r->object, "p%d-%d", &a, &b) == 2 && a >= 0 && a < PROCS)
        t->procs[a]++;
    return 0;
}

enum mode { SYNC_NONE, SYNC_ALWAYS };

static void run(enum mode mode, unsigned long rotate)
{
    char dir[64] = "/tmp/craton-audit-conc-XXXXXX";
    assert_non_null(mkdtemp(dir));
    struct audit_config c;
    audit_config_defaults(&c);
    c.sync = c.sync_per_use = mode == SYNC_ALWAYS ? AUDIT_SYNC_ALWAYS : AUDIT_SYNC_NONE;
    c.rotate_bytes = rotate;
    audit_log_t *log;
    assert_int_equal(audit_open(dir, SLOT, "conc", &c, &log), CKR_OK);
    unsigned long long f0 = audit_fsync_count(log);

    pid_t kids[PROCS];
    for (int i = 0; i < PROCS; i++) {
        kids[i] = fork();
        assert_true(kids[i] >= 0);
        if (kids[i] == 0) {
            /* the child never uses the parent's handle; it opens its own */
            audit_forget_after_fork(log);
            _exit(child_main(dir, i, &c));
        }
    }
    pthread_t tid[THREADS];
    struct targ args[THREADS];
    for (int i = 0; i < THREADS; i++) {
        args[i] = (struct targ){ log, i, 0 };
        assert_int_equal(pthread_create(&tid[i], NULL, thread_main, &args[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(pthread_join(tid[i], NULL), 0);
        assert_int_equal(args[i].fails, 0);
    }
    for (int i = 0; i < PROCS; i++) {
        int st;
        assert_int_equal(waitpid(kids[i], &st, 0), kids[i]);
        assert_true(WIFEXITED(st));
        assert_int_equal(WEXITSTATUS(st), 0);
    }
    unsigned long long fsyncs = audit_fsync_count(log) - f0;
    audit_close(log);
    if (mode == SYNC_ALWAYS) {
        /* every append waited for an fsync, and group commit never does more than one each */
        assert_true(fsyncs >= 1);
        assert_true(fsyncs <= THREADS * PER_THREAD);
        print_message("sync=always: %llu fsyncs for %d appends from 4 threads\n", fsyncs,
                      THREADS * PER_THREAD);
    }

    struct audit_verify_result v;
    assert_int_equal(audit_verify(dir, SLOT, &v), CKR_OK);
    if (!v.ok)
        print_error("verify: seq %llu: %s\n", v.bad_seq, v.why);
    assert_true(v.ok);
    const int expect = 1 + THREADS * PER_THREAD + PROCS * PER_PROC;
    assert_int_equal(v.records, expect);
    struct tally t;
    memset(&t, 0, sizeof t);
    assert_int_equal(audit_foreach(dir, SLOT, tally_one, &t), CKR_OK);
    assert_int_equal(t.total, expect);
    assert_int_equal(t.genesis, 1);
    assert_int_equal(t.out_of_order, 0);
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(t.threads[i], PER_THREAD);
    for (int i = 0; i < PROCS; i++)
        assert_int_equal(t.procs[i], PER_PROC);
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void test_threads_and_processes_sync_none(void **state)
{
    (void)state;
    run(SYNC_NONE, 0);
}

static void test_threads_and_processes_rotating(void **state)
{
    (void)state;
    run(SYNC_NONE, 8192);
}

static void test_threads_and_processes_sync_always(void **state)
{
    (void)state;
    run(SYNC_ALWAYS, 32768);
}

int main(void)
{
    if (secmem_init() || ossl_open())
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threads_and_processes_sync_none),
        cmocka_unit_test(test_threads_and_processes_rotating),
        cmocka_unit_test(test_threads_and_processes_sync_always),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    ossl_close();
    return rc;
}
