/* A TrustVisor PAL called from L2 (issue 9 point 6): an L2 at CPL 3 (protected mode, L1's page
 * tables) detects TrustVisor with the L2 CPUID leaf, makes TV_HC_TEST, registers a one-page PAL
 * (CODE, PARAM, STACK) with two integer and one pointer parameter, calls it twice (the word
 * pointed to is copied in and back), unregisters it (its code page comes back zeroed), and
 * tries bad inputs (a section outside guest RAM, the entry outside CODE, a second registration,
 * a second unregistration, a PAL that faults). Twice: on L1's memory (no EPT), then on L1's EPT (EPT12), which maps
 * the PAL's code page and the pointer argument's page to other pages of L1's (the hypervisor
 * must register, lend, scrub and copy back through those, and leave the pages at the same L1
 * addresses alone) and lacks one page (a section there, or the sections structure there: an
 * error). L0 takes all of these, so L1 sees L2's final VMCALL only. Without TrustVisor (bare
 * Bochs, another hypapp) the detection CPUID exits to L1: a skip note. */
#include "l1.h"
#define TV_L2 /* VMCALL numbers and the CPUID ECX carry TV_VMCALL_OFFSET */
#include <tv_abi.h>
#include <tv_errors.h>

#define AR_USER_CODE 0xC0FB                   /* G, D/B, P, DPL 3, S, execute/read accessed */
#define AR_USER_DATA 0xC0F3
#define TEST_VALUE 0x4c327e57u
#define NOT_RAM 0xF0000000u                   /* identity mapped by L1, above the guest's RAM */

/* The PAL, cdecl: *p += a, return (a << 4) + b. */
static const uint8_t pal_text[] = {
    0x8B, 0x44, 0x24, 0x04,                   /* mov 4(%esp), %eax */
    0x8B, 0x4C, 0x24, 0x0C,                   /* mov 12(%esp), %ecx */
    0x01, 0x01,                               /* add %eax, (%ecx) */
    0xC1, 0xE0, 0x04,                         /* shl $4, %eax */
    0x03, 0x44, 0x24, 0x08,                   /* add 8(%esp), %eax */
    0xC3,                                     /* ret */
};
#define PAGE __attribute__((aligned(4096)))
static const uint8_t faulting_text[] = { 0x0F, 0x0B };  /* ud2 */
static uint8_t pal_code[4096] PAGE, pal_param[4096] PAGE, pal_stack[4096] PAGE;
/* The PAL's pointer argument: one word in a page of its own */
static uint32_t arg_page[1024] PAGE;
#define ARG_START 0x100u
/* EPT12: L2's pal_code and arg_page are L1's code_of_l2 and arg_of_l2; no_ept12 is not mapped */
static uint8_t code_of_l2[4096] PAGE, no_ept12[4096] PAGE;
static uint32_t arg_of_l2[1024] PAGE;
#define L1_MARK 0xCC                          /* in L1's own pal_code while L2 uses EPT12 */
static struct tv_pal_sections sections;
static struct tv_pal_params params = { .count = 3, .params = { { .type = TV_PAL_PM_INTEGER },
    { .type = TV_PAL_PM_INTEGER }, { .type = TV_PAL_PM_POINTER, .size = 1 } } };

/* What L2 saw, for L1 to check. */
static struct l2_results {
    bool ept12;                               /* in: L1 runs L2 with EPT */
    struct tv_cpuid id;
    uint32_t test, bad_ram, bad_entry, bad_ept12, bad_struct, reg, reg_again, sum1, sum2, unreg, unreg_again;
    uint32_t code_after, arg_after, reg_faulting, fault, unreg_faulting;
} out;

/* CODE, PARAM, STACK, and a DATA page if data is not 0 */
static void set_sections(uint32_t code, uint32_t data)
{
    sections = (struct tv_pal_sections){ .count = data ? 4 : 3, .sections = {
        { .type = TV_PAL_SECTION_CODE, .pages = 1, .start = code },
        { .type = TV_PAL_SECTION_PARAM, .pages = 1, .start = (uint32_t)pal_param },
        { .type = TV_PAL_SECTION_STACK, .pages = 1, .start = (uint32_t)pal_stack },
        { .type = TV_PAL_SECTION_DATA, .pages = 1, .start = data } } };
}

static uint32_t reg(uint32_t entry)
{
    return tv_vmcall(TV_HC_REG, (uintptr_t)&sections, (uintptr_t)&params, entry);
}

