/* nested/shadow.c: hardware VMCS shadowing for L1's VMREAD/VMWRITE (SDM
 * Vol. 3 25.10, 26.6.15, 32.3) on the fake VMCS (one bank per region:
 * VMCS01 and the shadow VMCS apart) with the Bochs corei7_skylake_x
 * capabilities (VMCS shadowing, VMWRITE to any field). An access of L1
 * that the bitmaps let through is a VMREAD/VMWRITE of the shadow bank;
 * one they stop is an exit (nested_l1.c). */
#include "nested_l1.h"
#include <runtime/vmx_ops.h>

static struct nested_cpu *n;

static int setup_shadow(void **state)
{
	setup(state);
	vmcs_set(VMCS_VMCS_LINK_POINTER, VMCS12_NONE); /* as vmcs01_init leaves it */
	n = nested_cpu();
	return 0;
}

static u64 vmcs01_link(void) { return vmcs_get(VMCS_VMCS_LINK_POINTER); }
static bool vmcs01_shadowing(void) { return vmcs_get(VMCS_SECONDARY_VM_EXEC_CONTROL) & PROC2_VMCS_SHADOWING; }

/* 26.6.15: bit (encoding & 0x7fff) of a bitmap set means the access exits. */
static bool exits(enum vmcs_field bitmap, u32 encoding)
{
	const u8 *b = (const u8 *)vmcs_get(bitmap);
	return b[(encoding & 0x7fff) / 8] >> (encoding % 8) & 1;
}

/* L1's VMREAD/VMWRITE that reach the shadow VMCS without an exit. */
static u64 shadow_get(enum vmcs_field f)
{
	assert_true(vmptrld(hpa(vmcs01_link())));
	u64 v = vmcs_get(f);
	assert_true(vmptrld(vmcs01_region()));
	return v;
}

static void shadow_set(enum vmcs_field f, u64 v)
{
	u64 link = vmcs01_link();
	assert_true(vmptrld(hpa(link)));
	vmcs_set(f, v);
	assert_true(vmptrld(vmcs01_region()));
}

static struct vmcs12_region *region(u64 addr) { return (struct vmcs12_region *)guest_mem(addr, PAGE_SIZE); }

static bool l1_has(enum vmcs12_index i) { return l1_field_exists(&n->caps, &vmcs12_fields[i].exists); }

/* A value of field i's width (26.11.2) that tells fields and runs apart. */
static u64 pattern(enum vmcs12_index i, u64 salt)
{
	static const u64 mask[4] = { [W16] = 0xffff, [W32] = 0xffffffff, [W64] = ~0ull, [WN] = ~0ull };
	return (0x1234567800000000ull + salt * 0x10001 + i) & mask[vmcs12_fields[i].width];
}

/* Shadowing is on only while a VMCS12 is current. */
static void test_on_with_a_current_vmcs12(void **state)
{
	(void)state;
	vmxon_ok();
	assert_false(vmcs01_shadowing());
	assert_int_equal(vmcs01_link(), VMCS12_NONE);
	vmptrld_ok(VMCS_A);
	assert_true(vmcs01_shadowing());
	u64 link = vmcs01_link();
	assert_int_not_equal(link, VMCS12_NONE);
	assert_true(IS_ALIGNED(link, PAGE_SIZE));
	/* 25.10: the shadow VMCS has the revision and the shadow-VMCS indicator */
	assert_int_equal(*(u32 *)link, REVISION | VMCS_SHADOW_INDICATOR);
	assert_true(IS_ALIGNED(vmcs_get(VMCS_VMREAD_BITMAP), PAGE_SIZE));
	assert_true(IS_ALIGNED(vmcs_get(VMCS_VMWRITE_BITMAP), PAGE_SIZE));
	assert_int_equal(with_pointer(EXIT_REASON_VMCLEAR, VMCS_A), SUCCEED);
	assert_false(vmcs01_shadowing());
	assert_int_equal(vmcs01_link(), VMCS12_NONE);
	vmptrld_ok(VMCS_B);
	assert_true(vmcs01_shadowing());
	exec(EXIT_REASON_VMXOFF, 0, 0);
	assert_int_equal(outcome(), SUCCEED);
	assert_false(vmcs01_shadowing());
	assert_int_equal(vmcs01_link(), VMCS12_NONE);
}

/* The bitmaps come from the table: VMREAD of every field L1 has, VMWRITE
 * only of the hot fields (VF_HOT: few, whatever their handling); the
 * others and read-only fields exit on VMWRITE; fields L1 lacks exit both
 * ways; high halves as their field. */
