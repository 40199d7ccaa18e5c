/* Entry from boot.S: IDT, configuration from multiboot, the list of checks, verdict, power-off. */
#include "kernel.h"

enum expect g_expect;
bool g_test_hypercalls;
bool g_nested;
uint32_t g_hv_base, g_hv_end;
bool g_app_test;
bool g_app_trustvisor;
uint32_t g_ecam_test_page;
struct mmap_entry g_mmap[64];
int g_mmap_n;

static char cmdline[256];
static int n_pass, n_fail;

/* --- check bookkeeping: a check calls fail()/note() (report.c); run_check prints one line for it */
static void run_check(const char *name, void (*fn)(void))
{
    result_reset();
    fn();
    const char *msg = g_result.note_msg;
    if (g_result.failed) {
        n_fail++;
        kprintf("CHECK %s: FAIL %s\n", name, g_result.fail_msg);
    } else {
        n_pass++;
        kprintf("CHECK %s: PASS%s%s%s\n", name, msg[0] ? " (" : "", msg, msg[0] ? ")" : "");
    }
}

static const char *arg(const char *key);

/* end=triple: a triple fault (an empty IDT, then INT3: #GP, #DF, shutdown;
 * SDM Vol. 3 7.15 #DF); end=reset: a reset through port 0xCF9; end=fastreset:
 * port 0x92 bit 0 from 0 to 1 (System Control Port A fast reset, an INIT on
 * Intel chipsets); otherwise ACPI S5. The first three test the hypervisor's
 * handling of a guest's end. */
static void end_the_run(void)
{
    const char *end = arg("end");
    if (end && !memcmp(end, "triple", 6)) {
        static const struct { uint16_t limit; uint32_t base; } __attribute__((packed)) no_idt = { 0, 0 };
        kprintf("checks: ending with a triple fault\n");
        console_drain();
        __asm__ volatile("lidt %0; int3" : : "m"(no_idt));
    } else if (end && !memcmp(end, "reset", 5)) {
        kprintf("checks: ending with a reset through port 0xcf9\n");
        console_drain();
        __asm__ volatile("outb %0, %1" : : "a"((uint8_t)0x06), "Nd"((uint16_t)0xcf9));
    } else if (end && !memcmp(end, "fastreset", 9)) {
        kprintf("checks: ending with a fast reset through port 0x92\n");
        console_drain();
        outb(0x92, (uint8_t)((inb(0x92) & ~1u) | 1u));
    }
    acpi_poweroff();
}

static void finish(void)
{
    kprintf("CHECKS-DONE pass=%u fail=%u\n", n_pass, n_fail);
    console_drain();
    end_the_run();
    kprintf("checks: ACPI power-off did not work\n");
    console_drain();
    for (;;)
        __asm__ volatile("cli; hlt");
}

/* Called by boot.S for an exception outside try_call: report it and end the run. */
struct regs { uint32_t edi, esi, ebp, esp, ebx, edx, ecx, eax, vector, error, eip, cs, eflags; };
void unexpected_exception(struct regs *r);
void unexpected_exception(struct regs *r)
{
    n_fail++;
    kprintf("checks: FATAL: unexpected exception %u error %x at %x:%x\n", r->vector, r->error, r->cs, r->eip);
    finish();
}

/* --- multiboot v1 info (Multiboot 0.6.96 section 3.3): copy what we need before touching low memory */
static uint64_t parse_num(const char *s)
{
    uint64_t v = 0;
    unsigned base = 10;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
        base = 16, s += 2;
    for (;; s++) {
        unsigned d;
        if (*s >= '0' && *s <= '9') d = *s - '0';
        else if (base == 16 && *s >= 'a' && *s <= 'f') d = *s - 'a' + 10;
        else if (base == 16 && *s >= 'A' && *s <= 'F') d = *s - 'A' + 10;
        else break;
        v = v * base + d;
    }
    return v;
}

/* Value of "key=" in the command line, or NULL. */
static const char *arg(const char *key)
{
    size_t klen = 0;
    while (key[klen])
        klen++;
    for (const char *p = cmdline; *p; p++)
        if ((p == cmdline || p[-1] == ' ') && !memcmp(p, key, klen) && p[klen] == '=')
            return p + klen + 1;
    return NULL;
}

