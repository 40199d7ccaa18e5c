/* nested/: L1's VMX capability MSRs and VMX instructions (SDM Vol. 3
 * chapter 32 "Operation" of each, 32.2 conventions, 32.4 error numbers) on
 * the fake VMCS01 and fake guest memory: L1 in 64-bit mode at CPL 0 with a
 * 1 GiB identity page, the Bochs corei7_skylake_x capability MSRs. Each
 * instruction is one exit with its instruction information and
 * displacement; its outcome is what L1 sees: RFLAGS and RIP, the error
 * number through its own VMREAD, an injected exception with CR2. */
#include "nested_l1.h"
#include <nested/ept02.h>
#include <runtime/ept01.h>
#include <xmhf/mtrr.h>
#include <xmhf/spinlock.h>

static void test_capability_msrs(void **state)
{
	(void)state;
	u64 v;
	assert_int_equal(nested_rdmsr(MSR_IA32_FEATURE_CONTROL, &v), NESTED_MSR_VALUE);
	assert_int_equal(v, FEATURE_CONTROL_LOCK | FEATURE_CONTROL_VMX_OUTSIDE_SMX);
	assert_int_equal(nested_rdmsr(MSR_IA32_VMX_BASIC, &v), NESTED_MSR_VALUE);
	assert_int_equal(v & VMX_BASIC_REVISION_MASK, REVISION);
	assert_int_equal((v >> 32) & 0x1fff, PAGE_SIZE);
	assert_true(v & VMX_BASIC_TRUE_CTLS);
	assert_int_equal(nested_rdmsr(MSR_IA32_VMX_PROCBASED_CTLS2, &v), NESTED_MSR_VALUE);
	assert_true(vmx_ctl_allowed1(v) & PROC2_ENABLE_EPT);
	assert_false(vmx_ctl_allowed1(v) & (PROC2_VMCS_SHADOWING | PROC2_ENABLE_PML | PROC2_VMFUNC));
	assert_int_equal(nested_rdmsr(MSR_IA32_VMX_EPT_VPID_CAP, &v), NESTED_MSR_VALUE);
	assert_false(v & EPT_CAP_AD);
	assert_true(v & EPT_CAP_INVEPT);
	assert_int_equal(nested_rdmsr(MSR_IA32_VMX_MISC, &v), NESTED_MSR_VALUE);
	assert_false(v & VMX_MISC_VMWRITE_ANY_FIELD); /* Bochs has it: hidden */
	assert_int_equal(nested_rdmsr(MSR_IA32_VMX_VMFUNC, &v), NESTED_MSR_GP);
	assert_int_equal(nested_rdmsr(MSR_IA32_VMX_VMFUNC + 1, &v), NESTED_MSR_GP); /* PROCBASED_CTLS3 */
	assert_int_equal(nested_rdmsr(MSR_IA32_EFER, &v), NESTED_MSR_NOT_MINE);
	/* VMCS_ENUM: the highest index of a field L1 has (Bochs says 26) */
	assert_int_equal(nested_rdmsr(MSR_IA32_VMX_VMCS_ENUM, &v), NESTED_MSR_VALUE);
	assert_int_equal(v, VMCS_ENC_INDEX(VMCS_TSC_MULTIPLIER) << 1);
}

/* Every field the table calls unsupported stays hidden from L1 even on
 * hardware that allows every control. */
static void test_unsupported_fields_do_not_exist(void **state)
{
	(void)state;
	for (u32 msr = MSR_IA32_VMX_PINBASED_CTLS; msr <= MSR_IA32_VMX_VMFUNC + 1; msr++)
		if (msr < MSR_IA32_VMX_MISC || (msr >= MSR_IA32_VMX_PROCBASED_CTLS2 && msr != MSR_IA32_VMX_EPT_VPID_CAP))
			msr_set(msr, ~0ull << 32);
	struct nested_cpu *n = nested_cpu();
	n->caps.ready = false;
	n = nested_cpu();
	for (u32 i = 0; i < VMCS12_N_FIELDS; i++)
		if (vmcs12_fields[i].props & VF_UNSUPP && l1_field_exists(&n->caps, &vmcs12_fields[i].exists))
			fail_msg("%s is unsupported but exists for L1", vmcs12_fields[i].name);
	assert_true(l1_field_exists(&n->caps, &vmcs12_fields[VMCS12_IDX_EPT_POINTER].exists));
}

