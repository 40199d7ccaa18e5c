/* xmhf/runtime/ept01.c: EPT01 construction from the MTRRs the fake CPU's
 * MSRs hold (SDM Vol. 3 29.3.2 entry formats, 29.3.7 memory types, 12.11
 * MTRRs) and the 4 KiB permission API. Every build is checked by a walk of
 * all its tables: the leaves cover [0, CONFIG_MEM) in order, each maps its
 * own guest-physical range (identity), the hypervisor's [HV_BASE, HV_END)
 * is the only hole, and each leaf's permissions and memory type are those
 * of a model of the MTRRs below, for every 4 KiB page it maps. */
#include "fake_cpu.h"
#include <config.h>
#include <runtime/ept01.h>
#include <runtime/vmx_ops.h>
#include <xmhf/spinlock.h>
#include <xmhf/msr.h>
#include <xmhf/paging.h>
#include <xmhf/vmx.h>

#define CPU 1
#define APIC 0xfee00000ull
#define VAR_UC_BASE 0xc0000000ull /* variable range 0: [3 GiB, 4 GiB) UC */
#define PHYS_MASK ((1ull << 36) - 1) /* MAXPHYADDR 36: CPUID 0x80000008 absent */
#define EPTP_LOW 0x1eull             /* WB, 4-level walk, no A/D */
#define ONE_MIB 0x100000ull
#define LEAF_OK_BITS (PT_ADDR_MASK | EPT_RWX | EPT_MT_MASK | EPT_LARGE)

/* Fixed ranges: 0-0x9FFFF WB, 0xA0000-0xBFFFF UC, 0xC0000-0xCFFFF WP,
 * 0xD0000-0xF7FFF WT, 0xF8000-0xFBFFF WT, 0xFC000-0xFFFFF WP. */
static const u64 fixed[MTRR_N_FIXED] = {
	0x0606060606060606ull, 0x0606060606060606ull, 0,
	0x0505050505050505ull, 0x0505050505050505ull, 0x0404040404040404ull, 0x0404040404040404ull,
	0x0404040404040404ull, 0x0404040404040404ull, 0x0404040404040404ull, 0x0505050504040404ull,
};

/* The model of the MTRRs programmed, and of the permissions set. */
static struct {
	bool enabled;           /* DEF_TYPE.E */
	u64 extra_base, extra_size; /* variable range 1 when extra_size != 0 */
	u8 extra_type;
	u64 apic;               /* the page mapped EPT_R */
	u64 prot_page;          /* a page set to prot by ept01_set_prot, or ~0 */
	u64 prot;
	bool bit12_uc;          /* variable range 2: pages with address bit 12 clear UC */
} model;

static u8 model_type(u64 gpa)
{
	if (!model.enabled)
		return MT_UC;
	if (gpa < ONE_MIB) {
		if (gpa < 0xa0000)
			return MT_WB;
		if (gpa < 0xc0000)
			return MT_UC;
		if (gpa < 0xd0000 || gpa >= 0xfc000)
			return MT_WP;
		return MT_WT;
	}
	if (gpa >= VAR_UC_BASE && gpa < 0x100000000ull)
		return MT_UC;
	if (model.bit12_uc && !(gpa & BIT(12)))
		return MT_UC;
	if (model.extra_size && gpa >= model.extra_base && gpa < model.extra_base + model.extra_size)
		return model.extra_type;
	return MT_WB;
}

static u64 model_prot(u64 page)
{
	if (page == model.prot_page)
		return model.prot;
	return page == model.apic ? EPT_R : EPT_RWX;
}

static bool hidden(u64 gpa) { return gpa >= FAKE_HV_BASE && gpa < FAKE_HV_END; }

static void program_mtrrs(u64 def_type)
{
	msr_set(MSR_MTRRCAP, MTRR_CAP_FIX | 8);
	msr_set(MSR_MTRR_DEF_TYPE, def_type);
	msr_set(MSR_MTRR_FIX64K_00000, fixed[0]);
	msr_set(MSR_MTRR_FIX16K_80000, fixed[1]);
	msr_set(MSR_MTRR_FIX16K_A0000, fixed[2]);
	for (u32 i = 0; i < 8; i++)
		msr_set(MSR_MTRR_FIX4K_C0000 + i, fixed[3 + i]);
	for (u32 i = 0; i < 8; i++) {
		msr_set(MSR_MTRR_PHYSBASE0 + 2 * i, 0);
		msr_set(MSR_MTRR_PHYSBASE0 + 2 * i + 1, 0);
	}
	msr_set(MSR_MTRR_PHYSBASE0, VAR_UC_BASE | MT_UC);
	msr_set(MSR_MTRR_PHYSBASE0 + 1, (~(GiB(1) - 1) & PHYS_MASK) | MTRR_PHYSMASK_VALID);
	model.enabled = def_type & MTRR_DEF_E;
}

static void setup_cpu(u32 cpu)
{
	fake_reset(cpu);
	msr_set(MSR_IA32_APIC_BASE, APIC | APIC_BASE_ENABLE);
	percpu[cpu].vmx.ept_vpid = FAKE_EPT_CAPS;
	memset(&model, 0, sizeof(model));
	model.apic = APIC;
	model.prot_page = ~0ull;
	program_mtrrs(MTRR_DEF_E | MTRR_DEF_FE | MT_WB);
	ept01_init_mtrr(cpu);
	spin_unlock(ept01_lock()); /* a CHECK that failed in a build left it held */
}

