/* L1's VMX capability MSRs (SDM Vol. 3 Appendix A): the hardware's, minus
 * the controls and features nested VMX does not support; IA32_FEATURE_CONTROL
 * locked with VMX outside SMX (24.7). Fields of the table exist for L1 by
 * these MSRs (Appendix B), IA32_VMX_VMCS_ENUM is computed from them. */
#include <nested/caps.h>
#include <nested/cpu.h>
#include <xmhf/cpu.h>
#include <xmhf/nested.h>

#define CPUID_ADDR_SIZES 0x80000008u

/* Controls L1 may not set (docs/nested.md): features whose VMCS fields are
 * unsupported (VF_UNSUPP) and features for SMM, Intel PT, CET, LBRs. */
#define PIN_HIDDEN PIN_POSTED_INTERRUPTS
#define PROC_HIDDEN PROC_ACTIVATE_TERTIARY
#define PROC2_HIDDEN (PROC2_VMFUNC | PROC2_ENABLE_PCONFIG | PROC2_VMCS_SHADOWING | PROC2_ENCLS_EXITING | PROC2_ENABLE_PML | \
		      PROC2_EPT_VIOLATION_VE | PROC2_CONCEAL_VMX_FROM_PT | PROC2_SUB_PAGE_WRITE | \
		      PROC2_PT_GUEST_PHYSICAL | PROC2_ENCLV_EXITING | PROC2_BUS_LOCK_DETECTION | \
		      PROC2_INSTRUCTION_TIMEOUT)
#define EXIT_HIDDEN (EXIT_CLEAR_BNDCFGS | EXIT_CONCEAL_PT | EXIT_CLEAR_RTIT_CTL | EXIT_CLEAR_LBR_CTL | \
		     EXIT_CLEAR_UINV | EXIT_LOAD_CET | EXIT_LOAD_PKRS | EXIT_ACTIVATE_SECONDARY)
#define ENTRY_HIDDEN (ENTRY_TO_SMM | ENTRY_DEACTIVATE_DUAL_MONITOR | ENTRY_LOAD_BNDCFGS | ENTRY_CONCEAL_PT | \
		      ENTRY_LOAD_RTIT_CTL | ENTRY_LOAD_UINV | ENTRY_LOAD_CET | ENTRY_LOAD_LBR_CTL | ENTRY_LOAD_PKRS)
#define MISC_HIDDEN (VMX_MISC_PT_IN_VMX | VMX_MISC_SMM_READ_SMBASE | VMX_MISC_SMM_VMXOFF_UNBLOCKS_SMI | \
		     VMX_MISC_VMWRITE_ANY_FIELD | VMX_MISC_MSEG_REVISION_MASK)
#define EPT_VPID_HIDDEN (EPT_CAP_WALK_5 | EPT_CAP_AD | EPT_CAP_SUPERVISOR_SHADOW_STACK)
#define BASIC_KEPT (VMX_BASIC_REVISION_MASK | (0xfull << VMX_BASIC_MEMTYPE_SHIFT) | VMX_BASIC_INS_OUTS_INFO | \
		    VMX_BASIC_TRUE_CTLS | VMX_BASIC_NO_ERROR_CODE_CHECK)

static void put(struct l1_caps *c, u32 msr, u64 value)
{
	c->msr[L1_MSR(msr)] = value;
	c->present |= 1u << L1_MSR(msr);
}

/* A control MSR with the hidden controls removed from the allowed-1 half. */
static void put_ctl(struct l1_caps *c, u32 msr, u64 hidden)
{
	put(c, msr, rdmsr(msr) & ~(hidden << 32));
}

static bool hw_allows(u32 msr, u64 bit) { return vmx_ctl_allowed1(rdmsr(msr)) & bit; }

static u64 vmcs_enum(const struct l1_caps *c)
{
	u32 highest = 0;
	for (u32 i = 0; i < VMCS12_N_FIELDS; i++)
		if (l1_field_exists(c, &vmcs12_fields[i].exists) && VMCS_ENC_INDEX(vmcs12_fields[i].encoding) > highest)
			highest = VMCS_ENC_INDEX(vmcs12_fields[i].encoding);
	return (u64)highest << VMX_VMCS_ENUM_INDEX_SHIFT;
}

