/* xmhf/runtime/exit_cpuid.c: what the guest sees of CPUID (SDM Vol. 2A
 * CPUID; hypervisor leaves 0x40000000-0x400000ff). */
#include "fake_cpu.h"
#include "vmentry_check.h"
#include <runtime/vmexit.h>
#include <runtime/vmx_ops.h>
#include <xmhf/vmx.h>

#define RIP0 0x7c00
#define CPUID7_EBX_PT BIT(25)
#define CPUID7_ECX_OSPKE BIT(4)

static struct guest_regs regs;

static int setup(void **state)
{
	(void)state;
	fake_reset(0);
	vmentry_vmcs01(0);
	cpuid_set(0, 0, (struct cpuid_regs){ 0x16, 0x756e6547, 0x6c65746e, 0x49656e69 });
	cpuid_set(1, 0, (struct cpuid_regs){ 0x50654, 0x01020800, 0x7ffefbff, 0xbfebfbff });
	cpuid_set(7, 0, (struct cpuid_regs){ 0, 0xffffffff, 0xffffffff, 0xffffffff });
	cpuid_set(7, 1, (struct cpuid_regs){ 0x11, 0x22, 0x33, 0x44 });
	cpuid_set(0xd, 0, (struct cpuid_regs){ 0x2ff, 0xa88, 0xa88, 0 });
	vmcs_set(VMCS_GUEST_RIP, RIP0);
	vmcs_set(VMCS_VM_EXIT_INSTRUCTION_LEN, 2);
	return 0;
}

static struct cpuid_regs guest_cpuid(u32 leaf, u32 sub)
{
	regs = (struct guest_regs){ .rax = 0xdead00000000ull | leaf, .rcx = 0xbeef00000000ull | sub,
				    .rbx = ~0ull, .rdx = ~0ull };
	vmcs_set(VMCS_GUEST_RIP, RIP0);
	handle_cpuid(&regs);
	assert_vmentry_ok();
	assert_int_equal(vmcs_get(VMCS_GUEST_RIP), RIP0 + 2);
	/* 32-bit results zero-extend into the 64-bit registers */
	assert_int_equal(regs.rax >> 32, 0);
	assert_int_equal(regs.rbx >> 32, 0);
	assert_int_equal(regs.rcx >> 32, 0);
	assert_int_equal(regs.rdx >> 32, 0);
	return (struct cpuid_regs){ (u32)regs.rax, (u32)regs.rbx, (u32)regs.rcx, (u32)regs.rdx };
}

static void test_leaf1(void **state)
{
	(void)state;
	struct cpuid_regs r = guest_cpuid(1, 0);
	assert_int_equal(r.eax, 0x50654);
	assert_int_equal(r.ebx, 0x01020800);
	assert_int_equal(r.edx, 0xbfebfbff);
	assert_int_equal(r.ecx & (CPUID1_ECX_VMX | CPUID1_ECX_SMX), 0);
	assert_true(r.ecx & CPUID1_ECX_HYPERVISOR);
	assert_false(r.ecx & CPUID1_ECX_OSXSAVE); /* guest CR4.OSXSAVE = 0 */
	assert_int_equal(r.ecx | CPUID1_ECX_VMX | CPUID1_ECX_SMX | CPUID1_ECX_OSXSAVE, 0xfffefbff);
	vmcs_set(VMCS_GUEST_CR4, CR4_OSXSAVE | CR4_VMXE);
	r = guest_cpuid(1, 0);
	assert_true(r.ecx & CPUID1_ECX_OSXSAVE);
	/* the real CPU's OSXSAVE (the host's CR4) does not leak */
	cpuid_set(1, 0, (struct cpuid_regs){ 0x50654, 0, CPUID1_ECX_OSXSAVE | CPUID1_ECX_XSAVE, 0 });
	vmcs_set(VMCS_GUEST_CR4, CR4_VMXE);
	r = guest_cpuid(1, 0);
	assert_int_equal(r.ecx, CPUID1_ECX_XSAVE | CPUID1_ECX_HYPERVISOR);
}

