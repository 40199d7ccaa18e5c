/* Result of the running check: fail()/note() collect its messages; the caller prints one line.
 * Shared with the l1 guest. */
#include "kernel.h"

struct check_result g_result;

void result_reset(void)
{
    g_result.fail_msg[0] = g_result.note_msg[0] = 0;
    g_result.failed = false;
}

static void append(char *buf, size_t size, const char *fmt, va_list ap)
{
    size_t len = 0;
    while (buf[len])
        len++;
    if (len && len + 2 < size)
        buf[len++] = ';', buf[len++] = ' ';
    vsformat(buf + len, size - len, fmt, ap);
}

void fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    append(g_result.fail_msg, sizeof g_result.fail_msg, fmt, ap);
    va_end(ap);
    g_result.failed = true;
}

void note(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    append(g_result.note_msg, sizeof g_result.note_msg, fmt, ap);
    va_end(ap);
}
