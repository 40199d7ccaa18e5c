/* pal_reg [--parallel N]: TV_HC_REG / TV_HC_UNREG without calling the PAL (issue 8 points 4
 * and 5). Each bad registration or unregistration must return its error code (tv_errors.h,
 * README.md); a good registration must take the pages from the guest (a read faults: SIGSEGV)
 * and its unregistration give them back zeroed. One line per case. --parallel N: then two
 * processes each register and unregister a PAL of their own N times at once (every
 * registration changes every CPU's EPT01 while the other CPU may be registering too). Status 0
 * if all pass. */
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include "args.h"
#include "pal_funcs.h"
#include "pal_lib.h"
#include "programs.h"

#define PAGE 4096u
#define MARK 0x5a

/* tv_errors.h's codes that these cases expect */
enum {
	ERR_STRUCT_UNREADABLE = 3, ERR_SECTION_COUNT = 4, ERR_SECTION_UNALIGNED = 6,
	ERR_SECTION_EMPTY = 7, ERR_SECTION_OVERLAP = 10, ERR_SECTION_MISSING = 11,
	ERR_ENTRY_OUTSIDE_CODE = 13, ERR_PARAM_COUNT = 14, ERR_SECTION_UNMAPPED = 17,
	ERR_SECTION_RIGHTS = 18, ERR_PAGE_LENT = 20, ERR_ALREADY_REGISTERED = 22,
	ERR_UNKNOWN_ENTRY = 25,
};

static int failures;

static void expect(const char *what, uintptr_t rc, uintptr_t want)
{
	printf("pal_reg: %-28s rc=%lu %s\n", what, (unsigned long)rc, rc == want ? "ok" : "FAILED");
	if (rc != want) {
		printf("pal_reg: %s: expected %lu\n", what, (unsigned long)want);
		failures++;
	}
}

static uintptr_t reg(const struct tv_pal_sections *s, const struct tv_pal_params *p, const void *entry)
{
	return tv_vmcall(TV_HC_REG, (uintptr_t)s, (uintptr_t)p, (uintptr_t)entry);
}

static uintptr_t unreg(const void *entry) { return tv_vmcall(TV_HC_UNREG, (uintptr_t)entry, 0, 0); }

static sigjmp_buf fault_jmp;
static void on_fault(int sig)
{
	(void)sig;
	siglongjmp(fault_jmp, 1);
}

/* Whether reading *p faults (the page is lent to a PAL); else *value is what it holds. */
static int read_faults(const volatile char *p, char *value)
{
	struct sigaction sa = { .sa_handler = on_fault }, old_segv, old_bus;
	sigaction(SIGSEGV, &sa, &old_segv);
	sigaction(SIGBUS, &sa, &old_bus);
	int faulted = sigsetjmp(fault_jmp, 1);
	if (!faulted)
		*value = *p;
	sigaction(SIGSEGV, &old_segv, NULL);
	sigaction(SIGBUS, &old_bus, NULL);
	return faulted;
}

