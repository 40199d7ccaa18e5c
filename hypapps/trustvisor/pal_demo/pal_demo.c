/* pal_demo<VARIANT>: one static binary with the five programs (a static glibc program is
 * ~700 KB, and the Linux test guest boots much slower in Bochs with a large initramfs). The
 * program is the name it is called by, PROGRAM<VARIANT> (e.g. test_args64, a symbolic link),
 * or the first argument: pal_demo64 test_args 7 7 7. */
#include <stdio.h>
#include <string.h>
#include "programs.h"

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
} programs[] = {
	{ "test", prog_test },
	{ "main", prog_main },
	{ "test_args", prog_test_args },
	{ "pal_bench", prog_pal_bench },
	{ "pal_reg", prog_pal_reg },
	{ "pal_bad", prog_pal_bad },
};

/* The program called `name` or `name`VARIANT. */
static int (*find(const char *name))(int, char **)
{
	const char *base = strrchr(name, '/');
	base = base ? base + 1 : name;
	for (size_t i = 0; i < sizeof(programs) / sizeof(programs[0]); i++) {
		size_t n = strlen(programs[i].name);
		if (strncmp(base, programs[i].name, n) == 0 &&
		    (base[n] == 0 || strcmp(base + n, VARIANT) == 0))
			return programs[i].run;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int (*run)(int, char **) = find(argv[0]);
	if (run)
		return run(argc, argv);
	if (argc > 1 && (run = find(argv[1])))
		return run(argc - 1, argv + 1);
	fprintf(stderr, "usage: %s {test|main|test_args|pal_bench|pal_reg|pal_bad} ARGS, or call it as "
		"PROGRAM%s (a link)\n", argv[0], VARIANT);
	return 2;
}
