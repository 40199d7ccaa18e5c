/* Two CPUs at once (issue 10): CPU 0's L1 does VMX work while CPU 1 changes EPT01 through the
 * hypervisor's test hypercalls (--test-hypercalls, xmhf/runtime/xcall_test.c), so that the
 * quiesce and shootdown NMIs of L0 land at every point of CPU 0's VMX instructions and L2.
 * - interleave=N: N cycles of VMXON, VMCLEAR, VMPTRLD, VMLAUNCH of an L2 (EPT, NMI exiting) that
 *   reads a page and ends with VMCALL, VMXOFF; CPU 1 makes quiesce and SET_PROT_ALL hypercalls
 *   (rights of that page, R and RWX in turn) at pseudo-random delays and sends NMIs to CPU 0,
 *   each after CPU 0 counted the one before (a second NMI while one is pending may merge with
 *   it, SDM Vol. 3 "NMI" 11.5.1 / 6.7.1), taken by L1 (IDT vector 2) or as L2's NMI exits.
 * - shootdown=N: the cost a CPU running L2 pays per EPT01 shootdown: L2 reads 16 pages in a
 *   loop and sums the gaps in its TSC (the time it did not run); CPU 1 runs a baseline of the
 *   same length, then N SET_PROT_ALL of a page L2 does not use (shootdown_page=l2: of one of
 *   L2's 16), and from the TSC just before each request to the first L2 instruction after it
 *   (the latency). */
#include "l1.h"

#define ICR_NMI 0x00004400                  /* delivery mode 100, level assert */
#define NMI_WAIT_SPINS 20000000u            /* CPU 1's wait for CPU 0 to count one NMI */
#define CPU1_WAIT_MS 60000
#define PAGE_SIZE 4096u

static uint8_t ap_stack[8192] __attribute__((aligned(16)));
static uint32_t target_apic_id;
static void (*volatile ap_work)(void);
static volatile int ap_done;
/* the page CPU 1 changes the rights of (interleave: L2 reads it) */
static volatile uint8_t prot_page[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));

static void ap_entry(void)
{
    xapic_write(XAPIC_SVR, xapic_read(XAPIC_SVR) | BIT(8));
    ap_work();
    ap_done = 1;
    for (;;)
        __asm__ volatile("cli; hlt");
}

void ap_start(uint32_t apic_id, void (*work)(void))
{
    ap_work = work;
    ap_done = 0;
    start_ap_pm32(apic_id, ap_entry, ap_stack + sizeof ap_stack);
}

bool ap_wait(void)
{
    for (int ms = 0; ms < CPU1_WAIT_MS && !ap_done; ms++)
        udelay(1000);
    if (!ap_done)
        fail("CPU 1 did not finish");
    return ap_done;
}

uint32_t lcg(uint32_t *seed) { return *seed = *seed * 1103515245u + 12345u; }

static void spin(uint32_t n)
{
    for (volatile uint32_t i = 0; i < n; i++)
        ;
}

/* --- interleave=N ------------------------------------------------------------------------- */
static volatile uint32_t l1_nmis, l2_nmi_exits, cycles_done, cpu0_finished;
static volatile uint32_t nmis_sent, nmis_lost, hypercalls, quiesces, prot_ok, prot_refused;
extern const char l1_nmi_handler[];
__asm__(
    "    .text\n"
    "l1_nmi_handler:\n"
    "    lock incl l1_nmis\n"
    "    iret\n");

static uint32_t nmis_counted(void) { return l1_nmis + l2_nmi_exits; }

static void cpu1_interleave(void)
{
    uint32_t seed = 12345;
    for (uint32_t i = 0; !cpu0_finished; i++) {
        uint32_t r = lcg(&seed);
        if (r & BIT(20)) {
            quiesces += test_hypercall(XCALL_TEST_QUIESCE, 1, 0);
        } else if (test_hypercall(XCALL_TEST_SET_PROT_ALL, (uint32_t)prot_page, i & 1 ? (uint32_t)EPT_READ : EPT_RWX)) {
            prot_ok++;
        } else {
            prot_refused++;
        }
        hypercalls++;
        if (r & BIT(21)) {
            uint32_t spins = 0;
            while (nmis_counted() != nmis_sent && spins < NMI_WAIT_SPINS)
                spins++;
            if (nmis_counted() != nmis_sent)
                nmis_lost++;
            xapic_write(XAPIC_ICR_HI, target_apic_id << 24);
            xapic_write(XAPIC_ICR_LO, ICR_NMI);
            while (xapic_read(XAPIC_ICR_LO) & ICR_BUSY)
                ;
            nmis_sent++;
        }
        spin((r >> 8) & 0xfff);
    }
    for (uint32_t spins = 0; nmis_counted() != nmis_sent && spins < NMI_WAIT_SPINS; spins++)
        ;
}

