/* Guest memory the hypervisor touches on the guest's behalf, and MTRR values that are legal but
 * awkward for EPT (issue 7 points 2 and 6). */
#include "kernel.h"

#define CR0_PG BIT(31)
#define CR4_PAE BIT(5)
#define P BIT(0)
#define RW BIT(1)
#define PS BIT(7)
#define VA_HIGH 0x40000000u          /* PDPTE1 -> PD entry 0 -> a page table at HIGH */
#define SEL_CODE 0x08
#define SEL_DATA 0x10
#define SEL_OURS 0x18
#define SEL_HIGH 0x20
#define TSS_AVAIL 0x9

#define PAGE __attribute__((aligned(4096)))
static uint64_t pdpt[4] __attribute__((aligned(32)));
static uint64_t pd0[512] PAGE, pd1[512] PAGE;
static uint64_t gdt[5] __attribute__((aligned(8)));
static uint32_t tss_ours[26];

static uint64_t tss_desc(uint32_t base)
{
    return 103 | (uint64_t)(base & 0xFFFFFF) << 16 | (uint64_t)(0x80 | TSS_AVAIL) << 40 | (uint64_t)(base >> 24) << 56;
}

static void read_high(void *a) { (void)a; (void)peek32(VA_HIGH); }
static void jmp_high(void *a) { (void)a; __asm__ volatile("ljmp $0x20, $0" : : : "memory"); }

struct probe { uint32_t cr0, cr4; void (*fn)(void *); };

static void with_paging(void *arg)
{
    struct probe *p = arg;
    write_cr4(p->cr4 | CR4_PAE);
    __asm__ volatile("mov %0, %%cr3" : : "r"((uint32_t)pdpt) : "memory");
    write_cr0(p->cr0 | CR0_PG);
    p->fn(NULL);
}

/* Run fn with PAE paging on; the vector it faulted with (-1: none), and its error code. */
static int paged(void (*fn)(void *), uint32_t *error)
{
    struct probe p = { read_cr0() & ~CR0_PG, read_cr4() & ~CR4_PAE, fn };
    int v = try_call(with_paging, &p);
    write_cr0(p.cr0);
    write_cr4(p.cr4);
    *error = fault_error;
    return v;
}

/* A task switch whose new TSS has a page table above --mem (SDM Vol. 3 7.3: the new TSS is read
 * through paging). The CPU's own read of that TSS faults -- #PF on bare Bochs (no memory there),
 * #GP(0) under the hypervisor (an EPT violation) -- and the emulated task switch must fault the
 * same way, not make the hypervisor touch an address its page tables do not map (a #PF in VMX
 * root halted every CPU). */
void check_task_switch_above_mem(void)
{
    uint32_t maxphy = cpuid(0x80000000, 0).eax >= 0x80000008 ? cpuid(0x80000008, 0).eax & 0xFF : 36;
    if (!(cpuid(1, 0).edx & BIT(6)) || maxphy < 35) {
        note("skip: no PAE or MAXPHYADDR %u", maxphy);
        return;
    }
    uint64_t high = (1ull << maxphy) - 0x200000;  /* the top 2 MiB: above the tests' --mem (16 GiB) */
    for (uint32_t i = 0; i < 512; i++)
        pd0[i] = (uint64_t)i << 21 | PS | RW | P;
    memset(pd1, 0, sizeof pd1);
    pd1[0] = high | RW | P;
    pdpt[0] = (uint32_t)pd0 | P;
    pdpt[1] = (uint32_t)pd1 | P;
    pdpt[2] = pdpt[3] = 0;

    struct __attribute__((packed)) { uint16_t limit; uint32_t base; } old, d;
    __asm__ volatile("sgdt %0" : "=m"(old));
    memcpy(gdt, (const void *)old.base, 3 * 8);
    memset(tss_ours, 0, sizeof tss_ours);
    gdt[SEL_OURS >> 3] = tss_desc((uint32_t)tss_ours);
    gdt[SEL_HIGH >> 3] = tss_desc(VA_HIGH);
    d.limit = sizeof gdt - 1, d.base = (uint32_t)gdt;
    __asm__ volatile("lgdt %0; ltr %w1" : : "m"(d), "r"(SEL_OURS) : "memory");

    uint32_t native_error, ts_error;
    int native = paged(read_high, &native_error);
    int ts = paged(jmp_high, &ts_error);
    __asm__ volatile("lgdt %0" : : "m"(old) : "memory");  /* TR keeps tss_ours: not used again */

    int want = g_expect == EXPECT_XMHF ? 13 : 14;
    if (native != want)
        fail("a read of the TSS page gave vector %d, want %d", native, want);
    if (ts != native)
        fail("the task switch gave vector %d (error %x), the CPU's own read %d", ts, ts_error, native);
    else if (ts == 13 && ts_error != 0)
        fail("the task switch gave #GP(%x), want #GP(0)", ts_error);
}