static int setup(void **state)
{
	(void)state;
	setup_cpu(CPU);
	return 0;
}

/* One CPU, index 0, registered: what the all-CPU changes reach. */
static int setup_one_cpu(void **state)
{
	(void)state;
	setup_cpu(0);
	cpu_register(0);
	return 0;
}

static u64 *to_virt(void *ctx, hpa_t pa) { (void)ctx; return (u64 *)pa.v; }
static const struct pt_alloc reader = { NULL, to_virt, NULL };

/* The walk of one build: leaves by level, the next address expected. */
static struct {
	u32 leaves[4];
	u64 next;
} walk_state;

static void check_leaf(u64 e, u64 base, unsigned level)
{
	u64 size = PT_LEVEL_SIZE(level);
	u8 mt = (u8)((e & EPT_MT_MASK) >> EPT_MT_SHIFT);

	if (base != walk_state.next) /* the only hole: the hypervisor */
		assert_true(walk_state.next == FAKE_HV_BASE && base == FAKE_HV_END);
	walk_state.next = base + size;
	walk_state.leaves[level]++;
	assert_false(hidden(base));
	assert_int_equal(e & PT_ADDR_MASK, base); /* identity; reserved address bits 0 */
	assert_int_equal(e & ~LEAF_OK_BITS, 0);  /* no IPAT, A/D or ignored bits */
	assert_int_equal(!!(e & EPT_LARGE), level > 1);
	if (size == PAGE_SIZE) {
		assert_int_equal(e & EPT_RWX, model_prot(base));
		assert_int_equal(mt, base == model.apic ? MT_UC : model_type(base));
		return;
	}
	assert_int_equal(e & EPT_RWX, EPT_RWX);
	assert_true(model.apic < base || model.apic >= base + size);
	if (model.bit12_uc && base >= ONE_MIB) { /* merged: the strictest type */
		assert_int_equal(mt, MT_UC);
		return;
	}
	/* above 1 MiB the model changes only at 2 MiB boundaries */
	for (u64 a = base; a < base + size; a += base < ONE_MIB ? PAGE_SIZE : MiB(1)) {
		assert_false(hidden(a));
		if (mt != model_type(a))
			fail_msg("leaf 0x%llx (level %u) has type %u, 0x%llx is %u", base, level, mt, a, model_type(a));
	}
}

static void walk_table(const u64 *table, u64 base, unsigned level)
{
	for (u64 i = 0; i < PT_ENTRIES; i++) {
		u64 e = table[i], addr = base + i * PT_LEVEL_SIZE(level);
		if (!(e & EPT_RWX)) {
			assert_int_equal(e, 0);
			continue;
		}
		if (level == 1 || (e & EPT_LARGE)) {
			assert_true(level <= 3);
			check_leaf(e, addr, level);
		} else {
			assert_int_equal(e & ~PT_ADDR_MASK, EPT_RWX); /* tables: RWX, reserved bits 0 */
			walk_table((const u64 *)(e & PT_ADDR_MASK), addr, level - 1);
		}
	}
}

/* Walk the whole EPT01 of eptp; the leaf counts by level are returned in
 * walk_state.leaves. */
static void check_ept(u64 eptp)
{
	memset(&walk_state, 0, sizeof(walk_state));
	assert_int_equal(eptp & 0xfff, EPTP_LOW);
	walk_table((const u64 *)(eptp & PT_ADDR_MASK), 0, 4);
	assert_int_equal(walk_state.next, CONFIG_MEM);
}

static u64 lookup(u64 eptp, u64 gpa, unsigned *level)
{
	u64 *e = ept_lookup(&reader, hpa(eptp & PT_ADDR_MASK), l1_gpa(gpa), level);
	assert_non_null(e);
	return *e;
}

static bool present(u64 eptp, u64 gpa)
{
	unsigned level;
	return ept_lookup(&reader, hpa(eptp & PT_ADDR_MASK), l1_gpa(gpa), &level) != NULL;
}

static u8 type_at(u64 eptp, u64 gpa)
{
	unsigned level;
	return (u8)((lookup(eptp, gpa, &level) & EPT_MT_MASK) >> EPT_MT_SHIFT);
}

/* (a) identity RWX everywhere else, (b) the hypervisor page by page, (c)
 * the LAPIC page; (d) the memory types of the MTRRs. */
