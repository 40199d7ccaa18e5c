/* L2 guests: exits and their information (SDM Vol.3C 25.1-25.2, 27.2), bitmaps (24.6.3-24.6.9),
 * EPT (28.3), VPID (28.1), preemption timer (25.5.1), MSR areas (24.7.2, 24.8.2, 26.4, 27.4),
 * VM-entry failures (26.1-26.3, 26.8). Each test starts and ends outside VMX operation; L2
 * functions run in the guest and talk to L1 through l2_out. */
#include "l1.h"

#define ALL_EXCEPTIONS 0xFFFFFFFFu           /* every L2 exception exits: L1's IDT is not L2's */
#define MSR_SYSENTER_CS 0x174
#define MSR_SYSENTER_ESP 0x175
#define MSR_SYSENTER_EIP 0x176
#define MSR_KERNEL_GS_BASE 0xC0000102u
#define PORT_EXIT 0x80                       /* bitmap A bit set */
#define PORT_NO_EXIT 0x81
#define PORT_EXIT_HIGH 0x8080                /* bitmap B bit set */
#define IO_QUAL_IN BIT(3)
#define IO_QUAL_IMM BIT(6)
#define EPT_QUAL_READ BIT(0)
#define EPT_QUAL_WRITE BIT(1)
#define EPT_QUAL_READABLE BIT(3)
#define EPT_QUAL_EXECUTABLE BIT(5)
#define EPT_QUAL_GLA_VALID BIT(7)
#define EPT_QUAL_TRANSLATED BIT(8)
#define GPA_HOLE 0x30000000u                 /* not present in EPT (beyond RAM) */
#define GPA_ALIAS_2M 0x20000000u             /* a 2 MiB EPT page onto our own memory */
#define GPA_ALIAS_1G 0x40000000u             /* a 1 GiB EPT page onto [0, 1 GiB) */
#define GPA_2M_MASK 0x1FFFFFu

static volatile uint32_t l2_out[4];
static uint8_t bitmap_page[2][4096] __attribute__((aligned(4096)));
static uint32_t probe[3][1024] __attribute__((aligned(4096)));   /* three 4 KiB pages */
static volatile uint32_t marker = 0x6d61726b;

static const struct l2_config plain = { .exception_bitmap = ALL_EXCEPTIONS };

static bool begin(const struct l2_config *c, void (*fn)(void *), void *arg)
{
    if (!vmx_on())
        return false;
    l2_vmcs_init(0, c, fn, arg);
    return !g_result.failed;
}

/* --- CPUID: exit 10 with the guest's EAX/ECX, L1's answer lands in L2's registers ------------ */
static void l2_cpuid(void *a)
{
    (void)a;
    struct cpuid_regs r = cpuid(0x4c314c31, 7);
    l2_out[0] = r.eax, l2_out[1] = r.ebx, l2_out[2] = r.ecx, l2_out[3] = r.edx;
}

static void l2_cpuid_exit(void)
{
    struct l2_exit e;
    if (!begin(&plain, l2_cpuid, NULL))
        goto out;
    if (l2_run(&e, NULL) && expect_exit("CPUID", &e, EXIT_CPUID)) {
        if (g_l2.eax != 0x4c314c31 || g_l2.ecx != 7 || e.insn_len != 2)
            fail("CPUID exit: EAX %x ECX %x length %u, want 4c314c31 7 2", g_l2.eax, g_l2.ecx, e.insn_len);
        g_l2.eax = 0x11, g_l2.ebx = 0x22, g_l2.ecx = 0x33, g_l2.edx = 0x44;
        l2_skip(&e);
        if (l2_run_to_end() && (l2_out[0] != 0x11 || l2_out[1] != 0x22 || l2_out[2] != 0x33 || l2_out[3] != 0x44))
            fail("L2 got %x %x %x %x from CPUID, want 11 22 33 44", l2_out[0], l2_out[1], l2_out[2], l2_out[3]);
    }
out:
    vmx_off();
}

