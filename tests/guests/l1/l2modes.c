/* More L2 guests (issue 9 point 8): an unrestricted real-mode L2 (SDM Vol.3C 26.3.1.1 with
 * "unrestricted guest"), an NMI and an external interrupt arriving while L2 runs (25.2, 27.2.2,
 * "acknowledge interrupt on exit"), and EPTP switching with VMFUNC (25.5.6.3). */
#include "l1.h"

#define REAL_MODE_CODE 0x7000                /* below 1 MiB, free once GRUB has run */
#define AR_REAL_CODE 0x9B
#define AR_REAL_DATA 0x93
#define AR_TSS16_BUSY 0x8B
#define AR_UNUSABLE BIT(16)
#define CR0_ET BIT(4)
#define EXIT_EXTERNAL_INTERRUPT 1
#define EXIT_VMFUNC 59
#define EXIT_ACK_INTERRUPT BIT(15)
#define INTR_TYPE_EXTERNAL 0
#define INTR_TYPE_NMI (2u << 8)
#define XAPIC_EOI 0xB0
#define ICR_FIXED_SELF (1u << 18)
#define ICR_NMI 0x400
#define TEST_VECTOR 0x41
#define PIC1_DATA 0x21
#define PIC2_DATA 0xA1
#define VMFUNC_EPTP_SWITCH 0

static volatile uint32_t l2_out[2];

/* --- real mode: CPUID, MOV to memory, VMCALL at 0000:7000 ------------------------------------ */
static const uint8_t real_mode_code[] = {
    0x66, 0xB8, 0x31, 0x4C, 0x31, 0x4C,      /* mov $0x4c314c31, %eax */
    0x0F, 0xA2,                              /* cpuid */
    0x66, 0xA3, 0x00, 0x71,                  /* mov %eax, 0x7100 */
    0x0F, 0x01, 0xC1,                        /* vmcall */
};

static void real_segment(uint32_t i, uint32_t ar)
{
    vmcs_set(VMCS_GUEST_ES_SEL + 2 * i, 0);
    vmcs_set(VMCS_GUEST_ES_BASE + 2 * i, 0);
    vmcs_set(VMCS_GUEST_ES_LIMIT + 2 * i, 0xFFFF);
    vmcs_set(VMCS_GUEST_ES_AR + 2 * i, ar);
}

static void l2_real_mode(void)
{
    uint32_t need = PROC2_EPT | PROC2_UNRESTRICTED;
    if (!cap_allows(g_caps.proc, PROC_SECONDARY) || !cap_allows(g_caps.proc2, need)) {
        note("skip: no unrestricted guest");
        return;
    }
    if (!vmx_on())
        return;
    struct l2_config c = { .proc2 = need, .eptp = ept_identity(), .exception_bitmap = 0xFFFFFFFF };
    l2_vmcs_init(0, &c, NULL, NULL);
    memcpy((void *)REAL_MODE_CODE, real_mode_code, sizeof real_mode_code);
    poke32(REAL_MODE_CODE + 0x100, 0);
    vmcs_set(VMCS_GUEST_CR0, CR0_ET | CR0_NE);
    vmcs_set(VMCS_CR0_MASK, 0);
    vmcs_set(VMCS_GUEST_CR4, CR4_VMXE);
    vmcs_set(VMCS_GUEST_RIP, REAL_MODE_CODE);
    vmcs_set(VMCS_GUEST_RSP, REAL_MODE_CODE);
    for (uint32_t i = 0; i < 6; i++)         /* ES, CS, SS, DS, FS, GS */
        real_segment(i, i == 1 ? AR_REAL_CODE : AR_REAL_DATA);
    vmcs_set(VMCS_GUEST_TR_SEL, 0);
    vmcs_set(VMCS_GUEST_TR_BASE, 0);
    vmcs_set(VMCS_GUEST_TR_LIMIT, 0xFFFF);
    vmcs_set(VMCS_GUEST_TR_AR, AR_TSS16_BUSY);
    vmcs_set(VMCS_GUEST_GDTR_LIMIT, 0xFFFF);
    vmcs_set(VMCS_GUEST_IDTR_LIMIT, 0x3FF);
    vmcs_set(VMCS_GUEST_GDTR_BASE, 0);
    vmcs_set(VMCS_GUEST_IDTR_BASE, 0);
    struct l2_exit e;
    if (!g_result.failed && l2_run(&e, NULL) && expect_exit("real-mode CPUID", &e, EXIT_CPUID)) {
        if (g_l2.eax != 0x4c314c31 || e.insn_len != 2 || vmcs_get(VMCS_GUEST_RIP) != REAL_MODE_CODE + 6)
            fail("real-mode CPUID: EAX %x length %u IP %x", g_l2.eax, e.insn_len, vmcs_get(VMCS_GUEST_RIP));
        g_l2.eax = 0x600d;
        l2_skip(&e);
        if (l2_run(&e, NULL) && expect_exit("real-mode VMCALL", &e, EXIT_VMCALL) &&
            peek32(REAL_MODE_CODE + 0x100) != 0x600d)
            fail("real-mode L2 stored %x, want 600d", peek32(REAL_MODE_CODE + 0x100));
    }
    vmx_off();
}