static bool read_multiboot(uint32_t magic, const uint8_t *mbi)
{
    if (magic != 0x2BADB002) {
        kprintf("checks: not started by a multiboot loader (eax=%x)\n", magic);
        return false;
    }
    uint32_t flags = *(const uint32_t *)mbi;
    if (flags & BIT(2)) {                                /* cmdline */
        const char *s = (const char *)*(const uint32_t *)(mbi + 16);
        size_t i = 0;
        for (; s[i] && i + 1 < sizeof cmdline; i++)
            cmdline[i] = s[i];
        cmdline[i] = 0;
    }
    if (flags & BIT(6)) {                                /* mmap_length, mmap_addr */
        uint32_t len = *(const uint32_t *)(mbi + 44);
        const uint8_t *p = (const uint8_t *)*(const uint32_t *)(mbi + 48), *end = p + len;
        for (; p < end && g_mmap_n < (int)(sizeof g_mmap / sizeof g_mmap[0]); p += *(const uint32_t *)p + 4) {
            g_mmap[g_mmap_n].base = *(const uint64_t *)(p + 4);
            g_mmap[g_mmap_n].len = *(const uint64_t *)(p + 12);
            g_mmap[g_mmap_n].type = *(const uint32_t *)(p + 20);
            g_mmap_n++;
        }
    }
    const char *e = arg("expect");
    if (e && !memcmp(e, "bare", 4) && (e[4] == 0 || e[4] == ' ')) {
        g_expect = EXPECT_BARE;
        return true;
    }
    if (e && !memcmp(e, "xmhf", 4) && (e[4] == 0 || e[4] == ' ')) {
        g_expect = EXPECT_XMHF;
        const char *app = arg("app");
        g_app_test = app && !memcmp(app, "test", 4) && (app[4] == 0 || app[4] == ' ');
        g_app_trustvisor = app && !memcmp(app, "trustvisor", 10) && (app[10] == 0 || app[10] == ' ');
        const char *t = arg("test_hypercalls");
        g_test_hypercalls = t && t[0] == '1';
        const char *ecam = arg("ecam_test_page");
        g_ecam_test_page = ecam ? (uint32_t)parse_num(ecam) & ~0xfffu : 0;
        const char *nested = arg("nested");
        g_nested = nested && nested[0] == '1';
        const char *b = arg("hv_base"), *en = arg("hv_end");
        if (b && en) {
            uint64_t lo = parse_num(b), hi = parse_num(en);
            if (lo < hi && hi <= 0xFFFFFFFFull) {
                g_hv_base = (uint32_t)lo, g_hv_end = (uint32_t)hi;
                return true;
            }
        }
        kprintf("checks: expect=xmhf needs hv_base=0x... hv_end=0x... below 4 GiB (cmdline '%s')\n", cmdline);
        return false;
    }
    kprintf("checks: cmdline needs expect=bare or expect=xmhf (got '%s')\n", cmdline);
    return false;
}

void kmain(uint32_t magic, const uint8_t *mbi);
void kmain(uint32_t magic, const uint8_t *mbi)
{
    console_init();
    idt_init();
    if (!read_multiboot(magic, mbi)) {
        n_fail++;
        finish();
    }
    acpi_init();
    kprintf("checks: cmdline '%s'\n", cmdline);

    run_check("efer_initial", check_efer_initial);          /* first: the state we were given */
    run_check("cpuid_vmx_hidden", check_cpuid_vmx_hidden);
    run_check("cpuid_hypervisor_bit", check_cpuid_hypervisor_bit);
    run_check("cpuid_osxsave_mirror", check_cpuid_osxsave_mirror);
    run_check("cr4_vmxe_hidden", check_cr4_vmxe_hidden);
    run_check("cr0_fixed_bits", check_cr0_fixed_bits);
    run_check("msr_unknown_gp", check_msr_unknown_gp);
    run_check("msr_fs_gs_base", check_msr_fs_gs_base);
    run_check("cpuid_pmu_pt_hidden", check_cpuid_pmu_pt_hidden);
    run_check("msr_pt_pebs_gp", check_msr_pt_pebs_gp);
    run_check("xsetbv_invalid", check_xsetbv_invalid);
    run_check("cr4_smxe_gp", check_cr4_smxe_gp);
    run_check("vmx_insn_ud", check_vmx_insn_ud);
    run_check("invd_survives", check_invd_survives);
    run_check("pae_paging_toggle", check_pae_paging_toggle);
    run_check("high_memory", check_high_memory);
    run_check("task_switch", check_task_switch);
    run_check("task_switch_16", check_task_switch_16);
    run_check("task_switch_above_mem", check_task_switch_above_mem);
    run_check("mtrr_noncontiguous_mask", check_mtrr_noncontiguous_mask);
    run_check("apic_moves_bounded", check_apic_moves_bounded);
    run_check("long_mode_16bit_tr", check_long_mode_16bit_tr);
    run_check("e820_hidden", check_e820_hidden);
    run_check("e820_full", check_e820_full);
    run_check("hv_memory_blocked", check_hv_memory_blocked);
    run_check("smp_init_sipi_twice_xapic", check_smp_init_sipi_twice_xapic);
    run_check("smp_broadcast_sipi", check_smp_broadcast_sipi);
    run_check("smp_apic_moved", check_smp_apic_moved);
    run_check("apic_base_invalid_gp", check_apic_base_invalid_gp);
    run_check("apic_base_legal_move", check_apic_base_legal_move);
    run_check("apic_write_single_step", check_apic_write_single_step);
    run_check("apic_nmi_during_writes", check_apic_nmi_during_writes);
    run_check("console_uart_stalled", check_console_uart_stalled);
    run_check("quiesce_nmi_flood", check_quiesce_nmi_flood);
    run_check("memprot_all_cpus", check_memprot_all_cpus);
    run_check("ecam_page_hidden", check_ecam_page_hidden);
    run_check("smp_sipi_x2apic", check_smp_sipi_x2apic);  /* leaves the BSP in x2APIC mode: the x2APIC checks follow */
    run_check("x2apic_icr_reserved_gp", check_x2apic_icr_reserved_gp);
    run_check("apic_base_x2apic_to_xapic_gp", check_apic_base_x2apic_to_xapic_gp);
    run_check("hypapp_test", check_hypapp_test);
    finish();
}