/* A non-contiguous PHYSMASK (SDM Vol. 3 "Variable Range MTRRs": contiguous masks are what Intel
 * supports, but hardware and Bochs accept any) of only bit 12 makes every other 4 KiB page UC:
 * EPT01 cannot follow it page by page within its pool (the rebuild halted the hypervisor). Written
 * on a free variable range, read back, then removed; memory must stay usable in between. */
#define MSR_MTRRCAP 0xFE
#define MSR_PHYSBASE0 0x200
#define MTRR_VALID BIT(11)

void check_mtrr_noncontiguous_mask(void)
{
    if (!(cpuid(1, 0).edx & BIT(12))) {
        note("skip: no MTRRs");
        return;
    }
    uint32_t n = rdmsr(MSR_MTRRCAP) & 0xFF, i = 0;
    while (i < n && (rdmsr(MSR_PHYSBASE0 + 2 * i + 1) & MTRR_VALID))
        i++;
    if (i == n) {
        note("skip: no free variable range");
        return;
    }
    uint64_t base = 0 /* UC, pages with address bit 12 clear */, mask = BIT(12) | MTRR_VALID;
    wrmsr(MSR_PHYSBASE0 + 2 * i, base);
    wrmsr(MSR_PHYSBASE0 + 2 * i + 1, mask);
    uint64_t got = rdmsr(MSR_PHYSBASE0 + 2 * i + 1);
    volatile uint32_t probe = 0x5a5a5a5a;
    probe++;
    wrmsr(MSR_PHYSBASE0 + 2 * i + 1, 0);
    if (got != mask)
        fail("PHYSMASK%u read back %x%08x, wrote %x%08x", i, (uint32_t)(got >> 32), (uint32_t)got,
             (uint32_t)(mask >> 32), (uint32_t)mask);
    if (probe != 0x5a5a5a5b)
        fail("memory read %x with the mask set", probe);
}

/* 64 moves of the APIC (IA32_APIC_BASE, SDM Vol. 3 "Relocating the Local APIC Registers") to a
 * fresh 2 MiB region of RAM each, then back: each move made EPT01 split a region for the new APIC
 * page and never merged the old one back, and ~58 moves exhausted its pool (the hypervisor
 * panicked). The APIC must still answer at its home page afterwards. */
#define MSR_APIC_BASE 0x1B
#define APIC_BASE_EXTD BIT(10)
#define APIC_REG_ID 0x20
#define MOVES 64
#define MOVES_BASE 0x4000000u            /* 64 MiB .. 192 MiB: RAM the checks guest does not use */

void check_apic_moves_bounded(void)
{
    uint64_t home = rdmsr(MSR_APIC_BASE);
    if (home & APIC_BASE_EXTD) {
        note("skip: x2APIC mode");
        return;
    }
    uint32_t page = (uint32_t)home & 0xFFFFF000u, id = peek32(page + APIC_REG_ID);
    for (uint32_t i = 0; i < MOVES; i++)
        wrmsr(MSR_APIC_BASE, (home & 0xFFF) | (MOVES_BASE + i * 0x200000u));
    uint32_t moved_id = peek32(MOVES_BASE + (MOVES - 1) * 0x200000u + APIC_REG_ID);
    wrmsr(MSR_APIC_BASE, home);
    if (rdmsr(MSR_APIC_BASE) != home)
        fail("IA32_APIC_BASE %llx after moving back, was %llx", rdmsr(MSR_APIC_BASE), home);
    if (moved_id != id)
        fail("APIC ID %x at the last moved page, %x at home", moved_id, id);
    if (peek32(page + APIC_REG_ID) != id)
        fail("APIC ID %x at home after the moves, was %x", peek32(page + APIC_REG_ID), id);
}
