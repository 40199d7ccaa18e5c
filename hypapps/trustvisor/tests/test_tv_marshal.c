/* tv_marshal.c: SysV and cdecl marshalling into the parameter area and the PAL's stack, the
 * copy-back, the caller-saved register scrub (bug_116), and every refused argument. */
#include "tv_fake_mem.h"
#include "tv_marshal.h"

#define PG 0x1000ull
#define PAL_BASE 0x400000ull /* CODE 2 pages, DATA, STACK, PARAM 2 pages */
#define STACK_TOP (PAL_BASE + 4 * PG)
#define AREA (PAL_BASE + 4 * PG + TV_PARAM_AREA_OFFSET)
#define ENTRY (PAL_BASE + 0x40)
#define CALLER_BASE 0x600000ull
#define CALLER_SIZE 0x10000ull
#define RSP (CALLER_BASE + 0x8000) /* the caller's stack */
#define BUF (CALLER_BASE + 0x100)  /* the caller's buffers */
#define RET 0x401234ull
#define CR3 0x9000ull

static struct fake_as caller_as, pal_as;
static struct tv_guest_mem caller_mem, pal_mem;
static struct tv_registry reg;
static struct tv_pal *pal;
static struct tv_call call;
static struct tv_gprs caller, pal_regs, resume;

static enum tv_xlate identity(void *ctx, gva_t va, bool write, bool exec, l1_gpa_t *gpa)
{
	(void)ctx, (void)write, (void)exec;
	*gpa = l1_gpa(va.v);
	return TV_XLATE_OK;
}

static const struct tv_translator xl = { .translate = identity };

static void register_at(u64 base, u64 cr3, const struct tv_pal_params *params, bool c64, struct tv_pal **out)
{
	struct tv_pal_sections s = { .count = 4, .sections = {
		{ TV_PAL_SECTION_CODE, 2, base }, { TV_PAL_SECTION_DATA, 1, base + 2 * PG },
		{ TV_PAL_SECTION_STACK, 1, base + 3 * PG }, { TV_PAL_SECTION_PARAM, 2, base + 4 * PG } } };
	struct tv_pal_layout l;
	assert_int_equal(tv_validate(&s, params, gva(base + 0x40), c64, &l), TV_OK);
	assert_int_equal(tv_registry_add(&reg, &l, cr3, &xl, out), TV_OK);
}

static void make_pal(const u32 *types, const u64 *words, u32 n, bool c64)
{
	struct tv_pal_params p = { .count = n };
	for (u32 i = 0; i < n; i++)
		p.params[i] = (struct tv_pal_param){ .type = types[i], .size = words[i] };
	register_at(PAL_BASE, CR3, &p, c64, &pal);
}

static int setup(void **state)
{
	(void)state;
	fake_as_init(&caller_as, CALLER_BASE, CALLER_SIZE);
	fake_as_init(&pal_as, PAL_BASE, 6 * PG);
	caller_mem = fake_as_mem(&caller_as);
	pal_mem = fake_as_mem(&pal_as);
	tv_registry_init(&reg);
	caller = (struct tv_gprs){ .rax = 0xa0, .rbx = 0xb0, .rcx = 0xc0, .rdx = 0xd0, .rsi = 0x51, .rdi = 0xd1,
				   .rbp = 0xb9, .rsp = RSP, .r8 = 0x8, .r9 = 0x9, .r10 = 0x10, .r11 = 0x11,
				   .r12 = 0x12, .r13 = 0x13, .r14 = 0x14, .r15 = 0x15, .rip = ENTRY };
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	free(caller_as.mem);
	free(pal_as.mem);
	caller_as.mem = pal_as.mem = NULL;
	return 0;
}

static u64 rd(struct fake_as *as, u64 va, u64 w)
{
	u64 v = 0;
	memcpy(&v, fake_as_ptr(as, va), w);
	return v;
}

static void wr(struct fake_as *as, u64 va, u64 v, u64 w) { memcpy(fake_as_ptr(as, va), &v, w); }

/* The caller's stack at CALL entry: the return address, then stack words. */
static void caller_stack(const u64 *words, u32 n, u64 w)
{
	wr(&caller_as, RSP, RET, w);
	for (u32 i = 0; i < n; i++)
		wr(&caller_as, RSP + w * (1 + i), words[i], w);
}

static enum tv_error enter(void)
{
	return tv_marshal_enter(&reg, pal, &caller, &caller_mem, &pal_mem, &call, &pal_regs);
}

