/* EPT01 construction (SDM Vol. 3 29.3). Each CPU's EPT01 is built from
 * scratch into its own page pool, root first, when the guest's MTRRs or
 * APIC page change; 4 KiB permissions (ept01_set_prot) are edited in place,
 * splitting the large page that holds them from the pool, and are kept as
 * overrides that every build applies. The EPT lock serializes every change
 * to any CPU's EPT01 and every walk of another CPU's. */
#include <config.h>
#include <runtime/ept01.h>
#include <runtime/panic.h>
#include <runtime/percpu.h>
#include <runtime/vmx_ops.h>
#include <runtime/xcall.h>
#include <xmhf/check.h>
#include <xmhf/cpu.h>
#include <xmhf/lapic.h>
#include <xmhf/log.h>
#include <xmhf/msr.h>
#include <xmhf/nested.h>
#include <xmhf/page_pool.h>
#include <xmhf/paging.h>
#include <xmhf/string.h>
#include <xmhf/vmx.h>

#define REGION_HIDDEN 0xfe /* entirely the hypervisor's or a hidden device's: not present */
#define FIXED_MTRR_END MiB(1)

/* A build with MTRR types merged at 1 GiB needs at most: the PML4, the
 * PDPTs, a PD per GiB (without 1 GiB pages), and page tables for the
 * fixed-range MiB, the APIC page and each 2 MiB that holds overrides (the
 * hypervisor's range is 2 MiB aligned). The pool has that, room for MTRR
 * splits (36 pages) and for the in-place splits of overrides (a PD and a PT
 * each) and for the hidden device ranges. */
#define EPT_FIXED_PAGES \
	(1 + (CONFIG_MEM + PT_LEVEL_SIZE(4) - 1) / PT_LEVEL_SIZE(4) + CONFIG_MEM / GiB(1) + 2 + EPT_OVERRIDE_TABLES)
#define EPT_PAGES_PER_CPU \
	(EPT_FIXED_PAGES + 36 + 2 * EPT_OVERRIDE_TABLES + EPT_HIDDEN_DEVICE_PAGES + EPT01_MAX_ONES_PAGES)
/* A hidden device range needs a page table at each end that is not 2 MiB
 * aligned, an all-ones page one page table (their page directories are
 * among the fixed ones). */
#define EPT_HIDDEN_DEVICE_PAGES (2 * EPT01_MAX_HIDDEN_DEVICES)

extern const u8 __runtime_base[], __reserved_end[];

/* A 4 KiB page that is not identity mapped with EPT_RWX: its rights, and
 * the host page it maps to (the page itself unless relocated). */
struct override {
	l1_gpa_t page;
	u64 rwx;
	u64 host;
};

/* A CPU's EPT01: its pool (the root is its first page) and the 4 KiB
 * overrides set with ept01_set_prot and ept01_relocate_all, applied by
 * every build. */
struct ept01 {
	struct page_pool pool;
	struct override overrides[EPT_OVERRIDES_MAX];
	u32 n_overrides;
	u32 n_tables; /* 2 MiB regions that hold overrides */
	/* The pages whose leaves changed since the CPU's last ept01_flush, for
	 * nested_ept01_changed: a changer (under the EPT lock) fills a free slot,
	 * the CPU itself empties them at its flush without the lock (a changer
	 * may be waiting for that flush), each slot with one atomic operation, so
	 * no change is lost; a change finding no free slot sets changed_all. */
	u64 changed[EPT01_CHANGES_MAX]; /* page | SLOT_USED, 0: free */
	bool changed_all;
};

#define SLOT_USED 1ull /* pages are aligned: bit 0 marks a used slot */

static u64 pages[MAX_CPUS][EPT_PAGES_PER_CPU][PT_ENTRIES] __attribute__((section(".bss.pages"), aligned(4096)));
static struct ept01 ept01[MAX_CPUS];
static struct spinlock ept_lock;
/* Device ranges the guest must not see (the hypervisor's own NIC): not
 * present in any EPT01, like the hypervisor's range. */
