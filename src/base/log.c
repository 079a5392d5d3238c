/* Logging: level and destination come from the config; one line per event, with time and pid. */
#include "base/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static struct {
    enum log_level level;
    FILE *file; /* NULL means stderr */
    pthread_mutex_t mu;
} g_log = { LOG_LVL_WARNING, NULL, PTHREAD_MUTEX_INITIALIZER };

int log_level_parse(const char *s, enum log_level *out)
{
    static const struct { const char *name; enum log_level lvl; } names[] = {
        { "none", LOG_LVL_NONE }, { "error", LOG_LVL_ERROR }, { "warning", LOG_LVL_WARNING },
        { "warn", LOG_LVL_WARNING }, { "info", LOG_LVL_INFO }, { "debug", LOG_LVL_DEBUG },
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcasecmp(s, names[i].name) == 0) {
            *out = names[i].lvl;
            return 0;
        }
    }
    return -1;
}

int log_open(enum log_level level, const char *path)
{
    int rc = 0;
    pthread_mutex_lock(&g_log.mu);
    if (g_log.file)
        fclose(g_log.file);
    g_log.file = NULL;
    g_log.level = level;
    if (path && *path) {
        g_log.file = fopen(path, "ae");
        if (!g_log.file)
            rc = -1;
    }
    pthread_mutex_unlock(&g_log.mu);
    return rc;
}

void log_close(void)
{
    pthread_mutex_lock(&g_log.mu);
    if (g_log.file)
        fclose(g_log.file);
    g_log.file = NULL;
    pthread_mutex_unlock(&g_log.mu);
}

enum log_level log_current_level(void)
{
    return g_log.level;
}

void log_write(enum log_level level, const char *where, const char *fmt, ...)
{
    static const char *const tag[] = { "", "error", "warning", "info", "debug" };
    if (level > g_log.level || level == LOG_LVL_NONE)
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    pthread_mutex_lock(&g_log.mu);
    FILE *f = g_log.file ? g_log.file : stderr;
    fprintf(f, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ craton[%ld] %s: %s: %s\n",
            tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
            ts.tv_nsec / 1000000, (long)getpid(), tag[level], where, msg);
    fflush(f);
    pthread_mutex_unlock(&g_log.mu);
}
