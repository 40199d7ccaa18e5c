/* VMX capability and control bits, declared once (SDM Vol. 3 chapter 26
 * and Appendix A). */
#ifndef XMHF_VMX_H
#define XMHF_VMX_H

#include <xmhf/types.h>
#include <xmhf/x86/events.h>
#include <xmhf/x86/exit_reasons.h>
#include <xmhf/x86/regs.h>

/* CPUID.1:ECX (SDM Vol. 2A Table 3-10) */
#define CPUID1_ECX_DTES64 BIT(2)
#define CPUID1_ECX_DS_CPL BIT(4)
#define CPUID1_ECX_VMX BIT(5)
#define CPUID1_ECX_SMX BIT(6)
#define CPUID1_ECX_PDCM BIT(15)
#define CPUID1_ECX_X2APIC BIT(21)
#define CPUID1_ECX_XSAVE BIT(26)
#define CPUID1_ECX_OSXSAVE BIT(27)
#define CPUID1_ECX_HYPERVISOR BIT(31)
/* CPUID.1:EDX (Table 3-11) */
#define CPUID1_EDX_DS BIT(21)
/* CPUID.(EAX=7,ECX=0) (Table 3-8) */
#define CPUID7_EBX_INVPCID BIT(10)
#define CPUID7_EBX_INTEL_PT BIT(25)
#define CPUID7_ECX_OSPKE BIT(4)
#define CPUID7_ECX_WAITPKG BIT(5)
#define CPUID7_ECX_RDPID BIT(22)
#define CPUID7_EDX_PCONFIG BIT(18)
#define CPUID7_EDX_ARCH_LBR BIT(19)
/* CPUID.(EAX=0DH,ECX=1):EAX */
#define CPUID_D1_EAX_XSAVES BIT(3)
/* CPUID.80000001H:EDX */
#define CPUID_EXT1_EDX_PAGE1GB BIT(26)
#define CPUID_EXT1_EDX_RDTSCP BIT(27)

/* IA32_VMX_BASIC (A.1) */
#define VMX_BASIC_REVISION_MASK 0x7fffffffull
#define VMX_BASIC_TRUE_CTLS BIT(55)
#define VMX_BASIC_NO_ERROR_CODE_CHECK BIT(56)
/* IA32_VMX_MISC (A.6): activity state n (1..3) supported if bit 5 + n */
#define VMX_MISC_ACTIVITY_SHIFT 5
#define VMX_MISC_ZERO_LEN_INJECTION BIT(30)
/* bits 4:0: the VMX-preemption timer counts down once every 2^X TSC ticks (25.5.1) */
#define VMX_MISC_TIMER_RATE_MASK 0x1fu

/* Primary processor-based controls (26.6.2, Table 26-6) */
#define PROC_ACTIVATE_SECONDARY BIT(31)
/* Secondary processor-based controls (Table 26-7) */
#define PROC2_ENABLE_EPT BIT(1)
#define PROC2_ENABLE_VPID BIT(5)
#define PROC2_UNRESTRICTED_GUEST BIT(7)
#define PROC2_VMFUNC BIT(13)
/* The other controls the field table (vmcs_fields.h) and nested VMX name
 * (Tables 26-5 to 26-8, 26-15, 26-17; 26.6.14 VM-function controls) */
#define PIN_EXTERNAL_INTERRUPT_EXITING BIT(0)
#define PIN_PREEMPTION_TIMER BIT(6)
#define PIN_POSTED_INTERRUPTS BIT(7)
#define PROC_ACTIVATE_TERTIARY BIT(17)
#define PROC_USE_TPR_SHADOW BIT(21)
#define PROC2_VIRTUALIZE_APIC_ACCESSES BIT(0)
#define PROC2_VIRTUAL_INTR_DELIVERY BIT(9)
#define PROC2_PAUSE_LOOP_EXITING BIT(10)
#define PROC2_VMCS_SHADOWING BIT(14)
#define PROC2_ENCLS_EXITING BIT(15)
#define PROC2_ENABLE_PML BIT(17)
#define PROC2_EPT_VIOLATION_VE BIT(18)
#define PROC2_CONCEAL_VMX_FROM_PT BIT(19)
#define PROC2_SUB_PAGE_WRITE BIT(23)
#define PROC2_PT_GUEST_PHYSICAL BIT(24)
#define PROC2_TSC_SCALING BIT(25)
#define PROC2_ENCLV_EXITING BIT(28)
#define PROC2_BUS_LOCK_DETECTION BIT(30)
#define PROC2_INSTRUCTION_TIMEOUT BIT(31)
#define PROC3_ENABLE_HLAT BIT(1)
#define PROC3_IPI_VIRTUALIZATION BIT(4)
#define VMFUNC_EPTP_SWITCHING BIT(0)
#define EXIT_LOAD_PERF_GLOBAL_CTRL BIT(12)
#define EXIT_CLEAR_BNDCFGS BIT(23)
#define EXIT_CONCEAL_PT BIT(24)
#define EXIT_CLEAR_RTIT_CTL BIT(25)
#define EXIT_CLEAR_LBR_CTL BIT(26)
#define EXIT_CLEAR_UINV BIT(27)
#define EXIT_LOAD_CET BIT(28)
#define EXIT_LOAD_PKRS BIT(29)
#define EXIT_SAVE_PERF_GLOBAL_CTRL BIT(30)
#define EXIT_ACTIVATE_SECONDARY BIT(31)
#define ENTRY_LOAD_PERF_GLOBAL_CTRL BIT(13)
#define ENTRY_LOAD_BNDCFGS BIT(16)
#define ENTRY_CONCEAL_PT BIT(17)
#define ENTRY_LOAD_RTIT_CTL BIT(18)
#define ENTRY_LOAD_UINV BIT(19)
#define ENTRY_LOAD_CET BIT(20)
#define ENTRY_LOAD_LBR_CTL BIT(21)
#define ENTRY_LOAD_PKRS BIT(22)
/* IA32_VMX_EPT_VPID_CAP (A.10) */
#define EPT_CAP_EXEC_ONLY BIT(0)
#define EPT_CAP_WALK_4 BIT(6)
#define EPT_CAP_WB BIT(14)
#define EPT_CAP_2M BIT(16)
#define EPT_CAP_1G BIT(17)
#define EPT_CAP_INVEPT BIT(20)

