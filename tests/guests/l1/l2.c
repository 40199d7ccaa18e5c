/* The L2 guest: 32-bit protected mode on L1's own GDT, IDT and page tables (guest state = L1's
 * state, SDM Vol.3C 24.4, checked as in 26.3), with its own stack; it runs a C function fn(arg)
 * and ends with VMCALL(L2_DONE_MAGIC). Host state returns to l1_exit_stub (27.5). */
#include "l1.h"

#define AR_CODE 0xC09B                       /* G, D/B, P, S, execute/read accessed */
#define AR_DATA 0xC093
#define AR_TSS32_BUSY 0x8B
#define AR_UNUSABLE BIT(16)
#define L2_ENTRY_FAILED BIT(31)              /* l2_enter: VMLAUNCH/VMRESUME fell through */

struct l2_regs g_l2;
static uint8_t l2_stack[8192] __attribute__((aligned(16)));
extern const char l2_entry[], l1_exit_stub[];
uint32_t l2_enter(struct l2_regs *r);
_Static_assert(sizeof(struct l2_regs) == 32, "offsets in the assembly below");

/* l2_enter(r): HOST_RSP = our stack with r on top; guest GPRs from r; VMLAUNCH if r->launched
 * is 0, else VMRESUME. Falls through on VMfail: returns the status flags | L2_ENTRY_FAILED.
 * l1_exit_stub: the VM exit lands here, stores the guest GPRs in r and returns 0. */
__asm__(
    "    .text\n"
    "l2_entry:\n"
    "    push %ebx\n"
    "    call *%eax\n"
    "    add $4, %esp\n"
    "    mov $0x4c32444e, %eax\n"
    "    vmcall\n"
    "    ud2\n"
    "    .globl l2_enter\n"
    "l2_enter:\n"
    "    push %ebp\n"
    "    push %ebx\n"
    "    push %esi\n"
    "    push %edi\n"
    "    mov 20(%esp), %eax\n"
    "    push %eax\n"
    "    mov $0x6c14, %edx\n"
    "    vmwrite %esp, %edx\n"
    "    cmpl $0, 28(%eax)\n"
    "    mov 4(%eax), %ebx\n"
    "    mov 8(%eax), %ecx\n"
    "    mov 12(%eax), %edx\n"
    "    mov 16(%eax), %esi\n"
    "    mov 20(%eax), %edi\n"
    "    mov 24(%eax), %ebp\n"
    "    mov 0(%eax), %eax\n"
    "    jne 1f\n"
    "    vmlaunch\n"
    "    jmp 2f\n"
    "1:  vmresume\n"
    "2:  pushfl\n"
    "    pop %eax\n"
    "    and $0x8d5, %eax\n"
    "    or $0x80000000, %eax\n"
    "    add $4, %esp\n"
    "    jmp 3f\n"
    "l1_exit_stub:\n"
    "    push %eax\n"
    "    mov 4(%esp), %eax\n"
    "    mov %ebx, 4(%eax)\n"
    "    mov %ecx, 8(%eax)\n"
    "    mov %edx, 12(%eax)\n"
    "    mov %esi, 16(%eax)\n"
    "    mov %edi, 20(%eax)\n"
    "    mov %ebp, 24(%eax)\n"
    "    pop %ebx\n"
    "    mov %ebx, 0(%eax)\n"
    "    movl $1, 28(%eax)\n"
    "    add $4, %esp\n"
    "    xor %eax, %eax\n"
    "3:  pop %edi\n"
    "    pop %esi\n"
    "    pop %ebx\n"
    "    pop %ebp\n"
    "    ret\n");
_Static_assert(VMCS_HOST_RSP == 0x6c14 && L2_DONE_MAGIC == 0x4c32444e && VMX_STATUS_FLAGS == 0x8d5,
               "constants in the assembly above");

static uint32_t control(const char *name, uint64_t cap, uint32_t want)
{
    if (!cap_allows(cap, want))
        fail("%s control %x not supported (allowed-1 %x)", name, want, (uint32_t)(cap >> 32));
    return cap_adjust(cap, want);
}

