/* The VMX instruction bad-input matrix (SDM Vol.3C 30.3, each instruction's Operation section;
 * error numbers Table 30-1): #UD outside VMX operation, #GP at CPL 3, VMfailInvalid without a
 * current VMCS, VMfailValid(n) with one. Each test starts and ends outside VMX operation. */
#include "l1.h"

enum op { OP_VMXON, OP_VMXOFF, OP_VMCLEAR, OP_VMPTRLD, OP_VMPTRST, OP_VMREAD, OP_VMWRITE, OP_VMLAUNCH,
          OP_VMRESUME, OP_INVEPT, OP_INVVPID, N_OPS };
static const char *const op_name[N_OPS] = { "VMXON", "VMXOFF", "VMCLEAR", "VMPTRLD", "VMPTRST", "VMREAD",
                                            "VMWRITE", "VMLAUNCH", "VMRESUME", "INVEPT", "INVVPID" };
static uint64_t ptrst_out;
static const struct inv_desc vpid1_desc = { 1, 0 };

static void do_op(void *a)
{
    uint32_t v;
    switch (*(const enum op *)a) {
    case OP_VMXON: vmxon(&g_page_pa[PAGE_VMXON]); break;
    case OP_VMXOFF: vmxoff(); break;
    case OP_VMCLEAR: vmclear(&g_page_pa[PAGE_VMCS(0)]); break;
    case OP_VMPTRLD: vmptrld(&g_page_pa[PAGE_VMCS(0)]); break;
    case OP_VMPTRST: vmptrst(&ptrst_out); break;
    case OP_VMREAD: vmread(VMCS_GUEST_CR0, &v); break;
    case OP_VMWRITE: vmwrite(VMCS_GUEST_CR0, 0); break;
    case OP_VMLAUNCH: vmlaunch_fail(); break;
    case OP_VMRESUME: vmresume_fail(); break;
    case OP_INVEPT: invept(INVEPT_ALL, &vpid1_desc); break;
    case OP_INVVPID: invvpid(INVVPID_ALL, &vpid1_desc); break;
    case N_OPS: break;
    }
}

/* fail() unless op raises `vector` with error code 0 (#UD pushes none: the stub's 0) */
static void expect_op_fault(enum op op, bool ring3, int vector, const char *when)
{
    int v = ring3 ? run_ring3(do_op, &op) : try_call(do_op, &op);
    if (v != vector || fault_error != 0)
        fail("%s %s: vector %d error %x, want %d error 0", op_name[op], when, v, v >= 0 ? fault_error : 0, vector);
}

static unsigned maxphyaddr(void)
{
    return cpuid(0x80000000, 0).eax >= 0x80000008 ? cpuid(0x80000008, 0).eax & 0xFF : 36;
}

static uint32_t revision(void) { return VMX_BASIC_REVISION(g_caps.basic); }

/* A clean current VMCS: VMCS(i) initialized, VMCLEARed and VMPTRLDed. */
static bool load_vmcs(int i)
{
    vmx_page_init(PAGE_VMCS(i), revision());
    return expect_vm("VMCLEAR", vmclear(&g_page_pa[PAGE_VMCS(i)]), VM_SUCCEED, 0) &&
           expect_vm("VMPTRLD", vmptrld(&g_page_pa[PAGE_VMCS(i)]), VM_SUCCEED, 0);
}

/* VMXON with CR4.VMXE = 0: #UD (30.3 VMXON) */
static void vmxon_vmxe_clear_ud(void)
{
    write_cr0((read_cr0() | (uint32_t)g_caps.cr0_fixed0) & (uint32_t)g_caps.cr0_fixed1);
    vmxe_set(false);
    vmx_page_init(PAGE_VMXON, revision());
    expect_op_fault(OP_VMXON, false, VEC_UD, "with CR4.VMXE=0");
}

/* CR4.VMXE = 1 but not in VMX operation: every other VMX instruction #UDs */
static void outside_vmx_ud(void)
{
    vmxe_set(true);
    for (enum op op = OP_VMXOFF; op < N_OPS; op++)
        expect_op_fault(op, false, VEC_UD, "outside VMX operation");
    vmxe_set(false);
}