static void test_undefined_outside_vmx_operation_and_in_wrong_modes(void **state)
{
	(void)state;
	static const u32 others[] = { EXIT_REASON_VMXOFF, EXIT_REASON_VMCLEAR, EXIT_REASON_VMPTRLD,
				      EXIT_REASON_VMPTRST, EXIT_REASON_VMREAD, EXIT_REASON_VMWRITE,
				      EXIT_REASON_VMLAUNCH, EXIT_REASON_VMRESUME, EXIT_REASON_INVEPT,
				      EXIT_REASON_INVVPID };
	for (u32 i = 0; i < ARRAY_SIZE(others); i++) {
		exec(others[i], MEM_RBX, 0);
		assert_int_equal(outcome(), FAULT);
		assert_int_equal(fault_vector(), VECTOR_UD);
	}
	vmcs_set(VMCS_CR4_READ_SHADOW, CR4_PAE); /* L1's CR4.VMXE = 0 */
	assert_int_equal(with_pointer(EXIT_REASON_VMXON, VMXON_REGION), FAULT);
	assert_int_equal(fault_vector(), VECTOR_UD);
	vmcs_set(VMCS_CR4_READ_SHADOW, CR4_PAE | CR4_VMXE);
	vmcs_set(VMCS_GUEST_CS_AR_BYTES, AR_CODE_RX_ACCESSED | AR_DB); /* compatibility mode */
	assert_int_equal(with_pointer(EXIT_REASON_VMXON, VMXON_REGION), FAULT);
	assert_int_equal(fault_vector(), VECTOR_UD);
	assert_int_equal(nested_mode(nested_cpu()), VMX_MODE_OFF);
}

static void test_cpl3_is_gp(void **state)
{
	(void)state;
	vmcs_set(VMCS_GUEST_SS_AR_BYTES, AR_DATA_RW_ACCESSED | (3 << AR_DPL_SHIFT));
	assert_int_equal(with_pointer(EXIT_REASON_VMXON, VMXON_REGION), FAULT);
	assert_int_equal(fault_vector(), VECTOR_GP);
	assert_int_equal(vmcs_get(VMCS_VM_ENTRY_EXCEPTION_ERROR_CODE), 0);
}

static void test_vmxon(void **state)
{
	(void)state;
	struct nested_cpu *n = nested_cpu();
	vmcs_set(VMCS_CR0_GUEST_HOST_MASK, CR0_NE);
	vmcs_set(VMCS_CR0_READ_SHADOW, 0); /* L1 cleared CR0.NE: not allowed in VMX operation */
	assert_int_equal(with_pointer(EXIT_REASON_VMXON, VMXON_REGION), FAULT);
	assert_int_equal(fault_vector(), VECTOR_GP);
	vmcs_set(VMCS_CR0_GUEST_HOST_MASK, 0);
	assert_int_equal(with_pointer(EXIT_REASON_VMXON, VMXON_REGION + 8), FAIL_INVALID);
	assert_int_equal(with_pointer(EXIT_REASON_VMXON, BIT(MAXPHYADDR) | VMXON_REGION), FAIL_INVALID);
	*(u32 *)guest_mem(VMXON_REGION, 4) = REVISION | VMCS_SHADOW_INDICATOR;
	assert_int_equal(with_pointer(EXIT_REASON_VMXON, VMXON_REGION), FAIL_INVALID);
	*(u32 *)guest_mem(VMXON_REGION, 4) = REVISION + 1;
	assert_int_equal(with_pointer(EXIT_REASON_VMXON, VMXON_REGION), FAIL_INVALID);
	/* the hypervisor's memory is not guest RAM */
	assert_int_equal(with_pointer(EXIT_REASON_VMXON, FAKE_HV_BASE), FAULT);
	assert_int_equal(fault_vector(), VECTOR_GP);
	assert_int_equal(nested_mode(n), VMX_MODE_OFF);
	*(u32 *)guest_mem(VMXON_REGION, 4) = REVISION;
	vmxon_ok();
	assert_int_equal(nested_mode(n), VMX_MODE_L1_ROOT);
	/* in VMX root: VMfail(15), invalid without a current VMCS */
	assert_int_equal(with_pointer(EXIT_REASON_VMXON, VMXON_REGION), FAIL_INVALID);
	vmptrld_ok(VMCS_A);
	assert_int_equal(with_pointer(EXIT_REASON_VMXON, VMXON_REGION), FAIL_VALID);
	assert_int_equal(insn_error(), VMERR_VMXON_IN_ROOT);
	/* VMX operation keeps CR4.VMXE and CR0's fixed bits */
	assert_false(nested_cr_write_allowed(CR0_PE | CR0_NE | CR0_PG, CR4_PAE));
	assert_false(nested_cr_write_allowed(CR0_PE | CR0_PG, CR4_PAE | CR4_VMXE));
	assert_true(nested_cr_write_allowed(CR0_PE | CR0_NE | CR0_PG, CR4_PAE | CR4_VMXE));
	exec(EXIT_REASON_VMXOFF, 0, 0);
	assert_int_equal(outcome(), SUCCEED);
	assert_int_equal(nested_mode(n), VMX_MODE_OFF);
	assert_true(nested_cr_write_allowed(CR0_PE | CR0_PG, CR4_PAE));
}

