/* The VMX capabilities L1 sees (IA32_VMX_* MSRs, SDM Vol. 3 Appendix A):
 * the hardware's minus what nested VMX does not support (docs/nested.md
 * "What L1 is offered"). */
#ifndef NESTED_CAPS_H
#define NESTED_CAPS_H

#include <xmhf/msr.h>
#include <xmhf/vmcs_fields.h>

/* IA32_VMX_BASIC (0x480) .. IA32_VMX_EXIT_CTLS2 (0x493) */
#define L1_VMX_MSR_FIRST MSR_IA32_VMX_BASIC
#define L1_VMX_MSR_COUNT 20
#define L1_MSR(msr) ((msr) - L1_VMX_MSR_FIRST)

/* IA32_VMX_BASIC (A.1) */
#define VMX_BASIC_REGION_SIZE_SHIFT 32
#define VMX_BASIC_REGION_SIZE_MASK (0x1fffull << VMX_BASIC_REGION_SIZE_SHIFT)
#define VMX_BASIC_PHYS_32BIT BIT(48)
#define VMX_BASIC_DUAL_MONITOR BIT(49)
#define VMX_BASIC_MEMTYPE_SHIFT 50
#define VMX_BASIC_INS_OUTS_INFO BIT(54)
/* IA32_VMX_MISC (A.6) */
#define VMX_MISC_PT_IN_VMX BIT(14)
#define VMX_MISC_SMM_READ_SMBASE BIT(15)
#define VMX_MISC_SMM_VMXOFF_UNBLOCKS_SMI BIT(28)
#define VMX_MISC_VMWRITE_ANY_FIELD BIT(29)
#define VMX_MISC_MSEG_REVISION_MASK 0xffffffff00000000ull
/* IA32_VMX_VMCS_ENUM (A.9): the highest index in bits 9:1 */
#define VMX_VMCS_ENUM_INDEX_SHIFT 1
/* IA32_VMX_EPT_VPID_CAP (A.10), besides xmhf/vmx.h's */
#define EPT_CAP_UC BIT(8)
#define EPT_CAP_WALK_5 BIT(7)
#define EPT_CAP_AD BIT(21)
#define EPT_CAP_SUPERVISOR_SHADOW_STACK BIT(23)
#define EPT_CAP_INVEPT_SINGLE BIT(25)
#define EPT_CAP_INVEPT_ALL BIT(26)
#define VPID_CAP_INVVPID BIT(32)
#define VPID_CAP_INVVPID_TYPE_SHIFT 40 /* types 0..3: bits 40..43 */
/* VM-entry controls of SMM (Table 26-17) */
#define ENTRY_TO_SMM BIT(10)
#define ENTRY_DEACTIVATE_DUAL_MONITOR BIT(11)

struct l1_caps {
	bool ready;
	u32 present;                  /* bit L1_MSR(msr): L1 can read it */
	u64 msr[L1_VMX_MSR_COUNT];    /* by L1_MSR(msr) */
	u64 allowed1[CAP_COUNT];      /* per enum vmcs_cap: the allowed-1 controls (CAP_ALWAYS: all) */
};

/* Derive L1's capabilities from this CPU's MSRs (once per CPU). */
void l1_caps_init(struct l1_caps *c);
/* The effective allowed-1 settings of a control MSR L1 reads. */
static inline bool l1_allows(const struct l1_caps *c, enum vmcs_cap cap, u64 bit)
{
	return (c->allowed1[cap] & bit) != 0;
}
static inline u64 l1_msr(const struct l1_caps *c, u32 msr) { return c->msr[L1_MSR(msr)]; }
/* CR0 or CR4 (fixed0: the MSR of its FIXED0, FIXED1 follows) as VMX
 * operation allows it (SDM Vol. 3 24.8, A.7, A.8). */
static inline bool l1_cr_valid(const struct l1_caps *c, u64 cr, u32 fixed0)
{
	return (cr & l1_msr(c, fixed0)) == l1_msr(c, fixed0) && !(cr & ~l1_msr(c, fixed0 + 1));
}
/* Whether a field of the table exists for L1 (Appendix B's conditions). */
bool l1_field_exists(const struct l1_caps *c, const struct vmcs_exists *e);
/* MAXPHYADDR (CPUID.80000008H:EAX[7:0]); whether a linear address is
 * canonical for the linear-address width (EAX[15:8], Vol. 1 3.3.7.1). */
u32 l1_maxphyaddr(void);
bool l1_canonical(u64 la);

#endif