static void test_identity_hole_apic_types(void **state)
{
	(void)state;
	u64 eptp = ept01_build(CPU);
	unsigned level;

	check_ept(eptp);
	const u64 samples[] = { 0, 0x7fffc, 0x90000, 0x9f123, 0xa0000, 0x123456, GiB(1) + 0x1234567,
				0xbfffffff, 0xc0000000, 0xfedfffff, 0xfee01000, GiB(4), CONFIG_MEM - 1 };
	for (u32 i = 0; i < ARRAY_SIZE(samples); i++) {
		u64 e = lookup(eptp, samples[i], &level), size = PT_LEVEL_SIZE(level);
		assert_int_equal((e & PT_ADDR_MASK & ~(size - 1)) | (samples[i] & (size - 1)), samples[i]);
		assert_int_equal(e & EPT_RWX, EPT_RWX);
		assert_int_equal(ept01_get_prot(CPU, l1_gpa(samples[i])), EPT_RWX);
	}
	for (u64 a = FAKE_HV_BASE; a < FAKE_HV_END; a += PAGE_SIZE) {
		assert_false(present(eptp, a));
		assert_false(present(eptp, a + PAGE_SIZE - 1));
		assert_int_equal(ept01_get_prot(CPU, l1_gpa(a)), 0);
	}
	assert_true(present(eptp, FAKE_HV_BASE - 1));
	assert_true(present(eptp, FAKE_HV_END));
	assert_int_equal(lookup(eptp, APIC + 0x300, &level), APIC | EPT_R | (MT_UC << EPT_MT_SHIFT));
	assert_int_equal(level, 1);
	assert_ptr_equal(ept01_apic_entry(CPU), ept_lookup(&reader, hpa(eptp & PT_ADDR_MASK), l1_gpa(APIC), &level));
	assert_int_equal(ept01_get_prot(CPU, l1_gpa(APIC)), EPT_R);
	assert_int_equal(lookup(eptp, APIC - 1, &level) & EPT_RWX, EPT_RWX);
	assert_int_equal(lookup(eptp, APIC + PAGE_SIZE, &level) & EPT_RWX, EPT_RWX);
	/* memory types (check_ept compared every page with the model) */
	const struct { u64 gpa; u8 type; } types[] = {
		{ 0, MT_WB }, { 0x9f000, MT_WB }, { 0xa0000, MT_UC }, { 0xbf000, MT_UC }, { 0xc0000, MT_WP },
		{ 0xcf000, MT_WP }, { 0xd0000, MT_WT }, { 0xfb000, MT_WT }, { 0xfc000, MT_WP },
		{ 0xff000, MT_WP }, { ONE_MIB, MT_WB }, { 0xbffff000, MT_WB }, { VAR_UC_BASE, MT_UC },
		{ APIC, MT_UC }, { 0xfffff000, MT_UC }, { GiB(4), MT_WB }, { CONFIG_MEM - 1, MT_WB },
	};
	for (u32 i = 0; i < ARRAY_SIZE(types); i++)
		assert_int_equal(type_at(eptp, types[i].gpa), types[i].type);
}

/* (e) Page counts: the root, one PDPT, a PD for each GiB that is not one
 * leaf and a page table for each 2 MiB region that is not one leaf: the
 * first (hypervisor, fixed MTRRs) and the LAPIC's. */
static void test_large_pages_1g(void **state)
{
	(void)state;
	u64 eptp = ept01_build(CPU);
	unsigned level;

	check_ept(eptp);
	for (u64 g = 1; g < CONFIG_MEM / GiB(1); g++) {
		lookup(eptp, g * GiB(1) + 0x5000, &level);
		assert_int_equal(level, g == 3 ? 2 : 3); /* GiB 3 holds the LAPIC */
	}
	lookup(eptp, 0x200000, &level);
	assert_int_equal(level, 2);
	lookup(eptp, 0x1ff000, &level);
	assert_int_equal(level, 1);
	assert_int_equal(walk_state.leaves[3], CONFIG_MEM / GiB(1) - 2);
	assert_int_equal(walk_state.leaves[2], 2 * (PT_ENTRIES - 1));
	assert_int_equal(walk_state.leaves[1], PT_ENTRIES - (FAKE_HV_END - FAKE_HV_BASE) / PAGE_SIZE + PT_ENTRIES);
	assert_int_equal(ept01_pages(CPU), 1 + 1 + 2 + 2); /* <= 16 pages for 16 GiB */
}

static void test_large_pages_2m(void **state)
{
	(void)state;
	percpu[CPU].vmx.ept_vpid &= ~EPT_CAP_1G;
	u64 eptp = ept01_build(CPU);
	unsigned level;

	check_ept(eptp);
	for (u64 g = 1; g < CONFIG_MEM / GiB(1); g++) {
		lookup(eptp, g * GiB(1), &level);
		assert_int_equal(level, 2);
	}
	assert_int_equal(walk_state.leaves[3], 0);
	assert_int_equal(walk_state.leaves[2], CONFIG_MEM / MiB(2) - 2);
	assert_int_equal(ept01_pages(CPU), 1 + 1 + CONFIG_MEM / GiB(1) + 2); /* 20 for 16 GiB */
}

/* Without 2 MiB pages 16 GiB needs 8192 page tables: the pool runs out,
 * which must stop the hypervisor (a CPU it cannot use), not leave memory
 * unmapped. */
static void test_4k_only_exhausts_pool(void **state)
{
	(void)state;
	percpu[CPU].vmx.ept_vpid &= ~(EPT_CAP_1G | EPT_CAP_2M);
	expect_assert_failure(ept01_build(CPU));
}

/* The APIC where IA32_APIC_BASE puts it (here inside a 1 GiB leaf). */
static void test_apic_moved(void **state)
{
	(void)state;
	msr_set(MSR_IA32_APIC_BASE, (GiB(5) + 0x3000) | APIC_BASE_ENABLE);
	ept01_init_mtrr(CPU);
	model.apic = GiB(5) + 0x3000;
	u64 eptp = ept01_build(CPU);
	unsigned level;

	check_ept(eptp);
	assert_int_equal(lookup(eptp, APIC, &level) & EPT_RWX, EPT_RWX);
	assert_int_equal(level, 3); /* GiB 3 is one UC leaf now */
	assert_int_equal(lookup(eptp, model.apic, &level), model.apic | EPT_R | (MT_UC << EPT_MT_SHIFT)); /* SDM: APIC UC */
	assert_int_equal(level, 1);
}

