/* The l1 guest: a small 32-bit VMM (protected mode, paging on) that tests the VMX it runs on. */
#ifndef L1_H
#define L1_H

#include "vmx.h"

#define L1_MAX_CPUS 8
#define SEL_CODE 0x08
#define SEL_DATA 0x10
#define SEL_USER_CODE 0x1B
#define SEL_USER_DATA 0x23
#define VEC_UD 6
#define VEC_GP 13

/* cpu.c: per-CPU GDT/TSS, identity paging with 4 MiB pages, CPL 3 */
void cpu_setup(int cpu);
int cpu_index(void);                         /* 0 = the BSP, then the APs in MADT order */
uint16_t cpu_tss_sel(void);
struct tss32 *cpu_tss(void);
uint32_t read_cr3(void);
struct gdtr { uint16_t limit; uint32_t base; } __attribute__((packed));
struct gdtr cpu_gdtr(void);
struct gdtr cpu_idtr(void);
void cpu_reload_tables(void);
/* Runs fn(arg) at CPL 3; the vector it faulted with (fault_error has the error code), or -1
 * if it returned. */
int run_ring3(void (*fn)(void *), void *arg);

/* vmxon.c: capabilities, VMX operation, VMCS access that must succeed */
struct vmx_caps {
    uint64_t basic, misc, ept_vpid, vmfunc;
    uint64_t pin, proc, proc2, exit, entry;   /* TRUE_* where VMX_BASIC[55] says they exist */
    uint64_t cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
};
extern struct vmx_caps g_caps;
bool vmx_available(void);                   /* CPUID.1:ECX.VMX and IA32_FEATURE_CONTROL */
void vmx_read_caps(void);
static inline bool cap_allows(uint64_t cap, uint32_t bits) { return ((uint32_t)(cap >> 32) & bits) == bits; }
uint32_t cap_adjust(uint64_t cap, uint32_t want); /* want | must-be-1, & may-be-1 */
#define VMX_PAGES 8
extern uint64_t g_page_pa[VMX_PAGES];       /* physical addresses of the VMXON region and VMCSs */
#define PAGE_VMXON 0
#define PAGE_VMCS(i) (1 + (i))               /* i < VMX_PAGES - 1 */
void vmx_page_init(int page, uint32_t revision);
void vmxe_set(bool on);
bool vmx_on(void);                           /* CR0/CR4 fixed bits, VMXON; false + fail() */
void vmx_off(void);
uint32_t vmcs_get(uint32_t field);           /* fail() if VMREAD fails */
void vmcs_set(uint32_t field, uint32_t val); /* fail() if VMWRITE fails */
void vmcs_set64(uint32_t field, uint64_t val);
uint32_t vm_error(void);                     /* VM-instruction error field */
/* fail() unless the status flags are `want` (VM_SUCCEED/VM_FAIL_INVALID/VM_FAIL_VALID) and, for
 * VMfailValid, the VM-instruction error is `err`. */
bool expect_vm(const char *what, uint32_t flags, uint32_t want, uint32_t err);
const char *vm_status_name(uint32_t flags);

/* tests: vmxinsn.c, fields.c, l2tests.c, l2modes.c, pal_l2.c */
struct l1_test { const char *name; void (*fn)(void); };
extern const struct l1_test vmx_insn_tests[], field_tests[], l2_tests[], l2_mode_tests[], pal_l2_tests[];
extern const int n_vmx_insn_tests, n_field_tests, n_l2_tests, n_l2_mode_tests, n_pal_l2_tests;

/* l2.c: one L2 guest (32-bit protected mode, L1's GDT/IDT/page tables, EPT identity map) */
struct l2_regs { uint32_t eax, ebx, ecx, edx, esi, edi, ebp, launched; };
struct l2_exit { uint32_t reason, qual, intr_info, insn_len, gla; uint64_t gpa; };
struct l2_config { uint32_t pin, proc, proc2, exit, entry, exception_bitmap; uint64_t eptp; };
extern struct l2_regs g_l2;
void l2_vmcs_init(int vmcs, const struct l2_config *c, void (*fn)(void *), void *arg);
/* Enter (launch or resume) and return at the next VM exit; false (+ fail()) if the entry failed
 * with VMfail (flags in *vmfail when not NULL: then no fail()). */
bool l2_run(struct l2_exit *e, uint32_t *vmfail);
void l2_skip(const struct l2_exit *e);      /* guest RIP past the exiting instruction */
/* Runs until fn returns (its VMCALL), failing on any other exit; true if it got there. */
bool l2_run_to_end(void);
bool expect_exit(const char *what, const struct l2_exit *e, uint32_t reason);
#define L2_DONE_MAGIC 0x4c32444eu            /* EAX at the VMCALL after fn returned: "L2DN" */
/* ept.c: EPT for L2: identity map of [0, 4 GiB) with 2 MiB pages, one 4 KiB table */
extern uint64_t g_ept_pml4[512], g_ept_pdpt[512], g_ept_pd[4][512], g_ept_pt[512];
uint64_t ept_identity(void);                 /* (re)builds it; returns the EPTP */
void ept_split_4k(uint32_t gpa);             /* the 2 MiB page holding gpa -> g_ept_pt */
/* l2tests.c: bench=N */
void l2_cpuid_bench(uint32_t n);
/* interleave.c: CPU 1 (the AP of that APIC ID, started by INIT-SIPI-SIPI) runs work();
 * ap_wait waits for it to return (fail() after a minute). */
void ap_start(uint32_t apic_id, void (*work)(void));
bool ap_wait(void);
/* interleave.c: the next pseudo-random number of *seed (a linear congruential generator) */
uint32_t lcg(uint32_t *seed);
/* interleave.c: CPU 0 (the caller) in VMX while CPU 1 changes EPT01 (test hypercalls) */
bool interleave_run(uint32_t cycles, uint32_t cpu1_apic_id);
void shootdown_bench(uint32_t n, bool l2_page, uint32_t cpu1_apic_id);
/* init.c: init_signal, INITs to CPU 1 in VMX root and L2 (CPU 0 runs it, 2 CPUs or more) */
void init_signal_test(uint32_t cpu1_apic_id);
/* stale.c: stale=N, the stale-field test (the hypervisor's test hypercalls, 2 CPUs); true if
 * every round passed */
bool stale_fields_test(uint32_t n, uint32_t cpu1_apic_id);

#endif
