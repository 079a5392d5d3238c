/* The integrity self-test through the real module: a copy of the built libcraton.so with its
 * sidecar initialises; one flipped byte in the copy, a damaged or malformed sidecar make
 * C_Initialize fail with CKR_GENERAL_ERROR and leave every later call refused; a missing
 * sidecar is accepted normally and refused in FIPS-approved-only mode. Each case runs in a
 * forked child that dlopens its own copy, so no state carries over between cases. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "harness.h"

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

struct fx {
    h_env env;
    char libdir[PATH_MAX / 2 + 8];   /* env.dir/lib */
    char lib[PATH_MAX / 2 + 32];     /* env.dir/lib/libcraton.so */
    char sidecar[PATH_MAX / 2 + 48]; /* env.dir/lib/libcraton.so.hmac */
};

static int copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb"), *out = in ? fopen(to, "wb") : NULL;
    char buf[65536];
    size_t n;
    int rc = in && out ? 0 : -1;
    while (rc == 0 && (n = fread(buf, 1, sizeof buf, in)) > 0)
        if (fwrite(buf, 1, n, out) != n)
            rc = -1;
    if (in && ferror(in))
        rc = -1;
    if (in)
        fclose(in);
    if (out && fclose(out))
        rc = -1;
    return rc;
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    if (!f || h_env_create(&f->env, 10))
        return -1;
    const char *mod = getenv("CRATON_MODULE");
    char built_sidecar[PATH_MAX];
    snprintf(f->libdir, sizeof f->libdir, "%s/lib", f->env.dir);
    snprintf(f->lib, sizeof f->lib, "%s/libcraton.so", f->libdir);
    snprintf(f->sidecar, sizeof f->sidecar, "%s.hmac", f->lib);
    snprintf(built_sidecar, sizeof built_sidecar, "%s.hmac", mod ? mod : "");
    if (!mod || mkdir(f->libdir, 0700) || copy_file(mod, f->lib)) {
        fprintf(stderr, "cannot copy the module %s\n", mod ? mod : "(CRATON_MODULE unset)");
        return -1;
    }
    /* the build must have written the sidecar next to the library */
    if (copy_file(built_sidecar, f->sidecar)) {
        fprintf(stderr, "the build wrote no sidecar %s\n", built_sidecar);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    h_env_destroy(&f->env);
    free(f);
    return 0;
}

static void set_fips(const struct fx *f)
{
    assert_int_equal(h_env_write_config(&f->env, 10), 0);
    FILE *c = fopen(f->env.config, "a");
    assert_non_null(c);
    fputs("[policy]\nfips_approved_only = true\n", c);
    fclose(c);
}

/* The file offset of a byte that the loader never reads: inside the .comment section (the
 * compiler's version strings), else the last byte (the section header table). Flipping it
 * changes the file, not the code, so the module still loads and the check alone must catch
 * it. */
static long harmless_offset(const char *path)
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    Elf64_Ehdr eh;
    long off = -1;
    if (fread(&eh, sizeof eh, 1, fp) == 1 && memcmp(eh.e_ident, ELFMAG, SELFMAG) == 0 &&
        eh.e_ident[EI_CLASS] == ELFCLASS64 && eh.e_shstrndx < eh.e_shnum) {
        Elf64_Shdr *sh = calloc(eh.e_shnum, sizeof *sh);
        assert_non_null(sh);
        if (fseek(fp, (long)eh.e_shoff, SEEK_SET) == 0 &&
            fread(sh, sizeof *sh, eh.e_shnum, fp) == eh.e_shnum) {
            char *names = calloc(1, sh[eh.e_shstrndx].sh_size + 1);
            assert_non_null(names);
            if (fseek(fp, (long)sh[eh.e_shstrndx].sh_offset, SEEK_SET) == 0 &&
                fread(names, 1, sh[eh.e_shstrndx].sh_size, fp) == sh[eh.e_shstrndx].sh_size)
                for (int i = 0; i < eh.e_shnum; i++)
                    if (sh[i].sh_name < sh[eh.e_shstrndx].sh_size &&
                        strcmp(names + sh[i].sh_name, ".comment") == 0 && sh[i].sh_size > 4)
                        off = (long)(sh[i].sh_offset + sh[i].sh_size / 2);
            free(names);
        }
        free(sh);
    }
    if (off < 0) {
        assert_int_equal(fseek(fp, 0, SEEK_END), 0);
        off = ftell(fp) - 1;
    }
    fclose(fp);
    return off;
}

static void flip_byte(const char *path, long off)
{
    FILE *fp = fopen(path, "r+b");
    assert_non_null(fp);
    assert_int_equal(fseek(fp, off, SEEK_SET), 0);
    int c = fgetc(fp);
    assert_true(c != EOF);
    assert_int_equal(fseek(fp, off, SEEK_SET), 0);
    assert_int_equal(fputc(c ^ 0x01, fp), c ^ 0x01);
    assert_int_equal(fclose(fp), 0);
}

static void write_text(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    assert_int_equal(fclose(fp), 0);
}

