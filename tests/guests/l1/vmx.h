/* VMX architecture for the l1 guest (a 32-bit VMM): capability MSRs, control bits, exit reasons,
 * VM-instruction error numbers, and the instructions with their outcome. SDM Vol.3C chapters 24
 * (VMCS), 25/27 (exits), 30 (instructions), appendix A (MSRs), B (field encodings), C (reasons). */
#ifndef VMX_H
#define VMX_H

#include "kernel.h"
#include "vmcs.h"

#define BIT64(n) (1ull << (n))

/* Appendix A */
#define MSR_FEATURE_CONTROL 0x3A
#define FEATURE_CONTROL_LOCK BIT(0)
#define FEATURE_CONTROL_VMX_OUTSIDE_SMX BIT(2)
#define MSR_VMX_BASIC 0x480
#define MSR_VMX_PINBASED 0x481
#define MSR_VMX_PROCBASED 0x482
#define MSR_VMX_EXIT 0x483
#define MSR_VMX_ENTRY 0x484
#define MSR_VMX_MISC 0x485
#define MSR_VMX_CR0_FIXED0 0x486
#define MSR_VMX_CR0_FIXED1 0x487
#define MSR_VMX_CR4_FIXED0 0x488
#define MSR_VMX_CR4_FIXED1 0x489
#define MSR_VMX_PROCBASED2 0x48B
#define MSR_VMX_EPT_VPID_CAP 0x48C
#define MSR_VMX_TRUE_PINBASED 0x48D
#define MSR_VMX_TRUE_PROCBASED 0x48E
#define MSR_VMX_TRUE_EXIT 0x48F
#define MSR_VMX_TRUE_ENTRY 0x490
#define MSR_VMX_VMFUNC 0x491
#define VMX_BASIC_REVISION(b) ((uint32_t)(b) & 0x7FFFFFFF)
#define VMX_BASIC_TRUE_CTLS BIT64(55)
#define VMX_MISC_CR3_TARGETS(m) (((uint32_t)(m) >> 16) & 0x1FF)
#define VMX_MISC_VMWRITE_ANY BIT(29)          /* VMWRITE to VM-exit information fields */
#define EPT_CAP_WALK4 BIT64(6)
#define EPT_CAP_WB BIT64(14)
#define EPT_CAP_2M BIT64(16)
#define EPT_CAP_1G BIT64(17)
#define EPT_CAP_INVEPT BIT64(20)
#define EPT_CAP_INVEPT_SINGLE BIT64(25)
#define EPT_CAP_INVEPT_ALL BIT64(26)
#define EPT_CAP_INVVPID BIT64(32)
#define EPT_CAP_INVVPID_ADDR BIT64(40)
#define EPT_CAP_INVVPID_SINGLE BIT64(41)
#define EPT_CAP_INVVPID_ALL BIT64(42)
#define EPT_CAP_INVVPID_RETAIN BIT64(43)

/* 24.6 controls */
#define PIN_EXTINT_EXITING BIT(0)
#define PIN_NMI_EXITING BIT(3)
#define PIN_VIRTUAL_NMIS BIT(5)
#define PIN_PREEMPTION_TIMER BIT(6)
#define PIN_POSTED_INTERRUPTS BIT(7)
#define PROC_HLT_EXITING BIT(7)
#define PROC_TERTIARY BIT(17)
#define PROC_TPR_SHADOW BIT(21)
#define PROC_IO_BITMAPS BIT(25)
#define PROC_MSR_BITMAPS BIT(28)
#define PROC_SECONDARY BIT(31)
#define PROC2_APIC_ACCESS BIT(0)
#define PROC2_EPT BIT(1)
#define PROC2_VPID BIT(5)
#define PROC2_UNRESTRICTED BIT(7)
#define PROC2_VIRT_INTR_DELIVERY BIT(9)
#define PROC2_PAUSE_LOOP BIT(10)
#define PROC2_VMFUNC BIT(13)
#define PROC2_VMCS_SHADOWING BIT(14)
#define PROC2_ENCLS BIT(15)
#define PROC2_PML BIT(17)
#define PROC2_EPT_VE BIT(18)
#define PROC2_XSAVES BIT(20)
#define PROC2_SPP BIT(23)
#define PROC2_TSC_SCALING BIT(25)
#define EXIT_HOST_64 BIT(9)
#define EXIT_LOAD_PERF_GLOBAL BIT(12)
#define EXIT_SAVE_PAT BIT(18)
#define EXIT_LOAD_PAT BIT(19)
#define EXIT_SAVE_EFER BIT(20)
#define EXIT_LOAD_EFER BIT(21)
#define EXIT_CLEAR_BNDCFGS BIT(23)
#define EXIT_CLEAR_RTIT BIT(25)
#define EXIT_LOAD_CET BIT(28)
#define ENTRY_IA32E_GUEST BIT(9)
#define ENTRY_LOAD_PERF_GLOBAL BIT(13)
#define ENTRY_LOAD_PAT BIT(14)
#define ENTRY_LOAD_EFER BIT(15)
#define ENTRY_LOAD_BNDCFGS BIT(16)
#define ENTRY_LOAD_RTIT BIT(18)
#define ENTRY_LOAD_CET BIT(20)
#define VMFUNC_EPTP_SWITCHING BIT64(0)
#define EPTP_WB 6u
#define EPTP_WALK4 (3u << 3)
#define EPT_READ BIT64(0)                     /* EPT_RWX (7) comes from kernel.h */
#define EPT_WRITE BIT64(1)
#define EPT_EXEC BIT64(2)
#define EPT_MT_WB (6ull << 3)
#define EPT_LEAF BIT64(7)                     /* PDPTE: 1 GiB page, PDE: 2 MiB page */
#define INTR_INFO_VALID BIT(31)
#define INTR_TYPE_HW_EXCEPTION (3u << 8)
#define INTR_TYPE_SW_EXCEPTION (6u << 8)

