/*
 * log.c - line-oriented logging to stderr. Each line is formatted into a
 * stack buffer and written with a single write(2) so lines from concurrent
 * threads never interleave.
 */
#include "common/compat.h"

#include <unistd.h>

#include "common/log.h"
#include "common/str.h"

static enum cmn_log_level log_level = CMN_LOG_INFO;
static int log_json;
static const char *log_component = "hotpatch";

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void cmn_log_set_level(enum cmn_log_level lvl)
{
    log_level = lvl;
}

void cmn_log_set_json(int on)
{
    log_json = on;
}

void cmn_log_set_component(const char *name)
{
    log_component = name;
}

int cmn_log_level_parse(const char *s)
{
    for (size_t i = 0; i < CMN_ARRAY_SIZE(level_names); i++)
        if (strcasecmp(s, level_names[i]) == 0)
            return (int)i;
    if (strcasecmp(s, "off") == 0)
        return CMN_LOG_OFF;
    return -1;
}

void cmn_log(enum cmn_log_level lvl, const char *fmt, ...)
{
    if (lvl < log_level || lvl >= CMN_LOG_OFF)
        return;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);

    char ts[32];
    struct timespec now;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);

    char line[4096];
    size_t n;
    if (log_json) {
        n = (size_t)snprintf(line, sizeof(line), "{\"ts\":\"%s\",\"level\":\"%s\",\"component\":\"%s\",\"msg\":\"", ts,
                             level_names[lvl], log_component);
        /* keep room for the closing "}\n: a long message is cut at a whole escape */
        n = cmn_json_escape_to(line, sizeof(line) - 3, n, msg);
        n += (size_t)snprintf(line + n, sizeof(line) - n, "\"}\n");
    } else {
        int k = snprintf(line, sizeof(line), "%s %s %s: %s\n", ts, level_names[lvl], log_component, msg);
        n = (k < 0) ? 0 : ((size_t)k >= sizeof(line) ? sizeof(line) - 1 : (size_t)k);
        if (n == sizeof(line) - 1)
            line[n - 1] = '\n';
    }
    ssize_t w = write(STDERR_FILENO, line, n);
    (void)w;
}
