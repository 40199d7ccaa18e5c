/* xmhf/runtime/memprot.c: the hypapps' memory protection API on the fake
 * backend (EPT01 built by ept01.c for CPUs 0..1): rights on one CPU and on
 * every CPU, flushes by what changed, the change sets ept01_flush hands
 * nested VMX, and a hypapp's own EPT (a PAL's):
 * mapped pages keep EPT01's memory type, refusals map nothing, a switch
 * loads its EPTP and the way back EPT01's. */
#include "fake_cpu.h"
#include <runtime/ept01.h>
#include <runtime/vmx_ops.h>
#include <xmhf/memprot.h>
#include <xmhf/mtrr.h>
#include <xmhf/nested.h>
#include <xmhf/paging.h>
#include <xmhf/spinlock.h>
#include <xmhf/vmx.h>

#define N_CPUS 2
#define SELF 1
#define PAGE (GiB(2) + 0x7000)
#define UC_PAGE (GiB(3) + 0x1000) /* variable range 0: [3 GiB, 4 GiB) UC */

static u64 ctx_pages[4][PT_ENTRIES] __attribute__((aligned(4096)));

static int setup(void **state)
{
	(void)state;
	fake_reset(SELF);
	msr_set(MSR_MTRRCAP, 1);
	msr_set(MSR_MTRR_DEF_TYPE, MTRR_DEF_E | MT_WB);
	msr_set(MSR_MTRR_PHYSBASE0, GiB(3) | MT_UC);
	msr_set(MSR_MTRR_PHYSBASE0 + 1, (~(GiB(1) - 1) & ((1ull << 36) - 1)) | MTRR_PHYSMASK_VALID);
	spin_unlock(ept01_lock());
	for (u32 i = 0; i < N_CPUS; i++) {
		cpu_register(2 * i);
		percpu[i].vmx.ept_vpid = FAKE_EPT_CAPS;
		ept01_init_mtrr(i);
		ept01_build(i);
	}
	fake_invept_calls = 0;
	return 0;
}

static void test_set_one_and_all_cpus(void **state)
{
	(void)state;
	assert_true(memprot_set(0, l1_gpa(PAGE), EPT_R));
	assert_int_equal(memprot_get(0, l1_gpa(PAGE)), EPT_R);
	assert_int_equal(memprot_get(1, l1_gpa(PAGE)), EPT_RWX);
	assert_false(memprot_set(N_CPUS, l1_gpa(PAGE), EPT_R)); /* no such CPU */
	assert_int_equal(memprot_get(N_CPUS, l1_gpa(PAGE)), 0);
	/* every CPU (a change waits for the other CPUs' acks: test_xcall) */
	assert_false(memprot_set(MEMPROT_ALL_CPUS, l1_gpa(PAGE), EPT_W)); /* W without R */
	assert_int_equal(memprot_get(0, l1_gpa(PAGE)), EPT_R);
}

/* memprot_page: the 4 KiB leaf of a page inside a large EPT01 page (its
 * own host address, the range's type), of a page split by memprot_set, and
 * nothing for what EPT01 does not map. */
static void test_page_leaf(void **state)
{
	(void)state;
	const u64 wb = (u64)MT_WB << EPT_MT_SHIFT, uc = (u64)MT_UC << EPT_MT_SHIFT;
	const u64 page = GiB(2) + MiB(5); /* no override yet (they outlive the setup's rebuild) */
	assert_int_equal(memprot_page(0, l1_gpa(page + 0x123)), page | EPT_RWX | wb);
	assert_int_equal(memprot_page(0, l1_gpa(UC_PAGE)), UC_PAGE | EPT_RWX | uc);
	assert_true(memprot_set(0, l1_gpa(page), EPT_R));
	assert_int_equal(memprot_page(0, l1_gpa(page)), page | EPT_R | wb);
	assert_int_equal(memprot_page(0, l1_gpa(page + PAGE_SIZE)), (page + PAGE_SIZE) | EPT_RWX | wb);
	assert_true(memprot_set(0, l1_gpa(page), 0));
	assert_int_equal(memprot_page(0, l1_gpa(page)), 0);
	assert_int_equal(memprot_page(N_CPUS, l1_gpa(page + PAGE_SIZE)), 0);
}

static void test_flush_flags(void **state)
{
	(void)state;
	memprot_flush(0);
	memprot_flush(MEMPROT_FLUSH_EPTP);
	assert_int_equal(fake_invept_calls, 0);
	memprot_flush(MEMPROT_FLUSH_ENTRIES);
	assert_int_equal(fake_invept_calls, 1);
	assert_int_equal(fake_invept_type, INVEPT_SINGLE_CONTEXT);
	assert_int_equal(fake_invept_eptp, ept01_eptp(SELF));
	memprot_flush(MEMPROT_FLUSH_MT | MEMPROT_FLUSH_EPTP);
	assert_int_equal(fake_invept_calls, 2);
}

/* nested_ept01_changed as ept01_flush calls it (the stub's replaced) */
static struct ept01_changes changes;
static u32 changes_cpu, changes_calls;
void nested_ept01_changed(u32 cpu, const struct ept01_changes *c)
{
	changes_cpu = cpu;
	changes = *c;
	changes_calls++;
}