/* The guest moves its APIC at run time (WRMSR IA32_APIC_BASE): EPT01 is
 * rebuilt, the old page is RWX with its old type again, the new one a 4 KiB read-only UC page; an
 * APIC in the hypervisor's range is not trapped (nothing is mapped there). */
static void test_apic_moved_at_run_time(void **state)
{
	(void)state;
	u64 eptp = ept01_build(CPU), moved = GiB(5) + 0x3000;
	unsigned level;
	u32 invepts = fake_invept_calls;

	ept01_move_apic(CPU, l1_gpa(moved));
	assert_int_equal(fake_invept_calls, invepts + 1);
	assert_int_equal(lookup(eptp, APIC, &level), VAR_UC_BASE | EPT_RWX | (MT_UC << EPT_MT_SHIFT) | EPT_LARGE);
	assert_int_equal(level, 3); /* the old split is gone: GiB 3 is one leaf again */
	assert_int_equal(lookup(eptp, moved, &level), moved | EPT_R | (MT_UC << EPT_MT_SHIFT));
	assert_int_equal(level, 1);
	assert_int_equal(percpu[CPU].ept_apic_page.v, moved);
	assert_ptr_equal(ept01_apic_entry(CPU), ept_lookup(&reader, hpa(eptp & PT_ADDR_MASK), l1_gpa(moved), &level));

	ept01_move_apic(CPU, l1_gpa(FAKE_HV_BASE));
	assert_int_equal(percpu[CPU].ept_apic_page.v, EPT01_NO_APIC_PAGE);
	assert_null(ept01_apic_entry(CPU));
	assert_false(present(eptp, FAKE_HV_BASE));
	assert_int_equal(lookup(eptp, moved, &level) & EPT_RWX, EPT_RWX);

	ept01_move_apic(CPU, l1_gpa(APIC)); /* and back */
	assert_int_equal(lookup(eptp, APIC, &level), APIC | EPT_R | (MT_UC << EPT_MT_SHIFT));
}

/* set_prot on page, which a leaf of from_level maps: the split keeps every
 * child's type and permissions; get_prot sees the new ones. */
static void set_prot_splits(unsigned from_level, u64 page, u64 prot)
{
	u64 eptp = ept01_build(CPU);
	unsigned level;
	u32 pages = ept01_pages(CPU);

	lookup(eptp, page, &level);
	assert_int_equal(level, from_level);
	assert_true(ept01_set_prot(CPU, l1_gpa(page), prot));
	model.prot_page = page;
	model.prot = prot;
	lookup(eptp, page, &level);
	assert_int_equal(level, 1);
	assert_int_equal(ept01_pages(CPU), pages + from_level - 1);
	assert_int_equal(ept01_get_prot(CPU, l1_gpa(page + 0x123)), prot);
	check_ept(eptp); /* the 511 + 511 others: RWX (2 MiB or 4 KiB), same type */
	/* kept by a rebuild (an MTRR write) */
	ept01_rebuild(CPU);
	assert_int_equal(ept01_get_prot(CPU, l1_gpa(page)), prot);
	check_ept(eptp);
	/* back to RWX in place: the split stays until the next rebuild */
	assert_true(ept01_set_prot(CPU, l1_gpa(page), EPT_RWX));
	model.prot = EPT_RWX;
	assert_int_equal(ept01_get_prot(CPU, l1_gpa(page)), EPT_RWX);
	assert_int_equal(ept01_pages(CPU), pages + from_level - 1);
	check_ept(eptp);
	ept01_rebuild(CPU);
	assert_int_equal(ept01_pages(CPU), pages);
	lookup(eptp, page, &level);
	assert_int_equal(level, from_level);
	check_ept(eptp);
}

/* (f) */
static void test_set_prot_in_1g_leaf(void **state)
{
	(void)state;
	set_prot_splits(3, GiB(2) + MiB(6) + 0x7000, EPT_R | EPT_X);
}

static void test_set_prot_in_2m_leaf(void **state)
{
	(void)state;
	set_prot_splits(2, VAR_UC_BASE + MiB(2) + 0x3000, EPT_R); /* UC kept */
}

static void test_set_prot_in_2m_leaf_without_1g(void **state)
{
	(void)state;
	percpu[CPU].vmx.ept_vpid &= ~EPT_CAP_1G;
	set_prot_splits(2, GiB(7) + 0x1ff000, EPT_R | EPT_W);
}

static void test_set_prot_4k_page_no_split(void **state)
{
	(void)state;
	set_prot_splits(1, 0xa0000, EPT_R); /* UC fixed range */
}

static void test_set_prot_hypervisor_refused(void **state)
{
	(void)state;
	u64 eptp = ept01_build(CPU);
	u32 pages = ept01_pages(CPU);

	for (u64 a = FAKE_HV_BASE; a < FAKE_HV_END; a += PAGE_SIZE) {
		assert_false(ept01_set_prot(CPU, l1_gpa(a), EPT_RWX));
		assert_false(ept01_set_prot(CPU, l1_gpa(a + 0xfff), EPT_R));
	}
	assert_int_equal(ept01_pages(CPU), pages);
	check_ept(eptp); /* still not present */
}

