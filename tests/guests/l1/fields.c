/* VMREAD/VMWRITE of every VMCS field of appendix B: a field that exists (by the capability MSRs,
 * vmcs.h) takes a pattern and reads it back, also after VMCLEAR + VMPTRLD; one that does not
 * exist is VMfailValid(12) for both. From 32-bit mode a 64-bit field is two accesses (full and
 * high encodings; VMWRITE of the full one clears bits 63:32, 30.3 VMWRITE) and a natural-width one
 * holds 32 bits. Bochs 2.7 accepts the fields a CPU lacks on every CPU but the first (README.md):
 * they are checked on CPU 0 only. */
#include "l1.h"

struct field { const char *name; uint32_t enc; enum field_cond cond; uint32_t arg; };
#define X(name, enc, cond, arg) { #name, enc, cond, arg },
static const struct field fields[] = { VMCS_FIELDS(X) };
#undef X
#define N_FIELDS (sizeof fields / sizeof fields[0])

static bool field_exists(const struct field *f)
{
    bool secondary = cap_allows(g_caps.proc, PROC_SECONDARY);
    switch (f->cond) {
    case ALWAYS: return true;
    case IF_PIN: return cap_allows(g_caps.pin, BIT(f->arg));
    case IF_PROC: return cap_allows(g_caps.proc, BIT(f->arg));
    case IF_PROC2: return secondary && cap_allows(g_caps.proc2, BIT(f->arg));
    case IF_EXIT: return cap_allows(g_caps.exit, BIT(f->arg));
    case IF_ENTRY: return cap_allows(g_caps.entry, BIT(f->arg));
    case IF_ENTRY_OR_EXIT:
        return cap_allows(g_caps.entry, BIT(f->arg & 0xFFFF)) || cap_allows(g_caps.exit, BIT(f->arg >> 16));
    case IF_VMFUNC: return secondary && cap_allows(g_caps.proc2, PROC2_VMFUNC) && (g_caps.vmfunc & BIT64(f->arg));
    case IF_CR3_TARGET: return f->arg < VMX_MISC_CR3_TARGETS(g_caps.misc);
    }
    return false;
}

/* Read-only fields only with IA32_VMX_MISC[29]; never the VM-instruction error field, which the
 * expected VMfailValid outcomes rewrite. */
static bool writable(const struct field *f)
{
    if (f->enc == VMCS_VM_INSN_ERROR)
        return false;
    return VMCS_TYPE(f->enc) != VMCS_TYPE_READ_ONLY || (g_caps.misc & VMX_MISC_VMWRITE_ANY);
}

/* the pattern for a field: distinct per field, all bits of its width in play */
static uint32_t pattern(uint32_t enc, bool high)
{
    uint32_t p = (enc + 1) * 0x9E3779B1u ^ (high ? 0xA5A5A5A5u : 0);
    return VMCS_WIDTH(enc) == VMCS_WIDTH_16 ? p & 0xFFFF : p;
}

static uint32_t n_checked, n_absent;

static void expect_read(const struct field *f, uint32_t enc, uint32_t want, const char *when)
{
    uint32_t v = 0, fl = vmread(enc, &v);
    if (fl != VM_SUCCEED)
        fail("%s: VMREAD %s (%x) %s: %s", when, f->name, enc, "failed", vm_status_name(fl));
    else if (v != want)
        fail("%s: %s (%x) reads %x, want %x", when, f->name, enc, v, want);
    n_checked++;
}

static void write_all(void)
{
    for (unsigned i = 0; i < N_FIELDS; i++) {
        const struct field *f = &fields[i];
        uint32_t v, fl = vmread(f->enc, &v);
        char what[64];
        if (!field_exists(f) && cpu_index() != 0)
            continue;
        if (!field_exists(f)) {
            sformat(what, sizeof what, "VMREAD %s (%x), a field the CPU lacks", f->name, f->enc);
            expect_vm(what, fl, VM_FAIL_VALID, VMERR_UNSUPPORTED_FIELD);
            sformat(what, sizeof what, "VMWRITE %s (%x), a field the CPU lacks", f->name, f->enc);
            expect_vm(what, vmwrite(f->enc, 0), VM_FAIL_VALID, VMERR_UNSUPPORTED_FIELD);
            n_absent++;
            continue;
        }
        if (!writable(f))
            continue;
        if (VMCS_WIDTH(f->enc) == VMCS_WIDTH_64) {
            /* the high half first: the full-encoding write must then clear it */
            vmcs_set(f->enc | VMCS_HIGH, pattern(f->enc, true));
            vmcs_set(f->enc, pattern(f->enc, false));
            expect_read(f, f->enc | VMCS_HIGH, 0, "full write clears the high half");
            vmcs_set(f->enc | VMCS_HIGH, pattern(f->enc, true));
        } else {
            vmcs_set(f->enc, pattern(f->enc, false));
        }
    }
}

static void read_all(const char *when)
{
    for (unsigned i = 0; i < N_FIELDS; i++) {
        const struct field *f = &fields[i];
        if (!field_exists(f) || !writable(f))
            continue;
        expect_read(f, f->enc, pattern(f->enc, false), when);
        if (VMCS_WIDTH(f->enc) == VMCS_WIDTH_64)
            expect_read(f, f->enc | VMCS_HIGH, pattern(f->enc, true), when);
    }
}

static void vmcs_fields_rw(void)
{
    if (!vmx_on())
        return;
    uint64_t pa = g_page_pa[PAGE_VMCS(0)];
    vmx_page_init(PAGE_VMCS(0), VMX_BASIC_REVISION(g_caps.basic));
    n_checked = n_absent = 0;
    if (expect_vm("VMCLEAR", vmclear(&pa), VM_SUCCEED, 0) && expect_vm("VMPTRLD", vmptrld(&pa), VM_SUCCEED, 0)) {
        write_all();
        read_all("current");
        if (expect_vm("VMCLEAR", vmclear(&pa), VM_SUCCEED, 0) && expect_vm("VMPTRLD", vmptrld(&pa), VM_SUCCEED, 0))
            read_all("after VMCLEAR+VMPTRLD");
        note("%u reads compared, %u fields absent", n_checked, n_absent);
    }
    vmx_off();
}

const struct l1_test field_tests[] = {
    { "vmcs_fields_rw", vmcs_fields_rw },
};
const int n_field_tests = sizeof field_tests / sizeof field_tests[0];