/* --- an NMI and an external interrupt sent by L2 to its own APIC ----------------------------- */
static void l2_self_ipis(void *a)
{
    (void)a;
    xapic_write(XAPIC_ICR_HI, apic_id() << 24);
    xapic_write(XAPIC_ICR_LO, ICR_NMI);
    for (volatile int i = 0; i < 100000; i++)
        ;
    l2_out[0] = 1;                            /* not reached before the NMI exit, L1 checks */
    __asm__ volatile("sti");
    xapic_write(XAPIC_ICR_LO, ICR_FIXED_SELF | TEST_VECTOR);
    for (volatile int i = 0; i < 100000; i++)
        ;
    __asm__ volatile("cli");
    l2_out[1] = 1;
}

static void l2_interrupts(void)
{
    if (!cap_allows(g_caps.exit, EXIT_ACK_INTERRUPT)) {
        note("skip: no acknowledge interrupt on exit");
        return;
    }
    struct l2_config c = { .pin = PIN_NMI_EXITING | PIN_EXTINT_EXITING, .exit = EXIT_ACK_INTERRUPT,
                           .exception_bitmap = 0xFFFFFFFF };
    struct l2_exit e;
    l2_out[0] = l2_out[1] = 0;
    if (!vmx_on())
        return;
    uint8_t pic1 = inb(PIC1_DATA), pic2 = inb(PIC2_DATA);
    outb(PIC1_DATA, 0xFF);                   /* the 8259s stay quiet: only our IPI arrives */
    outb(PIC2_DATA, 0xFF);
    l2_vmcs_init(0, &c, l2_self_ipis, NULL);
    if (!g_result.failed && l2_run(&e, NULL) && expect_exit("NMI in L2", &e, EXIT_EXCEPTION_NMI)) {
        if (e.intr_info != (INTR_INFO_VALID | INTR_TYPE_NMI | 2) || l2_out[0])
            fail("NMI exit: interruption information %x (want %x), L2 went past its wait: %u", e.intr_info,
                 INTR_INFO_VALID | INTR_TYPE_NMI | 2, l2_out[0]);
        if (l2_run(&e, NULL) && expect_exit("external interrupt in L2", &e, EXIT_EXTERNAL_INTERRUPT)) {
            if (e.intr_info != (INTR_INFO_VALID | INTR_TYPE_EXTERNAL | TEST_VECTOR) || l2_out[1])
                fail("external-interrupt exit: interruption information %x (want %x), L2 done: %u", e.intr_info,
                     INTR_INFO_VALID | TEST_VECTOR, l2_out[1]);
            xapic_write(XAPIC_EOI, 0);        /* acknowledged on exit: in service until EOI */
            l2_run_to_end();
        }
    }
    outb(PIC1_DATA, pic1);
    outb(PIC2_DATA, pic2);
    vmx_off();
}

/* --- EPTP switching: VMFUNC 0 with ECX = index into the EPTP list, no VM exit; an index whose
 * entry is not a valid EPTP exits with reason 59 ------------------------------------------------ */