/* --- VMCALL (18) and HLT (12, with HLT exiting) --------------------------------------------- */
static void l2_vmcall_hlt(void *a)
{
    (void)a;
    __asm__ volatile("vmcall" : : "a"(0x12345678) : "memory");
    __asm__ volatile("hlt");
}

static void l2_vmcall_hlt_exit(void)
{
    struct l2_config c = plain;
    c.proc = PROC_HLT_EXITING;
    struct l2_exit e;
    if (!begin(&c, l2_vmcall_hlt, NULL))
        goto out;
    if (l2_run(&e, NULL) && expect_exit("VMCALL", &e, EXIT_VMCALL)) {
        if (g_l2.eax != 0x12345678 || e.insn_len != 3)
            fail("VMCALL exit: EAX %x length %u", g_l2.eax, e.insn_len);
        l2_skip(&e);
        if (l2_run(&e, NULL) && expect_exit("HLT", &e, EXIT_HLT)) {
            if (e.insn_len != 1)
                fail("HLT exit: length %u", e.insn_len);
            l2_skip(&e);
            l2_run_to_end();
        }
    }
out:
    vmx_off();
}

/* --- I/O bitmaps (24.6.4): a set bit exits (30, qualification 27.2.1 Table 27-5), a clear one
 * does not; L1 emulates the IN. --------------------------------------------------------------- */
static void l2_io(void *a)
{
    (void)a;
    uint8_t v;
    __asm__ volatile("outb %%al, $0x80" : : "a"(0x11));
    __asm__ volatile("inb $0x81, %%al" : "=a"(v));
    __asm__ volatile("inb %%dx, %%al" : "=a"(v) : "d"(PORT_EXIT_HIGH));
    l2_out[0] = v;
}

static void l2_io_bitmap(void)
{
    struct l2_config c = plain;
    c.proc = PROC_IO_BITMAPS;
    struct l2_exit e;
    memset(bitmap_page, 0, sizeof bitmap_page);
    bitmap_page[0][PORT_EXIT / 8] |= 1u << (PORT_EXIT % 8);
    bitmap_page[1][(PORT_EXIT_HIGH - 0x8000) / 8] |= 1u << (PORT_EXIT_HIGH % 8);
    if (!begin(&c, l2_io, NULL))
        goto out;
    vmcs_set64(VMCS_IO_BITMAP_A, (uint32_t)bitmap_page[0]);
    vmcs_set64(VMCS_IO_BITMAP_B, (uint32_t)bitmap_page[1]);
    if (l2_run(&e, NULL) && expect_exit("OUT 80", &e, EXIT_IO)) {
        if (e.qual != (PORT_EXIT << 16 | IO_QUAL_IMM) || e.insn_len != 2)
            fail("OUT 80: qualification %x length %u, want %x 2", e.qual, e.insn_len, PORT_EXIT << 16 | IO_QUAL_IMM);
        l2_skip(&e);
        if (l2_run(&e, NULL) && expect_exit("IN 8080 (IN 81 must not exit)", &e, EXIT_IO)) {
            if (e.qual != ((uint32_t)PORT_EXIT_HIGH << 16 | IO_QUAL_IN) || e.insn_len != 1)
                fail("IN 8080: qualification %x length %u", e.qual, e.insn_len);
            g_l2.eax = 0x5a;
            l2_skip(&e);
            if (l2_run_to_end() && l2_out[0] != 0x5a)
                fail("L2 read %x from the emulated port, want 5a", l2_out[0]);
        }
    }
out:
    vmx_off();
}

/* --- MSR bitmaps (24.6.9): read bit of SYSENTER_CS and write bit of SYSENTER_EIP set, high
 * read bit of KERNEL_GS_BASE set; SYSENTER_ESP is read without an exit (the guest-state value) */
static void l2_msrs(void *a)
{
    (void)a;
    l2_out[0] = (uint32_t)rdmsr(MSR_SYSENTER_CS);
    l2_out[1] = (uint32_t)rdmsr(MSR_SYSENTER_ESP);
    wrmsr(MSR_SYSENTER_EIP, 0xabcd1234);
    l2_out[2] = (uint32_t)(rdmsr(MSR_KERNEL_GS_BASE) >> 32);
}

