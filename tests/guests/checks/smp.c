/* AP start-up through the local APIC: INIT-SIPI-SIPI via the xAPIC ICR (MMIO) and the x2APIC
 * ICR (MSR 0x830). SDM Vol.3A 8.4.4.1 (BSP sequence), 10.6.1 (ICR), 10.12 (x2APIC), Table 9-1. */
#include "kernel.h"
#include "layout.h"

#define APIC_BASE_EXTD BIT(10)             /* x2APIC mode */
#define MSR_X2APIC_ID 0x802
#define ICR_SIPI (ICR_STARTUP | SIPI_VECTOR)
#define ICR_ALL_BUT_SELF (3u << 18)         /* destination shorthand 11 */
#define MAX_CPUS 64

static uint32_t ap_ids[MAX_CPUS];
static int n_ap = -1;                       /* -1: not yet read from the MADT */
static uint32_t signature;                  /* CPUID.1:EAX, which INIT leaves in EDX */
/* Bochs 2.7 deviation: its INIT/reset clears EDX (cpu/init.cc leaves the EDX = signature line
 * commented out), so bare Bochs APs start with EDX = 0. Tolerated only with expect=bare: our
 * hypervisor sets the guest AP's registers itself and must follow Table 9-1. */
static int bochs_edx0;

/* Collect the APs (every enabled MADT CPU but us) and set the APIC up; false + fail() if broken. */
static bool smp_setup(void)
{
    if (n_ap >= 0)
        return true;
    if (!apic_init())
        return false;
    uint32_t bsp = apic_id();
    uint32_t ids[MAX_CPUS];
    int n = acpi_cpus(ids, MAX_CPUS);
    if (n < 1) {
        fail("no CPUs in the MADT (%d)", n);
        return false;
    }
    n_ap = 0;
    bool bsp_found = false;
    for (int i = 0; i < n; i++) {
        if (ids[i] == bsp)
            bsp_found = true;
        else
            ap_ids[n_ap++] = ids[i];
    }
    if (!bsp_found)
        fail("BSP APIC ID %u not in the MADT", bsp);
    if (n_ap && !acpi_have_pm_timer()) {
        fail("no ACPI PM timer for the INIT/SIPI delays");
        return false;
    }
    signature = cpuid(1, 0).eax;
    memcpy((void *)TRAMP_BASE, ap_tramp_start, (size_t)(ap_tramp_end - ap_tramp_start));
    poke32(AP_COUNT, 0);
    return bsp_found;
}

/* INIT, 10 ms, SIPI, 200 us, SIPI to every AP (SDM Vol.3A 8.4.4.1), then wait for the trampoline
 * counter to grow by n_ap and check each AP's recorded start state. `what` names the round. */
static void start_aps(bool x2, bool broadcast, const char *what)
{
    uint32_t before = peek32(AP_COUNT);
    poke16(AP_NEXT, 0);
    memset((void *)AP_SLOTS, 0, 16 * AP_MAX_SLOTS);
    static const uint32_t seq[3] = { ICR_INIT, ICR_SIPI, ICR_SIPI };
    static const uint32_t wait_us[3] = { 10000, 200, 0 };
    for (int s = 0; s < 3; s++) {
        if (broadcast && !send_ipi(x2, 0, seq[s] | ICR_ALL_BUT_SELF))
            return;
        for (int i = 0; i < n_ap && !broadcast; i++)
            if (!send_ipi(x2, ap_ids[i], seq[s]))
                return;
        udelay(wait_us[s]);
    }
    /* wait up to 100 ms for all, then 10 ms more so that an extra (wrong) start would show */
    uint32_t want = before + (uint32_t)n_ap;
    for (int ms = 0; ms < 100 && peek32(AP_COUNT) < want; ms++)
        udelay(1000);
    udelay(10000);
    uint32_t got = peek32(AP_COUNT);
    if (got != want)
        fail("%s: %u of %d APs started (counter %u -> %u)", what, got - before, n_ap, before, got);
    int slots = peek16(AP_NEXT);
    if (slots != n_ap)
        fail("%s: %d trampoline entries, want %d", what, slots, n_ap);
    uint16_t ret_ip = (uint16_t)(ap_tramp_ret - ap_tramp_start);
    for (int i = 0; i < slots && i < AP_MAX_SLOTS; i++) {
        uint32_t slot = AP_SLOTS + 16 * i;
        uint32_t edx = peek32(slot);
        uint16_t cs = peek16(slot + 4), ip = peek16(slot + 14);
        if (edx == 0 && g_expect == EXPECT_BARE)
            bochs_edx0++;
        else if (edx != signature)
            fail("%s: AP entry %d EDX=%x, want signature %x", what, i, edx, signature);
        /* under the hypervisor every AP must run in VMX non-root with its CPUID view (XMHF64
         * bug 086: a guest's INIT/SIPI must never let guest code run outside VMX non-root) */
        uint32_t ecx = peek32(slot + 8);
        bool hv_view = (ecx & BIT(31)) && !!(ecx & BIT(5)) == g_nested; /* VMX: nested VMX's */
        if (g_expect == EXPECT_XMHF && !hv_view)
            fail("%s: AP entry %d CPUID.1:ECX=%x: not running under the hypervisor", what, i, ecx);
        if (cs != SIPI_VECTOR << 8 || ip != ret_ip)
            fail("%s: AP entry %d started at CS:IP=%x:%x, want %x:0", what, i, cs, ip - ret_ip,
                 SIPI_VECTOR << 8);
    }
}

