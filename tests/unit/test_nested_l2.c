/* nested/: VM entry into L2 and VM exits from L2 (SDM Vol. 3 chapters 27
 * and 28) on the fake VMCSs (one per region: VMCS01 and VMCS02 apart).
 * VMCS02 from a VMCS12 (COPY, GPADDR, L0 and translated fields, a GPADDR
 * field into hypervisor memory refused), the entry checks (each failing
 * condition gives its error or VM-entry failure), and exits: reflected
 * (L2's state and the exit information into VMCS12, L1's host state into
 * VMCS01) or L0's (L2 stays); with L1's EPT, EPT02's violations (mapped,
 * reflected with L1's qualification or as a misconfiguration, or #GP(0)
 * for what EPT01 denies); the hypapp's VMCALL/CPUID of L2 and isolated code in L2 (L0's). */
#include "nested_l1.h"
#include <nested/ept02.h>
#include <nested/l2_msr.h>
#include <nested/vmcs02.h>
#include <runtime/ept01.h>
#include <runtime/vmx_ops.h>
#include <xmhf/memprot.h>
#include <xmhf/mtrr.h>

#define L2_RIP 0x5000ull
#define HOST_RIP 0x9000ull
#define HOST_RSP 0x8000ull
#define HOST_CR3 0x3000ull
#define HOST_TR_BASE 0x4000ull
#define IO_A 0x30000ull
#define IO_B 0x31000ull
#define MSR_BITMAP_PAGE 0x32000ull
#define L0_HOST_RIP 0xffff800000abc000ull
#define L0_EPTP (0x123000ull | 0x1e)
#define SEL_CODE 0x08
#define SEL_DATA 0x10
#define SEL_TSS 0x18
#define AR_CODE64 (AR_CODE_RX_ACCESSED | AR_L | AR_G)
#define AR_DATA (AR_DATA_RW_ACCESSED | AR_DB | AR_G)

static struct nested_cpu *n;

static u64 allowed0(u32 msr) { return (u32)l1_msr(&n->caps, msr); }
/* What L1 wrote into VMCS12 (by VMWRITE or into the shadow VMCS): the
 * cache, and the shadow VMCS as before L1 runs. */
static void put(enum vmcs12_index i, u64 v)
{
	vmcs12_put(&n->current, i, v);
	shadow_flush(n);
}
static u64 get12(enum vmcs12_index i) { return vmcs12_get(&n->current, i); }

/* VMCS01 as vmcs01.c leaves it, for what VMCS02 takes from it. */
static void vmcs01_l0_state(void)
{
	vmcs_set(VMCS_PIN_BASED_VM_EXEC_CONTROL, PIN_NMI_EXITING | PIN_VIRTUAL_NMIS);
	vmcs_set(VMCS_CPU_BASED_VM_EXEC_CONTROL, PROC_USE_MSR_BITMAPS | PROC_ACTIVATE_SECONDARY);
	vmcs_set(VMCS_VM_EXIT_CONTROLS, EXIT_HOST_ADDR_SPACE_SIZE | EXIT_SAVE_PAT | EXIT_LOAD_PAT | EXIT_SAVE_EFER |
						EXIT_LOAD_EFER);
	vmcs_set(VMCS_VM_ENTRY_CONTROLS, ENTRY_LOAD_PAT | ENTRY_LOAD_EFER | ENTRY_IA32E_MODE_GUEST);
	vmcs_set(VMCS_EXCEPTION_BITMAP, BIT(VECTOR_DB));
	vmcs_set(VMCS_HOST_RIP, L0_HOST_RIP);
	vmcs_set(VMCS_HOST_RSP, 0xffff800000100000ull);
	vmcs_set(VMCS_HOST_CR3, 0x7000000ull);
	vmcs_set(VMCS_EPT_POINTER, L0_EPTP);
	vmcs_set(VMCS_GUEST_IA32_PAT, 0x0007040600070406ull);
}

/* A VMCS12 that passes every check: L1 (64-bit) runs a 64-bit L2 with
 * its own state, exits to HOST_RIP in 64-bit mode with EFER loaded. */
static void valid_vmcs12(void)
{
	put(VMCS12_IDX_PIN_BASED_VM_EXEC_CONTROL, allowed0(MSR_IA32_VMX_TRUE_PINBASED_CTLS));
	put(VMCS12_IDX_CPU_BASED_VM_EXEC_CONTROL, allowed0(MSR_IA32_VMX_TRUE_PROCBASED_CTLS));
	put(VMCS12_IDX_VM_EXIT_CONTROLS, allowed0(MSR_IA32_VMX_TRUE_EXIT_CTLS) | EXIT_HOST_ADDR_SPACE_SIZE | EXIT_LOAD_EFER);
	put(VMCS12_IDX_VM_ENTRY_CONTROLS, allowed0(MSR_IA32_VMX_TRUE_ENTRY_CTLS) | ENTRY_IA32E_MODE_GUEST);
	put(VMCS12_IDX_EXCEPTION_BITMAP, BIT(VECTOR_UD));
	put(VMCS12_IDX_VMCS_LINK_POINTER, VMCS12_NONE);
	put(VMCS12_IDX_HOST_CR0, CR0_PE | CR0_NE | CR0_PG);
	put(VMCS12_IDX_HOST_CR4, CR4_PAE | CR4_VMXE);
	put(VMCS12_IDX_HOST_CR3, HOST_CR3);
	put(VMCS12_IDX_HOST_CS_SELECTOR, SEL_CODE);
	put(VMCS12_IDX_HOST_SS_SELECTOR, SEL_DATA);
	put(VMCS12_IDX_HOST_DS_SELECTOR, SEL_DATA);
	put(VMCS12_IDX_HOST_TR_SELECTOR, SEL_TSS);
	put(VMCS12_IDX_HOST_TR_BASE, HOST_TR_BASE);
	put(VMCS12_IDX_HOST_RIP, HOST_RIP);
	put(VMCS12_IDX_HOST_RSP, HOST_RSP);
	put(VMCS12_IDX_HOST_IA32_EFER, EFER_LME | EFER_LMA);
	put(VMCS12_IDX_GUEST_CR0, CR0_PE | CR0_NE | CR0_PG);
	put(VMCS12_IDX_GUEST_CR4, CR4_PAE | CR4_VMXE);
	put(VMCS12_IDX_GUEST_CR3, 0x1000);
	put(VMCS12_IDX_GUEST_CS_SELECTOR, SEL_CODE);
	put(VMCS12_IDX_GUEST_CS_AR_BYTES, AR_CODE64);
	put(VMCS12_IDX_GUEST_CS_LIMIT, 0xffffffff);
	for (u32 s = SEG_ES; s <= SEG_GS; s++)
		if (s != SEG_CS) {
			put(VMCS12_IDX_GUEST_ES_SELECTOR + s, SEL_DATA);
			put(VMCS12_IDX_GUEST_ES_AR_BYTES + s, AR_DATA);
			put(VMCS12_IDX_GUEST_ES_LIMIT + s, 0xffffffff);
		}
	put(VMCS12_IDX_GUEST_LDTR_AR_BYTES, AR_UNUSABLE);
	put(VMCS12_IDX_GUEST_TR_SELECTOR, SEL_TSS);
	put(VMCS12_IDX_GUEST_TR_AR_BYTES, AR_TSS_BUSY);
	put(VMCS12_IDX_GUEST_TR_LIMIT, 0x67);
	put(VMCS12_IDX_GUEST_RIP, L2_RIP);
	put(VMCS12_IDX_GUEST_RFLAGS, RFLAGS_RESERVED_1);
}

static void back_to_vmcs01(void) { assert_true(vmptrld(vmcs01_region())); }

static int setup_l2(void **state)
{
	setup(state);
	ept01_of_cpu0();
	assert_true(vmptrld(vmcs01_region())); /* the fake's first region: VMCS01 */
	vmcs01_l0_state();
	vmxon_ok();
	vmptrld_ok(VMCS_A);
	n = nested_cpu();
	n->vmcs02_launched = true; /* VMRESUME: the core's, after the exit */
	valid_vmcs12();
	return 0;
}

static void enter_l2(void)
{
	exec(EXIT_REASON_VMLAUNCH, 0, 0);
	assert_int_equal(nested_mode(n), VMX_MODE_L2);
	assert_int_not_equal(fake_vmcs_current, vmcs01_region().v);
}

