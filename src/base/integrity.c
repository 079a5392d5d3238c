/* Integrity self-test of the library file against its HMAC-SHA256 sidecar (see integrity.h).
 *
 * The file is found through the kernel, not through the name it was loaded by: /proc/self/maps
 * gives the absolute, symlink-free path of the mapping that holds this code together with its
 * device and inode, so a relative dlopen path, a later chdir or a symlinked install do not
 * matter, and a file replaced since it was loaded is recognised (its inode differs) instead of
 * being checked in place of the code that runs. Without /proc the loader's name is resolved
 * with realpath. */
#include "base/integrity.h"
#include "base/hex.h"
#include "base/log.h"
#include "base/ossl.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define MAC_LEN 32
#define SIDECAR_MAX 4096
#define LIB_MAX (1024L * 1024 * 1024) /* a larger "library" is not ours */

/* An object in this shared object's data: its address tells which mapping is ours. */
static const char g_anchor = 0;

_Static_assert(sizeof INTEGRITY_KEY - 1 == INTEGRITY_KEY_LEN, "INTEGRITY_KEY is 32 bytes");

struct self {
    char path[PATH_MAX];
    bool have_id; /* dev/ino of the mapped file are known */
    dev_t dev;
    ino_t ino;
};

/* The mapping holding addr, from /proc/self/maps. 1 found, 0 not found or no /proc, -1 the
 * mapped file was deleted or replaced (" (deleted)"). */
static int from_maps(uintptr_t addr, struct self *s)
{
    FILE *f = fopen("/proc/self/maps", "re");
    if (!f)
        return 0;
    char line[PATH_MAX + 128];
    int found = 0;
    while (!found && fgets(line, sizeof line, f)) {
        /* "lo-hi perms offset maj:min inode   path" (proc(5)); numbers in hex but the inode */
        char *p, *e;
        unsigned long lo = strtoul(line, &e, 16);
        if (*e != '-')
            continue;
        unsigned long hi = strtoul(e + 1, &e, 16);
        if (*e != ' ' || addr < lo || addr >= hi)
            continue;
        for (int field = 0; field < 2 && e; field++) /* perms, offset */
            e = strchr(e + 1, ' ');
        if (!e)
            continue;
        unsigned long maj = strtoul(e + 1, &e, 16);
        if (*e != ':')
            continue;
        unsigned long min = strtoul(e + 1, &e, 16);
        if (*e != ' ')
            continue;
        unsigned long ino = strtoul(e + 1, &e, 10);
        if (*e != ' ')
            continue;
        p = e + strspn(e, " ");
        p[strcspn(p, "\n")] = '\0';
        size_t n = strlen(p);
        static const char deleted[] = " (deleted)";
        if (n >= sizeof deleted - 1 && strcmp(p + n - (sizeof deleted - 1), deleted) == 0) {
            found = -1;
        } else if (p[0] == '/' && n < sizeof s->path) {
            memcpy(s->path, p, n + 1);
            s->dev = makedev(maj, min);
            s->ino = (ino_t)ino;
            s->have_id = true;
            found = 1;
        }
    }
    (void)fclose(f); /* read-only */
    return found;
}

/* 1: s->path is the shared object holding this code; 0: this code is part of the program
 * itself (static link), nothing to check; -1: cannot tell or the file is gone. */
static int locate_self(struct self *s)
{
    Dl_info info;
    struct link_map *lm = NULL;
    memset(s, 0, sizeof *s);
    if (!dladdr1(&g_anchor, &info, (void **)&lm, RTLD_DL_LINKMAP) || !lm || !lm->l_name) {
        LOG_ERR("integrity check: cannot find the module's own file (dladdr)");
        return -1;
    }
    if (lm->l_name[0] == '\0')
        return 0;
    int r = from_maps((uintptr_t)&g_anchor, s);
    if (r < 0) {
        LOG_ERR("integrity check: the module file was deleted or replaced after it was loaded");
        return -1;
    }
    if (r == 0 && !realpath(lm->l_name, s->path)) {
        LOG_ERR("integrity check: cannot resolve the module path %s", lm->l_name);
        return -1;
    }
    return 1;
}

/* The expected MAC from the sidecar's bytes: 32 raw bytes, or 64 hex digits after optional
 * whitespace (or after the ")= " of `openssl dgst`'s default output), then the end of the
 * file or whitespace. 0 or -1 (malformed). */