static void test_vmclear_vmptrld_errors(void **state)
{
	(void)state;
	vmxon_ok();
	/* no current VMCS: VMfail is VMfailInvalid */
	assert_int_equal(with_pointer(EXIT_REASON_VMCLEAR, VMCS_A + 1), FAIL_INVALID);
	assert_int_equal(with_pointer(EXIT_REASON_VMPTRLD, VMXON_REGION), FAIL_INVALID);
	vmptrld_ok(VMCS_A);
	assert_int_equal(with_pointer(EXIT_REASON_VMCLEAR, VMCS_B | 0x800), FAIL_VALID);
	assert_int_equal(insn_error(), VMERR_VMCLEAR_INVALID_ADDR);
	assert_int_equal(with_pointer(EXIT_REASON_VMCLEAR, BIT(MAXPHYADDR)), FAIL_VALID);
	assert_int_equal(insn_error(), VMERR_VMCLEAR_INVALID_ADDR);
	assert_int_equal(with_pointer(EXIT_REASON_VMCLEAR, VMXON_REGION), FAIL_VALID);
	assert_int_equal(insn_error(), VMERR_VMCLEAR_VMXON_PTR);
	assert_int_equal(with_pointer(EXIT_REASON_VMPTRLD, VMCS_B + 4), FAIL_VALID);
	assert_int_equal(insn_error(), VMERR_VMPTRLD_INVALID_ADDR);
	assert_int_equal(with_pointer(EXIT_REASON_VMPTRLD, VMXON_REGION), FAIL_VALID);
	assert_int_equal(insn_error(), VMERR_VMPTRLD_VMXON_PTR);
	*(u32 *)guest_mem(VMCS_B, 4) = REVISION | VMCS_SHADOW_INDICATOR; /* no VMCS shadowing for L1 */
	assert_int_equal(with_pointer(EXIT_REASON_VMPTRLD, VMCS_B), FAIL_VALID);
	assert_int_equal(insn_error(), VMERR_VMPTRLD_BAD_REVISION);
	assert_int_equal(with_pointer(EXIT_REASON_VMPTRLD, FAKE_HV_BASE), FAULT);
	assert_int_equal(fault_vector(), VECTOR_GP);
	assert_int_equal(with_pointer(EXIT_REASON_VMCLEAR, FAKE_HV_BASE), FAULT);
	/* VMCLEAR of the current VMCS: none is current after */
	assert_int_equal(with_pointer(EXIT_REASON_VMCLEAR, VMCS_A), SUCCEED);
	assert_int_equal(with_pointer(EXIT_REASON_VMPTRLD, VMXON_REGION), FAIL_INVALID);
}