static void test_vmcs02_built_from_vmcs12(void **state)
{
	(void)state;
	put(VMCS12_IDX_CPU_BASED_VM_EXEC_CONTROL, get12(VMCS12_IDX_CPU_BASED_VM_EXEC_CONTROL) | PROC_USE_IO_BITMAPS |
							 PROC_USE_MSR_BITMAPS);
	put(VMCS12_IDX_IO_BITMAP_A, IO_A);
	put(VMCS12_IDX_IO_BITMAP_B, IO_B);
	put(VMCS12_IDX_MSR_BITMAP, MSR_BITMAP_PAGE);
	put(VMCS12_IDX_GUEST_RSP, 0x6000);
	put(VMCS12_IDX_TSC_OFFSET, 12345);
	enter_l2();
	/* COPY */
	assert_int_equal(vmcs_get(VMCS_GUEST_RIP), L2_RIP);
	assert_int_equal(vmcs_get(VMCS_GUEST_RSP), 0x6000);
	assert_int_equal(vmcs_get(VMCS_GUEST_CS_AR_BYTES), AR_CODE64);
	assert_int_equal(vmcs_get(VMCS_GUEST_CR3), 0x1000);
	/* GPADDR: L1's RAM is its own host-physical address (EPT01 is an identity map) */
	assert_int_equal(vmcs_get(VMCS_IO_BITMAP_A), IO_A);
	assert_int_equal(vmcs_get(VMCS_IO_BITMAP_B), IO_B);
	/* L0: the host state is VMCS01's */
	assert_int_equal(vmcs_get(VMCS_HOST_RIP), L0_HOST_RIP);
	assert_int_equal(vmcs_get(VMCS_HOST_CR3), 0x7000000ull);
	/* XLATE: L0's needs added, MSR bitmap and VPID off, EPT01, L1's TSC offset */
	assert_int_equal(vmcs_get(VMCS_PIN_BASED_VM_EXEC_CONTROL) & (PIN_NMI_EXITING | PIN_VIRTUAL_NMIS),
			 PIN_NMI_EXITING | PIN_VIRTUAL_NMIS);
	u64 proc = vmcs_get(VMCS_CPU_BASED_VM_EXEC_CONTROL);
	assert_false(proc & PROC_USE_MSR_BITMAPS);
	assert_true(proc & PROC_USE_IO_BITMAPS);
	assert_true(proc & PROC_ACTIVATE_SECONDARY);
	assert_int_equal(vmcs_get(VMCS_SECONDARY_VM_EXEC_CONTROL), PROC2_ENABLE_EPT);
	assert_int_equal(vmcs_get(VMCS_EPT_POINTER), L0_EPTP);
	assert_int_equal(vmcs_get(VMCS_VPID), 0);
	assert_int_equal(vmcs_get(VMCS_TSC_OFFSET), 12345);
	assert_int_equal(vmcs_get(VMCS_EXCEPTION_BITMAP), BIT(VECTOR_UD) | BIT(VECTOR_DB));
	assert_int_equal(vmcs_get(VMCS_VMCS_LINK_POINTER), VMCS12_NONE);
	assert_true(vmcs_get(VMCS_VM_EXIT_CONTROLS) & EXIT_LOAD_EFER);
	assert_true(vmcs_get(VMCS_VM_ENTRY_CONTROLS) & (ENTRY_LOAD_EFER | ENTRY_LOAD_PAT));
	/* L1 loads no EFER or PAT: L2 gets L1's, with LMA/LME as IA-32e mode guest says */
	assert_int_equal(vmcs_get(VMCS_GUEST_IA32_EFER), EFER_LME | EFER_LMA);
	assert_int_equal(vmcs_get(VMCS_GUEST_IA32_PAT), 0x0007040600070406ull);
	/* no MSR areas in VMCS02 */
	assert_int_equal(vmcs_get(VMCS_VM_ENTRY_MSR_LOAD_COUNT), 0);
	/* VMCS01: L1 stays at its VMLAUNCH until the exit */
	back_to_vmcs01();
	assert_int_equal(vmcs_get(VMCS_GUEST_RIP), RIP0);
}

/* L0 intercepts I/O for itself: VMCS02 exits on every I/O (l2_exit.c asks L1's bitmaps). */
static void test_vmcs02_io_exiting_for_l0(void **state)
{
	(void)state;
	vmcs_set(VMCS_CPU_BASED_VM_EXEC_CONTROL, PROC_USE_MSR_BITMAPS | PROC_USE_IO_BITMAPS | PROC_ACTIVATE_SECONDARY);
	put(VMCS12_IDX_CPU_BASED_VM_EXEC_CONTROL, get12(VMCS12_IDX_CPU_BASED_VM_EXEC_CONTROL) | PROC_USE_IO_BITMAPS);
	put(VMCS12_IDX_IO_BITMAP_A, IO_A);
	put(VMCS12_IDX_IO_BITMAP_B, IO_B);
	enter_l2();
	u64 proc = vmcs_get(VMCS_CPU_BASED_VM_EXEC_CONTROL);
	assert_false(proc & PROC_USE_IO_BITMAPS);
	assert_true(proc & PROC_UNCONDITIONAL_IO_EXITING);
}

/* L1's VPID12 becomes a VPID02 of L0's on this CPU (nested/vpid02.h). */
static void test_vmcs02_vpid02(void **state)
{
	(void)state;
	put(VMCS12_IDX_CPU_BASED_VM_EXEC_CONTROL, get12(VMCS12_IDX_CPU_BASED_VM_EXEC_CONTROL) | PROC_ACTIVATE_SECONDARY);
	put(VMCS12_IDX_SECONDARY_VM_EXEC_CONTROL, PROC2_ENABLE_VPID);
	put(VMCS12_IDX_VPID, 7);
	enter_l2();
	assert_int_equal(vmcs_get(VMCS_SECONDARY_VM_EXEC_CONTROL), PROC2_ENABLE_EPT | PROC2_ENABLE_VPID);
	assert_int_equal(vmcs_get(VMCS_VPID), VPID02_FIRST);
	assert_int_equal(fake_invvpid_calls, 0);
}

/* VPID02s: one per VPID12 in use, the least recently used one recycled
 * after a single-context INVVPID of its entries; L1's INVVPID reaches the
 * VPID02s of the VPID12s it names, nothing for one without a VPID02. */
static void test_vpid02_recycled_and_invalidated(void **state)
{
	(void)state;
	struct vpid02_map m = { 0 };
	for (u16 v = 1; v <= VPID02_COUNT; v++)
		assert_int_equal(vpid02_of(&m, &n->caps, v), VPID02_FIRST + v - 1);
	assert_int_equal(vpid02_of(&m, &n->caps, 1), VPID02_FIRST); /* VPID12 2 is now the least recent */
	assert_int_equal(fake_invvpid_calls, 0);
	assert_int_equal(vpid02_of(&m, &n->caps, 100), VPID02_FIRST + 1);
	assert_int_equal(fake_invvpid_calls, 1);
	assert_int_equal(fake_invvpid_type, INVVPID_SINGLE_CONTEXT);
	assert_int_equal(fake_invvpid_vpid, VPID02_FIRST + 1);

	vpid02_invvpid(&m, &n->caps, INVVPID_INDIVIDUAL_ADDRESS, 3, 0x7000);
	assert_int_equal(fake_invvpid_calls, 2);
	assert_int_equal(fake_invvpid_type, INVVPID_INDIVIDUAL_ADDRESS);
	assert_int_equal(fake_invvpid_vpid, VPID02_FIRST + 2);
	assert_int_equal(fake_invvpid_linear, 0x7000);
	vpid02_invvpid(&m, &n->caps, INVVPID_SINGLE_CONTEXT, 2, 0); /* recycled: nothing cached */
	assert_int_equal(fake_invvpid_calls, 2);
	vpid02_invvpid(&m, &n->caps, INVVPID_ALL_CONTEXT, 0, 0);
	assert_int_equal(fake_invvpid_calls, 2 + VPID02_COUNT);
	assert_int_equal(fake_invvpid_type, INVVPID_SINGLE_CONTEXT);
}

static void expect_entry_vmfail(u64 error)
{
	exec(EXIT_REASON_VMLAUNCH, 0, 0);
	assert_int_equal(nested_mode(n), VMX_MODE_L1_ROOT);
	assert_int_equal(fake_vmcs_current, vmcs01_region().v);
	assert_int_equal(outcome(), FAIL_VALID);
	assert_int_equal(insn_error(), error);
}

/* A GPADDR field in use must be L1's guest RAM with the rights it needs:
 * not the hypervisor's, not past guest RAM, not a page EPT01 denies; one
 * not in use is not looked at (VMCS02 gets 0). */