static void test_leaf7(void **state)
{
	(void)state;
	struct cpuid_regs r = guest_cpuid(7, 0);
	assert_int_equal(r.ebx, 0xffffffff & ~CPUID7_EBX_PT);
	assert_int_equal(r.ecx, 0xffffffff & ~CPUID7_ECX_OSPKE);
	assert_int_equal(r.edx, 0xffffffff);
	percpu[0].vmx.cr4_fixed1 |= CR4_PKE; /* a CPU with PKU */
	vmcs_set(VMCS_GUEST_CR4, CR4_PKE | CR4_VMXE);
	r = guest_cpuid(7, 0);
	assert_true(r.ecx & CPUID7_ECX_OSPKE);
	cpuid_set(7, 0, (struct cpuid_regs){ 0, 0, 0, 0 });
	r = guest_cpuid(7, 0);
	assert_int_equal(r.ecx, CPUID7_ECX_OSPKE); /* mirrors CR4.PKE */
	/* other subleaves pass through */
	r = guest_cpuid(7, 1);
	assert_int_equal(r.eax, 0x11);
	assert_int_equal(r.ebx, 0x22);
	assert_int_equal(r.ecx, 0x33);
	assert_int_equal(r.edx, 0x44);
}

static void test_hypervisor_leaves(void **state)
{
	(void)state;
	cpuid_set(0x40000000, 0, (struct cpuid_regs){ 0x40000010, 1, 2, 3 }); /* a host hypervisor's */
	struct cpuid_regs r = guest_cpuid(0x40000000, 0);
	char sig[13] = { 0 };
	memcpy(sig, &r.ebx, 4);
	memcpy(sig + 4, &r.ecx, 4);
	memcpy(sig + 8, &r.edx, 4);
	assert_string_equal(sig, "XMHFXMHFXMHF");
	assert_int_equal(r.eax, 0x40000001);
	r = guest_cpuid(0x40000001, 0);
	assert_int_equal(r.eax, 1);
	cpuid_set(0x40000002, 0, (struct cpuid_regs){ 5, 6, 7, 8 });
	r = guest_cpuid(0x40000002, 0);
	assert_int_equal(r.eax | r.ebx | r.ecx | r.edx, 0);
	r = guest_cpuid(0x400000ff, 0);
	assert_int_equal(r.eax | r.ebx | r.ecx | r.edx, 0);
}

static void test_other_leaves_pass_through(void **state)
{
	(void)state;
	struct cpuid_regs r = guest_cpuid(0, 0);
	assert_int_equal(r.eax, 0x16);
	assert_int_equal(r.ebx, 0x756e6547);
	assert_int_equal(r.ecx, 0x6c65746e);
	assert_int_equal(r.edx, 0x49656e69);
	r = guest_cpuid(0xd, 0);
	assert_int_equal(r.eax, 0x2ff);
	assert_int_equal(r.ecx, 0xa88);
	cpuid_set(0x40000100, 0, (struct cpuid_regs){ 9, 10, 11, 12 });
	r = guest_cpuid(0x40000100, 0);
	assert_int_equal(r.eax, 9);
	assert_int_equal(r.edx, 12);
}

static void test_sti_blocking_ends(void **state)
{
	(void)state;
	vmcs_set(VMCS_GUEST_INTERRUPTIBILITY_INFO, INTERRUPTIBILITY_STI | INTERRUPTIBILITY_NMI);
	guest_cpuid(0, 0);
	assert_int_equal(vmcs_get(VMCS_GUEST_INTERRUPTIBILITY_INFO), INTERRUPTIBILITY_NMI);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_leaf1, setup),
		cmocka_unit_test_setup(test_leaf7, setup),
		cmocka_unit_test_setup(test_hypervisor_leaves, setup),
		cmocka_unit_test_setup(test_other_leaves_pass_through, setup),
		cmocka_unit_test_setup(test_sti_blocking_ends, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