static int parse_sidecar(const uint8_t *buf, size_t len, uint8_t mac[MAC_LEN])
{
    size_t i = 0;
    bool all_hex = len > 0;
    for (size_t k = 0; k < len && all_hex; k++)
        all_hex = hex_digit(buf[k]) >= 0;
    if (len == MAC_LEN && !all_hex) {
        memcpy(mac, buf, MAC_LEN);
        return 0;
    }
    for (size_t k = 0; k + 2 < len && k < 1024; k++) /* "HMAC-SHA2-256(path)= <hex>" */
        if (buf[k] == ')' && buf[k + 1] == '=' && buf[k + 2] == ' ')
            i = k + 3;
    while (i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\n' || buf[i] == '\r'))
        i++;
    if (len - i < 2 * MAC_LEN)
        return -1;
    for (size_t k = 0; k < MAC_LEN; k++) {
        int hi = hex_digit(buf[i + 2 * k]), lo = hex_digit(buf[i + 2 * k + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        mac[k] = (uint8_t)(hi << 4 | lo);
    }
    i += 2 * MAC_LEN;
    if (i < len && buf[i] != ' ' && buf[i] != '\t' && buf[i] != '\n' && buf[i] != '\r')
        return -1;
    return 0;
}

/* 1 read, 0 no such file, -1 error (unreadable, too large, malformed). */
static int read_sidecar(const char *path, uint8_t mac[MAC_LEN])
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : -1;
    uint8_t buf[SIDECAR_MAX];
    size_t len = 0;
    int rc = 0;
    for (;;) {
        ssize_t n = read(fd, buf + len, sizeof buf - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = -1;
            break;
        }
        if (n == 0)
            break;
        len += (size_t)n;
        if (len == sizeof buf) { /* a sidecar is 65 bytes; this is something else */
            rc = -1;
            break;
        }
    }
    close(fd);
    if (rc == 0)
        rc = parse_sidecar(buf, len, mac) == 0 ? 1 : -1;
    return rc;
}

/* HMAC-SHA256 of the file under INTEGRITY_KEY; checks that it is the mapped file. 0 or -1. */
static int mac_file(const struct self *s, uint8_t mac[MAC_LEN])
{
    const struct ossl *o = ossl_get();
    int fd = open(s->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    struct stat st;
    int rc = -1;
    EVP_MAC_CTX *c = NULL;
    uint8_t buf[16 * 1024];
    if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size > LIB_MAX)
        goto done;
    if (s->have_id && (st.st_dev != s->dev || st.st_ino != s->ino)) {
        LOG_ERR("integrity check: %s is not the file that was loaded (replaced since)",
                s->path);
        goto done;
    }
    OSSL_PARAM p[] = { OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
                                                        (char *)"SHA2-256", 0),
                       OSSL_PARAM_construct_end() };
    c = o->hmac ? EVP_MAC_CTX_new(o->hmac) : NULL;
    if (!c || !EVP_MAC_init(c, (const unsigned char *)INTEGRITY_KEY, INTEGRITY_KEY_LEN, p))
        goto done;
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            goto done;
        if (n == 0)
            break;
        if (!EVP_MAC_update(c, buf, (size_t)n))
            goto done;
    }
    size_t outl = 0;
    if (EVP_MAC_final(c, mac, &outl, MAC_LEN) && outl == MAC_LEN)
        rc = 0;
done:
    EVP_MAC_CTX_free(c);
    close(fd);
    return rc;
}

CK_RV integrity_check(bool required)
{
    struct self s;
    int where = locate_self(&s);
    if (where == 0) {
        LOG_DEBUG("integrity check: not in a shared object (linked into the program); skipped");
        return CKR_OK;
    }
    if (where < 0)
        return required ? CKR_GENERAL_ERROR : CKR_OK;
    char sidecar[PATH_MAX + sizeof INTEGRITY_SUFFIX];
    snprintf(sidecar, sizeof sidecar, "%s%s", s.path, INTEGRITY_SUFFIX);
    uint8_t want[MAC_LEN], got[MAC_LEN];
    int r = read_sidecar(sidecar, want);
    if (r == 0) {
        if (required) {
            LOG_ERR("integrity check: %s is missing; it is required in FIPS-approved-only mode",
                    sidecar);
            return CKR_GENERAL_ERROR;
        }
        LOG_DEBUG("integrity check: no sidecar %s; not checked", sidecar);
        return CKR_OK;
    }
    if (r < 0) {
        LOG_ERR("integrity check: cannot read %s or it is not an HMAC-SHA256 value", sidecar);
        return CKR_GENERAL_ERROR;
    }
    if (mac_file(&s, got)) {
        LOG_ERR("integrity check: cannot read the module file %s", s.path);
        return CKR_GENERAL_ERROR;
    }
    if (CRYPTO_memcmp(got, want, MAC_LEN) != 0) {
        LOG_ERR("integrity check failed: %s does not match %s", s.path, sidecar);
        return CKR_GENERAL_ERROR;
    }
    LOG_DEBUG("integrity check passed: %s", s.path);
    return CKR_OK;
}