static void test_gpaddr_outside_guest_ram_refused(void **state)
{
	(void)state;
	const u64 bad[] = { FAKE_HV_BASE, FAKE_HV_END - PAGE_SIZE, FAKE_GUEST_MEM + PAGE_SIZE };
	put(VMCS12_IDX_CPU_BASED_VM_EXEC_CONTROL, get12(VMCS12_IDX_CPU_BASED_VM_EXEC_CONTROL) | PROC_USE_IO_BITMAPS);
	put(VMCS12_IDX_IO_BITMAP_B, IO_B);
	for (u32 i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		put(VMCS12_IDX_IO_BITMAP_A, bad[i]);
		expect_entry_vmfail(VMERR_ENTRY_INVALID_CONTROLS);
	}
	/* a virtual-APIC page EPT01 denies L1 (a PAL's, lent): the CPU would write it */
	assert_true(memprot_set(0, l1_gpa(IO_A), EPT_R));
	put(VMCS12_IDX_IO_BITMAP_A, IO_A);
	put(VMCS12_IDX_CPU_BASED_VM_EXEC_CONTROL, get12(VMCS12_IDX_CPU_BASED_VM_EXEC_CONTROL) | PROC_USE_TPR_SHADOW);
	put(VMCS12_IDX_VIRTUAL_APIC_PAGE_ADDR, IO_A);
	expect_entry_vmfail(VMERR_ENTRY_INVALID_CONTROLS);
	assert_true(memprot_set(0, l1_gpa(IO_A), EPT_RWX));
	put(VMCS12_IDX_CPU_BASED_VM_EXEC_CONTROL, get12(VMCS12_IDX_CPU_BASED_VM_EXEC_CONTROL) & ~(u64)PROC_USE_TPR_SHADOW);
	put(VMCS12_IDX_CPU_BASED_VM_EXEC_CONTROL, get12(VMCS12_IDX_CPU_BASED_VM_EXEC_CONTROL) | PROC_USE_MSR_BITMAPS);
	put(VMCS12_IDX_MSR_BITMAP, FAKE_HV_BASE);
	expect_entry_vmfail(VMERR_ENTRY_INVALID_CONTROLS);
	/* not in use: not looked at */
	put(VMCS12_IDX_CPU_BASED_VM_EXEC_CONTROL, allowed0(MSR_IA32_VMX_TRUE_PROCBASED_CTLS));
	put(VMCS12_IDX_IO_BITMAP_A, FAKE_HV_BASE);
	enter_l2();
	assert_int_equal(vmcs_get(VMCS_IO_BITMAP_A), 0);
}

/* 27.2: control and host-state checks, VMfailValid(7) / (8) */
static void test_entry_checks_vmfail(void **state)
{
	(void)state;
	const struct {
		enum vmcs12_index field;
		u64 value, error;
	} t[] = {
		{ VMCS12_IDX_PIN_BASED_VM_EXEC_CONTROL, 0, VMERR_ENTRY_INVALID_CONTROLS }, /* allowed-0 bits clear */
		{ VMCS12_IDX_CR3_TARGET_COUNT, 5, VMERR_ENTRY_INVALID_CONTROLS },
		{ VMCS12_IDX_VM_ENTRY_INTR_INFO, INTR_INFO_VALID | (EVENT_RESERVED << 8), VMERR_ENTRY_INVALID_CONTROLS },
		{ VMCS12_IDX_VM_ENTRY_INTR_INFO, INTR_INFO_VALID | INTR_TYPE_NMI | 3, VMERR_ENTRY_INVALID_CONTROLS },
		{ VMCS12_IDX_HOST_CR4, CR4_PAE, VMERR_ENTRY_INVALID_HOST_STATE },          /* no VMXE */
		{ VMCS12_IDX_HOST_CR0, CR0_NE | CR0_PG, VMERR_ENTRY_INVALID_HOST_STATE },  /* no PE */
		{ VMCS12_IDX_HOST_TR_SELECTOR, 0, VMERR_ENTRY_INVALID_HOST_STATE },
		{ VMCS12_IDX_HOST_CS_SELECTOR, SEL_CODE | 3, VMERR_ENTRY_INVALID_HOST_STATE },
		{ VMCS12_IDX_HOST_RIP, 0x0000800000000000ull, VMERR_ENTRY_INVALID_HOST_STATE }, /* not canonical */
		{ VMCS12_IDX_VM_EXIT_CONTROLS, allowed0(MSR_IA32_VMX_TRUE_EXIT_CTLS), VMERR_ENTRY_INVALID_HOST_STATE },
	};
	for (u32 i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		u64 good = get12(t[i].field);
		put(t[i].field, t[i].value);
		expect_entry_vmfail(t[i].error);
		put(t[i].field, good);
	}
	enter_l2();
}

/* 27.3: guest-state checks, a VM-entry failure for L1 (27.8): exit reason
 * 33 with bit 31 and the qualification, L1 at its host RIP, not launched. */
static void test_entry_checks_guest_state(void **state)
{
	(void)state;
	const struct {
		enum vmcs12_index field;
		u64 value, qualification;
	} t[] = {
		{ VMCS12_IDX_GUEST_RFLAGS, 0, 0 },
		{ VMCS12_IDX_GUEST_CR0, CR0_NE | CR0_PG, 0 },
		{ VMCS12_IDX_GUEST_CR4, CR4_PAE, 0 },
		{ VMCS12_IDX_GUEST_TR_AR_BYTES, AR_UNUSABLE, 0 },
		{ VMCS12_IDX_GUEST_CS_LIMIT, 0xfff00, 0 }, /* G set, low bits clear */
		{ VMCS12_IDX_GUEST_INTERRUPTIBILITY_INFO, INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS, 0 },
		{ VMCS12_IDX_GUEST_ACTIVITY_STATE, 4, 0 },
		{ VMCS12_IDX_VMCS_LINK_POINTER, 0, 4 },
	};
	for (u32 i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		u64 good = get12(t[i].field);
		put(t[i].field, t[i].value);
		exec(EXIT_REASON_VMLAUNCH, 0, 0);
		assert_int_equal(nested_mode(n), VMX_MODE_L1_ROOT);
		assert_int_equal(fake_vmcs_current, vmcs01_region().v);
		assert_int_equal(get12(VMCS12_IDX_VM_EXIT_REASON), EXIT_REASON_ENTRY_FAILURE | EXIT_REASON_ENTRY_FAIL_GUEST);
		assert_int_equal(get12(VMCS12_IDX_EXIT_QUALIFICATION), t[i].qualification);
		assert_int_equal(vmcs_get(VMCS_GUEST_RIP), HOST_RIP);
		assert_false(n->current.launched);
		put(t[i].field, good);
	}
}

/* The CPU refused VMCS02 anyway: L1 gets the CPU's VMfailValid. */
static void test_cpu_refusal_of_vmcs02(void **state)
{
	(void)state;
	enter_l2();
	vmcs_set(VMCS_VM_INSTRUCTION_ERROR, VMERR_ENTRY_INVALID_HOST_STATE);
	assert_true(nested_entry_failed(&regs));
	assert_int_equal(nested_mode(n), VMX_MODE_L1_ROOT);
	assert_int_equal(fake_vmcs_current, vmcs01_region().v);
	assert_int_equal(outcome(), FAIL_VALID);
	assert_int_equal(insn_error(), VMERR_ENTRY_INVALID_HOST_STATE);
	assert_false(n->current.launched);
	assert_false(nested_entry_failed(&regs)); /* not VMCS02's: the core's */
}

/* An exit of VMCS02 that L1 asked for (CPUID always exits). */
static void l2_exits(u32 reason, u64 qualification)
{
	vmcs_set(VMCS_VM_EXIT_REASON, reason);
	vmcs_set(VMCS_EXIT_QUALIFICATION, qualification);
	vmcs_set(VMCS_VM_EXIT_INSTRUCTION_LEN, 2);
	vmcs_set(VMCS_GUEST_RIP, L2_RIP + 0x10);
	vmcs_set(VMCS_GUEST_RSP, 0x7777);
}

/* VMRESUME after an exit to L1: 27.2's checks of controls and host state
 * are skipped for an unchanged VMCS12, never for what L1 wrote since,
 * through the shadow (a hot control) or by an exit (host state), nor for
 * L1's own mode (27.2.4, VMCS01). */
static void l2_runs_then_cpuid_exit(void)
{
	l2_exits(EXIT_REASON_CPUID, 0);
	assert_true(nested_l2_exit(&regs, EXIT_REASON_CPUID));
	assert_int_equal(nested_mode(n), VMX_MODE_L1_ROOT);
}

