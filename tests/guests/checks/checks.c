/* Guest-visible CPU behaviour checks. SDM = Intel SDM (section numbers of the 2016-2022
 * editions, order no. 325462-06x..07x); "xmhf" = running as the guest of our hypervisor. */
#include "kernel.h"

#define CR0_NE BIT(5)
#define CR0_NW BIT(29)
#define CR0_CD BIT(30)
#define CR4_VMXE BIT(13)
#define CR4_OSXSAVE BIT(18)
#define MSR_EFER 0xC0000080
#define MSR_FS_BASE 0xC0000100
#define MSR_GS_BASE 0xC0000101
#define VEC_UD 6
#define VEC_GP 13

/* Single faulting instructions for try_call(). */
static void do_write_cr0(void *a) { write_cr0(*(uint32_t *)a); }
static void do_write_cr4(void *a) { write_cr4(*(uint32_t *)a); }
static void do_read32(void *a) { *(volatile uint32_t *)a = peek32(*(volatile uint32_t *)a); }
static void do_xsetbv(void *a)
{
    uint64_t v = *(uint64_t *)a;
    __asm__ volatile("xsetbv" : : "c"(0), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

static const char *vec_name(int v)
{
    static char buf[4][16];
    static int next;
    switch (v) {
    case -1: return "no fault";
    case VEC_UD: return "#UD";
    case VEC_GP: return "#GP";
    case 14: return "#PF";
    }
    char *b = buf[next++ % 4];
    sformat(b, sizeof buf[0], "vector %d", v);
    return b;
}

/* EFER is 0 after power-up/INIT (SDM Vol.3A 9.1.1, Table 9-1) and GRUB's 32-bit multiboot
 * hand-off does not set LME/LMA; a hypervisor must not leak its own 64-bit EFER into the guest. */
void check_efer_initial(void)
{
    struct msr_op o = { MSR_EFER, 0 };
    int v = try_call(do_rdmsr, &o);
    if (v >= 0) {
        fail("RDMSR EFER faulted %s", vec_name(v));
        return;
    }
    if (o.val & (BIT(8) | BIT(10)))
        fail("EFER=%llx has LME/LMA set", o.val);
}

/* VMX is offered to the guest by nested VMX only (CPUID.1:ECX.VMX[5], SDM Vol.3C 23.6
 * "Discovering support for VMX"), with IA32_FEATURE_CONTROL locked and VMX outside SMX enabled
 * (23.7); SMX[6] must be 0 as GETSEC is not virtualized. Bare corei7_skylake_x: VMX=1. */
void check_cpuid_vmx_hidden(void)
{
    uint32_t ecx = cpuid(1, 0).ecx;
    bool vmx = ecx & BIT(5), want = !xmhf() || g_nested;
    if (vmx != want)
        fail("CPUID.1:ECX=%08x VMX=%u, want %u", ecx, vmx, want);
    if (ecx & BIT(6))
        fail("CPUID.1:ECX=%08x SMX=1", ecx);
    /* IA32_FEATURE_CONTROL (0x3a): bit 0 lock, bit 2 VMX outside SMX */
    struct msr_op fc = { .msr = 0x3a };
    int v = try_call(do_rdmsr, &fc);
    uint64_t want_fc = g_nested ? 5 : 1;
    if (xmhf() && (v >= 0 || fc.val != want_fc))
        fail("IA32_FEATURE_CONTROL: %s %llx, want %llx", vec_name(v), fc.val, want_fc);
}

/* CPUID.1:ECX[31] is 0 on hardware (SDM Vol.2A CPUID, Table 3-10 "not used") and set by
 * hypervisors; leaves 0x40000000+ are the hypervisor range (max leaf in EAX, vendor in EBX-EDX). */
void check_cpuid_hypervisor_bit(void)
{
    uint32_t ecx = cpuid(1, 0).ecx;
    bool hv = ecx & BIT(31);
    if (hv != xmhf())
        fail("CPUID.1:ECX[31]=%u, want %u", hv, xmhf());
    if (!xmhf())
        return;
    struct cpuid_regs r = cpuid(0x40000000, 0);
    char vendor[13];
    memcpy(vendor, &r.ebx, 4), memcpy(vendor + 4, &r.ecx, 4), memcpy(vendor + 8, &r.edx, 4);
    vendor[12] = 0;
    for (int i = 0; i < 12; i++)
        if (vendor[i] < 0x20 || vendor[i] > 0x7e)
            vendor[i] = '.';
    if (r.eax < 0x40000001)
        fail("CPUID.40000000:EAX=%x, want >= 40000001", r.eax);
    if (memcmp(vendor, "XMHFXMHFXMHF", 12))
        fail("CPUID.40000000 vendor '%s' (%08x %08x %08x), want XMHFXMHFXMHF", vendor, r.ebx, r.ecx, r.edx);
}

/* CPUID.1:ECX.OSXSAVE[27] reflects CR4.OSXSAVE (SDM Vol.2A CPUID Table 3-10; Vol.3A 2.5). A
 * hypervisor that emulates CPUID must recompute it from the guest's CR4, not the host's. */
void check_cpuid_osxsave_mirror(void)
{
    if (!(cpuid(1, 0).ecx & BIT(26))) {
        note("skip: no XSAVE");
        return;
    }
    uint32_t cr4 = read_cr4();
    write_cr4(cr4 | CR4_OSXSAVE);
    uint32_t on = cpuid(1, 0).ecx;
    write_cr4(cr4 & ~CR4_OSXSAVE);
    uint32_t off = cpuid(1, 0).ecx;
    write_cr4(cr4);
    if (!(on & BIT(27)))
        fail("CR4.OSXSAVE=1 but CPUID.1:ECX=%08x has OSXSAVE=0", on);
    if (off & BIT(27))
        fail("CR4.OSXSAVE=0 but CPUID.1:ECX=%08x has OSXSAVE=1", off);
}

/* The guest sees its own CR4 (read shadow, SDM Vol.3C 24.6.6): VMXE reads 0. Setting it is
 * legal on hardware with VMX (Vol.3C 23.7) and with nested VMX; without VMX in CPUID it is a
 * reserved bit and MOV to CR4 raises #GP(0) (Vol.2B "MOV - Move to/from Control Registers"). */
void check_cr4_vmxe_hidden(void)
{
    uint32_t cr4 = read_cr4();
    if (cr4 & CR4_VMXE)
        fail("CR4=%x has VMXE set", cr4);
    uint32_t want = cr4 | CR4_VMXE;
    int v = try_call(do_write_cr4, &want);
    uint32_t after = read_cr4();
    write_cr4(cr4 & ~CR4_VMXE);
    bool allowed = !xmhf() || g_nested;
    if (!allowed && v != VEC_GP)
        fail("MOV CR4 with VMXE: %s, want #GP (CR4 after: %x)", vec_name(v), after);
    if (allowed && (v >= 0 || !(after & CR4_VMXE)))
        fail("MOV CR4 with VMXE: %s, CR4 after %x, want no fault and VMXE=1", vec_name(v), after);
}

/* CR0.NE may be cleared by the guest (VMX keeps it 1 in the real CR0, Vol.3C 23.8, but the
 * read shadow shows the guest's value, 24.6.6). NW=1 with CD=0 is invalid: MOV to CR0 raises
 * #GP(0) (Vol.3A 2.5; Vol.2B "MOV - Move to/from Control Registers"). */
void check_cr0_fixed_bits(void)
{
    uint32_t cr0 = read_cr0();
    uint32_t val = cr0 & ~CR0_NE;
    int v = try_call(do_write_cr0, &val);
    uint32_t got = read_cr0();
    write_cr0(cr0);
    if (v >= 0)
        fail("MOV CR0 clearing NE: %s", vec_name(v));
    else if (got & CR0_NE)
        fail("CR0 after clearing NE reads %x (NE still set)", got);
    val = (cr0 | CR0_NW) & ~CR0_CD;
    v = try_call(do_write_cr0, &val);
    got = read_cr0();
    write_cr0(cr0);
    if (v != VEC_GP)
        fail("MOV CR0 with NW=1 CD=0: %s, want #GP (CR0 after: %x)", vec_name(v), got);
    if (read_cr0() != cr0)
        fail("CR0 not restored: %x, was %x", read_cr0(), cr0);
}

/* RDMSR/WRMSR of an unimplemented MSR raise #GP(0) (SDM Vol.2B RDMSR, WRMSR). */
void check_msr_unknown_gp(void)
{
    struct msr_op o = { 0x4d41545a, 0 };
    int v = try_call(do_rdmsr, &o);
    if (v != VEC_GP)
        fail("RDMSR %x: %s (value %llx), want #GP", o.msr, vec_name(v), o.val);
    o.val = 0x1234;
    v = try_call(do_wrmsr, &o);
    if (v != VEC_GP)
        fail("WRMSR %x: %s, want #GP", o.msr, vec_name(v));
}

/* IA32_FS_BASE/IA32_GS_BASE exist when CPUID.80000001:EDX.LM[29] = 1, also outside 64-bit
 * mode (SDM Vol.4 Table 2-2); under VMX they live in the VMCS guest-state area. */
void check_msr_fs_gs_base(void)
{
    if (cpuid(0x80000000, 0).eax < 0x80000001 || !(cpuid(0x80000001, 0).edx & BIT(29))) {
        note("skip: no long mode");
        return;
    }
    static const struct { uint32_t msr; uint64_t val; } t[] = {
        { MSR_FS_BASE, 0x00007fff12345000ull }, { MSR_GS_BASE, 0xffff8000a5a5a000ull },
    };
    for (int i = 0; i < 2; i++) {
        struct msr_op orig = { t[i].msr, 0 }, w = { t[i].msr, t[i].val }, r = { t[i].msr, 0 };
        int v1 = try_call(do_rdmsr, &orig), v2 = try_call(do_wrmsr, &w), v3 = try_call(do_rdmsr, &r);
        if (v1 >= 0 || v2 >= 0 || v3 >= 0)
            fail("MSR %x: rdmsr %s, wrmsr %s, rdmsr %s", t[i].msr, vec_name(v1), vec_name(v2), vec_name(v3));
        else if (r.val != t[i].val)
            fail("MSR %x: wrote %llx, read %llx", t[i].msr, t[i].val, r.val);
        if (v1 < 0)
            try_call(do_wrmsr, &orig);
    }
    /* reload FS/GS so their hidden bases come from our GDT again */
    __asm__ volatile("mov %%ds, %%ax; mov %%ax, %%fs; mov %%ax, %%gs" : : : "eax");
}

/* XSETBV: #UD if CR4.OSXSAVE = 0; #GP(0) when clearing XCR0 bit 0 (x87) (SDM Vol.2C XSETBV).
 * XSETBV always exits under VMX, so the hypervisor must reproduce both. */
void check_xsetbv_invalid(void)
{
    uint64_t zero = 0;
    uint32_t cr4 = read_cr4();
    bool has_xsave = cpuid(1, 0).ecx & BIT(26);
    write_cr4(cr4 & ~CR4_OSXSAVE);
    int v_off = try_call(do_xsetbv, &zero);
    int v_on = -2;
    if (has_xsave) {
        write_cr4(cr4 | CR4_OSXSAVE);
        v_on = try_call(do_xsetbv, &zero);
    }
    write_cr4(cr4);
    if (v_off != VEC_UD)
        fail("XSETBV with CR4.OSXSAVE=0: %s, want #UD", vec_name(v_off));
    if (has_xsave && v_on != VEC_GP)
        fail("XSETBV XCR0=0 with CR4.OSXSAVE=1: %s, want #GP", vec_name(v_on));
    if (!has_xsave)
        note("no XSAVE: only the #UD case");
}

/* The hypervisor hides itself from the INT 15h E820 map (ACPI 15.1: type 1 = RAM, 2 = reserved),
 * which GRUB passes on as the multiboot memory map. */
void check_e820_hidden(void)
{
    if (!xmhf()) {
        note("skip: bare");
        return;
    }
    if (!g_mmap_n) {
        fail("no multiboot memory map");
        return;
    }
    uint64_t lo = g_hv_base, hi = g_hv_end;
    bool covered = false;
    for (int i = 0; i < g_mmap_n; i++) {
        uint64_t b = g_mmap[i].base, e = b + g_mmap[i].len;
        if (g_mmap[i].type == 1 && b < hi && lo < e)
            fail("RAM entry [%llx,%llx) overlaps [%llx,%llx)", b, e, lo, hi);
        if (g_mmap[i].type == 2 && b <= lo && hi <= e)
            covered = true;
    }
    if (!covered)
        fail("no reserved (type 2) entry contains [%llx,%llx)", lo, hi);
}

/* The hypervisor's memory is not mapped for the guest: it injects #GP(0) on access (project
 * rule; an unmapped EPT range would otherwise be an EPT violation, SDM Vol.3C 28.2.3.2). */
void check_hv_memory_blocked(void)
{
    if (!xmhf()) {
        note("skip: bare");
        return;
    }
    volatile uint32_t addr = g_hv_base;
    int v = try_call(do_read32, (void *)&addr);
    if (v != VEC_GP)
        fail("read at %x: %s, want #GP (value %x)", g_hv_base, vec_name(v), v < 0 ? addr : 0);
}

/* The whole map must be the hypervisor's revised map (XMHF64 bug 019: a lost or altered last
 * entry). GRUB takes the multiboot map from INT 15h E820 (ACPI 15.1), which xmhf answers from
 * its revised map. Each entry is printed in the hypervisor's format for tools/bochs/e820cmp.py,
 * which compares it with the hypervisor's `xmhf: e820[i]` lines (loglvl=debug); here only the
 * map's shape: ascending, non-overlapping, non-empty entries. */
void check_e820_full(void)
{
    if (!g_mmap_n) {
        fail("no multiboot memory map");
        return;
    }
    uint64_t prev_end = 0;
    for (int i = 0; i < g_mmap_n; i++) {
        uint64_t b = g_mmap[i].base, e = b + g_mmap[i].len;
        kprintf("E820 %d 0x%016llx-0x%016llx type %u\n", i, b, e, g_mmap[i].type);
        if (e <= b || b < prev_end)
            fail("entry %d [%llx,%llx) empty or below the previous end %llx", i, b, e, prev_end);
        prev_end = e;
    }
    note("%d entries, last ends at %llx", g_mmap_n, prev_end);
}