static void test_sysv_ten_integers(void **state)
{
	(void)state;
	static const u32 t[10] = { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 };
	static const u64 w[10] = { 0 };
	make_pal(t, w, 10, true);
	caller.rdi = 101, caller.rsi = 102, caller.rdx = 103, caller.rcx = 104, caller.r8 = 105, caller.r9 = 106;
	const u64 stack[] = { 107, 108, 109, 110, 0xbad };
	caller_stack(stack, 5, 8);
	assert_int_equal(enter(), TV_OK);
	assert_int_equal(pal_regs.rip, ENTRY);
	assert_int_equal(pal_regs.rdi, 101);
	assert_int_equal(pal_regs.rsi, 102);
	assert_int_equal(pal_regs.rdx, 103);
	assert_int_equal(pal_regs.rcx, 104);
	assert_int_equal(pal_regs.r8, 105);
	assert_int_equal(pal_regs.r9, 106);
	assert_int_equal(pal_regs.rax | pal_regs.rbx | pal_regs.rbp | pal_regs.r10 | pal_regs.r11 | pal_regs.r12 |
				 pal_regs.r13 | pal_regs.r14 | pal_regs.r15, 0);
	/* the frame: sentinel, then args 6..9, below STACK + size - 0x10, RSP + 8 16-byte aligned */
	u64 rsp = pal_regs.rsp;
	assert_int_equal((rsp + 8) % 16, 0);
	assert_true(rsp + 5 * 8 <= STACK_TOP - 0x10 && rsp >= STACK_TOP - PG);
	assert_int_equal(rsp, STACK_TOP - 0x10 - 5 * 8);
	assert_int_equal(rd(&pal_as, rsp, 8), TV_PAL_SENTINEL_RETURN);
	for (u32 i = 0; i < 4; i++)
		assert_int_equal(rd(&pal_as, rsp + 8 + 8 * i, 8), 107 + i);
	/* the area: count, then {type, bytes, value} from the last parameter to the first */
	assert_int_equal(rd(&pal_as, AREA, 8), 10);
	for (u32 i = 0; i < 10; i++) {
		u64 e = AREA + 8 + 24 * i;
		assert_int_equal(rd(&pal_as, e, 8), TV_PAL_PM_INTEGER);
		assert_int_equal(rd(&pal_as, e + 8, 8), 0);
		assert_int_equal(rd(&pal_as, e + 16, 8), 110 - i);
	}
	assert_int_equal(call.caller.rip, RET);
	assert_int_equal(call.n_pointers, 0);
}

static void test_sysv_stack_alignment(void **state)
{
	(void)state;
	static const u32 t[10] = { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 };
	static const u64 w[10] = { 0 };
	for (u32 n = 0; n <= 10; n++) {
		setup(NULL);
		make_pal(t, w, n, true);
		caller_stack(w, 5, 8);
		assert_int_equal(enter(), TV_OK);
		assert_int_equal((pal_regs.rsp + 8) % 16, 0);
		assert_true(pal_regs.rsp + 8 * (1 + (n > 6 ? n - 6 : 0)) <= STACK_TOP - 0x10);
		assert_int_equal(rd(&pal_as, pal_regs.rsp, 8), TV_PAL_SENTINEL_RETURN);
		teardown(NULL);
	}
}

