/* Local APIC (xAPIC MMIO, x2APIC ICR MSR) and AP start-up into 32-bit protected mode; shared by
 * the checks guest (smp.c) and the l1 guest. SDM Vol.3A 10.6.1 (ICR), 10.12 (x2APIC), 8.4.4.1. */
#include "kernel.h"
#include "layout.h"

#define MSR_X2APIC_ICR 0x830

uint32_t apic_mmio;

uint32_t xapic_read(uint32_t reg) { return peek32(apic_mmio + reg); }
void xapic_write(uint32_t reg, uint32_t v) { poke32(apic_mmio + reg, v); }

/* Reads the APIC's place from IA32_APIC_BASE and software-enables it (10.4.3, 10.9);
 * false + fail() if the APIC is globally disabled. */
bool apic_init(void)
{
    uint64_t base = rdmsr(MSR_APIC_BASE);
    if (!(base & APIC_BASE_EN)) {
        fail("IA32_APIC_BASE=%llx: APIC globally disabled", base);
        return false;
    }
    apic_mmio = (uint32_t)base & 0xFFFFF000;
    xapic_write(XAPIC_SVR, xapic_read(XAPIC_SVR) | BIT(8) | 0xFF);
    return true;
}

uint32_t apic_id(void) { return xapic_read(XAPIC_ID) >> 24; }

/* One IPI to one APIC ID. xAPIC: write the destination (ICR[63:56]) first, the low half sends;
 * then wait for delivery status idle. x2APIC: one WRMSR, destination in ICR[63:32] (10.12.9). */
bool send_ipi(bool x2, uint32_t dest, uint32_t icr)
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

/* --- PM32 trampoline, copied to PM32_TRAMP_BASE: real mode -> 32-bit protected mode with a flat
 * GDT, then ap_pm32_entry() on the stack ap_pm32_stack (both set before the SIPI). */
void (*volatile ap_pm32_entry)(void);
void *volatile ap_pm32_stack;
extern const char pm32_tramp_start[], pm32_tramp_end[];

__asm__(
    "    .text\n"
    "    .code16\n"
    "pm32_tramp_start:\n"                   /* CS = PM32_TRAMP_BASE >> 4, IP = 0 */
    "    cli\n"
    "    mov %cs, %ax\n"
    "    mov %ax, %ds\n"
    "    lgdtl pm32_tramp_gdtr - pm32_tramp_start\n"
    "    mov %cr0, %eax\n"
    "    or $1, %eax\n"
    "    mov %eax, %cr0\n"
    "    ljmpl $0x08, $pm32_tramp_pm32\n"
    "    .p2align 3\n"
    "pm32_tramp_gdt:\n"
    "    .quad 0, 0x00CF9A000000FFFF, 0x00CF92000000FFFF\n"
    "pm32_tramp_gdtr:\n"
    "    .word 23\n"
    "    .long " "0xa000" " + pm32_tramp_gdt - pm32_tramp_start\n"
    "pm32_tramp_end:\n"
    "    .code32\n"
    "pm32_tramp_pm32:\n"
    "    mov $0x10, %ax\n"
    "    mov %ax, %ds\n"
    "    mov %ax, %es\n"
    "    mov %ax, %ss\n"
    "    mov ap_pm32_stack, %esp\n"
    "    call *ap_pm32_entry\n"
    "2:  cli\n"
    "    hlt\n"
    "    jmp 2b\n");
_Static_assert(PM32_TRAMP_BASE == 0xa000, "the trampoline's GDTR above");

/* INIT, 10 ms, SIPI, 200 us, SIPI (8.4.4.1) to one AP, which then runs entry() on stack_top. */
void start_ap_pm32(uint32_t dest, void (*entry)(void), void *stack_top)
{
    ap_pm32_entry = entry;
    ap_pm32_stack = stack_top;
    memcpy((void *)PM32_TRAMP_BASE, pm32_tramp_start, (size_t)(pm32_tramp_end - pm32_tramp_start));
    static const uint32_t seq[3] = { ICR_INIT, ICR_STARTUP | PM32_TRAMP_BASE >> 12, ICR_STARTUP | PM32_TRAMP_BASE >> 12 };
    static const uint32_t wait_us[3] = { 10000, 200, 0 };
    for (int s = 0; s < 3; s++) {
        if (!send_ipi(false, dest, seq[s]))
            return;
        udelay(wait_us[s]);
    }
}