/* (g) The guest adds a WT range and makes 0xA0000-0xBFFFF WC: the rebuild
 * maps the new types and invalidates the EPT01 it rebuilt. */
static void test_rebuild_after_mtrr_change(void **state)
{
	(void)state;
	u64 eptp = ept01_build(CPU);
	struct mtrr_state *m = &percpu[CPU].mtrr;
	unsigned level;

	assert_int_equal(type_at(eptp, GiB(5)), MT_WB);
	m->var_base[1] = GiB(5) | MT_WT;
	m->var_mask[1] = (~(GiB(1) - 1) & PHYS_MASK) | MTRR_PHYSMASK_VALID;
	m->fixed[2] = 0x0101010101010101ull; /* 0xA0000-0xBFFFF WC */
	model.extra_base = GiB(5);
	model.extra_size = GiB(1);
	model.extra_type = MT_WT;
	ept01_rebuild(CPU);
	assert_int_equal(fake_invept_calls, 1);
	assert_int_equal(fake_invept_type, INVEPT_SINGLE_CONTEXT);
	assert_int_equal(fake_invept_eptp, eptp);
	assert_int_equal(lookup(eptp, GiB(5) + 0x1000, &level) & EPT_MT_MASK, MT_WT << EPT_MT_SHIFT);
	assert_int_equal(level, 3);
	assert_int_equal(type_at(eptp, 0xa0000), MT_WC);
	assert_int_equal(type_at(eptp, 0xc0000), MT_WP);
	/* the model's fixed ranges no longer hold for 0xA0000: compare the rest */
	m->fixed[2] = 0;
	ept01_rebuild(CPU);
	assert_int_equal(fake_invept_calls, 2);
	check_ept(eptp);
	assert_int_equal(ept01_pages(CPU), 6);
}

/* (h) DEF_TYPE.E = 0: UC everywhere, fixed ranges included. */
static void test_mtrrs_disabled_uc(void **state)
{
	(void)state;
	program_mtrrs(MTRR_DEF_FE | MT_WB);
	ept01_init_mtrr(CPU);
	u64 eptp = ept01_build(CPU);

	check_ept(eptp);
	assert_int_equal(type_at(eptp, 0), MT_UC);
	assert_int_equal(type_at(eptp, 0xc0000), MT_UC);
	assert_int_equal(type_at(eptp, GiB(2)), MT_UC);
	assert_int_equal(ept01_pages(CPU), 6); /* GiB 3 is still split by the LAPIC */
}

/* Issue 7 point 6: a non-contiguous PHYSMASK (bit 12 only: every other
 * page UC) would need 8192 page tables at 4 KiB granularity. The build
 * merges types over 2 MiB pages (UC: the strictest of UC and WB) and keeps
 * 4 KiB pages where it must (the fixed-range MiB, the APIC), within the
 * pool; before, the pool ran out and the hypervisor panicked. */
static void test_noncontiguous_mask_merged(void **state)
{
	(void)state;
	struct mtrr_state *m = &percpu[CPU].mtrr;
	u64 eptp = ept01_build(CPU);
	unsigned level;

	m->var_base[2] = 0 | MT_UC;
	m->var_mask[2] = BIT(12) | MTRR_PHYSMASK_VALID;
	model.bit12_uc = true;
	ept01_rebuild(CPU);
	check_ept(eptp);
	assert_int_equal(walk_state.leaves[3], 0);
	assert_int_equal(ept01_pages(CPU), 1 + 1 + CONFIG_MEM / GiB(1) + 2);
	assert_int_equal(lookup(eptp, GiB(5), &level) & EPT_MT_MASK, MT_UC << EPT_MT_SHIFT);
	assert_int_equal(level, 2);
	assert_int_equal(type_at(eptp, ONE_MIB), MT_UC); /* 4 KiB pages in the first 2 MiB */
	assert_int_equal(type_at(eptp, ONE_MIB + 0x1000), MT_WB);
	/* the mask removed: 1 GiB pages again */
	m->var_mask[2] = 0;
	model.bit12_uc = false;
	ept01_rebuild(CPU);
	check_ept(eptp);
	assert_int_equal(ept01_pages(CPU), 6);
}

/* Issue 7 point 6: 100 APIC moves to fresh 2 MiB regions: each rebuild
 * frees the old split (before, ~58 moves exhausted the pool). */
static void test_100_apic_moves(void **state)
{
	(void)state;
	u64 eptp = ept01_build(CPU);
	unsigned level;

	for (u32 i = 0; i < 100; i++) {
		u64 page = GiB(5) + i * MiB(2) + 0x1000;
		ept01_move_apic(CPU, l1_gpa(page));
		assert_int_equal(lookup(eptp, page, &level), page | EPT_R | (MT_UC << EPT_MT_SHIFT));
		assert_int_equal(ept01_pages(CPU), 6);
	}
	model.apic = GiB(5) + 99 * MiB(2) + 0x1000;
	check_ept(eptp);
}

/* The override store: EPT_OVERRIDES_MAX pages in at most
 * EPT_OVERRIDE_TABLES 2 MiB regions; one more page, or a page in one more
 * region, is refused with nothing changed; a change keeps its slot; a
 * page back to RWX frees its slot; every rebuild (an MTRR write) keeps
 * them all, and fits the pool. */
