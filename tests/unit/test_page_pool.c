/* xmhf/lib/page_pool.c: page-table pages handed out in order, zeroed,
 * their address as their physical address; NULL when empty; all free
 * again after a reset. */
#include "unit.h"
#include <xmhf/page_pool.h>

static u64 pages[3][PT_ENTRIES] __attribute__((aligned(4096)));

static void test_alloc_reset(void **state)
{
	(void)state;
	struct page_pool pool = PAGE_POOL(pages);
	struct pt_alloc a = page_pool_allocator(&pool);
	hpa_t pa;

	assert_int_equal(pool.n, 3);
	memset(pages, 0xa5, sizeof(pages));
	for (u32 i = 0; i < 3; i++) {
		u64 *p = a.alloc(a.ctx, &pa);
		assert_ptr_equal(p, pages[i]);
		assert_int_equal(pa.v, (u64)pages[i]);
		assert_ptr_equal(a.to_virt(a.ctx, pa), p);
		for (u32 j = 0; j < PT_ENTRIES; j++)
			assert_int_equal(p[j], 0);
		p[7] = 0x1234;
		assert_int_equal(pool.used, i + 1);
	}
	assert_null(a.alloc(a.ctx, &pa));
	assert_int_equal(pool.used, 3);
	page_pool_reset(&pool);
	assert_int_equal(pool.used, 0);
	assert_ptr_equal(a.alloc(a.ctx, &pa), pages[0]);
	assert_int_equal(pages[0][7], 0);
	assert_int_equal(pages[1][7], 0x1234); /* not handed out again yet */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alloc_reset),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
