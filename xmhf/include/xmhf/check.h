/* CHECK: an invariant of the hypervisor itself. A failed CHECK is a
 * hypervisor bug: check_failed (lib/check.c) panics (xmhf/panic.h) with the
 * condition and location. Guest input is never validated with CHECK
 * (guests get SDM behaviour). */
#ifndef XMHF_CHECK_H
#define XMHF_CHECK_H

#include <xmhf/types.h>

NORETURN void check_failed(const char *file, int line, const char *cond);

#define CHECK(cond) ((cond) ? (void)0 : check_failed(__FILE__, __LINE__, #cond))

#endif
