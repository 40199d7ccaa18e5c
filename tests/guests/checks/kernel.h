/* Shared declarations and inline x86 helpers for the checks guest (32-bit, paging off). */
#ifndef KERNEL_H
#define KERNEL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BIT(n) (1u << (n))

static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outw(uint16_t port, uint16_t v) { __asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port)
{
    uint8_t v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}
static inline uint32_t inl(uint16_t port)
{
    uint32_t v;
    __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

struct cpuid_regs { uint32_t eax, ebx, ecx, edx; };
static inline struct cpuid_regs cpuid(uint32_t leaf, uint32_t sub)
{
    struct cpuid_regs r;
    __asm__ volatile("cpuid" : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx) : "a"(leaf), "c"(sub));
    return r;
}

static inline uint32_t read_cr0(void) { uint32_t v; __asm__ volatile("mov %%cr0, %0" : "=r"(v)); return v; }
static inline uint32_t read_cr4(void) { uint32_t v; __asm__ volatile("mov %%cr4, %0" : "=r"(v)); return v; }
static inline void write_cr0(uint32_t v) { __asm__ volatile("mov %0, %%cr0" : : "r"(v) : "memory"); }
static inline void write_cr4(uint32_t v) { __asm__ volatile("mov %0, %%cr4" : : "r"(v) : "memory"); }

static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (uint64_t)hi << 32 | lo;
}
static inline uint64_t rdmsr(uint32_t msr)
{
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return (uint64_t)hi << 32 | lo;
}
static inline void wrmsr(uint32_t msr, uint64_t v)
{
    __asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
}

/* Physical memory (paging is off: linear = physical). */
static inline uint32_t peek32(uint32_t addr) { return *(volatile uint32_t *)addr; }
static inline uint16_t peek16(uint32_t addr) { return *(volatile uint16_t *)addr; }
static inline void poke32(uint32_t addr, uint32_t v) { *(volatile uint32_t *)addr = v; }
static inline void poke16(uint32_t addr, uint16_t v) { *(volatile uint16_t *)addr = v; }

void *memcpy(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);

/* boot.S: run fn(arg); returns -1 if it returned, else the vector it faulted with. */
int try_call(void (*fn)(void *), void *arg);
extern uint32_t fault_error, fault_eip;
extern const char isr_stubs[], isr_other[];
extern const char ap_tramp_start[], ap_tramp_ret[], ap_tramp_end[];
/* idt.c */
void idt_init(void);
void idt_load(void);                          /* on an AP: the same IDT */
uint64_t idt_gate(const void *handler);       /* interrupt gate, CS 0x08 */
bool expect_fault(int vector, void (*fn)(void *), void *arg);
/* RDMSR/WRMSR for try_call() */
struct msr_op { uint32_t msr; uint64_t val; };
static inline void do_rdmsr(void *a) { struct msr_op *o = a; o->val = rdmsr(o->msr); }
static inline void do_wrmsr(void *a) { struct msr_op *o = a; wrmsr(o->msr, o->val); }

/* The hypervisor's test hypercalls (xmhf/runtime/xcall_test.c, build.sh --test-hypercalls). */
#define XCALL_TEST_MAGIC 0x58435454u
#define XCALL_TEST_QUIESCE 1
#define XCALL_TEST_SET_PROT_ALL 2
#define XCALL_TEST_GET_PROT 3
#define XCALL_TEST_RELOCATE 4                 /* the guest page at arg1 to another host page, or back */
#define EPT_R 1u
#define EPT_W 2u
#define EPT_RWX 7u
static inline uint32_t test_hypercall(uint32_t op, uint32_t arg1, uint32_t arg2)
{
    uint32_t r;
    __asm__ volatile("vmcall" : "=a"(r) : "a"(XCALL_TEST_MAGIC), "c"(op), "d"(arg1), "S"(arg2) : "memory");
    return r;
}

