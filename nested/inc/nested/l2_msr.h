/* MSRs of L2 that L1 does not intercept, and the MSR areas of VM entry and
 * exit (nested/l2_msr.c). */
#ifndef NESTED_L2_MSR_H
#define NESTED_L2_MSR_H

#include <nested/cpu.h>
#include <xmhf/guest.h>

/* RDMSR/WRMSR of L2 L1 lets through: true if done (or #GP(0) injected into
 * L2); false: an MSR L0 intercepts, the core's handler does it. */
bool l2_msr_access(struct guest_regs *regs, bool write);
/* An MSR of the current VMCS's guest that L0 passes through: false if L0
 * intercepts it or the CPU would refuse the write. */
bool guest_msr_read(u32 msr, u64 *value);
bool guest_msr_write(u32 msr, u64 value);

/* 27.4: VMCS12's VM-entry MSR-load area into L2 (VMCS02 current): 0, or
 * the 1-based number of the entry that failed (the exit qualification of
 * a VM-entry failure, reason 34). An MSR L0 intercepts fails too. */
u32 msr_area_entry_load(const struct nested_cpu *n);
/* 28.4 with VMCS02 current, 28.6 with VMCS01 current (after the host
 * state): a failure is a VMX abort. */
void msr_area_exit_store(const struct nested_cpu *n);
void msr_area_exit_load(const struct nested_cpu *n);

/* 28.7 VMX-abort indicators */
enum vmx_abort_indicator { VMX_ABORT_MSR_STORE = 1, VMX_ABORT_MSR_LOAD = 4 };
NORETURN void vmx_abort(const struct nested_cpu *n, enum vmx_abort_indicator what);

#endif