static struct pt_range hidden_devices[EPT01_MAX_HIDDEN_DEVICES];
static u32 n_hidden_devices;
/* Pages the guest reads as all ones (ept01_show_ones): each maps ones_page. */
static l1_gpa_t ones_pages[EPT01_MAX_ONES_PAGES];
static u32 n_ones_pages;
static u8 ones_page[PAGE_SIZE] __attribute__((section(".bss.pages"), aligned(4096)));

struct spinlock *ept01_lock(void) { return &ept_lock; }

static hpa_t root_of(u32 cpu) { return hpa((u64)pages[cpu][0]); }

u64 ept01_eptp(u32 cpu) { return root_of(cpu).v | EPTP_WB_4LEVEL; }

bool gpa_is_hypervisor(l1_gpa_t gpa, u64 size)
{
	return gpa.v < (u64)__reserved_end && (u64)__runtime_base < gpa.v + size;
}

bool ept01_hide_device(struct pt_range r)
{
	if (n_hidden_devices == EPT01_MAX_HIDDEN_DEVICES || !r.size || r.base % PAGE_SIZE || r.size % PAGE_SIZE ||
	    r.base + r.size < r.base)
		return false;
	hidden_devices[n_hidden_devices++] = r;
	return true;
}

/* 0: [base, base + size) touches no hidden device; 1: inside one; -1: partly. */
static int hidden_device_overlap(u64 base, u64 size)
{
	for (u32 i = 0; i < n_hidden_devices; i++) {
		const struct pt_range *h = &hidden_devices[i];
		if (base >= h->base && base + size <= h->base + h->size)
			return 1;
		if (base < h->base + h->size && h->base < base + size)
			return -1;
	}
	return 0;
}

static bool is_ones_page(u64 page)
{
	for (u32 i = 0; i < n_ones_pages; i++)
		if (ones_pages[i].v == page)
			return true;
	return false;
}

bool ept01_is_ones_page(l1_gpa_t gpa) { return is_ones_page(ALIGN_DOWN(gpa.v, PAGE_SIZE)); }

/* Whether EPT01 maps the page to itself with rights that may change: not
 * the hypervisor's, below --mem, no hidden device, no all-ones page. */
static bool page_is_plain(u64 page)
{
	return !gpa_is_hypervisor(l1_gpa(page), PAGE_SIZE) && page < CONFIG_MEM &&
	       !hidden_device_overlap(page, PAGE_SIZE) && !is_ones_page(page);
}

bool ept01_show_ones(l1_gpa_t page)
{
	if (n_ones_pages == EPT01_MAX_ONES_PAGES || !IS_ALIGNED(page.v, PAGE_SIZE) || !page_is_plain(page.v) ||
	    page.v == lapic_base())
		return false;
	memset(ones_page, 0xff, sizeof(ones_page));
	ones_pages[n_ones_pages++] = page;
	return true;
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
	percpu[cpu].ept_apic_page = l1_gpa(lapic_base());
}

static bool in_region(u64 addr, u64 base, u64 size) { return base <= addr && addr - base < size; }

static struct override *override_of(u32 cpu, u64 page)
{
	struct ept01 *e = &ept01[cpu];
	for (u32 i = 0; i < e->n_overrides; i++)
		if (e->overrides[i].page.v == page)
			return &e->overrides[i];
	return NULL;
}

/* Whether a region larger than 4 KiB holds a page that needs its own
 * 4 KiB leaf: the APIC page, an all-ones page or an override. */
static bool has_4k_page(u32 cpu, u64 base, u64 size)
{
	const struct ept01 *e = &ept01[cpu];
	if (in_region(percpu[cpu].ept_apic_page.v, base, size))
		return true;
	for (u32 i = 0; i < n_ones_pages; i++)
		if (in_region(ones_pages[i].v, base, size))
			return true;
	for (u32 i = 0; i < e->n_overrides; i++)
		if (in_region(e->overrides[i].page.v, base, size))
			return true;
	return false;
}

