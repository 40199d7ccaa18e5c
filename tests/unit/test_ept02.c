/* nested/ept02.c: EPT02 = EPT12 x EPT01 on the fake backend. EPT12 lives
 * in the fake guest memory (L1's), EPT01 is built by ept01.c for CPU 0
 * with the Bochs corei7_skylake_x capabilities (exec-only, 2 MiB and 1 GiB
 * pages) offered to L1. Each fault's outcome is what L1 or L0 gets (SDM
 * Vol. 3 29.3.3: misconfiguration, violation with its qualification,
 * Table 28-7), and each EPT02 leaf is checked by walking EPT02. */
#include "fake_cpu.h"
#include <nested/cpu.h>
#include <nested/ept02.h>
#include <runtime/ept01.h>
#include <runtime/vmx_ops.h>
#include <xmhf/memprot.h>
#include <xmhf/mtrr.h>
#include <xmhf/nested.h>
#include <xmhf/page_pool.h>
#include <xmhf/paging.h>
#include <xmhf/spinlock.h>
#include <xmhf/vmx.h>

#define CPU 0
#define MAXPHYADDR 39
/* EPT12 in L1's memory: a PML4 per EPTP12 (all pointing at one PDPT), a
 * PD, a PT */
#define PML4(i) (0x10000ull + (i) * PAGE_SIZE)
#define EPT12_PDPT 0x20000ull
#define EPT12_PD 0x21000ull
#define EPT12_PT 0x22000ull
#define EPTP12(i) (PML4(i) | EPTP_WB_4LEVEL)
#define A EPTP12(0)
/* an L2 page with PML4 index 0, PDPT 1, PD 1, PT 1; the L1 page EPT12
 * maps it to */
#define L2_PAGE 0x40201000ull
#define L1_PAGE 0x150000ull
#define WB ((u64)MT_WB << EPT_MT_SHIFT)
#define UC ((u64)MT_UC << EPT_MT_SHIFT)
/* exit-qualification bits the CPU reports that L1 gets as they are */
#define QUAL_GLA_VALID BIT(7)
#define QUAL_TRANSLATION BIT(8)
#define QUAL_NMI_UNBLOCKING BIT(12)
#define QUAL_RIGHTS(rwx) ((u64)(rwx) << 3)

static u64 *ept12_entry(u64 table, u64 gpa, unsigned level)
{
	return (u64 *)guest_mem(table + PT_INDEX(gpa, level) * 8, 8);
}

/* EPT12 tables for L2_PAGE, every table entry RWX, PML4s 0..7 alike */
static void ept12_tables(void)
{
	for (u32 i = 0; i < 8; i++)
		*ept12_entry(PML4(i), L2_PAGE, 4) = EPT12_PDPT | EPT_RWX;
	*ept12_entry(EPT12_PDPT, L2_PAGE, 3) = EPT12_PD | EPT_RWX;
	*ept12_entry(EPT12_PD, L2_PAGE, 2) = EPT12_PT | EPT_RWX;
}

static u64 *pte12(void) { return ept12_entry(EPT12_PT, L2_PAGE, 1); }

/* L1's IA32_VMX_EPT_VPID_CAP without some capabilities */
static void l1_ept_caps_without(u64 caps)
{
	struct vmx_caps c;
	caps_skylake_x(&c);
	msr_set(MSR_IA32_VMX_EPT_VPID_CAP, c.ept_vpid & ~caps);
	memset(nested_cpu(), 0, sizeof(struct nested_cpu)); /* re-derived at the next use */
}

static int setup(void **state)
{
	(void)state;
	fake_reset(CPU);
	msr_set_vmx_caps_skylake_x();
	cpuid_set(0x80000008, 0, (struct cpuid_regs){ .eax = (48 << 8) | MAXPHYADDR });
	memset(nested_cpu(), 0, sizeof(struct nested_cpu));
	msr_set(MSR_MTRRCAP, 0);
	msr_set(MSR_MTRR_DEF_TYPE, MTRR_DEF_E | MT_WB);
	spin_unlock(ept01_lock());
	cpu_register(0);
	percpu[CPU].vmx.ept_vpid = FAKE_EPT_CAPS;
	ept01_init_mtrr(CPU);
	ept01_build(CPU);
	/* the pages tests change back to full rights, the change set emptied */
	for (u64 page = L1_PAGE; page <= L1_PAGE + PAGE_SIZE; page += PAGE_SIZE)
		assert_true(memprot_set(CPU, l1_gpa(page), EPT_RWX));
	memprot_flush(MEMPROT_FLUSH_ENTRIES);
	ept02_invalidate_all(CPU);
	ept12_tables();
	*pte12() = L1_PAGE | EPT_RWX | WB;
	fake_invept_calls = 0;
	return 0;
}

