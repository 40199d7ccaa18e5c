/* Host unit test of the PAL demo's logic that does not need TrustVisor: the argument generators,
 * the registration parameters, the native reference functions, and the copy of the PAL code
 * that register_pal makes (PAL_COPY_ONLY), run as an ordinary function. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "args.h"
#include "pal_funcs.h"
#include "pal_lib.h"

/* SplitMix64's published first outputs for seed 0; seed 7's are pinned so that a failure
 * report (FUNCS ITERS SEED) stays reproducible. */
static void test_rng_sequence(void **state)
{
	struct rng r;
	rng_seed(&r, 0);
	assert_int_equal(rng_next(&r), 0xe220a8397b1dcdafull);
	assert_int_equal(rng_next(&r), 0x6e789e6aa1b965f4ull);
	rng_seed(&r, 7);
	assert_int_equal(rng_next(&r), 0x63cbe1e459320dd7ull);
	assert_int_equal(rng_next(&r), 0x044c3cd7f43c661cull);
	uintptr_t sizes[5];
	rng_seed(&r, 7);
	gen_sizes_5(&r, sizes);
	const uintptr_t want[5] = { 87, 4, 46, 3, 74 };
	assert_memory_equal(sizes, want, sizeof(want));
}

static void test_rng_deterministic(void **state)
{
	struct rng a, b, c;
	uintptr_t wa[500], wb[500], wc[500];
	rng_seed(&a, 12345);
	rng_seed(&b, 12345);
	rng_seed(&c, 12346);
	gen_words(&a, wa, 500);
	gen_words(&b, wb, 500);
	gen_words(&c, wc, 500);
	assert_memory_equal(wa, wb, sizeof(wa));
	assert_memory_not_equal(wa, wc, sizeof(wa));
}

static void test_sizes_cover_range(void **state)
{
	struct rng r;
	int seen[PAL_5_PTR_MAX_WORDS + 1] = { 0 };
	rng_seed(&r, 1);
	for (int i = 0; i < 2000; i++) {
		uintptr_t s[5];
		gen_sizes_5(&r, s);
		for (int j = 0; j < 5; j++) {
			assert_true(s[j] <= PAL_5_PTR_MAX_WORDS);
			seen[s[j]] = 1;
		}
	}
	assert_true(seen[0] && seen[PAL_5_PTR_MAX_WORDS]);
}

static void test_params(void **state)
{
	struct tv_pal_params p = params_10_int();
	assert_int_equal(p.count, 10);
	for (int i = 0; i < 10; i++)
		assert_int_equal(p.params[i].type, TV_PAL_PM_INTEGER);
	p = params_10_ptr();
	for (int i = 0; i < 10; i++) {
		assert_int_equal(p.params[i].type, TV_PAL_PM_POINTER);
		assert_int_equal(p.params[i].size, 1);
	}
	const uintptr_t max[5] = { 99, 99, 99, 99, 99 }, none[5] = { 0 };
	p = params_5_ptr(max);
	assert_int_equal(p.count, 10);
	assert_int_equal(p.params[4].type, TV_PAL_PM_INTEGER);
	assert_int_equal(p.params[5].type, TV_PAL_PM_POINTER);
	assert_int_equal(p.params[5].size, 99);
	/* 0x10 + 8 + 10 * 24 + 495 * 8 = 4224 bytes */
	assert_int_equal(pal_param_pages(&p), 2);
	p = params_5_ptr(none);
	assert_int_equal(pal_param_pages(&p), 1);
}

/* The reference results, computed here as polynomials in 31 (h = sum of w_i * 31^(n-1-i)). */
static uintptr_t poly31(const uintptr_t *w, int n)
{
	uintptr_t h = 0, pow = 1;
	for (int i = n - 1; i >= 0; i--, pow *= 31)
		h += w[i] * pow;
	return h;
}

