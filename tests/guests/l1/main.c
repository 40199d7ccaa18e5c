/* The l1 guest's entry (from the checks guest's boot.S): the VMX matrix on each CPU in turn (the
 * BSP, then every AP started into 32-bit protected mode), one line per test, a summary, power-off.
 * One CPU at a time keeps the log deterministic and lets the tests share boot.S's try_call(). */
#include "l1.h"

#define AP_TIMEOUT_MS 20000

static char cmdline[256];
static int n_pass, n_fail, n_cpus;
static uint32_t first_ap_apic_id;           /* with n_cpus >= 2 */
static volatile int ap_index, ap_done;
static uint8_t ap_stack[8192] __attribute__((aligned(16)));

static void run_test(const struct l1_test *t)
{
    result_reset();
    t->fn();
    const char *msg = g_result.note_msg;
    if (g_result.failed) {
        n_fail++;
        kprintf("L1: %s: FAIL (%s)\n", t->name, g_result.fail_msg);
    } else {
        n_pass++;
        kprintf("L1: %s: PASS%s%s%s\n", t->name, msg[0] ? " (" : "", msg, msg[0] ? ")" : "");
    }
}

/* CPU 0's test of another CPU (init.c) */
static void init_signal(void)
{
    if (n_cpus < 2)
        note("skip: needs 2 CPUs");
    else
        init_signal_test(first_ap_apic_id);
}

static void run_matrix(int cpu)
{
    cpu_setup(cpu);
    kprintf("L1: cpu %d\n", cpu);
    if (!vmx_available()) {
        kprintf("L1: VMX not available\n");
        return;
    }
    vmx_read_caps();
    for (int i = 0; i < n_vmx_insn_tests; i++)
        run_test(&vmx_insn_tests[i]);
    for (int i = 0; i < n_field_tests; i++)
        run_test(&field_tests[i]);
    for (int i = 0; i < n_l2_tests; i++)
        run_test(&l2_tests[i]);
    for (int i = 0; i < n_l2_mode_tests; i++)
        run_test(&l2_mode_tests[i]);
    for (int i = 0; i < n_pal_l2_tests; i++)
        run_test(&pal_l2_tests[i]);
    if (cpu == 0)
        run_test(&(const struct l1_test){ "init_signal", init_signal });
}

static void ap_main(void)
{
    run_matrix(ap_index);
    ap_done = 1;
}

static void finish(void)
{
    kprintf("L1-DONE cpus=%d pass=%d fail=%d\n", n_cpus, n_pass, n_fail);
    console_drain();
    acpi_poweroff();
    kprintf("l1: ACPI power-off did not work\n");
    console_drain();
    for (;;)
        __asm__ volatile("cli; hlt");
}

struct regs { uint32_t edi, esi, ebp, esp, ebx, edx, ecx, eax, vector, error, eip, cs, eflags; };
void unexpected_exception(struct regs *r);
void unexpected_exception(struct regs *r)
{
    n_fail++;
    kprintf("L1: FATAL: unexpected exception %u error %x at %x:%x\n", r->vector, r->error, r->cs, r->eip);
    finish();
}

/* The value of key=VALUE on the command line (NULL if absent) */
static const char *cmdline_value(const char *key)
{
    uint32_t len = 0;
    while (key[len])
        len++;
    for (const char *p = cmdline; *p; p++)
        if ((p == cmdline || p[-1] == ' ') && !memcmp(p, key, len) && p[len] == '=')
            return p + len + 1;
    return NULL;
}

/* key=N (0 if absent): bench=N CPUIDs in L2 after the matrix; instead of the matrix,
 * interleave=N cycles or shootdown=N [shootdown_page=l2] (interleave.c), stale=N rounds of
 * the stale-field test (stale.c) */
static uint32_t cmdline_number(const char *key)
{
    uint32_t n = 0;
    for (const char *p = cmdline_value(key); p && *p >= '0' && *p <= '9'; p++)
        n = n * 10 + (uint32_t)(*p - '0');
    return n;
}

/* interleave=N or shootdown=N: CPU 0 and the first AP at once; true if one ran */
static bool two_cpu_run(const uint32_t *ids, uint32_t bsp)
{
    uint32_t cycles = cmdline_number("interleave"), shootdowns = cmdline_number("shootdown");
    uint32_t stale = cmdline_number("stale");
    if (!cycles && !shootdowns && !stale)
        return false;
    cpu_setup(0);
    int ap = ids[0] == bsp ? 1 : 0;
    if (n_cpus < 2 || !vmx_available()) {
        n_fail++;
        kprintf("L1: FATAL: two CPUs with VMX needed\n");
        return true;
    }
    vmx_read_caps();
    if (cycles) {
        interleave_run(cycles, ids[ap]) ? n_pass++ : n_fail++;
    } else if (stale) {
        stale_fields_test(stale, ids[ap]) ? n_pass++ : n_fail++;
    } else {
        const char *page = cmdline_value("shootdown_page");
        shootdown_bench(shootdowns, page && !memcmp(page, "l2", 2), ids[ap]);
    }
    return true;
}

void kmain(uint32_t magic, const uint8_t *mbi);
void kmain(uint32_t magic, const uint8_t *mbi)
{
    console_init();
    idt_init();
    if (magic == 0x2BADB002 && (*(const uint32_t *)mbi & BIT(2))) {     /* multiboot cmdline */
        const char *s = (const char *)*(const uint32_t *)(mbi + 16);
        for (size_t i = 0; s[i] && i + 1 < sizeof cmdline; i++)
            cmdline[i] = s[i];
    }
    kprintf("l1: cmdline '%s'\n", cmdline);
    acpi_init();
    uint32_t ids[L1_MAX_CPUS];
    n_cpus = acpi_cpus(ids, L1_MAX_CPUS);
    if (n_cpus < 1 || !apic_init()) {
        kprintf("L1: FATAL: no CPUs in the MADT or no APIC\n");
        n_cpus = 1;
        n_fail++;
        finish();
    }
    uint32_t bsp = apic_id();
    for (int i = n_cpus - 1; i >= 0; i--)
        if (ids[i] != bsp)
            first_ap_apic_id = ids[i];
    if (two_cpu_run(ids, bsp))
        finish();
    run_matrix(0);
    int next = 1;
    for (int i = 0; i < n_cpus; i++) {
        if (ids[i] == bsp)
            continue;
        ap_index = next++;
        ap_done = 0;
        start_ap_pm32(ids[i], ap_main, ap_stack + sizeof ap_stack);
        for (int ms = 0; ms < AP_TIMEOUT_MS && !ap_done; ms++)
            udelay(1000);
        if (!ap_done) {
            n_fail++;
            kprintf("L1: cpu %d (APIC ID %u): FAIL (did not finish)\n", ap_index, ids[i]);
        }
    }
    uint32_t n = cmdline_number("bench");
    if (n && vmx_available())
        l2_cpuid_bench(n);
    finish();
}
