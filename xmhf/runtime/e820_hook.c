/* INT 15h AX=E820h for the guest, answered from the revised map (ACPI 6.5
 * 15.1 "INT 15H, E820H"). The IVT's INT 15h vector points at a stub in
 * the BIOS data area: VMCALL; IRET. Other INT 15h functions are chained to
 * the BIOS handler. */
#include <runtime/ept01.h>
#include <runtime/exit_handlers.h>
#include <runtime/guest_ram.h>
#include <runtime/percpu.h>
#include <runtime/vmx_ops.h>
#include <runtime/xcall.h>
#include <xmhf/e820.h>
#include <xmhf/hypapp.h>
#include <xmhf/nested.h>
#include <xmhf/log.h>
#include <xmhf/string.h>
#include <xmhf/vmx.h>

#define IVT_INT15 (0x15 * 4)
#define STUB_SEGMENT 0x40
#define STUB_OFFSET 0xac /* unused bytes of the BIOS data area */
#define SMAP 0x534d4150u
#define E820_FUNCTION 0xe820
#define E820_ENTRY_SIZE 20
#define E820_EXT_ENTRY_SIZE 24
#define VMCALL_LEN 3

extern struct e820_map guest_e820;
static u32 bios_int15; /* segment:offset of the BIOS handler */

void e820_hook_install(void)
{
	static const u8 stub[] = { 0x0f, 0x01, 0xc1, 0xcf }; /* VMCALL; IRET */
	void *ivt_int15 = l1_gpa_to_ptr(l1_gpa(IVT_INT15));
	memcpy(l1_gpa_to_ptr(l1_gpa(STUB_SEGMENT * 16 + STUB_OFFSET)), stub, sizeof(stub));
	memcpy(&bios_int15, ivt_int15, sizeof(bios_int15));
	u32 hook = (STUB_SEGMENT << 16) | STUB_OFFSET;
	memcpy(ivt_int15, &hook, sizeof(hook));
}

/* Guest memory for a real-mode access, or NULL if it is the hypervisor's. */
static void *guest_ptr(u64 gpa, u64 size) { return guest_ram_ptr(l1_gpa(gpa), size); }

static void set_iret_cf(bool cf)
{
	u64 sp = vmread(VMCS_GUEST_SS_BASE) + (vmread(VMCS_GUEST_RSP) & 0xffff);
	u16 *flags = guest_ptr(sp + 4, 2); /* IRET frame: IP, CS, FLAGS */
	if (flags)
		*flags = cf ? (*flags | RFLAGS_CF) : (*flags & ~RFLAGS_CF);
}

static void e820_next(struct guest_regs *regs)
{
	u32 index = (u32)regs->rbx;
	u32 size = (u32)regs->rcx >= E820_EXT_ENTRY_SIZE ? E820_EXT_ENTRY_SIZE : E820_ENTRY_SIZE;
	u8 *out = guest_ptr(vmread(VMCS_GUEST_ES_BASE) + (regs->rdi & 0xffff), size);

	if (index >= guest_e820.n || (u32)regs->rcx < E820_ENTRY_SIZE || !out) {
		set_iret_cf(true);
		regs->rax = (regs->rax & ~0xff00ull) | 0x8600; /* AH = 86h: unsupported */
		return;
	}
	const struct e820_entry *e = &guest_e820.e[index];
	u32 attributes = 1; /* ACPI 3.0 extended attributes: enabled */
	memcpy(out, &e->base, 8);
	memcpy(out + 8, &e->length, 8);
	memcpy(out + 16, &e->type, 4);
	if (size == E820_EXT_ENTRY_SIZE)
		memcpy(out + 20, &attributes, 4);
	regs->rax = SMAP;
	regs->rcx = size;
	regs->rbx = index + 1 < guest_e820.n ? index + 1 : 0;
	set_iret_cf(false);
}

/* A VMCALL from the stub: true if handled. */
bool e820_hook_handle(struct guest_regs *regs)
{
	if (vmread(VMCS_GUEST_CR0) & CR0_PE || vmread(VMCS_GUEST_CS_BASE) != STUB_SEGMENT * 16 ||
	    vmread(VMCS_GUEST_RIP) != STUB_OFFSET)
		return false;
	if ((u32)regs->rax == E820_FUNCTION && (u32)regs->rdx == SMAP) {
		e820_next(regs);
		vmwrite(VMCS_GUEST_RIP, STUB_OFFSET + VMCALL_LEN); /* on to the IRET */
		return true;
	}
	/* chain: enter the BIOS handler with the INT frame still on the stack */
	u16 cs = (u16)(bios_int15 >> 16);
	vmwrite(VMCS_GUEST_CS_SELECTOR, cs);
	vmwrite(VMCS_GUEST_CS_BASE, (u64)cs << 4);
	vmwrite(VMCS_GUEST_RIP, bios_int15 & 0xffff);
	return true;
}

/* VMCALL: the E820 stub first (the core's own, real mode at a fixed
 * address), then in L1's VMX root operation the CPU's answer there
 * (nested VMX: VMfail, docs/nested.md) unless the hypapp claims the call,
 * then the hypapp's hypercalls,
 * else #UD (the CPU's answer to VMCALL outside VMX operation). */
void handle_vmcall(struct guest_regs *regs)
{
	if (xcall_debug_hypercall(regs))
		return;
	if (!e820_hook_handle(regs) && !nested_vmcall(regs) && hypapp_hypercall(regs) == HYPAPP_PASS)
		inject_exception(VECTOR_UD, false, 0);
}