static void test_vmptrst(void **state)
{
	(void)state;
	vmxon_ok();
	regs.rbx = OPERAND;
	exec(EXIT_REASON_VMPTRST, MEM_RBX, 0);
	assert_int_equal(outcome(), SUCCEED);
	assert_int_equal(*(u64 *)guest_mem(OPERAND, 8), VMCS12_NONE);
	vmptrld_ok(VMCS_B);
	regs.rbx = OPERAND - 0x10;
	exec(EXIT_REASON_VMPTRST, MEM_RBX, 0x10); /* the displacement counts */
	assert_int_equal(outcome(), SUCCEED);
	assert_int_equal(*(u64 *)guest_mem(OPERAND, 8), VMCS_B);
}

/* Every field L1 has: a VMWRITE of all ones reads back as the field's
 * width; read-only ones fail with 13; fields L1 lacks fail with 12. */
static void test_vmread_vmwrite_every_field(void **state)
{
	(void)state;
	static const u64 width_mask[4] = { [W16] = 0xffff, [W32] = 0xffffffff, [W64] = ~0ull, [WN] = ~0ull };
	struct nested_cpu *n = nested_cpu();
	enum outcome o;
	vmxon_ok();
	assert_int_equal(l1_vmwrite(VMCS_GUEST_RIP, 1), FAIL_INVALID); /* no current VMCS */
	l1_vmread(VMCS_GUEST_RIP, &o);
	assert_int_equal(o, FAIL_INVALID);
	vmptrld_ok(VMCS_A);
	u32 n_rw = 0;
	for (u32 i = 0; i < VMCS12_N_FIELDS; i++) {
		const struct vmcs12_field *f = &vmcs12_fields[i];
		bool exists = l1_field_exists(&n->caps, &f->exists);
		if (!exists) {
			assert_int_equal(l1_vmwrite(f->encoding, 1), FAIL_VALID);
			assert_int_equal(insn_error(), VMERR_UNSUPPORTED_FIELD);
			continue;
		}
		if (f->props & VF_RO) {
			assert_int_equal(l1_vmwrite(f->encoding, 1), FAIL_VALID);
			assert_int_equal(insn_error(), VMERR_VMWRITE_READ_ONLY);
			continue;
		}
		assert_int_equal(l1_vmwrite(f->encoding, ~0ull), SUCCEED);
		u64 back = l1_vmread(f->encoding, &o);
		assert_int_equal(o, SUCCEED);
		if (back != width_mask[f->width])
			fail_msg("%s: read 0x%llx back", f->name, back);
		n_rw++;
	}
	assert_true(n_rw > 120);
	/* not a field: reserved bits, bits 63:32, an unused index, the high half of a 32-bit field */
	static const u64 bad[] = { 0x1000, BIT(32) | VMCS_GUEST_RIP, 0x483e, VMCS_GUEST_ES_LIMIT | 1, 0x8000 };
	for (u32 i = 0; i < ARRAY_SIZE(bad); i++) {
		l1_vmread(bad[i], &o);
		assert_int_equal(o, FAIL_VALID);
		assert_int_equal(insn_error(), VMERR_UNSUPPORTED_FIELD);
	}
}

static void test_vmwrite_high_half_and_32bit_mode(void **state)
{
	(void)state;
	enum outcome o;
	vmxon_ok();
	vmptrld_ok(VMCS_A);
	assert_int_equal(l1_vmwrite(VMCS_TSC_OFFSET, 0x1111111122222222ull), SUCCEED);
	assert_int_equal(l1_vmwrite(VMCS_TSC_OFFSET | VMCS_ENC_HIGH, 0xaaaaaaaa33333333ull), SUCCEED);
	assert_int_equal(l1_vmread(VMCS_TSC_OFFSET, &o), 0x3333333322222222ull);
	assert_int_equal(l1_vmread(VMCS_TSC_OFFSET | VMCS_ENC_HIGH, &o), 0x33333333);
	/* 32-bit protected mode (IA-32e off): 32-bit operands */
	vmcs_set(VMCS_GUEST_IA32_EFER, 0);
	vmcs_set(VMCS_GUEST_CR0, CR0_PE | CR0_NE);
	vmcs_set(VMCS_GUEST_CS_AR_BYTES, AR_CODE_RX_ACCESSED | AR_DB);
	assert_int_equal(l1_vmwrite(VMCS_TSC_OFFSET, 0x4444444455555555ull), SUCCEED); /* full: 63:32 cleared */
	assert_int_equal(l1_vmread(VMCS_TSC_OFFSET | VMCS_ENC_HIGH, &o), 0);
	assert_int_equal(l1_vmwrite(VMCS_GUEST_RIP, 0x12345678abcdull), SUCCEED);
	assert_int_equal(l1_vmread(VMCS_GUEST_RIP, &o), 0x5678abcd);
	/* memory operands of the operand size: VMREAD to [ebx] writes 4 bytes */
	*(u64 *)guest_mem(OPERAND, 8) = ~0ull;
	regs.rbx = OPERAND;
	regs.rcx = VMCS_GUEST_RIP;
	exec(EXIT_REASON_VMREAD, ADDR32 | SEG(SEG_DS) | INSN_INFO_NO_INDEX | BASE(RBX) | REG2(RCX), 0);
	assert_int_equal(outcome(), SUCCEED);
	assert_int_equal(*(u64 *)guest_mem(OPERAND, 8), 0xffffffff5678abcdull);
}