/* CPL > 0: #GP(0), outside VMX operation (VMXON) and inside (the others) */
static void cpl3_gp(void)
{
    vmxe_set(true);
    vmx_page_init(PAGE_VMXON, revision());
    expect_op_fault(OP_VMXON, true, VEC_GP, "at CPL 3");
    if (!vmx_on())
        return;
    for (enum op op = OP_VMXON; op < N_OPS; op++)
        expect_op_fault(op, true, VEC_GP, "at CPL 3 in VMX root");
    vmx_off();
}

/* VMXON pointer not 4 KiB aligned, beyond MAXPHYADDR, or a region with the wrong revision
 * identifier or bit 31 set: VMfailInvalid (not in VMX operation: there is no current VMCS). */
static void vmxon_bad_region(void)
{
    vmxe_set(true);
    write_cr0((read_cr0() | (uint32_t)g_caps.cr0_fixed0) & (uint32_t)g_caps.cr0_fixed1);
    write_cr4((read_cr4() | (uint32_t)g_caps.cr4_fixed0) & (uint32_t)g_caps.cr4_fixed1);
    uint64_t pa = g_page_pa[PAGE_VMXON];
    struct { const char *what; uint64_t pa; uint32_t rev; } t[] = {
        { "unaligned pointer", pa + 0x800, revision() },
        { "pointer beyond MAXPHYADDR", pa | 1ull << maxphyaddr(), revision() },
        { "wrong revision", pa, revision() ^ 1 },
        { "revision with bit 31", pa, revision() | BIT(31) },
    };
    for (unsigned i = 0; i < sizeof t / sizeof t[0]; i++) {
        vmx_page_init(PAGE_VMXON, t[i].rev);
        char what[48];
        sformat(what, sizeof what, "VMXON %s", t[i].what);
        if (!expect_vm(what, vmxon(&t[i].pa), VM_FAIL_INVALID, 0) && vmxoff() == VM_SUCCEED)
            break;
    }
    if (vmx_on())
        vmx_off();
}

/* VMXON in VMX root: VMfail(15): VMfailInvalid without a current VMCS, VMfailValid with one */
static void vmxon_twice(void)
{
    if (!vmx_on())
        return;
    expect_vm("VMXON again, no current VMCS", vmxon(&g_page_pa[PAGE_VMXON]), VM_FAIL_INVALID, 0);
    if (load_vmcs(0))
        expect_vm("VMXON again", vmxon(&g_page_pa[PAGE_VMXON]), VM_FAIL_VALID, VMERR_VMXON_IN_ROOT);
    vmx_off();
}

/* VMCLEAR: bad address (2), the VMXON pointer (3) */
static void vmclear_bad(void)
{
    if (!vmx_on())
        return;
    uint64_t vmxon_pa = g_page_pa[PAGE_VMXON], unaligned = g_page_pa[PAGE_VMCS(1)] + 8;
    uint64_t beyond = g_page_pa[PAGE_VMCS(1)] | 1ull << maxphyaddr();
    expect_vm("VMCLEAR of the VMXON pointer, no current VMCS", vmclear(&vmxon_pa), VM_FAIL_INVALID, 0);
    if (load_vmcs(0)) {
        expect_vm("VMCLEAR of the VMXON pointer", vmclear(&vmxon_pa), VM_FAIL_VALID, VMERR_VMCLEAR_VMXON_PTR);
        expect_vm("VMCLEAR unaligned", vmclear(&unaligned), VM_FAIL_VALID, VMERR_VMCLEAR_BAD_ADDR);
        expect_vm("VMCLEAR beyond MAXPHYADDR", vmclear(&beyond), VM_FAIL_VALID, VMERR_VMCLEAR_BAD_ADDR);
    }
    vmx_off();
}

/* VMPTRLD: bad address (9), the VMXON pointer (10), wrong revision (11); a shadow-VMCS
 * indicator without VMCS shadowing is a wrong revision too */
