/* pal_bad: bad PAL calls (issue 8 point 5) that each return to the caller with an error code
 * in RAX (tv_errors.h, ../README.md) and leave the caller able to go on: a PAL that faults
 * (reads outside its sections, SYSCALL, INT 0x80, VMCALL, UD2), that loops (with and without
 * exits), pointer arguments into the PAL's own memory or unreadable, and a call of the
 * parent's PAL from a forked child (another CR3: the lent page faults, SIGSEGV). Before and
 * after them, a good call returns its result. One line per case, then
 * `pal_bad: all cases passed`; status 0 if all pass. */
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>
#include "pal_funcs.h"
#include "pal_lib.h"
#include "programs.h"

/* tv_errors.h's codes that these cases expect */
enum { ERR_ARG_INTO_PAL = 28, ERR_ARG_BUFFER = 29, ERR_PAL_FAULT = 31, ERR_PAL_TIMEOUT = 33 };

static int failures;

static void expect(const char *what, uintptr_t rc, uintptr_t want)
{
	printf("pal_bad: %-28s rc=%lu %s\n", what, (unsigned long)rc, rc == want ? "ok" : "FAILED");
	if (rc != want)
		failures++;
}

/* The child calls the parent's PAL: its CR3 is another one. */
static int child_call_signal(__typeof__(pal_escape) *escape)
{
	fflush(stdout);
	pid_t child = fork();
	if (child == 0)
		_exit(escape(PAL_ESCAPE_NONE, 1) == 2 ? 0 : 1);
	int status = 0;
	if (child < 0 || waitpid(child, &status, 0) != child)
		return -1;
	return WIFSIGNALED(status) ? WTERMSIG(status) : 0;
}

int prog_pal_bad(int argc, char **argv)
{
	if (argc != 1) {
		fprintf(stderr, "usage: %s\n", argv[0]);
		return 2;
	}
	require_trustvisor(argv[0]);
	struct tv_pal_params two_ints = { .count = 2, .params = { { .type = TV_PAL_PM_INTEGER },
								 { .type = TV_PAL_PM_INTEGER } } };
	struct tv_pal_params my_params = { .count = 2, .params = { { .type = TV_PAL_PM_INTEGER },
								  { .type = TV_PAL_PM_POINTER, .size = 1 } } };
	struct pal *esc = register_pal(&two_ints, pal_escape, PAL_HYPERCALL);
	struct pal *mine = register_pal(&my_params, my_pal, PAL_HYPERCALL);
	if (!esc || !mine)
		return 1;
	__typeof__(pal_escape) *escape = esc->entry;
	__typeof__(my_pal) *call_my_pal = mine->entry;
	uintptr_t local = 0;

	expect("good call", escape(PAL_ESCAPE_NONE, 41), 42);
	expect("read outside the PAL", escape(PAL_ESCAPE_READ, (uintptr_t)&local), ERR_PAL_FAULT);
	expect("SYSCALL", escape(PAL_ESCAPE_SYSCALL, 0), ERR_PAL_FAULT);
	expect("INT 0x80 (exit 7)", escape(PAL_ESCAPE_INT80, 0), ERR_PAL_FAULT);
	expect("VMCALL", escape(PAL_ESCAPE_VMCALL, 0), ERR_PAL_FAULT);
	expect("UD2", escape(PAL_ESCAPE_UD2, 0), ERR_PAL_FAULT);
	expect("endless loop", escape(PAL_ESCAPE_LOOP, 0), ERR_PAL_TIMEOUT);
	expect("endless CPUID loop", escape(PAL_ESCAPE_CPUID_LOOP, 0), ERR_PAL_TIMEOUT);
	uintptr_t *pal_data = (uintptr_t *)(uintptr_t)mine->sections.sections[PAL_DATA_SEC].start;
	expect("pointer into the PAL", call_my_pal(1, pal_data), ERR_ARG_INTO_PAL);
	expect("pointer into another PAL", call_my_pal(1, (uintptr_t *)esc->entry), ERR_ARG_INTO_PAL);
	expect("pointer unreadable", call_my_pal(1, (uintptr_t *)(uintptr_t)0x10), ERR_ARG_BUFFER);
	expect("call from a forked child", child_call_signal(escape), SIGSEGV);
	uintptr_t b = 4;
	expect("good call after them", call_my_pal(3, &b) & ~PAL_RESULT_IN_PAL, 7);
	expect("pointer copied back", b, 5);
	expect("unregister", unregister_pal(esc) | unregister_pal(mine), 0);
	printf("pal_bad: %s\n", failures ? "FAILED" : "all cases passed");
	return failures != 0;
}
