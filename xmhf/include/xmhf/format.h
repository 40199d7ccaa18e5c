/* snprintf for the hypervisor (C99 semantics for the subset below).
 * Conversions: d i u x X p s c %; length modifiers hh h l ll z; flags
 * '-' and '0'; width and precision as digits or '*'. The output is always
 * NUL-terminated when size > 0; the return value is the length the full
 * output would have had. */
#ifndef XMHF_FORMAT_H
#define XMHF_FORMAT_H

#include <stdarg.h>
#include <xmhf/types.h>

int xvsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
__attribute__((format(printf, 3, 4)))
int xsnprintf(char *buf, size_t size, const char *fmt, ...);

#endif
