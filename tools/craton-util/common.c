/* craton-util: messages, the module, tokens and sessions, PINs, attributes, files, progress. */
#include "util.h"
#include "audit/audit.h"
#include "base/config.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

/* ---- messages ---- */

void errf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "craton-util%s%s: ", g_cmd ? " " : "", g_cmd ? g_cmd : "");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

void notef(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("craton-util: note: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

const char *rv_name(CK_RV rv)
{
    static char buf[32];
    const char *n = audit_rv_name(rv);
    if (n)
        return n;
    snprintf(buf, sizeof buf, "0x%08lx", (unsigned long)rv);
    return buf;
}

/* ---- the module ---- */

const char *p11_default_module(void)
{
#if defined(CRATON_BUILD_MODULE) && defined(CRATON_BUILD_DIR)
    /* The build tree's library, for the binary that runs from that build tree (an installed
     * copy never picks up a build directory that happens to exist). */
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    size_t bl = strlen(CRATON_BUILD_DIR);
    if (n > 0) {
        self[n] = 0;
        if (!strncmp(self, CRATON_BUILD_DIR, bl) && self[bl] == '/' &&
            access(CRATON_BUILD_MODULE, R_OK) == 0)
            return CRATON_BUILD_MODULE;
    }
#endif
    return CRATON_INSTALLED_MODULE;
}

int p11_load(const char *path, void **dl, CK_FUNCTION_LIST_PTR *f)
{
    if (!path)
        path = p11_default_module();
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        errf("cannot load the PKCS#11 module %s: %s", path, dlerror());
        return -1;
    }
    CK_C_GetFunctionList gfl = (CK_C_GetFunctionList)dlsym(h, "C_GetFunctionList");
    CK_FUNCTION_LIST_PTR fl = NULL;
    if (!gfl || gfl(&fl) != CKR_OK || !fl) {
        errf("%s is not a PKCS#11 module", path);
        dlclose(h);
        return -1;
    }
    CK_C_INITIALIZE_ARGS args;
    memset(&args, 0, sizeof args);
    args.flags = CKF_OS_LOCKING_OK;
    CK_RV rv = fl->C_Initialize(&args);
    if (rv != CKR_OK) {
        errf("C_Initialize of %s failed: %s%s", path, rv_name(rv),
             rv == CKR_GENERAL_ERROR ? " (check the configuration: craton-util config check)"
                                     : "");
        dlclose(h);
        return -1;
    }
    *dl = h;
    *f = fl;
    return 0;
}

void p11_unload(void *dl, CK_FUNCTION_LIST_PTR f)
{
    if (f)
        f->C_Finalize(NULL);
    if (dl)
        dlclose(dl);
}

void p11_str(char *dst, size_t cap, const CK_UTF8CHAR *src, size_t len)
{
    size_t n = len < cap - 1 ? len : cap - 1;
    memcpy(dst, src, n);
    while (n > 0 && dst[n - 1] == ' ')
        n--;
    dst[n] = 0;
}

int p11_slots(CK_FUNCTION_LIST_PTR f, CK_SLOT_ID **slots, CK_ULONG *n)
{
    CK_ULONG cnt = 0;
    CK_RV rv = f->C_GetSlotList(CK_TRUE, NULL, &cnt);
    CK_SLOT_ID *list = NULL;
    if (rv == CKR_OK && cnt) {
        list = calloc(cnt, sizeof *list);
        if (!list)
            rv = CKR_HOST_MEMORY;
        else
            rv = f->C_GetSlotList(CK_TRUE, list, &cnt);
    }
    if (rv != CKR_OK) {
        errf("C_GetSlotList: %s", rv_name(rv));
        free(list);
        return -1;
    }
    *slots = list;
    *n = cnt;
    return 0;
}

static int parse_ulong(const char *s, unsigned long *v)
{
    char *end;
    errno = 0;
    unsigned long x = strtoul(s, &end, 0);
    if (errno || end == s || *end || *s == '-')
        return -1;
    *v = x;
    return 0;
}

int p11_find_token(CK_FUNCTION_LIST_PTR f, const char *label, const char *slot_str,
                   CK_SLOT_ID *slot, CK_TOKEN_INFO *ti)
{
    unsigned long want_slot = 0;
    if (slot_str && parse_ulong(slot_str, &want_slot)) {
        errf("bad slot ID '%s'", slot_str);
        return -1;
    }
    CK_SLOT_ID *slots;
    CK_ULONG n;
    if (p11_slots(f, &slots, &n))
        return -1;
    int found = 0;
    for (CK_ULONG i = 0; i < n; i++) {
        CK_TOKEN_INFO info;
        if (f->C_GetTokenInfo(slots[i], &info) != CKR_OK ||
            !(info.flags & CKF_TOKEN_INITIALIZED))
            continue;
        char l[33];
        p11_str(l, sizeof l, info.label, sizeof info.label);
        if (slot_str && slots[i] != want_slot)
            continue;
        if (label && strcmp(l, label))
            continue;
        if (found++ == 0) {
            *slot = slots[i];
            *ti = info;
        }
    }
    free(slots);
    if (found == 1)
        return 0;
    if (found == 0) {
        if (label)
            errf("no token labelled '%s'", label);
        else if (slot_str)
            errf("no initialised token in slot %s", slot_str);
        else
            errf("no initialised token (craton-util init-token creates one)");
    } else if (label) {
        errf("%d tokens are labelled '%s': choose one with --slot", found, label);
    } else {
        errf("%d tokens: choose one with --token LABEL", found);
    }
    return -1;
}

int p11_session(CK_FUNCTION_LIST_PTR f, CK_SLOT_ID slot, bool rw, CK_SESSION_HANDLE *s)
{
    CK_FLAGS fl = CKF_SERIAL_SESSION | (rw ? CKF_RW_SESSION : 0);
    CK_RV rv = f->C_OpenSession(slot, fl, NULL, NULL, s);
    if (rv != CKR_OK) {
        errf("C_OpenSession on slot %lu: %s", (unsigned long)slot, rv_name(rv));
        return -1;
    }
    return 0;
}

int p11_login(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s, CK_USER_TYPE who,
              const struct opts *o, const char *token_label)
{
    char pin[PIN_MAX], prompt[96];
    size_t len;
    bool so = who == CKU_SO;
    snprintf(prompt, sizeof prompt, "%s PIN for token '%s': ", so ? "SO" : "User", token_label);
    if (pin_get(o->pin_file, so ? "CRATON_SO_PIN" : "CRATON_PIN", prompt, pin, &len))
        return EX_PIN;
    CK_RV rv = f->C_Login(s, who, (CK_UTF8CHAR_PTR)pin, len);
    pin_wipe(pin);
    if (rv == CKR_USER_ALREADY_LOGGED_IN)
        return 0;
    if (rv != CKR_OK) {
        errf("C_Login as %s: %s", so ? "SO" : "user", rv_name(rv));
        return rv == CKR_PIN_INCORRECT || rv == CKR_PIN_LOCKED || rv == CKR_PIN_LEN_RANGE
                   ? EX_PIN
                   : EX_FAIL;
    }
    return 0;
}

/* ---- PINs ---- */

void pin_wipe(char *buf) { OPENSSL_cleanse(buf, PIN_MAX); }

bool pin_available(const char *file, const char *env)
{
    const char *e = env ? getenv(env) : NULL;
    return file || (e && *e);
}

static int pin_from_file(const char *path, char *buf, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        errf("cannot open the PIN file %s: %s", path, strerror(errno));
        return -1;
    }
    ssize_t n = read(fd, buf, PIN_MAX - 1);
    close(fd);
    if (n < 0) {
        errf("cannot read the PIN file %s: %s", path, strerror(errno));
        return -1;
    }
    size_t l = (size_t)n;
    /* The first line: a PIN ends at the first newline. */
    char *nl = memchr(buf, '\n', l);
    if (nl)
        l = (size_t)(nl - buf);
    if (l > 0 && buf[l - 1] == '\r')
        l--;
    buf[l] = 0;
    if (!nl && (size_t)n == PIN_MAX - 1) {
        errf("the PIN in %s is too long", path);
        return -1;
    }
    if (l == 0) {
        errf("the PIN file %s is empty", path);
        return -1;
    }
    *len = l;
    return 0;
}

