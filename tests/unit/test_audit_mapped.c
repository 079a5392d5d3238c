/* Audit log written through a shared mapping: zero-filled room, torn records, trimming,
 * state shared between processes, record bytes, and sync_objects. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "audit/audit.h"
#include "audit/record.h"
#include "audit/writer.h"
#include "base/mem.h"
#include "base/ossl.h"

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SLOT 5UL
#define FX_DIR "/tmp/craton-audit-map-XXXXXX"
#include "audit_fixture.h"

/* cfg_fast, and object records not fsynced either. */
static struct audit_config cfg_quiet(void)
{
    struct audit_config c = cfg_fast();
    c.sync_objects = AUDIT_SYNC_NONE;
    return c;
}

static void append_n(audit_log_t *log, int n, const char *tag)
{
    for (int i = 0; i < n; i++) {
        char uid[32];
        snprintf(uid, sizeof uid, "%s-%d", tag, i);
        struct audit_event ev = sign_event(uid);
        assert_int_equal(audit_append(log, &ev), CKR_OK);
    }
}

static struct audit_verify_result verify(const char *dir)
{
    struct audit_verify_result r;
    assert_int_equal(audit_verify(dir, SLOT, &r), CKR_OK);
    if (!r.ok)
        print_error("verify: seq %llu: %s\n", r.bad_seq, r.why);
    return r;
}

static off_t file_size(const char *path)
{
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    return sb.st_size;
}

/* The whole file; *len its size. */
static char *slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    assert_int_equal(fread(b, 1, (size_t)n, fp), (size_t)n);
    fclose(fp);
    b[n] = 0;
    *len = (size_t)n;
    return b;
}

static int count_lines(const char *path)
{
    size_t n;
    char *b = slurp(path, &n);
    int lines = 0;
    for (size_t i = 0; i < n; i++)
        lines += b[i] == '\n';
    assert_null(memchr(b, 0, n)); /* only called on trimmed files */
    free(b);
    return lines;
}

/* While a writer has the file open it holds zero-filled room after the last record; readers
 * stop there, and closing cuts it off. */
static void test_room_is_read_as_end_and_trimmed_on_close(void **state)
{
    struct fx *f = *state;
    struct audit_config c = cfg_quiet();
    audit_log_t *log;
    assert_int_equal(audit_open(f->dir, SLOT, "t", &c, &log), CKR_OK);
    append_n(log, 10, "a");
    assert_true(file_size(f->log) >= 1 << 20); /* grown ahead, not per record */
    struct audit_verify_result v = verify(f->dir);
    assert_true(v.ok);
    assert_int_equal(v.records, 11);
    audit_close(log);
    assert_true(file_size(f->log) < 8192);
    assert_int_equal(count_lines(f->log), 11);
    v = verify(f->dir);
    assert_true(v.ok);
    assert_int_equal(v.records, 11);
}

/* A crash mid-copy: part of a record, with holes, then the zero room. The next writer drops
 * it and goes on after the last whole record. */
static void test_torn_record_with_holes_and_room_recovered(void **state)
{
    struct fx *f = *state;
    struct audit_config c = cfg_quiet();
    audit_log_t *log;
    assert_int_equal(audit_open(f->dir, SLOT, "t", &c, &log), CKR_OK);
    append_n(log, 3, "a");
    audit_close(log);
    off_t end = file_size(f->log);
    int fd = open(f->log, O_WRONLY);
    assert_true(fd >= 0);
    /* the tail of a record stored before its head: a line with zeros in it, then room */
    static const char part[] = "\0\0\0\0\0\0\0\0\0\0\0\0,\"op\":\"C_Sign\",\"hash\":\"00\"}\n";
    assert_int_equal(pwrite(fd, part, sizeof part - 1, end), (ssize_t)sizeof part - 1);
    assert_int_equal(ftruncate(fd, end + 65536), 0);
    close(fd);
    /* It starts with a zero byte, like a record being copied: the data ends before it. */
    struct audit_verify_result v = verify(f->dir);
    assert_true(v.ok);
    assert_int_equal(v.records, 4);
    assert_int_equal(audit_open(f->dir, SLOT, "t", &c, &log), CKR_OK);
    append_n(log, 2, "b");
    audit_close(log);
    assert_int_equal(count_lines(f->log), 6);
    v = verify(f->dir);
    assert_true(v.ok);
    assert_int_equal(v.records, 6);
}