/* The 4 KiB leaf of EPT02 (its EPTP) for an L2 address, 0 if none. */
static u64 ept02_leaf(u64 eptp02, u64 l2)
{
	struct page_pool none = { 0 };
	struct pt_alloc a = page_pool_allocator(&none);
	unsigned level;
	u64 *e = ept_lookup(&a, hpa(eptp02 & PT_ADDR_MASK), l1_gpa(l2), &level);
	if (e)
		assert_int_equal(level, 1);
	return e ? *e : 0;
}

static struct ept02_fault_info info;

static enum ept02_result fault(u64 eptp12, u64 l2, u64 qualification)
{
	memset(&info, 0xa5, sizeof(info));
	return ept02_fault(CPU, eptp12, l2_gpa(l2), qualification, &info);
}

/* Mapped: the page with EPT12's rights, memory type and IPAT, at the L1 GPA */
static void test_map_4k(void **state)
{
	(void)state;
	u64 eptp02 = ept02_eptp(CPU, A);
	assert_int_equal(eptp02 & ~PT_ADDR_MASK, EPTP_WB_4LEVEL);
	assert_int_equal(ept02_leaf(eptp02, L2_PAGE), 0);
	assert_int_equal(fault(A, L2_PAGE + 0x123, EPT_R | QUAL_GLA_VALID | QUAL_TRANSLATION), EPT02_MAPPED);
	assert_int_equal(info.l1_gpa.v, L1_PAGE + 0x123);
	assert_int_equal(ept02_leaf(eptp02, L2_PAGE), L1_PAGE | EPT_RWX | WB);
	assert_int_equal(ept02_leaf(eptp02, L2_PAGE + PAGE_SIZE), 0); /* one page at a time */
	assert_int_equal(ept02_eptp(CPU, A), eptp02);                  /* the same root */

	*pte12() = L1_PAGE | EPT_R | EPT_X | UC | EPT_IPAT;
	assert_int_equal(fault(A, L2_PAGE, EPT_X), EPT02_MAPPED);
	assert_int_equal(ept02_leaf(eptp02, L2_PAGE), L1_PAGE | EPT_R | EPT_X | UC | EPT_IPAT);
	*pte12() = L1_PAGE | EPT_X | WB; /* execute-only: L1 has the capability */
	assert_int_equal(fault(A, L2_PAGE, EPT_X), EPT02_MAPPED);
	assert_int_equal(ept02_leaf(eptp02, L2_PAGE), L1_PAGE | EPT_X | WB);
	/* the ignored bits (A/D without EPTP12 bit 6, 11, 63:52) are not copied */
	*pte12() = L1_PAGE | EPT_RWX | WB | EPT_A | EPT_D | BIT(11) | BIT(62) | BIT(63);
	assert_int_equal(fault(A, L2_PAGE, EPT_W), EPT02_MAPPED);
	assert_int_equal(ept02_leaf(eptp02, L2_PAGE), L1_PAGE | EPT_RWX | WB);
}

/* Denied by EPT12: an EPT violation for L1 with the access, the walk's
 * rights (AND of the levels) and the CPU's bits 7, 8 and 12 */
