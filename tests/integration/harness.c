#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "harness.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

CK_FUNCTION_LIST_3_0_PTR F;
CK_FUNCTION_LIST_PTR F2;
CK_C_GetInterfaceList h_GetInterfaceList;
CK_C_GetInterface h_GetInterface;
CK_C_GetFunctionList h_GetFunctionList;
static void *h_dl;

void h_load(void)
{
    const char *path = getenv("CRATON_MODULE");
    if (path == NULL || *path == '\0') {
        fprintf(stderr, "CRATON_MODULE is not set\n");
        exit(1);
    }
    h_dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (h_dl == NULL) {
        fprintf(stderr, "dlopen(%s): %s\n", path, dlerror());
        exit(1);
    }
    /* Casts through void * for function pointers obtained via dlsym. */
    void *sym = dlsym(h_dl, "C_GetFunctionList");
    memcpy(&h_GetFunctionList, &sym, sizeof(sym));
    sym = dlsym(h_dl, "C_GetInterfaceList");
    memcpy(&h_GetInterfaceList, &sym, sizeof(sym));
    sym = dlsym(h_dl, "C_GetInterface");
    memcpy(&h_GetInterface, &sym, sizeof(sym));
    if (h_GetFunctionList == NULL || h_GetInterfaceList == NULL ||
        h_GetInterface == NULL) {
        fprintf(stderr, "module lacks C_GetFunctionList/C_GetInterfaceList/"
                        "C_GetInterface\n");
        exit(1);
    }
    CK_INTERFACE_PTR iface = NULL;
    CK_VERSION v30 = {3, 0};
    CK_RV rv = h_GetInterface((CK_UTF8CHAR_PTR) "PKCS 11", &v30, &iface, 0);
    if (rv != CKR_OK || iface == NULL || iface->pFunctionList == NULL) {
        fprintf(stderr, "C_GetInterface(\"PKCS 11\", 3.0) failed: %s\n", h_rv(rv));
        exit(1);
    }
    F = (CK_FUNCTION_LIST_3_0_PTR)iface->pFunctionList;
    rv = h_GetFunctionList(&F2);
    if (rv != CKR_OK || F2 == NULL) {
        fprintf(stderr, "C_GetFunctionList failed: %s\n", h_rv(rv));
        exit(1);
    }
}

int h_env_write_config(const h_env *env, int max_failures)
{
    FILE *f = fopen(env->config, "w");
    if (f == NULL)
        return -1;
    fprintf(f,
            "[store]\n"
            "token_dir = %s\n"
            "exclusive = false\n"
            "[pin]\n"
            "pbkdf2_iterations = 1000\n"
            "max_failures = %d\n"
            "min_length = 4\n"
            "max_length = 255\n"
            "[log]\n"
            "level = error\n"
            "file =\n",
            env->token_dir, max_failures);
    return fclose(f) == 0 ? 0 : -1;
}

void h_env_export(const h_env *env)
{
    setenv("CRATON_CONFIG", env->config, 1);
    setenv("CRATON_TOKEN_DIR", env->token_dir, 1);
}

int h_env_create(h_env *env, int max_failures)
{
    memset(env, 0, sizeof(*env));
    const char *tmp = getenv("TMPDIR");
    if (tmp == NULL || *tmp == '\0')
        tmp = "/tmp";
    if (strlen(tmp) > sizeof(env->dir) - 32)
        tmp = "/tmp";
    snprintf(env->dir, sizeof(env->dir), "%s/craton-itest-XXXXXX", tmp);
    if (mkdtemp(env->dir) == NULL)
        return -1;
    snprintf(env->token_dir, sizeof(env->token_dir), "%s/tokens", env->dir);
    snprintf(env->config, sizeof(env->config), "%s/craton.conf", env->dir);
    if (mkdir(env->token_dir, 0700) != 0)
        return -1;
    if (h_env_write_config(env, max_failures) != 0)
        return -1;
    h_env_export(env);
    return 0;
}