static void test_bitmaps_from_table(void **state)
{
	(void)state;
	vmxon_ok();
	vmptrld_ok(VMCS_A);
	u32 n_reads = 0, n_writes = 0;
	for (u32 i = 0; i < VMCS12_N_FIELDS; i++) {
		const struct vmcs12_field *f = &vmcs12_fields[i];
		bool kept = l1_has(i) && !(f->props & (VF_IGNORED | VF_UNSUPP));
		bool written = kept && (f->props & VF_HOT);
		u32 last = f->width == W64 ? f->encoding + 1 : f->encoding;
		for (u32 e = f->encoding; e <= last; e++) {
			assert_int_equal(exits(VMCS_VMREAD_BITMAP, e), !kept);
			assert_int_equal(exits(VMCS_VMWRITE_BITMAP, e), !written);
			if (f->props & VF_RO)
				assert_true(exits(VMCS_VMWRITE_BITMAP, e));
		}
		n_reads += kept, n_writes += written;
	}
	assert_true(n_writes >= 10 && n_writes <= 16 && n_reads > 4 * n_writes);
	/* what KVM and our L1 write before every entry: a copied, a translated and a host field */
	assert_false(exits(VMCS_VMWRITE_BITMAP, VMCS_GUEST_RIP));
	assert_false(exits(VMCS_VMWRITE_BITMAP, VMCS_VM_ENTRY_INTR_INFO));
	assert_false(exits(VMCS_VMWRITE_BITMAP, VMCS_HOST_RSP));
	assert_true(exits(VMCS_VMWRITE_BITMAP, VMCS_GUEST_ES_BASE)); /* written at setup only */
	/* an encoding that names no field, and a high access of a 32-bit field */
	assert_true(exits(VMCS_VMREAD_BITMAP, 0x7ffe) && exits(VMCS_VMWRITE_BITMAP, 0x7ffe));
	assert_true(exits(VMCS_VMREAD_BITMAP, VMCS_GUEST_ES_LIMIT + 1));
}

/* Without "VMWRITE to any field" (IA32_VMX_MISC[29]) L0 cannot write exit
 * information into the shadow VMCS: VMREAD of read-only fields exits. */
static void test_read_only_needs_vmwrite_any_field(void **state)
{
	(void)state;
	msr_set(MSR_IA32_VMX_MISC, msr_get(MSR_IA32_VMX_MISC) & ~VMX_MISC_VMWRITE_ANY_FIELD);
	vmxon_ok();
	vmptrld_ok(VMCS_A);
	assert_true(exits(VMCS_VMREAD_BITMAP, VMCS_VM_EXIT_REASON));
	assert_true(exits(VMCS_VMREAD_BITMAP, VMCS_EXIT_QUALIFICATION));
	assert_false(exits(VMCS_VMREAD_BITMAP, VMCS_GUEST_RIP));
	assert_false(exits(VMCS_VMWRITE_BITMAP, VMCS_GUEST_RIP));
}

/* A CPU without VMCS shadowing: VMCS01 never gets it, VMREAD/VMWRITE are
 * emulated as before. */
static void test_no_shadowing_on_the_cpu(void **state)
{
	(void)state;
	msr_set(MSR_IA32_VMX_PROCBASED_CTLS2, msr_get(MSR_IA32_VMX_PROCBASED_CTLS2) & ~((u64)PROC2_VMCS_SHADOWING << 32));
	vmxon_ok();
	vmptrld_ok(VMCS_A);
	assert_false(vmcs01_shadowing());
	assert_int_equal(vmcs01_link(), VMCS12_NONE);
	assert_int_equal(l1_vmwrite(VMCS_GUEST_RIP, 0x4321), SUCCEED);
	enum outcome o;
	assert_int_equal(l1_vmread(VMCS_GUEST_RIP, &o), 0x4321);
	assert_int_equal(o, SUCCEED);
}

/* Round trip region -> cache -> shadow at VMPTRLD, L1's writes to the shadow
 * -> cache -> region at VMPTRLD of another VMCS, and back. */
