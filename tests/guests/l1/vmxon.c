/* VMX capabilities and operation (SDM Vol.3C 23.6-23.8, appendix A), VMCS access that must work,
 * and the check of an instruction's outcome (30.2). */
#include "l1.h"

#define CPUID1_ECX_VMX BIT(5)

struct vmx_caps g_caps;
static uint8_t vmx_pages[VMX_PAGES][4096] __attribute__((aligned(4096)));
uint64_t g_page_pa[VMX_PAGES];

bool vmx_available(void)
{
    if (!(cpuid(1, 0).ecx & CPUID1_ECX_VMX))
        return false;
    uint64_t fc = rdmsr(MSR_FEATURE_CONTROL);
    return !(fc & FEATURE_CONTROL_LOCK) || (fc & FEATURE_CONTROL_VMX_OUTSIDE_SMX);
}

void vmx_read_caps(void)
{
    uint64_t fc = rdmsr(MSR_FEATURE_CONTROL);
    if (!(fc & FEATURE_CONTROL_LOCK))
        wrmsr(MSR_FEATURE_CONTROL, fc | FEATURE_CONTROL_LOCK | FEATURE_CONTROL_VMX_OUTSIDE_SMX);
    struct vmx_caps *c = &g_caps;
    c->basic = rdmsr(MSR_VMX_BASIC);
    bool true_ctls = c->basic & VMX_BASIC_TRUE_CTLS;
    c->pin = rdmsr(true_ctls ? MSR_VMX_TRUE_PINBASED : MSR_VMX_PINBASED);
    c->proc = rdmsr(true_ctls ? MSR_VMX_TRUE_PROCBASED : MSR_VMX_PROCBASED);
    c->exit = rdmsr(true_ctls ? MSR_VMX_TRUE_EXIT : MSR_VMX_EXIT);
    c->entry = rdmsr(true_ctls ? MSR_VMX_TRUE_ENTRY : MSR_VMX_ENTRY);
    c->misc = rdmsr(MSR_VMX_MISC);
    c->cr0_fixed0 = rdmsr(MSR_VMX_CR0_FIXED0);
    c->cr0_fixed1 = rdmsr(MSR_VMX_CR0_FIXED1);
    c->cr4_fixed0 = rdmsr(MSR_VMX_CR4_FIXED0);
    c->cr4_fixed1 = rdmsr(MSR_VMX_CR4_FIXED1);
    bool secondary = cap_allows(c->proc, PROC_SECONDARY);
    c->proc2 = secondary ? rdmsr(MSR_VMX_PROCBASED2) : 0;
    bool ept_or_vpid = cap_allows(c->proc2, PROC2_EPT) || cap_allows(c->proc2, PROC2_VPID);
    c->ept_vpid = ept_or_vpid ? rdmsr(MSR_VMX_EPT_VPID_CAP) : 0;
    c->vmfunc = cap_allows(c->proc2, PROC2_VMFUNC) ? rdmsr(MSR_VMX_VMFUNC) : 0;
    for (int i = 0; i < VMX_PAGES; i++)
        g_page_pa[i] = (uint32_t)vmx_pages[i];
}

/* A.3: bits 31:0 are the allowed 0-settings (1 = must be 1), bits 63:32 the allowed 1-settings. */
uint32_t cap_adjust(uint64_t cap, uint32_t want) { return (want | (uint32_t)cap) & (uint32_t)(cap >> 32); }

/* A VMXON region or VMCS: zeroed, revision identifier in bits 30:0 of the first word (24.2). */
void vmx_page_init(int page, uint32_t revision)
{
    memset(vmx_pages[page], 0, sizeof vmx_pages[page]);
    memcpy(vmx_pages[page], &revision, sizeof revision);
}

void vmxe_set(bool on) { write_cr4(on ? read_cr4() | CR4_VMXE : read_cr4() & ~CR4_VMXE); }

bool vmx_on(void)
{
    write_cr0((read_cr0() | (uint32_t)g_caps.cr0_fixed0) & (uint32_t)g_caps.cr0_fixed1);
    write_cr4((read_cr4() | (uint32_t)g_caps.cr4_fixed0 | CR4_VMXE) & (uint32_t)g_caps.cr4_fixed1);
    vmx_page_init(PAGE_VMXON, VMX_BASIC_REVISION(g_caps.basic));
    uint32_t fl = vmxon(&g_page_pa[PAGE_VMXON]);
    if (fl != VM_SUCCEED) {
        fail("VMXON: %s", vm_status_name(fl));
        vmxe_set(false);
        return false;
    }
    return true;
}

/* VMXOFF and CR4.VMXE = 0; nothing if vmx_on() failed (it leaves VMXE clear) */
void vmx_off(void)
{
    if (!(read_cr4() & CR4_VMXE))
        return;
    uint32_t fl = vmxoff();
    if (fl != VM_SUCCEED)
        fail("VMXOFF: %s", vm_status_name(fl));
    vmxe_set(false);
}

uint32_t vmcs_get(uint32_t field)
{
    uint32_t v;
    uint32_t fl = vmread(field, &v);
    if (fl != VM_SUCCEED)
        fail("VMREAD %x: %s", field, vm_status_name(fl));
    return v;
}

void vmcs_set(uint32_t field, uint32_t val)
{
    uint32_t fl = vmwrite(field, val);
    if (fl != VM_SUCCEED)
        fail("VMWRITE %x=%x: %s", field, val, vm_status_name(fl));
}

/* 64-bit fields from 32-bit mode: the full encoding writes bits 31:0 (and clears 63:32), the
 * high encoding bits 63:32 (24.11.2, 30.3 VMWRITE). */
void vmcs_set64(uint32_t field, uint64_t val)
{
    vmcs_set(field, (uint32_t)val);
    vmcs_set(field | VMCS_HIGH, (uint32_t)(val >> 32));
}

uint32_t vm_error(void)
{
    uint32_t v = 0;
    return vmread(VMCS_VM_INSN_ERROR, &v) == VM_SUCCEED ? v : 0xFFFFFFFF;
}

const char *vm_status_name(uint32_t flags)
{
    static char buf[4][40];
    static int next;
    char *b = buf[next++ % 4];
    if (flags == VM_SUCCEED)
        return "VMsucceed";
    if (flags == VM_FAIL_INVALID)
        return "VMfailInvalid";
    if (flags == VM_FAIL_VALID)
        sformat(b, sizeof buf[0], "VMfailValid(%u)", vm_error());
    else
        sformat(b, sizeof buf[0], "flags %x", flags);
    return b;
}

bool expect_vm(const char *what, uint32_t flags, uint32_t want, uint32_t err)
{
    if (flags == want && (want != VM_FAIL_VALID || vm_error() == err))
        return true;
    if (want == VM_FAIL_VALID)
        fail("%s: %s, want VMfailValid(%u)", what, vm_status_name(flags), err);
    else
        fail("%s: %s, want %s", what, vm_status_name(flags), vm_status_name(want));
    return false;
}
