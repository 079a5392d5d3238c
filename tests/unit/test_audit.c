/* Audit log: chain format, every kind of tampering, rotation, levels, sync and failures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "audit/audit.h"
#include "audit/record.h"
#include "base/mem.h"
#include "base/ossl.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define SLOT 3UL
#define FX_DIR "/tmp/craton-audit-test-XXXXXX"
#include "audit_fixture.h"


/* genesis + n sign records */
static void write_log(const char *dir, const struct audit_config *c, int n)
{
    audit_log_t *log;
    assert_int_equal(audit_open(dir, SLOT, "label=test;serial=0001", c, &log), CKR_OK);
    for (int i = 0; i < n; i++) {
        char uid[32];
        snprintf(uid, sizeof uid, "uid-%d", i);
        struct audit_event ev = sign_event(uid);
        assert_int_equal(audit_append(log, &ev), CKR_OK);
    }
    audit_close(log);
}

/* The file as lines (each keeps its '\n'). */
static int read_lines(const char *path, char ***out)
{
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    char **lines = NULL;
    int n = 0;
    char *buf = NULL;
    size_t cap = 0;
    while (getline(&buf, &cap, fp) > 0) {
        lines = realloc(lines, (size_t)(n + 1) * sizeof *lines);
        lines[n++] = strdup(buf);
    }
    free(buf);
    fclose(fp);
    *out = lines;
    return n;
}

static void write_lines(const char *path, char **lines, int n)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    for (int i = 0; i < n; i++)
        if (lines[i])
            fputs(lines[i], fp);
    fclose(fp);
}

static void free_lines(char **lines, int n)
{
    for (int i = 0; i < n; i++)
        free(lines[i]);
    free(lines);
}

static struct audit_verify_result verify(const char *dir)
{
    struct audit_verify_result r;
    assert_int_equal(audit_verify(dir, SLOT, &r), CKR_OK);
    return r;
}

static void expect_bad(const char *dir, unsigned long long seq, const char *why_part)
{
    struct audit_verify_result r = verify(dir);
    if (r.ok || r.bad_seq != seq || !strstr(r.why, why_part))
        print_error("got ok=%d bad_seq=%llu why=%s\n", r.ok, r.bad_seq, r.why);
    assert_false(r.ok);
    assert_int_equal(r.bad_seq, seq);
    assert_non_null(strstr(r.why, why_part));
}

