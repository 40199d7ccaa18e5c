/* Host page tables from a static pool: 1 GiB pages where the CPU has them,
 * else 2 MiB pages; the pool covers the worst case (2 MiB pages). */
#include <config.h>
#include <runtime/hostpt.h>
#include <runtime/panic.h>
#include <xmhf/cpu.h>
#include <xmhf/page_pool.h>
#include <xmhf/vmx.h>

#define HPT_POOL_PAGES (2 + CONFIG_MEM / PT_LEVEL_SIZE(4) + CONFIG_MEM / PT_LEVEL_SIZE(3))

static u64 pages[HPT_POOL_PAGES][PT_ENTRIES] __attribute__((section(".bss.pages"), aligned(4096)));
static struct page_pool pool = PAGE_POOL(pages);
static hpa_t root;

void hostpt_init(const struct pt_range *uncached, u32 n_uncached)
{
	bool has_1g = cpuid(0x80000001, 0).edx & CPUID_EXT1_EDX_PAGE1GB;
	struct pt_alloc a = page_pool_allocator(&pool);

	if (!a.alloc(a.ctx, &root) || !hpt_identity_map(&a, root, CONFIG_MEM, has_1g, uncached, n_uncached))
		panic("xmhf: host page-table pool (%u pages) exhausted", (u32)HPT_POOL_PAGES);
	write_cr3(root.v);
}

hpa_t hostpt_cr3(void) { return root; }
