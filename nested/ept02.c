/* EPT02 = EPT12 x EPT01 (nested/ept02.h, docs/nested.md "EPT02").
 *
 * Per CPU: EPT02_ROOTS roots at fixed pages, each serving one EPT12, tagged
 * by the EPTP12's bits 51:12 (the EP4TA that tags cached mappings, SDM
 * Vol. 3 29.4.1), least recently used one recycled; and a pool of table
 * pages the roots share, each page owned by one root. Dropping a root frees
 * its pages and keeps its tag and its EPTP, so a VMCS02 that points at it
 * stays valid (the root is then empty: L2's next accesses fault it in
 * again). Each leaf's L1 page is kept beside it (l1_frames), so that an
 * EPT01 change of some pages drops exactly the leaves built from them.
 * Only the CPU itself touches its EPT02s. */
#include <config.h>
#include <nested/cpu.h>
#include <nested/ept02.h>
#include <xmhf/check.h>
#include <xmhf/evlog.h>
#include <xmhf/log.h>
#include <xmhf/memprot.h>
#include <xmhf/nested.h>
#include <xmhf/paging.h>
#include <xmhf/string.h>
#include <xmhf/vmx.h>

/* 4 roots + 124 table pages = 128 pages, 512 KiB per CPU (4 MiB for 8) */
#define EPT02_ROOTS 4
#define EPT02_POOL_PAGES 124
/* After a full drop, one 4 KiB mapping needs a PDPT, a PD and a PT. */
_Static_assert(EPT02_POOL_PAGES >= PT_LEVELS - 1, "EPT02 pool too small for one mapping");

#define EP4TA(eptp) ((eptp) & PT_ADDR_MASK)
#define NO_OWNER 0 /* owner[] is root index + 1 */

/* EPT entries (SDM Vol. 3 29.3.2, Tables 29-1 .. 29-6) */
#define EPT_MT_RESERVED(mt) ((mt) == 2 || (mt) == 3 || (mt) == 7) /* in a leaf: 29.3.3.1 */
#define EPT_TABLE_RESERVED 0xf8ull /* bits 7:3 of an entry that references a table */

/* EPT-violation exit qualification (SDM Vol. 3 28.2.1, Table 28-7) */
#define QUAL_ACCESS EPT_RWX /* bits 2:0: data read, data write, instruction fetch */
#define QUAL_RIGHTS_SHIFT 3 /* bits 5:3: the AND of bits 2:0 of the walk's entries */
/* bit 7 guest linear address valid, 8 translation (not a paging-structure
 * access), 9-11 the linear address' U/S, R/W, XD (advanced information),
 * 12 NMI unblocking due to IRET: as the CPU reported them for EPT02 */
#define QUAL_FROM_CPU (BIT(7) | BIT(8) | BIT(9) | BIT(10) | BIT(11) | BIT(12))

struct ept02_root {
	bool tagged;    /* serves the EPT12 at ep4ta */
	bool populated; /* has entries: a drop must free and flush */
	u64 ep4ta;
	u64 last_use;   /* LRU stamp (0: never used) */
};

struct ept02_cpu {
	struct ept02_root roots[EPT02_ROOTS];
	u8 owner[EPT02_POOL_PAGES];     /* NO_OWNER or root + 1 */
	u64 leaves[EPT02_POOL_PAGES][PT_ENTRIES / 64]; /* bit j: entry j of the page is a leaf */
	u32 next;                   /* where the search for a free page starts */
	u64 clock;
};

static u64 root_pages[CONFIG_MAX_CPUS][EPT02_ROOTS][PT_ENTRIES] __attribute__((section(".bss.pages"), aligned(4096)));
static u64 pool_pages[CONFIG_MAX_CPUS][EPT02_POOL_PAGES][PT_ENTRIES] __attribute__((section(".bss.pages"), aligned(4096)));
static struct ept02_cpu ept02_cpus[CONFIG_MAX_CPUS];
/* The L1 page frame of each leaf in pool_pages (where leaves[] says it is
 * one); u32 holds the frames of 16 TiB. */