#define PAGE __attribute__((aligned(4096)))
static uint64_t eptp_list[512] PAGE, alt_pml4[512] PAGE, alt_pdpt[512] PAGE, alt_pd[512] PAGE, alt_pt[512] PAGE;
static uint32_t page_a[1024] PAGE, page_b[1024] PAGE;

static inline void vmfunc(uint32_t fn, uint32_t index)
{
    __asm__ volatile("vmfunc" : : "a"(fn), "c"(index) : "memory");
}

static void l2_switch(void *a)
{
    (void)a;
    l2_out[0] = page_a[0];
    vmfunc(VMFUNC_EPTP_SWITCH, 1);
    l2_out[1] = page_a[0];
    vmfunc(VMFUNC_EPTP_SWITCH, 0);
    vmfunc(VMFUNC_EPTP_SWITCH, 2);
}

/* the alternative EPT: the identity map, but page_a's GPA -> page_b */
static uint64_t alt_ept(void)
{
    uint32_t gpa = (uint32_t)page_a;
    memcpy(alt_pml4, g_ept_pml4, sizeof alt_pml4);
    memcpy(alt_pdpt, g_ept_pdpt, sizeof alt_pdpt);
    memcpy(alt_pd, g_ept_pd[gpa >> 30], sizeof alt_pd);
    for (uint32_t k = 0; k < 512; k++)
        alt_pt[k] = ((gpa & ~0x1FFFFFu) + k * 4096) | EPT_MT_WB | EPT_RWX;
    alt_pt[(gpa >> 12) & 511] = (uint32_t)page_b | EPT_MT_WB | EPT_RWX;
    alt_pd[(gpa >> 21) & 511] = (uint32_t)alt_pt | EPT_RWX;
    alt_pdpt[gpa >> 30] = (uint32_t)alt_pd | EPT_RWX;
    alt_pml4[0] = (uint32_t)alt_pdpt | EPT_RWX;
    return (uint32_t)alt_pml4 | EPTP_WB | EPTP_WALK4;
}

static void l2_eptp_switching(void)
{
    uint32_t need = PROC2_EPT | PROC2_VMFUNC;
    if (!cap_allows(g_caps.proc, PROC_SECONDARY) || !cap_allows(g_caps.proc2, need) ||
        !(g_caps.vmfunc & VMFUNC_EPTP_SWITCHING)) {
        note("skip: no EPTP switching");
        return;
    }
    if (!vmx_on())
        return;
    page_a[0] = 0xaaaa, page_b[0] = 0xbbbb;
    struct l2_config c = { .proc2 = need, .eptp = ept_identity(), .exception_bitmap = 0xFFFFFFFF };
    memset(eptp_list, 0, sizeof eptp_list);
    eptp_list[0] = c.eptp;
    eptp_list[1] = alt_ept();
    l2_vmcs_init(0, &c, l2_switch, NULL);
    vmcs_set64(VMCS_VMFUNC_CONTROLS, VMFUNC_EPTP_SWITCHING);
    vmcs_set64(VMCS_EPTP_LIST_ADDR, (uint32_t)eptp_list);
    struct l2_exit e;
    if (!g_result.failed && l2_run(&e, NULL) && expect_exit("VMFUNC to an invalid EPTP-list entry", &e, EXIT_VMFUNC)) {
        if (l2_out[0] != 0xaaaa || l2_out[1] != 0xbbbb)
            fail("L2 read %x then %x, want aaaa then bbbb", l2_out[0], l2_out[1]);
        if (g_l2.ecx != 2 || vmcs_get(VMCS_EPT_POINTER) != (uint32_t)eptp_list[0])
            fail("VMFUNC exit: ECX %u, EPTP %x (want 2, %x)", g_l2.ecx, vmcs_get(VMCS_EPT_POINTER),
                 (uint32_t)eptp_list[0]);
        l2_skip(&e);
        l2_run_to_end();
    }
    vmx_off();
}

const struct l1_test l2_mode_tests[] = {
    { "l2_real_mode", l2_real_mode },
    { "l2_interrupts", l2_interrupts },
    { "l2_eptp_switching", l2_eptp_switching },
};
const int n_l2_mode_tests = sizeof l2_mode_tests / sizeof l2_mode_tests[0];