static void test_violation(void **state)
{
	(void)state;
	const u64 cpu_bits = QUAL_GLA_VALID | QUAL_TRANSLATION | QUAL_NMI_UNBLOCKING;
	u64 eptp02 = ept02_eptp(CPU, A);

	*pte12() = L1_PAGE | EPT_R | WB;
	/* bits 5:3 as the CPU saw EPT02 (garbage here) are replaced */
	assert_int_equal(fault(A, L2_PAGE, EPT_W | QUAL_RIGHTS(EPT_RWX) | cpu_bits), EPT02_REFLECT_VIOLATION);
	assert_int_equal(info.exit_qualification, EPT_W | QUAL_RIGHTS(EPT_R) | cpu_bits);
	assert_int_equal(fault(A, L2_PAGE, EPT_X), EPT02_REFLECT_VIOLATION);
	assert_int_equal(info.exit_qualification, EPT_X | QUAL_RIGHTS(EPT_R));
	assert_int_equal(ept02_leaf(eptp02, L2_PAGE), 0);

	/* rights of the levels are ANDed */
	*pte12() = L1_PAGE | EPT_RWX | WB;
	*ept12_entry(EPT12_PD, L2_PAGE, 2) = EPT12_PT | EPT_R | EPT_X;
	assert_int_equal(fault(A, L2_PAGE, EPT_R | EPT_W), EPT02_REFLECT_VIOLATION);
	assert_int_equal(info.exit_qualification, EPT_R | EPT_W | QUAL_RIGHTS(EPT_R | EPT_X));
	assert_int_equal(fault(A, L2_PAGE, EPT_R), EPT02_MAPPED);
	assert_int_equal(ept02_leaf(eptp02, L2_PAGE), L1_PAGE | EPT_R | EPT_X | WB);

	/* not present at each level: rights 0 */
	const u64 tables[] = { PML4(0), EPT12_PDPT, EPT12_PD, EPT12_PT };
	for (unsigned level = 4; level >= 1; level--) {
		ept12_tables();
		*pte12() = L1_PAGE | EPT_RWX | WB;
		*ept12_entry(tables[4 - level], L2_PAGE, level) = 0x5000 | UC; /* bits 2:0 clear: nothing else counts */
		assert_int_equal(fault(A, L2_PAGE, EPT_R | QUAL_GLA_VALID), EPT02_REFLECT_VIOLATION);
		assert_int_equal(info.exit_qualification, EPT_R | QUAL_GLA_VALID);
	}
	/* a not-present entry above a misconfigured one: a violation */
	ept12_tables();
	*ept12_entry(EPT12_PD, L2_PAGE, 2) = 0;
	*pte12() = L1_PAGE | EPT_W;
	assert_int_equal(fault(A, L2_PAGE, EPT_R), EPT02_REFLECT_VIOLATION);
}

/* 2 MiB and 1 GiB pages in EPT12: mapped 4 KiB at a time at the offset in
 * the large page, with the large page's rights and type */
static void test_large_pages(void **state)
{
	(void)state;
	u64 eptp02 = ept02_eptp(CPU, A);

	*ept12_entry(EPT12_PD, L2_PAGE, 2) = MiB(6) | EPT_LARGE | EPT_R | EPT_W | UC;
	assert_int_equal(fault(A, L2_PAGE + 0x45, EPT_W), EPT02_MAPPED);
	assert_int_equal(info.l1_gpa.v, MiB(6) + (L2_PAGE & (MiB(2) - 1)) + 0x45);
	assert_int_equal(ept02_leaf(eptp02, L2_PAGE), (MiB(6) + 0x1000) | EPT_R | EPT_W | UC);
	assert_int_equal(ept02_leaf(eptp02, L2_PAGE + PAGE_SIZE), 0);

	*ept12_entry(EPT12_PDPT, L2_PAGE, 3) = GiB(3) | EPT_LARGE | EPT_RWX | WB | EPT_IPAT;
	assert_int_equal(fault(A, L2_PAGE + PAGE_SIZE, EPT_X), EPT02_MAPPED);
	assert_int_equal(info.l1_gpa.v, GiB(3) + 0x202000);
	assert_int_equal(ept02_leaf(eptp02, L2_PAGE + PAGE_SIZE), (GiB(3) + 0x202000) | EPT_RWX | WB | EPT_IPAT);
}

/* 29.3.3.1: each misconfiguration of a present entry, at the level where
 * it is reserved, for L1 */