_Static_assert(CONFIG_MEM / PAGE_SIZE <= 0xffffffffull, "L1 frames do not fit in u32");
static u32 l1_frames[CONFIG_MAX_CPUS][EPT02_POOL_PAGES][PT_ENTRIES];

/* The hypervisor's memory is identity mapped: a page's address is its HPA. */
static hpa_t root_hpa(u32 cpu, u32 r) { return hpa((u64)root_pages[cpu][r]); }
static u64 eptp02(u32 cpu, u32 r) { return root_hpa(cpu, r).v | EPTP_WB_4LEVEL; }

struct page_alloc {
	struct ept02_cpu *e;
	u32 cpu, root;
};

static u64 *page_alloc(void *ctx, hpa_t *pa)
{
	struct page_alloc *c = ctx;
	struct ept02_cpu *e = c->e;

	for (u32 n = 0; n < EPT02_POOL_PAGES; n++, e->next = (e->next + 1) % EPT02_POOL_PAGES) {
		if (e->owner[e->next] != NO_OWNER)
			continue;
		u64 *page = pool_pages[c->cpu][e->next];
		e->owner[e->next] = (u8)(c->root + 1);
		memset(e->leaves[e->next], 0, sizeof(e->leaves[e->next]));
		memset(page, 0, PAGE_SIZE);
		*pa = hpa((u64)page);
		return page;
	}
	return NULL;
}

static u64 *page_virt(void *ctx, hpa_t pa)
{
	(void)ctx;
	return (u64 *)pa.v;
}

/* Root r is empty again, its pages free, and the CPU caches nothing of it
 * (29.4.3.1: INVEPT single-context). */
static void drop(u32 cpu, u32 r)
{
	struct ept02_cpu *e = &ept02_cpus[cpu];

	if (!e->roots[r].populated)
		return;
	for (u32 i = 0; i < EPT02_POOL_PAGES; i++)
		if (e->owner[i] == r + 1)
			e->owner[i] = NO_OWNER;
	memset(root_pages[cpu][r], 0, PAGE_SIZE);
	e->roots[r].populated = false;
	nested_invept(eptp02(cpu, r));
}

static void drop_all(u32 cpu)
{
	for (u32 r = 0; r < EPT02_ROOTS; r++)
		drop(cpu, r);
	ept02_cpus[cpu].next = 0;
}

/* The root serving ep4ta: its own, else the least recently used one,
 * dropped and retagged. */
static u32 root_for(u32 cpu, u64 ep4ta)
{
	struct ept02_cpu *e = &ept02_cpus[cpu];
	u32 r, lru = 0;

	for (r = 0; r < EPT02_ROOTS; r++) {
		if (e->roots[r].tagged && e->roots[r].ep4ta == ep4ta)
			break;
		if (e->roots[r].last_use < e->roots[lru].last_use)
			lru = r;
	}
	if (r == EPT02_ROOTS) {
		r = lru;
		drop(cpu, r);
		e->roots[r].tagged = true;
		e->roots[r].ep4ta = ep4ta;
	}
	e->roots[r].last_use = ++e->clock;
	return r;
}

u64 ept02_eptp(u32 cpu, u64 eptp12) { return eptp02(cpu, root_for(cpu, EP4TA(eptp12))); }

/* The 4 KiB leaf for L2's page in root r, built from L1's page 'from';
 * false if the pool is empty. */
static bool map(u32 cpu, u32 r, l2_gpa_t gpa, u64 leaf, l1_gpa_t from)
{
	struct ept02_cpu *c = &ept02_cpus[cpu];
	struct page_alloc ctx = { c, cpu, r };
	struct pt_alloc a = { page_alloc, page_virt, &ctx };

	c->roots[r].populated = true;
	/* ept_entry walks any EPT: EPT02 is indexed by L2's addresses; a page
	 * table is always one of the pool's */
	u64 *e = ept_entry(&a, root_hpa(cpu, r), l1_gpa(ALIGN_DOWN(gpa.v, PAGE_SIZE)), 1);
	if (!e)
		return false;
	u64 index = (u64)(e - pool_pages[cpu][0]), i = index / PT_ENTRIES, j = index % PT_ENTRIES;
	c->leaves[i][j / 64] |= BIT(j % 64);
	l1_frames[cpu][i][j] = (u32)(from.v / PAGE_SIZE);
	*e = leaf;
	return true;
}