static void vmptrld_bad(void)
{
    if (!vmx_on())
        return;
    uint64_t vmxon_pa = g_page_pa[PAGE_VMXON], unaligned = g_page_pa[PAGE_VMCS(1)] + 8;
    uint64_t other = g_page_pa[PAGE_VMCS(1)];
    expect_vm("VMPTRLD of the VMXON pointer, no current VMCS", vmptrld(&vmxon_pa), VM_FAIL_INVALID, 0);
    if (load_vmcs(0)) {
        expect_vm("VMPTRLD of the VMXON pointer", vmptrld(&vmxon_pa), VM_FAIL_VALID, VMERR_VMPTRLD_VMXON_PTR);
        expect_vm("VMPTRLD unaligned", vmptrld(&unaligned), VM_FAIL_VALID, VMERR_VMPTRLD_BAD_ADDR);
        vmx_page_init(PAGE_VMCS(1), revision() ^ 1);
        expect_vm("VMPTRLD wrong revision", vmptrld(&other), VM_FAIL_VALID, VMERR_VMPTRLD_BAD_REVISION);
        if (!cap_allows(g_caps.proc2, PROC2_VMCS_SHADOWING)) {
            vmx_page_init(PAGE_VMCS(1), revision() | BIT(31));
            expect_vm("VMPTRLD shadow VMCS", vmptrld(&other), VM_FAIL_VALID, VMERR_VMPTRLD_BAD_REVISION);
        }
        uint64_t cur = 0;
        if (expect_vm("VMPTRST", vmptrst(&cur), VM_SUCCEED, 0) && cur != g_page_pa[PAGE_VMCS(0)])
            fail("VMPTRST %llx after the failed VMPTRLDs, want %llx", cur, g_page_pa[PAGE_VMCS(0)]);
    }
    vmx_off();
}

/* No current VMCS (after VMXON, and after VMCLEAR of the current one): VMPTRST stores
 * FFFFFFFF_FFFFFFFF; VMREAD, VMWRITE, VMLAUNCH, VMRESUME, VMCALL: VMfailInvalid */
static void expect_no_current_vmcs(const char *when)
{
    uint64_t cur = 0;
    uint32_t v;
    char what[64];
    sformat(what, sizeof what, "VMPTRST %s", when);
    if (expect_vm(what, vmptrst(&cur), VM_SUCCEED, 0) && cur != ~0ull)
        fail("VMPTRST %s: %llx, want ffffffffffffffff", when, cur);
    static const char *const names[5] = { "VMREAD", "VMWRITE", "VMLAUNCH", "VMRESUME", "VMCALL" };
    for (int i = 0; i < 5; i++) {
        uint32_t fl = i == 0 ? vmread(VMCS_GUEST_RIP, &v) : i == 1 ? vmwrite(VMCS_GUEST_RIP, 0) :
                      i == 2 ? vmlaunch_fail() : i == 3 ? vmresume_fail() : vmcall_root();
        sformat(what, sizeof what, "%s %s", names[i], when);
        expect_vm(what, fl, VM_FAIL_INVALID, 0);
    }
}

static void no_current_vmcs(void)
{
    if (!vmx_on())
        return;
    expect_no_current_vmcs("after VMXON");
    if (load_vmcs(0) && expect_vm("VMCLEAR", vmclear(&g_page_pa[PAGE_VMCS(0)]), VM_SUCCEED, 0))
        expect_no_current_vmcs("after VMCLEAR of the current VMCS");
    vmx_off();
}

/* VMREAD/VMWRITE of encodings that name no field: VMfailValid(12) (30.3, 24.11.2: bits 31:15
 * must be 0, bit 12 is reserved, the high access type exists only for 64-bit fields). Bochs 2.7
 * stops with a failed assertion (vmx.cc:238) for the high access type of a 16/32-bit/natural
 * field on every CPU but the first (README.md): those three only on CPU 0. */
static void vmcs_bad_field(void)
{
    if (!vmx_on())
        return;
    static const uint32_t bad[] = { 0x8000 | VMCS_GUEST_CR0, 0x10000 | VMCS_GUEST_CR0, 0x7000,
                                    VMCS_GUEST_ES_SEL | VMCS_HIGH, VMCS_PIN_CONTROLS | VMCS_HIGH,
                                    VMCS_GUEST_CR0 | VMCS_HIGH };
    unsigned n = cpu_index() == 0 ? 6 : 3;
    if (load_vmcs(0))
        for (unsigned i = 0; i < n; i++) {
            uint32_t v;
            char what[40];
            sformat(what, sizeof what, "VMREAD %x", bad[i]);
            expect_vm(what, vmread(bad[i], &v), VM_FAIL_VALID, VMERR_UNSUPPORTED_FIELD);
            sformat(what, sizeof what, "VMWRITE %x", bad[i]);
            expect_vm(what, vmwrite(bad[i], 0), VM_FAIL_VALID, VMERR_UNSUPPORTED_FIELD);
        }
    vmx_off();
}