static bool expect_msr_exit(const char *what, uint32_t reason, uint32_t msr)
{
    struct l2_exit e;
    if (!l2_run(&e, NULL) || !expect_exit(what, &e, reason))
        return false;
    if (g_l2.ecx != msr || e.insn_len != 2)
        fail("%s: ECX %x length %u", what, g_l2.ecx, e.insn_len);
    if (reason == EXIT_WRMSR && (g_l2.eax != 0xabcd1234 || g_l2.edx != 0))
        fail("%s: EDX:EAX %x:%x", what, g_l2.edx, g_l2.eax);
    g_l2.eax = 0x1111, g_l2.edx = 0x2222;
    l2_skip(&e);
    return true;
}

static void l2_msr_bitmap(void)
{
    struct l2_config c = plain;
    c.proc = PROC_MSR_BITMAPS;
    memset(bitmap_page[0], 0, sizeof bitmap_page[0]);
    uint8_t *read_low = bitmap_page[0], *read_high = bitmap_page[0] + 0x400, *write_low = bitmap_page[0] + 0x800;
    read_low[MSR_SYSENTER_CS / 8] |= 1u << (MSR_SYSENTER_CS % 8);
    write_low[MSR_SYSENTER_EIP / 8] |= 1u << (MSR_SYSENTER_EIP % 8);
    read_high[(MSR_KERNEL_GS_BASE & 0x1FFF) / 8] |= 1u << (MSR_KERNEL_GS_BASE % 8);
    if (!begin(&c, l2_msrs, NULL))
        goto out;
    vmcs_set64(VMCS_MSR_BITMAP, (uint32_t)bitmap_page[0]);
    vmcs_set(VMCS_GUEST_SYSENTER_ESP, 0x5e5e5e5e);
    if (expect_msr_exit("RDMSR 174", EXIT_RDMSR, MSR_SYSENTER_CS) &&
        expect_msr_exit("WRMSR 176 (RDMSR 175 must not exit)", EXIT_WRMSR, MSR_SYSENTER_EIP) &&
        expect_msr_exit("RDMSR c0000102", EXIT_RDMSR, MSR_KERNEL_GS_BASE) && l2_run_to_end()) {
        if (l2_out[0] != 0x1111 || l2_out[1] != 0x5e5e5e5e || l2_out[2] != 0x2222)
            fail("L2 read %x %x %x, want 1111 5e5e5e5e 2222", l2_out[0], l2_out[1], l2_out[2]);
    }
out:
    vmx_off();
}

/* --- exception bitmap: #UD (hardware exception), #BP (software exception, INT3 length 1),
 * #GP with its error code (27.2.2) ------------------------------------------------------------ */
static void l2_exceptions(void *a)
{
    (void)a;
    __asm__ volatile("ud2; int3" : : : "memory");
    __asm__ volatile("mov %0, %%fs" : : "r"(0x1234) : "memory");  /* beyond the GDT limit: #GP(1234h) */
}

static bool expect_exception(const char *what, uint32_t info, uint32_t error, uint32_t skip)
{
    struct l2_exit e;
    if (!l2_run(&e, NULL) || !expect_exit(what, &e, EXIT_EXCEPTION_NMI))
        return false;
    if (e.intr_info != info)
        fail("%s: interruption information %x, want %x", what, e.intr_info, info);
    if ((info & BIT(11)) && vmcs_get(VMCS_EXIT_INTR_ERROR) != error)
        fail("%s: error code %x, want %x", what, vmcs_get(VMCS_EXIT_INTR_ERROR), error);
    if ((info & INTR_TYPE_SW_EXCEPTION) == INTR_TYPE_SW_EXCEPTION && e.insn_len != skip)
        fail("%s: instruction length %u, want %u", what, e.insn_len, skip);
    vmcs_set(VMCS_GUEST_RIP, vmcs_get(VMCS_GUEST_RIP) + skip);
    return true;
}

