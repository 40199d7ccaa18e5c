/* main A B: runs my_pal(A, &B) natively, then registers it, calls it as a PAL once and
 * unregisters it; prints both results. Status 0 if they agree (and the PAL saw itself in a
 * PAL), else 1. */
#include <stdio.h>
#include <stdlib.h>
#include "args.h"
#include "pal_funcs.h"
#include "pal_lib.h"
#include "programs.h"

static uintptr_t call(const char *how, __typeof__(my_pal) *f, uintptr_t a, uintptr_t *b)
{
	uintptr_t b0 = *b;
	uintptr_t r = f(a, b);
	printf("%-7s my_pal(%lu, &%lu) = %lu, then b = %lu, in a PAL: %s\n", how, (unsigned long)a,
	       (unsigned long)b0, (unsigned long)(r & ~PAL_RESULT_IN_PAL), (unsigned long)*b,
	       r & PAL_RESULT_IN_PAL ? "yes" : "no");
	return r;
}

int prog_main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s A B\n", argv[0]);
		return 2;
	}
	uintptr_t a = (uintptr_t)strtoull(argv[1], NULL, 0), b = (uintptr_t)strtoull(argv[2], NULL, 0);
	require_trustvisor(argv[0]);
	uintptr_t native_b = b, pal_b = b;
	uintptr_t native = call("native:", my_pal, a, &native_b);
	struct tv_pal_params params = params_my_pal();
	struct pal *pal = register_pal(&params, my_pal, PAL_HYPERCALL);
	if (!pal)
		return 1;
	uintptr_t in_pal = call("PAL:", pal->entry, a, &pal_b);
	if (unregister_pal(pal) != 0)
		return 1;
	if (in_pal != (native | PAL_RESULT_IN_PAL) || pal_b != native_b) {
		printf("Error: the PAL's result differs from the native one\n");
		return 1;
	}
	return 0;
}
