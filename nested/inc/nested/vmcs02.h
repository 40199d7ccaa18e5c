/* VMCS02: the VMCS the CPU runs L2 with, built from VMCS12 through the
 * field table (docs/nested.md "VMCS02"), one region per CPU; and the way
 * back: a VM exit of L2 reflected to L1 (SDM Vol. 3 28.5). */
#ifndef NESTED_VMCS02_H
#define NESTED_VMCS02_H

#include <nested/cpu.h>
#include <nested/errors.h>
#include <xmhf/guest.h>

/* Controls xmhf/vmx.h does not name (SDM Vol. 3 Tables 26-6, 26-14) */
#define PROC_UNCONDITIONAL_IO_EXITING BIT(24)
#define EXIT_SAVE_DEBUG_CONTROLS BIT(2)
#define EXIT_ACK_INTR_ON_EXIT BIT(15)
#define DR7_INIT_VALUE 0x400ull

/* VMCS12's secondary controls: 0 when not activated (26.6.2). */
u64 vmcs12_proc2(const struct vmcs12 *v);

/* VMCS12 -> the values of VMCS02, with VMCS01 current (its host state and
 * L0's controls are read). 0, or the VM-instruction error of the failed
 * entry (a GPADDR field that is not L1's guest RAM: 7). */
enum vm_insn_error vmcs02_prepare(struct nested_cpu *n);
/* Make VMCS02 current and write the prepared values. */
void vmcs02_load(struct nested_cpu *n);
/* With VMCS02 current, after an EPT01 change: re-translate the GPADDR
 * fields and the EPTP through the current EPT01 and write them (and the
 * primary controls if an I/O bitmap became denied or usable); false, with
 * nothing written, if the virtual-APIC page is one EPT01 now denies L1. */
bool vmcs02_rewalk(struct nested_cpu *n);

/* L1's VMLAUNCH/VMRESUME after the checks of 32.3 (launch state, MOV-SS
 * blocking): the checks of 27.2 (VMfailValid 7, 8) and 27.3 (a VM-entry
 * failure for L1), then VMCS02 and L2 runs: VMLAUNCH the first time on
 * this CPU (never returns), else the core's VMRESUME after the exit. */
void l2_vm_entry(struct nested_cpu *n, const struct guest_regs *regs);
/* A VM-entry failure of VMCS12 (27.8): L1 gets the exit reason with bit
 * 31 and qualification, its host state from VMCS12; VMCS01 current. */
void l2_entry_failure(struct nested_cpu *n, u32 reason, u64 qualification);
/* The same with VMCS02 current (its values are written again at the next
 * entry): VMCS01 made current, L1 in VMX root. */
void l2_entry_failure_on_vmcs02(struct nested_cpu *n, u32 reason, u64 qualification);

#endif