static void l2_exception_bitmap(void)
{
    if (!begin(&plain, l2_exceptions, NULL))
        goto out;
    if (expect_exception("UD2", INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | VEC_UD, 0, 2) &&
        expect_exception("INT3", INTR_INFO_VALID | INTR_TYPE_SW_EXCEPTION | 3, 0, 1) &&
        expect_exception("MOV FS, 1234h", INTR_INFO_VALID | BIT(11) | INTR_TYPE_HW_EXCEPTION | VEC_GP, 0x1234, 3))
        l2_run_to_end();
out:
    vmx_off();
}

/* --- EPT -------------------------------------------------------------------------------------- */
static struct l2_config with_ept(void)
{
    struct l2_config c = plain;
    c.proc2 = PROC2_EPT;
    c.eptp = ept_identity();
    return c;
}

static bool have_ept(void)
{
    uint64_t need = EPT_CAP_WALK4 | EPT_CAP_WB;
    if (cap_allows(g_caps.proc, PROC_SECONDARY) && cap_allows(g_caps.proc2, PROC2_EPT) &&
        (g_caps.ept_vpid & need) == need)
        return true;
    note("skip: no EPT");
    return false;
}

static void invept_context(void)
{
    struct inv_desc d = { vmcs_get(VMCS_EPT_POINTER), 0 };
    bool single = g_caps.ept_vpid & EPT_CAP_INVEPT_SINGLE;
    expect_vm("INVEPT", invept(single ? INVEPT_SINGLE : INVEPT_ALL, &d), VM_SUCCEED, 0);
}

static void l2_read(void *a) { l2_out[0] = *(volatile uint32_t *)a; }
static void l2_read3(void *a)
{
    const uint32_t *gva = a;
    for (int i = 0; i < 3; i++)
        l2_out[i] = gva[i] ? *(volatile uint32_t *)gva[i] : 0;
}
static void l2_read_twice(void *a)
{
    l2_out[0] = *(volatile uint32_t *)a;
    __asm__ volatile("vmcall" : : "a"(0) : "memory");
    l2_out[1] = *(volatile uint32_t *)a;
}
static void l2_read_then_write(void *a)
{
    l2_out[0] = *(volatile uint32_t *)a;
    __asm__ volatile("vmcall" : : "a"(0) : "memory");
    *(volatile uint32_t *)a = 0x77777777;
}

static uint32_t pa(const volatile void *p) { return (uint32_t)p; }
static uint64_t leaf(uint32_t hpa) { return hpa | EPT_MT_WB | EPT_RWX; }

/* 4 KiB, 2 MiB and 1 GiB EPT pages (28.3.2, Tables 28-2..28-6), each an alias of other memory */
static void l2_ept_pages(void)
{
    if (!have_ept() || !vmx_on())
        return;
    struct l2_config c = with_ept();
    for (int i = 0; i < 3; i++)
        probe[i][0] = 0x50000000u + i;
    ept_split_4k(pa(probe[0]));
    g_ept_pt[(pa(probe[0]) >> 12) & 511] = leaf(pa(probe[1]));
    g_ept_pd[GPA_ALIAS_2M >> 30][(GPA_ALIAS_2M >> 21) & 511] = leaf(pa(&marker) & ~GPA_2M_MASK) | EPT_LEAF;
    bool gib = g_caps.ept_vpid & EPT_CAP_1G;
    if (gib)
        g_ept_pdpt[GPA_ALIAS_1G >> 30] = leaf(0) | EPT_LEAF;
    static uint32_t gva[3];
    gva[0] = pa(probe[0]), gva[1] = GPA_ALIAS_2M + (pa(&marker) & GPA_2M_MASK);
    gva[2] = gib ? GPA_ALIAS_1G + pa(&marker) : 0;
    l2_vmcs_init(0, &c, l2_read3, gva);
    if (l2_run_to_end()) {
        if (l2_out[0] != probe[1][0])
            fail("4 KiB alias: L2 read %x, want %x", l2_out[0], probe[1][0]);
        if (l2_out[1] != marker)
            fail("2 MiB alias: L2 read %x, want %x", l2_out[1], marker);
        if (gib && l2_out[2] != marker)
            fail("1 GiB alias: L2 read %x, want %x", l2_out[2], marker);
    }
    if (!gib)
        note("no 1 GiB EPT pages");
    vmx_off();
}

