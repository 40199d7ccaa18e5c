/* xmhf/runtime/vmcs01_uefi.c: the boot CPU's guest resumes the UEFI firmware
 * (BOOT_GUEST_UEFI_RETURN) in IA-32e mode; every state must pass the
 * VM-entry checks (SDM Vol. 3 27.3.1). */
#include "fake_cpu.h"
#include "vmentry_check.h"
#include <runtime/vmcs01.h>
#include <runtime/vmx_ops.h>
#include <xmhf/bootinfo.h>
#include <xmhf/vmx.h>
#include <xmhf/x86/regs.h>
#include <xmhf/x86/segment.h>

#define CPU 1

/* An OVMF-like GDT: flat 32-bit data and code, 64-bit code at 0x38, a TSS at 0x40. */
#define DESC_DATA32 0x00cf93000000ffffull
#define DESC_CODE32 0x00cf9b000000ffffull
#define DESC_CODE64 0x00af9b000000ffffull
#define FW_DATA 0x30
#define FW_CODE64 0x38
#define FW_TSS 0x40
#define TSS_BASE 0xffff800000123000ull
static u64 gdt[10];
static struct boot_uefi_context c;

static int setup(void **state)
{
	(void)state;
	fake_reset(CPU);
	vmentry_vmcs01(CPU);
	memset(gdt, 0, sizeof(gdt));
	gdt[1] = DESC_DATA32;
	gdt[2] = DESC_CODE32;
	gdt[FW_DATA >> 3] = DESC_DATA32;
	gdt[FW_CODE64 >> 3] = DESC_CODE64;
	/* busy 64-bit TSS, limit 0x67, base TSS_BASE (16 bytes, 8.2.3) */
	gdt[FW_TSS >> 3] = 0x0000000000000067ull | ((TSS_BASE & 0xffffff) << 16) | (0x8bull << 40) |
			    ((TSS_BASE >> 24) & 0xff) << 56;
	gdt[(FW_TSS >> 3) + 1] = TSS_BASE >> 32;
	c = (struct boot_uefi_context){
		.rip = 0x7e8a1234, .rsp = 0x7fe9ff28, .rflags = RFLAGS_RESERVED_1 | RFLAGS_IF,
		.cr0 = CR0_PG | CR0_WP | CR0_NE | CR0_ET | BIT(1) /* MP */ | CR0_PE,
		.cr3 = 0x7fc01000, .cr4 = CR4_PAE | BIT(9) | BIT(10), /* OSFXSR, OSXMMEXCPT */
		.efer = EFER_LME | EFER_LMA | BIT(11) /* NXE */, .pat = 0x0007040600070406ull,
		.fs_base = 0, .gs_base = 0x7f000000,
		.gdtr_base = (u64)gdt, .gdtr_limit = 10 * 8 - 1,
		.idtr_base = 0x7f9ee018, .idtr_limit = 0xfff,
		.cs = FW_CODE64, .ss = FW_DATA, .ds = FW_DATA, .es = FW_DATA, .fs = FW_DATA, .gs = FW_DATA,
	};
	return 0;
}

/* CR0/CR4 as the guest reads them (25.6.6): owned bits from the shadow. */
static u64 guest_view(enum vmcs_field real, enum vmcs_field mask, enum vmcs_field shadow)
{
	return (vmcs_get(real) & ~vmcs_get(mask)) | (vmcs_get(shadow) & vmcs_get(mask));
}

static void check_segment(u32 i, u16 sel, u64 base, u32 limit, u32 ar)
{
	assert_int_equal(vmcs_get(VMCS_GUEST_ES_SELECTOR + 2 * i), sel);
	assert_int_equal(vmcs_get(VMCS_GUEST_ES_BASE + 2 * i), base);
	assert_int_equal(vmcs_get(VMCS_GUEST_ES_LIMIT + 2 * i), limit);
	assert_int_equal(vmcs_get(VMCS_GUEST_ES_AR_BYTES + 2 * i), ar);
}