static int pin_prompt(const char *prompt, char *buf, size_t *len)
{
    int fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return 1; /* no terminal */
    struct termios old, quiet;
    bool restore = false;
    if (tcgetattr(fd, &old) == 0) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK | ECHONL);
        quiet.c_lflag |= ICANON;
        restore = tcsetattr(fd, TCSAFLUSH, &quiet) == 0;
    }
    size_t pl = strlen(prompt);
    if (write(fd, prompt, pl) != (ssize_t)pl) {
        /* the prompt is a courtesy; reading goes on */
    }
    size_t l = 0;
    int rc = 0;
    for (;;) {
        char ch;
        ssize_t r = read(fd, &ch, 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0 || ch == '\n' || ch == '\r')
            break;
        if (l + 1 >= PIN_MAX) {
            rc = -1;
            continue;
        }
        buf[l++] = ch;
        ch = 0;
    }
    buf[l] = 0;
    if (restore)
        tcsetattr(fd, TCSAFLUSH, &old);
    if (write(fd, "\n", 1) != 1) {
        /* nothing to do */
    }
    close(fd);
    if (rc) {
        errf("the PIN is too long");
        return -1;
    }
    *len = l;
    return 0;
}

int pin_get(const char *file, const char *env, const char *prompt, char *buf, size_t *len)
{
    if (file)
        return pin_from_file(file, buf, len) ? -1 : 0;
    const char *e = env ? getenv(env) : NULL;
    if (e && *e) {
        size_t l = strlen(e);
        if (l >= PIN_MAX) {
            errf("%s is too long", env);
            return -1;
        }
        memcpy(buf, e, l + 1);
        *len = l;
        return 0;
    }
    int r = pin_prompt(prompt, buf, len);
    if (r > 0) {
        errf("no PIN: no terminal to ask on; use --pin-file FILE%s%s", env ? " or " : "",
             env ? env : "");
        return -1;
    }
    if (r == 0 && *len == 0) {
        errf("empty PIN");
        return -1;
    }
    return r;
}