static void test_misconfig(void **state)
{
	(void)state;
	static const struct {
		unsigned level;
		u64 entry; /* 0: the entry as ept12_tables made it, with 'or' */
		u64 or;
	} cases[] = {
		{ 4, 0, EPT_W - EPT_RWX },                   /* write-only (RWX + W - RWX = W) */
		{ 1, L1_PAGE | EPT_W | EPT_X | WB, 0 },      /* write/execute without read */
		{ 1, L1_PAGE | EPT_W | WB, 0 },              /* write-only leaf */
		{ 3, 0, BIT(MAXPHYADDR) },                   /* an address bit above MAXPHYADDR */
		{ 1, L1_PAGE | EPT_RWX | WB | BIT(51), 0 },
		{ 4, 0, BIT(3) },                            /* bits 7:3 of a PML4E */
		{ 4, 0, EPT_LARGE },                         /* no large page at level 4 */
		{ 3, 0, BIT(6) },                            /* bits 7:3 of a PDPTE to a PD */
		{ 2, 0, BIT(4) },                            /* bits 7:3 of a PDE to a PT */
		{ 2, MiB(6) | BIT(12) | EPT_LARGE | EPT_RWX | WB, 0 }, /* bits 20:12 of a 2 MiB page */
		{ 3, GiB(2) | MiB(2) | EPT_LARGE | EPT_RWX | WB, 0 },  /* bits 29:12 of a 1 GiB page */
		{ 1, L1_PAGE | EPT_RWX | (2 << EPT_MT_SHIFT), 0 },     /* reserved memory types */
		{ 1, L1_PAGE | EPT_RWX | (3 << EPT_MT_SHIFT), 0 },
		{ 1, L1_PAGE | EPT_RWX | (7 << EPT_MT_SHIFT), 0 },
		{ 2, MiB(6) | EPT_LARGE | EPT_R | (7 << EPT_MT_SHIFT), 0 },
	};
	const u64 tables[] = { EPT12_PT, EPT12_PD, EPT12_PDPT, PML4(0) };
	for (u32 i = 0; i < ARRAY_SIZE(cases); i++) {
		ept12_tables();
		*pte12() = L1_PAGE | EPT_RWX | WB;
		u64 *e = ept12_entry(tables[cases[i].level - 1], L2_PAGE, cases[i].level);
		*e = cases[i].entry ? cases[i].entry : *e + cases[i].or;
		assert_int_equal(fault(A, L2_PAGE, EPT_R), EPT02_REFLECT_MISCONFIG);
		assert_int_equal(ept02_leaf(ept02_eptp(CPU, A), L2_PAGE), 0);
	}
	/* ignored bits: 11:8 and 63:52 of a table entry, 7 of a PTE */
	ept12_tables();
	*ept12_entry(EPT12_PD, L2_PAGE, 2) |= EPT_A | EPT_D | BIT(10) | BIT(11) | BIT(52) | BIT(63);
	*pte12() = L1_PAGE | EPT_RWX | WB | BIT(7);
	assert_int_equal(fault(A, L2_PAGE, EPT_R), EPT02_MAPPED);
}

/* Without the capabilities L1 lacks: execute-only, 2 MiB and 1 GiB pages
 * are misconfigurations */
static void test_misconfig_by_caps(void **state)
{
	(void)state;
	l1_ept_caps_without(EPT_CAP_EXEC_ONLY | EPT_CAP_2M | EPT_CAP_1G);
	*pte12() = L1_PAGE | EPT_X | WB;
	assert_int_equal(fault(A, L2_PAGE, EPT_X), EPT02_REFLECT_MISCONFIG);
	*pte12() = L1_PAGE | EPT_RWX | WB;
	*ept12_entry(EPT12_PD, L2_PAGE, 2) = MiB(6) | EPT_LARGE | EPT_RWX | WB;
	assert_int_equal(fault(A, L2_PAGE, EPT_R), EPT02_REFLECT_MISCONFIG);
	*ept12_entry(EPT12_PDPT, L2_PAGE, 3) = GiB(1) | EPT_LARGE | EPT_RWX | WB;
	assert_int_equal(fault(A, L2_PAGE, EPT_R), EPT02_REFLECT_MISCONFIG);
	ept12_tables();
	assert_int_equal(fault(A, L2_PAGE, EPT_R), EPT02_MAPPED);
}

/* EPT12 tables that are not guest RAM are never read: the hypervisor's
 * memory, above the fake RAM (the fake fails the test on such a read) */
