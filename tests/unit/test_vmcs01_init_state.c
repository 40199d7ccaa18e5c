/* xmhf/runtime/vmcs01.c: the guest's INIT state (SDM Vol. 3 Table 10-1,
 * 9.4 with the SIPI's CS) and the controls chosen from the capability MSRs. */
#include "fake_cpu.h"
#include "vmentry_check.h"
#include <runtime/vmcs01.h>
#include <runtime/vmx_ops.h>
#include <xmhf/msr.h>
#include <xmhf/vmx.h>

#define CPU 1

static int setup(void **state)
{
	(void)state;
	fake_reset(CPU);
	caps_skylake_x(&percpu[CPU].vmx);
	vmcs_fill_garbage();
	return 0;
}

/* CR0/CR4 as the guest reads them (25.6.6): owned bits from the shadow. */
static u64 guest_view(enum vmcs_field real, enum vmcs_field mask, enum vmcs_field shadow)
{
	return (vmcs_get(real) & ~vmcs_get(mask)) | (vmcs_get(shadow) & vmcs_get(mask));
}

static void check_segment(u32 i, u16 selector, u32 ar)
{
	assert_int_equal(vmcs_get(VMCS_GUEST_ES_SELECTOR + 2 * i), selector);
	assert_int_equal(vmcs_get(VMCS_GUEST_ES_BASE + 2 * i), (u64)selector << 4);
	assert_int_equal(vmcs_get(VMCS_GUEST_ES_LIMIT + 2 * i), 0xffff);
	assert_int_equal(vmcs_get(VMCS_GUEST_ES_AR_BYTES + 2 * i), ar);
}

static void check_init_state(u8 vector)
{
	u64 cr0 = vmcs_get(VMCS_GUEST_CR0);
	assert_int_equal(vmcs_get(VMCS_GUEST_CS_SELECTOR), vector << 8);
	assert_int_equal(vmcs_get(VMCS_GUEST_CS_BASE), (u64)vector << 12);
	assert_int_equal(vmcs_get(VMCS_GUEST_RIP), 0);
	check_segment(1, vector << 8, 0x9b);       /* CS: present, R/X, accessed */
	check_segment(0, 0, 0x93);                 /* ES */
	for (u32 i = 2; i < 6; i++)                /* SS DS FS GS */
		check_segment(i, 0, 0x93);
	check_segment(6, 0, 0x82);                 /* LDTR: present, LDT */
	check_segment(7, 0, 0x8b);                 /* TR: present, busy 32-bit TSS */
	assert_int_equal(vmcs_get(VMCS_GUEST_GDTR_BASE), 0);
	assert_int_equal(vmcs_get(VMCS_GUEST_GDTR_LIMIT), 0xffff);
	assert_int_equal(vmcs_get(VMCS_GUEST_IDTR_BASE), 0);
	assert_int_equal(vmcs_get(VMCS_GUEST_IDTR_LIMIT), 0xffff);
	assert_int_equal(vmcs_get(VMCS_GUEST_RSP), 0);
	assert_int_equal(vmcs_get(VMCS_GUEST_RFLAGS), 2);
	assert_int_equal(vmcs_get(VMCS_GUEST_DR7), 0x400);
	assert_int_equal(vmcs_get(VMCS_GUEST_IA32_EFER), 0);
	assert_int_equal(vmcs_get(VMCS_GUEST_CR3), 0);
	assert_int_equal(vmcs_get(VMCS_GUEST_INTERRUPTIBILITY_INFO), 0);
	assert_int_equal(vmcs_get(VMCS_GUEST_ACTIVITY_STATE), 0);
	assert_int_equal(vmcs_get(VMCS_GUEST_PENDING_DBG_EXCEPTIONS), 0);
	assert_int_equal(vmcs_get(VMCS_VM_ENTRY_INTR_INFO) & INTR_INFO_VALID, 0);
	assert_int_equal(vmcs_get(VMCS_VM_ENTRY_CONTROLS) & ENTRY_IA32E_MODE_GUEST, 0);
	/* CR0: the guest sees 60000010H; the CPU runs with NE and FIXED0 but
	 * PE = PG = 0 (unrestricted guest) and caches on. */
	assert_int_equal(vmcs_get(VMCS_CR0_READ_SHADOW), 0x60000010);
	assert_true(cr0 & CR0_NE);
	assert_int_equal(cr0 & (CR0_PE | CR0_PG | CR0_CD | CR0_NW), 0);
	assert_int_equal(cr0 & (percpu[CPU].vmx.cr0_fixed0 & ~(CR0_PE | CR0_PG)),
			 percpu[CPU].vmx.cr0_fixed0 & ~(CR0_PE | CR0_PG));
	assert_int_equal(vmcs_get(VMCS_CR4_READ_SHADOW), 0);
	assert_true(vmcs_get(VMCS_GUEST_CR4) & CR4_VMXE);
	assert_vmentry_ok();
}