static void test_entry_checks_after_an_exit(void **state)
{
	(void)state;
	enter_l2();
	l2_runs_then_cpuid_exit();
	exec(EXIT_REASON_VMRESUME, 0, 0);
	assert_int_equal(nested_mode(n), VMX_MODE_L2);
	l2_runs_then_cpuid_exit();
	u64 proc = get12(VMCS12_IDX_CPU_BASED_VM_EXEC_CONTROL);
	assert_int_equal(l1_vmwrite(VMCS_CPU_BASED_VM_EXEC_CONTROL, 0), SUCCEED); /* allowed-0 bits clear */
	exec(EXIT_REASON_VMRESUME, 0, 0);
	assert_int_equal(outcome(), FAIL_VALID);
	assert_int_equal(insn_error(), VMERR_ENTRY_INVALID_CONTROLS);
	assert_int_equal(l1_vmwrite(VMCS_CPU_BASED_VM_EXEC_CONTROL, proc), SUCCEED);
	u64 cr4 = get12(VMCS12_IDX_HOST_CR4);
	assert_int_equal(l1_vmwrite(VMCS_HOST_CR4, CR4_PAE), SUCCEED); /* no VMXE */
	exec(EXIT_REASON_VMRESUME, 0, 0);
	assert_int_equal(outcome(), FAIL_VALID);
	assert_int_equal(insn_error(), VMERR_ENTRY_INVALID_HOST_STATE);
	assert_int_equal(l1_vmwrite(VMCS_HOST_CR4, cr4), SUCCEED);
	exec(EXIT_REASON_VMRESUME, 0, 0);
	assert_int_equal(nested_mode(n), VMX_MODE_L2);
	l2_runs_then_cpuid_exit();
	u64 efer = vmcs_get(VMCS_GUEST_IA32_EFER);
	vmcs_set(VMCS_GUEST_IA32_EFER, efer & ~EFER_LMA); /* L1 outside IA-32e mode: a 64-bit host is refused */
	exec(EXIT_REASON_VMRESUME, 0, 0);
	assert_int_equal(outcome(), FAIL_VALID);
	assert_int_equal(insn_error(), VMERR_ENTRY_INVALID_HOST_STATE);
	vmcs_set(VMCS_GUEST_IA32_EFER, efer);
	exec(EXIT_REASON_VMRESUME, 0, 0);
	assert_int_equal(nested_mode(n), VMX_MODE_L2);
}

static void test_exit_reflected(void **state)
{
	(void)state;
	enter_l2();
	l2_exits(EXIT_REASON_CPUID, 0);
	assert_true(nested_l2_exit(&regs, EXIT_REASON_CPUID));
	assert_int_equal(nested_mode(n), VMX_MODE_L1_ROOT);
	assert_int_equal(fake_vmcs_current, vmcs01_region().v);
	/* L2's state and the exit information in VMCS12 */
	assert_int_equal(get12(VMCS12_IDX_VM_EXIT_REASON), EXIT_REASON_CPUID);
	assert_int_equal(get12(VMCS12_IDX_VM_EXIT_INSTRUCTION_LEN), 2);
	assert_int_equal(get12(VMCS12_IDX_GUEST_RIP), L2_RIP + 0x10);
	assert_int_equal(get12(VMCS12_IDX_GUEST_RSP), 0x7777);
	assert_true(n->current.launched);
	/* L1's host state in VMCS01 (28.5) */
	assert_int_equal(vmcs_get(VMCS_GUEST_RIP), HOST_RIP);
	assert_int_equal(vmcs_get(VMCS_GUEST_RSP), HOST_RSP);
	assert_int_equal(vmcs_get(VMCS_GUEST_RFLAGS), RFLAGS_RESERVED_1);
	assert_int_equal(vmcs_get(VMCS_GUEST_CR3), HOST_CR3);
	assert_int_equal(vmcs_get(VMCS_CR4_READ_SHADOW), CR4_PAE | CR4_VMXE);
	assert_int_equal(vmcs_get(VMCS_GUEST_CS_SELECTOR), SEL_CODE);
	assert_int_equal(vmcs_get(VMCS_GUEST_CS_AR_BYTES), AR_CODE_RX_ACCESSED | AR_G | AR_L);
	assert_int_equal(vmcs_get(VMCS_GUEST_ES_AR_BYTES), AR_UNUSABLE); /* null selector */
	assert_int_equal(vmcs_get(VMCS_GUEST_SS_AR_BYTES), AR_DATA);
	assert_int_equal(vmcs_get(VMCS_GUEST_TR_BASE), HOST_TR_BASE);
	assert_int_equal(vmcs_get(VMCS_GUEST_TR_LIMIT), 0x67);
	assert_int_equal(vmcs_get(VMCS_GUEST_GDTR_LIMIT), 0xffff);
	assert_int_equal(vmcs_get(VMCS_GUEST_IA32_EFER), EFER_LME | EFER_LMA);
	assert_int_equal(vmcs_get(VMCS_GUEST_DR7), DR7_INIT_VALUE);
	assert_true(vmcs_get(VMCS_VM_ENTRY_CONTROLS) & ENTRY_IA32E_MODE_GUEST);
	assert_false(vmcs_get(VMCS_VM_ENTRY_INTR_INFO) & INTR_INFO_VALID);
	/* the exit information and L2's state in the shadow VMCS too, where L1's VMREAD finds them */
	assert_true(vmptrld(hpa(vmcs_get(VMCS_VMCS_LINK_POINTER))));
	assert_int_equal(vmcs_get(VMCS_VM_EXIT_REASON), EXIT_REASON_CPUID);
	assert_int_equal(vmcs_get(VMCS_VM_EXIT_INSTRUCTION_LEN), 2);
	assert_int_equal(vmcs_get(VMCS_GUEST_RIP), L2_RIP + 0x10);
	assert_int_equal(vmcs_get(VMCS_GUEST_RSP), 0x7777);
	back_to_vmcs01();
	/* VMRESUME now */
	exec(EXIT_REASON_VMRESUME, 0, 0);
	assert_int_equal(nested_mode(n), VMX_MODE_L2);
}

/* Exits L0 takes (false: the core's handlers, L2 stays) and their twins L1 asked for. */
static void test_exits_for_l0(void **state)
{
	(void)state;
	put(VMCS12_IDX_CPU_BASED_VM_EXEC_CONTROL, get12(VMCS12_IDX_CPU_BASED_VM_EXEC_CONTROL) | PROC_USE_IO_BITMAPS);
	put(VMCS12_IDX_IO_BITMAP_A, IO_A);
	put(VMCS12_IDX_IO_BITMAP_B, IO_B);
	guest_mem(IO_A, PAGE_SIZE)[0x80 / 8] = 1u << (0x80 % 8);
	enter_l2();
	/* a #DB L0 intercepts, not in L1's bitmap */
	vmcs_set(VMCS_VM_EXIT_INTR_INFO, INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | VECTOR_DB);
	assert_false(nested_l2_exit(&regs, EXIT_REASON_EXCEPTION_NMI));
	/* an NMI: L0's (quiesce, or the guest's: the core counts it) */
	vmcs_set(VMCS_VM_EXIT_INTR_INFO, INTR_INFO_VALID | INTR_TYPE_NMI | VECTOR_NMI);
	assert_false(nested_l2_exit(&regs, EXIT_REASON_EXCEPTION_NMI));
	/* OUT to port 0x70: clear in L1's bitmap */
	vmcs_set(VMCS_EXIT_QUALIFICATION, 0x70ull << 16);
	assert_false(nested_l2_exit(&regs, EXIT_REASON_IO));
	/* an EPT violation with L1 without EPT: EPT01's */
	assert_false(nested_l2_exit(&regs, EXIT_REASON_EPT_VIOLATION));
	assert_int_equal(nested_mode(n), VMX_MODE_L2);
	/* OUT to port 0x80: L1's */
	l2_exits(EXIT_REASON_IO, 0x80ull << 16);
	assert_true(nested_l2_exit(&regs, EXIT_REASON_IO));
	assert_int_equal(get12(VMCS12_IDX_EXIT_QUALIFICATION), 0x80ull << 16);
	assert_int_equal(nested_mode(n), VMX_MODE_L1_ROOT);
	/* #UD: in L1's bitmap */
	exec(EXIT_REASON_VMRESUME, 0, 0);
	vmcs_set(VMCS_VM_EXIT_INTR_INFO, INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | VECTOR_UD);
	assert_true(nested_l2_exit(&regs, EXIT_REASON_EXCEPTION_NMI));
	assert_int_equal(get12(VMCS12_IDX_VM_EXIT_INTR_INFO), INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | VECTOR_UD);
}

/* The hypapp's L2 hooks (xmhf/hypapp.h), replacing the core's defaults: what they were asked
 * and whether they claim it. */
static bool hypapp_claims;
static u64 asked_rax, asked_rcx;
bool hypapp_l2_vmcall_is_mine(const struct guest_regs *r)
{
	asked_rax = r->rax;
	return hypapp_claims;
}
bool hypapp_l2_cpuid_is_mine(u32 leaf, u32 subleaf)
{
	asked_rax = leaf;
	asked_rcx = subleaf;
	return hypapp_claims;
}