/* A VMCS keeps its data across VMPTRLDs of others and VMCLEAR (in L1's
 * memory, our layout: docs/nested.md). */
static void test_vmcs12_data_follows_its_region(void **state)
{
	(void)state;
	enum outcome o;
	vmxon_ok();
	vmptrld_ok(VMCS_A);
	assert_int_equal(l1_vmwrite(VMCS_GUEST_RSP, 0xa), SUCCEED);
	vmptrld_ok(VMCS_B);
	assert_int_equal(l1_vmwrite(VMCS_GUEST_RSP, 0xb), SUCCEED);
	vmptrld_ok(VMCS_A);
	assert_int_equal(l1_vmread(VMCS_GUEST_RSP, &o), 0xa);
	assert_int_equal(with_pointer(EXIT_REASON_VMCLEAR, VMCS_B), SUCCEED); /* not current */
	assert_int_equal(l1_vmread(VMCS_GUEST_RSP, &o), 0xa);
	assert_int_equal(with_pointer(EXIT_REASON_VMCLEAR, VMCS_A), SUCCEED);
	const struct vmcs12_region *a = (const struct vmcs12_region *)guest_mem(VMCS_A, sizeof(*a));
	assert_int_equal(a->value[VMCS12_IDX_GUEST_RSP], 0xa);
	assert_int_equal(a->revision, REVISION); /* L1's part untouched */
	vmptrld_ok(VMCS_B);
	assert_int_equal(l1_vmread(VMCS_GUEST_RSP, &o), 0xb);
}

static void test_vmlaunch_vmresume(void **state)
{
	(void)state;
	vmxon_ok();
	exec(EXIT_REASON_VMLAUNCH, 0, 0);
	assert_int_equal(outcome(), FAIL_INVALID);
	vmptrld_ok(VMCS_A);
	vmcs_set(VMCS_GUEST_INTERRUPTIBILITY_INFO, INTERRUPTIBILITY_MOV_SS);
	exec(EXIT_REASON_VMLAUNCH, 0, 0);
	assert_int_equal(outcome(), FAIL_VALID);
	assert_int_equal(insn_error(), VMERR_ENTRY_MOV_SS);
	vmcs_set(VMCS_GUEST_INTERRUPTIBILITY_INFO, 0);
	exec(EXIT_REASON_VMRESUME, 0, 0);
	assert_int_equal(outcome(), FAIL_VALID);
	assert_int_equal(insn_error(), VMERR_VMRESUME_NOT_LAUNCHED);
	/* an all-zero VMCS12: its controls lack their allowed-0 bits (27.2.1.1) */
	exec(EXIT_REASON_VMLAUNCH, 0, 0);
	assert_int_equal(outcome(), FAIL_VALID);
	assert_int_equal(insn_error(), VMERR_ENTRY_INVALID_CONTROLS);
}

static bool hypapp_claims_root_vmcall;
bool hypapp_l1_root_vmcall_is_mine(const struct guest_regs *r)
{
	assert_ptr_equal(r, &regs);
	return hypapp_claims_root_vmcall;
}