static bool refused(CK_RV rv)
{
    return rv == CKR_CRYPTOKI_NOT_INITIALIZED || rv == CKR_GENERAL_ERROR;
}

/* In a child: dlopen `lib` (after chdir to `cwd` when given, and back to / before
 * C_Initialize, so only a path the module resolves itself can work), C_Initialize, and check
 * the outcome. Exit status 0 when everything was as expected. */
static int child(const char *cwd, const char *lib, bool expect_ok)
{
    if (cwd && chdir(cwd))
        return 10;
    void *dl = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
    if (!dl) {
        fprintf(stderr, "dlopen(%s): %s\n", lib, dlerror());
        return 11;
    }
    if (cwd && chdir("/"))
        return 10;
    CK_C_GetFunctionList gfl;
    void *sym = dlsym(dl, "C_GetFunctionList");
    memcpy(&gfl, &sym, sizeof sym);
    CK_FUNCTION_LIST_PTR fl = NULL;
    CHILD_RV(gfl ? gfl(&fl) : CKR_GENERAL_ERROR, CKR_OK);
    if (expect_ok) {
        CHILD_RV(fl->C_Initialize(NULL), CKR_OK);
        CK_INFO info;
        CHILD_RV(fl->C_GetInfo(&info), CKR_OK);
        CHILD_RV(fl->C_Finalize(NULL), CKR_OK);
        return 0;
    }
    CHILD_RV(fl->C_Initialize(NULL), CKR_GENERAL_ERROR);
    /* the error state: nothing is served */
    CK_INFO info;
    CK_ULONG n = 0;
    CK_SESSION_HANDLE h = 0;
    CK_SLOT_ID slot = 0;
    CHILD_TRUE(refused(fl->C_GetInfo(&info)));
    CHILD_TRUE(refused(fl->C_GetSlotList(CK_FALSE, NULL, &n)));
    CHILD_TRUE(refused(fl->C_GetSlotList(CK_TRUE, &slot, &n)));
    CHILD_TRUE(refused(fl->C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, &h)));
    CHILD_TRUE(refused(fl->C_GenerateRandom(1, (CK_BYTE_PTR)&n, sizeof n)));
    CHILD_TRUE(refused(fl->C_Finalize(NULL)));
    /* and a retry does not get past the check either */
    CHILD_RV(fl->C_Initialize(NULL), CKR_GENERAL_ERROR);
    CHILD_TRUE(refused(fl->C_GetInfo(&info)));
    return 0;
}

static void expect(const char *cwd, const char *lib, bool ok)
{
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(child(cwd, lib, ok));
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        fail_msg("%s: expected C_Initialize to %s (child status 0x%x)", lib,
                 ok ? "succeed" : "fail with CKR_GENERAL_ERROR", st);
}

/* An intact copy with its sidecar initialises; also through a symlink (the sidecar is found
 * next to the real file) and through a relative path after a chdir. */
static void test_intact(void **state)
{
    struct fx *f = *state;
    expect(NULL, f->lib, true);
    char link[PATH_MAX / 2 + 16];
    snprintf(link, sizeof link, "%s/link.so", f->env.dir);
    assert_int_equal(symlink(f->lib, link), 0);
    expect(NULL, link, true);
    expect(f->libdir, "./libcraton.so", true);
    /* FIPS-approved-only mode with the sidecar present is fine too */
    set_fips(f);
    expect(NULL, f->lib, true);
}

/* One flipped bit anywhere in the file fails C_Initialize, however the file is reached. */
static void test_flipped_byte(void **state)
{
    struct fx *f = *state;
    flip_byte(f->lib, harmless_offset(f->lib));
    expect(NULL, f->lib, false);
    expect(f->libdir, "./libcraton.so", false);
    char link[PATH_MAX / 2 + 16];
    snprintf(link, sizeof link, "%s/link.so", f->env.dir);
    assert_int_equal(symlink(f->lib, link), 0);
    expect(NULL, link, false);
}

/* A sidecar that does not match, or is not an HMAC value at all, fails C_Initialize. */
static void test_bad_sidecar(void **state)
{
    struct fx *f = *state;
    FILE *fp = fopen(f->sidecar, "r");
    assert_non_null(fp);
    char hex[80] = { 0 };
    assert_true(fread(hex, 1, sizeof hex - 1, fp) >= 64);
    fclose(fp);
    hex[10] = hex[10] == '0' ? '1' : '0';
    write_text(f->sidecar, hex);
    expect(NULL, f->lib, false);
    write_text(f->sidecar, "not an hmac\n");
    expect(NULL, f->lib, false);
    write_text(f->sidecar, "");
    expect(NULL, f->lib, false);
}

/* No sidecar: checked only when it is there, unless FIPS-approved-only mode requires it. */
static void test_missing_sidecar(void **state)
{
    struct fx *f = *state;
    assert_int_equal(unlink(f->sidecar), 0);
    expect(NULL, f->lib, true);
    set_fips(f);
    expect(NULL, f->lib, false);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_intact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flipped_byte, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_sidecar, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_sidecar, setup, teardown),
    };
    return cmocka_run_group_tests_name("integrity", tests, NULL, NULL);
}