int pin_get_new(const char *file, const char *env, const char *prompt, char *buf, size_t *len)
{
    const char *e = env ? getenv(env) : NULL;
    if (file || (e && *e))
        return pin_get(file, env, prompt, buf, len);
    if (pin_get(NULL, NULL, prompt, buf, len))
        return -1;
    char again[PIN_MAX];
    size_t l2;
    int rc = 0;
    if (pin_get(NULL, NULL, "Again: ", again, &l2))
        rc = -1;
    else if (l2 != *len || CRYPTO_memcmp(again, buf, l2)) {
        errf("the PINs differ");
        rc = -1;
    }
    pin_wipe(again);
    if (rc)
        pin_wipe(buf);
    return rc;
}

/* ---- attributes and search ---- */

int attr_get(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h,
             CK_ATTRIBUTE_TYPE t, uint8_t **val, CK_ULONG *len)
{
    CK_ATTRIBUTE a = { t, NULL, 0 };
    CK_RV rv = f->C_GetAttributeValue(s, h, &a, 1);
    *val = NULL;
    *len = 0;
    if (rv == CKR_ATTRIBUTE_SENSITIVE || rv == CKR_ATTRIBUTE_TYPE_INVALID ||
        a.ulValueLen == CK_UNAVAILABLE_INFORMATION)
        return 1;
    if (rv != CKR_OK)
        return -1;
    a.pValue = malloc(a.ulValueLen ? a.ulValueLen : 1);
    if (!a.pValue)
        return -1;
    rv = f->C_GetAttributeValue(s, h, &a, 1);
    if (rv != CKR_OK) {
        free(a.pValue);
        return rv == CKR_ATTRIBUTE_SENSITIVE || rv == CKR_ATTRIBUTE_TYPE_INVALID ? 1 : -1;
    }
    *val = a.pValue;
    *len = a.ulValueLen;
    return 0;
}

bool attr_ulong(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h,
                CK_ATTRIBUTE_TYPE t, CK_ULONG *v)
{
    CK_ATTRIBUTE a = { t, v, sizeof *v };
    return f->C_GetAttributeValue(s, h, &a, 1) == CKR_OK && a.ulValueLen == sizeof *v;
}

bool attr_bool(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h,
               CK_ATTRIBUTE_TYPE t, bool *v)
{
    CK_BBOOL b = CK_FALSE;
    CK_ATTRIBUTE a = { t, &b, sizeof b };
    if (f->C_GetAttributeValue(s, h, &a, 1) != CKR_OK || a.ulValueLen != sizeof b)
        return false;
    *v = b == CK_TRUE;
    return true;
}

