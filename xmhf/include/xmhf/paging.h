/* x86-64 4-level paging and EPT entry layouts (SDM Vol. 3 4.5, 29.3.2),
 * declared once. Levels count from the leaf: 1 = 4 KiB PTE, 2 = 2 MiB PDE,
 * 3 = 1 GiB PDPTE, 4 = PML4E. */
#ifndef XMHF_PAGING_H
#define XMHF_PAGING_H

#include <xmhf/types.h>

#define PAGE_SHIFT 12
#define PAGE_SIZE 4096ull
#define PT_ENTRIES 512
#define PT_LEVELS 4
#define PT_LEVEL_SHIFT(level) (PAGE_SHIFT + 9 * ((level) - 1))
#define PT_LEVEL_SIZE(level) (1ull << PT_LEVEL_SHIFT(level))
#define PT_INDEX(addr, level) (((addr) >> PT_LEVEL_SHIFT(level)) & (PT_ENTRIES - 1))
#define PT_ADDR_MASK 0x000ffffffffff000ull
/* CR3's table address: 32-bit paging bits 31:12 (4.3), PAE paging's PDPT bits 31:5 (4.4.1) */
#define CR3_ADDR_32BIT 0xfffff000ull
#define CR3_ADDR_PAE 0xffffffe0ull
/* 48-bit linear addresses (4-level paging): the two canonical halves (3.3.7.1) */
#define LA48_LOWER_HALF_END BIT(47)
#define LA48_UPPER_HALF_START 0xffff800000000000ull

/* Host paging entries (SDM Vol. 3 Table 4-19 .. 4-20). */
#define PTE_P BIT(0)
#define PTE_RW BIT(1)
#define PTE_US BIT(2)
#define PTE_PWT BIT(3)
#define PTE_PCD BIT(4)
#define PTE_A BIT(5)
#define PTE_D BIT(6)
#define PTE_PS BIT(7)   /* large page at level 2 and 3 */
#define PTE_G BIT(8)
#define PTE_PAT_4K BIT(7)     /* PAT bit of a 4 KiB PTE */
#define PTE_PAT_LARGE BIT(12) /* PAT bit of a 2 MiB / 1 GiB entry */
#define PTE_NX BIT(63)
/* PAE paging PDPTE (Table 4-8): reserved bits 2:1 and 8:5, and those above MAXPHYADDR */
#define PDPTE_RESERVED 0x1e6ull

/* EPT entries (SDM Vol. 3 Table 29-1 .. 29-6). */
#define EPT_R BIT(0)
#define EPT_W BIT(1)
#define EPT_X BIT(2)
#define EPT_RWX (EPT_R | EPT_W | EPT_X)
#define EPT_MT_SHIFT 3   /* leaf memory type, bits 5:3 */
#define EPT_MT_MASK (7ull << EPT_MT_SHIFT)
#define EPT_IPAT BIT(6)
#define EPT_LARGE BIT(7) /* large page at level 2 and 3 */
#define EPT_A BIT(8)
#define EPT_D BIT(9)

/* Memory types (SDM Vol. 3 Table 12-8). */
#define MT_UC 0
#define MT_WC 1
#define MT_WT 4
#define MT_WP 5
#define MT_WB 6
/* EPTP (SDM Vol. 3 "Extended-Page-Table Pointer"): WB paging structures,
 * a 4-level walk (length - 1 in bits 5:3). */
#define EPTP_WB_4LEVEL (MT_WB | (3ull << 3))

/* Page-table pages come from the caller. alloc returns a zeroed 4 KiB page
 * and its physical address, or NULL when out of pages; to_virt maps a
 * physical address of a table page back to a pointer. */
struct pt_alloc {
	u64 *(*alloc)(void *ctx, hpa_t *pa);
	u64 *(*to_virt)(void *ctx, hpa_t pa);
	void *ctx;
};

/* The entry that maps the address at 'level' under the table 'root',
 * creating missing intermediate tables. A present large-page entry above
 * 'level' is split into 512 entries of the next level with the same
 * attributes (memory type, permissions) first. NULL if out of pages.
 * Host tables map the hypervisor's identity map, whose virtual addresses
 * are host-physical ones; EPT maps the rich guest's physical addresses. */
u64 *hpt_entry(const struct pt_alloc *a, hpa_t root, hpa_t addr, unsigned level);
u64 *ept_entry(const struct pt_alloc *a, hpa_t root, l1_gpa_t gpa, unsigned level);
/* The leaf entry mapping the address (any level), or NULL if not mapped;
 * its level is stored in *level. Creates nothing. */
u64 *hpt_lookup(const struct pt_alloc *a, hpa_t root, hpa_t addr, unsigned *level);
u64 *ept_lookup(const struct pt_alloc *a, hpa_t root, l1_gpa_t gpa, unsigned *level);

/* Identity-map [0, top) with host paging into an empty root: the largest
 * pages that fit (1 GiB if allow_1g, else 2 MiB; 4 KiB never needed since
 * top must be 2 MiB aligned), P|RW, and PCD|PWT (uncached) on every page
 * that overlaps one of the uncached ranges. A 1 GiB region that overlaps an
 * uncached range is mapped with 2 MiB pages so that only those are
 * uncached. Returns false when out of pages. */
struct pt_range {
	u64 base;
	u64 size;
};
bool hpt_identity_map(const struct pt_alloc *a, hpa_t root, u64 top, bool allow_1g,
		      const struct pt_range *uncached, u32 n_uncached);

#endif