enum walk_end { WALK_LEAF, WALK_NOT_PRESENT, WALK_MISCONFIG };

struct ept12_walk {
	u64 rights; /* the AND of bits 2:0 of the entries read */
	u64 leaf;
	unsigned level;
};

/* 29.3.3.1: an EPT misconfiguration in a present EPT12 entry at 'level'
 * for L1's EPT capabilities: write without read, execute-only without the
 * capability, a reserved bit (above MAXPHYADDR, bits 7:3 of an entry that
 * references a table, the large-page bit where the size is not offered,
 * the low address bits of a large page), a reserved memory type. */
static bool misconfigured(u64 cap, u64 addr_reserved, u64 e, unsigned level)
{
	u64 rwx = e & EPT_RWX;
	bool leaf = level == 1 || (level <= 3 && (e & EPT_LARGE));
	bool large_offered = (level == 2 && (cap & EPT_CAP_2M)) || (level == 3 && (cap & EPT_CAP_1G));

	if ((rwx & EPT_W) && !(rwx & EPT_R))
		return true;
	if (rwx == EPT_X && !(cap & EPT_CAP_EXEC_ONLY))
		return true;
	if (e & addr_reserved)
		return true;
	if (!leaf)
		return (e & EPT_TABLE_RESERVED) != 0;
	if (level > 1 && (!large_offered || (e & PT_ADDR_MASK & (PT_LEVEL_SIZE(level) - 1))))
		return true;
	return EPT_MT_RESERVED((e & EPT_MT_MASK) >> EPT_MT_SHIFT);
}

/* Walk EPT12 (29.3.2, 4 levels: the caller validated EPTP12) for gpa in
 * L1's memory. An EPT12 table that is not guest RAM (the hypervisor's
 * memory, MMIO, above --mem) is never read: that walk is an EPT
 * misconfiguration for L1 (docs/nested.md "EPT02"). */
static enum walk_end walk_ept12(u64 eptp12, l2_gpa_t gpa, struct ept12_walk *w)
{
	u64 cap = l1_msr(&nested_cpu()->caps, MSR_IA32_VMX_EPT_VPID_CAP), table = eptp12 & PT_ADDR_MASK;
	u64 addr_reserved = PT_ADDR_MASK & ~(BIT(l1_maxphyaddr()) - 1);

	w->rights = EPT_RWX;
	for (unsigned level = PT_LEVELS;; level--) {
		u64 e;
		if (!guest_phys_read(l1_gpa(table + PT_INDEX(gpa.v, level) * sizeof(e)), &e, sizeof(e)))
			return WALK_MISCONFIG;
		w->rights &= e & EPT_RWX;
		if (!(e & EPT_RWX))
			return WALK_NOT_PRESENT;
		if (misconfigured(cap, addr_reserved, e, level))
			return WALK_MISCONFIG;
		if (level == 1 || (e & EPT_LARGE)) {
			w->leaf = e;
			w->level = level;
			return WALK_LEAF;
		}
		table = e & PT_ADDR_MASK;
	}
}

/* Where the leaf maps gpa (a large leaf has no address bits below its size: misconfigured). */
static l1_gpa_t leaf_gpa(const struct ept12_walk *w, l2_gpa_t gpa)
{
	return l1_gpa((w->leaf & PT_ADDR_MASK) | (gpa.v & (PT_LEVEL_SIZE(w->level) - 1)));
}

bool ept12_translate(u64 eptp12, l2_gpa_t gpa, u64 access, l1_gpa_t *out)
{
	struct ept12_walk w;
	if (walk_ept12(eptp12, gpa, &w) != WALK_LEAF || (access & ~w.rights))
		return false;
	*out = leaf_gpa(&w, gpa);
	return true;
}

enum ept02_result ept02_fault(u32 cpu, u64 eptp12, l2_gpa_t gpa, u64 exit_qualification,
			      struct ept02_fault_info *out)
{
	struct ept12_walk w;
	enum walk_end end = walk_ept12(eptp12, gpa, &w);
	u64 access = exit_qualification & QUAL_ACCESS;