static void test_native_reference(void **state)
{
	const uintptr_t a[10] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 };
	uintptr_t r = pal_10_int(1, 2, 3, 4, 5, 6, 7, 8, 9, 10);
	assert_int_equal(r & PAL_RESULT_IN_PAL, 0); /* not in a PAL */
	assert_int_equal(r, poly31(a, 10) & ~PAL_RESULT_IN_PAL);

	uintptr_t w[10] = { 10, 20, 30, 40, 50, 60, 70, 80, 90, 100 }, w0[10];
	memcpy(w0, w, sizeof(w));
	r = pal_10_ptr(&w[0], &w[1], &w[2], &w[3], &w[4], &w[5], &w[6], &w[7], &w[8], &w[9]);
	assert_int_equal(r, poly31(w0, 10) & ~PAL_RESULT_IN_PAL);
	for (int i = 0; i < 10; i++)
		assert_int_equal(w[i], w0[i] + 1);

	/* pal_5_ptr: each buffer's words then its length, buffer i's word j becomes 3w + j + i */
	uintptr_t b0[2] = { 5, 6 }, b2[1] = { 7 }, b4[3] = { 1, 1, 1 }, empty[1] = { 42 };
	r = pal_5_ptr(2, b0, 0, empty, 1, b2, 0, empty, 3, b4);
	const uintptr_t seq[] = { 5, 6, 2, 0, 7, 1, 0, 1, 1, 1, 3 };
	assert_int_equal(r, poly31(seq, 11) & ~PAL_RESULT_IN_PAL);
	assert_int_equal(b0[0], 15);
	assert_int_equal(b0[1], 19);
	assert_int_equal(b2[0], 23);
	assert_int_equal(b4[0], 7);
	assert_int_equal(b4[2], 9);
	assert_int_equal(empty[0], 42);

	uintptr_t b = 5;
	assert_int_equal(my_pal(3, &b), 8);
	assert_int_equal(b, 6);
}

/* The copy in the CODE section computes what the original does. */
static void test_copy_runs(void **state)
{
	struct tv_pal_params params = params_10_ptr();
	struct pal *pal = register_pal(&params, pal_10_ptr, PAL_COPY_ONLY);
	assert_non_null(pal);
	assert_int_equal(pal->sections.count, PAL_SECTIONS);
	uint64_t start = (uintptr_t)pal->mem;
	for (int s = 0; s < PAL_SECTIONS; s++) {
		const struct tv_pal_section *sec = &pal->sections.sections[s];
		assert_int_equal(sec->start, start); /* contiguous, in order, page aligned */
		assert_int_equal(sec->start % 4096, 0);
		assert_true(sec->pages >= 1);
		start += sec->pages * 4096ull;
	}
	assert_int_equal(start - (uintptr_t)pal->mem, pal->size);
	assert_int_equal(pal->sections.sections[PAL_CODE_SEC].type, TV_PAL_SECTION_CODE);
	assert_int_equal(pal->sections.sections[PAL_PARAM_SEC].type, TV_PAL_SECTION_PARAM);
	assert_int_equal((char *)pal->entry - pal->mem, (const char *)pal_10_ptr - __start_pal_text);
	assert_memory_equal(&pal->params, &params, sizeof(params));

	struct rng r;
	rng_seed(&r, 3);
	__typeof__(pal_10_ptr) *copy = pal->entry;
	for (int it = 0; it < 20; it++) {
		uintptr_t n[10], p[10];
		gen_words(&r, n, 10);
		memcpy(p, n, sizeof(p));
		uintptr_t want = pal_10_ptr(&n[0], &n[1], &n[2], &n[3], &n[4], &n[5], &n[6], &n[7],
					    &n[8], &n[9]);
		uintptr_t got = copy(&p[0], &p[1], &p[2], &p[3], &p[4], &p[5], &p[6], &p[7], &p[8],
				     &p[9]);
		assert_int_equal(got, want);
		assert_memory_equal(p, n, sizeof(p));
	}
	assert_int_equal(unregister_pal(pal), 0);
}

static void test_register_rejects_foreign_function(void **state)
{
	struct tv_pal_params params = params_10_int();
	assert_null(register_pal(&params, (const void *)rng_next, PAL_COPY_ONLY));
	params.count = TV_MAX_PARAMS + 1;
	assert_null(register_pal(&params, pal_10_int, PAL_COPY_ONLY));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rng_sequence),
		cmocka_unit_test(test_rng_deterministic),
		cmocka_unit_test(test_sizes_cover_range),
		cmocka_unit_test(test_params),
		cmocka_unit_test(test_native_reference),
		cmocka_unit_test(test_copy_runs),
		cmocka_unit_test(test_register_rejects_foreign_function),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