static int rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void h_env_destroy(h_env *env)
{
    if (env->dir[0] != '\0' && getenv("CRATON_KEEP_TMP") == NULL)
        nftw(env->dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    env->dir[0] = '\0';
}

CK_RV h_slots(CK_SLOT_ID **slots, CK_ULONG *count)
{
    CK_ULONG n = 0;
    CK_RV rv = F->C_GetSlotList(CK_FALSE, NULL, &n);
    if (rv != CKR_OK)
        return rv;
    *slots = calloc(n + 1, sizeof(CK_SLOT_ID));
    if (*slots == NULL)
        return CKR_HOST_MEMORY;
    rv = F->C_GetSlotList(CK_FALSE, *slots, &n);
    *count = n;
    return rv;
}

CK_RV h_free_slot(CK_SLOT_ID *slot)
{
    CK_SLOT_ID *s = NULL;
    CK_ULONG n = 0;
    CK_RV rv = h_slots(&s, &n);
    if (rv == CKR_OK && n == 0)
        rv = CKR_GENERAL_ERROR;
    if (rv == CKR_OK)
        *slot = s[n - 1];
    free(s);
    return rv;
}

void h_pad(CK_UTF8CHAR *dst, size_t n, const char *s)
{
    size_t l = strlen(s);
    memset(dst, ' ', n);
    memcpy(dst, s, l < n ? l : n);
}

CK_RV h_init_token(const char *label, CK_SLOT_ID *slot)
{
    CK_UTF8CHAR lab[32];
    CK_SLOT_ID s;
    CK_RV rv = h_free_slot(&s);
    if (rv != CKR_OK)
        return rv;
    h_pad(lab, sizeof(lab), label);
    rv = F->C_InitToken(s, H_PIN(H_SO_PIN), lab);
    if (rv == CKR_OK && slot != NULL)
        *slot = s;
    return rv;
}

CK_RV h_open(CK_SLOT_ID slot, int rw, CK_SESSION_HANDLE *h)
{
    return F->C_OpenSession(slot, CKF_SERIAL_SESSION | (rw ? CKF_RW_SESSION : 0),
                            NULL, NULL, h);
}

CK_RV h_open_login(CK_SLOT_ID slot, int rw, CK_USER_TYPE who, CK_SESSION_HANDLE *h)
{
    CK_RV rv = h_open(slot, rw, h);
    if (rv != CKR_OK)
        return rv;
    if (who == CKU_SO)
        return F->C_Login(*h, CKU_SO, H_PIN(H_SO_PIN));
    return F->C_Login(*h, CKU_USER, H_PIN(H_USER_PIN));
}

CK_RV h_init_user_pin(CK_SLOT_ID slot)
{
    CK_SESSION_HANDLE h;
    CK_RV rv = h_open_login(slot, 1, CKU_SO, &h);
    if (rv != CKR_OK)
        return rv;
    rv = F->C_InitPIN(h, H_PIN(H_USER_PIN));
    CK_RV rv2 = F->C_Logout(h);
    CK_RV rv3 = F->C_CloseSession(h);
    if (rv != CKR_OK)
        return rv;
    return rv2 != CKR_OK ? rv2 : rv3;
}

CK_RV h_setup_token(CK_SLOT_ID *slot)
{
    CK_RV rv = F->C_Initialize(NULL);
    if (rv != CKR_OK)
        return rv;
    rv = h_init_token(H_LABEL, slot);
    if (rv != CKR_OK)
        return rv;
    return h_init_user_pin(*slot);
}

CK_STATE h_state(CK_SESSION_HANDLE h)
{
    CK_SESSION_INFO si;
    if (F->C_GetSessionInfo(h, &si) != CKR_OK)
        return (CK_STATE)-1;
    return si.state;
}

CK_FLAGS h_token_flags(CK_SLOT_ID slot)
{
    CK_TOKEN_INFO ti;
    if (F->C_GetTokenInfo(slot, &ti) != CKR_OK)
        return 0;
    return ti.flags;
}

CK_RV h_create_data(CK_SESSION_HANDLE h, CK_BBOOL token, CK_BBOOL priv,
                    const char *label, const void *value, size_t vlen,
                    CK_OBJECT_HANDLE *obj)
{
    CK_OBJECT_CLASS cls = CKO_DATA;
    CK_ATTRIBUTE t[] = {
        {CKA_CLASS, &cls, sizeof(cls)},
        {CKA_TOKEN, &token, sizeof(token)},
        {CKA_PRIVATE, &priv, sizeof(priv)},
        {CKA_LABEL, (void *)label, strlen(label)},
        {CKA_VALUE, (void *)value, vlen},
    };
    return F->C_CreateObject(h, t, sizeof(t) / sizeof(t[0]), obj);
}

CK_RV h_find(CK_SESSION_HANDLE h, CK_ATTRIBUTE *tmpl, CK_ULONG count,
             CK_OBJECT_HANDLE *out, CK_ULONG out_max, CK_ULONG *n)
{
    *n = 0;
    CK_RV rv = F->C_FindObjectsInit(h, tmpl, count);
    if (rv != CKR_OK)
        return rv;
    for (;;) {
        CK_ULONG got = 0;
        CK_OBJECT_HANDLE tmp[16];
        rv = F->C_FindObjects(h, tmp, 16, &got);
        if (rv != CKR_OK || got == 0)
            break;
        for (CK_ULONG i = 0; i < got; i++) {
            if (*n < out_max && out != NULL)
                out[*n] = tmp[i];
            (*n)++;
        }
    }
    CK_RV rv2 = F->C_FindObjectsFinal(h);
    return rv != CKR_OK ? rv : rv2;
}

CK_ULONG h_count_label(CK_SESSION_HANDLE h, const char *label)
{
    CK_ATTRIBUTE t = {CKA_LABEL, (void *)label, strlen(label)};
    CK_ULONG n = 0;
    if (h_find(h, &t, 1, NULL, 0, &n) != CKR_OK)
        return (CK_ULONG)-1;
    return n;
}

pid_t h_run_self(const char *arg0, ...)
{
    const char *argv[32];
    int argc = 0;
    argv[argc++] = "craton-itest-child";
    argv[argc++] = arg0;
    va_list ap;
    va_start(ap, arg0);
    const char *a;
    while (argc < 31 && (a = va_arg(ap, const char *)) != NULL)
        argv[argc++] = a;
    va_end(ap);
    argv[argc] = NULL;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        execv("/proc/self/exe", (char *const *)argv);
        _exit(127);
    }
    return pid;
}

