/* EPT01 changed on this CPU (docs/nested.md "Rewalk", issue 10): the EPT02
 * leaves of the changed pages are dropped (ept02.c), and VMCS02's GPADDR fields and EPTP, which hold host-physical
 * addresses the CPU uses without EPT01, are translated again before the
 * next VM entry into L2. The change only records a request (the core's
 * REQUEST_NESTED); it is applied at the core's last stop before the VM
 * entry (vmentry_requests), never inside VMCS02 or EPT02 updates, and a
 * change during the rewalk asks again. */
#include <nested/ept02.h>
#include <nested/vmcs02.h>
#include <xmhf/nested.h>

void nested_ept01_changed(u32 cpu, const struct ept01_changes *changes)
{
	struct nested_cpu *n = nested_cpu();
	ept02_invalidate_changed(cpu, changes);
	if (nested_mode(n) == VMX_MODE_OFF || !(changes->all || changes->n))
		return;
	n->rewalk_pending = true;
	nested_request_before_entry();
}

/* A virtual-APIC page EPT01 now denies L1: the VM entry into L2 fails for
 * L1 as one with invalid guest state would (27.8; docs/nested.md "Rewalk"). */
void nested_requests(void)
{
	struct nested_cpu *n = nested_cpu();
	if (!n->rewalk_pending || nested_mode(n) != VMX_MODE_L2)
		return;
	n->rewalk_pending = false;
	if (!vmcs02_rewalk(n)) {
		l2_entry_failure_on_vmcs02(n, EXIT_REASON_ENTRY_FAIL_GUEST, 0);
		shadow_flush(n); /* L1 runs next: its VMREADs find the exit in the shadow VMCS */
	}
}