int p11_find(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s, CK_ATTRIBUTE *t, CK_ULONG n,
             CK_OBJECT_HANDLE **out, CK_ULONG *count)
{
    CK_RV rv = f->C_FindObjectsInit(s, t, n);
    if (rv != CKR_OK) {
        errf("C_FindObjectsInit: %s", rv_name(rv));
        return -1;
    }
    CK_OBJECT_HANDLE *list = NULL;
    CK_ULONG total = 0;
    for (;;) {
        CK_OBJECT_HANDLE *nl = realloc(list, (total + 64) * sizeof *nl);
        if (!nl) {
            rv = CKR_HOST_MEMORY;
            break;
        }
        list = nl;
        CK_ULONG got = 0;
        rv = f->C_FindObjects(s, list + total, 64, &got);
        if (rv != CKR_OK || got == 0)
            break;
        total += got;
    }
    f->C_FindObjectsFinal(s);
    if (rv != CKR_OK) {
        errf("C_FindObjects: %s", rv_name(rv));
        free(list);
        return -1;
    }
    *out = list;
    *count = total;
    return 0;
}

/* ---- hex ---- */

int hex_decode(const char *hex, uint8_t **out, size_t *len)
{
    if (!strncmp(hex, "0x", 2) || !strncmp(hex, "0X", 2))
        hex += 2;
    size_t n = strlen(hex);
    if (n == 0 || n % 2) {
        errf("'%s' is not an even number of hex digits", hex);
        return -1;
    }
    uint8_t *b = malloc(n / 2);
    if (!b)
        return -1;
    for (size_t i = 0; i < n / 2; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1 || !strchr("0123456789abcdefABCDEF", hex[2 * i]) ||
            !strchr("0123456789abcdefABCDEF", hex[2 * i + 1])) {
            errf("'%s' is not hex", hex);
            free(b);
            return -1;
        }
        b[i] = (uint8_t)v;
    }
    *out = b;
    *len = n / 2;
    return 0;
}

void hex_print(FILE *fp, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fprintf(fp, "%02x", p[i]);
}

/* ---- files ---- */

int file_read(const char *path, uint8_t **buf, size_t *len, size_t max)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb)) {
        errf("cannot open %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    if (!S_ISREG(sb.st_mode) || (uint64_t)sb.st_size > max) {
        errf("%s: %s", path, S_ISREG(sb.st_mode) ? "file too large" : "not a regular file");
        close(fd);
        return -1;
    }
    size_t cap = (size_t)sb.st_size, n = 0;
    uint8_t *b = malloc(cap + 1);
    if (!b) {
        close(fd);
        errf("out of memory reading %s", path);
        return -1;
    }
    while (n < cap) {
        ssize_t r = read(fd, b + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    if (n != cap) {
        errf("cannot read %s", path);
        free(b);
        return -1;
    }
    b[n] = 0;
    *buf = b;
    *len = n;
    return 0;
}

int file_write_atomic(const char *path, const uint8_t *data, size_t len, unsigned mode,
                      bool overwrite)
{
    if (!overwrite && access(path, F_OK) == 0) {
        errf("%s exists (--force replaces it)", path);
        return -1;
    }
    size_t pl = strlen(path);
    char *tmp = malloc(pl + 16);
    if (!tmp)
        return -1;
    snprintf(tmp, pl + 16, "%s.tmp-XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        errf("cannot create %s: %s", tmp, strerror(errno));
        free(tmp);
        return -1;
    }
    int rc = fchmod(fd, (mode_t)mode);
    size_t off = 0;
    while (rc == 0 && off < len) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            rc = -1;
        else
            off += (size_t)w;
    }
    if (rc == 0)
        rc = fsync(fd);
    if (close(fd))
        rc = -1;
    if (rc == 0 && rename(tmp, path))
        rc = -1;
    if (rc) {
        errf("cannot write %s: %s", path, strerror(errno));
        unlink(tmp);
    }
    free(tmp);
    return rc;
}

/* ---- progress ---- */

void progress_start(struct progress *p, const char *what, uint64_t total)
{
    p->what = what;
    p->total = total;
    p->done = 0;
    p->last = -1;
    p->on = isatty(STDERR_FILENO) && total > 0;
    progress_set(p, 0);
}

void progress_set(struct progress *p, uint64_t done)
{
    p->done = done;
    if (!p->on)
        return;
    int pct = (int)(p->total ? (done >= p->total ? 100 : done * 100 / p->total) : 100);
    if (pct == p->last)
        return;
    p->last = pct;
    char bar[31];
    int fill = pct * 30 / 100;
    for (int i = 0; i < 30; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[30] = 0;
    fprintf(stderr, "\r%-12.12s [%s] %3d%%", p->what, bar, pct);
    fflush(stderr);
}

void progress_clear(struct progress *p)
{
    if (!p->on)
        return;
    fputs("\r\033[K", stderr);
    fflush(stderr);
    p->last = -1;
}

void progress_end(struct progress *p)
{
    if (!p->on)
        return;
    progress_set(p, p->total);
    fputc('\n', stderr);
    p->on = false;
}

/* ---- configuration and the token directory ---- */

int util_config(char *token_dir, size_t cap, char *source, size_t scap)
{
    struct config cfg;
    char err[512] = "";
    if (config_load(&cfg, err, sizeof err)) {
        errf("configuration: %s", err);
        return -1;
    }
    snprintf(token_dir, cap, "%s", cfg.token_dir);
    if (source)
        snprintf(source, scap, "%s", cfg.source);
    return 0;
}

static int read_token_row(const char *path, struct tokdir_entry *e)
{
    sqlite3 *db = NULL;
    int rc = -1;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) ==
        SQLITE_OK) {
        sqlite3_busy_timeout(db, 10000);
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(db, "SELECT slot_id, label, uuid FROM token WHERE id = 1", -1, &st,
                               NULL) == SQLITE_OK &&
            sqlite3_step(st) == SQLITE_ROW) {
            const void *l = sqlite3_column_blob(st, 1);
            int ll = sqlite3_column_bytes(st, 1);
            const void *u = sqlite3_column_blob(st, 2);
            int ul = sqlite3_column_bytes(st, 2);
            char lab[33];
            memset(lab, 0, sizeof lab);
            if (l && ll > 0)
                memcpy(lab, l, ll > 32 ? 32 : (size_t)ll);
            p11_str(e->label, sizeof e->label, (const CK_UTF8CHAR *)lab, strlen(lab));
            memset(e->uuid, 0, sizeof e->uuid);
            if (u && ul == 16)
                memcpy(e->uuid, u, 16);
            (void)sqlite3_column_int64(st, 0);
            rc = 0;
        }
        sqlite3_finalize(st);
    }
    sqlite3_close_v2(db);
    return rc;
}