/* EPT violations (28.3.3.2, qualification Table 27-7): a read of a GPA that is not present, then
 * a write to it mapped read/execute-only; L1 maps it and L2 goes on each time. */
static void expect_ept_violation(const char *what, uint32_t gva, uint32_t qual)
{
    struct l2_exit e;
    if (!l2_run(&e, NULL) || !expect_exit(what, &e, EXIT_EPT_VIOLATION))
        return;
    if (e.qual != qual || e.gpa != gva || e.gla != gva)
        fail("%s: qualification %x GPA %llx linear %x, want %x %x %x", what, e.qual, e.gpa, e.gla, qual, gva, gva);
}

static void l2_ept_violation(void)
{
    if (!have_ept() || !vmx_on())
        return;
    struct l2_config c = with_ept();
    uint64_t *pde = &g_ept_pd[GPA_HOLE >> 30][(GPA_HOLE >> 21) & 511];
    *pde = 0;
    uint32_t gva = GPA_HOLE + (pa(&marker) & GPA_2M_MASK), saved = marker;
    l2_vmcs_init(0, &c, l2_read_then_write, (void *)gva);
    struct l2_exit e;
    expect_ept_violation("read of a hole", gva, EPT_QUAL_READ | EPT_QUAL_GLA_VALID | EPT_QUAL_TRANSLATED);
    *pde = (pa(&marker) & ~GPA_2M_MASK) | EPT_MT_WB | EPT_LEAF | EPT_READ | EPT_EXEC;
    invept_context();
    if (!g_result.failed && l2_run(&e, NULL) && expect_exit("VMCALL after the read", &e, EXIT_VMCALL)) {
        if (l2_out[0] != saved)
            fail("L2 read %x through the new mapping, want %x", l2_out[0], saved);
        l2_skip(&e);
        expect_ept_violation("write to a read/execute page", gva,
                             EPT_QUAL_WRITE | EPT_QUAL_READABLE | EPT_QUAL_EXECUTABLE | EPT_QUAL_GLA_VALID |
                                 EPT_QUAL_TRANSLATED);
        *pde |= EPT_WRITE;
        invept_context();
        if (!g_result.failed && l2_run_to_end() && marker != 0x77777777)
            fail("L2's write did not land: %x", marker);
    }
    marker = saved;
    vmx_off();
}

/* INVEPT (30.3): after L1 changes a mapping L2 has used, INVEPT makes L2 see the new one */
static void l2_invept(void)
{
    if (!have_ept() || !vmx_on())
        return;
    if (!(g_caps.ept_vpid & EPT_CAP_INVEPT)) {
        note("skip: no INVEPT");
        vmx_off();
        return;
    }
    struct l2_config c = with_ept();
    for (int i = 0; i < 3; i++)
        probe[i][0] = 0x50000000u + i;
    ept_split_4k(pa(probe[0]));
    uint64_t *pte = &g_ept_pt[(pa(probe[0]) >> 12) & 511];
    *pte = leaf(pa(probe[1]));
    l2_vmcs_init(0, &c, l2_read_twice, probe[0]);
    struct l2_exit e;
    if (l2_run(&e, NULL) && expect_exit("VMCALL after the first read", &e, EXIT_VMCALL)) {
        *pte = leaf(pa(probe[2]));
        invept_context();
        l2_skip(&e);
        if (l2_run_to_end() && (l2_out[0] != probe[1][0] || l2_out[1] != probe[2][0]))
            fail("L2 read %x then %x, want %x then %x", l2_out[0], l2_out[1], probe[1][0], probe[2][0]);
    }
    vmx_off();
}