/* L2, CPL 3 */
static void l2_client(void *arg)
{
    struct l2_results *r = arg;
    r->id = tv_cpuid();
    if (!tv_present(r->id))
        return;
    r->test = tv_vmcall(TV_HC_TEST, TEST_VALUE, 0, 0);
    set_sections(NOT_RAM, 0);
    r->bad_ram = reg(NOT_RAM);
    if (r->ept12) {
        set_sections((uint32_t)pal_code, (uint32_t)no_ept12);
        r->bad_ept12 = reg((uint32_t)pal_code);
        r->bad_struct = tv_vmcall(TV_HC_REG, (uintptr_t)no_ept12, (uintptr_t)&params, (uintptr_t)pal_code);
    }
    set_sections((uint32_t)pal_code, 0);
    r->bad_entry = reg((uint32_t)pal_param);
    r->reg = reg((uint32_t)pal_code);
    r->reg_again = reg((uint32_t)pal_code);
    uint32_t (*pal)(uint32_t, uint32_t, uint32_t *) = (uint32_t (*)(uint32_t, uint32_t, uint32_t *))(uintptr_t)pal_code;
    volatile uint32_t *word = arg_page;
    *word = ARG_START;
    r->sum1 = pal(0x12, 0x34, arg_page);
    r->sum2 = pal(0x1000, 7, arg_page);
    r->arg_after = *word;
    r->unreg = tv_vmcall(TV_HC_UNREG, (uintptr_t)pal_code, 0, 0);
    r->unreg_again = tv_vmcall(TV_HC_UNREG, (uintptr_t)pal_code, 0, 0);
    r->code_after = pal_code[0];
    /* a PAL that faults (#UD, in L1's exception bitmap too): its caller gets the error */
    memcpy(pal_code, faulting_text, sizeof faulting_text);
    r->reg_faulting = reg((uint32_t)pal_code);
    r->fault = pal(1, 2, arg_page);
    r->unreg_faulting = tv_vmcall(TV_HC_UNREG, (uintptr_t)pal_code, 0, 0);
}

/* L2 at CPL 3 on L1's flat user segments. */
static void user_segments(void)
{
    static const uint32_t data_segs[] = { VMCS_GUEST_ES_SEL, VMCS_GUEST_SS_SEL, VMCS_GUEST_DS_SEL,
                                          VMCS_GUEST_FS_SEL, VMCS_GUEST_GS_SEL };
    for (unsigned i = 0; i < sizeof data_segs / sizeof data_segs[0]; i++) {
        vmcs_set(data_segs[i], SEL_USER_DATA);
        vmcs_set(data_segs[i] + VMCS_GUEST_ES_AR - VMCS_GUEST_ES_SEL, AR_USER_DATA);
    }
    vmcs_set(VMCS_GUEST_CS_SEL, SEL_USER_CODE);
    vmcs_set(VMCS_GUEST_CS_AR, AR_USER_CODE);
}

/* EPT12: identity, but L2's pal_code page is L1's code_of_l2 and no_ept12 is absent. */
static uint64_t pal_ept12(void)
{
    uint64_t eptp = ept_identity();
    ept_split_4k((uint32_t)pal_code);
    g_ept_pt[((uint32_t)pal_code >> 12) & 511] = (uint32_t)code_of_l2 | EPT_MT_WB | EPT_RWX;
    g_ept_pt[((uint32_t)arg_page >> 12) & 511] = (uint32_t)arg_of_l2 | EPT_MT_WB | EPT_RWX;
    g_ept_pt[((uint32_t)no_ept12 >> 12) & 511] = 0;
    return eptp;
}

/* One L2 run to its end; false if TrustVisor is not there (its CPUID exited to L1). */
static bool run_client(bool ept12)
{
    struct l2_config c = { .exception_bitmap = 0xFFFFFFFF };
    if (ept12)
        c.proc2 = PROC2_EPT, c.eptp = pal_ept12();
    memset(&out, 0, sizeof out);
    out.ept12 = ept12;
    memcpy(ept12 ? code_of_l2 : pal_code, pal_text, sizeof pal_text);
    if (ept12) {
        memset(pal_code, L1_MARK, sizeof pal_code);
        arg_page[0] = L1_MARK;
    }
    l2_vmcs_init(0, &c, l2_client, &out);
    user_segments();
    struct l2_exit e;
    if (g_result.failed || !l2_run(&e, NULL))
        return false;
    if (e.reason == EXIT_CPUID && g_l2.eax == TV_CPUID_LEAF && g_l2.ecx == TV_VMCALL_OFFSET) {
        g_l2.eax = 0;                         /* not TrustVisor's signature: L2 ends */
        l2_skip(&e);
        l2_run_to_end();
        return false;
    }
    if (expect_exit("L2 until its end", &e, EXIT_VMCALL) && g_l2.eax != L2_DONE_MAGIC)
        fail("L2 VMCALL with EAX %x", g_l2.eax);
    return !g_result.failed;
}