int tokdir_list(const char *dir, struct tokdir_entry **out, size_t *n)
{
    DIR *d = opendir(dir);
    *out = NULL;
    *n = 0;
    if (!d) {
        if (errno == ENOENT)
            return 0;
        errf("cannot read the token directory %s: %s", dir, strerror(errno));
        return -1;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        unsigned long id;
        int end = -1;
        if (sscanf(e->d_name, "slot-%lu.db%n", &id, &end) != 1 || end < 0 || e->d_name[end])
            continue;
        char path[CONFIG_PATH_MAX + 300];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct tokdir_entry te;
        memset(&te, 0, sizeof te);
        te.slot = id;
        if (read_token_row(path, &te))
            continue;
        struct tokdir_entry *nv = realloc(*out, (*n + 1) * sizeof *nv);
        if (!nv) {
            closedir(d);
            return -1;
        }
        *out = nv;
        nv[(*n)++] = te;
    }
    closedir(d);
    return 0;
}

int tokdir_find(const char *dir, const char *label, const char *slot_str, unsigned long *slot)
{
    unsigned long want = 0;
    if (slot_str && parse_ulong(slot_str, &want)) {
        errf("bad slot ID '%s'", slot_str);
        return -1;
    }
    struct tokdir_entry *v;
    size_t n;
    if (tokdir_list(dir, &v, &n))
        return -1;
    int found = 0;
    for (size_t i = 0; i < n; i++) {
        if (slot_str && v[i].slot != want)
            continue;
        if (label && strcmp(v[i].label, label))
            continue;
        if (found++ == 0)
            *slot = v[i].slot;
    }
    free(v);
    if (found == 1)
        return 0;
    if (!found && label)
        errf("no token labelled '%s' in %s", label, dir);
    else if (!found && slot_str)
        errf("no token in slot %s in %s", slot_str, dir);
    else if (!found)
        errf("no token in %s", dir);
    else
        errf("%d tokens match in %s: choose one with %s", found, dir,
             label ? "--slot" : "--token LABEL");
    return -1;
}
