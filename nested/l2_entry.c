/* VM entry into L2 (SDM Vol. 3 chapter 27) for L1's VMLAUNCH/VMRESUME,
 * and a VM entry of VMCS02 the CPU refused. */
#include <nested/entry_checks.h>
#include <nested/l2_msr.h>
#include <nested/vmcs02.h>
#include <nested/vmx_insn.h>
#include <xmhf/log.h>
#include <xmhf/nested.h>
#include <xmhf/panic.h>

void l2_vm_entry(struct nested_cpu *n, const struct guest_regs *regs)
{
	enum vm_insn_error error = 0;
	u64 qualification;

	bool checked = entry_controls_host_unchanged(n);
	if (!checked && !entry_controls_valid(n))
		error = VMERR_ENTRY_INVALID_CONTROLS;
	else if ((!checked && !entry_host_state_valid(n)) || !entry_address_space_valid(n))
		error = VMERR_ENTRY_INVALID_HOST_STATE;
	else
		error = vmcs02_prepare(n);
	if (error) {
		vm_fail(n, error);
		return;
	}
	if (!entry_guest_state_valid(n, &qualification)) {
		l2_entry_failure(n, EXIT_REASON_ENTRY_FAIL_GUEST, qualification);
		return;
	}
	vmcs02_load(n);
	u32 failed = msr_area_entry_load(n);
	if (failed) { /* 27.4: the MSRs before it stay loaded (in VMCS02 too: written again next time) */
		l2_entry_failure_on_vmcs02(n, EXIT_REASON_ENTRY_FAIL_MSR, failed);
		return;
	}
	nested_set_mode(n, VMX_MODE_L2);
	apic_init_unblock();
	if (!n->vmcs02_launched)
		vmcs_launch(regs);
}

void l2_entry_failure_on_vmcs02(struct nested_cpu *n, u32 reason, u64 qualification)
{
	n->vmcs02_of = VMCS12_NONE;
	if (!vmcs_make_current(vmcs01_region()))
		panic("nested: cpu %u: VMPTRLD of VMCS01 failed", this_cpu_index());
	nested_set_mode(n, VMX_MODE_L1_ROOT);
	l2_entry_failure(n, reason, qualification);
}

/* The CPU refused VMCS02 where VMCS12 passed the checks above: L1 gets
 * the CPU's verdict (7 or 8) on its VMLAUNCH/VMRESUME, which VMCS01 still
 * points at; the checks miss a condition (a warning). */
bool nested_entry_failed(struct guest_regs *regs)
{
	struct nested_cpu *n = nested_cpu();
	static u32 warnings;
	if (nested_mode(n) != VMX_MODE_L2)
		return false;
	u32 error = (u32)vmcs02_read(VMCS_VM_INSTRUCTION_ERROR);
	if (!vmcs_make_current(vmcs01_region()))
		return false;
	nested_set_mode(n, VMX_MODE_L1_ROOT);
	if (guest_warning_due(&warnings))
		pr_warn("nested: cpu %u: the CPU refused VMCS02 (VM-instruction error %u) (%u times)", this_cpu_index(),
			error, warnings);
	vm_fail(n, error == VMERR_ENTRY_INVALID_HOST_STATE ? VMERR_ENTRY_INVALID_HOST_STATE : VMERR_ENTRY_INVALID_CONTROLS);
	shadow_flush(n);
	return true;
}
