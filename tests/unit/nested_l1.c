/* The L1 of nested/'s unit tests: nested_l1.h. */
#include "nested_l1.h"
#include <runtime/ept01.h>
#include <runtime/vmx_ops.h>
#include <xmhf/mtrr.h>
#include <xmhf/spinlock.h>

struct guest_regs regs;

/* L1 in 64-bit mode, CPL 0, paging with PML4 -> PDPT -> 1 GiB page 0. */
void l1_long_mode(void)
{
	vmcs_set(VMCS_GUEST_CR0, CR0_PE | CR0_NE | CR0_PG);
	vmcs_set(VMCS_GUEST_CR4, CR4_PAE | CR4_VMXE);
	vmcs_set(VMCS_CR4_GUEST_HOST_MASK, CR4_VMXE);
	vmcs_set(VMCS_CR4_READ_SHADOW, CR4_PAE | CR4_VMXE); /* L1 set VMXE */
	vmcs_set(VMCS_GUEST_IA32_EFER, EFER_LME | EFER_LMA);
	vmcs_set(VMCS_GUEST_CR3, PML4);
	vmcs_set(VMCS_GUEST_CS_AR_BYTES, AR_CODE_RX_ACCESSED | AR_L);
	for (u32 s = SEG_ES; s <= SEG_GS; s++)
		if (s != SEG_CS) {
			vmcs_set(VMCS_GUEST_ES_AR_BYTES + 2 * s, AR_DATA_RW_ACCESSED | AR_DB | AR_G);
			vmcs_set(VMCS_GUEST_ES_LIMIT + 2 * s, 0xffffffff);
		}
	*(u64 *)guest_mem(PML4, 8) = PDPT | PTE_P | PTE_RW;
	*(u64 *)guest_mem(PDPT, 8) = 0 | PTE_P | PTE_RW | PTE_PS;
}

int setup(void **state)
{
	(void)state;
	fake_reset(0);
	msr_set_vmx_caps_skylake_x();
	cpuid_set(0x80000008, 0, (struct cpuid_regs){ .eax = (48 << 8) | MAXPHYADDR });
	memset(nested_cpu(), 0, sizeof(struct nested_cpu)); /* re-derived at the next use */
	memset(&regs, 0, sizeof(regs));
	this_cpu()->mtrr.phys_addr_mask = BIT(MAXPHYADDR) - 1;
	l1_long_mode();
	assert_true(vmptrld(vmcs01_region())); /* the fake's first region: VMCS01 */
	ept01_of_cpu0(); /* nested/'s accesses to L1's memory go through EPT01 */
	for (u64 region = VMXON_REGION; region <= VMCS_B; region += PAGE_SIZE)
		*(u32 *)guest_mem(region, 4) = REVISION;
	return 0;
}

/* One VMX instruction exit. */
void exec(u32 reason, u32 info, u64 disp)
{
	vmcs_set(VMCS_VMX_INSTRUCTION_INFO, info);
	vmcs_set(VMCS_EXIT_QUALIFICATION, disp);
	vmcs_set(VMCS_VM_EXIT_INSTRUCTION_LEN, INSN_LEN);
	vmcs_set(VMCS_GUEST_RIP, RIP0);
	vmcs_set(VMCS_GUEST_RFLAGS, RFLAGS_RESERVED_1 | ARITH_FLAGS);
	vmcs_set(VMCS_VM_ENTRY_INTR_INFO, 0);
	nested_vmx_instruction(&regs, reason);
}

enum outcome outcome(void)
{
	u64 flags = vmcs_get(VMCS_GUEST_RFLAGS) & ARITH_FLAGS;
	if (vmcs_get(VMCS_VM_ENTRY_INTR_INFO) & INTR_INFO_VALID) {
		assert_int_equal(vmcs_get(VMCS_GUEST_RIP), RIP0); /* a fault: nothing done */
		assert_int_equal(flags, ARITH_FLAGS);
		return FAULT;
	}
	assert_int_equal(vmcs_get(VMCS_GUEST_RIP), RIP0 + INSN_LEN);
	if (flags == 0)
		return SUCCEED;
	if (flags == RFLAGS_CF)
		return FAIL_INVALID;
	assert_int_equal(flags, RFLAGS_ZF);
	return FAIL_VALID;
}

u32 fault_vector(void)
{
	u64 info = vmcs_get(VMCS_VM_ENTRY_INTR_INFO);
	assert_true(info & INTR_INFO_VALID);
	return INTR_INFO_VECTOR(info);
}

/* An instruction with a 64-bit pointer operand at OPERAND. */
enum outcome with_pointer(u32 reason, u64 pointer)
{
	*(u64 *)guest_mem(OPERAND, 8) = pointer;
	regs.rbx = OPERAND;
	exec(reason, MEM_RBX, 0);
	return outcome();
}

u64 l1_vmread(u64 encoding, enum outcome *o)
{
	regs.rcx = encoding;
	regs.rdx = 0xdeadbeefdeadbeefull;
	exec(EXIT_REASON_VMREAD, INSN_INFO_REG_OPERAND | REG1(RDX) | REG2(RCX), 0);
	*o = outcome();
	return regs.rdx;
}

enum outcome l1_vmwrite(u64 encoding, u64 value)
{
	regs.rcx = encoding;
	regs.rdx = value;
	exec(EXIT_REASON_VMWRITE, INSN_INFO_REG_OPERAND | REG1(RDX) | REG2(RCX), 0);
	return outcome();
}

/* The error number of the last VMfailValid, as L1 reads it. */
u64 insn_error(void)
{
	enum outcome o;
	u64 e = l1_vmread(VMCS_VM_INSTRUCTION_ERROR, &o);
	assert_int_equal(o, SUCCEED);
	return e;
}

void vmxon_ok(void) { assert_int_equal(with_pointer(EXIT_REASON_VMXON, VMXON_REGION), SUCCEED); }
void vmptrld_ok(u64 vmcs) { assert_int_equal(with_pointer(EXIT_REASON_VMPTRLD, vmcs), SUCCEED); }


void ept01_of_cpu0(void)
{
	msr_set(MSR_MTRRCAP, 0); /* no variable ranges */
	msr_set(MSR_MTRR_DEF_TYPE, MTRR_DEF_E | MT_WB);
	spin_unlock(ept01_lock());
	cpu_register(0);
	percpu[0].vmx.ept_vpid = FAKE_EPT_CAPS;
	ept01_init_mtrr(0);
	ept01_build(0);
}
