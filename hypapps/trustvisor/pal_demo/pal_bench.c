/* pal_bench [--native] [N]: RDTSC ticks of N operations with pal_10_int (issue 8's performance
 * goals), one line each, `PAL-BENCH name n=N ticks=T`:
 *   call-native      N calls of the function at its link address (the bare cost)
 *   call-pal         N calls of the registered PAL
 *   register-native  N times the caller's part of a registration (map, lock, copy), no hypercall
 *   register         N registrations (TV_HC_REG included)
 *   unregister-native, unregister: the same for unregistration
 *   loop-1           N PAL calls in this process (its own PAL, registered before the clock starts)
 *   loop-2           the same while a forked child makes N calls of its own PAL at once (on CPU 1,
 *                    this process on CPU 0), until the later of the two loops ends: ideally the
 *                    ticks of loop-1; PALs on different CPUs must not wait for each other
 * --native: only the -native lines (no TrustVisor needed). Status 1 if anything failed. */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "args.h"
#include "pal_funcs.h"
#include "pal_lib.h"
#include "programs.h"

static void report(const char *name, unsigned long n, uint64_t ticks)
{
	printf("PAL-BENCH %s n=%lu ticks=%llu\n", name, n, (unsigned long long)ticks);
}

/* Ticks of n calls of f, or 0 if a result is not `want`. */
static uint64_t time_calls(__typeof__(pal_10_int) *f, unsigned long n, uintptr_t want)
{
	uintptr_t bad = 0;
	uint64_t t0 = rdtsc();
	for (unsigned long i = 0; i < n; i++)
		bad |= f(0, 1, 2, 3, 4, 5, 6, 7, 8, 9) ^ want;
	uint64_t t = rdtsc() - t0;
	return bad ? 0 : t;
}

/* Ticks of n registrations and n unregistrations; 0 if one failed. */
static int time_registration(enum pal_mode mode, unsigned long n, uint64_t *reg, uint64_t *unreg)
{
	struct tv_pal_params params = params_10_int();
	*reg = *unreg = 0;
	for (unsigned long i = 0; i < n; i++) {
		uint64_t t0 = rdtsc();
		struct pal *pal = register_pal(&params, pal_10_int, mode);
		uint64_t t1 = rdtsc();
		if (!pal || unregister_pal(pal) != 0)
			return 0;
		*reg += t1 - t0;
		*unreg += rdtsc() - t1;
	}
	return 1;
}

/* Run on CPU cpu from now on (loop-2's processes one per CPU); nothing if there is no such CPU. */
static void pin(int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

/* The child of loop-2: registers its own PAL, says so on `ready`, waits for the start byte on
 * `go`, makes n calls and sends the TSC at their end on `ready` (0 if one failed), then
 * unregisters. Exit status 0 if all succeeded. */
static int loop_child(unsigned long n, uintptr_t want, int ready, int go)
{
	struct tv_pal_params params = params_10_int();
	struct pal *pal = register_pal(&params, pal_10_int, PAL_HYPERCALL);
	char c;
	int ok = pal && write(ready, "r", 1) == 1 && read(go, &c, 1) == 1 &&
		 time_calls(pal->entry, n, want | PAL_RESULT_IN_PAL) != 0;
	uint64_t end = ok ? rdtsc() : 0;
	ok = write(ready, &end, sizeof(end)) == sizeof(end) && ok;
	return !(pal && unregister_pal(pal) == 0 && ok);
}

/* Ticks of loop-1 (two = 0) or loop-2 (two = 1): from the start of the calls to the end of the
 * last of them (in loop-2 the later end of the two processes' loops; the TSCs of all CPUs count
 * the same ticks in Bochs); the child's unregistration and exit are not in it. 0 if a call
 * failed. */
static uint64_t time_loops(unsigned long n, int two, uintptr_t want)
{
	struct tv_pal_params params = params_10_int();
	int ready[2], go[2];
	char c;
	pid_t child = -1;
	if (two) {
		if (pipe(ready) != 0 || pipe(go) != 0)
			return 0;
		fflush(stdout);
		if ((child = fork()) == 0) {
			pin(1);
			_exit(loop_child(n, want, ready[1], go[0]));
		}
		pin(0);
		if (child < 0 || read(ready[0], &c, 1) != 1)
			return 0;
	}
	struct pal *pal = register_pal(&params, pal_10_int, PAL_HYPERCALL);
	uint64_t t0 = rdtsc(), child_end = 0;
	int ok = pal && (!two || write(go[1], "g", 1) == 1) && time_calls(pal->entry, n, want | PAL_RESULT_IN_PAL);
	uint64_t end = rdtsc();
	int status = 1;
	if (two && (read(ready[0], &child_end, sizeof(child_end)) != sizeof(child_end) || !child_end ||
		    waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) != 0))
		ok = 0;
	if (!pal || unregister_pal(pal) != 0)
		ok = 0;
	return ok ? (end > child_end ? end : child_end) - t0 : 0;
}

int prog_pal_bench(int argc, char **argv)
{
	const char *prog = argv[0];
	int native_only = argc > 1 && strcmp(argv[1], "--native") == 0;
	if (native_only)
		argc--, argv++;
	unsigned long n = argc > 1 ? strtoul(argv[1], NULL, 0) : 100;
	if (argc > 2 || n == 0) {
		fprintf(stderr, "usage: %s [--native] [N > 0]\n", prog);
		return 2;
	}
	if (!native_only)
		require_trustvisor(prog);
	uintptr_t want = pal_10_int(0, 1, 2, 3, 4, 5, 6, 7, 8, 9);
	uint64_t ticks = time_calls(pal_10_int, n, want), reg, unreg;
	if (!ticks)
		return 1;
	report("call-native", n, ticks);
	if (!native_only) {
		struct tv_pal_params params = params_10_int();
		struct pal *pal = register_pal(&params, pal_10_int, PAL_HYPERCALL);
		if (!pal)
			return 1;
		ticks = time_calls(pal->entry, n, want | PAL_RESULT_IN_PAL);
		if (unregister_pal(pal) != 0 || !ticks) {
			printf("Error: a PAL call failed\n");
			return 1;
		}
		report("call-pal", n, ticks);
	}
	if (!time_registration(PAL_COPY_ONLY, n, &reg, &unreg))
		return 1;
	report("register-native", n, reg);
	report("unregister-native", n, unreg);
	if (!native_only) {
		if (!time_registration(PAL_HYPERCALL, n, &reg, &unreg))
			return 1;
		report("register", n, reg);
		report("unregister", n, unreg);
		for (int two = 0; two <= 1; two++) {
			if (!(ticks = time_loops(n, two, want))) {
				printf("Error: a PAL loop failed\n");
				return 1;
			}
			report(two ? "loop-2" : "loop-1", n, ticks);
		}
	}
	return 0;
}