/* VMCALL and CPUID of L2: L0's (the core's handler on VMCS02, the hypapp sees an L2 caller)
 * when the hypapp claims them, else L1's; while isolated code (a PAL) runs in L2, every exit
 * is L0's, even one in L1's exception bitmap. */
static void test_hypapp_calls_of_l2(void **state)
{
	(void)state;
	assert_false(nested_caller_is_l2());
	put(VMCS12_IDX_PIN_BASED_VM_EXEC_CONTROL, get12(VMCS12_IDX_PIN_BASED_VM_EXEC_CONTROL) | PIN_EXTERNAL_INTERRUPT_EXITING);
	enter_l2();
	u64 pin02 = vmcs_get(VMCS_PIN_BASED_VM_EXEC_CONTROL), proc02 = vmcs_get(VMCS_CPU_BASED_VM_EXEC_CONTROL);
	u64 proc2_02 = vmcs_get(VMCS_SECONDARY_VM_EXEC_CONTROL);
	hypapp_claims = true;
	regs.rax = 0x4c415002;
	l2_exits(EXIT_REASON_VMCALL, 0);
	assert_false(nested_l2_exit(&regs, EXIT_REASON_VMCALL));
	assert_int_equal(asked_rax, 0x4c415002);
	assert_true(nested_caller_is_l2());
	assert_false(nested_caller_ept12());
	put(VMCS12_IDX_SECONDARY_VM_EXEC_CONTROL, PROC2_ENABLE_EPT); /* what nested_caller_ept12 reads */
	put(VMCS12_IDX_CPU_BASED_VM_EXEC_CONTROL, get12(VMCS12_IDX_CPU_BASED_VM_EXEC_CONTROL) | PROC_ACTIVATE_SECONDARY);
	assert_true(nested_caller_ept12());
	put(VMCS12_IDX_SECONDARY_VM_EXEC_CONTROL, 0);
	regs.rax = 0x7a567254;
	regs.rcx = 0x4c415000;
	l2_exits(EXIT_REASON_CPUID, 0);
	assert_false(nested_l2_exit(&regs, EXIT_REASON_CPUID));
	assert_int_equal(asked_rax, 0x7a567254);
	assert_int_equal(asked_rcx, 0x4c415000);
	assert_int_equal(nested_mode(n), VMX_MODE_L2);
	/* isolated: L0's whatever the hypapp and L1's controls say; VMCS02 with L0's controls
	 * only (no exit for L1's external interrupts), L1's back at the end */
	struct guest_isolation save;
	hypapp_claims = false;
	u64 eptp02 = vmcs_get(VMCS_EPT_POINTER);
	guest_isolate_begin(&save, 0x1000, 0x2000, 0x3000, 1000);
	vmcs_set(VMCS_EPT_POINTER, 0x777000 | EPTP_WB_4LEVEL); /* the hypapp's EPT */
	assert_false(nested_l2_exit(&regs, EXIT_REASON_CPUID));
	vmcs_set(VMCS_VM_EXIT_INTR_INFO, INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | VECTOR_UD);
	assert_false(nested_l2_exit(&regs, EXIT_REASON_EXCEPTION_NMI));
	assert_int_equal(nested_mode(n), VMX_MODE_L2);
	assert_false(vmcs_get(VMCS_PIN_BASED_VM_EXEC_CONTROL) & PIN_EXTERNAL_INTERRUPT_EXITING);
	assert_true(vmcs_get(VMCS_PIN_BASED_VM_EXEC_CONTROL) & PIN_NMI_EXITING);
	assert_true(vmcs_get(VMCS_CPU_BASED_VM_EXEC_CONTROL) & PROC_UNCONDITIONAL_IO_EXITING);
	assert_int_equal(vmcs_get(VMCS_SECONDARY_VM_EXEC_CONTROL), proc2_02 & (PROC2_ENABLE_EPT | PROC2_ENABLE_VPID));
	guest_isolate_end(&save);
	assert_int_equal(vmcs_get(VMCS_EPT_POINTER), eptp02);
	assert_int_equal(vmcs_get(VMCS_PIN_BASED_VM_EXEC_CONTROL), pin02);
	assert_true(pin02 & PIN_EXTERNAL_INTERRUPT_EXITING);
	assert_int_equal(vmcs_get(VMCS_CPU_BASED_VM_EXEC_CONTROL), proc02);
	assert_int_equal(vmcs_get(VMCS_SECONDARY_VM_EXEC_CONTROL), proc2_02);
	/* not claimed: L1's, and the hypapp's caller is L1 again */
	l2_exits(EXIT_REASON_VMCALL, 0);
	assert_true(nested_l2_exit(&regs, EXIT_REASON_VMCALL));
	assert_int_equal(get12(VMCS12_IDX_VM_EXIT_REASON), EXIT_REASON_VMCALL);
	assert_false(nested_caller_is_l2());
}

/* RDMSR of L2 that L1's bitmap lets through: done by L0 on VMCS02's guest
 * state (SYSENTER_ESP is switched by VM entries), L2 resumes past it. */
static void test_msr_l1_does_not_intercept(void **state)
{
	(void)state;
	put(VMCS12_IDX_CPU_BASED_VM_EXEC_CONTROL, get12(VMCS12_IDX_CPU_BASED_VM_EXEC_CONTROL) | PROC_USE_MSR_BITMAPS);
	put(VMCS12_IDX_MSR_BITMAP, MSR_BITMAP_PAGE);
	put(VMCS12_IDX_GUEST_SYSENTER_ESP, 0x5e5e5e5e);
	enter_l2();
	regs.rcx = MSR_IA32_SYSENTER_CS + 1;
	l2_exits(EXIT_REASON_RDMSR, 0);
	assert_true(nested_l2_exit(&regs, EXIT_REASON_RDMSR));
	assert_int_equal(nested_mode(n), VMX_MODE_L2);
	assert_int_equal(regs.rax, 0x5e5e5e5e);
	assert_int_equal(vmcs_get(VMCS_GUEST_RIP), L2_RIP + 0x12);
	/* set in L1's read bitmap: L1's exit */
	guest_mem(MSR_BITMAP_PAGE, PAGE_SIZE)[(MSR_IA32_SYSENTER_CS + 1) / 8] |= 1u << ((MSR_IA32_SYSENTER_CS + 1) % 8);
	assert_true(nested_l2_exit(&regs, EXIT_REASON_RDMSR));
	assert_int_equal(nested_mode(n), VMX_MODE_L1_ROOT);
	assert_int_equal(get12(VMCS12_IDX_VM_EXIT_REASON), EXIT_REASON_RDMSR);
}

/* A guest NMI while L2 runs with L1's NMI exiting: an NMI exit for L1. */
static void test_nmi_exit_to_l1(void **state)
{
	(void)state;
	enter_l2();
	assert_false(nested_nmi_exit_to_l1()); /* no NMI exiting: the core injects it into L2 */
	l2_exits(EXIT_REASON_CPUID, 0);
	assert_true(nested_l2_exit(&regs, EXIT_REASON_CPUID));
	put(VMCS12_IDX_PIN_BASED_VM_EXEC_CONTROL, get12(VMCS12_IDX_PIN_BASED_VM_EXEC_CONTROL) | PIN_NMI_EXITING);
	exec(EXIT_REASON_VMRESUME, 0, 0);
	assert_int_equal(nested_mode(n), VMX_MODE_L2);
	assert_true(nested_nmi_exit_to_l1());
	assert_int_equal(nested_mode(n), VMX_MODE_L1_ROOT);
	assert_int_equal(get12(VMCS12_IDX_VM_EXIT_REASON), EXIT_REASON_EXCEPTION_NMI);
	assert_int_equal(get12(VMCS12_IDX_VM_EXIT_INTR_INFO), INTR_INFO_VALID | INTR_TYPE_NMI | VECTOR_NMI);
	assert_int_equal(vmcs_get(VMCS_GUEST_RIP), HOST_RIP);
}

/* An NMI for L1 (NMI exiting) before VMCS02 ever ran (the core still on
 * its way to VMLAUNCH it): the exit to L1 comes at once, VMCS12 counts as
 * launched, and the event L1 injected at the entry is its IDT-vectoring
 * information (28.2.4), not lost. */
static void test_nmi_exit_before_first_launch(void **state)
{
	(void)state;
	put(VMCS12_IDX_PIN_BASED_VM_EXEC_CONTROL, get12(VMCS12_IDX_PIN_BASED_VM_EXEC_CONTROL) | PIN_NMI_EXITING);
	put(VMCS12_IDX_VM_ENTRY_INTR_INFO, INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | VECTOR_UD);
	n->current.launched = false;
	enter_l2();
	n->vmcs02_launched = false;
	assert_int_equal(vmcs_get(VMCS_VM_ENTRY_INTR_INFO), INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | VECTOR_UD);
	assert_true(nested_nmi_exit_to_l1());
	assert_int_equal(nested_mode(n), VMX_MODE_L1_ROOT);
	assert_true(n->current.launched);
	assert_int_equal(get12(VMCS12_IDX_VM_EXIT_REASON), EXIT_REASON_EXCEPTION_NMI);
	assert_int_equal(get12(VMCS12_IDX_IDT_VECTORING_INFO), INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | VECTOR_UD);
	assert_int_equal(get12(VMCS12_IDX_VM_ENTRY_INTR_INFO), INTR_TYPE_HW_EXCEPTION | VECTOR_UD); /* valid bit cleared */
}

