/* The PAL functions (see pal_funcs.h). Built with PAL_CFLAGS (Makefile): no stack protector, no
 * jump tables, no libc calls, general registers only (CR0.EM is set inside a PAL, so x87 and
 * SSE instructions would fault). */
#include "pal_funcs.h"
#include "tv_abi.h"

#define PAL_CODE __attribute__((section("pal_text")))
#define PAL_HELPER static inline __attribute__((always_inline))

PAL_HELPER uintptr_t in_pal_bit(void)
{
	struct tv_cpuid r = tv_cpuid();
	return tv_present(r) && r.ebx != TV_CPUID_NO_PAL ? PAL_RESULT_IN_PAL : 0;
}

PAL_HELPER uintptr_t result(uintptr_t hash)
{
	return (hash & ~PAL_RESULT_IN_PAL) | in_pal_bit();
}

PAL_HELPER uintptr_t mix(uintptr_t hash, uintptr_t word)
{
	return hash * 31 + word;
}

PAL_CODE uintptr_t my_pal(uintptr_t a, uintptr_t *b)
{
	uintptr_t r = a + *b;
	*b += 1;
	return result(r);
}

PAL_CODE uintptr_t pal_10_int(uintptr_t a0, uintptr_t a1, uintptr_t a2, uintptr_t a3,
			      uintptr_t a4, uintptr_t a5, uintptr_t a6, uintptr_t a7,
			      uintptr_t a8, uintptr_t a9)
{
	uintptr_t h = a0;
	h = mix(h, a1);
	h = mix(h, a2);
	h = mix(h, a3);
	h = mix(h, a4);
	h = mix(h, a5);
	h = mix(h, a6);
	h = mix(h, a7);
	h = mix(h, a8);
	h = mix(h, a9);
	return result(h);
}

PAL_HELPER uintptr_t read_inc(uintptr_t h, uintptr_t *p)
{
	h = mix(h, *p);
	*p += 1;
	return h;
}

PAL_CODE uintptr_t pal_10_ptr(uintptr_t *p0, uintptr_t *p1, uintptr_t *p2, uintptr_t *p3,
			      uintptr_t *p4, uintptr_t *p5, uintptr_t *p6, uintptr_t *p7,
			      uintptr_t *p8, uintptr_t *p9)
{
	uintptr_t h = 0;
	h = read_inc(h, p0);
	h = read_inc(h, p1);
	h = read_inc(h, p2);
	h = read_inc(h, p3);
	h = read_inc(h, p4);
	h = read_inc(h, p5);
	h = read_inc(h, p6);
	h = read_inc(h, p7);
	h = read_inc(h, p8);
	h = read_inc(h, p9);
	return result(h);
}

/* Hashes buffer `which` (n words) and rewrites each word from its value and position. */
PAL_HELPER uintptr_t hash_rewrite(uintptr_t h, uintptr_t which, uintptr_t n, uintptr_t *p)
{
	for (uintptr_t i = 0; i < n; i++) {
		h = mix(h, p[i]);
		p[i] = p[i] * 3 + i + which;
	}
	return mix(h, n);
}

PAL_CODE uintptr_t pal_5_ptr(uintptr_t n0, uintptr_t *p0, uintptr_t n1, uintptr_t *p1,
			     uintptr_t n2, uintptr_t *p2, uintptr_t n3, uintptr_t *p3,
			     uintptr_t n4, uintptr_t *p4)
{
	uintptr_t h = 0;
	h = hash_rewrite(h, 0, n0, p0);
	h = hash_rewrite(h, 1, n1, p1);
	h = hash_rewrite(h, 2, n2, p2);
	h = hash_rewrite(h, 3, n3, p3);
	h = hash_rewrite(h, 4, n4, p4);
	return result(h);
}