/* console.c: COM1 (115200 8n1) and port 0xE9 */
void console_init(void);
void console_drain(void);
void kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int vsformat(char *buf, size_t size, const char *fmt, va_list ap);
int sformat(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* main.c: configuration from the multiboot command line and memory map, check bookkeeping */
enum expect { EXPECT_BARE, EXPECT_XMHF };
extern enum expect g_expect;
extern bool g_test_hypercalls; /* test_hypercalls=1: the hypervisor has them (build.sh --test-hypercalls) */
extern uint32_t g_hv_base, g_hv_end;
extern bool g_nested; /* nested=1: the hypervisor offers VMX (built without --no-nested) */
extern bool g_app_test; /* app=test: the hypervisor was built with --app test */
extern bool g_app_trustvisor; /* app=trustvisor: built with --app trustvisor */
extern uint32_t g_ecam_test_page; /* ecam_test_page=: the page test_ecam_page= may hide; 0: none */
struct mmap_entry { uint64_t base, len; uint32_t type; };
extern struct mmap_entry g_mmap[];
extern int g_mmap_n;
static inline bool xmhf(void) { return g_expect == EXPECT_XMHF; }

/* report.c: the running check's result */
struct check_result { char fail_msg[200], note_msg[120]; bool failed; };
extern struct check_result g_result;
void result_reset(void);
void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* apic.c: local APIC, IPIs, APs started into 32-bit protected mode */
#define MSR_APIC_BASE 0x1B
#define APIC_BASE_EN (1ull << 11)             /* global enable */
#define XAPIC_ID 0x20
#define XAPIC_SVR 0xF0
#define XAPIC_ICR_LO 0x300
#define XAPIC_ICR_HI 0x310
#define ICR_INIT 0x00004500                   /* delivery mode 101, level assert */
#define ICR_STARTUP 0x00004600                /* delivery mode 110; | vector */
#define ICR_BUSY BIT(12)                      /* delivery status (xAPIC only) */
extern uint32_t apic_mmio;                    /* xAPIC register page (IA32_APIC_BASE[35:12]) */
bool apic_init(void);
uint32_t apic_id(void);
uint32_t xapic_read(uint32_t reg);
void xapic_write(uint32_t reg, uint32_t v);
bool send_ipi(bool x2, uint32_t dest, uint32_t icr);
void start_ap_pm32(uint32_t dest, void (*entry)(void), void *stack_top);

/* tss.c: a 32-bit TSS (SDM Vol.3A 7.2.1) and segment descriptors (3.4.5) */
struct tss32 {
    uint16_t link, r0;
    uint32_t esp0, ss0, esp1, ss1, esp2, ss2, cr3, eip, eflags;
    uint32_t eax, ecx, edx, ebx, esp, ebp, esi, edi;
    uint32_t es, cs, ss, ds, fs, gs, ldt;
    uint16_t trap, iomap;
} __attribute__((packed));
uint64_t desc(uint32_t base, uint32_t limit, unsigned access, unsigned flags);

/* acpi.c */
void acpi_init(void);
int acpi_cpus(uint32_t *apic_ids, int max);   /* enabled CPUs from the MADT; -1: no MADT */
bool acpi_have_pm_timer(void);
void udelay(uint32_t us);                     /* ACPI PM timer */
uint32_t pm_ticks_elapsed(uint32_t start);
uint32_t pm_timer_read(void);
void acpi_poweroff(void);

/* checks.c, smp.c, insn.c, paging.c, tss.c, memory.c, longmode.c, hvcons.c */
void check_efer_initial(void);
void check_hypapp_test(void);
void check_cpuid_vmx_hidden(void);
void check_cpuid_hypervisor_bit(void);
void check_cpuid_osxsave_mirror(void);
void check_cr4_vmxe_hidden(void);
void check_cr0_fixed_bits(void);
void check_msr_unknown_gp(void);
void check_msr_fs_gs_base(void);
void check_xsetbv_invalid(void);
void check_e820_hidden(void);
void check_hv_memory_blocked(void);
void check_smp_init_sipi_twice_xapic(void);
void check_smp_broadcast_sipi(void);
void check_smp_apic_moved(void);
void check_smp_sipi_x2apic(void);
void check_ecam_page_hidden(void);
void check_e820_full(void);
void check_vmx_insn_ud(void);
void check_invd_survives(void);
void check_cr4_smxe_gp(void);
void check_pae_paging_toggle(void);
void check_high_memory(void);
void check_task_switch(void);
void check_task_switch_16(void);
void check_task_switch_above_mem(void);
void check_mtrr_noncontiguous_mask(void);
void check_apic_moves_bounded(void);
void check_long_mode_16bit_tr(void);
/* msr.c */
void check_cpuid_pmu_pt_hidden(void);
void check_msr_pt_pebs_gp(void);
void check_apic_base_invalid_gp(void);
void check_apic_base_legal_move(void);
void check_x2apic_icr_reserved_gp(void);
void check_apic_base_x2apic_to_xapic_gp(void);
void check_apic_nmi_during_writes(void);
void check_apic_write_single_step(void);
void check_console_uart_stalled(void);
void check_quiesce_nmi_flood(void);
void check_memprot_all_cpus(void);

#endif
