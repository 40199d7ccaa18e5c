/* L1's VMX instructions: the checks every one makes first, their
 * outcomes (SDM Vol. 3 32.2), and VMXON, VMXOFF, VMCLEAR, VMPTRLD,
 * VMPTRST, VMLAUNCH/VMRESUME (each instruction's "Operation" in 32.3). */
#include <nested/vmcs02.h>
#include <nested/vmx_insn.h>
#include <xmhf/hypapp.h>
#include <xmhf/log.h>
#include <xmhf/nested.h>

#define VMX_RESULT_FLAGS (RFLAGS_CF | RFLAGS_PF | RFLAGS_AF | RFLAGS_ZF | RFLAGS_SF | RFLAGS_OF)

static void finish(u64 flags)
{
	guest_set_rflags((guest_rflags() & ~VMX_RESULT_FLAGS) | flags);
	skip_instruction();
}

void vm_succeed(void) { finish(0); }
void vm_fail_invalid(void) { finish(RFLAGS_CF); }

void vm_fail(struct nested_cpu *n, enum vm_insn_error error)
{
	if (n->current.addr == VMCS12_NONE) {
		vm_fail_invalid();
		return;
	}
	vmcs12_put(&n->current, VMCS12_IDX_VM_INSTRUCTION_ERROR, error);
	finish(RFLAGS_ZF);
}

/* L1's own CR0/CR4: the bits the hypervisor owns from the read shadow (25.6.6). */
static u64 l1_cr(enum vmcs_field real, enum vmcs_field mask, enum vmcs_field shadow)
{
	u64 owned = vmcs01_read(mask);
	return (vmcs01_read(real) & ~owned) | (vmcs01_read(shadow) & owned);
}
u64 l1_cr0(void) { return l1_cr(VMCS_GUEST_CR0, VMCS_CR0_GUEST_HOST_MASK, VMCS_CR0_READ_SHADOW); }
u64 l1_cr4(void) { return l1_cr(VMCS_GUEST_CR4, VMCS_CR4_GUEST_HOST_MASK, VMCS_CR4_READ_SHADOW); }

/* #UD before anything else: real or virtual-8086 mode, compatibility mode,
 * VMXON with CR4.VMXE = 0, the others outside VMX operation, INVEPT/INVVPID
 * where not supported. (The CPU checks the modes itself before the exit;
 * they are checked again, cheaply.) */
static bool undefined(const struct nested_cpu *n, u32 reason)
{
	enum guest_mode mode = guest_mode();
	if (mode == GUEST_REAL || mode == GUEST_VM86 || ((guest_efer() & EFER_LMA) && mode != GUEST_64BIT))
		return true;
	if (reason == EXIT_REASON_VMXON)
		return !(l1_cr4() & CR4_VMXE);
	if (nested_mode(n) == VMX_MODE_OFF)
		return true;
	if (reason == EXIT_REASON_INVEPT)
		return !vmx_invept_supported(&n->caps);
	if (reason == EXIT_REASON_INVVPID)
		return !vmx_invvpid_supported(&n->caps);
	return false;
}

void nested_vmx_instruction(struct guest_regs *regs, u32 exit_reason)
{
	struct nested_cpu *n = nested_cpu();
	struct vmx_insn in;

	if (undefined(n, exit_reason)) {
		inject_exception(VECTOR_UD, false, 0);
		return;
	}
	if (guest_cpl() > 0) {
		inject_gp0();
		return;
	}
	vmx_insn_decode(&in, regs);
	switch (exit_reason) {
	case EXIT_REASON_VMXON: vmx_vmxon(n, &in); break;
	case EXIT_REASON_VMXOFF: vmx_vmxoff(n, &in); break;
	case EXIT_REASON_VMCLEAR: vmx_vmclear(n, &in); break;
	case EXIT_REASON_VMPTRLD: vmx_vmptrld(n, &in); break;
	case EXIT_REASON_VMPTRST: vmx_vmptrst(n, &in); break;
	case EXIT_REASON_VMREAD: vmx_vmread(n, &in); break;
	case EXIT_REASON_VMWRITE: vmx_vmwrite(n, &in); break;
	case EXIT_REASON_VMLAUNCH: vmx_vmlaunch(n, &in, false); break;
	case EXIT_REASON_VMRESUME: vmx_vmlaunch(n, &in, true); break;
	case EXIT_REASON_INVEPT: vmx_invept(n, &in); break;
	case EXIT_REASON_INVVPID: vmx_invvpid(n, &in); break;
	default: inject_exception(VECTOR_UD, false, 0); break; /* (the core sends only these) */
	}
	shadow_flush(n);
}

bool nested_vmcall(const struct guest_regs *regs)
{
	struct nested_cpu *n = nested_cpu();
	if (nested_mode(n) != VMX_MODE_L1_ROOT || hypapp_l1_root_vmcall_is_mine(regs))
		return false;
	if (undefined(n, EXIT_REASON_VMCALL))
		inject_exception(VECTOR_UD, false, 0);
	else if (guest_cpl() > 0)
		inject_gp0();
	else /* not in SMM, no dual-monitor treatment */
		vm_fail(n, VMERR_VMCALL_IN_ROOT);
	shadow_flush(n);
	return true;
}

/* A VMXON/VMCS pointer: 4 KiB aligned, no bit at or above MAXPHYADDR. */
static bool pointer_valid(u64 addr) { return IS_ALIGNED(addr, PAGE_SIZE) && !(addr >> l1_maxphyaddr()); }