static void test_tables_outside_ram(void **state)
{
	(void)state;
	*ept12_entry(EPT12_PD, L2_PAGE, 2) = FAKE_HV_BASE | EPT_RWX;
	assert_int_equal(fault(A, L2_PAGE, EPT_R), EPT02_REFLECT_MISCONFIG);
	*ept12_entry(EPT12_PD, L2_PAGE, 2) = (FAKE_HV_END - PAGE_SIZE) | EPT_RWX;
	assert_int_equal(fault(A, L2_PAGE, EPT_R), EPT02_REFLECT_MISCONFIG);
	*ept12_entry(EPT12_PDPT, L2_PAGE, 3) = FAKE_GUEST_MEM | EPT_RWX;
	assert_int_equal(fault(A, L2_PAGE, EPT_R), EPT02_REFLECT_MISCONFIG);
	assert_int_equal(fault(FAKE_HV_BASE | EPTP_WB_4LEVEL, L2_PAGE, EPT_R), EPT02_REFLECT_MISCONFIG);
	assert_int_equal(fault(GiB(8) | EPTP_WB_4LEVEL, L2_PAGE, EPT_R), EPT02_REFLECT_MISCONFIG);
}

/* Allowed by EPT12, not by EPT01: L0's (with the L1 GPA); a subset of
 * EPT01's rights is mapped */
static void test_ept01_denied(void **state)
{
	(void)state;
	u64 eptp02 = ept02_eptp(CPU, A);

	assert_true(memprot_set(CPU, l1_gpa(L1_PAGE), EPT_R | EPT_X));
	memprot_flush(MEMPROT_FLUSH_ENTRIES);
	assert_int_equal(fault(A, L2_PAGE + 8, EPT_W), EPT02_L0_DENIED);
	assert_int_equal(info.l1_gpa.v, L1_PAGE + 8);
	assert_int_equal(ept02_leaf(eptp02, L2_PAGE), 0);
	assert_int_equal(fault(A, L2_PAGE, EPT_R), EPT02_MAPPED);
	assert_int_equal(ept02_leaf(eptp02, L2_PAGE), L1_PAGE | EPT_R | EPT_X | WB);
	assert_true(memprot_set(CPU, l1_gpa(L1_PAGE), 0));
	memprot_flush(MEMPROT_FLUSH_ENTRIES);
	assert_int_equal(ept02_leaf(eptp02, L2_PAGE), 0);
	assert_int_equal(fault(A, L2_PAGE, EPT_R), EPT02_L0_DENIED);
	/* EPT12 X-only, EPT01 R: nothing in common */
	assert_true(memprot_set(CPU, l1_gpa(L1_PAGE), EPT_R));
	memprot_flush(MEMPROT_FLUSH_ENTRIES);
	*pte12() = L1_PAGE | EPT_X | WB;
	assert_int_equal(fault(A, L2_PAGE, EPT_X), EPT02_L0_DENIED);
	/* what EPT01 never maps: the hypervisor's memory, above --mem */
	*pte12() = FAKE_HV_BASE | EPT_RWX | WB;
	assert_int_equal(fault(A, L2_PAGE, EPT_R), EPT02_L0_DENIED);
	assert_int_equal(info.l1_gpa.v, FAKE_HV_BASE);
	*pte12() = CONFIG_MEM | EPT_RWX | WB;
	assert_int_equal(fault(A, L2_PAGE, EPT_R), EPT02_L0_DENIED);
	*ept12_entry(EPT12_PD, L2_PAGE, 2) = (FAKE_HV_BASE & ~(MiB(2) - 1)) | EPT_LARGE | EPT_RWX | WB;
	assert_int_equal(fault(A, (L2_PAGE & ~(MiB(2) - 1)) | FAKE_HV_BASE, EPT_R), EPT02_L0_DENIED);
	assert_int_equal(ept02_leaf(eptp02, L2_PAGE), 0);
}

/* A page EPT01 shows as all ones (a hidden device's, ept01_show_ones): EPT02
 * maps EPT01's host page, read-only, with EPT01's memory type (IPAT), never
 * the L1 GPA's own page; a write is L0's. */