/* INIT (24.8, 26.2): blocked while L1 is in VMX root, a VM exit with
 * reason 3 while L2 runs (L2's state saved, no other effect), the core's
 * reset outside VMX operation. */
static void test_init_signal(void **state)
{
	(void)state;
	assert_int_equal(nested_init_signal(), NESTED_INIT_BLOCKED);
	assert_int_equal(nested_mode(n), VMX_MODE_L1_ROOT);
	enter_l2();
	l2_exits(EXIT_REASON_EXTERNAL_INTERRUPT, 0); /* the kick that brought the INIT: L0's */
	vmcs_set(VMCS_GUEST_RIP, L2_RIP + 4);
	assert_int_equal(nested_init_signal(), NESTED_INIT_EXITED);
	assert_int_equal(nested_mode(n), VMX_MODE_L1_ROOT);
	assert_int_equal(fake_vmcs_current, vmcs01_region().v);
	assert_int_equal(get12(VMCS12_IDX_VM_EXIT_REASON), EXIT_REASON_INIT);
	assert_int_equal(get12(VMCS12_IDX_EXIT_QUALIFICATION), 0);
	assert_int_equal(get12(VMCS12_IDX_VM_EXIT_INTR_INFO), 0);
	assert_int_equal(get12(VMCS12_IDX_IDT_VECTORING_INFO), 0);
	assert_int_equal(get12(VMCS12_IDX_GUEST_RIP), L2_RIP + 4);
	assert_int_equal(vmcs_get(VMCS_GUEST_RIP), HOST_RIP);
	exec(EXIT_REASON_VMXOFF, 0, 0);
	assert_int_equal(nested_init_signal(), NESTED_INIT_NOT_MINE);
}

/* An NMI pending at L1's VMLAUNCH (VMCS02 launched by an earlier VMCS12):
 * its exit comes before L2's first instruction, and VMCS12 is launched
 * (32.3 VMLAUNCH): L1's VMRESUME enters L2 (l1-interleave-2cpu found it). */
static void test_nmi_exit_at_vmlaunch(void **state)
{
	(void)state;
	put(VMCS12_IDX_PIN_BASED_VM_EXEC_CONTROL, get12(VMCS12_IDX_PIN_BASED_VM_EXEC_CONTROL) | PIN_NMI_EXITING);
	enter_l2();
	assert_true(nested_nmi_exit_to_l1());
	assert_int_equal(nested_mode(n), VMX_MODE_L1_ROOT);
	exec(EXIT_REASON_VMRESUME, 0, 0);
	assert_int_equal(nested_mode(n), VMX_MODE_L2);
}

/* 27.4 / 28.4 / 28.6: the MSR areas, emulated (KERNEL_GS_BASE: L0 passes it through). */
#define AREA 0x33000ull
#define EPT12_PML4 0x40000ull /* EPT12 in L1's memory: PML4, PDPT, PD, PT */
#define EPTP12 (EPT12_PML4 | EPTP_WB_4LEVEL)
#define EPT12_WB ((u64)MT_WB << EPT_MT_SHIFT)
#define L1_OF_L2_PAGE 0x60000ull

/* L1 runs L2 on EPT12: L2's page 0x5000 -> L1's 0x60000 (RWX), 0x6000 ->
 * the hypervisor's memory, 0x7000 not present, 0x8000 write-only. */
static void l1_with_ept(void)
{
	for (u64 t = EPT12_PML4; t < EPT12_PML4 + 3 * PAGE_SIZE; t += PAGE_SIZE)
		*(u64 *)guest_mem(t, 8) = (t + PAGE_SIZE) | EPT_RWX;
	u64 *pt = (u64 *)guest_mem(EPT12_PML4 + 3 * PAGE_SIZE, PAGE_SIZE);
	pt[5] = L1_OF_L2_PAGE | EPT_RWX | EPT12_WB;
	pt[6] = FAKE_HV_BASE | EPT_RWX | EPT12_WB;
	pt[8] = 0x61000 | EPT_W | EPT12_WB;
	put(VMCS12_IDX_CPU_BASED_VM_EXEC_CONTROL, get12(VMCS12_IDX_CPU_BASED_VM_EXEC_CONTROL) | PROC_ACTIVATE_SECONDARY);
	put(VMCS12_IDX_SECONDARY_VM_EXEC_CONTROL, PROC2_ENABLE_EPT);
	put(VMCS12_IDX_EPT_POINTER, EPTP12);
}

static void l2_ept_violation(u64 gpa, u64 qualification)
{
	l2_exits(EXIT_REASON_EPT_VIOLATION, qualification);
	vmcs_set(VMCS_GUEST_PHYSICAL_ADDRESS, gpa);
	vmcs_set(VMCS_VM_ENTRY_INTR_INFO, 0);
	assert_true(nested_l2_exit(&regs, EXIT_REASON_EPT_VIOLATION));
}

static void test_ept02_exits(void **state)
{
	(void)state;
	l1_with_ept();
	enter_l2();
	assert_int_equal(vmcs_get(VMCS_EPT_POINTER), ept02_eptp(0, EPTP12)); /* not EPT01's */
	/* a page EPT02 lacks: mapped, L2 retries */
	l2_ept_violation(0x5008, EPT_QUAL_READ);
	assert_int_equal(nested_mode(n), VMX_MODE_L2);
	assert_false(vmcs_get(VMCS_VM_ENTRY_INTR_INFO) & INTR_INFO_VALID);
	/* what EPT01 denies L1 (the hypervisor's memory): #GP(0) in L2 */
	l2_ept_violation(0x6000, EPT_QUAL_READ);
	assert_int_equal(nested_mode(n), VMX_MODE_L2);
	assert_int_equal(vmcs_get(VMCS_VM_ENTRY_INTR_INFO),
			 INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | INTR_INFO_DELIVER_ERROR_CODE | VECTOR_GP);
	/* not present in EPT12: L1's EPT violation, its qualification */
	l2_ept_violation(0x7000, EPT_QUAL_WRITE);
	assert_int_equal(nested_mode(n), VMX_MODE_L1_ROOT);
	assert_int_equal(get12(VMCS12_IDX_VM_EXIT_REASON), EXIT_REASON_EPT_VIOLATION);
	assert_int_equal(get12(VMCS12_IDX_EXIT_QUALIFICATION), EPT_QUAL_WRITE);
	assert_int_equal(get12(VMCS12_IDX_GUEST_PHYSICAL_ADDRESS), 0x7000);
	/* write-only in EPT12: L1's EPT misconfiguration */
	exec(EXIT_REASON_VMRESUME, 0, 0);
	l2_ept_violation(0x8000, EPT_QUAL_WRITE);
	assert_int_equal(nested_mode(n), VMX_MODE_L1_ROOT);
	assert_int_equal(get12(VMCS12_IDX_VM_EXIT_REASON), EXIT_REASON_EPT_MISCONFIG);
	assert_int_equal(get12(VMCS12_IDX_EXIT_QUALIFICATION), 0);
}

/* The core's offer of an EPT01-denied page to the hypapp (apic_write.c), replaced: recorded. */
static bool offer_taken;
static u64 offered_gpa;
bool l0_offer_ept_violation(struct guest_regs *r, l1_gpa_t gpa, u64 q)
{
	(void)r, (void)q;
	offered_gpa = gpa.v;
	return offer_taken;
}

/* What EPT01 denies L1 is offered to the hypapp at L1's address; taken, L2 gets no #GP. */
static void test_ept02_denied_offered(void **state)
{
	(void)state;
	l1_with_ept();
	enter_l2();
	offer_taken = true;
	l2_ept_violation(0x6000, EPT_QUAL_FETCH);
	assert_int_equal(offered_gpa, FAKE_HV_BASE);
	assert_int_equal(nested_mode(n), VMX_MODE_L2);
	assert_false(vmcs_get(VMCS_VM_ENTRY_INTR_INFO) & INTR_INFO_VALID);
	offer_taken = false;
}

#define L2_PT_L1 0x64000ull  /* L1's page at L2 GPA 0xa000 (EPT12 RW) */
#define L2_RO_L1 0x62000ull  /* L1's page at L2 GPA 0x9000 (EPT12 read-only) */

