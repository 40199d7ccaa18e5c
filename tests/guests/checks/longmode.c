/* IA-32e mode entered and left from 32-bit protected mode (SDM Vol.3A 10.8.5 "Initializing IA-32e
 * Mode", 10.8.5.4 "Switching Out of IA-32e Mode"): PAE, a 4-level identity map, EFER.LME, then
 * CR0.PG puts the CPU in compatibility mode (CS.L = 0); CPUID there (a VM exit whose VM entry
 * must accept the IA-32e state: TR must be a busy 64-bit TSS, Vol.3C 27.3.1.2), then CR0.PG = 0.
 * Once with a 32-bit TSS in TR, once with a 16-bit one: MOV to CR0 does not fault for the latter
 * (Vol.2B MOV CR), so under the hypervisor the guest goes on; bare Bochs #GPs it. */
#include "kernel.h"

#define SEL_TSS32 0x18
#define SEL_TSS16 0x20
#define SEL_TSS32_AFTER 0x28
#define GDT_N 6
#define CR4_PAE BIT(5)
#define MSR_EFER 0xc0000080u
#define EFER_LME BIT(8)
#define EFER_LMA BIT(10)
#define CPUID1_ECX_HYPERVISOR BIT(31)
#define PTE_P BIT(0)
#define PTE_RW BIT(1)
#define PTE_PS BIT(7)
#define VECTOR_GP 13

#define PAGE __attribute__((aligned(4096)))
static uint64_t pml4[512] PAGE, pdpt[512] PAGE, pd[512] PAGE;
static uint64_t gdt[GDT_N] __attribute__((aligned(8)));
static uint8_t tss32[104], tss16[44], tss32_after[104];

static uint64_t tss_desc(const void *tss, uint32_t size, unsigned type)
{
    uint32_t base = (uint32_t)tss, limit = size - 1;
    return (limit & 0xFFFF) | (uint64_t)(base & 0xFFFFFF) << 16 | (uint64_t)(0x80 | type) << 40 |
           (uint64_t)(base >> 24) << 56;
}

struct round_trip { uint32_t efer_inside, cpuid1_ecx; };

/* Paging on (IA-32e mode activates), EFER and CPUID in compatibility mode, paging off: one asm
 * block, so that nothing but these instructions runs in IA-32e mode (the IDT is 32-bit). */
static void round_trip(void *arg)
{
    struct round_trip *r = arg;
    __asm__ volatile("mov %%cr0, %%eax; or $0x80000000, %%eax; mov %%eax, %%cr0\n"
                     "mov $0xc0000080, %%ecx; rdmsr; mov %%eax, %0\n"
                     "mov $1, %%eax; xor %%ecx, %%ecx; cpuid; mov %%ecx, %1\n"
                     "mov %%cr0, %%eax; and $0x7fffffff, %%eax; mov %%eax, %%cr0\n"
                     : "=m"(r->efer_inside), "=m"(r->cpuid1_ecx) : : "eax", "ebx", "ecx", "edx", "memory");
}

/* With TR = sel: the vector round_trip faulted with, or -1 */
static int long_mode_with_tr(uint16_t sel, struct round_trip *r)
{
    uint32_t cr3, cr4 = read_cr4(), flags;
    __asm__ volatile("pushfl; popl %0; cli; mov %%cr3, %1; ltr %w2" : "=r"(flags), "=r"(cr3) : "r"(sel) : "memory");
    write_cr4(cr4 | CR4_PAE);
    __asm__ volatile("mov %0, %%cr3" : : "r"((uint32_t)pml4) : "memory");
    wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_LME);
    *r = (struct round_trip){ 0, 0 };
    int v = try_call(round_trip, r);
    wrmsr(MSR_EFER, rdmsr(MSR_EFER) & ~EFER_LME);
    __asm__ volatile("mov %0, %%cr3" : : "r"(cr3) : "memory");
    write_cr4(cr4);
    __asm__ volatile("pushl %0; popfl" : : "r"(flags) : "memory", "cc");
    return v;
}

static void expect_round_trip(const char *tr, int v, const struct round_trip *r)
{
    if (v != -1) {
        fail("%s TSS: vector %d activating IA-32e mode", tr, v);
        return;
    }
    if (!(r->efer_inside & EFER_LMA))
        fail("%s TSS: EFER %x in compatibility mode, LMA clear", tr, r->efer_inside);
    if (!(r->cpuid1_ecx & CPUID1_ECX_HYPERVISOR) != (g_expect == EXPECT_BARE))
        fail("%s TSS: CPUID.1:ECX %x in compatibility mode", tr, r->cpuid1_ecx);
    if (rdmsr(MSR_EFER) & (EFER_LME | EFER_LMA))
        fail("%s TSS: EFER %llx after leaving IA-32e mode", tr, (unsigned long long)rdmsr(MSR_EFER));
}

void check_long_mode_16bit_tr(void)
{
    struct __attribute__((packed)) { uint16_t limit; uint32_t base; } old, d;
    struct round_trip r;
    if (!(cpuid(0x80000001, 0).edx & BIT(29))) {
        note("no long mode: skipped");
        return;
    }
    for (uint32_t i = 0; i < 512; i++)
        pd[i] = (uint64_t)i << 21 | PTE_PS | PTE_RW | PTE_P;          /* [0, 1 GiB) */
    pdpt[0] = (uint32_t)pd | PTE_RW | PTE_P;
    pml4[0] = (uint32_t)pdpt | PTE_RW | PTE_P;
    __asm__ volatile("sgdt %0" : "=m"(old));
    memcpy(gdt, (const void *)old.base, 3 * 8);                          /* null, code, data */
    gdt[SEL_TSS32 >> 3] = tss_desc(tss32, sizeof tss32, 9);              /* available 32-bit TSS */
    gdt[SEL_TSS16 >> 3] = tss_desc(tss16, sizeof tss16, 1);              /* available 16-bit TSS */
    gdt[SEL_TSS32_AFTER >> 3] = tss_desc(tss32_after, sizeof tss32_after, 9);
    d.limit = sizeof gdt - 1, d.base = (uint32_t)gdt;
    __asm__ volatile("lgdt %0" : : "m"(d) : "memory");

    /* the sequence itself, as every CPU and VMM runs it */
    expect_round_trip("32-bit", long_mode_with_tr(SEL_TSS32, &r), &r);
    int v = long_mode_with_tr(SEL_TSS16, &r);
    if (g_expect == EXPECT_XMHF)
        expect_round_trip("16-bit", v, &r);
    else if (v == VECTOR_GP)
        note("bare Bochs #GPs IA-32e mode activation with a 16-bit TSS (the SDM does not)");
    else
        expect_round_trip("16-bit", v, &r);

    __asm__ volatile("ltr %w0; lgdt %1" : : "r"(SEL_TSS32_AFTER), "m"(old) : "memory"); /* a 32-bit TR */
}