static void flush_expect(u32 cpu, bool all, u32 n)
{
	changes_calls = 0;
	ept01_flush(cpu);
	assert_int_equal(changes_calls, 1);
	assert_int_equal(changes_cpu, cpu);
	assert_int_equal(changes.all, all);
	assert_int_equal(changes.n, n);
}

/* Each CPU's change set: the pages whose rights changed on it since its
 * flush, each once; rights set to what they were are no change; one more
 * than EPT01_CHANGES_MAX pages, or a rebuild, is "all" */
static void test_change_set(void **state)
{
	(void)state;
	const u64 base = GiB(2) + MiB(1);
	for (u32 cpu = 0; cpu < N_CPUS; cpu++)
		ept01_flush(cpu); /* what earlier tests changed */
	assert_true(memprot_set(0, l1_gpa(base + 0x123), EPT_R));
	assert_true(memprot_set(0, l1_gpa(base), EPT_R | EPT_X));
	assert_true(memprot_set(0, l1_gpa(base + PAGE_SIZE), EPT_R));
	flush_expect(1, false, 0);
	flush_expect(0, false, 2);
	assert_int_equal(changes.pages[0].v, base);
	assert_int_equal(changes.pages[1].v, base + PAGE_SIZE);
	flush_expect(0, false, 0);
	assert_true(memprot_set(0, l1_gpa(base + PAGE_SIZE), EPT_R)); /* the rights it has */
	flush_expect(0, false, 0);
	for (u32 i = 0; i <= EPT01_CHANGES_MAX; i++)
		assert_true(memprot_set(1, l1_gpa(base + i * PAGE_SIZE), EPT_R | EPT_X));
	flush_expect(1, true, EPT01_CHANGES_MAX);
	flush_expect(1, false, 0);
	ept01_rebuild(1);
	assert_int_equal(changes_cpu, 1);
	assert_true(changes.all);
	/* back to full rights (a shootdown would wait for CPU 0, which runs nothing here) */
	for (u32 cpu = 0; cpu < N_CPUS; cpu++) {
		for (u32 i = 0; i <= EPT01_CHANGES_MAX; i++)
			assert_true(memprot_set(cpu, l1_gpa(base + i * PAGE_SIZE), EPT_RWX));
		ept01_flush(cpu);
	}
}

static u64 ctx_leaf(const struct ept_ctx *c, u64 gpa)
{
	struct ept_ctx copy = *c;
	struct pt_alloc a = page_pool_allocator(&copy.pool);
	unsigned level;
	u64 *e = ept_lookup(&a, hpa((u64)c->pool.pages[0]), l1_gpa(gpa), &level);
	return e && level == 1 ? *e : 0;
}

static void test_ept_ctx(void **state)
{
	(void)state;
	struct ept_ctx c;

	assert_false(ept_ctx_create(&c, ctx_pages, 0));
	assert_true(ept_ctx_create(&c, ctx_pages, 4));
	assert_true(ept_ctx_map(&c, l1_gpa(PAGE + 0x123), EPT_R | EPT_X));
	assert_int_equal(ctx_leaf(&c, PAGE), PAGE | EPT_R | EPT_X | (MT_WB << EPT_MT_SHIFT));
	assert_true(ept_ctx_map(&c, l1_gpa(PAGE + 0x1000), EPT_RWX)); /* same table */
	assert_int_equal(ctx_leaf(&c, PAGE + 0x2000), 0);              /* not mapped */
	assert_false(ept_ctx_map(&c, l1_gpa(FAKE_HV_BASE), EPT_R));    /* hypervisor memory */
	assert_false(ept_ctx_map(&c, l1_gpa(PAGE), EPT_W));            /* misconfiguration */
	assert_false(ept_ctx_map(&c, l1_gpa(CONFIG_MEM), EPT_R));      /* above --mem */
	assert_false(ept_ctx_map(&c, l1_gpa(UC_PAGE), EPT_R));         /* a new PD and PT: pool full */
	assert_int_equal(ctx_leaf(&c, UC_PAGE), 0);

	ept_ctx_switch(&c);
	assert_int_equal(vmcs_get(VMCS_EPT_POINTER), (u64)ctx_pages[0] | EPTP_WB_4LEVEL);
	assert_int_equal(fake_invept_eptp, (u64)ctx_pages[0] | EPTP_WB_4LEVEL);
	ept_ctx_switch(NULL);
	assert_int_equal(vmcs_get(VMCS_EPT_POINTER), ept01_eptp(SELF));
	ept_ctx_destroy(&c);
	for (u32 i = 0; i < 4; i++)
		for (u32 j = 0; j < PT_ENTRIES; j++)
			assert_int_equal(ctx_pages[i][j], 0);

	/* memory types are EPT01's */
	assert_true(ept_ctx_create(&c, ctx_pages, 4));
	assert_true(ept_ctx_map(&c, l1_gpa(UC_PAGE), EPT_R));
	assert_int_equal(ctx_leaf(&c, UC_PAGE), UC_PAGE | EPT_R | (MT_UC << EPT_MT_SHIFT));
	ept_ctx_destroy(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_set_one_and_all_cpus, setup),
		cmocka_unit_test_setup(test_page_leaf, setup),
		cmocka_unit_test_setup(test_flush_flags, setup),
		cmocka_unit_test_setup(test_change_set, setup),
		cmocka_unit_test_setup(test_ept_ctx, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
