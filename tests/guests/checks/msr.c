/* MSR policy checks: no PMU, PT, DS/PEBS for the guest (CPUID and #GP), and IA32_APIC_BASE and
 * x2APIC ICR writes validated as the SDM says (Vol.3A 10.4.4 / 12.4.4 "Local APIC Status and
 * Location", 10.12.5 / 12.12.5 "x2APIC State Transitions", 10.12.9 / 12.12.9 "ICR Operation in
 * x2APIC Mode"). On bare Bochs only what Bochs does is noted. */
#include "kernel.h"

#define APIC_BASE_BSP (1ull << 8)
#define APIC_BASE_EXTD (1ull << 10)
#define APIC_BASE_FLAGS 0xFFFull
#define MSR_X2APIC_ICR 0x830
#define MSR_MISC_ENABLE 0x1A0
#define MISC_PERF_MON BIT(7)
#define MISC_BTS_UNAVAILABLE BIT(11)
#define MISC_PEBS_UNAVAILABLE BIT(12)
#define MSR_DEBUGCTL 0x1D9
#define DEBUGCTL_TR_BTS 0xC0            /* branch trace messages into the DS area */
#define XAPIC_VERSION 0x30
#define LEGAL_APIC_PAGE 0xFEF10000u     /* in the APIC's own 2 MiB region, outside the hypervisor */
#define VEC_GP 13

static int wrmsr_vector(uint32_t msr, uint64_t val)
{
    struct msr_op o = { msr, val };
    return try_call(do_wrmsr, &o);
}

static int rdmsr_vector(uint32_t msr, uint64_t *val)
{
    struct msr_op o = { msr, 0 };
    int v = try_call(do_rdmsr, &o);
    *val = o.val;
    return v;
}

static unsigned maxphyaddr(void)
{
    return cpuid(0x80000000, 0).eax >= 0x80000008 ? (cpuid(0x80000008, 0).eax & 0xFF) : 36;
}

/* Under xmhf the PMU, DS (BTS/PEBS), DTES64, PDCM and Intel PT are hidden: CPUID.1 bits clear,
 * leaves 0AH and 14H all zeros, IA32_MISC_ENABLE says "BTS/PEBS unavailable" and no PMU
 * (SDM Vol.2A CPUID; Vol.4 Table 2-2). Bare corei7_skylake_x reports a PMU and PDCM. */
void check_cpuid_pmu_pt_hidden(void)
{
    uint32_t max = cpuid(0, 0).eax;
    struct cpuid_regs c1 = cpuid(1, 0);
    uint32_t pmu = max >= 0xA ? cpuid(0xA, 0).eax : 0;
    if (!xmhf()) {
        note("bare: CPUID.0AH:EAX=%x, PDCM=%u, DS=%u", pmu, !!(c1.ecx & BIT(15)), !!(c1.edx & BIT(21)));
        return;
    }
    if (c1.ecx & (BIT(2) | BIT(4) | BIT(15)))
        fail("CPUID.1:ECX=%08x shows DTES64/DS-CPL/PDCM", c1.ecx);
    if (c1.edx & BIT(21))
        fail("CPUID.1:EDX=%08x shows DS", c1.edx);
    if (max >= 0xA) {
        struct cpuid_regs r = cpuid(0xA, 0);
        if (r.eax | r.ebx | r.ecx | r.edx)
            fail("CPUID.0AH = %x %x %x %x, want zeros", r.eax, r.ebx, r.ecx, r.edx);
    }
    if (max >= 7 && (cpuid(7, 0).ebx & BIT(25)))
        fail("CPUID.7:EBX shows Intel PT");
    if (max >= 0x14) {
        struct cpuid_regs r = cpuid(0x14, 0);
        if (r.eax | r.ebx | r.ecx | r.edx)
            fail("CPUID.14H = %x %x %x %x, want zeros", r.eax, r.ebx, r.ecx, r.edx);
    }
    uint64_t misc;
    int v = rdmsr_vector(MSR_MISC_ENABLE, &misc);
    if (v >= 0)
        note("IA32_MISC_ENABLE: vector %d", v);
    else if ((misc & MISC_PERF_MON) || !(misc & MISC_BTS_UNAVAILABLE) || !(misc & MISC_PEBS_UNAVAILABLE))
        fail("IA32_MISC_ENABLE=%llx: want PMU bit 7 clear, BTS/PEBS-unavailable bits 11/12 set", misc);
}

