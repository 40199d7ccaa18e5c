/* Per-CPU nested state (nested/cpu.h), whether the hypapp's caller is L2, and L1's CR0/CR4 in
 * VMX operation. */
#include <nested/cpu.h>
#include <nested/ept02.h>
#include <nested/vmcs02.h>
#include <xmhf/nested.h>

static struct nested_cpu nested_cpus[CONFIG_MAX_CPUS];

struct nested_cpu *nested_cpu(void)
{
	struct nested_cpu *n = &nested_cpus[this_cpu_index()];
	if (!n->caps.ready) {
		n->current.addr = VMCS12_NONE;
		n->vmcs02_of = VMCS12_NONE;
		l1_caps_init(&n->caps);
	}
	return n;
}

/* L0 handles an exit of L2 only while L2 is the mode (nested_l2_exit) */
bool nested_caller_is_l2(void) { return nested_mode(nested_cpu()) == VMX_MODE_L2; }
bool nested_caller_ept12(void)
{
	return nested_caller_is_l2() && (vmcs12_proc2(&nested_cpu()->current) & PROC2_ENABLE_EPT);
}

/* EPTP12 was checked at the VM entry into L2 (entry_checks.c) */
bool nested_l2_gpa_to_l1(l2_gpa_t gpa, u64 access, l1_gpa_t *out)
{
	if (!nested_caller_ept12()) {
		*out = l1_gpa(gpa.v);
		return true;
	}
	return ept12_translate(vmcs12_get(&nested_cpu()->current, VMCS12_IDX_EPT_POINTER), gpa, access, out);
}

/* In VMX operation CR0 and CR4 keep the bits IA32_VMX_CR0/CR4_FIXED0 fix
 * to 1 and FIXED1 to 0, and MOV to CR0/CR4 that breaks that is #GP(0)
 * (SDM Vol. 3 24.8). Outside, CR4.VMXE is L1's to set (24.7). */
bool nested_cr_write_allowed(u64 new0, u64 new4)
{
	struct nested_cpu *n = nested_cpu();
	const struct l1_caps *c = &n->caps;
	if (nested_mode(n) == VMX_MODE_OFF)
		return true;
	return l1_cr_valid(c, new0, MSR_IA32_VMX_CR0_FIXED0) && l1_cr_valid(c, new4, MSR_IA32_VMX_CR4_FIXED0);
}