/* An L2 caller's addresses through EPT12 with rights (nested_l2_gpa_to_l1), and the core's walk
 * of L2's page tables: its tables and the result at L2 GPAs, each through EPT12. */
static void test_l2_gpa_through_ept12(void **state)
{
	(void)state;
	l1_gpa_t out;
	l1_with_ept();
	u64 *pt12 = (u64 *)guest_mem(EPT12_PML4 + 3 * PAGE_SIZE, PAGE_SIZE);
	pt12[9] = L2_RO_L1 | EPT_R | EPT12_WB;
	pt12[10] = L2_PT_L1 | EPT_R | EPT_W | EPT12_WB;
	assert_true(nested_l2_gpa_to_l1(l2_gpa(0x5008), EPT_R, &out)); /* L1: identity */
	assert_int_equal(out.v, 0x5008);
	enter_l2();
	assert_true(nested_caller_ept12());
	assert_true(nested_l2_gpa_to_l1(l2_gpa(0x5008), EPT_R | EPT_W | EPT_X, &out));
	assert_int_equal(out.v, L1_OF_L2_PAGE + 8);
	assert_true(nested_l2_gpa_to_l1(l2_gpa(0x9010), EPT_R, &out));
	assert_int_equal(out.v, L2_RO_L1 + 0x10);
	assert_false(nested_l2_gpa_to_l1(l2_gpa(0x9010), EPT_W, &out)); /* read-only */
	assert_false(nested_l2_gpa_to_l1(l2_gpa(0x9010), EPT_X, &out));
	assert_false(nested_l2_gpa_to_l1(l2_gpa(0x7000), EPT_R, &out)); /* not present */
	assert_false(nested_l2_gpa_to_l1(l2_gpa(0x8000), EPT_W, &out)); /* misconfigured */
	/* L2 with 32-bit paging: CR3 = L2 GPA 0x5000 (L1_OF_L2_PAGE); its PDE 0 -> PT at L2 GPA
	 * 0xa000 (L2_PT_L1), whose PTE 5 maps linear 0x5000 to L2 GPA 0x9000 (L2_RO_L1); PDE 1
	 * -> a PT at L2 GPA 0x7000, which EPT12 lacks */
	u32 *pd = (u32 *)guest_mem(L1_OF_L2_PAGE, PAGE_SIZE), *pt = (u32 *)guest_mem(L2_PT_L1, PAGE_SIZE);
	pd[0] = 0xa000 | PTE_P | PTE_RW | PTE_US;
	pd[1] = 0x7000 | PTE_P | PTE_RW | PTE_US;
	pt[5] = 0x9000 | PTE_P | PTE_US;
	vmcs_set(VMCS_GUEST_CR0, CR0_PE | CR0_PG);
	vmcs_set(VMCS_GUEST_CR4, 0);
	vmcs_set(VMCS_GUEST_IA32_EFER, 0);
	vmcs_set(VMCS_GUEST_CR3, 0x5000);
	struct gw_fault f;
	assert_int_equal(guest_virt_translate(gva(0x5010), GW_USER, &out, &f), GW_OK);
	assert_int_equal(out.v, L2_RO_L1 + 0x10);
	assert_true(pt[5] & PTE_A); /* in L1's page EPT12 gives */
	assert_int_equal(guest_virt_translate(gva(0x400000), GW_USER, &out, &f), GW_GP);
	/* paging off: the linear address is L2's GPA */
	vmcs_set(VMCS_GUEST_CR0, CR0_PE);
	assert_int_equal(guest_virt_translate(gva(0x5010), 0, &out, &f), GW_OK);
	assert_int_equal(out.v, L1_OF_L2_PAGE + 0x10);
	assert_int_equal(guest_virt_translate(gva(0x9000), GW_WRITE, &out, &f), GW_GP);
	assert_int_equal(guest_virt_translate(gva(0x6000), 0, &out, &f), GW_GP); /* the hypervisor's */
}

static void test_msr_areas(void **state)
{
	(void)state;
	struct { u32 index, reserved; u64 data; } *e = (void *)guest_mem(AREA, 48);
	e[0].index = MSR_IA32_KERNEL_GS_BASE, e[0].data = 0x1111;
	e[1].index = MSR_IA32_KERNEL_GS_BASE, e[1].reserved = 1;
	e[2].index = MSR_IA32_KERNEL_GS_BASE;
	msr_set(MSR_IA32_KERNEL_GS_BASE, 0);
	put(VMCS12_IDX_VMENTRY_MSR_LOAD_ADDR, AREA);
	put(VMCS12_IDX_VM_ENTRY_MSR_LOAD_COUNT, 2);
	exec(EXIT_REASON_VMLAUNCH, 0, 0);
	assert_int_equal(get12(VMCS12_IDX_VM_EXIT_REASON), EXIT_REASON_ENTRY_FAILURE | EXIT_REASON_ENTRY_FAIL_MSR);
	assert_int_equal(get12(VMCS12_IDX_EXIT_QUALIFICATION), 2);
	assert_int_equal(msr_get(MSR_IA32_KERNEL_GS_BASE), 0x1111); /* the first stays loaded */
	assert_int_equal(fake_vmcs_current, vmcs01_region().v);
	put(VMCS12_IDX_VM_ENTRY_MSR_LOAD_COUNT, 1);
	put(VMCS12_IDX_VMEXIT_MSR_STORE_ADDR, AREA + 32);
	put(VMCS12_IDX_VM_EXIT_MSR_STORE_COUNT, 1);
	enter_l2();
	msr_set(MSR_IA32_KERNEL_GS_BASE, 0x2222); /* L2 wrote it */
	l2_exits(EXIT_REASON_CPUID, 0);
	assert_true(nested_l2_exit(&regs, EXIT_REASON_CPUID));
	assert_int_equal(e[2].data, 0x2222);
}

#define VAPIC_PAGE 0x33000ull
#define NEW_HOST 0x40000ull /* where the tests relocate a page of L1's */

/* VMWRITEs of every field of the table since the reset. */
static void field_writes(u32 *w)
{
	for (u32 i = 0; i < VMCS12_N_FIELDS; i++)
		w[i] = vmcs_writes(vmcs12_fields[i].encoding);
}

/* L2 with I/O and MSR bitmaps and a virtual-APIC page. */
static void enter_l2_with_gpaddr_pages(void)
{
	put(VMCS12_IDX_CPU_BASED_VM_EXEC_CONTROL, get12(VMCS12_IDX_CPU_BASED_VM_EXEC_CONTROL) | PROC_USE_IO_BITMAPS |
							 PROC_USE_MSR_BITMAPS | PROC_USE_TPR_SHADOW);
	put(VMCS12_IDX_IO_BITMAP_A, IO_A);
	put(VMCS12_IDX_IO_BITMAP_B, IO_B);
	put(VMCS12_IDX_MSR_BITMAP, MSR_BITMAP_PAGE);
	put(VMCS12_IDX_VIRTUAL_APIC_PAGE_ADDR, VAPIC_PAGE);
	enter_l2();
}

/* The core's REQUEST_NESTED before the next VM entry (vmentry_requests). */
static void before_l2_entry(void)
{
	assert_true(__atomic_fetch_and(&this_cpu()->requests, ~(u32)REQUEST_NESTED, __ATOMIC_SEQ_CST) & REQUEST_NESTED);
	nested_requests();
}

/* An EPT01 change while L2 runs (issue 10): the page under L1's I/O
 * bitmap A moves to another host page on every CPU (the shootdown calls
 * nested_ept01_changed); nothing is written until the request is applied
 * before the next entry, then exactly the GPADDR fields and the EPTP, with
 * the new host page in IO_BITMAP_A; L2's next OUT to a port whose bit L1
 * set in the moved page exits to L1. The same for the MSR bitmap, which L0
 * reads for every L2 RDMSR/WRMSR. */