/* What a naturally aligned region at 'level' maps to: a memory type,
 * REGION_HIDDEN, or MTRR_MIXED when it needs smaller pages. MTRR types
 * that vary inside a region at or below merge_level (above the fixed-range
 * MiB) get one merged type instead: the guest then sees that region with
 * the strictest of its types (UC wins, then WT over WB). */
static u8 region_kind(u32 cpu, u64 base, unsigned level, unsigned merge_level)
{
	const struct percpu *p = &percpu[cpu];
	u64 size = PT_LEVEL_SIZE(level), hv_lo = (u64)__runtime_base, hv_hi = (u64)__reserved_end;

	if (base >= hv_lo && base + size <= hv_hi)
		return REGION_HIDDEN;
	if (base < hv_hi && hv_lo < base + size)
		return MTRR_MIXED;
	int device = hidden_device_overlap(base, size);
	if (device)
		return device > 0 ? REGION_HIDDEN : MTRR_MIXED;
	if (level > 1 && has_4k_page(cpu, base, size))
		return MTRR_MIXED;
	u8 type = mtrr_range_type(&p->mtrr, base, size);
	if (type == MTRR_MIXED && level <= merge_level && base >= FIXED_MTRR_END)
		return mtrr_range_type_merged(&p->mtrr, base, size);
	return type;
}

static bool leaf_allowed(unsigned level, u64 ept_cap)
{
	return level == 1 || (level == 2 && (ept_cap & EPT_CAP_2M)) || (level == 3 && (ept_cap & EPT_CAP_1G));
}

/* The leaf for [base, base + size): an all-ones page read-only to
 * ones_page, write-back whatever the guest's PAT says (IPAT, 29.3.7.2: no
 * alias of other types for the hypervisor's page); the APIC page read-only
 * and UC (SDM Vol. 3 "Relocating the Local APIC Registers"); an override's
 * rights and host page. */
static u64 leaf(u32 cpu, u64 base, unsigned level, u8 type)
{
	const struct override *o = level == 1 ? override_of(cpu, base) : NULL;
	u64 rwx = o ? o->rwx : EPT_RWX, host = o ? o->host : base;

	if (level == 1 && is_ones_page(base))
		return (u64)ones_page | EPT_R | EPT_IPAT | ((u64)MT_WB << EPT_MT_SHIFT);
	if (level == 1 && base == percpu[cpu].ept_apic_page.v) {
		rwx = EPT_R;
		type = MT_UC;
	}
	return host | rwx | ((u64)type << EPT_MT_SHIFT) | (level > 1 ? EPT_LARGE : 0);
}

static bool map_region(const struct pt_alloc *a, u32 cpu, u64 base, unsigned level, unsigned merge_level)
{
	u8 kind = region_kind(cpu, base, level, merge_level);

	if (kind == REGION_HIDDEN)
		return true;
	if (kind != MTRR_MIXED && leaf_allowed(level, percpu[cpu].vmx.ept_vpid)) {
		u64 *e = ept_entry(a, root_of(cpu), l1_gpa(base), level);
		if (!e)
			return false;
		*e = leaf(cpu, base, level, kind);
		return true;
	}
	CHECK(level > 1);
	for (u64 i = 0; i < PT_ENTRIES; i++)
		if (!map_region(a, cpu, base + i * PT_LEVEL_SIZE(level - 1), level - 1, merge_level))
			return false;
	return true;
}

static bool build(u32 cpu, unsigned merge_level)
{
	struct ept01 *e = &ept01[cpu];
	struct pt_alloc a = page_pool_allocator(&e->pool);
	hpa_t root;

	page_pool_reset(&e->pool);
	if (!a.alloc(a.ctx, &root))
		return false;
	CHECK(root.v == root_of(cpu).v);
	for (u64 base = 0; base < CONFIG_MEM; base += PT_LEVEL_SIZE(3))
		if (!map_region(&a, cpu, base, 3, merge_level))
			return false;
	return true;
}

