/* Operands of L1's VMX instructions (nested/operand.h). */
#include <nested/operand.h>
#include <nested/caps.h>
#include <xmhf/nested.h>
#include <xmhf/x86/segment.h>

#define SEG_FIELD_STRIDE 2 /* ES..GS fields are consecutive (vmcs_fields.h, test_vmcs_fields.c) */

void vmx_insn_decode(struct vmx_insn *in, struct guest_regs *regs)
{
	in->regs = regs;
	in->info = (u32)vmcs01_read(VMCS_VMX_INSTRUCTION_INFO);
	in->disp = vmcs01_read(VMCS_EXIT_QUALIFICATION);
	in->code64 = guest_mode() == GUEST_64BIT;
	in->opsize = in->code64 ? 8 : 4;
}

static u64 opsize_mask(u32 bytes) { return bytes == 8 ? ~0ull : (1ull << (8 * bytes)) - 1; }

static u64 gpr(const struct vmx_insn *in, u32 n)
{
	return n == GPR_RSP ? vmcs01_read(VMCS_GUEST_RSP) : *guest_gpr(in->regs, n);
}

u64 insn_reg_read(const struct vmx_insn *in, u32 n) { return gpr(in, n) & opsize_mask(in->opsize); }

void insn_reg_write(const struct vmx_insn *in, u32 n, u64 value)
{
	value &= opsize_mask(in->opsize);
	if (n == GPR_RSP)
		vmcs01_write(VMCS_GUEST_RSP, value);
	else
		*guest_gpr(in->regs, n) = value;
}

static u64 effective_address(const struct vmx_insn *in)
{
	static const u64 addr_mask[] = { 0xffff, 0xffffffff, ~0ull };
	u32 size = INSN_INFO_ADDR_SIZE(in->info);
	u64 ea = in->disp;
	if (!(in->info & INSN_INFO_NO_BASE))
		ea += gpr(in, INSN_INFO_BASE(in->info));
	if (!(in->info & INSN_INFO_NO_INDEX))
		ea += gpr(in, INSN_INFO_INDEX(in->info)) << INSN_INFO_SCALE(in->info);
	return ea & addr_mask[size < ARRAY_SIZE(addr_mask) ? size : 2];
}

/* The segment's fault: #SS(0) for SS, #GP(0) otherwise. */
static bool segment_fault(u32 seg)
{
	inject_exception(seg == SEG_SS ? VECTOR_SS : VECTOR_GP, true, 0);
	return false;
}

/* Offset -> linear address for an access of len bytes, or the fault. */
static bool linear_address(const struct vmx_insn *in, bool write, u32 len, u64 *la)
{
	u32 seg = INSN_INFO_SEG(in->info);
	u64 offset = effective_address(in);
	if (seg > SEG_GS)
		return segment_fault(SEG_DS); /* (no such segment register: not an exit the CPU makes) */
	u64 base = vmcs01_read(VMCS_GUEST_ES_BASE + SEG_FIELD_STRIDE * seg);
	if (in->code64) {
		*la = (seg == SEG_FS || seg == SEG_GS) ? base + offset : offset;
		if (!l1_canonical(*la) || !l1_canonical(*la + len - 1))
			return segment_fault(seg);
		return true;
	}
	u32 ar = (u32)vmcs01_read(VMCS_GUEST_ES_AR_BYTES + SEG_FIELD_STRIDE * seg);
	u64 limit = (u32)vmcs01_read(VMCS_GUEST_ES_LIMIT + SEG_FIELD_STRIDE * seg);
	u32 type = ar & AR_TYPE_MASK;
	if (ar & AR_UNUSABLE)
		return segment_fault(seg);
	bool code = type & SEG_TYPE_CODE;
	if ((write && (code || !(type & SEG_TYPE_WRITABLE))) || (!write && code && !(type & SEG_TYPE_WRITABLE))) {
		inject_gp0(); /* a write to code or read-only data, a read of execute-only code */
		return false;
	}
	u64 last = offset + len - 1;
	if (!code && (type & SEG_TYPE_CONFORMING)) { /* expand-down data: (limit, 64 KiB or 4 GiB) */
		u64 upper = ar & AR_DB ? 0xffffffffull : 0xffffull;
		if (offset <= limit || last > upper)
			return segment_fault(seg);
	} else if (last > limit) {
		return segment_fault(seg);
	}
	*la = (base + offset) & 0xffffffffull;
	return true;
}

static bool mem_access(const struct vmx_insn *in, void *rbuf, const void *wbuf, u32 len)
{
	u64 la;
	struct gw_fault fault;
	bool write = wbuf != NULL;
	if (!linear_address(in, write, len, &la))
		return false;
	/* CPL 0 (checked before): supervisor accesses */
	enum gw_result r = write ? guest_virt_write(gva(la), wbuf, len, GW_WRITE, &fault)
				 : guest_virt_read(gva(la), rbuf, len, 0, &fault);
	if (r != GW_OK) {
		guest_inject_fault(r, &fault);
		return false;
	}
	return true;
}

bool insn_mem_read(const struct vmx_insn *in, void *buf, u32 len) { return mem_access(in, buf, NULL, len); }
bool insn_mem_write(const struct vmx_insn *in, const void *buf, u32 len) { return mem_access(in, NULL, buf, len); }