/* The revision identifier (bits 30:0) and shadow indicator (bit 31) of
 * the region at addr; false if it is not guest RAM (then #GP(0), what an
 * access outside guest RAM gets: docs/nested.md). */
static bool region_revision(u64 addr, u32 *rev)
{
	if (guest_phys_read(l1_gpa(addr), rev, sizeof(*rev)))
		return true;
	inject_gp0();
	return false;
}

/* rev[30:0] is the VMCS revision identifier and rev[31] (shadow VMCS) is 0:
 * L1 has no VMCS shadowing. */
static bool revision_ok(const struct nested_cpu *n, u32 rev)
{
	return rev == (l1_msr(&n->caps, MSR_IA32_VMX_BASIC) & VMX_BASIC_REVISION_MASK);
}

void vmx_vmxon(struct nested_cpu *n, const struct vmx_insn *in)
{
	u64 addr;
	u32 rev;
	if (nested_mode(n) != VMX_MODE_OFF) {
		vm_fail(n, VMERR_VMXON_IN_ROOT);
		return;
	}
	/* IA32_FEATURE_CONTROL is locked with VMX outside SMX: no #GP for it */
	if (!l1_cr_valid(&n->caps, l1_cr0(), MSR_IA32_VMX_CR0_FIXED0) ||
	    !l1_cr_valid(&n->caps, l1_cr4(), MSR_IA32_VMX_CR4_FIXED0)) {
		inject_gp0();
		return;
	}
	if (!insn_mem_read(in, &addr, sizeof(addr)))
		return;
	if (!pointer_valid(addr)) {
		vm_fail_invalid();
		return;
	}
	if (!region_revision(addr, &rev))
		return;
	if (!revision_ok(n, rev)) {
		vm_fail_invalid();
		return;
	}
	n->vmxon_ptr = addr;
	n->current.addr = VMCS12_NONE;
	nested_set_mode(n, VMX_MODE_L1_ROOT);
	pr_debug("nested: cpu %u: VMXON 0x%llx", this_cpu_index(), addr);
	vm_succeed();
}

void vmx_vmxoff(struct nested_cpu *n, const struct vmx_insn *in)
{
	shadow_detach(n);
	vmcs12_release(&n->current);
	nested_set_mode(n, VMX_MODE_OFF);
	pr_debug("nested: cpu %u: VMXOFF", this_cpu_index());
	vm_succeed();
	apic_init_unblock();
}

/* VMCLEAR's and VMPTRLD's operand: read, aligned, below MAXPHYADDR, not
 * the VMXON pointer. False: the instruction ended (a fault or VMfail). */
static bool vmcs_pointer(struct nested_cpu *n, const struct vmx_insn *in, u64 *addr, enum vm_insn_error invalid,
			 enum vm_insn_error vmxon_ptr)
{
	if (!insn_mem_read(in, addr, sizeof(*addr)))
		return false;
	if (!pointer_valid(*addr))
		vm_fail(n, invalid);
	else if (*addr == n->vmxon_ptr)
		vm_fail(n, vmxon_ptr);
	else
		return true;
	return false;
}

void vmx_vmclear(struct nested_cpu *n, const struct vmx_insn *in)
{
	u64 addr;
	if (!vmcs_pointer(n, in, &addr, VMERR_VMCLEAR_INVALID_ADDR, VMERR_VMCLEAR_VMXON_PTR))
		return;
	if (addr == n->current.addr)
		shadow_detach(n);
	if (!vmcs12_clear(&n->current, addr))
		inject_gp0();
	else
		vm_succeed();
}

void vmx_vmptrld(struct nested_cpu *n, const struct vmx_insn *in)
{
	u64 addr;
	u32 rev;
	if (!vmcs_pointer(n, in, &addr, VMERR_VMPTRLD_INVALID_ADDR, VMERR_VMPTRLD_VMXON_PTR) ||
	    !region_revision(addr, &rev))
		return;
	if (!revision_ok(n, rev)) {
		vm_fail(n, VMERR_VMPTRLD_BAD_REVISION);
		return;
	}
	shadow_sync(n); /* the old VMCS12 is written back with L1's writes */
	if (!vmcs12_make_current(&n->current, addr)) {
		inject_gp0();
		return;
	}
	shadow_attach(n);
	vm_succeed();
}

void vmx_vmptrst(struct nested_cpu *n, const struct vmx_insn *in)
{
	u64 addr = n->current.addr;
	if (insn_mem_write(in, &addr, sizeof(addr)))
		vm_succeed();
}

/* VMLAUNCH/VMRESUME up to the VM-entry checks (32.3 VMLAUNCH/VMRESUME
 * "Operation"), then the VM entry (l2_entry.c). */
void vmx_vmlaunch(struct nested_cpu *n, const struct vmx_insn *in, bool resume)
{
	if (n->current.addr == VMCS12_NONE)
		vm_fail_invalid();
	else if (vmcs01_read(VMCS_GUEST_INTERRUPTIBILITY_INFO) & INTERRUPTIBILITY_MOV_SS)
		vm_fail(n, VMERR_ENTRY_MOV_SS);
	else if (!resume && n->current.launched)
		vm_fail(n, VMERR_VMLAUNCH_NOT_CLEAR);
	else if (resume && !n->current.launched)
		vm_fail(n, VMERR_VMRESUME_NOT_LAUNCHED);
	else {
		shadow_sync(n);
		l2_vm_entry(n, in->regs);
	}
}