/* Two full INIT-SIPI-SIPI rounds: INIT puts a halted AP back into wait-for-SIPI, the first SIPI
 * starts it, the second is ignored by a running/halted CPU. So each round counts every AP once. */
void check_smp_init_sipi_twice_xapic(void)
{
    if (!smp_setup())
        return;
    if (!n_ap) {
        note("1 CPU: no APs");
        return;
    }
    start_aps(false, false, "xAPIC round 1");
    start_aps(false, false, "xAPIC round 2");
    if (peek32(AP_COUNT) != 2 * (uint32_t)n_ap)
        fail("counter %u after two rounds, want 2 x %d", peek32(AP_COUNT), n_ap);
    note("%d APs, counter %u%s", n_ap, peek32(AP_COUNT), bochs_edx0 ? "; EDX=0 at INIT: Bochs deviation" : "");
}

/* INIT-SIPI-SIPI once, each IPI sent with the all-excluding-self shorthand (ICR[19:18] = 11,
 * SDM Vol.3A 10.6.1, the BSP sequence of 8.4.4.1) instead of one per AP (XMHF64 bug 074): every
 * AP starts once; with 1 CPU nobody does. */
void check_smp_broadcast_sipi(void)
{
    if (!smp_setup())
        return;
    bochs_edx0 = 0;
    start_aps(false, true, "xAPIC broadcast");
    note("%d APs, counter %u%s", n_ap, peek32(AP_COUNT), bochs_edx0 ? "; EDX=0 at INIT: Bochs deviation" : "");
}

/* The APIC moved (IA32_APIC_BASE[35:12], SDM Vol.3A 10.4.5): INIT-SIPI-SIPI through the ICR at
 * the new address still starts every AP (a hypervisor that traps the APIC page must follow the
 * move); then the APIC goes back to its old place. */
#define MOVED_APIC 0xfef00000u
void check_smp_apic_moved(void)
{
    if (!smp_setup())
        return;
    uint64_t base = rdmsr(MSR_APIC_BASE);
    uint32_t old = apic_mmio;
    wrmsr(MSR_APIC_BASE, (base & 0xfffull) | MOVED_APIC);
    apic_mmio = MOVED_APIC;
    bochs_edx0 = 0;
    start_aps(false, false, "moved xAPIC");
    wrmsr(MSR_APIC_BASE, base);
    apic_mmio = old;
    note("%d APs, counter %u%s", n_ap, peek32(AP_COUNT), bochs_edx0 ? "; EDX=0 at INIT: Bochs deviation" : "");
}

/* x2APIC mode: set IA32_APIC_BASE.EXTD with EN kept (SDM Vol.3A 10.12.1, xAPIC -> x2APIC is a
 * legal transition); ICR is MSR 0x830. */
void check_smp_sipi_x2apic(void)
{
    if (!(cpuid(1, 0).ecx & BIT(21))) {
        note("skip: no x2APIC");
        return;
    }
    if (!smp_setup())
        return;
    uint64_t base = rdmsr(MSR_APIC_BASE);
    uint32_t xid = xapic_read(XAPIC_ID) >> 24;
    wrmsr(MSR_APIC_BASE, base | APIC_BASE_EN | APIC_BASE_EXTD);
    uint64_t now = rdmsr(MSR_APIC_BASE);
    if (!(now & APIC_BASE_EXTD)) {
        fail("IA32_APIC_BASE=%llx after setting EXTD", now);
        return;
    }
    uint32_t x2id = (uint32_t)rdmsr(MSR_X2APIC_ID);
    if (x2id != xid)
        fail("x2APIC ID %u != xAPIC ID %u", x2id, xid);
    if (!n_ap) {
        note("1 CPU: no APs");
        return;
    }
    bochs_edx0 = 0;
    start_aps(true, false, "x2APIC");
    note("%d APs, counter %u%s", n_ap, peek32(AP_COUNT), bochs_edx0 ? "; EDX=0 at INIT: Bochs deviation" : "");
}