/* VMCALL: not nested VMX's outside VMX operation (the core's #UD or hypercall),
 * VMfail(1) in L1's VMX root, #GP at CPL 3; not nested VMX's either where the
 * hypapp claims the call (then hypapp_hypercall, as outside VMX operation). */
static void test_vmcall_in_root(void **state)
{
	(void)state;
	assert_false(nested_vmcall(&regs));
	vmxon_ok();
	vmcs_set(VMCS_GUEST_RIP, RIP0);
	vmcs_set(VMCS_GUEST_RFLAGS, RFLAGS_RESERVED_1 | ARITH_FLAGS);
	assert_true(nested_vmcall(&regs));
	assert_int_equal(outcome(), FAIL_INVALID);
	vmptrld_ok(VMCS_A);
	vmcs_set(VMCS_GUEST_RIP, RIP0);
	vmcs_set(VMCS_GUEST_RFLAGS, RFLAGS_RESERVED_1 | ARITH_FLAGS);
	assert_true(nested_vmcall(&regs));
	assert_int_equal(outcome(), FAIL_VALID);
	assert_int_equal(insn_error(), VMERR_VMCALL_IN_ROOT);
	vmcs_set(VMCS_GUEST_RIP, RIP0);
	vmcs_set(VMCS_GUEST_RFLAGS, RFLAGS_RESERVED_1 | ARITH_FLAGS);
	vmcs_set(VMCS_GUEST_SS_AR_BYTES, AR_DATA_RW_ACCESSED | (3 << AR_DPL_SHIFT));
	assert_true(nested_vmcall(&regs));
	assert_int_equal(fault_vector(), VECTOR_GP);
	hypapp_claims_root_vmcall = true;
	vmcs_set(VMCS_GUEST_RIP, RIP0);
	assert_false(nested_vmcall(&regs));
	assert_int_equal(vmcs_get(VMCS_GUEST_RIP), RIP0);
	hypapp_claims_root_vmcall = false;
}

static enum outcome inv(u32 reason, u64 type, u64 low, u64 high)
{
	u64 *desc = (u64 *)guest_mem(OPERAND, 16);
	desc[0] = low, desc[1] = high;
	regs.rbx = OPERAND;
	regs.rcx = type;
	exec(reason, MEM_RBX | REG2(RCX), 0);
	return outcome();
}

static void test_invept_invvpid(void **state)
{
	(void)state;
	const u64 eptp = 0x30000 | (3 << 3) | 6; /* WB, 4-level walk */
	vmxon_ok();
	vmptrld_ok(VMCS_A);
	assert_int_equal(inv(EXIT_REASON_INVEPT, 1, eptp, 0), SUCCEED);
	assert_int_equal(inv(EXIT_REASON_INVEPT, 2, 0, 0), SUCCEED);
	static const u64 bad_eptps[] = { 0x30000 | (3 << 3) | 1, 0x30000 | (4 << 3) | 6, 0x30000 | (3 << 3) | 6 | BIT(6),
					 0x30000 | (3 << 3) | 6 | BIT(8), BIT(MAXPHYADDR) | (3 << 3) | 6 };
	for (u32 i = 0; i < ARRAY_SIZE(bad_eptps); i++) {
		assert_int_equal(inv(EXIT_REASON_INVEPT, 1, bad_eptps[i], 0), FAIL_VALID);
		assert_int_equal(insn_error(), VMERR_INVALID_INVEPT_INVVPID);
	}
	assert_int_equal(inv(EXIT_REASON_INVEPT, 3, eptp, 0), FAIL_VALID);
	assert_int_equal(insn_error(), VMERR_INVALID_INVEPT_INVVPID);
	assert_int_equal(inv(EXIT_REASON_INVVPID, 0, 1, 0x7fffffff0000ull), SUCCEED);
	assert_int_equal(fake_invvpid_calls, 0); /* VPID12 1 has no VPID02 yet */
	struct nested_cpu *n = nested_cpu();
	u16 vpid02 = vpid02_of(&n->vpid02, &n->caps, 1);
	assert_int_equal(inv(EXIT_REASON_INVVPID, 1, 1, 0), SUCCEED);
	assert_int_equal(fake_invvpid_calls, 1);
	assert_int_equal(fake_invvpid_type, 1);
	assert_int_equal(fake_invvpid_vpid, vpid02);
	assert_int_equal(inv(EXIT_REASON_INVVPID, 2, 0, 0), SUCCEED);
	assert_int_equal(inv(EXIT_REASON_INVVPID, 3, 5, 0), SUCCEED);
	static const struct { u64 type, low, high; } bad_vpid[] = {
		{ 0, 0, 0 }, { 0, 1, 0x800000000000ull }, { 1, 0, 0 }, { 3, 0, 0 }, { 2, BIT(16), 0 }, { 4, 1, 0 },
	};
	for (u32 i = 0; i < ARRAY_SIZE(bad_vpid); i++) {
		assert_int_equal(inv(EXIT_REASON_INVVPID, bad_vpid[i].type, bad_vpid[i].low, bad_vpid[i].high),
				 FAIL_VALID);
		assert_int_equal(insn_error(), VMERR_INVALID_INVEPT_INVVPID);
	}
}