#define PAGES_PER_TABLE (EPT_OVERRIDES_MAX / EPT_OVERRIDE_TABLES)
static u64 clustered(u32 i) { return GiB(4) + (i / PAGES_PER_TABLE) * MiB(8) + (i % PAGES_PER_TABLE) * 0x3000; }

static void test_set_prot_bounded(void **state)
{
	(void)state;
	ept01_build(CPU);

	for (u32 i = 0; i < EPT_OVERRIDES_MAX; i++)
		assert_true(ept01_set_prot(CPU, l1_gpa(clustered(i)), EPT_R));
	assert_int_equal(ept01_pages(CPU), 6 + 1 + EPT_OVERRIDE_TABLES); /* one PD, a PT per region */
	assert_false(ept01_set_prot(CPU, l1_gpa(clustered(0) + 0x1000), EPT_R)); /* store full */
	assert_false(ept01_set_prot(CPU, l1_gpa(GiB(13)), EPT_R));
	assert_false(ept01_set_prot(CPU, l1_gpa(CONFIG_MEM), EPT_R)); /* above --mem */
	assert_int_equal(ept01_get_prot(CPU, l1_gpa(clustered(0) + 0x1000)), EPT_RWX);
	assert_int_equal(ept01_get_prot(CPU, l1_gpa(GiB(13))), EPT_RWX);
	assert_true(ept01_set_prot(CPU, l1_gpa(clustered(0)), EPT_R | EPT_X)); /* change: same slot */
	assert_true(ept01_set_prot(CPU, l1_gpa(clustered(1)), EPT_RWX));      /* frees a slot */
	assert_false(ept01_set_prot(CPU, l1_gpa(GiB(13)), EPT_R));            /* a new region: none left */
	assert_true(ept01_set_prot(CPU, l1_gpa(clustered(0) + 0x1000), EPT_R)); /* same region */
	ept01_rebuild(CPU);
	assert_int_equal(ept01_pages(CPU), 6 + 1 + EPT_OVERRIDE_TABLES);
	assert_int_equal(ept01_get_prot(CPU, l1_gpa(clustered(0))), EPT_R | EPT_X);
	assert_int_equal(ept01_get_prot(CPU, l1_gpa(clustered(1))), EPT_RWX);
	assert_int_equal(ept01_get_prot(CPU, l1_gpa(clustered(0) + 0x1000)), EPT_R);
	for (u32 i = 2; i < EPT_OVERRIDES_MAX; i++)
		assert_int_equal(ept01_get_prot(CPU, l1_gpa(clustered(i))), EPT_R);
	/* a region emptied frees its table for another */
	for (u32 i = 0; i < PAGES_PER_TABLE; i++)
		assert_true(ept01_set_prot(CPU, l1_gpa(clustered(i)), EPT_RWX));
	assert_true(ept01_set_prot(CPU, l1_gpa(clustered(0) + 0x1000), EPT_RWX));
	assert_true(ept01_set_prot(CPU, l1_gpa(GiB(13)), EPT_R));
	for (u32 i = 0; i < EPT_OVERRIDES_MAX; i++)
		assert_true(ept01_set_prot(CPU, l1_gpa(clustered(i)), EPT_RWX));
	assert_true(ept01_set_prot(CPU, l1_gpa(GiB(13)), EPT_RWX));
	ept01_rebuild(CPU);
	assert_int_equal(ept01_pages(CPU), 6);
}

/* MTRRs that leave the pool few pages (a non-contiguous mask: 4 KiB types
 * over 256 MiB): a split the pool cannot take is refused, the page keeps
 * its rights, the pages set before keep theirs, and a rebuild keeps them.
 * Two pages per GiB, in different 2 MiB regions (a PD and a page table,
 * then a page table), so that the pool runs out below --mem. */
static u64 page_in_gib(u32 i) { return GiB(i / 2) + (i % 2) * MiB(4) + 0x5000; }

static void test_set_prot_pool_full_refused(void **state)
{
	(void)state;
	struct mtrr_state *m = &percpu[CPU].mtrr;
	u32 set = 0;

	m->var_base[2] = GiB(8) | MT_UC;
	m->var_mask[2] = (~(MiB(256) - 1) & PHYS_MASK) | BIT(12) | MTRR_PHYSMASK_VALID;
	ept01_build(CPU);
	while (set < EPT_OVERRIDE_TABLES && ept01_set_prot(CPU, l1_gpa(page_in_gib(set)), EPT_R))
		set++;
	assert_true(set > 0 && set < EPT_OVERRIDE_TABLES && page_in_gib(set) < CONFIG_MEM); /* the pool, not --mem or the store */
	u64 refused = page_in_gib(set);
	assert_int_equal(ept01_get_prot(CPU, l1_gpa(refused)), EPT_RWX);
	for (u32 i = 0; i < set; i++)
		assert_int_equal(ept01_get_prot(CPU, l1_gpa(page_in_gib(i))), EPT_R);
	ept01_rebuild(CPU);
	for (u32 i = 0; i < set; i++)
		assert_int_equal(ept01_get_prot(CPU, l1_gpa(page_in_gib(i))), EPT_R);
	assert_int_equal(ept01_get_prot(CPU, l1_gpa(refused)), EPT_RWX);
}

/* ept01_init_mtrr reads what the MSRs hold, without fixed ranges when
 * MTRRCAP.FIX is 0 (those MSRs do not exist then). */