/* The MSRs that would make the CPU write trace or PEBS/BTS records (Intel PT, DS area, PEBS, the
 * counters) #GP under xmhf, whatever the value (here 0); DEBUGCTL reads 0 and refuses BTS.
 * Bochs implements none of them (also #GP), so bare only notes. */
void check_msr_pt_pebs_gp(void)
{
    static const uint32_t msrs[] = { 0x570 /* RTIT_CTL */, 0x560 /* RTIT_OUTPUT_BASE */, 0x600 /* DS_AREA */,
                                     0x3F1 /* PEBS_ENABLE */, 0x38F /* PERF_GLOBAL_CTRL */,
                                     0x38D /* FIXED_CTR_CTRL */, 0x186 /* PERFEVTSEL0 */, 0xC1 /* PMC0 */ };
    uint64_t val;
    for (unsigned i = 0; i < sizeof msrs / sizeof msrs[0]; i++) {
        int w = wrmsr_vector(msrs[i], 0), r = rdmsr_vector(msrs[i], &val);
        if (!xmhf() && (w != VEC_GP || r != VEC_GP))
            note("bare: MSR %x write vector %d, read vector %d", msrs[i], w, r);
        if (xmhf() && (w != VEC_GP || r != VEC_GP))
            fail("MSR %x: write vector %d, read vector %d, want #GP", msrs[i], w, r);
    }
    int w = wrmsr_vector(MSR_DEBUGCTL, DEBUGCTL_TR_BTS), r = rdmsr_vector(MSR_DEBUGCTL, &val);
    if (!xmhf())
        note("bare: DEBUGCTL write vector %d, read vector %d", w, r);
    else if (w != VEC_GP || r >= 0 || val)
        fail("DEBUGCTL: write TR|BTS vector %d (want #GP), read vector %d value %llx (want 0)", w, r, val);
}

/* WRMSR IA32_APIC_BASE from xAPIC mode with each value the hypervisor must refuse with #GP and
 * no change: reserved bits (7:0, 9, MAXPHYADDR and up; SDM), EN=0 with EXTD=1 (invalid state;
 * SDM), and our placement rules: a base inside the hypervisor or above the memory it maps.
 * The BSP flag is read-only. Bare runs only the SDM's reserved-bit cases (Bochs cannot re-enable
 * a disabled APIC, and would move the APIC anywhere). */
void check_apic_base_invalid_gp(void)
{
    uint64_t base = rdmsr(MSR_APIC_BASE);
    if ((base & (APIC_BASE_EN | APIC_BASE_EXTD)) != APIC_BASE_EN) {
        fail("IA32_APIC_BASE=%llx: not in xAPIC mode", base);
        return;
    }
    uint64_t flags = base & APIC_BASE_FLAGS, page = base & ~APIC_BASE_FLAGS;
    unsigned phys = maxphyaddr();
    struct { const char *what; uint64_t val; bool sdm; } t[] = {
        { "bit 0", base | 1ull << 0, true }, { "bit 1", base | 1ull << 1, true }, { "bit 2", base | 1ull << 2, true },
        { "bit 3", base | 1ull << 3, true }, { "bit 4", base | 1ull << 4, true }, { "bit 5", base | 1ull << 5, true },
        { "bit 6", base | 1ull << 6, true }, { "bit 7", base | 1ull << 7, true }, { "bit 9", base | 1ull << 9, true },
        { "MAXPHYADDR bit", base | 1ull << phys, phys < 64 }, { "bit 63", base | 1ull << 63, true },
        { "base in the hypervisor", g_hv_base | flags, false },
        { "base on the hypervisor's last page", (g_hv_end - 0x1000) | flags, false },
        { "base at the top of the physical address space", ((1ull << phys) - 0x1000) | flags, false },
        { "EN=0 with EXTD=1", (page | flags | APIC_BASE_EXTD) & ~APIC_BASE_EN, false },
    };
    for (unsigned i = 0; i < sizeof t / sizeof t[0]; i++) {
        if (!xmhf() && !t[i].sdm)
            continue;
        int v = wrmsr_vector(MSR_APIC_BASE, t[i].val);
        uint64_t after = rdmsr(MSR_APIC_BASE);
        if (after != base)
            wrmsr(MSR_APIC_BASE, base);
        if (xmhf() && (v != VEC_GP || after != base))
            fail("%s (%llx): vector %d, IA32_APIC_BASE then %llx, want #GP and %llx", t[i].what, t[i].val, v, after,
                 base);
        if (!xmhf() && v != VEC_GP)
            note("bare: %s accepted", t[i].what);
    }
    int v = wrmsr_vector(MSR_APIC_BASE, base ^ APIC_BASE_BSP);
    uint64_t after = rdmsr(MSR_APIC_BASE);
    if (after != base)
        wrmsr(MSR_APIC_BASE, base);
    if (xmhf() && (v >= 0 || after != base))
        fail("toggling BSP: vector %d, IA32_APIC_BASE then %llx, want no fault and %llx", v, after, base);
    if (!xmhf() && (v >= 0 || after != base))
        note("bare: toggling BSP: vector %d, then %llx", v, after);
}