/* The finest MTRR granularity that fits the pool: 4 KiB, else 2 MiB, else
 * 1 GiB, which always fits (EPT_FIXED_PAGES; without 2 MiB EPT pages
 * nothing does, a CPU the hypervisor cannot use). Only MTRRs no real firmware
 * writes (e.g. a non-contiguous PHYSMASK, SDM Vol. 3 "Variable Range
 * MTRRs") need more than 4 KiB granularity's pages. */
u64 ept01_build(u32 cpu)
{
	xcall_lock(&ept_lock);
	ept01[cpu].pool = PAGE_POOL(pages[cpu]);
	for (unsigned merge_level = 1; !build(cpu, merge_level); merge_level++) {
		CHECK(merge_level < 3);
		pr_debug("xmhf: cpu %u: EPT01 with MTRR types merged at level %u", cpu, merge_level + 1);
	}
	spin_unlock(&ept_lock);
	return ept01_eptp(cpu);
}

static void record_change(u32 cpu, u64 page)
{
	u64 *slots = ept01[cpu].changed, none = 0;

	for (u32 i = 0; i < EPT01_CHANGES_MAX; i++)
		if (__atomic_load_n(&slots[i], __ATOMIC_SEQ_CST) == (page | SLOT_USED))
			return;
	for (u32 i = 0; i < EPT01_CHANGES_MAX; i++, none = 0)
		if (__atomic_compare_exchange_n(&slots[i], &none, page | SLOT_USED, false, __ATOMIC_SEQ_CST,
						__ATOMIC_SEQ_CST))
			return;
	__atomic_store_n(&ept01[cpu].changed_all, true, __ATOMIC_SEQ_CST);
}

static void take_changes(u32 cpu, struct ept01_changes *c)
{
	c->all = __atomic_exchange_n(&ept01[cpu].changed_all, false, __ATOMIC_SEQ_CST);
	c->n = 0;
	for (u32 i = 0; i < EPT01_CHANGES_MAX; i++) {
		u64 slot = __atomic_exchange_n(&ept01[cpu].changed[i], 0, __ATOMIC_SEQ_CST);
		if (slot)
			c->pages[c->n++] = l1_gpa(slot & ~SLOT_USED);
	}
}

void ept01_flush(u32 cpu)
{
	struct ept01_changes c;

	invept(INVEPT_SINGLE_CONTEXT, ept01_eptp(cpu));
	take_changes(cpu, &c);
	nested_ept01_changed(cpu, &c);
}

void ept01_rebuild(u32 cpu)
{
	ept01_build(cpu);
	__atomic_store_n(&ept01[cpu].changed_all, true, __ATOMIC_SEQ_CST);
	ept01_flush(cpu);
}

u32 ept01_pages(u32 cpu) { return ept01[cpu].pool.used; }

static bool same_table(u64 a, u64 b) { return ALIGN_DOWN(a, PT_LEVEL_SIZE(2)) == ALIGN_DOWN(b, PT_LEVEL_SIZE(2)); }

static bool table_has_override(const struct ept01 *e, u64 page)
{
	for (u32 i = 0; i < e->n_overrides; i++)
		if (same_table(e->overrides[i].page.v, page))
			return true;
	return false;
}

/* The page's rights and host page in the live EPT01, split down to 4 KiB
 * from the pool if needed (the new table is complete before it is linked,
 * and the leaf is one store: a CPU that runs on this EPT01 sees the old or
 * the new leaf). The APIC page keeps its trap (leaf()). */
static bool set_leaf(u32 cpu, const struct override *o)
{
	u64 page = o->page.v;
	struct pt_alloc a = page_pool_allocator(&ept01[cpu].pool);

	if (page == percpu[cpu].ept_apic_page.v)
		return true;
	u64 *e = ept_entry(&a, root_of(cpu), l1_gpa(page), 1);
	if (!e)
		return false;
	__atomic_store_n(e, (*e & ~(EPT_RWX | PT_ADDR_MASK)) | o->host | o->rwx, __ATOMIC_RELEASE);
	return true;
}