/* INVEPT and INVVPID types (SDM Vol. 3 32.3) */
#define INVEPT_SINGLE_CONTEXT 1
#define INVEPT_ALL_CONTEXT 2
#define INVVPID_INDIVIDUAL_ADDRESS 0
#define INVVPID_SINGLE_CONTEXT 1
#define INVVPID_ALL_CONTEXT 2
#define INVVPID_SINGLE_CONTEXT_RETAINING_GLOBALS 3

/* A control MSR: allowed-0 settings in bits 31:0, allowed-1 in 63:32 (A.3). */
static inline u32 vmx_ctl_allowed1(u64 msr) { return (u32)(msr >> 32); }
static inline u32 vmx_ctl_required1(u64 msr) { return (u32)msr; }

#endif

#ifndef XMHF_VMX_CONTROLS
#define XMHF_VMX_CONTROLS
/* Pin-based controls (Table 26-5) */
#define PIN_NMI_EXITING BIT(3)
#define PIN_VIRTUAL_NMIS BIT(5)
#define PIN_PREEMPTION_TIMER BIT(6)
/* Primary processor-based controls (Table 26-6) */
#define PROC_NMI_WINDOW_EXITING BIT(22)
#define PROC_MONITOR_TRAP_FLAG BIT(27)
#define PROC_USE_IO_BITMAPS BIT(25)
#define PROC_USE_MSR_BITMAPS BIT(28)
#define PROC_CR3_LOAD_EXITING BIT(15)
#define PROC_CR3_STORE_EXITING BIT(16)
/* Secondary processor-based controls (Table 26-7) */
#define PROC2_ENABLE_RDTSCP BIT(3)
#define PROC2_ENABLE_INVPCID BIT(12)
#define PROC2_ENABLE_XSAVES BIT(20)
#define PROC2_ENABLE_USER_WAIT_PAUSE BIT(26)
#define PROC2_ENABLE_PCONFIG BIT(27)
/* VM-exit controls (Table 26-15) */
#define EXIT_HOST_ADDR_SPACE_SIZE BIT(9)
#define EXIT_SAVE_PAT BIT(18)
#define EXIT_LOAD_PAT BIT(19)
#define EXIT_SAVE_EFER BIT(20)
#define EXIT_LOAD_EFER BIT(21)
#define EXIT_SAVE_PREEMPTION_TIMER BIT(22)
/* VM-entry controls (Table 26-17) */
#define ENTRY_LOAD_DEBUG_CONTROLS BIT(2)
#define ENTRY_IA32E_MODE_GUEST BIT(9)
#define ENTRY_LOAD_PAT BIT(14)
#define ENTRY_LOAD_EFER BIT(15)

/* Task-switch exit qualification (Table 28-2): selector in 15:0, source in 31:30 */
#define TASK_SWITCH_SELECTOR(q) ((u16)(q))
#define TASK_SWITCH_SOURCE(q) (((q) >> 30) & 3)
#define TASK_SWITCH_CALL 0
#define TASK_SWITCH_IRET 1
#define TASK_SWITCH_JMP 2
#define TASK_SWITCH_GATE 3

/* Guest interruptibility (26.4.2) */
#define INTERRUPTIBILITY_STI BIT(0)
#define INTERRUPTIBILITY_MOV_SS BIT(1)
#define INTERRUPTIBILITY_SMI BIT(2)
#define INTERRUPTIBILITY_NMI BIT(3)
/* Activity state (26.4.2) */
#define ACTIVITY_ACTIVE 0
#define ACTIVITY_HLT 1
#define ACTIVITY_SHUTDOWN 2
#define ACTIVITY_WAIT_SIPI 3
/* Pending debug exceptions (26.4.2): DR6's B0-B3, BS, RTM, plus bit 12 */
#define PENDING_DBG_ENABLED_BP BIT(12)

/* Exit qualification of I/O instructions (28.2.1, Table 28-5) */
#define IO_QUAL_SIZE(q) (((q) & 7) + 1)
#define IO_QUAL_IN BIT(3)
#define IO_QUAL_STRING BIT(4)
#define IO_QUAL_PORT(q) ((u16)((q) >> 16))

/* Exit qualification of EPT violations (28.2.1, Table 28-7) */
#define EPT_QUAL_READ BIT(0)
#define EPT_QUAL_WRITE BIT(1)
#define EPT_QUAL_FETCH BIT(2)
#define EPT_QUAL_LINEAR_VALID BIT(7)
#define EPT_QUAL_LINEAR_TRANSLATED BIT(8) /* not a paging-structure access */
#define EPT_QUAL_NMI_UNBLOCKED_BY_IRET BIT(12)
#endif