/* Zeros first and a record after them is not the end of the data: it is reported. */
static void test_record_after_zeros_is_malformed(void **state)
{
    struct fx *f = *state;
    struct audit_config c = cfg_quiet();
    audit_log_t *log;
    assert_int_equal(audit_open(f->dir, SLOT, "t", &c, &log), CKR_OK);
    append_n(log, 4, "a");
    audit_close(log);
    size_t n;
    char *b = slurp(f->log, &n);
    char *third = strstr(b, "{\"seq\":2,");
    assert_non_null(third);
    third[0] = 0; /* hide record 2 behind a zero byte; 3 and 4 still follow */
    FILE *fp = fopen(f->log, "wb");
    fwrite(b, 1, n, fp);
    fclose(fp);
    free(b);
    struct audit_verify_result v = verify(f->dir);
    assert_false(v.ok);
    assert_int_equal(v.bad_seq, 2);
}

/* Within the check interval a writer does not look at the file: a deleted active file is
 * noticed at the next check, not at the next append. */
static void test_no_fstat_per_append(void **state)
{
    struct fx *f = *state;
    struct audit_config c = cfg_quiet();
    audit_log_t *log;
    assert_int_equal(audit_open(f->dir, SLOT, "t", &c, &log), CKR_OK);
    append_n(log, 2, "a");
    assert_int_equal(unlink(f->log), 0);
    append_n(log, 1, "b");
    assert_int_not_equal(access(f->log, F_OK), 0); /* written to the file it had */
    usleep(150 * 1000);
    append_n(log, 1, "c");
    assert_int_equal(access(f->log, F_OK), 0); /* the check found the path empty */
    audit_close(log);
}

/* Two processes interleave appends, each within the other's check interval: each chains on
 * the other's record from the shared state. */
static void test_other_process_record_chained(void **state)
{
    struct fx *f = *state;
    struct audit_config c = cfg_quiet();
    audit_log_t *log;
    assert_int_equal(audit_open(f->dir, SLOT, "t", &c, &log), CKR_OK);
    int to_child[2], to_parent[2];
    assert_int_equal(pipe(to_child), 0);
    assert_int_equal(pipe(to_parent), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        audit_forget_after_fork(log);
        audit_log_t *mine;
        char tok;
        int rc = audit_open(f->dir, SLOT, "t", &c, &mine) == CKR_OK ? 0 : 10;
        for (int i = 0; i < 20 && !rc; i++) {
            if (read(to_child[0], &tok, 1) != 1)
                rc = 11;
            struct audit_event ev = sign_event("child");
            if (!rc && audit_append(mine, &ev) != CKR_OK)
                rc = 12;
            if (write(to_parent[1], "x", 1) != 1)
                rc = 13;
        }
        if (!rc)
            audit_close(mine);
        _exit(rc);
    }
    char tok;
    for (int i = 0; i < 20; i++) {
        append_n(log, 1, "parent");
        assert_int_equal(write(to_child[1], "x", 1), 1);
        assert_int_equal(read(to_parent[0], &tok, 1), 1);
    }
    append_n(log, 1, "parent-last");
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    unsigned long long seq;
    uint8_t h[32];
    audit_last(log, &seq, h);
    assert_int_equal(seq, 41);
    audit_close(log);
    struct audit_verify_result v = verify(f->dir);
    assert_true(v.ok);
    assert_int_equal(v.records, 42);
    close(to_child[0]);
    close(to_child[1]);
    close(to_parent[0]);
    close(to_parent[1]);
}

/* A writer dies holding the lock, halfway through a record: the next one recovers. */
static void test_writer_died_mid_record(void **state)
{
    struct fx *f = *state;
    struct audit_config c = cfg_quiet();
    audit_log_t *log;
    assert_int_equal(audit_open(f->dir, SLOT, "t", &c, &log), CKR_OK);
    append_n(log, 3, "a");
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        audit_forget_after_fork(log);
        audit_log_t *mine;
        if (audit_open(f->dir, SLOT, "t", &c, &mine) != CKR_OK)
            _exit(10);
        pthread_mutex_lock(&mine->mu);
        if (aw_lock(mine) != CKR_OK || aw_prepare(mine) != CKR_OK)
            _exit(11);
        static const char part[] = "{\"seq\":4,\"time\":\"2024-01-01T00:00";
        if (pwrite(mine->fd, part, sizeof part - 1, mine->cache_size) != (ssize_t)sizeof part - 1)
            _exit(12);
        _exit(0); /* with the lock held */
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_int_equal(WEXITSTATUS(st), 0);
    append_n(log, 2, "b");
    audit_close(log);
    assert_int_equal(count_lines(f->log), 6);
    struct audit_verify_result v = verify(f->dir);
    assert_true(v.ok);
    assert_int_equal(v.records, 6);
}