static void test_ept01_host_page(void **state)
{
	(void)state;
	const u64 hidden = 0x160000;
	assert_true(ept01_show_ones(l1_gpa(hidden)));
	ept01_build(CPU);
	u64 ones = memprot_page(CPU, l1_gpa(hidden)) & PT_ADDR_MASK;
	assert_int_not_equal(ones, hidden);
	u64 eptp02 = ept02_eptp(CPU, A);
	*pte12() = hidden | EPT_RWX | UC;
	assert_int_equal(fault(A, L2_PAGE, EPT_W), EPT02_L0_DENIED);
	assert_int_equal(fault(A, L2_PAGE, EPT_R), EPT02_MAPPED);
	assert_int_equal(ept02_leaf(eptp02, L2_PAGE), ones | EPT_R | WB | EPT_IPAT);
}

/* EPTP12s by their EPT12 root (bits 51:12); 4 roots, the least recently
 * used one recycled empty (and flushed) */
static void test_lru(void **state)
{
	(void)state;
	u64 eptp02[5];

	for (u32 i = 0; i < 4; i++) {
		eptp02[i] = ept02_eptp(CPU, EPTP12(i));
		for (u32 j = 0; j < i; j++)
			assert_int_not_equal(eptp02[i], eptp02[j]);
		assert_int_equal(fault(EPTP12(i), L2_PAGE, EPT_R), EPT02_MAPPED);
	}
	assert_int_equal(ept02_eptp(CPU, EPTP12(0) & ~7ull), eptp02[0]); /* the root counts, not the type */
	fake_invept_calls = 0;
	eptp02[4] = ept02_eptp(CPU, EPTP12(4)); /* recycles 1, the least recently used */
	assert_int_equal(eptp02[4], eptp02[1]);
	assert_int_equal(fake_invept_calls, 1);
	assert_int_equal(fake_invept_eptp, eptp02[1]);
	assert_int_equal(ept02_leaf(eptp02[4], L2_PAGE), 0);
	for (u32 i = 0; i < 4; i++)
		if (i != 1)
			assert_int_not_equal(ept02_leaf(eptp02[i], L2_PAGE), 0);
	assert_int_equal(ept02_eptp(CPU, EPTP12(1)), eptp02[2]); /* 1 again: recycles 2 */
	/* a fault for an EPTP12 without a root takes one too (3, now the LRU) */
	assert_int_equal(fault(EPTP12(5), L2_PAGE, EPT_R), EPT02_MAPPED);
	assert_int_equal(ept02_eptp(CPU, EPTP12(5)), eptp02[3]);
	assert_int_not_equal(ept02_leaf(eptp02[3], L2_PAGE), 0);
}

/* The pool runs out: every EPT02 of the CPU is dropped, the fault maps */
static void test_pool_exhausted(void **state)
{
	(void)state;
	u64 eptp02 = ept02_eptp(CPU, A), other = ept02_eptp(CPU, EPTP12(1));
	const u64 first = GiB(1) + MiB(2);

	assert_int_equal(fault(EPTP12(1), L2_PAGE, EPT_R), EPT02_MAPPED);
	/* L2's second GiB is L1's, with a 1 GiB page: each 2 MiB needs a PT */
	*ept12_entry(EPT12_PDPT, GiB(1), 3) = GiB(1) | EPT_LARGE | EPT_RWX | WB;
	u32 n = 0;
	u64 l2 = first;
	do {
		assert_true(l2 < GiB(2));
		assert_int_equal(fault(A, l2, EPT_R), EPT02_MAPPED);
		assert_int_equal(ept02_leaf(eptp02, l2), l2 | EPT_RWX | WB);
		l2 += MiB(2), n++;
	} while (ept02_leaf(eptp02, first));
	assert_true(n > 100); /* the pool held 100 and more tables */
	assert_int_equal(fake_log_count(LOG_DEBUG, "EPT02 pool exhausted"), 1);
	assert_int_equal(ept02_leaf(eptp02, l2 - MiB(2) - MiB(2)), 0);
	assert_int_equal(ept02_leaf(other, L2_PAGE), 0);
	assert_int_equal(ept02_eptp(CPU, A), eptp02); /* roots keep their EPTP12s */
	assert_int_equal(ept02_eptp(CPU, EPTP12(1)), other);
}

/* INVEPT (32.3): single-context drops that EPTP12's EPT02, all-context
 * every one; the EPTP stays */