/* L1's INVEPT drops this CPU's EPT02s (nested/ept02.c, test_ept02.c): an
 * EPT02 page mapped from an EPT12 at 0x30000 (a 1 GiB page) is flushed by
 * single-context INVEPT of its EPTP12, then by all-context INVEPT. */
static void test_invept_drops_ept02(void **state)
{
	(void)state;
	const u64 eptp = 0x30000 | (3 << 3) | 6, pdpt = 0x31000;
	struct ept02_fault_info info;
	ept01_of_cpu0();
	*(u64 *)guest_mem(0x30000, 8) = pdpt | EPT_RWX;
	*(u64 *)guest_mem(pdpt, 8) = GiB(1) | EPT_LARGE | EPT_RWX | ((u64)MT_WB << EPT_MT_SHIFT);
	vmxon_ok();
	vmptrld_ok(VMCS_A);
	for (u64 type = 1; type <= 2; type++) {
		assert_int_equal(ept02_fault(0, eptp, l2_gpa(0x5000), EPT_R, &info), EPT02_MAPPED);
		fake_invept_calls = 0;
		assert_int_equal(inv(EXIT_REASON_INVEPT, type, eptp, 0), SUCCEED);
		assert_int_equal(fake_invept_calls, 1);
		assert_int_equal(fake_invept_eptp, ept02_eptp(0, eptp));
	}
}

/* Memory operands: paging faults with CR2 and error code, canonical
 * addresses (#GP, #SS for SS), segment limits and types outside 64-bit mode. */