/* The controls and link pointer vmcs01_init writes (test_skylake_x_controls),
 * for the VM-entry checks of an INIT state loaded on a garbage VMCS. */
static void skylake_x_controls(void)
{
	vmcs_set(VMCS_PIN_BASED_VM_EXEC_CONTROL, 0x3e);
	vmcs_set(VMCS_CPU_BASED_VM_EXEC_CONTROL, 0x96006172);
	vmcs_set(VMCS_SECONDARY_VM_EXEC_CONTROL, 0x001010aa);
	vmcs_set(VMCS_VMCS_LINK_POINTER, ~0ull);
}

static void test_init_state_after_sipi(void **state)
{
	(void)state;
	skylake_x_controls();
	vmcs_set(VMCS_VM_ENTRY_CONTROLS, 0xd1fb | ENTRY_IA32E_MODE_GUEST);
	vmcs_set(VMCS_VM_ENTRY_INTR_INFO, INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | 13);
	vmcs01_guest_init_state(0x9a << 8, 0);
	check_init_state(0x9a);
	assert_int_equal(vmcs_get(VMCS_VM_ENTRY_CONTROLS), 0xd1fb);
}

static void test_init_state_vector_ff(void **state)
{
	(void)state;
	skylake_x_controls();
	vmcs_set(VMCS_VM_ENTRY_CONTROLS, 0xd1fb);
	vmcs01_guest_init_state(0xff << 8, 0);
	check_init_state(0xff);
}

static void test_init_ip(void **state)
{
	(void)state;
	vmcs01_guest_init_state(0, 0x7c00);
	assert_int_equal(vmcs_get(VMCS_GUEST_RIP), 0x7c00);
	assert_int_equal(vmcs_get(VMCS_GUEST_CS_BASE), 0);
}

static void test_skylake_x_controls(void **state)
{
	(void)state;
	assert_null(vmcs01_init(CPU));
	assert_int_equal(*(u32 *)percpu_pages[CPU].vmcs01, 0x2b); /* revision ID */
	assert_int_equal(fake_vmcs_current, (u64)percpu_pages[CPU].vmcs01);
	/* required-1 bits plus the wanted ones, all allowed (A.3) */
	assert_int_equal(vmcs_get(VMCS_PIN_BASED_VM_EXEC_CONTROL), 0x3e);
	assert_int_equal(vmcs_get(VMCS_CPU_BASED_VM_EXEC_CONTROL), 0x96006172);
	assert_int_equal(vmcs_get(VMCS_SECONDARY_VM_EXEC_CONTROL), 0x001010aa);
	assert_int_equal(vmcs_get(VMCS_VM_EXIT_CONTROLS), 0x3f6ffb);
	assert_int_equal(vmcs_get(VMCS_VM_ENTRY_CONTROLS), 0xd1fb);
	assert_int_equal(vmcs_get(VMCS_EPT_POINTER), FAKE_EPTP);
	assert_int_equal(fake_ept01_build_calls, 1);
	assert_int_equal(vmcs_get(VMCS_VPID) != 0, 1);
	assert_int_equal(vmcs_get(VMCS_VMCS_LINK_POINTER), ~0ull);
	assert_int_equal(vmcs_get(VMCS_MSR_BITMAP), (u64)percpu_pages[CPU].msr_bitmap);
	assert_int_equal(vmcs_get(VMCS_IO_BITMAP_A), (u64)percpu_pages[CPU].io_bitmap_a);
	assert_int_equal(vmcs_get(VMCS_HOST_IA32_EFER), msr_get(MSR_IA32_EFER));
	assert_int_equal(vmcs_get(VMCS_HOST_CR0), fake_cr[0]);
	assert_int_equal(vmcs_get(VMCS_HOST_CR4), fake_cr[4]);
	assert_int_equal(vmcs_get(VMCS_HOST_GDTR_BASE), store_gdtr().base);
	assert_int_equal(vmcs_get(VMCS_HOST_IDTR_BASE), store_idtr().base);
	assert_int_equal(vmcs_get(VMCS_HOST_GS_BASE), (u64)&percpu[CPU]);
	/* masks: the guest owns PE; PG, NE, CD, NW and the bits FIXED1 forbids are ours */
	u64 m0 = vmcs_get(VMCS_CR0_GUEST_HOST_MASK), m4 = vmcs_get(VMCS_CR4_GUEST_HOST_MASK);
	assert_int_equal(m0 & (CR0_PE | CR0_PG), CR0_PG);
	assert_int_equal(m0 & (CR0_NE | CR0_CD | CR0_NW), CR0_NE | CR0_CD | CR0_NW);
	assert_true(m0 & BIT(32));
	assert_true(m4 & CR4_VMXE);
	assert_true(m4 & BIT(22)); /* PKE not in skylake_x's CR4_FIXED1 */
	assert_false(m4 & CR4_PAE);
	/* the INIT state, as the guest sees it */
	check_init_state(0);
	assert_int_equal(guest_view(VMCS_GUEST_CR0, VMCS_CR0_GUEST_HOST_MASK, VMCS_CR0_READ_SHADOW), 0x60000010);
	assert_int_equal(guest_view(VMCS_GUEST_CR4, VMCS_CR4_GUEST_HOST_MASK, VMCS_CR4_READ_SHADOW), 0);
	/* the MSRs the hypervisor owns are intercepted, others not (25.6.9) */
	const u8 *bm = percpu_pages[CPU].msr_bitmap;
	assert_true(bm[0x3a / 8] & BIT(0x3a % 8));                   /* read FEATURE_CONTROL */
	assert_true(bm[2048 + 0x3a / 8] & BIT(0x3a % 8));            /* write */
	assert_true(bm[0x480 / 8] & BIT(0));                          /* VMX_BASIC */
	assert_true(bm[2048 + 0x830 / 8] & BIT(0x830 % 8));          /* x2APIC ICR write */
	assert_false(bm[0x10 / 8] & BIT(0x10 % 8));                   /* TSC */
	assert_false(bm[1024 + 0x80 / 8] & BIT(0));                   /* EFER read */
}