static bool is_identity(const struct override *v) { return v->rwx == EPT_RWX && v->host == v->page.v; }

/* The override store: one entry per page not identity mapped with
 * EPT_RWX, and at most EPT_OVERRIDE_TABLES 2 MiB regions holding them
 * (what a rebuild needs). */
static bool set_override(u32 cpu, const struct override *v)
{
	struct ept01 *e = &ept01[cpu];
	u64 page = v->page.v;
	struct override *o = override_of(cpu, page);

	if (o && is_identity(v)) {
		*o = e->overrides[--e->n_overrides];
		if (!table_has_override(e, page))
			e->n_tables--;
	} else if (o) {
		*o = *v;
	} else if (!is_identity(v)) {
		bool new_table = !table_has_override(e, page);
		if (e->n_overrides == EPT_OVERRIDES_MAX || (new_table && e->n_tables == EPT_OVERRIDE_TABLES))
			return false;
		e->overrides[e->n_overrides++] = *v;
		e->n_tables += new_table;
	}
	return true;
}

static struct override override_value(u32 cpu, u64 page)
{
	const struct override *o = override_of(cpu, page);
	return o ? *o : (struct override){ l1_gpa(page), EPT_RWX, page };
}

/* 29.3.3.1: write without read, or execute-only without the capability,
 * is an EPT misconfiguration. */
bool ept01_prot_valid(u32 cpu, l1_gpa_t gpa, u64 rwx)
{
	u64 page = ALIGN_DOWN(gpa.v, PAGE_SIZE);
	bool exec_only = percpu[cpu].vmx.ept_vpid & EPT_CAP_EXEC_ONLY;
	return !(rwx & ~EPT_RWX) && !((rwx & EPT_W) && !(rwx & EPT_R)) && !(rwx == EPT_X && !exec_only) &&
	       page_is_plain(page);
}

/* Under the EPT lock. A refused split leaves the old leaf (and at most a
 * split that maps the same). */
static bool set_locked(u32 cpu, const struct override *v)
{
	struct override old = override_value(cpu, v->page.v);

	if (!set_override(cpu, v))
		return false;
	if (set_leaf(cpu, v)) {
		if (v->rwx != old.rwx || v->host != old.host)
			record_change(cpu, v->page.v);
		return true;
	}
	set_override(cpu, &old);
	return false;
}

static bool set_prot_locked(u32 cpu, u64 page, u64 rwx)
{
	struct override v = override_value(cpu, page);
	v.rwx = rwx;
	return ept01_prot_valid(cpu, l1_gpa(page), rwx) && set_locked(cpu, &v);
}

bool ept01_set_prot(u32 cpu, l1_gpa_t gpa, u64 rwx)
{
	xcall_lock(&ept_lock);
	bool ok = set_prot_locked(cpu, ALIGN_DOWN(gpa.v, PAGE_SIZE), rwx);
	spin_unlock(&ept_lock);
	return ok;
}

#define KEEP (~0ull) /* set_all_locked: the old rights or host page */

/* Every CPU or none, under the EPT lock: each CPU's page gets rwx and
 * host (or keeps them: KEEP); a refusal on one CPU puts back the old leaf
 * on those already changed (their leaves exist then, so that cannot
 * fail); then the shootdown. */
static bool set_all_locked(u64 page, u64 rwx, u64 host)
{
	struct override old[MAX_CPUS];
	u32 n = cpu_count(), done;

	for (done = 0; done < n; done++) {
		old[done] = override_value(done, page);
		struct override v = { l1_gpa(page), rwx == KEEP ? old[done].rwx : rwx, host == KEEP ? old[done].host : host };
		if (!ept01_prot_valid(done, l1_gpa(page), v.rwx) || !set_locked(done, &v))
			break;
	}
	if (done < n)
		while (done--)
			CHECK(set_locked(done, &old[done]));
	else
		xcall_invept_wait(BIT(n) - 1);
	return done == n;
}

