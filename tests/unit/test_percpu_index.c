/* xmhf/lib/percpu_index.c */
#include "unit.h"
#include <xmhf/percpu_index.h>

static struct cpu_index_table t;

static void test_dense_indexes_in_order_of_addition(void **state)
{
	(void)state;
	cpu_index_init(&t, 8);
	assert_int_equal(cpu_index_add(&t, 0), 0);    /* boot CPU */
	assert_int_equal(cpu_index_add(&t, 6), 1);
	assert_int_equal(cpu_index_add(&t, 300), 2);  /* x2APIC id */
	assert_int_equal(cpu_index_add(&t, 2), 3);
	assert_int_equal(t.n, 4);
	assert_int_equal(cpu_index_of(&t, 0), 0);
	assert_int_equal(cpu_index_of(&t, 300), 2);
	assert_int_equal(cpu_index_of(&t, 2), 3);
	assert_int_equal(t.apic_id[1], 6);
}

static void test_unknown_id(void **state)
{
	(void)state;
	cpu_index_init(&t, 4);
	assert_int_equal(cpu_index_of(&t, 0), CPU_INDEX_NONE);
	cpu_index_add(&t, 1);
	assert_int_equal(cpu_index_of(&t, 0), CPU_INDEX_NONE);
	assert_int_equal(cpu_index_of(&t, 0xffffffff), CPU_INDEX_NONE);
}

static void test_adding_twice_returns_existing_index(void **state)
{
	(void)state;
	cpu_index_init(&t, 4);
	cpu_index_add(&t, 5);
	cpu_index_add(&t, 7);
	assert_int_equal(cpu_index_add(&t, 5), 0);
	assert_int_equal(cpu_index_add(&t, 7), 1);
	assert_int_equal(t.n, 2);
}

static void test_full_table(void **state)
{
	(void)state;
	cpu_index_init(&t, 2);
	assert_int_equal(cpu_index_add(&t, 10), 0);
	assert_int_equal(cpu_index_add(&t, 11), 1);
	assert_int_equal(cpu_index_add(&t, 12), CPU_INDEX_NONE);
	assert_int_equal(cpu_index_of(&t, 12), CPU_INDEX_NONE);
	assert_int_equal(cpu_index_add(&t, 11), 1);  /* existing ids still found */
	assert_int_equal(t.n, 2);
}

static void test_max_clamped_to_capacity(void **state)
{
	(void)state;
	cpu_index_init(&t, CPU_INDEX_CAPACITY + 100);
	assert_int_equal(t.max, CPU_INDEX_CAPACITY);
	for (u32 i = 0; i < CPU_INDEX_CAPACITY; i++)
		assert_int_equal(cpu_index_add(&t, 1000 + i), i);
	assert_int_equal(cpu_index_add(&t, 5), CPU_INDEX_NONE);
	assert_int_equal(cpu_index_of(&t, 1000 + CPU_INDEX_CAPACITY - 1),
			 CPU_INDEX_CAPACITY - 1);
}

static void test_init_resets(void **state)
{
	(void)state;
	cpu_index_init(&t, 4);
	cpu_index_add(&t, 1);
	cpu_index_init(&t, 4);
	assert_int_equal(t.n, 0);
	assert_int_equal(cpu_index_of(&t, 1), CPU_INDEX_NONE);
	cpu_index_init(&t, 0);
	assert_int_equal(cpu_index_add(&t, 1), CPU_INDEX_NONE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dense_indexes_in_order_of_addition),
		cmocka_unit_test(test_unknown_id),
		cmocka_unit_test(test_adding_twice_returns_existing_index),
		cmocka_unit_test(test_full_table),
		cmocka_unit_test(test_max_clamped_to_capacity),
		cmocka_unit_test(test_init_resets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