void l1_caps_init(struct l1_caps *c)
{
	u64 basic = rdmsr(MSR_IA32_VMX_BASIC);
	*c = (struct l1_caps){ 0 };
	put(c, MSR_IA32_VMX_BASIC, (basic & BASIC_KEPT) | ((u64)PAGE_SIZE << VMX_BASIC_REGION_SIZE_SHIFT));
	put_ctl(c, MSR_IA32_VMX_PINBASED_CTLS, PIN_HIDDEN);
	put_ctl(c, MSR_IA32_VMX_PROCBASED_CTLS, PROC_HIDDEN);
	put_ctl(c, MSR_IA32_VMX_EXIT_CTLS, EXIT_HIDDEN);
	put_ctl(c, MSR_IA32_VMX_ENTRY_CTLS, ENTRY_HIDDEN);
	put(c, MSR_IA32_VMX_MISC, rdmsr(MSR_IA32_VMX_MISC) & ~MISC_HIDDEN);
	for (u32 msr = MSR_IA32_VMX_CR0_FIXED0; msr <= MSR_IA32_VMX_CR4_FIXED1; msr++)
		put(c, msr, rdmsr(msr));
	if (basic & VMX_BASIC_TRUE_CTLS) {
		put_ctl(c, MSR_IA32_VMX_TRUE_PINBASED_CTLS, PIN_HIDDEN);
		put_ctl(c, MSR_IA32_VMX_TRUE_PROCBASED_CTLS, PROC_HIDDEN);
		put_ctl(c, MSR_IA32_VMX_TRUE_EXIT_CTLS, EXIT_HIDDEN);
		put_ctl(c, MSR_IA32_VMX_TRUE_ENTRY_CTLS, ENTRY_HIDDEN);
	}
	bool secondary = hw_allows(MSR_IA32_VMX_PROCBASED_CTLS, PROC_ACTIVATE_SECONDARY);
	if (secondary)
		put_ctl(c, MSR_IA32_VMX_PROCBASED_CTLS2, PROC2_HIDDEN);
	if (secondary && (hw_allows(MSR_IA32_VMX_PROCBASED_CTLS2, PROC2_ENABLE_EPT) ||
			  hw_allows(MSR_IA32_VMX_PROCBASED_CTLS2, PROC2_ENABLE_VPID)))
		put(c, MSR_IA32_VMX_EPT_VPID_CAP, rdmsr(MSR_IA32_VMX_EPT_VPID_CAP) & ~EPT_VPID_HIDDEN);
	/* IA32_VMX_VMFUNC, _PROCBASED_CTLS3, _EXIT_CTLS2: their controls are hidden */

	u32 ctl_pin = basic & VMX_BASIC_TRUE_CTLS ? MSR_IA32_VMX_TRUE_PINBASED_CTLS : MSR_IA32_VMX_PINBASED_CTLS;
	u32 ctl_proc = basic & VMX_BASIC_TRUE_CTLS ? MSR_IA32_VMX_TRUE_PROCBASED_CTLS : MSR_IA32_VMX_PROCBASED_CTLS;
	u32 ctl_exit = basic & VMX_BASIC_TRUE_CTLS ? MSR_IA32_VMX_TRUE_EXIT_CTLS : MSR_IA32_VMX_EXIT_CTLS;
	u32 ctl_entry = basic & VMX_BASIC_TRUE_CTLS ? MSR_IA32_VMX_TRUE_ENTRY_CTLS : MSR_IA32_VMX_ENTRY_CTLS;
	c->allowed1[CAP_ALWAYS] = ~0ull;
	c->allowed1[CAP_PIN] = vmx_ctl_allowed1(l1_msr(c, ctl_pin));
	c->allowed1[CAP_PROC] = vmx_ctl_allowed1(l1_msr(c, ctl_proc));
	c->allowed1[CAP_PROC2] = vmx_ctl_allowed1(l1_msr(c, MSR_IA32_VMX_PROCBASED_CTLS2));
	c->allowed1[CAP_EXIT] = vmx_ctl_allowed1(l1_msr(c, ctl_exit));
	c->allowed1[CAP_ENTRY] = vmx_ctl_allowed1(l1_msr(c, ctl_entry));
	/* CAP_PROC3, CAP_VMFUNC: nothing allowed */
	put(c, MSR_IA32_VMX_VMCS_ENUM, vmcs_enum(c));
	c->ready = true;
}

bool l1_field_exists(const struct l1_caps *c, const struct vmcs_exists *e)
{
	return (c->allowed1[e->cap[0]] & e->bit[0]) || (c->allowed1[e->cap[1]] & e->bit[1]) ||
	       e->cap[0] == CAP_ALWAYS;
}

static u32 addr_sizes(void) { return cpuid(CPUID_ADDR_SIZES, 0).eax; }
u32 l1_maxphyaddr(void) { return addr_sizes() & 0xff; }

/* CPUID.80000008H:EAX[15:8] is 48, or 57 with 5-level paging */
#define LINEAR_BITS_MIN 48
#define LINEAR_BITS_MAX 57

bool l1_canonical(u64 la)
{
	u32 bits = (addr_sizes() >> 8) & 0xff;
	if (bits < LINEAR_BITS_MIN || bits > LINEAR_BITS_MAX)
		bits = LINEAR_BITS_MIN;
	return (u64)((i64)(la << (64 - bits)) >> (64 - bits)) == la;
}

bool nested_vmx_offered(void) { return true; }

enum nested_msr_result nested_rdmsr(u32 msr, u64 *value)
{
	struct nested_cpu *n = nested_cpu();
	if (msr == MSR_IA32_FEATURE_CONTROL) {
		*value = FEATURE_CONTROL_LOCK | FEATURE_CONTROL_VMX_OUTSIDE_SMX;
		return NESTED_MSR_VALUE;
	}
	if (msr < L1_VMX_MSR_FIRST || msr >= L1_VMX_MSR_FIRST + L1_VMX_MSR_COUNT)
		return NESTED_MSR_NOT_MINE;
	if (!(n->caps.present & (1u << L1_MSR(msr))))
		return NESTED_MSR_GP;
	*value = l1_msr(&n->caps, msr);
	return NESTED_MSR_VALUE;
}
