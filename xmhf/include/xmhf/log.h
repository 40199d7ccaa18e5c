/* Leveled, line-atomic logging: every line is prefixed with "[N] ", the
 * dense index of the CPU that prints it ("[L]" in the loader). */
#ifndef XMHF_LOG_H
#define XMHF_LOG_H

#include <stdarg.h>
#include <xmhf/cmdline.h>

#define LOG_LINE_MAX 256
#define LOG_NO_CPU 0xffffffffu

void log_set_level(enum loglvl level);
bool log_enabled(enum loglvl level);
/* Where the current CPU's index comes from (LOG_NO_CPU before SMP). */
void log_set_cpu_index_fn(u32 (*fn)(void));
void xvlog(enum loglvl level, const char *fmt, va_list ap);
__attribute__((format(printf, 2, 3))) void xlog(enum loglvl level, const char *fmt, ...);

#define pr_err(...) xlog(LOG_ERROR, __VA_ARGS__)
#define pr_warn(...) xlog(LOG_WARN, __VA_ARGS__)
#define pr_info(...) xlog(LOG_INFO, __VA_ARGS__)
#define pr_debug(...) xlog(LOG_DEBUG, __VA_ARGS__)
#define pr_trace(...) xlog(LOG_TRACE, __VA_ARGS__)

#endif