static void expect_value(const char *what, uint32_t got, uint32_t want)
{
    if (got != want)
        fail("%s: %x, want %x", what, got, want);
}

/* What the L2 run got (ept12: the one on EPT12). */
static void check_client(bool ept12)
{
    expect_value("detection EBX (no PAL)", out.id.ebx, TV_CPUID_NO_PAL);
    expect_value("detection ECX", out.id.ecx, ept12 ? TV_CPUID_ECX_EPT12 : 0);
    expect_value("TV_HC_TEST", out.test, TV_OK);
    expect_value("TV_HC_REG, CODE outside RAM", out.bad_ram, TV_ERR_SECTION_NOT_RAM);
    if (ept12) {
        expect_value("TV_HC_REG, DATA not in EPT12", out.bad_ept12, TV_ERR_SECTION_NOT_RAM);
        expect_value("TV_HC_REG, sections not in EPT12", out.bad_struct, TV_ERR_STRUCT_UNREADABLE);
    }
    expect_value("TV_HC_REG, entry in PARAM", out.bad_entry, TV_ERR_ENTRY_OUTSIDE_CODE);
    expect_value("TV_HC_REG", out.reg, TV_OK);
    expect_value("TV_HC_REG again", out.reg_again, TV_ERR_ALREADY_REGISTERED);
    expect_value("PAL(0x12, 0x34)", out.sum1, 0x154);
    expect_value("PAL(0x1000, 7)", out.sum2, 0x10007);
    expect_value("the pointer argument after both calls", out.arg_after, ARG_START + 0x12 + 0x1000);
    expect_value("TV_HC_UNREG", out.unreg, TV_OK);
    expect_value("TV_HC_UNREG again", out.unreg_again, TV_ERR_UNKNOWN_ENTRY);
    expect_value("PAL code after TV_HC_UNREG", out.code_after, 0);
    expect_value("TV_HC_REG of a faulting PAL", out.reg_faulting, TV_OK);
    expect_value("a faulting PAL's call", out.fault, TV_ERR_PAL_FAULT);
    expect_value("TV_HC_UNREG of a faulting PAL", out.unreg_faulting, TV_OK);
    if (ept12 && (pal_code[0] != L1_MARK || pal_code[4095] != L1_MARK || code_of_l2[0]))
        fail("EPT12: L1's pal_code %x..%x (want %x), code_of_l2 %x (want 0)", pal_code[0], pal_code[4095], L1_MARK,
             code_of_l2[0]);
    if (ept12 && (arg_page[0] != L1_MARK || arg_of_l2[0] != ARG_START + 0x12 + 0x1000))
        fail("EPT12: L1's arg_page %x (want %x), arg_of_l2 %x", arg_page[0], L1_MARK, arg_of_l2[0]);
}

static void pal_l2(void)
{
    uint32_t region = (uint32_t)pal_code >> 21;
    if ((uint32_t)no_ept12 >> 21 != region || (uint32_t)code_of_l2 >> 21 != region ||
        (uint32_t)arg_page >> 21 != region || (uint32_t)arg_of_l2 >> 21 != region) {
        fail("the pages EPT12 remaps are not in one 2 MiB page (ept_split_4k)");
        return;
    }
    if (!vmx_on())
        return;
    if (!run_client(false)) {
        if (!g_result.failed)
            note("skip: no TrustVisor for L2");
        vmx_off();
        return;
    }
    check_client(false);
    uint32_t sum = out.sum1;
    if (!cap_allows(g_caps.proc, PROC_SECONDARY) || !cap_allows(g_caps.proc2, PROC2_EPT)) {
        note("PAL(0x12, 0x34) = 0x%x, no EPT12", sum);
    } else if (run_client(true)) {
        check_client(true);
        note("PAL(0x12, 0x34) = 0x%x, on EPT12 0x%x", sum, out.sum1);
    } else if (!g_result.failed) {
        fail("no TrustVisor for an L2 with EPT12");
    }
    vmx_off();
}

const struct l1_test pal_l2_tests[] = {
    { "pal_l2", pal_l2 },
};
const int n_pal_l2_tests = sizeof pal_l2_tests / sizeof pal_l2_tests[0];
