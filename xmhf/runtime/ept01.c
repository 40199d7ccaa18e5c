/* EPT01 construction (SDM Vol. 3 29.3). */
#include <config.h>
#include <runtime/ept01.h>
#include <runtime/panic.h>
#include <runtime/percpu.h>
#include <runtime/vmx_ops.h>
#include <xmhf/cpu.h>
#include <xmhf/lapic.h>
#include <xmhf/log.h>
#include <xmhf/msr.h>
#include <xmhf/paging.h>
#include <xmhf/string.h>
#include <xmhf/check.h>
#include <xmhf/vmx.h>

#define EPT_PAGES_PER_CPU 64
#define REGION_HIDDEN 0xfe /* entirely the hypervisor's: not present */
#define EPTP_WB_4LEVEL (MT_WB | (3 << 3))

extern const u8 __runtime_base[], __reserved_end[];

/* Each CPU's EPT01 pages; a rebuild starts its pool over. */
static u64 pool[MAX_CPUS][EPT_PAGES_PER_CPU][PT_ENTRIES] __attribute__((section(".bss.pages"), aligned(4096)));
static u32 pages_of[MAX_CPUS];

static u64 *pool_alloc(void *ctx, hpa_t *pa)
{
	u32 cpu = *(u32 *)ctx;
	if (pages_of[cpu] == EPT_PAGES_PER_CPU)
		return NULL;
	u64 *page = pool[cpu][pages_of[cpu]++];
	memset(page, 0, PAGE_SIZE);
	*pa = hpa((u64)page);
	return page;
}

/* The root is the first page of the CPU's pool. */
static hpa_t root_of(u32 cpu) { return hpa((u64)pool[cpu][0]); }

static u64 *pool_to_virt(void *ctx, hpa_t pa) { return (u64 *)pa.v; }

bool gpa_is_hypervisor(l1_gpa_t gpa, u64 size)
{
	return gpa.v < (u64)__reserved_end && (u64)__runtime_base < gpa.v + size;
}

void ept01_init_mtrr(u32 cpu)
{
	struct mtrr_state *m = &percpu[cpu].mtrr;
	u32 maxphys = cpuid(0x80000000, 0).eax >= 0x80000008 ? (cpuid(0x80000008, 0).eax & 0xff) : 36;
	bool w;

	m->phys_addr_mask = (1ull << maxphys) - 1;
	m->cap = rdmsr(MSR_MTRRCAP);
	m->def_type = rdmsr(MSR_MTRR_DEF_TYPE);
	for (u32 msr = MSR_MTRR_FIX64K_00000; msr <= MSR_MTRR_FIX4K_F8000; msr++) {
		u64 *slot = mtrr_msr(m, msr, &w);
		if (slot && (m->cap & MTRR_CAP_FIX))
			*slot = rdmsr(msr);
	}
	for (u32 i = 0; i < (m->cap & MTRR_CAP_VCNT_MASK) && i < MTRR_MAX_VAR; i++) {
		m->var_base[i] = rdmsr(MSR_MTRR_PHYSBASE0 + 2 * i);
		m->var_mask[i] = rdmsr(MSR_MTRR_PHYSBASE0 + 2 * i + 1);
	}
	percpu[cpu].ept_apic_page = lapic_base();
}

/* What a naturally aligned region maps to: a memory type, REGION_HIDDEN,
 * or MTRR_MIXED when it needs smaller pages. */
static u8 region_kind(const struct percpu *p, u64 base, u64 size)
{
	u64 hv_lo = (u64)__runtime_base, hv_hi = (u64)__reserved_end;
	if (base >= hv_lo && base + size <= hv_hi)
		return REGION_HIDDEN;
	if (base < hv_hi && hv_lo < base + size)
		return MTRR_MIXED;
	if (size > PAGE_SIZE && base <= p->ept_apic_page && p->ept_apic_page < base + size)
		return MTRR_MIXED;
	return mtrr_range_type(&p->mtrr, base, size);
}

static bool leaf_allowed(unsigned level, u64 ept_cap)
{
	return level == 1 || (level == 2 && (ept_cap & EPT_CAP_2M)) || (level == 3 && (ept_cap & EPT_CAP_1G));
}