static void test_rewalk_after_relocation(void **state)
{
	(void)state;
	u32 before[VMCS12_N_FIELDS], after[VMCS12_N_FIELDS];
	enter_l2_with_gpaddr_pages();
	assert_int_equal(vmcs_get(VMCS_IO_BITMAP_A), IO_A);
	field_writes(before);
	guest_mem(IO_A, PAGE_SIZE)[1] = 0x5a;
	assert_true(ept01_relocate_all(l1_gpa(IO_A), hpa(NEW_HOST)));
	assert_int_equal(guest_mem(NEW_HOST, PAGE_SIZE)[1], 0x5a); /* the contents moved */
	field_writes(after);
	assert_memory_equal(before, after, sizeof(before)); /* only a request so far */
	before_l2_entry();
	field_writes(after);
	for (u32 i = 0; i < VMCS12_N_FIELDS; i++) {
		bool gpaddr = (vmcs12_fields[i].props & VF_GPADDR) && l1_field_exists(&n->caps, &vmcs12_fields[i].exists);
		assert_int_equal(after[i] - before[i], gpaddr || i == VMCS12_IDX_EPT_POINTER);
	}
	assert_int_equal(vmcs_get(VMCS_IO_BITMAP_A), NEW_HOST);
	assert_int_equal(vmcs_get(VMCS_IO_BITMAP_B), IO_B);
	assert_int_equal(vmcs_get(VMCS_VIRTUAL_APIC_PAGE_ADDR), VAPIC_PAGE);
	assert_int_equal(vmcs_get(VMCS_EPT_POINTER), L0_EPTP);
	assert_int_equal(nested_mode(n), VMX_MODE_L2);
	/* L1 sets port 0x60's bit in its (moved) bitmap: L2's OUT exits to L1 */
	guest_mem(NEW_HOST, PAGE_SIZE)[0x60 / 8] |= 1u << (0x60 % 8);
	l2_exits(EXIT_REASON_IO, 0x60ull << 16);
	assert_true(nested_l2_exit(&regs, EXIT_REASON_IO));
	assert_int_equal(nested_mode(n), VMX_MODE_L1_ROOT);
	/* the MSR bitmap: L1's read bit for SYSENTER_CS + 1 in the moved page */
	exec(EXIT_REASON_VMRESUME, 0, 0);
	assert_true(ept01_relocate_all(l1_gpa(MSR_BITMAP_PAGE), hpa(NEW_HOST + PAGE_SIZE)));
	before_l2_entry();
	guest_mem(NEW_HOST + PAGE_SIZE, PAGE_SIZE)[(MSR_IA32_SYSENTER_CS + 1) / 8] |= 1u << ((MSR_IA32_SYSENTER_CS + 1) % 8);
	regs.rcx = MSR_IA32_SYSENTER_CS + 1;
	l2_exits(EXIT_REASON_RDMSR, 0);
	assert_true(nested_l2_exit(&regs, EXIT_REASON_RDMSR));
	assert_int_equal(get12(VMCS12_IDX_VM_EXIT_REASON), EXIT_REASON_RDMSR);
	/* back home (the fixture's EPT01 overrides outlive the test): L0 reads the home page again */
	guest_mem(NEW_HOST, PAGE_SIZE)[0x60 / 8] = 0;
	exec(EXIT_REASON_VMRESUME, 0, 0);
	assert_true(ept01_relocate_all(l1_gpa(IO_A), hpa(IO_A)));
	before_l2_entry();
	assert_int_equal(vmcs_get(VMCS_IO_BITMAP_A), IO_A);
	guest_mem(IO_A, PAGE_SIZE)[0x60 / 8] |= 1u << (0x60 % 8);
	l2_exits(EXIT_REASON_IO, 0x60ull << 16);
	assert_true(nested_l2_exit(&regs, EXIT_REASON_IO));
	assert_int_equal(get12(VMCS12_IDX_VM_EXIT_REASON), EXIT_REASON_IO);
	assert_true(ept01_relocate_all(l1_gpa(MSR_BITMAP_PAGE), hpa(MSR_BITMAP_PAGE)));
}

/* Pages EPT01 takes from L1 while L2 runs (a PAL's lent pages; docs/nested.md
 * "Rewalk"): an I/O bitmap turns VMCS02's bitmaps off (every I/O exits, the
 * bitmap reads as all ones: L1 gets the OUT its bitmap does not select),
 * the field 0; a virtual-APIC page the CPU could no longer write makes the
 * next VM entry into L2 a VM-entry failure for L1 (27.8), VMCS02 untouched. */
static void test_rewalk_of_denied_pages(void **state)
{
	(void)state;
	u32 before[VMCS12_N_FIELDS], after[VMCS12_N_FIELDS];
	enter_l2_with_gpaddr_pages();
	assert_true(vmcs_get(VMCS_CPU_BASED_VM_EXEC_CONTROL) & PROC_USE_IO_BITMAPS);
	assert_true(memprot_set(MEMPROT_ALL_CPUS, l1_gpa(IO_A), 0));
	before_l2_entry();
	assert_int_equal(vmcs_get(VMCS_IO_BITMAP_A), 0);
	u64 proc = vmcs_get(VMCS_CPU_BASED_VM_EXEC_CONTROL);
	assert_false(proc & PROC_USE_IO_BITMAPS);
	assert_true(proc & PROC_UNCONDITIONAL_IO_EXITING);
	l2_exits(EXIT_REASON_IO, 0x60ull << 16);
	assert_true(nested_l2_exit(&regs, EXIT_REASON_IO));
	assert_int_equal(get12(VMCS12_IDX_VM_EXIT_REASON), EXIT_REASON_IO);
	/* given back: the bitmaps are the CPU's again at L1's next entry */
	assert_true(memprot_set(MEMPROT_ALL_CPUS, l1_gpa(IO_A), EPT_RWX));
	exec(EXIT_REASON_VMRESUME, 0, 0);
	assert_true(vmcs_get(VMCS_CPU_BASED_VM_EXEC_CONTROL) & PROC_USE_IO_BITMAPS);
	assert_int_equal(vmcs_get(VMCS_IO_BITMAP_A), IO_A);
	/* the virtual-APIC page made read-only */
	field_writes(before);
	assert_true(memprot_set(MEMPROT_ALL_CPUS, l1_gpa(VAPIC_PAGE), EPT_R));
	u64 vmcs02 = fake_vmcs_current;
	before_l2_entry();
	assert_int_equal(nested_mode(n), VMX_MODE_L1_ROOT);
	assert_int_equal(fake_vmcs_current, vmcs01_region().v);
	assert_int_equal(get12(VMCS12_IDX_VM_EXIT_REASON), EXIT_REASON_ENTRY_FAIL_GUEST | EXIT_REASON_ENTRY_FAILURE);
	assert_int_equal(vmcs_get(VMCS_GUEST_RIP), HOST_RIP);
	/* and in the shadow VMCS, where L1's VMREAD finds it */
	assert_true(vmptrld(hpa(vmcs_get(VMCS_VMCS_LINK_POINTER))));
	assert_int_equal(vmcs_get(VMCS_VM_EXIT_REASON), EXIT_REASON_ENTRY_FAIL_GUEST | EXIT_REASON_ENTRY_FAILURE);
	back_to_vmcs01();
	assert_true(vmptrld(hpa(vmcs02)));
	field_writes(after);
	for (u32 i = 0; i < VMCS12_N_FIELDS; i++)
		if (vmcs12_fields[i].props & VF_CTRL)
			assert_int_equal(after[i], before[i]);
	back_to_vmcs01();
	assert_true(memprot_set(MEMPROT_ALL_CPUS, l1_gpa(VAPIC_PAGE), EPT_RWX));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_vmcs02_built_from_vmcs12, setup_l2),
		cmocka_unit_test_setup(test_vmcs02_io_exiting_for_l0, setup_l2),
		cmocka_unit_test_setup(test_vmcs02_vpid02, setup_l2),
		cmocka_unit_test_setup(test_vpid02_recycled_and_invalidated, setup_l2),
		cmocka_unit_test_setup(test_gpaddr_outside_guest_ram_refused, setup_l2),
		cmocka_unit_test_setup(test_entry_checks_vmfail, setup_l2),
		cmocka_unit_test_setup(test_entry_checks_guest_state, setup_l2),
		cmocka_unit_test_setup(test_entry_checks_after_an_exit, setup_l2),
		cmocka_unit_test_setup(test_cpu_refusal_of_vmcs02, setup_l2),
		cmocka_unit_test_setup(test_exit_reflected, setup_l2),
		cmocka_unit_test_setup(test_exits_for_l0, setup_l2),
		cmocka_unit_test_setup(test_hypapp_calls_of_l2, setup_l2),
		cmocka_unit_test_setup(test_msr_l1_does_not_intercept, setup_l2),
		cmocka_unit_test_setup(test_nmi_exit_to_l1, setup_l2),
		cmocka_unit_test_setup(test_nmi_exit_before_first_launch, setup_l2),
		cmocka_unit_test_setup(test_init_signal, setup_l2),
		cmocka_unit_test_setup(test_nmi_exit_at_vmlaunch, setup_l2),
		cmocka_unit_test_setup(test_msr_areas, setup_l2),
		cmocka_unit_test_setup(test_ept02_exits, setup_l2),
		cmocka_unit_test_setup(test_rewalk_after_relocation, setup_l2),
		cmocka_unit_test_setup(test_rewalk_of_denied_pages, setup_l2),
		cmocka_unit_test_setup(test_ept02_denied_offered, setup_l2),
		cmocka_unit_test_setup(test_l2_gpa_through_ept12, setup_l2),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
