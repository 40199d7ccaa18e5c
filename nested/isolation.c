/* Isolated code (a hypapp's PAL) started by an L2 caller runs on VMCS02 (xmhf/nested.h:
 * nested_isolation_begin). VMCS02's controls are L1's with L0's added (vmcs02.c), and L1's
 * ask for exits the core has no handler for (external interrupts, interrupt windows, HLT,
 * MONITOR trap flag, ...). While the code runs they give way to the controls L0 itself needs,
 * so that each of its exits is one the core handles as for an L1 caller; L1's come back at the
 * end, and with them what the code held off (a pending interrupt, L1's windows), and VMCS02's
 * EPTP (EPT02 for an L1 with EPT: the hypapp's own EPT while the code ran). */
#include <nested/cpu.h>
#include <nested/vmcs02.h>
#include <xmhf/msr.h>
#include <xmhf/nested.h>

/* Only what the CPU requires (L1's allowed-0 settings: SDM Vol. 3 A.3.1, A.3.2), NMI exiting
 * and virtual NMIs (L0's quiesce and the held guest NMIs), every I/O exiting (26.1.3), and of
 * the secondary controls EPT (the PAL's EPT), VPID (VPID02 still tags L2's mappings) and
 * unrestricted guest (a caller without paging keeps a valid guest state, 27.3.1.1). None of
 * these makes an exit the core lacks a handler for. */
#define ISOLATED_PIN (PIN_NMI_EXITING | PIN_VIRTUAL_NMIS)
#define ISOLATED_PROC (PROC_UNCONDITIONAL_IO_EXITING | PROC_ACTIVATE_SECONDARY)
#define ISOLATED_PROC2 (PROC2_ENABLE_EPT | PROC2_ENABLE_VPID | PROC2_UNRESTRICTED_GUEST)

static u64 required1(const struct nested_cpu *n, u32 msr) { return (u32)l1_msr(&n->caps, msr); }

void nested_isolation_begin(void)
{
	struct nested_cpu *n = nested_cpu();
	struct vmcs02_isolation *s = &n->isolation;
	if (nested_mode(n) != VMX_MODE_L2)
		return;
	*s = (struct vmcs02_isolation){
		.saved = true,
		.pin = vmcs02_read(VMCS_PIN_BASED_VM_EXEC_CONTROL),
		.proc = vmcs02_read(VMCS_CPU_BASED_VM_EXEC_CONTROL),
		.proc2 = vmcs02_read(VMCS_SECONDARY_VM_EXEC_CONTROL),
		.exit_controls = vmcs02_read(VMCS_VM_EXIT_CONTROLS),
		.eptp = vmcs02_read(VMCS_EPT_POINTER),
	};
	if (s->pin & PIN_PREEMPTION_TIMER) /* L1's timer: its value is kept for L2 */
		s->timer = vmcs02_read(VMCS_VMX_PREEMPTION_TIMER_VALUE);
	vmcs02_write(VMCS_PIN_BASED_VM_EXEC_CONTROL, required1(n, MSR_IA32_VMX_TRUE_PINBASED_CTLS) | ISOLATED_PIN);
	vmcs02_write(VMCS_CPU_BASED_VM_EXEC_CONTROL, required1(n, MSR_IA32_VMX_TRUE_PROCBASED_CTLS) | ISOLATED_PROC);
	vmcs02_write(VMCS_SECONDARY_VM_EXEC_CONTROL, s->proc2 & ISOLATED_PROC2);
}

void nested_isolation_end(void)
{
	struct nested_cpu *n = nested_cpu();
	struct vmcs02_isolation *s = &n->isolation;
	if (!s->saved)
		return;
	vmcs02_write(VMCS_PIN_BASED_VM_EXEC_CONTROL, s->pin);
	vmcs02_write(VMCS_CPU_BASED_VM_EXEC_CONTROL, s->proc);
	vmcs02_write(VMCS_SECONDARY_VM_EXEC_CONTROL, s->proc2);
	vmcs02_write(VMCS_VM_EXIT_CONTROLS, s->exit_controls);
	vmcs02_write(VMCS_EPT_POINTER, s->eptp); /* EPT02 for L1 with EPT (the hypapp put back EPT01's) */
	if (s->pin & PIN_PREEMPTION_TIMER)
		vmcs02_write(VMCS_VMX_PREEMPTION_TIMER_VALUE, s->timer);
	s->saved = false;
}