/* pal_5_ptr in 64-bit mode: five (INTEGER words, POINTER) pairs. */
static void test_sysv_pointers_and_copy_back(void **state)
{
	(void)state;
	static const u32 t[10] = { 1, 2, 1, 2, 1, 2, 1, 2, 1, 2 };
	static const u64 w[10] = { 0, 3, 0, 0, 0, 99, 0, 1, 0, 7 };
	make_pal(t, w, 10, true);
	u64 buf[5], at = BUF;
	for (u32 i = 0; i < 5; i++, at += 0x400) {
		buf[i] = at;
		for (u64 j = 0; j < w[2 * i + 1]; j++)
			wr(&caller_as, at + 8 * j, 1000 * i + j, 8);
	}
	caller.rdi = 3, caller.rsi = buf[0], caller.rdx = 0, caller.rcx = buf[1], caller.r8 = 99, caller.r9 = buf[2];
	const u64 stack[] = { 1, buf[3], 7, buf[4] };
	caller_stack(stack, 4, 8);
	assert_int_equal(enter(), TV_OK);
	assert_int_equal(call.n_pointers, 5);
	/* the area from the last parameter: {2, 56, buf4} + 56 bytes, {1, 0, 7}, {2, 8, buf3} + 8, ... */
	u64 e = AREA + 8;
	u64 in_area[5];
	for (int i = 9; i >= 0; i--) {
		u64 bytes = t[i] == 2 ? w[i] * 8 : 0;
		u64 value = i < 6 ? (u64[]){ 3, buf[0], 0, buf[1], 99, buf[2] }[i] : stack[i - 6];
		assert_int_equal(rd(&pal_as, e, 8), t[i]);
		assert_int_equal(rd(&pal_as, e + 8, 8), bytes);
		assert_int_equal(rd(&pal_as, e + 16, 8), value);
		e += 24;
		if (t[i] == 2) {
			in_area[i / 2] = e;
			for (u64 j = 0; j < w[i]; j++)
				assert_int_equal(rd(&pal_as, e + 8 * j, 8), 1000 * (i / 2) + j);
		}
		e += bytes;
	}
	assert_true(e <= AREA + pal->layout.area_bytes);
	assert_int_equal(pal_regs.rsi, in_area[0]);
	assert_int_equal(pal_regs.rcx, in_area[1]);
	assert_int_equal(pal_regs.r9, in_area[2]);
	assert_int_equal(pal_regs.rdi, 3);
	assert_int_equal(pal_regs.r8, 99);
	assert_int_equal(rd(&pal_as, pal_regs.rsp + 8, 8), 1);
	assert_int_equal(rd(&pal_as, pal_regs.rsp + 16, 8), in_area[3]);
	assert_int_equal(rd(&pal_as, pal_regs.rsp + 24, 8), 7);
	assert_int_equal(rd(&pal_as, pal_regs.rsp + 32, 8), in_area[4]);
	/* the PAL increments every word and returns with registers full of secrets */
	for (u32 i = 0; i < 5; i++)
		for (u64 j = 0; j < w[2 * i + 1]; j++)
			wr(&pal_as, in_area[i] + 8 * j, rd(&pal_as, in_area[i] + 8 * j, 8) + 1, 8);
	struct tv_gprs done;
	memset(&done, 0x5e, sizeof(done));
	done.rax = 0x8000000012345678ull;
	tv_marshal_return(&call, &done, &caller_mem, &pal_mem, true, &resume);
	for (u32 i = 0; i < 5; i++)
		for (u64 j = 0; j < w[2 * i + 1]; j++)
			assert_int_equal(rd(&caller_as, buf[i] + 8 * j, 8), 1000 * i + j + 1);
	assert_int_equal(rd(&caller_as, buf[1], 8), 0); /* a 0-word buffer is not touched */
	assert_int_equal(resume.rax, 0x8000000012345678ull);
	assert_int_equal(resume.rip, RET);
	assert_int_equal(resume.rsp, RSP + 8);
	/* bug_116: caller-saved registers zero, callee-saved ones the caller's */
	assert_int_equal(resume.rcx | resume.rdx | resume.rsi | resume.rdi | resume.r8 | resume.r9 | resume.r10 |
				 resume.r11, 0);
	assert_int_equal(resume.rbx, 0xb0);
	assert_int_equal(resume.rbp, 0xb9);
	assert_int_equal(resume.r12, 0x12);
	assert_int_equal(resume.r13, 0x13);
	assert_int_equal(resume.r14, 0x14);
	assert_int_equal(resume.r15, 0x15);
}