/* Rotated files hold whole records only, and the chain runs through them. */
static void test_rotation_trims_rotated_files(void **state)
{
    struct fx *f = *state;
    struct audit_config c = cfg_quiet();
    c.rotate_bytes = 4096;
    audit_log_t *log;
    assert_int_equal(audit_open(f->dir, SLOT, "t", &c, &log), CKR_OK);
    append_n(log, 60, "r");
    struct rot_file *rf;
    int n = rec_list_rotated(f->dir, SLOT, &rf);
    assert_true(n >= 3);
    int lines = 0;
    for (int i = 0; i < n; i++) {
        assert_true(file_size(rf[i].path) <= 4096);
        lines += count_lines(rf[i].path);
    }
    rec_free_rotated(rf, n);
    assert_true(verify(f->dir).ok);
    audit_close(log);
    lines += count_lines(f->log);
    assert_int_equal(lines, 61);
    struct audit_verify_result v = verify(f->dir);
    assert_true(v.ok);
    assert_int_equal(v.records, 61);
}

/* The record bytes are those of the printf-based writer, byte for byte. */
static void test_record_bytes_unchanged(void **state)
{
    (void)state;
    struct rec_fields fl = { 0 };
    fl.seq = 18446744073709551615ULL;
    snprintf(fl.time, sizeof fl.time, "2024-05-01T12:34:56.000123Z");
    fl.pid = 4242;
    fl.slot = 0;
    fl.session = 4294967296UL;
    fl.user = -7;
    fl.op = "C_\x01Sign\"\\\x7f";
    fl.mech = 0x80000000000001ULL;
    fl.object = NULL;
    fl.result = 0x1234567;
    uint8_t prev[32], h[32];
    for (int i = 0; i < 32; i++)
        prev[i] = (uint8_t)(i * 37);
    char line[AUDIT_LINE_MAX + 1];
    int len = rec_build(line, sizeof line, &fl, prev, NULL, 0, h);
    assert_true(len > 0);
    char want[AUDIT_LINE_MAX + 1];
    int w = snprintf(want, sizeof want,
                     "{\"seq\":%llu,\"time\":\"%s\",\"pid\":%ld,\"slot\":%lu,\"session\":%lu,"
                     "\"user\":\"%ld\",\"op\":\"C_\\u0001Sign\\\"\\\\\\u007f\",\"mech\":\"0x%08lx\","
                     "\"object\":null,\"result\":\"0x%08lx\",\"prev\":\"",
                     fl.seq, fl.time, fl.pid, fl.slot, fl.session, fl.user, fl.mech, fl.result);
    for (int i = 0; i < 32; i++)
        w += snprintf(want + w, sizeof want - (size_t)w, "%02x", prev[i]);
    w += snprintf(want + w, sizeof want - (size_t)w, "\",\"hash\":\"");
    for (int i = 0; i < 32; i++)
        w += snprintf(want + w, sizeof want - (size_t)w, "%02x", h[i]);
    w += snprintf(want + w, sizeof want - (size_t)w, "\"}\n");
    assert_int_equal(len, w);
    assert_memory_equal(line, want, (size_t)w);

    fl.user = 1;
    fl.mech = 0x1041;
    fl.result = CKR_PIN_INCORRECT;
    fl.object = "uid";
    len = rec_build(line, sizeof line, &fl, prev, NULL, 0, h);
    assert_non_null(strstr(line, "\"user\":\"user\",\"op\":"));
    assert_non_null(strstr(line, "\"mech\":\"0x00001041\",\"object\":\"uid\","
                                 "\"result\":\"CKR_PIN_INCORRECT\","));
}

