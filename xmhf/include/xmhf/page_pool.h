/* A static pool of 4 KiB page-table pages handed out in order and
 * returned all at once (host page tables, each CPU's EPT01). The pages are
 * identity-mapped: a page's address is its host-physical address. */
#ifndef XMHF_PAGE_POOL_H
#define XMHF_PAGE_POOL_H

#include <xmhf/paging.h>

struct page_pool {
	u64 (*pages)[PT_ENTRIES];
	u32 n;    /* pages in the pool */
	u32 used; /* pages handed out since the last reset */
};

#define PAGE_POOL(array) ((struct page_pool){ (array), ARRAY_SIZE(array), 0 })

/* A pt_alloc that takes zeroed pages from pool (NULL when it is empty). */
struct pt_alloc page_pool_allocator(struct page_pool *pool);
/* Every page is free again (their contents are dead). */
static inline void page_pool_reset(struct page_pool *pool) { pool->used = 0; }

#endif