/* cdecl: everything from ESP + 4, 4-byte words, upper register halves ignored. */
static void test_cdecl(void **state)
{
	(void)state;
	static const u32 t[4] = { 1, 2, 1, 2 };
	static const u64 w[4] = { 0, 2, 0, 1 };
	make_pal(t, w, 4, false);
	caller.rsp = RSP | 0xdead00000000ull;
	caller.rdi = 0x77; /* not an argument in 32-bit mode */
	wr(&caller_as, BUF, 0x11111111, 4);
	wr(&caller_as, BUF + 4, 0x22222222, 4);
	wr(&caller_as, BUF + 0x40, 0x33333333, 4);
	const u64 stack[] = { 0xfffffff5, BUF, 42, BUF + 0x40 };
	caller_stack(stack, 4, 4);
	assert_int_equal(enter(), TV_OK);
	assert_int_equal(pal_regs.rdi | pal_regs.rsi | pal_regs.rdx | pal_regs.rcx, 0);
	u64 esp = pal_regs.rsp;
	assert_int_equal((esp + 4) % 16, 0);
	assert_true(esp + 5 * 4 <= STACK_TOP - 0x10);
	assert_int_equal(rd(&pal_as, esp, 4), TV_PAL_SENTINEL_RETURN);
	assert_int_equal(rd(&pal_as, esp + 4, 4), 0xfffffff5);
	assert_int_equal(rd(&pal_as, esp + 12, 4), 42);
	u64 p3 = rd(&pal_as, esp + 16, 4), p1 = rd(&pal_as, esp + 8, 4);
	/* area: {2, 4, BUF+0x40} + 4 bytes, {1, 0, 42}, {2, 8, BUF} + 8 bytes, {1, 0, 0xfffffff5} */
	assert_int_equal(rd(&pal_as, AREA, 8), 4);
	assert_int_equal(rd(&pal_as, AREA + 8, 8), 2);
	assert_int_equal(rd(&pal_as, AREA + 16, 8), 4);
	assert_int_equal(rd(&pal_as, AREA + 24, 8), BUF + 0x40);
	assert_int_equal(p3, AREA + 32);
	assert_int_equal(rd(&pal_as, p3, 4), 0x33333333);
	assert_int_equal(rd(&pal_as, AREA + 36 + 16, 8), 42);
	assert_int_equal(rd(&pal_as, AREA + 36 + 24 + 8, 8), 8);
	assert_int_equal(p1, AREA + 36 + 48);
	assert_int_equal(rd(&pal_as, p1 + 4, 4), 0x22222222);
	assert_int_equal(rd(&pal_as, p1 + 8 + 16, 8), 0xfffffff5);
	wr(&pal_as, p1, 0x44444444, 4);
	struct tv_gprs done = { .rax = 0xffffffff87654321ull, .rcx = 1, .rdx = 2, .rbx = 3 };
	tv_marshal_return(&call, &done, &caller_mem, &pal_mem, false, &resume);
	assert_int_equal(rd(&caller_as, BUF, 4), 0x44444444);
	assert_int_equal(rd(&caller_as, BUF + 4, 4), 0x22222222);
	assert_int_equal(resume.rax, 0x87654321);
	assert_int_equal(resume.rsp, RSP + 4);
	assert_int_equal(resume.rip, RET);
	assert_int_equal(resume.rcx | resume.rdx | resume.r8 | resume.r11, 0);
	assert_int_equal(resume.rbx, 0xb0);
	assert_int_equal(resume.rsi, 0x51); /* callee-saved in cdecl */
	assert_int_equal(resume.rdi, 0x77);
}

static void test_pointer_into_pal(void **state)
{
	(void)state;
	static const u32 t[1] = { 2 };
	static const u64 w[1] = { 4 };
	make_pal(t, w, 1, true);
	struct tv_pal *other;
	struct tv_pal_params none = { .count = 0 };
	register_at(CALLER_BASE + 0x4000, CR3, &none, true, &other); /* a second PAL in the caller's buffers */
	caller_stack(w, 0, 8);
	static const u64 bad[] = { PAL_BASE + 2 * PG, PAL_BASE - 8, PAL_BASE + 6 * PG - 31, CALLER_BASE + 0x4000 - 8,
				   CALLER_BASE + 0x5000 };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		caller.rdi = bad[i];
		assert_int_equal(enter(), TV_ERR_ARG_INTO_PAL);
	}
	caller.rdi = PAL_BASE - 32; /* just below */
	fake_as_init(&caller_as, PAL_BASE - PG, PG);
	caller.rsp = PAL_BASE - 0x100;
	wr(&caller_as, caller.rsp, RET, 8);
	assert_int_equal(enter(), TV_OK);
}

static void test_bad_buffers(void **state)
{
	(void)state;
	static const u32 t[1] = { 2 };
	static const u64 w[1] = { 4 };
	make_pal(t, w, 1, true);
	caller_stack(w, 0, 8);
	static const u64 bad[] = { CALLER_BASE + CALLER_SIZE - 31, 0x100, ~0ull - 8, 0x7ffffffffff8ull };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		caller.rdi = bad[i];
		assert_int_equal(enter(), TV_ERR_ARG_BUFFER);
		tv_marshal_fail(&call, TV_ERR_ARG_BUFFER, true, &resume);
		assert_int_equal(resume.rax, TV_ERR_ARG_BUFFER);
		assert_int_equal(resume.rip, RET);
		assert_int_equal(resume.rsp, RSP + 8);
		assert_int_equal(resume.rdi | resume.rcx, 0);
	}
	caller.rdi = CALLER_BASE + CALLER_SIZE - 32;
	assert_int_equal(enter(), TV_OK);
	/* 32-bit: a buffer that crosses 4 GiB */
	teardown(NULL);
	setup(NULL);
	make_pal(t, w, 1, false);
	const u64 s32[] = { 0xfffffff8 };
	caller_stack(s32, 1, 4);
	assert_int_equal(enter(), TV_ERR_ARG_BUFFER);
	/* a 0-word pointer is passed without a look at its memory */
	teardown(NULL);
	setup(NULL);
	static const u64 w0[1] = { 0 };
	make_pal(t, w0, 1, true);
	caller_stack(w0, 0, 8);
	caller.rdi = PAL_BASE + 2 * PG;
	assert_int_equal(enter(), TV_OK);
	assert_int_equal(pal_regs.rdi, AREA + 8 + 24);
}