static void test_ovmf_context(void **state)
{
	(void)state;
	assert_null(vmcs01_guest_uefi_state(&c, gdt));
	assert_vmentry_ok();
	assert_int_equal(vmcs_get(VMCS_GUEST_RIP), c.rip);
	assert_int_equal(vmcs_get(VMCS_GUEST_RSP), c.rsp);
	assert_int_equal(vmcs_get(VMCS_GUEST_RFLAGS), c.rflags);
	assert_int_equal(vmcs_get(VMCS_GUEST_CR3), c.cr3);
	assert_int_equal(vmcs_get(VMCS_GUEST_IA32_EFER), c.efer);
	assert_int_equal(vmcs_get(VMCS_GUEST_IA32_PAT), c.pat);
	assert_true(vmcs_get(VMCS_VM_ENTRY_CONTROLS) & ENTRY_IA32E_MODE_GUEST);
	/* the firmware reads back its own CR0 and CR4 (no VMXE) */
	assert_int_equal(guest_view(VMCS_GUEST_CR0, VMCS_CR0_GUEST_HOST_MASK, VMCS_CR0_READ_SHADOW), c.cr0);
	assert_int_equal(guest_view(VMCS_GUEST_CR4, VMCS_CR4_GUEST_HOST_MASK, VMCS_CR4_READ_SHADOW), c.cr4);
	assert_true(vmcs_get(VMCS_GUEST_CR4) & CR4_VMXE);
	check_segment(SEG_CS, FW_CODE64, 0, 0xffffffff, 0xa09b); /* L = 1, D = 0 */
	check_segment(SEG_SS, FW_DATA, 0, 0xffffffff, 0xc093);
	check_segment(SEG_DS, FW_DATA, 0, 0xffffffff, 0xc093);
	check_segment(SEG_ES, FW_DATA, 0, 0xffffffff, 0xc093);
	check_segment(SEG_FS, FW_DATA, 0, 0xffffffff, 0xc093);
	check_segment(SEG_GS, FW_DATA, 0x7f000000, 0xffffffff, 0xc093); /* base from IA32_GS_BASE */
	check_segment(SEG_GS + 1, 0, 0, 0, AR_UNUSABLE);                 /* LDTR */
	check_segment(SEG_GS + 2, 0, 0, 0x67, AR_TSS_BUSY);              /* placeholder TR */
	assert_int_equal(vmcs_get(VMCS_GUEST_GDTR_BASE), (u64)gdt);
	assert_int_equal(vmcs_get(VMCS_GUEST_GDTR_LIMIT), 79);
	assert_int_equal(vmcs_get(VMCS_GUEST_IDTR_BASE), c.idtr_base);
	assert_int_equal(vmcs_get(VMCS_GUEST_IDTR_LIMIT), 0xfff);
	assert_int_equal(vmcs_get(VMCS_GUEST_ACTIVITY_STATE), 0);
	assert_int_equal(vmcs_get(VMCS_GUEST_INTERRUPTIBILITY_INFO), 0);
	/* the checker holds this state to the IA-32e rules: without the control it fails */
	struct vmentry_failures f;
	vmcs_set(VMCS_VM_ENTRY_CONTROLS, vmcs_get(VMCS_VM_ENTRY_CONTROLS) & ~ENTRY_IA32E_MODE_GUEST);
	vmentry_check(&f);
	assert_true(f.n > 0);
}

static void test_null_data_selectors_and_accessed_bit(void **state)
{
	(void)state;
	c.ds = c.es = c.fs = c.gs = 0;
	c.ss = 0;
	c.fs_base = 0xffffffff80000000ull;
	gdt[FW_CODE64 >> 3] &= ~(1ull << 40); /* accessed clear in memory: loading set it */
	assert_null(vmcs01_guest_uefi_state(&c, gdt));
	assert_vmentry_ok();
	for (u32 i = SEG_ES; i <= SEG_GS; i++)
		if (i != SEG_CS)
			assert_true(vmcs_get(VMCS_GUEST_ES_AR_BYTES + 2 * i) & AR_UNUSABLE);
	assert_int_equal(vmcs_get(VMCS_GUEST_FS_BASE), 0xffffffff80000000ull);
	assert_int_equal(vmcs_get(VMCS_GUEST_CS_AR_BYTES), 0xa09b);
}

static void test_loaded_tss(void **state)
{
	(void)state;
	c.tr = FW_TSS;
	assert_null(vmcs01_guest_uefi_state(&c, gdt));
	assert_vmentry_ok();
	check_segment(SEG_GS + 2, FW_TSS, TSS_BASE, 0x67, AR_TSS_BUSY);
}

static void test_rejected_contexts(void **state)
{
	(void)state;
	struct boot_uefi_context good = c;
	c.cs = 10 * 8; /* past the GDT's limit */
	assert_non_null(vmcs01_guest_uefi_state(&c, gdt));
	c = good;
	c.ds = FW_DATA | SEL_TI; /* an LDT selector */
	assert_non_null(vmcs01_guest_uefi_state(&c, gdt));
	c = good;
	c.tr = 9 * 8; /* the TSS's second half would be past the limit */
	assert_non_null(vmcs01_guest_uefi_state(&c, gdt));
	c = good;
	c.efer &= ~EFER_LMA;
	assert_non_null(vmcs01_guest_uefi_state(&c, gdt));
	c = good;
	c.cr4 &= ~CR4_PAE;
	assert_non_null(vmcs01_guest_uefi_state(&c, gdt));
}

#define T(t) cmocka_unit_test_setup(t, setup)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_ovmf_context),
		T(test_null_data_selectors_and_accessed_bit),
		T(test_loaded_tss),
		T(test_rejected_contexts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
