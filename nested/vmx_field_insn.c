/* VMREAD and VMWRITE on the current VMCS12 (SDM Vol. 3 32.3, 26.11.2). */
#include <nested/vmx_insn.h>

/* The field the register operand names, if it exists for L1. */
static const struct vmcs12_field *named_field(struct nested_cpu *n, const struct vmx_insn *in, bool *high)
{
	const struct vmcs12_field *f = vmcs12_field_lookup(insn_reg_read(in, INSN_INFO_REG2(in->info)), high);
	return f && l1_field_exists(&n->caps, &f->exists) ? f : NULL;
}

static enum vmcs12_index field_index(const struct vmcs12_field *f) { return (enum vmcs12_index)(f - vmcs12_fields); }

void vmx_vmread(struct nested_cpu *n, const struct vmx_insn *in)
{
	bool high;
	if (n->current.addr == VMCS12_NONE) {
		vm_fail_invalid();
		return;
	}
	const struct vmcs12_field *f = named_field(n, in, &high);
	if (!f) {
		vm_fail(n, VMERR_UNSUPPORTED_FIELD);
		return;
	}
	u64 value = vmcs12_get(&n->current, field_index(f));
	if (high)
		value >>= 32;
	/* a shorter field is zero-extended, a longer one truncated to the operand size */
	if (in->info & INSN_INFO_REG_OPERAND)
		insn_reg_write(in, INSN_INFO_REG1(in->info), value);
	else if (!insn_mem_write(in, &value, in->opsize)) /* (little endian: the low bytes) */
		return;
	vm_succeed();
}

void vmx_vmwrite(struct nested_cpu *n, const struct vmx_insn *in)
{
	bool high;
	u64 value = 0;
	if (n->current.addr == VMCS12_NONE) {
		vm_fail_invalid();
		return;
	}
	/* a memory source faults after the VMCS pointer check, before the field checks */
	if (in->info & INSN_INFO_REG_OPERAND)
		value = insn_reg_read(in, INSN_INFO_REG1(in->info));
	else if (!insn_mem_read(in, &value, in->opsize))
		return;
	const struct vmcs12_field *f = named_field(n, in, &high);
	if (!f) {
		vm_fail(n, VMERR_UNSUPPORTED_FIELD);
		return;
	}
	/* IA32_VMX_MISC[29] is 0 for L1: no VMWRITE to VM-exit information */
	if (f->props & VF_RO) {
		vm_fail(n, VMERR_VMWRITE_READ_ONLY);
		return;
	}
	enum vmcs12_index i = field_index(f);
	/* the high access writes bits 63:32; a full write of a 64-bit field
	 * outside 64-bit mode clears them (the operand is 32 bits) */
	if (high)
		value = (vmcs12_get(&n->current, i) & 0xffffffffull) | (value << 32);
	vmcs12_put(&n->current, i, value);
	vmcs12_mark_dirty(&n->current, i);
	vm_succeed();
}