int h_wait(pid_t pid)
{
    int st;
    if (pid < 0)
        return -1;
    while (waitpid(pid, &st, 0) < 0) {
        if (errno != EINTR)
            return -1;
    }
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    if (WIFSIGNALED(st))
        return 128 + WTERMSIG(st);
    return -1;
}

int h_fixture_setup_bare(void **state)
{
    h_fixture *fx = calloc(1, sizeof(*fx));
    if (fx == NULL || h_env_create(&fx->env, 10) != 0) {
        free(fx);
        return -1;
    }
    *state = fx;
    return 0;
}

int h_fixture_setup_init(void **state)
{
    if (h_fixture_setup_bare(state) != 0)
        return -1;
    CK_RV rv = F->C_Initialize(NULL);
    if (rv != CKR_OK) {
        fprintf(stderr, "fixture: C_Initialize: %s\n", h_rv(rv));
        return -1;
    }
    return 0;
}

int h_fixture_setup(void **state)
{
    if (h_fixture_setup_bare(state) != 0)
        return -1;
    h_fixture *fx = *state;
    CK_RV rv = h_setup_token(&fx->slot);
    if (rv != CKR_OK) {
        fprintf(stderr, "fixture: token setup: %s\n", h_rv(rv));
        return -1;
    }
    return 0;
}

int h_fixture_teardown(void **state)
{
    h_fixture *fx = *state;
    (void)F->C_Finalize(NULL);
    if (fx != NULL) {
        h_env_destroy(&fx->env);
        free(fx);
    }
    *state = NULL;
    return 0;
}

const char *h_rv(CK_RV rv)
{
    switch (rv) {
#define R(x) case x: return #x;
    R(CKR_OK) R(CKR_CANCEL) R(CKR_HOST_MEMORY) R(CKR_SLOT_ID_INVALID)
    R(CKR_GENERAL_ERROR) R(CKR_FUNCTION_FAILED) R(CKR_ARGUMENTS_BAD)
    R(CKR_NO_EVENT) R(CKR_NEED_TO_CREATE_THREADS) R(CKR_CANT_LOCK)
    R(CKR_ATTRIBUTE_READ_ONLY) R(CKR_ATTRIBUTE_SENSITIVE)
    R(CKR_ATTRIBUTE_TYPE_INVALID) R(CKR_ATTRIBUTE_VALUE_INVALID)
    R(CKR_ACTION_PROHIBITED) R(CKR_DATA_INVALID) R(CKR_DATA_LEN_RANGE)
    R(CKR_DEVICE_ERROR) R(CKR_DEVICE_MEMORY) R(CKR_DEVICE_REMOVED)
    R(CKR_FUNCTION_CANCELED) R(CKR_FUNCTION_NOT_PARALLEL)
    R(CKR_FUNCTION_NOT_SUPPORTED) R(CKR_KEY_HANDLE_INVALID)
    R(CKR_MECHANISM_INVALID) R(CKR_OBJECT_HANDLE_INVALID)
    R(CKR_OPERATION_ACTIVE) R(CKR_OPERATION_NOT_INITIALIZED)
    R(CKR_PIN_INCORRECT) R(CKR_PIN_INVALID) R(CKR_PIN_LEN_RANGE)
    R(CKR_PIN_EXPIRED) R(CKR_PIN_LOCKED) R(CKR_SESSION_CLOSED)
    R(CKR_SESSION_COUNT) R(CKR_SESSION_HANDLE_INVALID)
    R(CKR_SESSION_PARALLEL_NOT_SUPPORTED) R(CKR_SESSION_READ_ONLY)
    R(CKR_SESSION_EXISTS) R(CKR_SESSION_READ_ONLY_EXISTS)
    R(CKR_SESSION_READ_WRITE_SO_EXISTS) R(CKR_TEMPLATE_INCOMPLETE)
    R(CKR_TEMPLATE_INCONSISTENT) R(CKR_TOKEN_NOT_PRESENT)
    R(CKR_TOKEN_NOT_RECOGNIZED) R(CKR_TOKEN_WRITE_PROTECTED)
    R(CKR_USER_ALREADY_LOGGED_IN) R(CKR_USER_NOT_LOGGED_IN)
    R(CKR_USER_PIN_NOT_INITIALIZED) R(CKR_USER_TYPE_INVALID)
    R(CKR_USER_ANOTHER_ALREADY_LOGGED_IN) R(CKR_USER_TOO_MANY_TYPES)
    R(CKR_BUFFER_TOO_SMALL) R(CKR_CRYPTOKI_NOT_INITIALIZED)
    R(CKR_CRYPTOKI_ALREADY_INITIALIZED) R(CKR_FUNCTION_REJECTED)
    R(CKR_OPERATION_CANCEL_FAILED)
#undef R
    default:
        return "CKR_?";
    }
}
