/* Guest general-purpose registers saved at VM exit, in the SDM's register
 * numbering (Vol. 3 Table 28-3); the RSP slot is unused (guest RSP lives
 * in the VMCS). The VM-exit stub pushes them on the host stack. */
#ifndef RUNTIME_GUEST_REGS_H
#define RUNTIME_GUEST_REGS_H

#include <xmhf/types.h>

struct guest_regs {
	u64 rax, rcx, rdx, rbx, rsp_unused, rbp, rsi, rdi;
	u64 r8, r9, r10, r11, r12, r13, r14, r15;
};

#define GUEST_REGS_SIZE 128
_Static_assert(sizeof(struct guest_regs) == GUEST_REGS_SIZE, "vmentry.S pushes 16 registers");

/* GPR number n (0..15, SDM order) of regs. */
static inline u64 *guest_gpr(struct guest_regs *regs, unsigned n) { return &((u64 *)regs)[n]; }

/* First VM entry on this CPU with these registers; never returns. */
NORETURN void vmx_launch(const struct guest_regs *regs);
/* The VMCS's HOST_RIP. */
void vmexit_stub(void);

#endif