/* Appendix C basic exit reasons; bit 31 = VM-entry failure */
#define EXIT_EXCEPTION_NMI 0
#define EXIT_CPUID 10
#define EXIT_HLT 12
#define EXIT_VMCALL 18
#define EXIT_IO 30
#define EXIT_RDMSR 31
#define EXIT_WRMSR 32
#define EXIT_BAD_GUEST_STATE 33
#define EXIT_MSR_LOAD_FAIL 34
#define EXIT_EPT_VIOLATION 48
#define EXIT_PREEMPTION_TIMER 52
#define EXIT_ENTRY_FAILURE BIT(31)

/* 30.4 VM-instruction error numbers (Table 30-1) */
#define VMERR_VMCLEAR_BAD_ADDR 2
#define VMERR_VMCLEAR_VMXON_PTR 3
#define VMERR_VMLAUNCH_NOT_CLEAR 4
#define VMERR_VMRESUME_NOT_LAUNCHED 5
#define VMERR_BAD_CONTROLS 7
#define VMERR_BAD_HOST_STATE 8
#define VMERR_VMPTRLD_BAD_ADDR 9
#define VMERR_VMPTRLD_VMXON_PTR 10
#define VMERR_VMPTRLD_BAD_REVISION 11
#define VMERR_UNSUPPORTED_FIELD 12
#define VMERR_READ_ONLY_FIELD 13
#define VMERR_VMXON_IN_ROOT 15
#define VMERR_ENTRY_MOV_SS 26
#define VMERR_BAD_INVEPT_INVVPID 28

#define INVEPT_SINGLE 1
#define INVEPT_ALL 2
#define INVVPID_ADDR 0
#define INVVPID_SINGLE 1
#define INVVPID_ALL 2
#define INVVPID_SINGLE_RETAIN 3

#define CR0_PE BIT(0)
#define CR0_NE BIT(5)
#define CR0_PG BIT(31)
#define CR4_PSE BIT(4)
#define CR4_VMXE BIT(13)

/* 30.2: the outcome of a VMX instruction is in the six status flags */
#define FL_CF BIT(0)
#define FL_PF BIT(2)
#define FL_AF BIT(4)
#define FL_ZF BIT(6)
#define FL_SF BIT(7)
#define FL_OF BIT(11)
#define VMX_STATUS_FLAGS (FL_CF | FL_PF | FL_AF | FL_ZF | FL_SF | FL_OF)
#define VM_SUCCEED 0u
#define VM_FAIL_INVALID FL_CF
#define VM_FAIL_VALID FL_ZF

/* Each wrapper sets all six status flags first, so that VMsucceed/VMfail must clear the others,
 * and returns the six after the instruction. */