/* --- NMIs and xAPIC writes (SDM Vol.3A 10.6.1 NMI delivery mode, 6.7.1 NMI handling) ----------
 * An AP started in 32-bit protected mode (apic.c start_ap_pm32) and sends NMIs to the BSP through
 * its xAPIC ICR until told to stop, while the BSP writes its own xAPIC page. The BSP's NMI handler
 * counts NMIs and those that interrupted code running with EFLAGS.TF: the BSP never sets TF, so
 * one means a hypervisor's single step leaked into the NMI (issue 7 point 9: no event may be
 * delivered inside a one-instruction step of an APIC write). */
#define XAPIC_TPR 0x80
#define ICR_NMI 0x00004400                 /* delivery mode 100, level assert */
#define EFLAGS_TF BIT(8)
#define APIC_WRITES 3000

/* nmi_count and nmi_tf_count are used by the assembly below */
volatile uint32_t nmi_count, nmi_tf_count;
static uint8_t ap_nmi_stack[4096] __attribute__((aligned(16)));
static volatile uint32_t nmi_stop, nmi_sender_done, nmi_sent, bsp_apic_id;
static volatile uint32_t ap_quiesce_every, ap_quiesces; /* check_quiesce_nmi_flood */
extern volatile uint32_t nmi_count, nmi_tf_count;
extern const char nmi_handler[];

__asm__(
    "    .text\n"
    "nmi_handler:\n"                        /* frame: EIP, CS, EFLAGS */
    "    lock incl nmi_count\n"
    "    testl $0x100, 8(%esp)\n"
    "    jz 1f\n"
    "    lock incl nmi_tf_count\n"
    "1:  iret\n");

static void ap_nmi_main(void)
{
    xapic_write(XAPIC_SVR, xapic_read(XAPIC_SVR) | BIT(8));
    while (!nmi_stop) {
        xapic_write(XAPIC_ICR_HI, bsp_apic_id << 24);
        xapic_write(XAPIC_ICR_LO, ICR_NMI);
        while (xapic_read(XAPIC_ICR_LO) & ICR_BUSY)
            ;
        nmi_sent++;
        if (ap_quiesce_every && nmi_sent % ap_quiesce_every == 0)
            ap_quiesces += test_hypercall(XCALL_TEST_QUIESCE, 1, 0);
        for (volatile int i = 0; i < 100; i++)
            ;
    }
    nmi_sender_done = 1;
}

/* Vector 2 of the IDT to nmi_handler (an interrupt gate); returns the old gate. */
static uint64_t set_nmi_gate(uint64_t gate)
{
    struct __attribute__((packed)) { uint16_t limit; uint32_t base; } d;
    __asm__ volatile("sidt %0" : "=m"(d));
    volatile uint64_t *g = (volatile uint64_t *)(d.base + 8 * 2);
    uint64_t old = *g;
    *g = gate;
    return old;
}

/* The first AP runs ap_nmi_main: INIT-SIPI-SIPI to the trampoline, then wait for its first NMI. */
static void start_nmi_sender(void)
{
    nmi_stop = nmi_sender_done = nmi_sent = 0;
    nmi_count = 0;
    start_ap_pm32(ap_ids[0], ap_nmi_main, ap_nmi_stack + sizeof ap_nmi_stack);
    for (int ms = 0; ms < 100 && !nmi_sent; ms++)
        udelay(1000);
    if (!nmi_sent)
        fail("the NMI-sender AP did not start");
}

static void stop_nmi_sender(void)
{
    nmi_stop = 1;
    for (int ms = 0; ms < 1000 && !nmi_sender_done; ms++)
        udelay(1000);
    udelay(10000);                          /* NMIs still on their way */
    if (!nmi_sender_done)
        fail("the NMI-sender AP did not stop");
}