	if (end == WALK_MISCONFIG)
		return EPT02_REFLECT_MISCONFIG;
	if (end == WALK_NOT_PRESENT || (access & ~w.rights)) {
		out->exit_qualification = access | (w.rights << QUAL_RIGHTS_SHIFT) | (exit_qualification & QUAL_FROM_CPU);
		return EPT02_REFLECT_VIOLATION;
	}
	out->l1_gpa = leaf_gpa(&w, gpa);
	/* EPT02 is a subset of EPT01: the rights both give, at the host page
	 * EPT01 gives (the L1 GPA's for guest RAM, an all-ones page for a hidden
	 * device), with EPT12's memory type unless EPT01 forces its own (IPAT).
	 * memprot_page may serve a shootdown that drops this CPU's EPT02s:
	 * nothing of them is held across it. */
	u64 ept01_leaf = memprot_page(cpu, out->l1_gpa);
	u64 rights = w.rights & ept01_leaf & EPT_RWX;
	if (!rights || (access & ~rights))
		return EPT02_L0_DENIED;
	u64 type = (ept01_leaf & EPT_IPAT ? ept01_leaf : w.leaf) & (EPT_MT_MASK | EPT_IPAT);
	u64 leaf = (ept01_leaf & PT_ADDR_MASK) | rights | type;
	u32 r = root_for(cpu, EP4TA(eptp12));
	if (!map(cpu, r, gpa, leaf, out->l1_gpa)) {
		pr_debug("nested: cpu %u: EPT02 pool exhausted, every EPT02 dropped", cpu);
		drop_all(cpu);
		CHECK(map(cpu, r, gpa, leaf, out->l1_gpa)); /* the pool is all free: see the static assert */
	}
	evlog_count(ept02_misses);
	return EPT02_MAPPED;
}

void ept02_invalidate(u32 cpu, u64 eptp12)
{
	struct ept02_cpu *e = &ept02_cpus[cpu];
	for (u32 r = 0; r < EPT02_ROOTS; r++)
		if (e->roots[r].tagged && e->roots[r].ep4ta == EP4TA(eptp12))
			drop(cpu, r);
}

void ept02_invalidate_all(u32 cpu) { drop_all(cpu); }

static bool changed(const struct ept01_changes *c, u32 frame)
{
	for (u32 i = 0; i < c->n; i++)
		if (c->pages[i].v / PAGE_SIZE == frame)
			return true;
	return false;
}

/* The leaves built from the changed pages are not present any more, and
 * the CPU caches nothing of the roots that had them (29.4.3.1: INVEPT
 * single-context); the tables stay. */
static void drop_leaves(u32 cpu, const struct ept01_changes *c)
{
	struct ept02_cpu *e = &ept02_cpus[cpu];
	bool stale[EPT02_ROOTS] = { false };
	u64 dropped = 0;

	for (u32 i = 0; i < EPT02_POOL_PAGES; i++) {
		for (u32 w = 0; e->owner[i] != NO_OWNER && w < PT_ENTRIES / 64; w++) {
			for (u64 bits = e->leaves[i][w]; bits; bits &= bits - 1) {
				u32 j = w * 64 + (u32)__builtin_ctzll(bits);
				if (!changed(c, l1_frames[cpu][i][j]))
					continue;
				pool_pages[cpu][i][j] = 0;
				e->leaves[i][w] &= ~BIT(j % 64);
				stale[e->owner[i] - 1] = true;
				dropped++;
			}
		}
	}
	for (u32 r = 0; r < EPT02_ROOTS; r++)
		if (stale[r])
			nested_invept(eptp02(cpu, r));
	evlog_add(EVLOG_ept02_invalidated, dropped);
}

void ept02_invalidate_changed(u32 cpu, const struct ept01_changes *changes)
{
	if (changes->all || (CONFIG_EPT02_FULL_DROP && changes->n)) {
		drop_all(cpu);
		evlog_count(ept02_full_drops);
	} else if (changes->n) {
		drop_leaves(cpu, changes);
	}
}