/* VMWRITE to a VM-exit information field: VMfailValid(13) unless IA32_VMX_MISC[29] */
static void vmwrite_read_only(void)
{
    if (!vmx_on())
        return;
    if (load_vmcs(0)) {
        uint32_t fl = vmwrite(VMCS_EXIT_QUALIFICATION, 0x1234);
        if (g_caps.misc & VMX_MISC_VMWRITE_ANY) {
            if (expect_vm("VMWRITE exit qualification (VMX_MISC[29]=1)", fl, VM_SUCCEED, 0) &&
                vmcs_get(VMCS_EXIT_QUALIFICATION) != 0x1234)
                fail("exit qualification %x after VMWRITE 1234", vmcs_get(VMCS_EXIT_QUALIFICATION));
        } else {
            expect_vm("VMWRITE exit qualification", fl, VM_FAIL_VALID, VMERR_READ_ONLY_FIELD);
        }
    }
    vmx_off();
}

/* VMRESUME of a clear VMCS (5); VMLAUNCH right after MOV SS (26). Not VMCALL in VMX root with a
 * current VMCS (VMfailValid(1)): Bochs 2.7 stops with "VMCALL: not implemented yet" (README.md). */
static void entry_insn_bad(void)
{
    if (!vmx_on())
        return;
    if (load_vmcs(0)) {
        expect_vm("VMRESUME of a clear VMCS", vmresume_fail(), VM_FAIL_VALID, VMERR_VMRESUME_NOT_LAUNCHED);
        expect_vm("VMLAUNCH after MOV SS", vmlaunch_after_mov_ss(), VM_FAIL_VALID, VMERR_ENTRY_MOV_SS);
    }
    vmx_off();
}

/* INVEPT/INVVPID: every type the capability MSR does not offer (and the reserved ones) is
 * VMfailValid(28); so is INVVPID with VPID 0 (other than all-context); offered types succeed. */
static void inv_types(void)
{
    if (!vmx_on())
        return;
    if (!load_vmcs(0)) {
        vmx_off();
        return;
    }
    bool ept = cap_allows(g_caps.proc2, PROC2_EPT) && (g_caps.ept_vpid & EPT_CAP_INVEPT);
    bool vpid = cap_allows(g_caps.proc2, PROC2_VPID) && (g_caps.ept_vpid & EPT_CAP_INVVPID);
    struct inv_desc eptp = { ept_identity(), 0 }, vpid0 = { 0, 0 };
    for (uint32_t type = 0; type < 5 && ept; type++) {
        bool ok = (type == INVEPT_SINGLE && (g_caps.ept_vpid & EPT_CAP_INVEPT_SINGLE)) ||
                  (type == INVEPT_ALL && (g_caps.ept_vpid & EPT_CAP_INVEPT_ALL));
        char what[32];
        sformat(what, sizeof what, "INVEPT type %u", type);
        expect_vm(what, invept(type, &eptp), ok ? VM_SUCCEED : VM_FAIL_VALID, VMERR_BAD_INVEPT_INVVPID);
    }
    static const uint64_t types[4] = { EPT_CAP_INVVPID_ADDR, EPT_CAP_INVVPID_SINGLE, EPT_CAP_INVVPID_ALL,
                                       EPT_CAP_INVVPID_RETAIN };
    for (uint32_t type = 0; type < 5 && vpid; type++) {
        bool ok = type < 4 && (g_caps.ept_vpid & types[type]);
        char what[40];
        sformat(what, sizeof what, "INVVPID type %u", type);
        expect_vm(what, invvpid(type, &vpid1_desc), ok ? VM_SUCCEED : VM_FAIL_VALID, VMERR_BAD_INVEPT_INVVPID);
        if (ok && type != INVVPID_ALL) {
            sformat(what, sizeof what, "INVVPID type %u, VPID 0", type);
            expect_vm(what, invvpid(type, &vpid0), VM_FAIL_VALID, VMERR_BAD_INVEPT_INVVPID);
        }
    }
    if (!ept && !vpid)
        note("skip: no INVEPT/INVVPID");
    vmx_off();
}

