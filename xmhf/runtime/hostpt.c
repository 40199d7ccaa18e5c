/* Host page tables from a static pool: 1 GiB pages where the CPU has them,
 * else 2 MiB pages; the pool covers the worst case (2 MiB pages). */
#include <config.h>
#include <runtime/hostpt.h>
#include <runtime/panic.h>
#include <xmhf/cpu.h>
#include <xmhf/vmx.h>

#define HPT_POOL_PAGES (2 + CONFIG_MEM / PT_LEVEL_SIZE(4) + CONFIG_MEM / PT_LEVEL_SIZE(3))

static u64 pool[HPT_POOL_PAGES][PT_ENTRIES] __attribute__((section(".bss.pages"), aligned(4096)));
static u32 pool_used;
static hpa_t root;

static u64 *pool_alloc(void *ctx, hpa_t *pa)
{
	if (pool_used == HPT_POOL_PAGES)
		return NULL;
	u64 *page = pool[pool_used++];
	*pa = hpa((u64)page);
	return page; /* .bss is zeroed by the loader */
}

static u64 *pool_to_virt(void *ctx, hpa_t pa) { return (u64 *)pa.v; }

static const struct pt_alloc allocator = { pool_alloc, pool_to_virt, NULL };

void hostpt_init(const struct pt_range *uncached, u32 n_uncached)
{
	bool has_1g = cpuid(0x80000001, 0).edx & CPUID_EXT1_EDX_PAGE1GB;

	if (!pool_alloc(NULL, &root) ||
	    !hpt_identity_map(&allocator, root, CONFIG_MEM, has_1g, uncached, n_uncached))
		panic("xmhf: host page-table pool (%u pages) exhausted", (u32)HPT_POOL_PAGES);
	write_cr3(root.v);
}

u64 hostpt_cr3(void) { return root.v; }