/* The cached date is gmtime's, across second boundaries. */
static void test_time_format(void **state)
{
    (void)state;
    struct rec_clock clk = { .sec = -1 };
    for (int i = 0; i < 3; i++) {
        char t[32], want[32];
        struct timespec a, b;
        clock_gettime(CLOCK_REALTIME, &a);
        rec_time_now(&clk, t);
        clock_gettime(CLOCK_REALTIME, &b);
        assert_int_equal(strlen(t), 27);
        assert_int_equal(t[26], 'Z');
        struct tm tm;
        time_t s = (time_t)clk.sec;
        assert_true(clk.sec == a.tv_sec || clk.sec == b.tv_sec);
        gmtime_r(&s, &tm);
        strftime(want, sizeof want, "%Y-%m-%dT%H:%M:%S", &tm);
        assert_memory_equal(t, want, 19);
        usleep(600 * 1000);
    }
    char t[32]; /* without a cache */
    rec_time_now(NULL, t);
    assert_int_equal(strlen(t), 27);
    assert_int_equal(t[10], 'T');
}

/* sync_objects: records naming an object (no key use) follow it, not sync. */
static void test_sync_objects(void **state)
{
    struct fx *f = *state;
    struct audit_config c;
    audit_config_defaults(&c);
    assert_int_equal(c.sync, AUDIT_SYNC_ALWAYS);
    assert_int_equal(c.sync_objects, AUDIT_SYNC_INTERVAL);
    c.interval_ms = 3600000;
    audit_log_t *log;
    assert_int_equal(audit_open(f->dir, SLOT, "t", &c, &log), CKR_OK);
    struct audit_event create = { SLOT, 2, 1, "C_CreateObject", ~0UL, "uid-1", CKR_OK, false };
    struct audit_event login = { SLOT, 2, 1, "C_Login", ~0UL, NULL, CKR_OK, false };
    unsigned long long before = audit_fsync_count(log);
    for (int i = 0; i < 5; i++)
        assert_int_equal(audit_append(log, &create), CKR_OK);
    assert_int_equal(audit_fsync_count(log), before);
    assert_int_equal(audit_append(log, &login), CKR_OK);
    assert_int_equal(audit_fsync_count(log), before + 1);
    audit_close(log);

    c.sync_objects = AUDIT_SYNC_ALWAYS;
    c.sync = AUDIT_SYNC_NONE;
    assert_int_equal(audit_open(f->dir, SLOT, "t", &c, &log), CKR_OK);
    before = audit_fsync_count(log);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(audit_append(log, &create), CKR_OK);
        assert_int_equal(audit_fsync_count(log), before + (unsigned long long)i + 1);
    }
    assert_int_equal(audit_append(log, &login), CKR_OK);
    assert_int_equal(audit_fsync_count(log), before + 3);
    audit_close(log);
    assert_true(verify(f->dir).ok);

    char ini[160];
    snprintf(ini, sizeof ini, "%s/c.ini", f->dir);
    FILE *fp = fopen(ini, "w");
    fputs("[audit]\nsync_objects = none\n", fp);
    fclose(fp);
    char err[256];
    assert_int_equal(audit_config_load(ini, &c, err, sizeof err), CKR_OK);
    assert_int_equal(c.sync_objects, AUDIT_SYNC_NONE);
    assert_int_equal(c.sync, AUDIT_SYNC_ALWAYS);
    assert_int_equal(c.tail_every, 4096);
    fp = fopen(ini, "w");
    fputs("[audit]\nsync_objects = sometimes\n", fp);
    fclose(fp);
    assert_int_equal(audit_config_load(ini, &c, err, sizeof err), CKR_ARGUMENTS_BAD);
    assert_non_null(strstr(err, "audit.sync_objects"));
}

int main(void)
{
    if (secmem_init() || ossl_open())
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_room_is_read_as_end_and_trimmed_on_close, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_torn_record_with_holes_and_room_recovered, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_record_after_zeros_is_malformed, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_no_fstat_per_append, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_other_process_record_chained, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_writer_died_mid_record, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_rotation_trims_rotated_files, fx_setup, fx_teardown),
        cmocka_unit_test(test_record_bytes_unchanged),
        cmocka_unit_test(test_time_format),
        cmocka_unit_test_setup_teardown(test_sync_objects, fx_setup, fx_teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    ossl_close();
    return rc;
}