/* VMXON/VMXOFF cycles; CR4.VMXE cannot be cleared in VMX operation (#GP(0), 23.8); after
 * VMXOFF the instructions #UD again and VMXE can be cleared. */
static void do_clear_vmxe(void *a) { (void)a; write_cr4(read_cr4() & ~CR4_VMXE); }

static void vmxon_vmxoff_cycles(void)
{
    for (int round = 0; round < 5; round++) {
        if (!vmx_on())
            return;
        int v = try_call(do_clear_vmxe, NULL);
        if (v != VEC_GP || !(read_cr4() & CR4_VMXE))
            fail("round %d: clearing CR4.VMXE in VMX operation: vector %d, CR4 %x, want #GP", round, v, read_cr4());
        if (load_vmcs(round % 2)) {
            vmcs_set(VMCS_GUEST_RSP, 0x1000u * round);
            if (vmcs_get(VMCS_GUEST_RSP) != 0x1000u * round)
                fail("round %d: guest RSP %x", round, vmcs_get(VMCS_GUEST_RSP));
        }
        if (vmxoff() != VM_SUCCEED) {
            fail("round %d: VMXOFF failed", round);
            return;
        }
        expect_op_fault(OP_VMREAD, false, VEC_UD, "after VMXOFF");
        vmxe_set(false);
        if (read_cr4() & CR4_VMXE)
            fail("round %d: CR4.VMXE still set after VMXOFF", round);
    }
}

/* Several VMCSs: each VMPTRLD makes it current (VMPTRST), VMWRITEs go to the current one, and
 * the values survive VMCLEAR (written back to memory) and a new VMPTRLD. */
#define N_VMCS 4
static void expect_tags(const char *when)
{
    for (int i = 0; i < N_VMCS; i++) {
        uint64_t cur = 0;
        if (!expect_vm("VMPTRLD", vmptrld(&g_page_pa[PAGE_VMCS(i)]), VM_SUCCEED, 0))
            return;
        if (vmptrst(&cur) != VM_SUCCEED || cur != g_page_pa[PAGE_VMCS(i)])
            fail("%s: VMPTRST %llx, want %llx", when, cur, g_page_pa[PAGE_VMCS(i)]);
        if (vmcs_get(VMCS_GUEST_RIP) != 0xc0de0000u + i || vmcs_get(VMCS_GUEST_ES_SEL) != (uint32_t)i)
            fail("%s: VMCS %d: guest RIP %x ES %x", when, i, vmcs_get(VMCS_GUEST_RIP), vmcs_get(VMCS_GUEST_ES_SEL));
    }
}

static void vmcs_several(void)
{
    if (!vmx_on())
        return;
    for (int i = 0; i < N_VMCS; i++) {
        if (!load_vmcs(i))
            break;
        vmcs_set(VMCS_GUEST_RIP, 0xc0de0000u + i);
        vmcs_set(VMCS_GUEST_ES_SEL, (uint32_t)i);
    }
    expect_tags("while active");
    for (int i = 0; i < N_VMCS; i++)
        expect_vm("VMCLEAR", vmclear(&g_page_pa[PAGE_VMCS(i)]), VM_SUCCEED, 0);
    expect_tags("after VMCLEAR");
    vmx_off();
}

const struct l1_test vmx_insn_tests[] = {
    { "vmxon_vmxe_clear_ud", vmxon_vmxe_clear_ud },
    { "outside_vmx_ud", outside_vmx_ud },
    { "cpl3_gp", cpl3_gp },
    { "vmxon_bad_region", vmxon_bad_region },
    { "vmxon_twice", vmxon_twice },
    { "vmclear_bad", vmclear_bad },
    { "vmptrld_bad", vmptrld_bad },
    { "no_current_vmcs", no_current_vmcs },
    { "vmcs_bad_field", vmcs_bad_field },
    { "vmwrite_read_only", vmwrite_read_only },
    { "entry_insn_bad", entry_insn_bad },
    { "inv_types", inv_types },
    { "vmxon_vmxoff_cycles", vmxon_vmxoff_cycles },
    { "vmcs_several", vmcs_several },
};
const int n_vmx_insn_tests = sizeof vmx_insn_tests / sizeof vmx_insn_tests[0];
