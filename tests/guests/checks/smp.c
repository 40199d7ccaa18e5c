/* AP start-up through the local APIC: INIT-SIPI-SIPI via the xAPIC ICR (MMIO) and the x2APIC
 * ICR (MSR 0x830). SDM Vol.3A 8.4.4.1 (BSP sequence), 10.6.1 (ICR), 10.12 (x2APIC), Table 9-1. */
#include "kernel.h"
#include "layout.h"

#define MSR_APIC_BASE 0x1B
#define APIC_BASE_EXTD BIT(10)             /* x2APIC mode */
#define APIC_BASE_EN BIT(11)               /* global enable */
#define MSR_X2APIC_ID 0x802
#define MSR_X2APIC_ICR 0x830
#define XAPIC_ID 0x20
#define XAPIC_SVR 0xF0
#define XAPIC_ICR_LO 0x300
#define XAPIC_ICR_HI 0x310
#define ICR_INIT 0x00004500                /* delivery mode 101, level assert */
#define ICR_SIPI (0x00004600 | SIPI_VECTOR) /* delivery mode 110 */
#define ICR_BUSY BIT(12)                   /* delivery status (xAPIC only) */
#define ICR_ALL_BUT_SELF (3u << 18)         /* destination shorthand 11 */
#define MAX_CPUS 64

static uint32_t apic_mmio;                  /* xAPIC register page (IA32_APIC_BASE[35:12]) */
static uint32_t ap_ids[MAX_CPUS];
static int n_ap = -1;                       /* -1: not yet read from the MADT */
static uint32_t signature;                  /* CPUID.1:EAX, which INIT leaves in EDX */
/* Bochs 2.7 deviation: its INIT/reset clears EDX (cpu/init.cc leaves the EDX = signature line
 * commented out), so bare Bochs APs start with EDX = 0. Tolerated only with expect=bare: our
 * hypervisor sets the guest AP's registers itself and must follow Table 9-1. */
static int bochs_edx0;

static uint32_t xapic_read(uint32_t reg) { return peek32(apic_mmio + reg); }
static void xapic_write(uint32_t reg, uint32_t v) { poke32(apic_mmio + reg, v); }

/* Collect the APs (every enabled MADT CPU but us) and set the APIC up; false + fail() if broken. */
static bool smp_setup(void)
{
    if (n_ap >= 0)
        return true;
    uint64_t base = rdmsr(MSR_APIC_BASE);
    if (!(base & APIC_BASE_EN)) {
        fail("IA32_APIC_BASE=%llx: APIC globally disabled", base);
        return false;
    }
    apic_mmio = (uint32_t)base & 0xFFFFF000;
    uint32_t bsp = xapic_read(XAPIC_ID) >> 24;
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
    xapic_write(XAPIC_SVR, xapic_read(XAPIC_SVR) | BIT(8) | 0xFF);  /* software enable (10.9) */
    memcpy((void *)TRAMP_BASE, ap_tramp_start, (size_t)(ap_tramp_end - ap_tramp_start));
    poke32(AP_COUNT, 0);
    return bsp_found;
}

/* One IPI to one APIC ID. xAPIC: write the destination (ICR[63:56]) first, the low half sends;
 * then wait for delivery status idle. x2APIC: one WRMSR, destination in ICR[63:32] (10.12.9). */
static bool send_ipi(bool x2, uint32_t dest, uint32_t icr)
{
    if (x2) {
        wrmsr(MSR_X2APIC_ICR, (uint64_t)dest << 32 | icr);
        return true;
    }
    xapic_write(XAPIC_ICR_HI, dest << 24);
    xapic_write(XAPIC_ICR_LO, icr);
    uint32_t t0 = pm_timer_read();
    while (xapic_read(XAPIC_ICR_LO) & ICR_BUSY)
        if (pm_ticks_elapsed(t0) > 3580 * 10) {         /* 10 ms */
            fail("ICR %x to APIC %u: delivery status stuck", icr, dest);
            return false;
        }
    return true;
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
        bool hv_view = (ecx & BIT(31)) && !(ecx & BIT(5));
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