static void test_invalidate(void **state)
{
	(void)state;
	u64 a = ept02_eptp(CPU, A), b = ept02_eptp(CPU, EPTP12(1));

	assert_int_equal(fault(A, L2_PAGE, EPT_R), EPT02_MAPPED);
	assert_int_equal(fault(EPTP12(1), L2_PAGE, EPT_R), EPT02_MAPPED);
	fake_invept_calls = 0;
	ept02_invalidate(CPU, EPTP12(7)); /* no EPT02: nothing */
	assert_int_equal(fake_invept_calls, 0);
	ept02_invalidate(CPU, (A & PT_ADDR_MASK) | MT_UC | (3 << 3));
	assert_int_equal(ept02_leaf(a, L2_PAGE), 0);
	assert_int_not_equal(ept02_leaf(b, L2_PAGE), 0);
	assert_int_equal(fake_invept_calls, 1);
	assert_int_equal(fake_invept_type, INVEPT_SINGLE_CONTEXT);
	assert_int_equal(fake_invept_eptp, a);
	ept02_invalidate(CPU, A); /* empty: nothing to flush */
	assert_int_equal(fake_invept_calls, 1);
	assert_int_equal(ept02_eptp(CPU, A), a);
	assert_int_equal(fault(A, L2_PAGE, EPT_R), EPT02_MAPPED);
	ept02_invalidate_all(CPU);
	assert_int_equal(ept02_leaf(a, L2_PAGE), 0);
	assert_int_equal(ept02_leaf(b, L2_PAGE), 0);
	assert_int_equal(fake_invept_calls, 3);
}

static void map_a(void)
{
	assert_int_equal(fault(A, L2_PAGE, EPT_R), EPT02_MAPPED);
	assert_int_not_equal(ept02_leaf(ept02_eptp(CPU, A), L2_PAGE), 0);
}

/* The core's EPT01 flushes drop the EPT02 leaves of the pages that changed
 * (nested_ept01_changed): memprot_flush, a shootdown (memprot_set on every
 * CPU); an MTRR rebuild drops everything */
static void test_ept01_changed(void **state)
{
	(void)state;
	u64 a = ept02_eptp(CPU, A);

	map_a();
	nested_ept01_changed(CPU, &(struct ept01_changes){ .all = true });
	assert_int_equal(ept02_leaf(a, L2_PAGE), 0);
	map_a();
	memprot_flush(MEMPROT_FLUSH_EPTP | MEMPROT_FLUSH_ENTRIES); /* nothing in EPT01 changed */
	assert_int_not_equal(ept02_leaf(a, L2_PAGE), 0);
	assert_true(memprot_set(MEMPROT_ALL_CPUS, l1_gpa(L1_PAGE), EPT_R));
	assert_int_equal(ept02_leaf(a, L2_PAGE), 0);
	assert_int_equal(fault(A, L2_PAGE, EPT_W), EPT02_L0_DENIED);
	map_a();
	assert_int_equal(ept02_leaf(a, L2_PAGE), L1_PAGE | EPT_R | WB);
	assert_true(memprot_set(MEMPROT_ALL_CPUS, l1_gpa(L1_PAGE), EPT_R)); /* the same rights: no change */
	assert_int_not_equal(ept02_leaf(a, L2_PAGE), 0);
	ept01_rebuild(CPU);
	assert_int_equal(ept02_leaf(a, L2_PAGE), 0);
	assert_int_equal(ept02_eptp(CPU, A), a);
}

/* L2 pages 0..2 map L1_PAGE, L1_PAGE + 4 KiB, L1_PAGE again (an alias), in
 * EPT02 of A and of EPTP12(1) */
#define L2_ALIAS (L2_PAGE + 2 * PAGE_SIZE)
static void map_three(u64 eptp12)
{
	*ept12_entry(EPT12_PT, L2_PAGE + PAGE_SIZE, 1) = (L1_PAGE + PAGE_SIZE) | EPT_RWX | WB;
	*ept12_entry(EPT12_PT, L2_ALIAS, 1) = L1_PAGE | EPT_RWX | WB;
	for (u64 l2 = L2_PAGE; l2 <= L2_ALIAS; l2 += PAGE_SIZE)
		assert_int_equal(fault(eptp12, l2, EPT_R), EPT02_MAPPED);
}

