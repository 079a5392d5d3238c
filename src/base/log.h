/* The one logging facility. Callers pass only non-secret values: there is deliberately no
 * function that formats a buffer's bytes, so key material cannot reach a log by accident. */
#ifndef CRATON_BASE_LOG_H
#define CRATON_BASE_LOG_H

enum log_level { LOG_LVL_NONE = 0, LOG_LVL_ERROR, LOG_LVL_WARNING, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* path NULL or "" means stderr. Returns 0, or -1 if the file cannot be opened (stderr then). */
int log_open(enum log_level level, const char *path);
void log_close(void);
int log_level_parse(const char *s, enum log_level *out);
enum log_level log_current_level(void);
void log_write(enum log_level level, const char *where, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define LOG_ERR(...)   log_write(LOG_LVL_ERROR, __func__, __VA_ARGS__)
#define LOG_WARN(...)  log_write(LOG_LVL_WARNING, __func__, __VA_ARGS__)
#define LOG_INFO(...)  log_write(LOG_LVL_INFO, __func__, __VA_ARGS__)
#define LOG_DEBUG(...) do { if (log_current_level() >= LOG_LVL_DEBUG) \
                              log_write(LOG_LVL_DEBUG, __func__, __VA_ARGS__); } while (0)
#endif
