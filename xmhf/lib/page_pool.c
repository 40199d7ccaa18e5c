/* Page-table pages from a static pool: see page_pool.h. */
#include <xmhf/page_pool.h>
#include <xmhf/string.h>

static u64 *pool_alloc(void *ctx, hpa_t *pa)
{
	struct page_pool *pool = ctx;

	if (pool->used == pool->n)
		return NULL;
	u64 *page = pool->pages[pool->used++];
	memset(page, 0, PAGE_SIZE);
	*pa = hpa((u64)page);
	return page;
}

static u64 *pool_to_virt(void *ctx, hpa_t pa)
{
	(void)ctx;
	return (u64 *)pa.v;
}

struct pt_alloc page_pool_allocator(struct page_pool *pool)
{
	return (struct pt_alloc){ pool_alloc, pool_to_virt, pool };
}