/* A change of one L1 page drops exactly the EPT02 leaves built from it, in
 * every root, and INVEPTs just the roots that had them (29.4.3.1) */
static void test_ept01_change_one_page(void **state)
{
	(void)state;
	u64 a = ept02_eptp(CPU, A), b = ept02_eptp(CPU, EPTP12(1)), c = ept02_eptp(CPU, EPTP12(2));

	map_three(A);
	map_three(EPTP12(1));
	*pte12() = (L1_PAGE + PAGE_SIZE) | EPT_RWX | WB; /* root c maps the other page only */
	assert_int_equal(fault(EPTP12(2), L2_PAGE, EPT_R), EPT02_MAPPED);
	fake_invept_calls = 0;
	assert_true(memprot_set(MEMPROT_ALL_CPUS, l1_gpa(L1_PAGE + 0x800), EPT_R));
	for (u32 i = 0; i < 2; i++) {
		u64 root = i ? b : a;
		assert_int_equal(ept02_leaf(root, L2_PAGE), 0);
		assert_int_equal(ept02_leaf(root, L2_ALIAS), 0);
		assert_int_equal(ept02_leaf(root, L2_PAGE + PAGE_SIZE), (L1_PAGE + PAGE_SIZE) | EPT_RWX | WB);
	}
	assert_int_equal(ept02_leaf(c, L2_PAGE), (L1_PAGE + PAGE_SIZE) | EPT_RWX | WB);
	assert_int_equal(fake_invept_calls, 3); /* EPT01, a, b */
	assert_int_equal(fake_invept_type, INVEPT_SINGLE_CONTEXT);
	/* one CPU's change waits for that CPU's flush */
	assert_true(memprot_set(CPU, l1_gpa(L1_PAGE + PAGE_SIZE), EPT_R));
	assert_int_not_equal(ept02_leaf(c, L2_PAGE), 0);
	memprot_flush(MEMPROT_FLUSH_ENTRIES);
	assert_int_equal(ept02_leaf(a, L2_PAGE + PAGE_SIZE), 0);
	assert_int_equal(ept02_leaf(c, L2_PAGE), 0);
	assert_int_equal(fake_invept_calls, 3 + 4);
	/* a page refaulted after the change is mapped again and kept */
	assert_int_equal(fault(A, L2_ALIAS, EPT_R), EPT02_MAPPED);
	assert_int_equal(ept02_leaf(a, L2_ALIAS), L1_PAGE | EPT_R | WB);
}

/* More changed pages than the change set holds: every EPT02 is dropped */
static void test_ept01_changes_overflow(void **state)
{
	(void)state;
	u64 a = ept02_eptp(CPU, A);
	const u64 other = L1_PAGE + MiB(1);

	map_three(A);
	/* none of the changed pages is L2's: 16 drop nothing, 17 everything */
	const u64 rights[] = { EPT_R, EPT_R | EPT_X, EPT_RWX };
	for (u32 k = 0; k < 3; k++) {
		u32 n = EPT01_CHANGES_MAX + (k > 0);
		for (u32 i = 0; i < n; i++)
			assert_true(memprot_set(CPU, l1_gpa(other + i * PAGE_SIZE), rights[k]));
		memprot_flush(MEMPROT_FLUSH_ENTRIES);
		assert_int_equal(ept02_leaf(a, L2_PAGE + PAGE_SIZE) != 0, k == 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_map_4k, setup),
		cmocka_unit_test_setup(test_violation, setup),
		cmocka_unit_test_setup(test_large_pages, setup),
		cmocka_unit_test_setup(test_misconfig, setup),
		cmocka_unit_test_setup(test_misconfig_by_caps, setup),
		cmocka_unit_test_setup(test_tables_outside_ram, setup),
		cmocka_unit_test_setup(test_ept01_denied, setup),
		cmocka_unit_test_setup(test_lru, setup),
		cmocka_unit_test_setup(test_pool_exhausted, setup),
		cmocka_unit_test_setup(test_invalidate, setup),
		cmocka_unit_test_setup(test_ept01_changed, setup),
		cmocka_unit_test_setup(test_ept01_change_one_page, setup),
		cmocka_unit_test_setup(test_ept01_changes_overflow, setup),
		cmocka_unit_test_setup(test_ept01_host_page, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