#define VMX_PRE "pushfl; orl %[all], (%%esp); popfl\n\t"
#define VMX_POST "\n\tpushfl; popl %[fl]"
static inline uint32_t vmxon(const uint64_t *pa)
{
    uint32_t fl;
    __asm__ volatile(VMX_PRE "vmxon %[m]" VMX_POST : [fl] "=r"(fl) : [m] "m"(*pa), [all] "i"(VMX_STATUS_FLAGS) : "cc", "memory");
    return fl & VMX_STATUS_FLAGS;
}
static inline uint32_t vmxoff(void)
{
    uint32_t fl;
    __asm__ volatile(VMX_PRE "vmxoff" VMX_POST : [fl] "=r"(fl) : [all] "i"(VMX_STATUS_FLAGS) : "cc", "memory");
    return fl & VMX_STATUS_FLAGS;
}
static inline uint32_t vmclear(const uint64_t *pa)
{
    uint32_t fl;
    __asm__ volatile(VMX_PRE "vmclear %[m]" VMX_POST : [fl] "=r"(fl) : [m] "m"(*pa), [all] "i"(VMX_STATUS_FLAGS) : "cc", "memory");
    return fl & VMX_STATUS_FLAGS;
}
static inline uint32_t vmptrld(const uint64_t *pa)
{
    uint32_t fl;
    __asm__ volatile(VMX_PRE "vmptrld %[m]" VMX_POST : [fl] "=r"(fl) : [m] "m"(*pa), [all] "i"(VMX_STATUS_FLAGS) : "cc", "memory");
    return fl & VMX_STATUS_FLAGS;
}
static inline uint32_t vmptrst(uint64_t *pa)
{
    uint32_t fl;
    __asm__ volatile(VMX_PRE "vmptrst %[m]" VMX_POST : [fl] "=r"(fl), [m] "=m"(*pa) : [all] "i"(VMX_STATUS_FLAGS) : "cc", "memory");
    return fl & VMX_STATUS_FLAGS;
}
static inline uint32_t vmread(uint32_t field, uint32_t *val)
{
    uint32_t fl, v = 0;
    __asm__ volatile(VMX_PRE "vmread %[f], %[v]" VMX_POST : [fl] "=r"(fl), [v] "+r"(v) : [f] "r"(field), [all] "i"(VMX_STATUS_FLAGS) : "cc", "memory");
    *val = v;
    return fl & VMX_STATUS_FLAGS;
}
static inline uint32_t vmwrite(uint32_t field, uint32_t val)
{
    uint32_t fl;
    __asm__ volatile(VMX_PRE "vmwrite %[v], %[f]" VMX_POST : [fl] "=r"(fl) : [f] "r"(field), [v] "r"(val), [all] "i"(VMX_STATUS_FLAGS) : "cc", "memory");
    return fl & VMX_STATUS_FLAGS;
}
static inline uint32_t vmcall_root(void)       /* EAX 0: no hypapp's call (hypapp_l1_root_vmcall_is_mine) */
{
    uint32_t fl;
    __asm__ volatile(VMX_PRE "vmcall" VMX_POST : [fl] "=r"(fl) : [all] "i"(VMX_STATUS_FLAGS), "a"(0) : "cc", "memory");
    return fl & VMX_STATUS_FLAGS;
}
static inline uint32_t vmlaunch_fail(void)           /* VMLAUNCH that is expected to fail */
{
    uint32_t fl;
    __asm__ volatile(VMX_PRE "vmlaunch" VMX_POST : [fl] "=r"(fl) : [all] "i"(VMX_STATUS_FLAGS) : "cc", "memory");
    return fl & VMX_STATUS_FLAGS;
}
static inline uint32_t vmresume_fail(void)
{
    uint32_t fl;
    __asm__ volatile(VMX_PRE "vmresume" VMX_POST : [fl] "=r"(fl) : [all] "i"(VMX_STATUS_FLAGS) : "cc", "memory");
    return fl & VMX_STATUS_FLAGS;
}
/* VMLAUNCH right after MOV SS: blocking by MOV SS is in effect (30.3 VMLAUNCH: VMfailValid(26)) */
static inline uint32_t vmlaunch_after_mov_ss(void)
{
    uint32_t fl, ss;
    __asm__ volatile(VMX_PRE "mov %%ss, %[ss]; mov %[ss], %%ss; vmlaunch" VMX_POST
                     : [fl] "=r"(fl), [ss] "=&r"(ss) : [all] "i"(VMX_STATUS_FLAGS) : "cc", "memory");
    return fl & VMX_STATUS_FLAGS;
}
struct inv_desc { uint64_t lo, hi; };     /* INVEPT: EPTP, 0; INVVPID: VPID, linear address */
static inline uint32_t invept(uint32_t type, const struct inv_desc *d)
{
    uint32_t fl;
    __asm__ volatile(VMX_PRE "invept %[m], %[t]" VMX_POST : [fl] "=r"(fl) : [m] "m"(*d), [t] "r"(type), [all] "i"(VMX_STATUS_FLAGS) : "cc", "memory");
    return fl & VMX_STATUS_FLAGS;
}
static inline uint32_t invvpid(uint32_t type, const struct inv_desc *d)
{
    uint32_t fl;
    __asm__ volatile(VMX_PRE "invvpid %[m], %[t]" VMX_POST : [fl] "=r"(fl) : [m] "m"(*d), [t] "r"(type), [all] "i"(VMX_STATUS_FLAGS) : "cc", "memory");
    return fl & VMX_STATUS_FLAGS;
}

#endif