bool ept01_set_prot_all(l1_gpa_t gpa, u64 rwx)
{
	xcall_lock(&ept_lock);
	bool ok = set_all_locked(ALIGN_DOWN(gpa.v, PAGE_SIZE), rwx, KEEP);
	spin_unlock(&ept_lock);
	return ok;
}

/* CPU 0's host page is every CPU's (only this function moves pages). */
bool ept01_relocate_all(l1_gpa_t gpa, hpa_t host)
{
	u64 page = ALIGN_DOWN(gpa.v, PAGE_SIZE);
	bool ok = false;

	xcall_lock(&ept_lock);
	u64 from = override_value(0, page).host;
	if (IS_ALIGNED(host.v, PAGE_SIZE) && page_is_plain(page) && from != host.v) {
		memcpy(l1_gpa_to_ptr(l1_gpa(host.v)), l1_gpa_to_ptr(l1_gpa(from)), PAGE_SIZE);
		ok = set_all_locked(page, KEEP, host.v);
	}
	spin_unlock(&ept_lock);
	return ok;
}

/* The leaf that maps gpa in cpu's EPT01 (0: none), read under the lock. */
/* The leaf mapping gpa and its level. */
static u64 leaf_of(u32 cpu, l1_gpa_t gpa, unsigned *level)
{
	struct pt_alloc a = page_pool_allocator(&ept01[cpu].pool);

	xcall_lock(&ept_lock);
	u64 *e = ept_lookup(&a, root_of(cpu), gpa, level);
	u64 leaf = e ? *e : 0;
	spin_unlock(&ept_lock);
	return leaf;
}

u64 ept01_get_prot(u32 cpu, l1_gpa_t gpa)
{
	unsigned level;
	return leaf_of(cpu, gpa, &level) & EPT_RWX;
}

u64 ept01_page_leaf(u32 cpu, l1_gpa_t gpa)
{
	unsigned level;
	u64 leaf = leaf_of(cpu, gpa, &level);
	if (!(leaf & EPT_RWX))
		return 0;
	u64 size = PT_LEVEL_SIZE(level);
	return (leaf & PT_ADDR_MASK & ~(size - 1)) | (gpa.v & (size - 1) & PT_ADDR_MASK) |
	       (leaf & (EPT_RWX | EPT_MT_MASK | EPT_IPAT));
}

u64 ept01_mem_type(u32 cpu, l1_gpa_t gpa)
{
	unsigned level;
	u64 leaf = leaf_of(cpu, gpa, &level);
	return leaf & EPT_RWX ? (leaf & EPT_MT_MASK) >> EPT_MT_SHIFT : EPT01_NOT_MAPPED;
}

u64 *ept01_apic_entry(u32 cpu)
{
	struct pt_alloc a = page_pool_allocator(&ept01[cpu].pool);
	unsigned level;
	if (percpu[cpu].ept_apic_page.v == EPT01_NO_APIC_PAGE)
		return NULL;
	u64 *e = ept_lookup(&a, root_of(cpu), percpu[cpu].ept_apic_page, &level);
	CHECK(e && level == 1);
	return e;
}

/* The guest moved its APIC (IA32_APIC_BASE, SDM Vol. 3 12.4.5): the old page
 * is plain memory again, the new one read-only and uncached. An APIC placed
 * where the guest has no memory (the hypervisor's range, above --mem, a
 * hidden device) or on an all-ones page is not trapped: accesses there get
 * what any access to that page gets. */
void ept01_move_apic(u32 cpu, l1_gpa_t page)
{
	bool mapped = page_is_plain(page.v);

	percpu[cpu].ept_apic_page = mapped ? page : l1_gpa(EPT01_NO_APIC_PAGE);
	ept01_rebuild(cpu);
}
