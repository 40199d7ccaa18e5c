/* VMX capability and control bits, declared once (SDM Vol. 3 chapter 26
 * and Appendix A). */
#ifndef XMHF_VMX_H
#define XMHF_VMX_H

#include <xmhf/types.h>

/* CPUID.1:ECX (SDM Vol. 2A Table 3-10) */
#define CPUID1_ECX_VMX BIT(5)
#define CPUID1_ECX_SMX BIT(6)
#define CPUID1_ECX_X2APIC BIT(21)
#define CPUID1_ECX_OSXSAVE BIT(27)
#define CPUID1_ECX_HYPERVISOR BIT(31)
/* CPUID.80000001H:EDX */
#define CPUID_EXT1_EDX_PAGE1GB BIT(26)

/* Control registers (SDM Vol. 3 2.5) */
#define CR0_PE BIT(0)
#define CR0_NE BIT(5)
#define CR0_PG BIT(31)
#define CR4_PAE BIT(5)
#define CR4_VMXE BIT(13)

/* IA32_VMX_BASIC (A.1) */
#define VMX_BASIC_REVISION_MASK 0x7fffffffull
#define VMX_BASIC_TRUE_CTLS BIT(55)

/* Primary processor-based controls (26.6.2, Table 26-6) */
#define PROC_ACTIVATE_SECONDARY BIT(31)
/* Secondary processor-based controls (Table 26-7) */
#define PROC2_ENABLE_EPT BIT(1)
#define PROC2_ENABLE_VPID BIT(5)
#define PROC2_UNRESTRICTED_GUEST BIT(7)
#define PROC2_VMFUNC BIT(13)
/* IA32_VMX_EPT_VPID_CAP (A.10) */
#define EPT_CAP_WALK_4 BIT(6)
#define EPT_CAP_WB BIT(14)
#define EPT_CAP_2M BIT(16)
#define EPT_CAP_1G BIT(17)
#define EPT_CAP_INVEPT BIT(20)

/* A control MSR: allowed-0 settings in bits 31:0, allowed-1 in 63:32 (A.3). */
static inline u32 vmx_ctl_allowed1(u64 msr) { return (u32)(msr >> 32); }
static inline u32 vmx_ctl_required1(u64 msr) { return (u32)msr; }

#endif
