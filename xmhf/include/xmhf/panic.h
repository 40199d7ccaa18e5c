/* The fatal-error interface. Every image provides panic(): the runtime
 * (runtime/exceptions.c: stops every CPU) and the loader (boot/loader.c:
 * one CPU). Code shared by the images (lib/, platform/) reaches it only
 * through this header. A panic is for the hypervisor's own bugs and for
 * machines it cannot run on, never for a guest's input. */
#ifndef XMHF_PANIC_H
#define XMHF_PANIC_H

#include <xmhf/types.h>

/* Print the message at LOG_ERROR, stop, never return. */
__attribute__((format(printf, 1, 2))) NORETURN void panic(const char *fmt, ...);

#endif
