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
	const uintptr_t a[10] = { a0, a1, a2, a3, a4, a5, a6, a7, a8, a9 };
	uintptr_t h = 0;
	for (int i = 0; i < 10; i++)
		h = mix(h, a[i]);
	return result(h);
}

PAL_CODE uintptr_t pal_10_ptr(uintptr_t *p0, uintptr_t *p1, uintptr_t *p2, uintptr_t *p3,
			      uintptr_t *p4, uintptr_t *p5, uintptr_t *p6, uintptr_t *p7,
			      uintptr_t *p8, uintptr_t *p9)
{
	uintptr_t *const p[10] = { p0, p1, p2, p3, p4, p5, p6, p7, p8, p9 };
	uintptr_t h = 0;
	for (int i = 0; i < 10; i++)
		h = mix(h, (*p[i])++);
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

PAL_CODE uintptr_t pal_escape(uintptr_t how, uintptr_t arg)
{
	if (how == PAL_ESCAPE_READ)
		return *(volatile uintptr_t *)arg;
	if (how == PAL_ESCAPE_SYSCALL)
		__asm__ volatile("syscall" : : : "cc", "memory"); /* never completes: clobbers unneeded */
	if (how == PAL_ESCAPE_INT80)
		__asm__ volatile("int $0x80" : : "a"(1), "b"(7) : "memory");
	if (how == PAL_ESCAPE_VMCALL)
		__asm__ volatile("vmcall" : : "a"(TV_HC_TEST + TV_VMCALL_OFFSET), "c"(0xbad) : "memory");
	if (how == PAL_ESCAPE_UD2)
		__asm__ volatile("ud2");
	while (how == PAL_ESCAPE_LOOP)
		__asm__ volatile("" : : : "memory");
	while (how == PAL_ESCAPE_CPUID_LOOP)
		tv_cpuid();
	return arg + 1;
}
