/* The runtime's fatal errors: panic() (xmhf/panic.h) prints, stops every
 * other CPU by NMI and halts; the exception frame the handler dumps. */
#ifndef RUNTIME_PANIC_H
#define RUNTIME_PANIC_H

#include <xmhf/panic.h>

struct exception_frame {
	u64 r15, r14, r13, r12, r11, r10, r9, r8, rdi, rsi, rbp, rbx, rdx, rcx, rax;
	u64 vector, error_code, rip, cs, rflags, rsp, ss;
};

/* Stop the other CPUs and halt this one, after the caller printed why. */
NORETURN void halt_all_cpus(void);

#endif