static void map_region(const struct pt_alloc *a, hpa_t root, u64 base, unsigned level, const struct percpu *p)
{
	u64 size = PT_LEVEL_SIZE(level);
	u8 kind = region_kind(p, base, size);

	if (kind == REGION_HIDDEN)
		return;
	if (kind != MTRR_MIXED && leaf_allowed(level, p->vmx.ept_vpid)) {
		u64 *e = pt_entry(&pt_format_ept, a, root, base, level);
		if (!e)
			panic("xmhf: EPT01 pool (%u pages) exhausted", (u32)EPT_PAGES_PER_CPU);
		u64 rwx = base == p->ept_apic_page ? EPT_R : EPT_RWX;
		*e = base | rwx | ((u64)kind << EPT_MT_SHIFT) | (level > 1 ? EPT_LARGE : 0);
		return;
	}
	CHECK(level > 1);
	for (u64 i = 0; i < PT_ENTRIES; i++)
		map_region(a, root, base + i * PT_LEVEL_SIZE(level - 1), level - 1, p);
}

/* (Re)build this CPU's EPT01 from scratch; returns the EPTP. */
u64 ept01_build(u32 cpu)
{
	struct pt_alloc a = { pool_alloc, pool_to_virt, &cpu };
	hpa_t root;

	pages_of[cpu] = 0;
	if (!a.alloc(&cpu, &root))
		panic("xmhf: EPT01 pool exhausted");
	CHECK(root.v == root_of(cpu).v);
	for (u64 base = 0; base < CONFIG_MEM; base += PT_LEVEL_SIZE(3))
		map_region(&a, root, base, 3, &percpu[cpu]);
	return root.v | EPTP_WB_4LEVEL;
}

void ept01_rebuild(u32 cpu)
{
	invept(INVEPT_SINGLE_CONTEXT, ept01_build(cpu));
}

u32 ept01_pages(u32 cpu) { return pages_of[cpu]; }

bool ept01_set_prot(u32 cpu, l1_gpa_t gpa, u64 rwx)
{
	struct pt_alloc a = { pool_alloc, pool_to_virt, &cpu };
	u64 page = ALIGN_DOWN(gpa.v, PAGE_SIZE);
	bool exec_only = percpu[cpu].vmx.ept_vpid & EPT_CAP_EXEC_ONLY;

	/* 29.3.3.1: write without read, or execute-only without the
	 * capability, is an EPT misconfiguration */
	if ((rwx & ~EPT_RWX) || ((rwx & EPT_W) && !(rwx & EPT_R)) ||
	    (rwx == EPT_X && !exec_only) || gpa_is_hypervisor(l1_gpa(page), PAGE_SIZE))
		return false;
	u64 *e = pt_entry(&pt_format_ept, &a, root_of(cpu), page, 1);
	if (!e)
		return false;
	*e = (*e & ~EPT_RWX) | rwx;
	return true;
}

u64 ept01_get_prot(u32 cpu, l1_gpa_t gpa)
{
	struct pt_alloc a = { pool_alloc, pool_to_virt, &cpu };
	unsigned level;
	u64 *e = pt_lookup(&pt_format_ept, &a, root_of(cpu), gpa.v, &level);
	return e ? (*e & EPT_RWX) : 0;
}

u64 *ept01_apic_entry(u32 cpu)
{
	struct pt_alloc a = { pool_alloc, pool_to_virt, &cpu };
	unsigned level;
	if (percpu[cpu].ept_apic_page == EPT01_NO_APIC_PAGE)
		return NULL;
	u64 *e = pt_lookup(&pt_format_ept, &a, root_of(cpu), percpu[cpu].ept_apic_page, &level);
	CHECK(e && level == 1);
	return e;
}

/* The guest moved its APIC (IA32_APIC_BASE, SDM Vol. 3 12.4.5): the old page
 * is plain memory again, the new one read-only and uncached. An APIC placed
 * where the guest has no memory (the hypervisor's range, above --mem) is not
 * trapped: accesses there fault like any access to that range. */
void ept01_move_apic(u32 cpu, u64 page)
{
	struct pt_alloc a = { pool_alloc, pool_to_virt, &cpu };
	struct percpu *p = &percpu[cpu];
	u64 *old = ept01_apic_entry(cpu);

	if (old)
		*old = (*old & ~EPT_RWX) | EPT_RWX;
	p->ept_apic_page = EPT01_NO_APIC_PAGE;
	if (!gpa_is_hypervisor(l1_gpa(page), PAGE_SIZE) && page < CONFIG_MEM) {
		u64 *e = pt_entry(&pt_format_ept, &a, root_of(cpu), page, 1);
		if (!e)
			panic("xmhf: EPT01 pool (%u pages) exhausted", (u32)EPT_PAGES_PER_CPU);
		*e = (*e & ~(EPT_RWX | EPT_MT_MASK)) | EPT_R | ((u64)MT_UC << EPT_MT_SHIFT);
		p->ept_apic_page = page;
	}
	invept(INVEPT_SINGLE_CONTEXT, root_of(cpu).v | EPTP_WB_4LEVEL);
}
