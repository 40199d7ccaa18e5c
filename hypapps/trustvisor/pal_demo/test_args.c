/* test_args [--native] FUNCS ITERS SEED: calls PALs with random arguments and checks each result
 * (return value and every pointed-to word) against the same function run natively.
 * FUNCS: bit 1 pal_10_int, bit 2 pal_10_ptr, bit 4 pal_5_ptr (re-registered every iteration).
 * --native: no TrustVisor; the copy in the code page runs as an ordinary function.
 * Prints "." per iteration, then "Test pass" (status 0) or "Test failed" (status 1). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "args.h"
#include "pal_funcs.h"
#include "pal_lib.h"
#include "programs.h"

static enum pal_mode mode = PAL_HYPERCALL;
static unsigned failures;

/* The bit a PAL's result has on top of the native one. */
static uintptr_t in_pal_bit(void)
{
	return mode == PAL_HYPERCALL ? PAL_RESULT_IN_PAL : 0;
}

static void fail(const char *fn, unsigned iter, const char *what, uintptr_t got, uintptr_t want)
{
	printf("\nError: %s iteration %u: %s is %#lx, expected %#lx\n", fn, iter, what,
	       (unsigned long)got, (unsigned long)want);
	failures++;
}

static void expect(const char *fn, unsigned iter, const char *what, uintptr_t got, uintptr_t want)
{
	if (got != want)
		fail(fn, iter, what, got, want);
}

static void expect_words(const char *fn, unsigned iter, const uintptr_t *got,
			 const uintptr_t *want, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char what[32];
		snprintf(what, sizeof(what), "word %zu", i);
		expect(fn, iter, what, got[i], want[i]);
	}
}

static struct pal *do_register(const char *fn, struct tv_pal_params params, const void *f)
{
	struct pal *pal = register_pal(&params, f, mode);
	if (!pal) {
		printf("\nError: %s: registration failed\n", fn);
		failures++;
	}
	return pal;
}

static void do_unregister(const char *fn, struct pal *pal)
{
	uintptr_t rc = unregister_pal(pal);
	if (rc != 0) {
		printf("\nError: %s: TV_HC_UNREG returned %#lx\n", fn, (unsigned long)rc);
		failures++;
	}
}

static void progress(void)
{
	putchar('.');
	fflush(stdout);
}

/* One iteration: new arguments, the native call, the PAL call, the comparison. */
typedef void iteration(struct rng *rng, const struct pal *pal, unsigned it);

static void iteration_10_int(struct rng *rng, const struct pal *pal, unsigned it)
{
	__typeof__(pal_10_int) *f = pal->entry;
	uintptr_t a[10];
	gen_words(rng, a, 10);
	uintptr_t want = pal_10_int(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9]);
	uintptr_t got = f(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9]);
	expect("pal_10_int", it, "result", got, want | in_pal_bit());
}

static void iteration_10_ptr(struct rng *rng, const struct pal *pal, unsigned it)
{
	__typeof__(pal_10_ptr) *f = pal->entry;
	uintptr_t n[10], p[10];
	gen_words(rng, n, 10);
	memcpy(p, n, sizeof(p));
	uintptr_t want = pal_10_ptr(&n[0], &n[1], &n[2], &n[3], &n[4], &n[5], &n[6], &n[7], &n[8],
				    &n[9]);
	uintptr_t got = f(&p[0], &p[1], &p[2], &p[3], &p[4], &p[5], &p[6], &p[7], &p[8], &p[9]);
	expect("pal_10_ptr", it, "result", got, want | in_pal_bit());
	expect_words("pal_10_ptr", it, p, n, 10);
}

/* Registers once for all iterations. */
static void run_registered(const char *fn, struct tv_pal_params params, const void *f,
			   iteration *one, struct rng *rng, unsigned iters)
{
	struct pal *pal = do_register(fn, params, f);
	if (!pal)
		return;
	for (unsigned it = 0; it < iters; it++) {
		one(rng, pal, it);
		progress();
	}
	do_unregister(fn, pal);
}

static void run_5_ptr(struct rng *rng, unsigned iters)
{
	for (unsigned it = 0; it < iters; it++) {
		uintptr_t size[5], n[5][PAL_5_PTR_MAX_WORDS] = { { 0 } }, p[5][PAL_5_PTR_MAX_WORDS];
		gen_sizes_5(rng, size);
		for (int i = 0; i < 5; i++)
			gen_words(rng, n[i], size[i]);
		memcpy(p, n, sizeof(p));
		struct pal *pal = do_register("pal_5_ptr", params_5_ptr(size), pal_5_ptr);
		if (!pal)
			return;
		__typeof__(pal_5_ptr) *f = pal->entry;
		uintptr_t want = pal_5_ptr(size[0], n[0], size[1], n[1], size[2], n[2], size[3], n[3],
					   size[4], n[4]);
		uintptr_t got = f(size[0], p[0], size[1], p[1], size[2], p[2], size[3], p[3],
				  size[4], p[4]);
		do_unregister("pal_5_ptr", pal);
		expect("pal_5_ptr", it, "result", got, want | in_pal_bit());
		for (int i = 0; i < 5; i++)
			expect_words("pal_5_ptr", it, p[i], n[i], size[i]);
		progress();
	}
}

static int parse(const char *s, unsigned long *v)
{
	char *end;
	*v = strtoul(s, &end, 0);
	return *s && !*end;
}

int prog_test_args(int argc, char **argv)
{
	const char *prog = argv[0];
	if (argc > 1 && strcmp(argv[1], "--native") == 0) {
		mode = PAL_COPY_ONLY;
		argc--, argv++;
	}
	unsigned long funcs, iters, seed;
	if (argc != 4 || !parse(argv[1], &funcs) || !parse(argv[2], &iters) ||
	    !parse(argv[3], &seed) || funcs == 0 || funcs > 7) {
		fprintf(stderr, "usage: %s [--native] FUNCS(1..7) ITERS SEED\n", prog);
		return 2;
	}
	if (mode == PAL_HYPERCALL)
		require_trustvisor(prog);
	struct rng rng;
	rng_seed(&rng, seed);
	if (funcs & 1)
		run_registered("pal_10_int", params_10_int(), pal_10_int, iteration_10_int, &rng, iters);
	if (funcs & 2)
		run_registered("pal_10_ptr", params_10_ptr(), pal_10_ptr, iteration_10_ptr, &rng, iters);
	if (funcs & 4)
		run_5_ptr(&rng, iters);
	printf("\n%s\n", failures ? "Test failed" : "Test pass");
	return failures ? 1 : 0;
}
