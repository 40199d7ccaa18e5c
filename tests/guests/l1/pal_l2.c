/* A TrustVisor PAL called from L2 (issue 9 point 6): an L2 at CPL 3 (protected mode, L1's page
 * tables) detects TrustVisor with the L2 CPUID leaf, makes TV_HC_TEST, registers a one-page PAL
 * (CODE, PARAM, STACK) with two integer parameters, calls it twice, unregisters it (its code
 * page comes back zeroed), and tries bad registrations (a section outside guest RAM, the entry
 * outside CODE); then the same L2 on L1's EPT (EPT12): detection says so and TV_HC_REG answers
 * TV_ERR_UNSUPPORTED (hypapps/trustvisor/README.md "L2 callers"). L0 takes all of these, so L1
 * sees L2's final VMCALL only. Without TrustVisor (bare Bochs, another hypapp) the detection
 * CPUID exits to L1: a skip note. */
#include "l1.h"
#define TV_L2 /* VMCALL numbers and the CPUID ECX carry TV_VMCALL_OFFSET */
#include <tv_abi.h>
#include <tv_errors.h>

#define AR_USER_CODE 0xC0FB                   /* G, D/B, P, DPL 3, S, execute/read accessed */
#define AR_USER_DATA 0xC0F3
#define TEST_VALUE 0x4c327e57u
#define NOT_RAM 0xF0000000u                   /* identity mapped by L1, above the guest's RAM */

/* The PAL, cdecl: return (a << 4) + b. */
static const uint8_t pal_text[] = {
    0x8B, 0x44, 0x24, 0x04,                   /* mov 4(%esp), %eax */
    0xC1, 0xE0, 0x04,                         /* shl $4, %eax */
    0x03, 0x44, 0x24, 0x08,                   /* add 8(%esp), %eax */
    0xC3,                                     /* ret */
};
static uint8_t pal_code[4096] __attribute__((aligned(4096)));
static uint8_t pal_param[4096] __attribute__((aligned(4096)));
static uint8_t pal_stack[4096] __attribute__((aligned(4096)));
static struct tv_pal_sections sections;
static struct tv_pal_params params = { .count = 2, .params = { { .type = TV_PAL_PM_INTEGER }, { .type = TV_PAL_PM_INTEGER } } };

/* What L2 saw, for L1 to check. */
static struct l2_results {
    bool ept12;                               /* in: L1 runs L2 with EPT */
    struct tv_cpuid id;
    uint32_t test, bad_ram, bad_entry, reg, sum1, sum2, unreg, code_after;
} out;

static void set_sections(uint32_t code)
{
    sections = (struct tv_pal_sections){ .count = 3, .sections = {
        { .type = TV_PAL_SECTION_CODE, .pages = 1, .start = code },
        { .type = TV_PAL_SECTION_PARAM, .pages = 1, .start = (uint32_t)pal_param },
        { .type = TV_PAL_SECTION_STACK, .pages = 1, .start = (uint32_t)pal_stack } } };
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
    if (r->ept12) {
        set_sections((uint32_t)pal_code);
        r->reg = reg((uint32_t)pal_code);
        return;
    }
    set_sections(NOT_RAM);
    r->bad_ram = reg(NOT_RAM);
    set_sections((uint32_t)pal_code);
    r->bad_entry = reg((uint32_t)pal_param);
    r->reg = reg((uint32_t)pal_code);
    uint32_t (*pal)(uint32_t, uint32_t) = (uint32_t (*)(uint32_t, uint32_t))(uintptr_t)pal_code;
    r->sum1 = pal(0x12, 0x34);
    r->sum2 = pal(0x1000, 7);
    r->unreg = tv_vmcall(TV_HC_UNREG, (uintptr_t)pal_code, 0, 0);
    r->code_after = pal_code[0];
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

/* One L2 run to its end; false if TrustVisor is not there (its CPUID exited to L1). */
static bool run_client(bool ept12)
{
    struct l2_config c = { .exception_bitmap = 0xFFFFFFFF };
    if (ept12)
        c.proc2 = PROC2_EPT, c.eptp = ept_identity();
    memset(&out, 0, sizeof out);
    out.ept12 = ept12;
    memcpy(pal_code, pal_text, sizeof pal_text);
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

static void pal_l2(void)
{
    if (!vmx_on())
        return;
    if (!run_client(false)) {
        if (!g_result.failed)
            note("skip: no TrustVisor for L2");
        vmx_off();
        return;
    }
    expect_value("detection EBX (no PAL)", out.id.ebx, TV_CPUID_NO_PAL);
    expect_value("detection ECX", out.id.ecx, 0);
    expect_value("TV_HC_TEST", out.test, TV_OK);
    expect_value("TV_HC_REG, CODE outside RAM", out.bad_ram, TV_ERR_SECTION_NOT_RAM);
    expect_value("TV_HC_REG, entry in PARAM", out.bad_entry, TV_ERR_ENTRY_OUTSIDE_CODE);
    expect_value("TV_HC_REG", out.reg, TV_OK);
    expect_value("PAL(0x12, 0x34)", out.sum1, 0x154);
    expect_value("PAL(0x1000, 7)", out.sum2, 0x10007);
    expect_value("TV_HC_UNREG", out.unreg, TV_OK);
    expect_value("PAL code after TV_HC_UNREG", out.code_after, 0);
    uint32_t sum = out.sum1;
    if (!cap_allows(g_caps.proc, PROC_SECONDARY) || !cap_allows(g_caps.proc2, PROC2_EPT)) {
        note("PAL(0x12, 0x34) = 0x%x, no EPT12", sum);
    } else if (run_client(true)) {
        expect_value("detection ECX with EPT12", out.id.ecx, TV_CPUID_ECX_EPT12);
        expect_value("TV_HC_TEST with EPT12", out.test, TV_OK);
        expect_value("TV_HC_REG with EPT12", out.reg, TV_ERR_UNSUPPORTED);
        note("PAL(0x12, 0x34) = 0x%x, with EPT12 TV_HC_REG %u", sum, out.reg);
    } else if (!g_result.failed) {
        fail("no TrustVisor for an L2 with EPT12");
    }
    vmx_off();
}

const struct l1_test pal_l2_tests[] = {
    { "pal_l2", pal_l2 },
};
const int n_pal_l2_tests = sizeof pal_l2_tests / sizeof pal_l2_tests[0];