/* VPID (28.1): L2 runs with VPID 1; INVVPID of it; VPID 0 with "enable VPID" is a bad control */
static void l2_vpid(void)
{
    if (!cap_allows(g_caps.proc, PROC_SECONDARY) || !cap_allows(g_caps.proc2, PROC2_VPID)) {
        note("skip: no VPID");
        return;
    }
    struct l2_config c = plain;
    c.proc2 = PROC2_VPID;
    if (!begin(&c, l2_read, (void *)&marker))
        goto out;
    vmcs_set(VMCS_VPID, 1);
    if (l2_run_to_end() && l2_out[0] != marker)
        fail("L2 with VPID 1 read %x", l2_out[0]);
    struct inv_desc d = { 1, 0 };
    if (g_caps.ept_vpid & EPT_CAP_INVVPID_SINGLE)
        expect_vm("INVVPID single-context", invvpid(INVVPID_SINGLE, &d), VM_SUCCEED, 0);
    l2_vmcs_init(0, &c, l2_read, (void *)&marker);
    vmcs_set(VMCS_VPID, 0);
    struct l2_exit e;
    uint32_t fl;
    if (!l2_run(&e, &fl))
        expect_vm("VMLAUNCH with VPID 0", fl, VM_FAIL_VALID, VMERR_BAD_CONTROLS);
    else
        fail("VMLAUNCH with VPID 0 entered (exit reason %x)", e.reason);
out:
    vmx_off();
}

/* VMX-preemption timer (25.5.1): a spinning L2 exits with reason 52 */
static void l2_spin(void *a)
{
    (void)a;
    for (;;)
        __asm__ volatile("" : : : "memory");
}

static void l2_preemption_timer(void)
{
    if (!cap_allows(g_caps.pin, PIN_PREEMPTION_TIMER)) {
        note("skip: no preemption timer");
        return;
    }
    struct l2_config c = plain;
    c.pin = PIN_PREEMPTION_TIMER;
    struct l2_exit e;
    if (begin(&c, l2_spin, NULL)) {
        vmcs_set(VMCS_PREEMPTION_TIMER, 1000);
        if (l2_run(&e, NULL))
            expect_exit("spinning L2 with the timer at 1000", &e, EXIT_PREEMPTION_TIMER);
    }
    vmx_off();
}

/* MSR areas: the VM-entry MSR-load list sets L2's KERNEL_GS_BASE (26.4), the VM-exit MSR-store
 * list saves what L2 wrote (27.4) and the VM-exit MSR-load list gives L1 its value (27.6);
 * an entry with reserved bits set fails the entry: reason 34 | bit 31, qualification = its
 * 1-based index (26.8). */
struct msr_entry { uint32_t index, reserved; uint64_t data; };
static struct msr_entry msr_area[3][2] __attribute__((aligned(16)));
#define KGS_ENTRY 0x0000111122223333ull
#define KGS_L2 0x0000777799990000ull
#define KGS_EXIT 0x0000555566667777ull

static void l2_kgs(void *a)
{
    (void)a;
    uint64_t v = rdmsr(MSR_KERNEL_GS_BASE);
    l2_out[0] = (uint32_t)v, l2_out[1] = (uint32_t)(v >> 32);
    wrmsr(MSR_KERNEL_GS_BASE, KGS_L2);
}

static bool msr_areas_begin(int n_entry)
{
    struct l2_config c = plain;
    c.proc = PROC_MSR_BITMAPS;
    memset(bitmap_page[0], 0, sizeof bitmap_page[0]);
    if (!begin(&c, l2_kgs, NULL))
        return false;
    vmcs_set64(VMCS_MSR_BITMAP, (uint32_t)bitmap_page[0]);
    vmcs_set64(VMCS_ENTRY_MSR_LOAD_ADDR, (uint32_t)msr_area[0]);
    vmcs_set(VMCS_ENTRY_MSR_LOAD_COUNT, (uint32_t)n_entry);
    vmcs_set64(VMCS_EXIT_MSR_STORE_ADDR, (uint32_t)msr_area[1]);
    vmcs_set(VMCS_EXIT_MSR_STORE_COUNT, 1);
    vmcs_set64(VMCS_EXIT_MSR_LOAD_ADDR, (uint32_t)msr_area[2]);
    vmcs_set(VMCS_EXIT_MSR_LOAD_COUNT, 1);
    return true;
}