/* NMIs to the BSP's own APIC ID through its ICR (no shorthand: 10.6.1, Table 10-3 allows only
 * fixed IPIs with the self shorthand) arrive one each; with an AP, NMIs from it while the
 * BSP writes its APIC page never see EFLAGS.TF, and they arrive. */
void check_apic_nmi_during_writes(void)
{
    if (!smp_setup())
        return;
    uint64_t old = set_nmi_gate(idt_gate(nmi_handler));
    bsp_apic_id = xapic_read(XAPIC_ID) >> 24;
    nmi_count = nmi_tf_count = 0;
    for (int i = 0; i < 20; i++) {
        uint32_t before = nmi_count;
        if (!send_ipi(false, bsp_apic_id, ICR_NMI))
            break;
        for (int us = 0; us < 1000 && nmi_count == before; us++)
            udelay(1);
        if (nmi_count != before + 1) {
            fail("self-NMI %d: %u NMIs arrived, want 1", i, nmi_count - before);
            break;
        }
    }
    if (!n_ap) {
        set_nmi_gate(old);
        note("20 self-NMIs; 1 CPU: no NMI sender");
        return;
    }
    start_nmi_sender();
    uint32_t tpr = xapic_read(XAPIC_TPR);
    for (int i = 0; i < APIC_WRITES; i++) {
        xapic_write(XAPIC_ICR_HI, 0);       /* sends nothing */
        xapic_write(XAPIC_TPR, tpr);
    }
    stop_nmi_sender();
    set_nmi_gate(old);
    if (!nmi_count)
        fail("%u NMIs sent, none arrived", nmi_sent);
    if (nmi_tf_count)
        fail("%u of %u NMIs interrupted code with EFLAGS.TF set (a single step leaked)", nmi_tf_count, nmi_count);
    note("20 self-NMIs; %u NMIs sent, %u arrived during %d APIC writes", nmi_sent, nmi_count, 2 * APIC_WRITES);
}

/* A guest single-stepping itself over an xAPIC write (TPR, ICR high) gets its single-step #DB
 * (DR6.BS) right after that instruction (SDM Vol.3A 17.3.1.4), and the TPR holds what it wrote. */
extern const char tf_write_done[];
static void tf_apic_write(void *arg)
{
    uint32_t reg = *(uint32_t *)arg;
    __asm__ volatile("mov %%dr6, %%eax; and $~0x4000, %%eax; mov %%eax, %%dr6\n\t"
                     "pushf; orl $0x100, (%%esp); popf\n\t"
                     "movl $0x20, (%0)\n"
                     "tf_write_done:\n\t"
                     "nop; nop"
                     : : "r"(apic_mmio + reg) : "eax", "memory", "cc");
}

void check_apic_write_single_step(void)
{
    if (!smp_setup())
        return;
    static const uint32_t regs[2] = { XAPIC_TPR, XAPIC_ICR_HI };
    uint32_t tpr = xapic_read(XAPIC_TPR);
    for (int i = 0; i < 2; i++) {
        uint32_t reg = regs[i];
        int v = try_call(tf_apic_write, &reg);
        uint32_t dr6;
        __asm__ volatile("mov %%dr6, %0" : "=r"(dr6));
        if (v != 1 || fault_eip != (uint32_t)tf_write_done || !(dr6 & BIT(14)))
            fail("write to %x with TF: vector %d at %x (want #DB at %x), DR6 %x", reg, v, fault_eip,
                 (uint32_t)tf_write_done, dr6);
        if (reg == XAPIC_TPR && (xapic_read(XAPIC_TPR) & 0xff) != 0x20)
            fail("TPR %x after writing 0x20", xapic_read(XAPIC_TPR));
    }
    xapic_write(XAPIC_TPR, tpr);
}

/* --- Quiesces, shootdowns and guest NMIs (issue 8 point 3; XMHF64 bugs 018, 024, 083, 113) -------
 * With the hypervisor's test hypercalls (build.sh --test-hypercalls; xmhf/runtime/xcall_test.c):
 * the BSP runs quiesces in a loop and sends itself NMIs while an AP sends it NMIs and runs quiesces
 * of its own; every CPU is stopped and resumed each time. Under the hypervisor an NMI that finds the
 * guest's NMI handler busy is held and injected later (NMI-window exiting), so each NMI sent is
 * received exactly once, and no CPU hangs. Bare hardware, or a build without the hypercalls (the
 * guest's test_hypercalls=0, from make guests), skips. */
#define QUIESCE_ROUNDS 200
#define AP_QUIESCE_EVERY 8