static void make_token_db(const char *dir)
{
    char path[256];
    sqlite3 *db;
    snprintf(path, sizeof path, "%s/slot-%lu.db", dir, SLOT);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "PRAGMA journal_mode=WAL; CREATE TABLE token (id INTEGER);",
                                  NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

/* A writer trusts the state its peers leave in the lock file and looks at the file itself
 * only every 100 ms (or 4096 appends): out-of-band changes are noticed after that. */
static void past_file_check(void)
{
    usleep(150 * 1000);
}

/* ---- format ---- */

static void test_format_and_genesis(void **state)
{
    struct fx *f = *state;
    struct audit_config c = cfg_fast();
    write_log(f->dir, &c, 3);
    struct stat sb;
    assert_int_equal(stat(f->log, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    char **l;
    int n = read_lines(f->log, &l);
    assert_int_equal(n, 4);
    assert_non_null(strstr(l[0], "{\"seq\":0,\"time\":\""));
    assert_non_null(strstr(l[0], "\"op\":\"audit.genesis\""));
    assert_non_null(strstr(l[0], "\"object\":\"chain=sha256;token=label=test;serial=0001\""));
    assert_non_null(strstr(l[0], "\"prev\":\"0000000000000000000000000000000000000000000000000000000000000000\""));
    /* fixed field order, CKR_ name, mechanism in hex, user type by name */
    const char *order[] = { "{\"seq\":2,", "\"time\":", "\"pid\":", "\"slot\":3,", "\"session\":7,",
                            "\"user\":\"user\",", "\"op\":\"C_Sign\",", "\"mech\":\"0x00001041\",",
                            "\"object\":\"uid-1\",", "\"result\":\"CKR_OK\",", "\"prev\":\"",
                            "\"hash\":\"" };
    const char *p = l[2];
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        const char *q = strstr(p, order[i]);
        assert_non_null(q);
        p = q;
    }
    /* H_n = SHA-256(H_{n-1} || canonical bytes before ,"hash") */
    struct audit_record r1, r2;
    assert_int_equal(rec_parse(l[1], strlen(l[1]) - 1, &r1), 0);
    assert_int_equal(rec_parse(l[2], strlen(l[2]) - 1, &r2), 0);
    assert_memory_equal(r2.prev, r1.hash, 32);
    uint8_t h[32];
    size_t canon = (size_t)(strstr(l[2], ",\"hash\":") - l[2]);
    assert_int_equal(canon, r2.canon_len);
    assert_int_equal(ossl_sha256(r1.hash, 32, l[2], canon, h), 0);
    assert_memory_equal(h, r2.hash, 32);
    /* time: UTC with microseconds */
    assert_int_equal(strlen(r2.time), 27);
    assert_int_equal(r2.time[19], '.');
    assert_int_equal(r2.time[26], 'Z');
    free_lines(l, n);
    struct audit_verify_result v = verify(f->dir);
    assert_true(v.ok);
    assert_int_equal(v.records, 4);
    assert_non_null(strstr(v.why, "tail not checked")); /* no slot-3.db here */
}

static void test_escaping_and_unknown_rv(void **state)
{
    struct fx *f = *state;
    struct audit_config c = cfg_fast();
    audit_log_t *log;
    assert_int_equal(audit_open(f->dir, SLOT, "x\"y\n", &c, &log), CKR_OK);
    struct audit_event ev = { SLOT, 0, -1, "C_Login", ~0UL, "a\\b\"c\x01", 0x80000123UL, false };
    assert_int_equal(audit_append(log, &ev), CKR_OK);
    char big[2000];
    memset(big, '"', sizeof big - 1);
    big[sizeof big - 1] = 0;
    ev.object = big; /* cut, never a failure */
    assert_int_equal(audit_append(log, &ev), CKR_OK);
    audit_close(log);
    char **l;
    int n = read_lines(f->log, &l);
    assert_int_equal(n, 3);
    assert_non_null(strstr(l[1], "\"user\":\"none\",\"op\":\"C_Login\",\"mech\":null,"
                                 "\"object\":\"a\\\\b\\\"c\\u0001\",\"result\":\"0x80000123\""));
    free_lines(l, n);
    assert_true(verify(f->dir).ok);
}

/* ---- tampering ---- */

static void test_tamper_edit_field(void **state)
{
    struct fx *f = *state;
    struct audit_config c = cfg_fast();
    write_log(f->dir, &c, 10);
    char **l;
    int n = read_lines(f->log, &l);
    char *p = strstr(l[5], "\"result\":\"CKR_OK\"");
    memcpy(p, "\"result\":\"CKR_NO\"", 17); /* same length: only the hash can tell */
    write_lines(f->log, l, n);
    free_lines(l, n);
    expect_bad(f->dir, 5, "record 5 changed");
}

static void test_tamper_delete_record(void **state)
{
    struct fx *f = *state;
    struct audit_config c = cfg_fast();
    write_log(f->dir, &c, 10);
    char **l;
    int n = read_lines(f->log, &l);
    free(l[5]);
    l[5] = NULL;
    write_lines(f->log, l, n);
    free_lines(l, n);
    expect_bad(f->dir, 5, "record 5 missing");
}

static void test_tamper_swap(void **state)
{
    struct fx *f = *state;
    struct audit_config c = cfg_fast();
    write_log(f->dir, &c, 10);
    char **l;
    int n = read_lines(f->log, &l);
    char *t = l[5];
    l[5] = l[6];
    l[6] = t;
    write_lines(f->log, l, n);
    free_lines(l, n);
    expect_bad(f->dir, 5, "reordered");
}

static void test_tamper_insert_forged(void **state)
{
    struct fx *f = *state;
    struct audit_config c = cfg_fast();
    write_log(f->dir, &c, 10);
    char **l;
    int n = read_lines(f->log, &l);
    /* The best an attacker without a key can do: a well-formed record chained to record 4
     * with a correct hash, placed before the real record 5. */
    struct audit_record r4;
    assert_int_equal(rec_parse(l[4], strlen(l[4]) - 1, &r4), 0);
    struct rec_fields fake = { 5, "2020-01-01T00:00:00.000000Z", 1, SLOT, 7, 0, "C_Login", ~0UL,
                               NULL, CKR_OK };
    char forged[AUDIT_LINE_MAX + 1];
    uint8_t h[32];
    assert_true(rec_build(forged, sizeof forged, &fake, r4.hash, NULL, 0, h) > 0);
    l = realloc(l, (size_t)(n + 1) * sizeof *l);
    memmove(&l[6], &l[5], (size_t)(n - 5) * sizeof *l);
    l[5] = strdup(forged);
    write_lines(f->log, l, n + 1);
    free_lines(l, n + 1);
    expect_bad(f->dir, 5, "record 5 inserted");
}

static void test_tamper_truncate_tail(void **state)
{
    struct fx *f = *state;
    make_token_db(f->dir);
    struct audit_config c = cfg_fast();
    write_log(f->dir, &c, 20); /* close anchors seq 20 in slot-3.db */
    struct audit_verify_result v = verify(f->dir);
    assert_true(v.ok);
    assert_int_equal(v.records, 21);
    assert_non_null(strstr(v.why, "tail anchor checked at seq 20"));
    char **l;
    int n = read_lines(f->log, &l);
    write_lines(f->log, l, n - 3); /* drop records 18, 19, 20 */
    free_lines(l, n);
    expect_bad(f->dir, 18, "truncated tail");

    /* The next writer notices it too and continues from the anchor, so the gap stays visible
     * instead of being papered over by new records 18, 19, 20. */
    audit_log_t *log;
    assert_int_equal(audit_open(f->dir, SLOT, "t", &c, &log), CKR_OK);
    struct audit_event ev = sign_event("after");
    assert_int_equal(audit_append(log, &ev), CKR_OK);
    audit_close(log);
    expect_bad(f->dir, 18, "records 18..20 missing");
    n = read_lines(f->log, &l);
    assert_non_null(strstr(l[18], "{\"seq\":21,"));
    assert_non_null(strstr(l[18], "\"op\":\"audit.restart\""));
    free_lines(l, n);
}

static void test_tamper_rewrite_from_middle_caught_by_anchor(void **state)
{
    struct fx *f = *state;
    make_token_db(f->dir);
    struct audit_config c = cfg_fast();
    write_log(f->dir, &c, 10);
    /* Unkeyed attacker: rewrites record 9 and recomputes its hash, a consistent chain. */
    char **l;
    int n = read_lines(f->log, &l);
    struct audit_record r8, r9;
    assert_int_equal(rec_parse(l[8], strlen(l[8]) - 1, &r8), 0);
    assert_int_equal(rec_parse(l[9], strlen(l[9]) - 1, &r9), 0);
    struct rec_fields fake = { 9, "2020-01-01T00:00:00.000000Z", 1, SLOT, 7, 1, "C_Sign", 0x1041,
                               "other-key", CKR_OK };
    char forged[AUDIT_LINE_MAX + 1];
    uint8_t h9[32], h10[32];
    assert_true(rec_build(forged, sizeof forged, &fake, r8.hash, NULL, 0, h9) > 0);
    free(l[9]);
    l[9] = strdup(forged);
    struct audit_record r10;
    assert_int_equal(rec_parse(l[10], strlen(l[10]) - 1, &r10), 0);
    struct rec_fields f10 = { 10, "", r10.pid, r10.slot, r10.session, 1, r10.op, r10.mech,
                              r10.object, CKR_OK };
    memcpy(f10.time, r10.time, sizeof f10.time);
    assert_true(rec_build(forged, sizeof forged, &f10, h9, NULL, 0, h10) > 0);
    free(l[10]);
    l[10] = strdup(forged);
    write_lines(f->log, l, n);
    free_lines(l, n);
    expect_bad(f->dir, 10, "does not match the tail anchored");
}

/* ---- rotation ---- */

static int count_rotated(const char *dir)
{
    struct rot_file *rf;
    int n = rec_list_rotated(dir, SLOT, &rf);
    rec_free_rotated(rf, n);
    return n;
}

static void test_rotation_verifies(void **state)
{
    struct fx *f = *state;
    struct audit_config c = cfg_fast();
    c.rotate_bytes = 4096;
    write_log(f->dir, &c, 100);
    assert_true(count_rotated(f->dir) >= 5);
    struct rot_file *rf;
    int nrot = rec_list_rotated(f->dir, SLOT, &rf);
    struct stat sb;
    assert_int_equal(stat(rf[0].path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0400); /* closed files are read-only */
    rec_free_rotated(rf, nrot);
    struct audit_verify_result v = verify(f->dir);
    assert_true(v.ok);
    assert_int_equal(v.records, 101);
    /* reopen and continue across a new process's handle */
    write_log(f->dir, &c, 20);
    v = verify(f->dir);
    assert_true(v.ok);
    assert_int_equal(v.records, 121);
}

static void test_tamper_delete_rotated_file(void **state)
{
    struct fx *f = *state;
    struct audit_config c = cfg_fast();
    c.rotate_bytes = 4096;
    write_log(f->dir, &c, 100);
    struct rot_file *rf;
    int n = rec_list_rotated(f->dir, SLOT, &rf);
    assert_true(n >= 3);
    unsigned long long gap_start = rf[0].last_seq + 1, gap_end = rf[1].last_seq;
    assert_int_equal(unlink(rf[1].path), 0);
    char want[96];
    snprintf(want, sizeof want, "records %llu..%llu missing: rotated file missing", gap_start,
             gap_end);
    expect_bad(f->dir, gap_start, want);
    /* and the oldest one */
    assert_int_equal(unlink(rf[0].path), 0);
    rec_free_rotated(rf, n);
    expect_bad(f->dir, 0, "oldest file(s) deleted");
}

static void test_active_file_deleted_while_open(void **state)
{
    struct fx *f = *state;
    struct audit_config c = cfg_fast();
    audit_log_t *log;
    assert_int_equal(audit_open(f->dir, SLOT, "t", &c, &log), CKR_OK);
    struct audit_event ev = sign_event("u");
    for (int i = 0; i < 5; i++)
        assert_int_equal(audit_append(log, &ev), CKR_OK);
    assert_int_equal(unlink(f->log), 0);
    past_file_check();
    /* the writer notices, starts a new file and records the loss in the chain */
    assert_int_equal(audit_append(log, &ev), CKR_OK);
    audit_close(log);
    char **l;
    int n = read_lines(f->log, &l);
    assert_int_equal(n, 2);
    assert_non_null(strstr(l[0], "{\"seq\":6,"));
    assert_non_null(strstr(l[0], "\"op\":\"audit.restart\""));
    assert_non_null(strstr(l[1], "{\"seq\":7,"));
    free_lines(l, n);
    expect_bad(f->dir, 0, "records 0..5 missing");
}

/* ---- level, sync, failures ---- */

struct ops { int n; int per_use; };

static int count_ops(const struct audit_record *r, void *arg)
{
    struct ops *o = arg;
    o->n++;
    if (!strcmp(r->op, "C_Sign") || !strcmp(r->op, "C_Encrypt"))
        o->per_use++;
    return 0;
}

static void test_level_auth_admin_omits_per_use(void **state)
{
    struct fx *f = *state;
    struct audit_config c = cfg_fast();
    c.level = AUDIT_LEVEL_AUTH_ADMIN;
    audit_log_t *log;
    assert_int_equal(audit_open(f->dir, SLOT, "t", &c, &log), CKR_OK);
    struct audit_event login = { SLOT, 1, 1, "C_Login", ~0UL, NULL, CKR_OK, false };
    struct audit_event gen = { SLOT, 1, 1, "C_GenerateKeyPair", 0x1040, "uid-9", CKR_OK, false };
    struct audit_event sign = sign_event("uid-9");
    struct audit_event enc = { SLOT, 1, 1, "C_Encrypt", 0x1087, "uid-8", CKR_OK, true };
    assert_int_equal(audit_append(log, &login), CKR_OK);
    assert_int_equal(audit_append(log, &gen), CKR_OK);
    for (int i = 0; i < 10; i++) {
        assert_int_equal(audit_append(log, &sign), CKR_OK);
        assert_int_equal(audit_append(log, &enc), CKR_OK);
    }
    audit_close(log);
    struct ops o = { 0, 0 };
    assert_int_equal(audit_foreach(f->dir, SLOT, count_ops, &o), CKR_OK);
    assert_int_equal(o.n, 3); /* genesis, login, keygen */
    assert_int_equal(o.per_use, 0);
    /* level all writes them */
    c.level = AUDIT_LEVEL_ALL;
    assert_int_equal(audit_open(f->dir, SLOT, "t", &c, &log), CKR_OK);
    assert_int_equal(audit_append(log, &sign), CKR_OK);
    audit_close(log);
    o = (struct ops){ 0, 0 };
    assert_int_equal(audit_foreach(f->dir, SLOT, count_ops, &o), CKR_OK);
    assert_int_equal(o.per_use, 1);
    assert_true(verify(f->dir).ok);
}

static void test_disabled_writes_nothing(void **state)
{
    struct fx *f = *state;
    struct audit_config c = cfg_fast();
    c.enabled = false;
    audit_log_t *log;
    assert_int_equal(audit_open(f->dir, SLOT, "t", &c, &log), CKR_OK);
    struct audit_event ev = sign_event("u");
    assert_int_equal(audit_append(log, &ev), CKR_OK);
    audit_close(log);
    assert_int_not_equal(access(f->log, F_OK), 0);
}

static void test_sync_always_calls_fsync(void **state)
{
    struct fx *f = *state;
    struct audit_config c;
    audit_config_defaults(&c); /* sync = always, sync_per_use = interval */
    c.tail_every = 1000000;
    audit_log_t *log;
    assert_int_equal(audit_open(f->dir, SLOT, "t", &c, &log), CKR_OK);
    /* By default key uses are written at once but flushed at most once a second, while
     * authentication and admin records are flushed one by one. */
    unsigned long long before = audit_fsync_count(log);
    struct audit_event ev = sign_event("u");
    for (int i = 0; i < 5; i++)
        assert_int_equal(audit_append(log, &ev), CKR_OK);
    assert_int_equal(audit_fsync_count(log), before);
    struct audit_event login = ev;
    login.per_use = false;
    login.op = "C_Login";
    login.object = NULL;
    assert_int_equal(audit_append(log, &login), CKR_OK);
    assert_true(audit_fsync_count(log) > before);
    audit_close(log);

    c.sync_per_use = AUDIT_SYNC_ALWAYS;
    assert_int_equal(audit_open(f->dir, SLOT, "t", &c, &log), CKR_OK);
    before = audit_fsync_count(log);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(audit_append(log, &ev), CKR_OK);
        assert_int_equal(audit_fsync_count(log), before + (unsigned long long)i + 1);
    }
    audit_close(log);

    c.sync = c.sync_per_use = AUDIT_SYNC_NONE;
    assert_int_equal(audit_open(f->dir, SLOT, "t", &c, &log), CKR_OK);
    before = audit_fsync_count(log);
    for (int i = 0; i < 5; i++)
        assert_int_equal(audit_append(log, &ev), CKR_OK);
    assert_int_equal(audit_fsync_count(log), before);
    audit_close(log);

    c.sync = c.sync_per_use = AUDIT_SYNC_INTERVAL;
    c.interval_ms = 1;
    assert_int_equal(audit_open(f->dir, SLOT, "t", &c, &log), CKR_OK);
    before = audit_fsync_count(log);
    usleep(3000);
    assert_int_equal(audit_append(log, &ev), CKR_OK);
    assert_int_equal(audit_fsync_count(log), before + 1);
    audit_close(log);
    assert_true(verify(f->dir).ok);
}

static void test_unwritable_log_fails(void **state)
{
    struct fx *f = *state;
    struct audit_config c = cfg_fast();
    audit_log_t *log;
    assert_int_equal(audit_open(f->dir, SLOT, "t", &c, &log), CKR_OK);
    /* Root ignores file modes, so make the log impossible to open instead: a directory. */
    assert_int_equal(unlink(f->log), 0);
    assert_int_equal(mkdir(f->log, 0700), 0);
    past_file_check();
    struct audit_event ev = sign_event("u");
    assert_int_equal(audit_append(log, &ev), CKR_DEVICE_ERROR);
    struct audit_event login = { SLOT, 1, 1, "C_Login", ~0UL, NULL, CKR_OK, false };
    assert_int_equal(audit_append(log, &login), CKR_DEVICE_ERROR);
    audit_close(log);
    /* fail_open_non_key relaxes it for events that touch no key, and only for those */
    c.required_for_non_key = false;
    assert_int_equal(audit_open(f->dir, SLOT, "t", &c, &log), CKR_DEVICE_ERROR);
    assert_int_equal(rmdir(f->log), 0);
    assert_int_equal(audit_open(f->dir, SLOT, "t", &c, &log), CKR_OK);
    assert_int_equal(unlink(f->log), 0);
    assert_int_equal(mkdir(f->log, 0700), 0);
    past_file_check();
    assert_int_equal(audit_append(log, &login), CKR_OK);
    assert_int_equal(audit_append(log, &ev), CKR_DEVICE_ERROR);
    audit_close(log);
}

static void test_short_write_rolled_back(void **state)
{
    struct fx *f = *state;
    struct audit_config c = cfg_fast();
    write_log(f->dir, &c, 2);
    struct stat sb;
    assert_int_equal(stat(f->log, &sb), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* A real write() failure: the file may grow by 100 bytes only, so the next record is
         * cut short; the writer must fail the call and take the partial line back. */
        signal(SIGXFSZ, SIG_IGN);
        audit_log_t *log;
        if (audit_open(f->dir, SLOT, "t", &c, &log) != CKR_OK)
            _exit(10);
        struct rlimit rl = { (rlim_t)sb.st_size + 100, (rlim_t)sb.st_size + 100 };
        if (setrlimit(RLIMIT_FSIZE, &rl))
            _exit(11);
        struct audit_event ev = sign_event("u");
        if (audit_append(log, &ev) != CKR_DEVICE_ERROR)
            _exit(12);
        struct stat now;
        if (stat(f->log, &now) || now.st_size != sb.st_size)
            _exit(13);
        audit_close(log);
        _exit(0);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    write_log(f->dir, &c, 1);
    struct audit_verify_result v = verify(f->dir);
    assert_true(v.ok);
    assert_int_equal(v.records, 4);
}

/* ---- keyed chain ---- */

static void test_keyed_chain(void **state)
{
    struct fx *f = *state;
    char kpath[160];
    snprintf(kpath, sizeof kpath, "%s/audit.key", f->dir);
    int fd = open(kpath, O_WRONLY | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    const char *hex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n";
    assert_int_equal(write(fd, hex, strlen(hex)), (ssize_t)strlen(hex));
    close(fd);
    struct audit_config c = cfg_fast();
    snprintf(c.key_file, sizeof c.key_file, "%s", kpath);
    write_log(f->dir, &c, 5);

    uint8_t *key;
    size_t klen;
    char err[256];
    assert_int_equal(audit_key_load(kpath, &key, &klen, err, sizeof err), CKR_OK);
    struct audit_verify_result v;
    assert_int_equal(audit_verify_keyed(f->dir, SLOT, key, klen, &v), CKR_OK);
    assert_true(v.ok);
    assert_int_equal(v.records, 6);
    expect_bad(f->dir, 0, "HMAC-keyed");
    uint8_t wrong[32] = { 0 };
    assert_int_equal(audit_verify_keyed(f->dir, SLOT, wrong, 32, &v), CKR_OK);
    assert_false(v.ok);
    assert_int_equal(v.bad_seq, 0);

    /* An attacker without the key rebuilds record 3 as a plain SHA-256 record. */
    char **l;
    int n = read_lines(f->log, &l);
    struct audit_record r2;
    assert_int_equal(rec_parse(l[2], strlen(l[2]) - 1, &r2), 0);
    struct rec_fields fake = { 3, "2020-01-01T00:00:00.000000Z", 1, SLOT, 7, 1, "C_Sign", 0x1041,
                               "x", CKR_OK };
    char forged[AUDIT_LINE_MAX + 1];
    uint8_t h[32];
    assert_true(rec_build(forged, sizeof forged, &fake, r2.hash, NULL, 0, h) > 0);
    free(l[3]);
    l[3] = strdup(forged);
    write_lines(f->log, l, n);
    free_lines(l, n);
    assert_int_equal(audit_verify_keyed(f->dir, SLOT, key, klen, &v), CKR_OK);
    assert_false(v.ok);
    assert_int_equal(v.bad_seq, 3);
    assert_non_null(strstr(v.why, "downgrade"));
    /* ... or with a guessed key */
    assert_true(rec_build(forged, sizeof forged, &fake, r2.hash, wrong, 32, h) > 0);
    n = read_lines(f->log, &l);
    free(l[3]);
    l[3] = strdup(forged);
    write_lines(f->log, l, n);
    free_lines(l, n);
    assert_int_equal(audit_verify_keyed(f->dir, SLOT, key, klen, &v), CKR_OK);
    assert_false(v.ok);
    assert_int_equal(v.bad_seq, 3);
    assert_non_null(strstr(v.why, "record 3 changed"));
    audit_key_free(key);

    /* a key others can read is refused */
    chmod(kpath, 0644);
    audit_log_t *log;
    assert_int_equal(audit_open(f->dir, SLOT, "t", &c, &log), CKR_ARGUMENTS_BAD);
    /* and an unkeyed configuration does not chain on after a keyed log */
    struct audit_config plain = cfg_fast();
    chmod(kpath, 0600);
    assert_int_equal(audit_open(f->dir, SLOT, "t", &plain, &log), CKR_DEVICE_ERROR);
}

/* ---- config ---- */

static void test_config_load(void **state)
{
    struct fx *f = *state;
    char path[160], err[256];
    snprintf(path, sizeof path, "%s/craton.conf", f->dir);
    FILE *fp = fopen(path, "w");
    fputs("[store]\ntoken_dir = /x\n[audit]\nlevel = auth+admin\nsync = interval\n"
          "interval_ms = 250\nrotate_bytes = 1M\nfail_open_non_key = true\n"
          "key_file = /etc/craton/audit.key\ntail_every = 64\n", fp);
    fclose(fp);
    struct audit_config c;
    assert_int_equal(audit_config_load(path, &c, err, sizeof err), CKR_OK);
    assert_int_equal(c.level, AUDIT_LEVEL_AUTH_ADMIN);
    assert_int_equal(c.sync, AUDIT_SYNC_INTERVAL);
    assert_int_equal(c.interval_ms, 250);
    assert_int_equal(c.rotate_bytes, 1UL << 20);
    assert_false(c.required_for_non_key);
    assert_true(c.enabled);
    assert_string_equal(c.key_file, "/etc/craton/audit.key");
    assert_int_equal(c.tail_every, 64);

    assert_int_equal(audit_config_load("", &c, err, sizeof err), CKR_OK);
    assert_int_equal(c.level, AUDIT_LEVEL_ALL);
    assert_int_equal(c.sync, AUDIT_SYNC_ALWAYS);
    assert_true(c.required_for_non_key);
    assert_true(c.enabled);
    assert_int_equal(c.rotate_bytes, 16UL << 20);

    fp = fopen(path, "w");
    fputs("[audit]\nsync = sometimes\n", fp);
    fclose(fp);
    assert_int_equal(audit_config_load(path, &c, err, sizeof err), CKR_ARGUMENTS_BAD);
    assert_non_null(strstr(err, "audit.sync"));
    fp = fopen(path, "w");
    fputs("[audit]\nlevle = all\n", fp);
    fclose(fp);
    assert_int_equal(audit_config_load(path, &c, err, sizeof err), CKR_ARGUMENTS_BAD);
    assert_non_null(strstr(err, "unknown key audit.levle"));
}

/* ---- torn write from a crash ---- */

static void test_torn_tail_recovered(void **state)
{
    struct fx *f = *state;
    struct audit_config c = cfg_fast();
    write_log(f->dir, &c, 3);
    FILE *fp = fopen(f->log, "a");
    fputs("{\"seq\":4,\"time\":\"2024", fp); /* a crash mid-write */
    fclose(fp);
    write_log(f->dir, &c, 2);
    struct audit_verify_result v = verify(f->dir);
    assert_true(v.ok);
    assert_int_equal(v.records, 6);
}

int main(void)
{
    if (secmem_init() || ossl_open())
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_format_and_genesis, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_escaping_and_unknown_rv, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_tamper_edit_field, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_tamper_delete_record, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_tamper_swap, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_tamper_insert_forged, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_tamper_truncate_tail, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_tamper_rewrite_from_middle_caught_by_anchor, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_rotation_verifies, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_tamper_delete_rotated_file, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_active_file_deleted_while_open, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_level_auth_admin_omits_per_use, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_disabled_writes_nothing, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_sync_always_calls_fsync, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_unwritable_log_fails, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_short_write_rolled_back, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_keyed_chain, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_config_load, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_torn_tail_recovered, fx_setup, fx_teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    ossl_close();
    return rc;
}