static void l2_read_page(void *arg)
{
    uint32_t n = (uint32_t)arg, sum = 0;
    for (uint32_t i = 0; i < n; i++)
        sum += prot_page[(i * 64) % PAGE_SIZE];
    (void)sum;
}

/* IRET to the next instruction: ends NMI blocking, if an NMI's VM exit left it (27.5.5) */
static void unblock_nmis(void)
{
    __asm__ volatile("pushfl; pushl %%cs; pushl $1f; iret; 1:" : : : "memory");
}

static uint64_t set_idt_gate(int vector, uint64_t gate)
{
    struct gdtr idt = cpu_idtr();
    volatile uint64_t *g = (volatile uint64_t *)(idt.base + 8 * vector);
    uint64_t old = *g;
    *g = gate;
    return old;
}

/* One cycle on CPU 0; false on a failure (then VMX is off). */
static bool vmx_cycle(uint32_t cycle, struct l2_config *c)
{
    if (!vmx_on())
        return false;
    c->eptp = ept_identity();
    l2_vmcs_init(0, c, l2_read_page, (void *)(64 + (cycle * 97) % 2048));
    struct l2_exit e;
    while (!g_result.failed && l2_run(&e, NULL)) {
        if (e.reason == EXIT_VMCALL && g_l2.eax == L2_DONE_MAGIC)
            break;
        if (e.reason == EXIT_EXCEPTION_NMI && (e.intr_info & (INTR_INFO_VALID | 0x7ff)) == (INTR_INFO_VALID | 2 << 8 | 2)) {
            l2_nmi_exits++;
            unblock_nmis();
            continue;
        }
        expect_exit("L2 reading its page", &e, EXIT_VMCALL);
    }
    vmx_off();
    return !g_result.failed;
}

bool interleave_run(uint32_t cycles, uint32_t cpu1_apic_id)
{
    result_reset();
    if (!(g_caps.ept_vpid & EPT_CAP_WALK4) || !cap_allows(g_caps.proc2, PROC2_EPT)) {
        kprintf("L1-INTERLEAVE: FAIL (no EPT)\n");
        return false;
    }
    uint64_t old_gate = set_idt_gate(2, idt_gate(l1_nmi_handler));
    struct l2_config c = { .pin = PIN_NMI_EXITING, .proc2 = PROC2_EPT, .exception_bitmap = 0xffffffffu };
    target_apic_id = apic_id();
    ap_start(cpu1_apic_id, cpu1_interleave);
    while (cycles_done < cycles && vmx_cycle(cycles_done, &c))
        cycles_done++;
    cpu0_finished = 1;
    ap_wait();
    set_idt_gate(2, old_gate);
    kprintf("L1-INTERLEAVE: cycles=%u/%u hypercalls=%u quiesces=%u prot_set=%u prot_refused=%u nmis_sent=%u "
            "nmis_counted=%u (l1=%u l2_exits=%u) nmis_lost=%u\n", cycles_done, cycles, hypercalls, quiesces,
            prot_ok, prot_refused, nmis_sent, nmis_counted(), l1_nmis, l2_nmi_exits, nmis_lost);
    if (!g_result.failed && (prot_refused || nmis_lost || nmis_counted() != nmis_sent || !nmis_sent || !quiesces))
        fail("refused rights, lost NMIs, or no NMI or quiesce at all");
    kprintf("L1-INTERLEAVE: %s%s%s\n", g_result.failed ? "FAIL (" : "PASS", g_result.failed ? g_result.fail_msg : "",
            g_result.failed ? ")" : "");
    return !g_result.failed;
}