static void test_no_true_controls_cr3_exiting(void **state)
{
	(void)state;
	struct vmx_caps *c = &percpu[CPU].vmx;
	c->basic &= ~VMX_BASIC_TRUE_CTLS;
	c->pinbased = c->raw_pinbased, c->procbased = c->raw_procbased;
	c->exit = c->raw_exit, c->entry = c->raw_entry;
	const char *err = vmcs01_init(CPU);
	assert_non_null(err);
	assert_non_null(strstr(err, "CR3"));
	assert_int_equal(vmcs_writes(VMCS_CPU_BASED_VM_EXEC_CONTROL), 0);
}

static void test_penryn_no_ept(void **state)
{
	(void)state;
	caps_penryn(&percpu[CPU].vmx);
	const char *err = vmcs01_init(CPU);
	assert_non_null(err);
	assert_non_null(strstr(err, "missing"));
	assert_int_equal(vmcs_writes(VMCS_SECONDARY_VM_EXEC_CONTROL), 0);
	assert_int_equal(vmcs_writes(VMCS_GUEST_CR0), 0);
	assert_int_equal(fake_ept01_build_calls, 0);
}

static void test_missing_nmi_exiting(void **state)
{
	(void)state;
	percpu[CPU].vmx.pinbased &= ~((u64)PIN_VIRTUAL_NMIS << 32);
	assert_non_null(vmcs01_init(CPU));
	assert_int_equal(vmcs_writes(VMCS_PIN_BASED_VM_EXEC_CONTROL), 0);
}

static void test_vmptrld_failure(void **state)
{
	(void)state;
	fake_vmptrld_fails = true;
	assert_non_null(vmcs01_init(CPU));
	assert_int_equal(vmcs_writes(VMCS_PIN_BASED_VM_EXEC_CONTROL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_init_state_after_sipi, setup),
		cmocka_unit_test_setup(test_init_state_vector_ff, setup),
		cmocka_unit_test_setup(test_init_ip, setup),
		cmocka_unit_test_setup(test_skylake_x_controls, setup),
		cmocka_unit_test_setup(test_no_true_controls_cr3_exiting, setup),
		cmocka_unit_test_setup(test_penryn_no_ept, setup),
		cmocka_unit_test_setup(test_missing_nmi_exiting, setup),
		cmocka_unit_test_setup(test_vmptrld_failure, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