static void probe_test_hypercall(void *arg)
{
    *(uint32_t *)arg = test_hypercall(XCALL_TEST_QUIESCE, 1, 0);
}

/* Whether the test hypercalls exist (a quiesce runs once); notes why not. */
static bool have_test_hypercalls(void)
{
    uint32_t n = 0;
    if (!xmhf() || !g_test_hypercalls) {
        note("skip: %s", xmhf() ? "a build without --test-hypercalls" : "bare");
        return false;
    }
    int v = try_call(probe_test_hypercall, &n);
    if (v != -1 || n != 1)
        fail("test quiesce: vector %d, %u quiesces run, want 1", v, n);
    return v == -1 && n == 1;
}

void check_quiesce_nmi_flood(void)
{
    if (!smp_setup() || !have_test_hypercalls())
        return;
    uint64_t old = set_nmi_gate(idt_gate(nmi_handler));
    bsp_apic_id = xapic_read(XAPIC_ID) >> 24;
    ap_quiesce_every = AP_QUIESCE_EVERY;
    ap_quiesces = 0;
    if (n_ap)
        start_nmi_sender();
    nmi_count = 0;
    uint32_t quiesces = 0, self_nmis = 0, sent_at_start = nmi_sent;
    for (int i = 0; i < QUIESCE_ROUNDS; i++) {
        quiesces += test_hypercall(XCALL_TEST_QUIESCE, 2, 0);
        if (i % 4 == 0 && send_ipi(false, bsp_apic_id, ICR_NMI))
            self_nmis++;
    }
    if (n_ap)
        stop_nmi_sender();
    udelay(10000);
    set_nmi_gate(old);
    ap_quiesce_every = 0;
    uint32_t ap_nmis = n_ap ? nmi_sent - sent_at_start : 0;
    /* NMIs the sender sent before nmi_count was reset are not counted: at most its first */
    if (quiesces != 2 * QUIESCE_ROUNDS)
        fail("%u of %d quiesces ran", quiesces, 2 * QUIESCE_ROUNDS);
    if (n_ap && ap_quiesces != nmi_sent / AP_QUIESCE_EVERY)
        fail("AP: %u of %u quiesces ran", ap_quiesces, nmi_sent / AP_QUIESCE_EVERY);
    if (nmi_count != self_nmis + ap_nmis)
        fail("%u NMIs received, %u sent (%u self, %u by the AP)", nmi_count, self_nmis + ap_nmis, self_nmis,
             ap_nmis);
    note("%u quiesces by the BSP, %u by the AP; %u NMIs sent (%u self), %u received", quiesces, ap_quiesces,
         self_nmis + ap_nmis, self_nmis, nmi_count);
}

/* EPT01 rights on every CPU at once (memprot_set(MEMPROT_ALL_CPUS)): a page made read-only is
 * read-only in every CPU's EPT01 when the call returns (a write gets what a write to memory the
 * guest may not write gets, #GP(0)), and writable again after; rights EPT cannot express and the
 * hypervisor's memory are refused. */
static uint8_t prot_page[4096] __attribute__((aligned(4096)));

static void write_prot_page(void *arg)
{
    (void)arg;
    *(volatile uint32_t *)prot_page = 0x5a5a5a5a;
}

static void expect_prot(uint32_t rwx, const char *what)
{
    for (int cpu = 0; cpu <= n_ap; cpu++) {
        uint32_t got = test_hypercall(XCALL_TEST_GET_PROT, (uint32_t)prot_page, (uint32_t)cpu);
        if (got != rwx)
            fail("%s: cpu %d's EPT01 gives rights %x, want %x", what, cpu, got, rwx);
    }
}