static void l2_msr_areas(void)
{
    uint64_t saved = rdmsr(MSR_KERNEL_GS_BASE);
    memset(msr_area, 0, sizeof msr_area);
    msr_area[0][0] = (struct msr_entry){ MSR_KERNEL_GS_BASE, 0, KGS_ENTRY };
    msr_area[0][1] = (struct msr_entry){ MSR_KERNEL_GS_BASE, 1, KGS_ENTRY };   /* reserved bit */
    msr_area[1][0] = (struct msr_entry){ MSR_KERNEL_GS_BASE, 0, 0 };
    msr_area[2][0] = (struct msr_entry){ MSR_KERNEL_GS_BASE, 0, KGS_EXIT };
    if (msr_areas_begin(1) && l2_run_to_end()) {
        uint64_t l2_saw = l2_out[0] | (uint64_t)l2_out[1] << 32;
        if (l2_saw != KGS_ENTRY)
            fail("L2 read KERNEL_GS_BASE %llx, want %llx (entry load)", l2_saw, KGS_ENTRY);
        if (msr_area[1][0].data != KGS_L2)
            fail("exit store list has %llx, want %llx", msr_area[1][0].data, KGS_L2);
        if (rdmsr(MSR_KERNEL_GS_BASE) != KGS_EXIT)
            fail("L1's KERNEL_GS_BASE %llx after the exit, want %llx", rdmsr(MSR_KERNEL_GS_BASE), KGS_EXIT);
    }
    vmx_off();
    struct l2_exit e;
    if (msr_areas_begin(2) && l2_run(&e, NULL) &&
        expect_exit("entry MSR-load entry 2 with reserved bits", &e, EXIT_ENTRY_FAILURE | EXIT_MSR_LOAD_FAIL) &&
        e.qual != 2)
        fail("MSR-load failure qualification %x, want 2", e.qual);
    vmx_off();
    wrmsr(MSR_KERNEL_GS_BASE, saved);
}

/* --- VM-entry failures: control fields (VMfailValid(7), 26.2.1), host state (8, 26.2.2-26.2.4),
 * guest state (exit reason 33 | bit 31, qualification 0, 26.3.1); the VMCS stays unlaunched. */
struct bad_field { const char *what; uint32_t field, value, want; };

static void l2_entry_failures(void)
{
    uint32_t cr0 = read_cr0(), cr4 = read_cr4();
    const struct bad_field t[] = {
        { "CR3-target count 257", VMCS_CR3_TARGET_COUNT, 257, VMERR_BAD_CONTROLS },
        { "pin-based control not allowed", VMCS_PIN_CONTROLS, cap_adjust(g_caps.pin, 0) | ~(uint32_t)(g_caps.pin >> 32),
          VMERR_BAD_CONTROLS },
        { "host CR4 without VMXE", VMCS_HOST_CR4, cr4 & ~CR4_VMXE, VMERR_BAD_HOST_STATE },
        { "host TR selector 0", VMCS_HOST_TR_SEL, 0, VMERR_BAD_HOST_STATE },
        { "host CR0 without PE", VMCS_HOST_CR0, cr0 & ~CR0_PE, VMERR_BAD_HOST_STATE },
        { "guest RFLAGS bit 1 clear", VMCS_GUEST_RFLAGS, 0, 0 },
        { "guest CR0 without PE", VMCS_GUEST_CR0, cr0 & ~CR0_PE, 0 },
    };
    for (unsigned i = 0; i < sizeof t / sizeof t[0]; i++) {
        if (!begin(&plain, l2_read, (void *)&marker)) {
            vmx_off();
            return;
        }
        vmcs_set(t[i].field, t[i].value);
        struct l2_exit e;
        uint32_t fl;
        bool exited = l2_run(&e, &fl);
        if (t[i].want)
            expect_vm(t[i].what, fl, VM_FAIL_VALID, t[i].want);
        else if (!exited)
            fail("%s: %s, want a VM-entry failure exit", t[i].what, vm_status_name(fl));
        else if (expect_exit(t[i].what, &e, EXIT_ENTRY_FAILURE | EXIT_BAD_GUEST_STATE) && e.qual != 0)
            fail("%s: qualification %x, want 0", t[i].what, e.qual);
        if (exited && g_l2.launched)
            fail("%s: the VMCS counts as launched", t[i].what);
        expect_vm("VMRESUME after the failed launch", vmresume_fail(), VM_FAIL_VALID, VMERR_VMRESUME_NOT_LAUNCHED);
        vmx_off();
    }
}