static void test_unreadable_stack(void **state)
{
	(void)state;
	static const u32 t[8] = { 1, 1, 1, 1, 1, 1, 1, 1 };
	static const u64 w[8] = { 0 };
	make_pal(t, w, 8, true);
	caller.rsp = CALLER_BASE + CALLER_SIZE - 16; /* return address and one stack word of two */
	wr(&caller_as, caller.rsp, RET, 8);
	assert_int_equal(enter(), TV_ERR_ARG_UNREADABLE);
	assert_int_equal(call.caller.rip, RET);
	caller.rsp = CALLER_BASE + CALLER_SIZE - 24;
	wr(&caller_as, caller.rsp, RET, 8);
	assert_int_equal(enter(), TV_OK);
	caller.rsp = CALLER_BASE + CALLER_SIZE - 4;
	assert_int_equal(enter(), TV_ERR_RETURN_UNREADABLE);
	/* six arguments, all in registers: only the return address is read */
	teardown(NULL);
	setup(NULL);
	make_pal(t, w, 6, true);
	caller.rsp = CALLER_BASE + CALLER_SIZE - 8;
	wr(&caller_as, caller.rsp, RET, 8);
	caller_as.reads = 0;
	assert_int_equal(enter(), TV_OK);
	assert_int_equal(caller_as.reads, 1);
	caller.rsp = ~0ull - 3;
	assert_int_equal(enter(), TV_ERR_RETURN_UNREADABLE);
	caller.rsp = 0x7ffffffffff8ull; /* the last word of the canonical lower half, unmapped */
	assert_int_equal(enter(), TV_ERR_RETURN_UNREADABLE);
}

static void test_pal_memory_fails(void **state)
{
	(void)state;
	static const u32 t[1] = { 2 };
	static const u64 w[1] = { 4 };
	make_pal(t, w, 1, true);
	caller_stack(w, 0, 8);
	caller.rdi = BUF;
	for (u32 n = 1; n <= 3; n++) { /* count, entry, data */
		pal_as.writes = 0;
		pal_as.fail_write = n;
		assert_int_equal(enter(), n == 3 ? TV_ERR_ARG_BUFFER : TV_ERR_PAL_FAULT);
	}
	pal_as.writes = 0;
	pal_as.fail_write = 4; /* the stack */
	assert_int_equal(enter(), TV_ERR_PAL_FAULT);
}

static void test_copy_back_and_fault(void **state)
{
	(void)state;
	static const u32 t[2] = { 2, 2 };
	static const u64 w[2] = { 1, 1 };
	make_pal(t, w, 2, true);
	caller_stack(w, 0, 8);
	caller.rdi = BUF, caller.rsi = BUF + 8;
	wr(&caller_as, BUF, 5, 8);
	assert_int_equal(enter(), TV_OK);
	wr(&pal_as, pal_regs.rdi, 6, 8);
	struct tv_gprs done = { .rax = 1 };
	/* a PAL that faulted: no copy-back, RAX = the error */
	tv_marshal_fail(&call, TV_ERR_PAL_FAULT, true, &resume);
	assert_int_equal(rd(&caller_as, BUF, 8), 5);
	assert_int_equal(resume.rax, TV_ERR_PAL_FAULT);
	assert_int_equal(resume.rip, RET);
	/* the caller's buffer became unwritable */
	caller_as.writes = 0;
	caller_as.fail_write = 1;
	tv_marshal_return(&call, &done, &caller_mem, &pal_mem, true, &resume);
	assert_int_equal(resume.rax, TV_ERR_COPY_BACK);
	assert_int_equal(resume.rsi, 0);
	caller_as.fail_write = 0;
	tv_marshal_return(&call, &done, &caller_mem, &pal_mem, true, &resume);
	assert_int_equal(resume.rax, 1);
	assert_int_equal(rd(&caller_as, BUF, 8), 6);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_sysv_ten_integers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sysv_stack_alignment, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sysv_pointers_and_copy_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cdecl, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pointer_into_pal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_buffers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unreadable_stack, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pal_memory_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_copy_back_and_fault, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