void check_memprot_all_cpus(void)
{
    if (!smp_setup() || !have_test_hypercalls())
        return;
    uint32_t page = (uint32_t)prot_page;
    if (test_hypercall(XCALL_TEST_SET_PROT_ALL, page, EPT_R) != 1)
        fail("read-only on every CPU refused");
    expect_prot(EPT_R, "read-only");
    int v = try_call(write_prot_page, NULL);
    if (v != 13)
        fail("write to the read-only page: vector %d, want #GP (13)", v);
    if (test_hypercall(XCALL_TEST_SET_PROT_ALL, page, EPT_RWX) != 1)
        fail("RWX on every CPU refused");
    expect_prot(EPT_RWX, "back to RWX");
    v = try_call(write_prot_page, NULL);
    if (v != -1 || peek32(page) != 0x5a5a5a5a)
        fail("write to the page made writable again: vector %d, read back %x", v, peek32(page));
    /* cost of a change on every CPU and of a quiesce, in TSC ticks (Bochs: instructions) */
    enum { N = 20 };
    uint64_t t0 = rdtsc();
    for (int i = 0; i < N; i++)
        test_hypercall(XCALL_TEST_SET_PROT_ALL, page, i % 2 ? EPT_RWX : EPT_R);
    uint64_t t1 = rdtsc();
    test_hypercall(XCALL_TEST_QUIESCE, N, 0);
    uint64_t t2 = rdtsc();
    note("%d CPUs: %u ticks per change of rights on every CPU, %u per quiesce", n_ap + 1,
         (uint32_t)((t1 - t0) / N), (uint32_t)((t2 - t1) / N));
    if (test_hypercall(XCALL_TEST_SET_PROT_ALL, page, EPT_W) != 0)
        fail("write-only rights accepted (an EPT misconfiguration)");
    if (test_hypercall(XCALL_TEST_SET_PROT_ALL, g_hv_base, EPT_RWX) != 0)
        fail("rights for the hypervisor's memory accepted");
    expect_prot(EPT_RWX, "after the refusals");
}

/* --- A hidden PCI function's ECAM page (docs/netlog.md) ------------------------------------------
 * The hypervisor's test_ecam_page= (test builds; xmhf/runtime/ecam_hide.c) hides the page at our
 * ecam_test_page= as it hides the network log's NIC's ECAM page on a machine with an MCFG: every
 * CPU reads all ones there (vendor ID 0xffff: no function), in every access size, and a write is
 * lost: #GP(0), what a write to memory the guest may not write gets. Under a hypervisor booted
 * without the key (the other checks cases) the page is plain RAM and a write sticks: noted, so
 * that checks-ecam-2cpu.case can tell. Bare, or no ecam_test_page=: skip. */
#define ECAM_WRITE_OFFSET 0x10             /* BAR0, where an OS would write */
static uint8_t ap_ecam_stack[4096] __attribute__((aligned(16)));
static volatile uint32_t ap_ecam_not_ones, ap_ecam_done;

/* Accesses of the page, of each size, that do not read all ones. */
static uint32_t ecam_not_ones(uint32_t page)
{
    uint32_t n = 0;
    for (uint32_t off = 0; off < 4096; off += 4)
        n += peek32(page + off) != 0xffffffffu;
    n += peek16(page) != 0xffff;
    n += *(volatile uint8_t *)(page + 0xe) != 0xff;
    return n;
}

static void ap_ecam_main(void)
{
    ap_ecam_not_ones = ecam_not_ones(g_ecam_test_page);
    ap_ecam_done = 1;
}

static void write_ecam_page(void *arg)
{
    poke32(g_ecam_test_page + ECAM_WRITE_OFFSET, *(uint32_t *)arg);
}

void check_ecam_page_hidden(void)
{
    if (!xmhf() || !g_ecam_test_page) {
        note("skip: %s", xmhf() ? "no ecam_test_page=" : "bare");
        return;
    }
    if (!smp_setup())
        return;
    uint32_t page = g_ecam_test_page, value = 0x12345678, bsp = ecam_not_ones(page);
    int v = try_call(write_ecam_page, &value);
    uint32_t after = peek32(page + ECAM_WRITE_OFFSET);
    if (v == -1 && after == value) {
        note("plain RAM at %x: the hypervisor has no test_ecam_page=", page);
        return;
    }
    if (bsp)
        fail("%u reads of the page at %x are not all ones", bsp, page);
    if (v != 13 || fault_error != 0)
        fail("a write: vector %d error %x, want #GP(0)", v, fault_error);
    if (after != 0xffffffffu)
        fail("after the write the page reads %x, want all ones", after);
    for (int i = 0; i < n_ap; i++) {
        ap_ecam_done = 0;
        start_ap_pm32(ap_ids[i], ap_ecam_main, ap_ecam_stack + sizeof ap_ecam_stack);
        for (int ms = 0; ms < 100 && !ap_ecam_done; ms++)
            udelay(1000);
        if (!ap_ecam_done)
            fail("AP %u did not run", ap_ids[i]);
        else if (ap_ecam_not_ones)
            fail("AP %u: %u reads of the page are not all ones", ap_ids[i], ap_ecam_not_ones);
    }
    note("all ones at %x on %d CPU(s); a write #GP(0), lost", page, n_ap + 1);
}