static void test_init_mtrr_reads_msrs(void **state)
{
	(void)state;
	struct mtrr_state *m = &percpu[CPU].mtrr;

	assert_int_equal(m->phys_addr_mask, PHYS_MASK);
	assert_int_equal(m->def_type, MTRR_DEF_E | MTRR_DEF_FE | MT_WB);
	assert_memory_equal(m->fixed, fixed, sizeof(fixed));
	assert_int_equal(m->var_base[0], VAR_UC_BASE);
	fake_reset(CPU);
	msr_set(MSR_MTRRCAP, 2);
	msr_set(MSR_MTRR_DEF_TYPE, MTRR_DEF_E | MT_UC);
	for (u32 i = 0; i < 4; i++)
		msr_set(MSR_MTRR_PHYSBASE0 + i, 0x1000 * (i + 1));
	cpuid_set(0x80000000, 0, (struct cpuid_regs){ .eax = 0x80000008 });
	cpuid_set(0x80000008, 0, (struct cpuid_regs){ .eax = 39 });
	ept01_init_mtrr(CPU);
	assert_int_equal(m->phys_addr_mask, (1ull << 39) - 1);
	assert_int_equal(m->fixed[0], 0);
	assert_int_equal(m->var_mask[1], 0x4000);
}

/* A hidden device range (the network log's NIC) is not present, its
 * neighbours stay mapped, its pages cannot be given rights, and an APIC
 * moved there is not trapped. Last: the list is global and only grows. */
static void test_hidden_device_not_present(void **state)
{
	const u64 bar = GiB(3) + MiB(2) + 0x20000, size = 0x20000;

	(void)state;
	assert_false(ept01_hide_device((struct pt_range){ bar + 1, size }));     /* not page-aligned */
	assert_false(ept01_hide_device((struct pt_range){ bar, 0 }));
	assert_false(ept01_hide_device((struct pt_range){ ~0ull & ~0xfffull, 0x2000 })); /* wraps */
	assert_true(ept01_hide_device((struct pt_range){ bar, size }));
	u64 eptp = ept01_build(CPU);
	for (u64 a = bar; a < bar + size; a += PAGE_SIZE) {
		assert_false(present(eptp, a));
		assert_int_equal(ept01_get_prot(CPU, l1_gpa(a)), 0);
		assert_false(ept01_set_prot(CPU, l1_gpa(a), EPT_RWX));
		assert_false(ept01_set_prot(CPU, l1_gpa(a), EPT_R));
	}
	assert_true(present(eptp, bar - 1));
	assert_true(present(eptp, bar + size));
	assert_int_equal(ept01_get_prot(CPU, l1_gpa(bar - PAGE_SIZE)), EPT_RWX);
	assert_int_equal(ept01_get_prot(CPU, l1_gpa(bar + size)), EPT_RWX);
	assert_true(present(eptp, GiB(3)));
	ept01_move_apic(CPU, l1_gpa(bar)); /* not trapped there (was a failed CHECK: a halt) */
	assert_int_equal(percpu[CPU].ept_apic_page.v, EPT01_NO_APIC_PAGE);
	assert_null(ept01_apic_entry(CPU));
	assert_false(present(eptp, bar));
	ept01_move_apic(CPU, l1_gpa(APIC));
}

/* An all-ones page (a hidden PCI function's ECAM page): a 4 KiB read-only
 * leaf to one page of 0xff, WB with IPAT, in every build and rebuild; its
 * neighbours stay identity; no rights can be set there and the APIC cannot
 * be trapped there. Refused: unaligned, the hypervisor's, above --mem, a
 * hidden device's, the APIC page, twice, more than EPT01_MAX_ONES_PAGES.
 * Last: the list is global and only grows. */
static void test_ones_page(void **state)
{
	const u64 ecam = VAR_UC_BASE + MiB(256) + 0x18000, ram = GiB(5) + 0x7000;
	unsigned level;

	(void)state;
	assert_false(ept01_show_ones(l1_gpa(ecam + 0x10)));
	assert_false(ept01_show_ones(l1_gpa(FAKE_HV_BASE)));
	assert_false(ept01_show_ones(l1_gpa(CONFIG_MEM)));
	assert_false(ept01_show_ones(l1_gpa(GiB(3) + MiB(2) + 0x20000))); /* the device hidden above */
	assert_false(ept01_show_ones(l1_gpa(APIC)));
	assert_true(ept01_show_ones(l1_gpa(ecam)));
	assert_false(ept01_show_ones(l1_gpa(ecam)));
	assert_true(ept01_show_ones(l1_gpa(ram)));
	assert_false(ept01_show_ones(l1_gpa(ram + PAGE_SIZE))); /* full */
	assert_true(ept01_is_ones_page(l1_gpa(ecam + 0xffc)));
	assert_false(ept01_is_ones_page(l1_gpa(ecam + PAGE_SIZE)));

	u64 eptp = ept01_build(CPU);
	for (int rebuilt = 0; rebuilt < 2; rebuilt++) {
		for (u32 i = 0; i < 2; i++) {
			u64 page = i ? ram : ecam, e = lookup(eptp, page, &level);
			const u8 *ones = (const u8 *)(e & PT_ADDR_MASK);
			assert_int_equal(level, 1);
			assert_int_equal(e & ~PT_ADDR_MASK, EPT_R | EPT_IPAT | (MT_WB << EPT_MT_SHIFT));
			assert_true(e & PT_ADDR_MASK && (e & PT_ADDR_MASK) != page);
			for (u32 b = 0; b < PAGE_SIZE; b++)
				assert_int_equal(ones[b], 0xff);
			assert_int_equal(ept01_get_prot(CPU, l1_gpa(page)), EPT_R);
			assert_int_equal(lookup(eptp, page - PAGE_SIZE, &level) & PT_ADDR_MASK, page - PAGE_SIZE);
			assert_int_equal(lookup(eptp, page + PAGE_SIZE, &level) & PT_ADDR_MASK, page + PAGE_SIZE);
			assert_false(ept01_set_prot(CPU, l1_gpa(page), EPT_RWX));
			assert_false(ept01_set_prot(CPU, l1_gpa(page + 0x800), EPT_R));
		}
		assert_int_equal(lookup(eptp, ecam, &level) & PT_ADDR_MASK, lookup(eptp, ram, &level) & PT_ADDR_MASK);
		assert_int_equal(type_at(eptp, ecam - PAGE_SIZE), MT_UC); /* the MTRRs' type around it */
		ept01_rebuild(CPU);
	}
	ept01_move_apic(CPU, l1_gpa(ram));
	assert_int_equal(percpu[CPU].ept_apic_page.v, EPT01_NO_APIC_PAGE);
	assert_int_equal(lookup(eptp, ram, &level) & ~PT_ADDR_MASK, EPT_R | EPT_IPAT | (MT_WB << EPT_MT_SHIFT));
	ept01_move_apic(CPU, l1_gpa(APIC));
	assert_int_equal(lookup(eptp, APIC, &level), APIC | EPT_R | (MT_UC << EPT_MT_SHIFT));
}

