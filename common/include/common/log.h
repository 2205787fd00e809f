/*
 * log.h - process-wide logging for the daemons and the CLI.
 *
 * One line per event on stderr: "2026-11-23T10:50:26Z level component: message"
 * or, with cmn_log_set_json(1), one JSON object per line for log shippers.
 * Thread-safe (one write(2) per line). The SDK does not log through this; it
 * keeps the last error on its handle instead.
 */
#ifndef COMMON_LOG_H
#define COMMON_LOG_H

enum cmn_log_level { CMN_LOG_DEBUG = 0, CMN_LOG_INFO, CMN_LOG_WARN, CMN_LOG_ERROR, CMN_LOG_OFF };

/* Defaults: INFO, text, component "hotpatch". Call before starting threads. */
void cmn_log_set_level(enum cmn_log_level lvl);
void cmn_log_set_json(int on);
void cmn_log_set_component(const char *name);

/* Parse "debug", "info", "warn", "error", "off"; -1 when unknown. */
int cmn_log_level_parse(const char *s);

void cmn_log(enum cmn_log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define cmn_debug(...) cmn_log(CMN_LOG_DEBUG, __VA_ARGS__)
#define cmn_info(...) cmn_log(CMN_LOG_INFO, __VA_ARGS__)
#define cmn_warn(...) cmn_log(CMN_LOG_WARN, __VA_ARGS__)
#define cmn_error(...) cmn_log(CMN_LOG_ERROR, __VA_ARGS__)

#endif