static void guest_segment(uint32_t sel_field, uint16_t sel, uint32_t ar)
{
    uint32_t i = (sel_field - VMCS_GUEST_ES_SEL) / 2;       /* ES, CS, SS, DS, FS, GS, LDTR, TR */
    vmcs_set(sel_field, sel);
    vmcs_set(VMCS_GUEST_ES_BASE + 2 * i, 0);
    vmcs_set(VMCS_GUEST_ES_LIMIT + 2 * i, 0xFFFFFFFF);
    vmcs_set(VMCS_GUEST_ES_AR + 2 * i, ar);
}

void l2_vmcs_init(int vmcs, const struct l2_config *c, void (*fn)(void *), void *arg)
{
    vmx_page_init(PAGE_VMCS(vmcs), VMX_BASIC_REVISION(g_caps.basic));
    if (!expect_vm("VMCLEAR", vmclear(&g_page_pa[PAGE_VMCS(vmcs)]), VM_SUCCEED, 0) ||
        !expect_vm("VMPTRLD", vmptrld(&g_page_pa[PAGE_VMCS(vmcs)]), VM_SUCCEED, 0))
        return;
    vmcs_set(VMCS_PIN_CONTROLS, control("pin-based", g_caps.pin, c->pin));
    vmcs_set(VMCS_PROC_CONTROLS, control("processor-based", g_caps.proc, c->proc | (c->proc2 ? PROC_SECONDARY : 0)));
    if (c->proc2)
        vmcs_set(VMCS_PROC2_CONTROLS, control("secondary", g_caps.proc2, c->proc2));
    vmcs_set(VMCS_EXIT_CONTROLS, control("VM-exit", g_caps.exit, c->exit));
    vmcs_set(VMCS_ENTRY_CONTROLS, control("VM-entry", g_caps.entry, c->entry));
    vmcs_set(VMCS_EXCEPTION_BITMAP, c->exception_bitmap);
    if (c->proc2 & PROC2_EPT)
        vmcs_set64(VMCS_EPT_POINTER, c->eptp);
    vmcs_set64(VMCS_VMCS_LINK_PTR, ~0ull);

    uint32_t cr0 = read_cr0(), cr3 = read_cr3(), cr4 = read_cr4();
    struct gdtr gdt = cpu_gdtr(), idt = cpu_idtr();
    uint32_t tss = (uint32_t)cpu_tss();
    vmcs_set(VMCS_GUEST_CR0, cr0);
    vmcs_set(VMCS_GUEST_CR3, cr3);
    vmcs_set(VMCS_GUEST_CR4, cr4);
    vmcs_set(VMCS_GUEST_DR7, 0x400);
    vmcs_set(VMCS_GUEST_RSP, (uint32_t)(l2_stack + sizeof l2_stack));
    vmcs_set(VMCS_GUEST_RIP, (uint32_t)l2_entry);
    vmcs_set(VMCS_GUEST_RFLAGS, 0x2);
    static const uint32_t data_segs[] = { VMCS_GUEST_ES_SEL, VMCS_GUEST_SS_SEL, VMCS_GUEST_DS_SEL,
                                          VMCS_GUEST_FS_SEL, VMCS_GUEST_GS_SEL };
    for (unsigned i = 0; i < sizeof data_segs / sizeof data_segs[0]; i++)
        guest_segment(data_segs[i], SEL_DATA, AR_DATA);
    guest_segment(VMCS_GUEST_CS_SEL, SEL_CODE, AR_CODE);
    guest_segment(VMCS_GUEST_LDTR_SEL, 0, AR_UNUSABLE);
    vmcs_set(VMCS_GUEST_TR_SEL, cpu_tss_sel());
    vmcs_set(VMCS_GUEST_TR_BASE, tss);
    vmcs_set(VMCS_GUEST_TR_LIMIT, sizeof(struct tss32) - 1);
    vmcs_set(VMCS_GUEST_TR_AR, AR_TSS32_BUSY);
    vmcs_set(VMCS_GUEST_GDTR_BASE, gdt.base);
    vmcs_set(VMCS_GUEST_GDTR_LIMIT, gdt.limit);
    vmcs_set(VMCS_GUEST_IDTR_BASE, idt.base);
    vmcs_set(VMCS_GUEST_IDTR_LIMIT, idt.limit);
    vmcs_set64(VMCS_GUEST_DEBUGCTL, 0);

    vmcs_set(VMCS_HOST_CR0, cr0);
    vmcs_set(VMCS_HOST_CR3, cr3);
    vmcs_set(VMCS_HOST_CR4, cr4);
    vmcs_set(VMCS_HOST_CS_SEL, SEL_CODE);
    static const uint32_t host_data[] = { VMCS_HOST_ES_SEL, VMCS_HOST_SS_SEL, VMCS_HOST_DS_SEL,
                                          VMCS_HOST_FS_SEL, VMCS_HOST_GS_SEL };
    for (unsigned i = 0; i < sizeof host_data / sizeof host_data[0]; i++)
        vmcs_set(host_data[i], SEL_DATA);
    vmcs_set(VMCS_HOST_TR_SEL, cpu_tss_sel());
    vmcs_set(VMCS_HOST_TR_BASE, tss);
    vmcs_set(VMCS_HOST_GDTR_BASE, gdt.base);
    vmcs_set(VMCS_HOST_IDTR_BASE, idt.base);
    vmcs_set(VMCS_HOST_RIP, (uint32_t)l1_exit_stub);
    g_l2 = (struct l2_regs){ .eax = (uint32_t)fn, .ebx = (uint32_t)arg };
}