/* --- shootdown=N -------------------------------------------------------------------------- */
#define BENCH_PAGES 16
#define GAP_MIN 1000                        /* TSC ticks between two loop iterations: a gap */
#define BENCH_SPACING 2000000ull            /* ticks between two shootdowns */
#define GAP_RING 64
enum { PHASE_WARMUP, PHASE_BASELINE, PHASE_SHOOTDOWNS, PHASE_END, N_PHASES };
static volatile uint8_t bench_pages[BENCH_PAGES][PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static volatile uint32_t phase, l2_running, bench_n, bench_page;
static volatile uint64_t stolen[N_PHASES], elapsed[N_PHASES], gap_end[GAP_RING], gaps;
static volatile uint64_t latency_sum, latency_max, request_sum;

static void l2_bench_loop(void *arg)
{
    (void)arg;
    uint64_t last = rdtsc();
    l2_running = 1;
    for (uint32_t p; (p = phase) != PHASE_END;) {
        for (uint32_t i = 0; i < BENCH_PAGES; i++)
            (void)bench_pages[i][0];
        uint64_t t = rdtsc(), d = t - last;
        elapsed[p] += d;
        if (d > GAP_MIN) {
            stolen[p] += d;
            gap_end[gaps % GAP_RING] = t;
            gaps++;
        }
        last = t;
    }
}

static void wait_ticks(uint64_t n)
{
    for (uint64_t t0 = rdtsc(); rdtsc() - t0 < n;)
        ;
}

/* the first L2 instruction after t: the end of the first gap that ends after it */
static uint64_t first_gap_end_after(uint64_t t)
{
    uint64_t best = 0;
    for (uint32_t i = 0; i < GAP_RING; i++)
        if (gap_end[i] > t && (!best || gap_end[i] < best))
            best = gap_end[i];
    return best;
}

static void cpu1_shootdowns(void)
{
    while (!l2_running)
        ;
    wait_ticks(BENCH_SPACING);              /* L2's pages faulted in */
    phase = PHASE_BASELINE;
    wait_ticks(BENCH_SPACING * bench_n);
    phase = PHASE_SHOOTDOWNS;
    for (uint32_t i = 0; i < bench_n; i++) {
        uint64_t t0 = rdtsc();
        test_hypercall(XCALL_TEST_SET_PROT_ALL, bench_page, i & 1 ? EPT_RWX : (uint32_t)EPT_READ);
        request_sum += rdtsc() - t0;
        wait_ticks(BENCH_SPACING);
        uint64_t end = first_gap_end_after(t0);
        uint64_t latency = end ? end - t0 : 0;
        latency_sum += latency;
        if (latency > latency_max)
            latency_max = latency;
    }
    phase = PHASE_END;
}

void shootdown_bench(uint32_t n, bool l2_page, uint32_t cpu1_apic_id)
{
    result_reset();
    struct l2_config c = { .proc2 = PROC2_EPT, .exception_bitmap = 0xffffffffu };
    bench_n = n;
    bench_page = l2_page ? (uint32_t)bench_pages[0] : (uint32_t)prot_page;
    if (!vmx_on())
        goto out;
    c.eptp = ept_identity();
    l2_vmcs_init(0, &c, l2_bench_loop, NULL);
    ap_start(cpu1_apic_id, cpu1_shootdowns);
    l2_run_to_end();
    vmx_off();
    ap_wait();
out:
    if (g_result.failed) {
        kprintf("L1-SHOOTDOWN: FAIL (%s)\n", g_result.fail_msg);
        return;
    }
    /* the two phases are about as long (n spacings); 32-bit arithmetic: no libgcc */
    uint32_t base = (uint32_t)stolen[PHASE_BASELINE], all = (uint32_t)stolen[PHASE_SHOOTDOWNS];
    kprintf("L1-SHOOTDOWN: n=%u page=%s stolen=%u baseline=%u ticks=%u/%u per_shootdown=%u latency_avg=%u "
            "latency_max=%u request_avg=%u\n", n, l2_page ? "l2" : "other", all, base, (uint32_t)elapsed[PHASE_SHOOTDOWNS],
            (uint32_t)elapsed[PHASE_BASELINE], all > base ? (all - base) / n : 0, (uint32_t)latency_sum / n,
            (uint32_t)latency_max, (uint32_t)request_sum / n);
}