/* A legal move (10.4.5 / 12.4.5): the APIC's registers appear at the new page and back at the old
 * one after the move back. */
void check_apic_base_legal_move(void)
{
    uint64_t base = rdmsr(MSR_APIC_BASE);
    uint32_t page = (uint32_t)base & ~(uint32_t)APIC_BASE_FLAGS;
    if ((base & (APIC_BASE_EN | APIC_BASE_EXTD)) != APIC_BASE_EN || base >> 32) {
        fail("IA32_APIC_BASE=%llx: not in xAPIC mode below 4 GiB", base);
        return;
    }
    uint32_t id = peek32(page + XAPIC_ID), ver = peek32(page + XAPIC_VERSION);
    int v = wrmsr_vector(MSR_APIC_BASE, (base & APIC_BASE_FLAGS) | LEGAL_APIC_PAGE);
    uint32_t id_moved = peek32(LEGAL_APIC_PAGE + XAPIC_ID), ver_moved = peek32(LEGAL_APIC_PAGE + XAPIC_VERSION);
    wrmsr(MSR_APIC_BASE, base);
    if (v >= 0)
        fail("move to %x: vector %d", LEGAL_APIC_PAGE, v);
    else if (id_moved != id || ver_moved != ver)
        fail("moved APIC: ID %x version %x, want %x %x", id_moved, ver_moved, id, ver);
    if (rdmsr(MSR_APIC_BASE) != base || peek32(page + XAPIC_ID) != id)
        fail("moved back: IA32_APIC_BASE=%llx, ID %x", rdmsr(MSR_APIC_BASE), peek32(page + XAPIC_ID));
}

static bool in_x2apic_mode(void)
{
    return (rdmsr(MSR_APIC_BASE) & (APIC_BASE_EN | APIC_BASE_EXTD)) == (APIC_BASE_EN | APIC_BASE_EXTD);
}

/* x2APIC ICR (MSR 830H) writes with a reserved bit (13, 17:16, 31:20) #GP under xmhf; the IPI
 * (fixed, vector 40H, to the absent APIC ID 7FH) is harmless where the CPU takes it. */
void check_x2apic_icr_reserved_gp(void)
{
    if (!in_x2apic_mode()) {
        note("skip: not in x2APIC mode");
        return;
    }
    static const unsigned bits[] = { 13, 16, 17, 20, 31 };
    for (unsigned i = 0; i < sizeof bits / sizeof bits[0]; i++) {
        int v = wrmsr_vector(MSR_X2APIC_ICR, 0x7Full << 32 | 1ull << bits[i] | 0x40);
        if (xmhf() && v != VEC_GP)
            fail("ICR with bit %u: vector %d, want #GP", bits[i], v);
        if (!xmhf() && v != VEC_GP)
            note("bare: ICR bit %u accepted", bits[i]);
    }
}

/* x2APIC -> xAPIC directly is illegal (#GP, mode unchanged); only x2APIC -> disabled is. Last:
 * on bare Bochs the write may succeed. */
void check_apic_base_x2apic_to_xapic_gp(void)
{
    if (!in_x2apic_mode()) {
        note("skip: not in x2APIC mode");
        return;
    }
    uint64_t base = rdmsr(MSR_APIC_BASE);
    int v = wrmsr_vector(MSR_APIC_BASE, base & ~APIC_BASE_EXTD);
    if (xmhf() && (v != VEC_GP || rdmsr(MSR_APIC_BASE) != base))
        fail("x2APIC -> xAPIC: vector %d, IA32_APIC_BASE then %llx, want #GP", v, rdmsr(MSR_APIC_BASE));
    if (!xmhf() && v != VEC_GP)
        note("bare: x2APIC -> xAPIC accepted");
}