/* ept01_relocate_all (test builds' RELOCATE; one CPU, so the shootdown is this CPU's INVEPT): the
 * page maps another host page on every CPU, its
 * contents copied there, its rights kept by ept01_set_prot's changes and by a rebuild, and back
 * home the identity again; refused: the hypervisor's range, an unaligned host page, the page
 * already there. */
static void test_relocate(void **state)
{
	(void)state;
	const u64 page = 0x10000, host = 0x20000;
	unsigned level;
	u64 eptp = ept01_build(0);
	guest_mem(page, PAGE_SIZE)[5] = 0xa5;
	assert_true(ept01_relocate_all(l1_gpa(page + 0x123), hpa(host)));
	assert_int_equal(guest_mem(host, PAGE_SIZE)[5], 0xa5);
	assert_int_equal(lookup(eptp, page, &level) & (PT_ADDR_MASK | EPT_RWX), host | EPT_RWX);
	assert_int_equal(level, 1);
	assert_true(ept01_set_prot(0, l1_gpa(page), EPT_R));
	ept01_rebuild(0);
	assert_int_equal(lookup(eptp, page, &level) & (PT_ADDR_MASK | EPT_RWX), host | EPT_R);
	assert_int_equal(ept01_page_leaf(0, l1_gpa(page)) & PT_ADDR_MASK, host);
	assert_false(ept01_relocate_all(l1_gpa(page), hpa(host)));         /* already there */
	assert_false(ept01_relocate_all(l1_gpa(page), hpa(host + 0x800))); /* unaligned */
	assert_false(ept01_relocate_all(l1_gpa(FAKE_HV_BASE), hpa(host)));
	guest_mem(host, PAGE_SIZE)[5] = 0x5a;
	assert_true(ept01_relocate_all(l1_gpa(page), hpa(page)));
	assert_true(ept01_set_prot(0, l1_gpa(page), EPT_RWX));
	assert_int_equal(guest_mem(page, PAGE_SIZE)[5], 0x5a);
	ept01_rebuild(0);
	check_ept(eptp); /* the identity map again, no override left */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_identity_hole_apic_types, setup),
		cmocka_unit_test_setup(test_large_pages_1g, setup),
		cmocka_unit_test_setup(test_apic_moved_at_run_time, setup),
		cmocka_unit_test_setup(test_large_pages_2m, setup),
		cmocka_unit_test_setup(test_4k_only_exhausts_pool, setup),
		cmocka_unit_test_setup(test_apic_moved, setup),
		cmocka_unit_test_setup(test_set_prot_in_1g_leaf, setup),
		cmocka_unit_test_setup(test_set_prot_in_2m_leaf, setup),
		cmocka_unit_test_setup(test_set_prot_in_2m_leaf_without_1g, setup),
		cmocka_unit_test_setup(test_set_prot_4k_page_no_split, setup),
		cmocka_unit_test_setup(test_set_prot_hypervisor_refused, setup),
		cmocka_unit_test_setup(test_rebuild_after_mtrr_change, setup),
		cmocka_unit_test_setup(test_mtrrs_disabled_uc, setup),
		cmocka_unit_test_setup(test_noncontiguous_mask_merged, setup),
		cmocka_unit_test_setup(test_100_apic_moves, setup),
		cmocka_unit_test_setup(test_set_prot_bounded, setup),
		cmocka_unit_test_setup(test_set_prot_pool_full_refused, setup),
		cmocka_unit_test_setup(test_init_mtrr_reads_msrs, setup),
		cmocka_unit_test_setup(test_relocate, setup_one_cpu), /* before the hidden device and all-ones page stay */
		cmocka_unit_test_setup(test_hidden_device_not_present, setup),
		cmocka_unit_test_setup(test_ones_page, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