bool l2_run(struct l2_exit *e, uint32_t *vmfail)
{
    uint32_t launched = g_l2.launched;
    uint32_t r = l2_enter(&g_l2);
    cpu_reload_tables();
    if (r & L2_ENTRY_FAILED) {
        if (vmfail)
            *vmfail = r & VMX_STATUS_FLAGS;
        else
            fail("VM entry: %s", vm_status_name(r & VMX_STATUS_FLAGS));
        return false;
    }
    e->reason = vmcs_get(VMCS_EXIT_REASON);
    if (e->reason & EXIT_ENTRY_FAILURE)
        g_l2.launched = launched;            /* a VM-entry failure launches nothing (26.8) */
    e->qual = vmcs_get(VMCS_EXIT_QUALIFICATION);
    e->intr_info = vmcs_get(VMCS_EXIT_INTR_INFO);
    e->insn_len = vmcs_get(VMCS_EXIT_INSN_LEN);
    e->gla = vmcs_get(VMCS_GUEST_LINEAR_ADDR);
    e->gpa = 0;
    if (cap_allows(g_caps.proc2, PROC2_EPT))
        e->gpa = vmcs_get(VMCS_GUEST_PHYSICAL_ADDR) | (uint64_t)vmcs_get(VMCS_GUEST_PHYSICAL_ADDR | VMCS_HIGH) << 32;
    if (vmfail)
        *vmfail = VM_SUCCEED;
    return true;
}

void l2_skip(const struct l2_exit *e) { vmcs_set(VMCS_GUEST_RIP, vmcs_get(VMCS_GUEST_RIP) + e->insn_len); }

bool expect_exit(const char *what, const struct l2_exit *e, uint32_t reason)
{
    if (e->reason == reason)
        return true;
    fail("%s: exit reason %x qualification %x interruption %x at RIP %x, want reason %x", what, e->reason, e->qual,
         e->intr_info, vmcs_get(VMCS_GUEST_RIP), reason);
    return false;
}

bool l2_run_to_end(void)
{
    struct l2_exit e;
    if (!l2_run(&e, NULL))
        return false;
    if (e.reason == EXIT_VMCALL && g_l2.eax == L2_DONE_MAGIC)
        return true;
    return expect_exit("L2 until its end", &e, EXIT_VMCALL) && (fail("VMCALL with EAX %x", g_l2.eax), false);
}