static void test_memory_operand_faults(void **state)
{
	(void)state;
	vmxon_ok();
	regs.rbx = 0x40000000; /* PDPT entry 1: not present */
	exec(EXIT_REASON_VMPTRLD, MEM_RBX, 8);
	assert_int_equal(outcome(), FAULT);
	assert_int_equal(fault_vector(), VECTOR_PF);
	assert_int_equal(vmcs_get(VMCS_VM_ENTRY_EXCEPTION_ERROR_CODE), 0); /* supervisor read, not present */
	assert_int_equal(read_cr2(), 0x40000008);
	regs.rbx = 0x40000000;
	exec(EXIT_REASON_VMPTRST, MEM_RBX, 0);
	assert_int_equal(fault_vector(), VECTOR_PF);
	assert_int_equal(vmcs_get(VMCS_VM_ENTRY_EXCEPTION_ERROR_CODE), PFEC_W);
	regs.rbx = 0x0000800000000000ull; /* non-canonical */
	exec(EXIT_REASON_VMPTRLD, MEM_RBX, 0);
	assert_int_equal(fault_vector(), VECTOR_GP);
	exec(EXIT_REASON_VMPTRLD, ADDR64 | SEG(SEG_SS) | INSN_INFO_NO_INDEX | BASE(RBX), 0);
	assert_int_equal(fault_vector(), VECTOR_SS);
	/* index * scale + base + displacement, FS base in 64-bit mode */
	vmcs_set(VMCS_GUEST_FS_BASE, 0x100);
	regs.rdx = 0x10;
	regs.rbx = OPERAND - 0x100 - 0x80 - 0x4;
	*(u64 *)guest_mem(OPERAND, 8) = VMCS_A;
	exec(EXIT_REASON_VMPTRLD, ADDR64 | SEG(SEG_FS) | ((u32)RDX << 18) | 3 | BASE(RBX), 0x4);
	assert_int_equal(outcome(), SUCCEED);
	/* 32-bit protected mode, flat segments with a limit */
	vmcs_set(VMCS_GUEST_IA32_EFER, 0);
	vmcs_set(VMCS_GUEST_CR0, CR0_PE | CR0_NE);
	vmcs_set(VMCS_GUEST_CS_AR_BYTES, AR_CODE_RX_ACCESSED | AR_DB);
	vmcs_set(VMCS_GUEST_DS_LIMIT, OPERAND + 4); /* the 8 bytes do not fit */
	regs.rbx = OPERAND;
	exec(EXIT_REASON_VMPTRLD, ADDR32 | SEG(SEG_DS) | INSN_INFO_NO_INDEX | BASE(RBX), 0);
	assert_int_equal(fault_vector(), VECTOR_GP);
	vmcs_set(VMCS_GUEST_SS_LIMIT, OPERAND + 4);
	exec(EXIT_REASON_VMPTRLD, ADDR32 | SEG(SEG_SS) | INSN_INFO_NO_INDEX | BASE(RBX), 0);
	assert_int_equal(fault_vector(), VECTOR_SS);
	vmcs_set(VMCS_GUEST_ES_AR_BYTES, AR_P | AR_S | SEG_TYPE_ACCESSED | AR_DB); /* read-only data */
	exec(EXIT_REASON_VMPTRST, ADDR32 | SEG(SEG_ES) | INSN_INFO_NO_INDEX | BASE(RBX), 0);
	assert_int_equal(fault_vector(), VECTOR_GP);
	vmcs_set(VMCS_GUEST_GS_AR_BYTES, AR_UNUSABLE);
	exec(EXIT_REASON_VMPTRLD, ADDR32 | SEG(SEG_GS) | INSN_INFO_NO_INDEX | BASE(RBX), 0);
	assert_int_equal(fault_vector(), VECTOR_GP);
	/* expand-down data: offsets above the limit only */
	vmcs_set(VMCS_GUEST_DS_AR_BYTES, AR_P | AR_S | SEG_TYPE_WRITABLE | SEG_TYPE_CONFORMING | AR_DB);
	vmcs_set(VMCS_GUEST_DS_LIMIT, OPERAND);
	exec(EXIT_REASON_VMPTRLD, ADDR32 | SEG(SEG_DS) | INSN_INFO_NO_INDEX | BASE(RBX), 0);
	assert_int_equal(fault_vector(), VECTOR_GP);
	vmcs_set(VMCS_GUEST_DS_LIMIT, OPERAND - 1);
	exec(EXIT_REASON_VMPTRLD, ADDR32 | SEG(SEG_DS) | INSN_INFO_NO_INDEX | BASE(RBX), 0);
	assert_int_equal(outcome(), SUCCEED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_capability_msrs, setup),
		cmocka_unit_test_setup(test_unsupported_fields_do_not_exist, setup),
		cmocka_unit_test_setup(test_undefined_outside_vmx_operation_and_in_wrong_modes, setup),
		cmocka_unit_test_setup(test_cpl3_is_gp, setup),
		cmocka_unit_test_setup(test_vmxon, setup),
		cmocka_unit_test_setup(test_vmclear_vmptrld_errors, setup),
		cmocka_unit_test_setup(test_vmptrst, setup),
		cmocka_unit_test_setup(test_vmread_vmwrite_every_field, setup),
		cmocka_unit_test_setup(test_vmwrite_high_half_and_32bit_mode, setup),
		cmocka_unit_test_setup(test_vmcs12_data_follows_its_region, setup),
		cmocka_unit_test_setup(test_vmlaunch_vmresume, setup),
		cmocka_unit_test_setup(test_invept_invvpid, setup),
		cmocka_unit_test_setup(test_invept_drops_ept02, setup),
		cmocka_unit_test_setup(test_vmcall_in_root, setup),
		cmocka_unit_test_setup(test_memory_operand_faults, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
