/* xmhf/runtime/exit_cpuid.c: what the guest sees of CPUID (SDM Vol. 2A
 * CPUID; hypervisor leaves 0x40000000-0x400000ff). */
#include "fake_cpu.h"
#include "vmentry_check.h"
#include <runtime/exit_handlers.h>
#include <runtime/vmx_ops.h>
#include <xmhf/msr.h>
#include <xmhf/vmx.h>

#define RIP0 0x7c00
/* what leaf 1 never shows: VMX, SMX; DS, DTES64, DS-CPL, PDCM */
#define LEAF1_ECX_HIDDEN (CPUID1_ECX_VMX | CPUID1_ECX_SMX | CPUID1_ECX_DTES64 | CPUID1_ECX_DS_CPL | CPUID1_ECX_PDCM)
/* what VMCS01 enables on Bochs' corei7_skylake_x (vmcs01_init) */
#define PROC2_SKYLAKE_X (PROC2_ENABLE_EPT | PROC2_ENABLE_VPID | PROC2_UNRESTRICTED_GUEST | PROC2_ENABLE_RDTSCP | \
			 PROC2_ENABLE_INVPCID | PROC2_ENABLE_XSAVES)

static struct guest_regs regs;

static int setup(void **state)
{
	(void)state;
	fake_reset(0);
	vmentry_vmcs01(0);
	cpuid_set(0, 0, (struct cpuid_regs){ 0x1c, 0x756e6547, 0x6c65746e, 0x49656e69 });
	cpuid_set(1, 0, (struct cpuid_regs){ 0x50654, 0x01020800, 0x7ffefbff, 0xbfebfbff });
	cpuid_set(7, 0, (struct cpuid_regs){ 0, 0xffffffff, 0xffffffff, 0xffffffff });
	cpuid_set(7, 1, (struct cpuid_regs){ 0x11, 0x22, 0x33, 0x44 });
	cpuid_set(0xd, 0, (struct cpuid_regs){ 0x2ff, 0xa88, 0xa88, 0 });
	cpuid_set(0xd, 1, (struct cpuid_regs){ 0xf, 0x988, 0x1d00, 0 });
	cpuid_set(0xd, 8, (struct cpuid_regs){ 0x48, 0, 1, 0 });
	cpuid_set(0xa, 0, (struct cpuid_regs){ 0x07300404, 0, 0, 0x603 });
	cpuid_set(0x14, 0, (struct cpuid_regs){ 1, 0xf, 7, 0 });
	cpuid_set(0x14, 1, (struct cpuid_regs){ 0x2490002, 0x3fff3fff, 0, 0 });
	cpuid_set(0x1c, 0, (struct cpuid_regs){ 0x4000000f, 7, 7, 0 });
	cpuid_set(0x80000000, 0, (struct cpuid_regs){ 0x80000008, 0, 0, 0 });
	cpuid_set(0x80000001, 0, (struct cpuid_regs){ 0, 0, 0x121, 0x2c100800 });
	cpuid_limits_init();
	vmcs_set(VMCS_SECONDARY_VM_EXEC_CONTROL, PROC2_SKYLAKE_X);
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
	assert_int_equal(r.edx, 0xbfebfbff & ~CPUID1_EDX_DS);
	assert_int_equal(r.ecx & LEAF1_ECX_HIDDEN, 0);
	assert_true(r.ecx & CPUID1_ECX_HYPERVISOR);
	assert_false(r.ecx & CPUID1_ECX_OSXSAVE); /* guest CR4.OSXSAVE = 0 */
	assert_int_equal(r.ecx | LEAF1_ECX_HIDDEN | CPUID1_ECX_OSXSAVE, 0xfffefbff);
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
	assert_int_equal(r.ebx, 0xffffffff & ~CPUID7_EBX_INTEL_PT);
	assert_int_equal(r.ecx, 0xffffffff & ~(CPUID7_ECX_OSPKE | CPUID7_ECX_WAITPKG));
	assert_int_equal(r.edx, 0xffffffff & ~(CPUID7_EDX_PCONFIG | CPUID7_EDX_ARCH_LBR));
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

/* The controls every VMCS01 has (the guest state relies on unrestricted guest). */
#define PROC2_BASE (PROC2_ENABLE_EPT | PROC2_ENABLE_VPID | PROC2_UNRESTRICTED_GUEST)

/* A feature whose instruction needs a secondary control shows only while
 * VMCS01 has it on: RDTSCP and RDPID (enable RDTSCP), INVPCID, XSAVES,
 * WAITPKG (enable user wait and pause), PCONFIG. */
static void test_features_follow_controls(void **state)
{
	(void)state;
	vmcs_set(VMCS_SECONDARY_VM_EXEC_CONTROL, PROC2_BASE);
	struct cpuid_regs r = guest_cpuid(7, 0);
	assert_int_equal(r.ebx, 0xffffffff & ~(CPUID7_EBX_INTEL_PT | CPUID7_EBX_INVPCID));
	assert_int_equal(r.ecx, 0xffffffff & ~(CPUID7_ECX_OSPKE | CPUID7_ECX_WAITPKG | CPUID7_ECX_RDPID));
	assert_int_equal(r.edx, 0xffffffff & ~(CPUID7_EDX_PCONFIG | CPUID7_EDX_ARCH_LBR));
	assert_int_equal(guest_cpuid(0xd, 1).eax, 0xf & ~CPUID_D1_EAX_XSAVES);
	assert_int_equal(guest_cpuid(0x80000001, 0).edx, 0x2c100800 & ~CPUID_EXT1_EDX_RDTSCP);
	/* the controls on, one at a time */
	vmcs_set(VMCS_SECONDARY_VM_EXEC_CONTROL, PROC2_BASE | PROC2_ENABLE_RDTSCP);
	assert_true(guest_cpuid(0x80000001, 0).edx & CPUID_EXT1_EDX_RDTSCP);
	assert_true(guest_cpuid(7, 0).ecx & CPUID7_ECX_RDPID);
	vmcs_set(VMCS_SECONDARY_VM_EXEC_CONTROL, PROC2_BASE | PROC2_ENABLE_INVPCID);
	assert_true(guest_cpuid(7, 0).ebx & CPUID7_EBX_INVPCID);
	vmcs_set(VMCS_SECONDARY_VM_EXEC_CONTROL, PROC2_BASE | PROC2_ENABLE_XSAVES);
	assert_int_equal(guest_cpuid(0xd, 1).eax, 0xf);
	vmcs_set(VMCS_SECONDARY_VM_EXEC_CONTROL, PROC2_BASE | PROC2_ENABLE_USER_WAIT_PAUSE);
	assert_true(guest_cpuid(7, 0).ecx & CPUID7_ECX_WAITPKG);
	vmcs_set(VMCS_SECONDARY_VM_EXEC_CONTROL, PROC2_BASE | PROC2_ENABLE_PCONFIG);
	assert_true(guest_cpuid(7, 0).edx & CPUID7_EDX_PCONFIG);
	/* the skylake_x controls: only WAITPKG and PCONFIG stay hidden */
	vmcs_set(VMCS_SECONDARY_VM_EXEC_CONTROL, PROC2_SKYLAKE_X);
	assert_int_equal(guest_cpuid(0x80000001, 0).edx, 0x2c100800);
	assert_int_equal(guest_cpuid(0xd, 1).eax, 0xf);
}

/* Intel PT (14H), the PMU (0AH), architectural LBRs (1CH) and the PT XSAVE
 * component (0DH.8, IA32_XSS bit 8) are hidden: all zeros. */
static void test_hidden_leaves(void **state)
{
	(void)state;
	static const u32 leaves[][2] = { { 0xa, 0 }, { 0x14, 0 }, { 0x14, 1 }, { 0x1c, 0 }, { 0xd, 8 } };
	for (u32 i = 0; i < sizeof(leaves) / sizeof(leaves[0]); i++) {
		struct cpuid_regs r = guest_cpuid(leaves[i][0], leaves[i][1]);
		assert_int_equal(r.eax | r.ebx | r.ecx | r.edx, 0);
	}
	struct cpuid_regs r = guest_cpuid(0xd, 1);
	assert_int_equal(r.ecx, 0x1d00 & ~XSS_PT);
	assert_int_equal(r.ebx, 0x988);
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
	assert_int_equal(r.eax, 0x1c);
	assert_int_equal(r.ebx, 0x756e6547);
	assert_int_equal(r.ecx, 0x6c65746e);
	assert_int_equal(r.edx, 0x49656e69);
	r = guest_cpuid(0xd, 0);
	assert_int_equal(r.eax, 0x2ff);
	assert_int_equal(r.ecx, 0xa88);
}

/* A leaf above the highest basic one (outside the hypervisor's and the
 * extended leaves) is answered as the CPU answers it, with the highest basic
 * leaf (SDM Vol. 2A CPUID), as the core shows that leaf: a hidden one stays
 * hidden. */
static void test_undefined_leaves_answer_the_highest_basic_leaf(void **state)
{
	(void)state;
	cpuid_set(0x16, 0, (struct cpuid_regs){ 9, 10, 11, 12 });
	cpuid_set(0, 0, (struct cpuid_regs){ 0x16, 0, 0, 0 });
	cpuid_limits_init();
	static const u32 undefined[] = { 0x17, 0x40000100, 0x7a567254, 0x80000009, 0xffffffff };
	for (u32 i = 0; i < sizeof(undefined) / sizeof(undefined[0]); i++) {
		struct cpuid_regs r = guest_cpuid(undefined[i], 0);
		assert_int_equal(r.eax, 9);
		assert_int_equal(r.ebx, 10);
		assert_int_equal(r.ecx, 11);
		assert_int_equal(r.edx, 12);
	}
	assert_int_equal(guest_cpuid(0x80000001, 0).ecx, 0x121); /* extended leaves up to 0x80000008: the CPU's */
	cpuid_set(0, 0, (struct cpuid_regs){ 0x14, 0, 0, 0 }); /* the highest basic leaf is Intel PT's */
	cpuid_limits_init();
	struct cpuid_regs r = guest_cpuid(0x15, 0);
	assert_int_equal(r.eax | r.ebx | r.ecx | r.edx, 0);
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
		cmocka_unit_test_setup(test_features_follow_controls, setup),
		cmocka_unit_test_setup(test_hidden_leaves, setup),
		cmocka_unit_test_setup(test_hypervisor_leaves, setup),
		cmocka_unit_test_setup(test_other_leaves_pass_through, setup),
		cmocka_unit_test_setup(test_undefined_leaves_answer_the_highest_basic_leaf, setup),
		cmocka_unit_test_setup(test_sti_blocking_ends, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