static void test_round_trip(void **state)
{
	(void)state;
	for (u32 i = 0; i < VMCS12_N_FIELDS; i++)
		region(VMCS_A)->value[i] = pattern(i, 1);
	vmxon_ok();
	vmptrld_ok(VMCS_A);
	for (u32 i = 0; i < VMCS12_N_FIELDS; i++) {
		assert_int_equal(vmcs12_get(&n->current, i), pattern(i, 1));
		if (!exits(VMCS_VMREAD_BITMAP, vmcs12_fields[i].encoding))
			assert_int_equal(shadow_get(vmcs12_fields[i].encoding), pattern(i, 1));
	}
	/* L1 writes every field it may write without an exit */
	for (u32 i = 0; i < VMCS12_N_FIELDS; i++)
		if (!exits(VMCS_VMWRITE_BITMAP, vmcs12_fields[i].encoding))
			shadow_set(vmcs12_fields[i].encoding, pattern(i, 2));
	vmptrld_ok(VMCS_B);
	for (u32 i = 0; i < VMCS12_N_FIELDS; i++) {
		bool written = !exits(VMCS_VMWRITE_BITMAP, vmcs12_fields[i].encoding);
		assert_int_equal(region(VMCS_A)->value[i], pattern(i, written ? 2 : 1));
	}
	vmptrld_ok(VMCS_A);
	for (u32 i = 0; i < VMCS12_N_FIELDS; i++) {
		bool written = !exits(VMCS_VMWRITE_BITMAP, vmcs12_fields[i].encoding);
		assert_int_equal(vmcs12_get(&n->current, i), pattern(i, written ? 2 : 1));
		if (!exits(VMCS_VMREAD_BITMAP, vmcs12_fields[i].encoding))
			assert_int_equal(shadow_get(vmcs12_fields[i].encoding), pattern(i, written ? 2 : 1));
	}
}

/* What L0 writes into the cache reaches the shadow before L1 runs: an
 * emulated VMWRITE of a translated field, a VMfail's error number. L1's
 * write to the shadow reaches VMCS02 (dirty) at VMLAUNCH's sync. */
static void test_coherent_with_the_cache(void **state)
{
	(void)state;
	vmxon_ok();
	vmptrld_ok(VMCS_A);
	assert_int_equal(l1_vmwrite(VMCS_CR0_READ_SHADOW, 0x80000031), SUCCEED);
	assert_int_equal(shadow_get(VMCS_CR0_READ_SHADOW), 0x80000031);
	assert_int_equal(l1_vmwrite(VMCS_VM_EXIT_REASON, 1), FAIL_VALID);
	assert_int_equal(shadow_get(VMCS_VM_INSTRUCTION_ERROR), VMERR_VMWRITE_READ_ONLY);
	/* L1 writes hot fields into the shadow: natural-width guest and host state */
	assert_int_equal(vmcs12_get(&n->current, VMCS12_IDX_GUEST_CR3), 0);
	shadow_set(VMCS_GUEST_CR3, 0x0000000500003000ull);
	shadow_set(VMCS_HOST_RSP, 0xffff888000123ff0ull);
	memset(n->current.dirty, 0, sizeof(n->current.dirty));
	shadow_sync(n);
	assert_int_equal(fake_vmcs_current, vmcs01_region().v);
	assert_int_equal(vmcs12_get(&n->current, VMCS12_IDX_GUEST_CR3), 0x0000000500003000ull);
	assert_true(vmcs12_dirty(&n->current, VMCS12_IDX_GUEST_CR3));
	assert_int_equal(vmcs12_get(&n->current, VMCS12_IDX_HOST_RSP), 0xffff888000123ff0ull);
	assert_false(vmcs12_dirty(&n->current, VMCS12_IDX_GUEST_RIP)); /* unchanged: not dirty */
	/* a field L1 cannot write without an exit is not read back: the sync reads only the hot ones */
	shadow_set(VMCS_GUEST_ES_BASE, 0x1000);
	shadow_sync(n);
	assert_int_equal(vmcs12_get(&n->current, VMCS12_IDX_GUEST_ES_BASE), 0);
	assert_false(vmcs12_dirty(&n->current, VMCS12_IDX_GUEST_ES_BASE));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_on_with_a_current_vmcs12, setup_shadow),
		cmocka_unit_test_setup(test_bitmaps_from_table, setup_shadow),
		cmocka_unit_test_setup(test_read_only_needs_vmwrite_any_field, setup_shadow),
		cmocka_unit_test_setup(test_no_shadowing_on_the_cpu, setup_shadow),
		cmocka_unit_test_setup(test_round_trip, setup_shadow),
		cmocka_unit_test_setup(test_coherent_with_the_cache, setup_shadow),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