/* A locked page with rights prot, or NULL (unmapped again if !keep). */
static char *page(int prot, int keep)
{
	char *p = mmap(NULL, PAGE, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (p == MAP_FAILED || mlock(p, PAGE) != 0)
		return NULL;
	if (!keep)
		munmap(p, PAGE);
	return p;
}

static void bad_inputs(const struct pal *pal, const struct pal *other)
{
	const struct tv_pal_params *pp = &pal->params;
	struct tv_pal_sections s;
	struct tv_pal_params p = *pp;
	char *ro = page(PROT_READ, 1), *gone = page(PROT_READ | PROT_WRITE, 0);

	expect("structures unreadable", reg((const void *)(uintptr_t)0x10, pp, pal->entry), ERR_STRUCT_UNREADABLE);
	s = pal->sections, s.sections[PAL_DATA_SEC].start += 8;
	expect("unaligned section", reg(&s, pp, pal->entry), ERR_SECTION_UNALIGNED);
	s = pal->sections, s.sections[PAL_DATA_SEC].pages = 0;
	expect("zero-size section", reg(&s, pp, pal->entry), ERR_SECTION_EMPTY);
	s = pal->sections, s.count = TV_MAX_SECTIONS + 1;
	expect("too many sections", reg(&s, pp, pal->entry), ERR_SECTION_COUNT);
	s = pal->sections, s.count = 0;
	expect("no sections", reg(&s, pp, pal->entry), ERR_SECTION_COUNT);
	s = pal->sections, s.count = 1;
	expect("no PARAM and STACK", reg(&s, pp, pal->entry), ERR_SECTION_MISSING);
	s = pal->sections, s.sections[PAL_DATA_SEC].start = s.sections[PAL_CODE_SEC].start;
	expect("overlapping sections", reg(&s, pp, pal->entry), ERR_SECTION_OVERLAP);
	expect("entry outside CODE", reg(&pal->sections, pp, (void *)(uintptr_t)pal->sections.sections[PAL_DATA_SEC].start),
	       ERR_ENTRY_OUTSIDE_CODE);
	p.count = TV_MAX_PARAMS + 1;
	expect("too many parameters", reg(&pal->sections, &p, pal->entry), ERR_PARAM_COUNT);
	s = pal->sections, s.sections[PAL_DATA_SEC].start = (uintptr_t)gone;
	expect("unmapped section", gone ? reg(&s, pp, pal->entry) : 0, ERR_SECTION_UNMAPPED);
	s = pal->sections, s.sections[PAL_DATA_SEC].start = (uintptr_t)ro;
	expect("read-only DATA section", ro ? reg(&s, pp, pal->entry) : 0, ERR_SECTION_RIGHTS);
	expect("unregister unknown entry", unreg(pal->entry), ERR_UNKNOWN_ENTRY);

	expect("register", reg(&pal->sections, pp, pal->entry), 0);
	char *data = (char *)(uintptr_t)pal->sections.sections[PAL_DATA_SEC].start, v = 0;
	expect("DATA lent (read faults)", read_faults(data, &v), 1);
	expect("double registration", reg(&pal->sections, pp, pal->entry), ERR_ALREADY_REGISTERED);
	s = other->sections, s.sections[PAL_DATA_SEC].start = pal->sections.sections[PAL_DATA_SEC].start;
	expect("page of another PAL", reg(&s, &other->params, other->entry), ERR_PAGE_LENT);
	expect("structures in a PAL", reg((const void *)data, pp, other->entry), ERR_STRUCT_UNREADABLE);
	expect("unregister", unreg(pal->entry), 0);
	expect("DATA given back", read_faults(data, &v), 0);
	expect("DATA scrubbed", (unsigned char)v, 0);
	expect("unregister again", unreg(pal->entry), ERR_UNKNOWN_ENTRY);
	if (ro)
		munmap(ro, PAGE);
}

/* N registrations and unregistrations of a PAL of this process: the number that failed. */
static int reg_loop(long n)
{
	struct tv_pal_params params = params_my_pal();
	struct pal *pal = register_pal(&params, my_pal, PAL_COPY_ONLY);
	int bad = !pal;
	for (long i = 0; pal && i < n; i++)
		bad += reg(&pal->sections, &params, pal->entry) != 0 || unreg(pal->entry) != 0;
	if (pal)
		unregister_pal(pal);
	return bad;
}

static void parallel(long n)
{
	fflush(stdout);
	pid_t child = fork();
	if (child == 0)
		_exit(reg_loop(n) != 0);
	int status = 1, bad = reg_loop(n);
	if (child < 0 || waitpid(child, &status, 0) != child || !WIFEXITED(status))
		status = 1;
	expect("parallel registrations", bad || WEXITSTATUS(status), 0);
}

int prog_pal_reg(int argc, char **argv)
{
	long n = 0;
	if (argc == 3 && strcmp(argv[1], "--parallel") == 0)
		n = strtol(argv[2], NULL, 0);
	if ((argc != 1 && n <= 0) || (argc != 1 && argc != 3)) {
		fprintf(stderr, "usage: %s [--parallel N]\n", argv[0]);
		return 2;
	}
	require_trustvisor(argv[0]);
	struct tv_pal_params params = params_my_pal();
	struct pal *pal = register_pal(&params, my_pal, PAL_COPY_ONLY);
	struct pal *other = register_pal(&params, my_pal, PAL_COPY_ONLY);
	if (!pal || !other)
		return 1;
	memset((char *)(uintptr_t)pal->sections.sections[PAL_DATA_SEC].start, MARK, PAGE);
	bad_inputs(pal, other);
	unregister_pal(other);
	unregister_pal(pal);
	if (n)
		parallel(n);
	printf("pal_reg: %s\n", failures ? "FAILED" : "all cases passed");
	return failures != 0;
}