/* Launch state (24.11.3): VMLAUNCH of a launched VMCS is VMfailValid(4); after VMCLEAR it is
 * clear again and VMRESUME is VMfailValid(5) while VMLAUNCH works. */
static void l2_launch_state(void)
{
    if (!begin(&plain, l2_read, (void *)&marker))
        goto out;
    if (!l2_run_to_end())
        goto out;
    expect_vm("VMLAUNCH of a launched VMCS", vmlaunch_fail(), VM_FAIL_VALID, VMERR_VMLAUNCH_NOT_CLEAR);
    if (expect_vm("VMCLEAR", vmclear(&g_page_pa[PAGE_VMCS(0)]), VM_SUCCEED, 0) &&
        expect_vm("VMPTRLD", vmptrld(&g_page_pa[PAGE_VMCS(0)]), VM_SUCCEED, 0)) {
        expect_vm("VMRESUME after VMCLEAR", vmresume_fail(), VM_FAIL_VALID, VMERR_VMRESUME_NOT_LAUNCHED);
        g_l2.launched = 0;                   /* guest RIP is still at the VMCALL (27.3.3) */
        g_l2.eax = L2_DONE_MAGIC;
        l2_run_to_end();
    }
out:
    vmx_off();
}

const struct l1_test l2_tests[] = {
    { "l2_cpuid_exit", l2_cpuid_exit },
    { "l2_vmcall_hlt_exit", l2_vmcall_hlt_exit },
    { "l2_io_bitmap", l2_io_bitmap },
    { "l2_msr_bitmap", l2_msr_bitmap },
    { "l2_exception_bitmap", l2_exception_bitmap },
    { "l2_ept_pages", l2_ept_pages },
    { "l2_ept_violation", l2_ept_violation },
    { "l2_invept", l2_invept },
    { "l2_vpid", l2_vpid },
    { "l2_preemption_timer", l2_preemption_timer },
    { "l2_msr_areas", l2_msr_areas },
    { "l2_entry_failures", l2_entry_failures },
    { "l2_launch_state", l2_launch_state },
};
const int n_l2_tests = sizeof l2_tests / sizeof l2_tests[0];

/* --- bench=N: RDTSC around N CPUIDs in L2, each a VM exit that L1 answers with the real CPUID */
static void l2_bench(void *a)
{
    uint32_t n = *(const uint32_t *)a;
    uint64_t t0 = rdtsc();
    for (uint32_t i = 0; i < n; i++)
        cpuid(0, 0);
    uint64_t dt = rdtsc() - t0;
    l2_out[0] = (uint32_t)dt, l2_out[1] = (uint32_t)(dt >> 32);
}

void l2_cpuid_bench(uint32_t n)
{
    result_reset();
    if (!begin(&plain, l2_bench, &n))
        goto out;
    struct l2_exit e;
    while (l2_run(&e, NULL) && e.reason == EXIT_CPUID) {
        struct cpuid_regs r = cpuid(g_l2.eax, g_l2.ecx);
        g_l2.eax = r.eax, g_l2.ebx = r.ebx, g_l2.ecx = r.ecx, g_l2.edx = r.edx;
        l2_skip(&e);
    }
    if (!g_result.failed && expect_exit("end of the benchmark", &e, EXIT_VMCALL)) {
        uint64_t dt = l2_out[0] | (uint64_t)l2_out[1] << 32;
        kprintf("L1-BENCH: l2_cpuid n=%u ticks=%u per_exit=%u\n", n, (uint32_t)dt, (uint32_t)dt / n);
    }
out:
    vmx_off();
    if (g_result.failed)
        kprintf("L1-BENCH: l2_cpuid FAIL (%s)\n", g_result.fail_msg);
}
