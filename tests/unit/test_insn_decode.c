/* xmhf/runtime/insn_decode.c: the MOV stores the hypervisor emulates (SDM
 * Vol. 2 chapter 2 instruction format, Tables 2-1 to 2-3, 2.2.1 REX and
 * RIP-relative addressing; MOV 88/89/C6/C7). Instructions are given as
 * exactly sized heap copies (ASan reports a read past them). */
#include "unit.h"
#include <runtime/insn_decode.h>
#include <xmhf/x86/segment.h>

#define RIP 0x401000ull

/* GPR n holds 0x1111111111111111 * (n + 1) except where a test sets it. */
static u64 gpr[16];

static int setup(void **state)
{
	(void)state;
	for (u32 i = 0; i < 16; i++)
		gpr[i] = 0x1111111111111111ull * (i + 1);
	return 0;
}

static bool decode(const u8 *bytes, u32 n, u32 bits, struct mov_store *m)
{
	u8 *copy = exact_copy(bytes, n);
	bool ok = decode_mov_store(copy, n, bits, RIP, gpr, m);
	free(copy);
	return ok;
}

#define DECODE(bits, m, ...) decode((const u8[]){ __VA_ARGS__ }, sizeof((const u8[]){ __VA_ARGS__ }), bits, m)

static void expect(const struct mov_store *m, u32 len, u32 size, u64 value, u32 seg, u64 offset)
{
	assert_int_equal(m->len, len);
	assert_int_equal(m->size, size);
	assert_int_equal(m->value, value);
	assert_int_equal(m->seg, seg);
	assert_int_equal(m->offset, offset);
}

/* What Linux and the checks guest use for xAPIC writes. */
static void test_common_forms(void **state)
{
	(void)state;
	struct mov_store m;
	gpr[3] = 0xfee00000; /* EBX */
	assert_true(DECODE(32, &m, 0x89, 0x83, 0x00, 0x03, 0x00, 0x00)); /* mov [ebx+0x300], eax */
	expect(&m, 6, 4, 0x11111111, SEG_DS, 0xfee00300);
	assert_true(DECODE(32, &m, 0x89, 0x1d, 0x10, 0x03, 0xe0, 0xfe)); /* mov [0xfee00310], ebx */
	expect(&m, 6, 4, 0xfee00000, SEG_DS, 0xfee00310);
	/* mov dword [0xfee000b0], 0 (EOI) */
	assert_true(DECODE(32, &m, 0xc7, 0x05, 0xb0, 0x00, 0xe0, 0xfe, 0x00, 0x00, 0x00, 0x00));
	expect(&m, 10, 4, 0, SEG_DS, 0xfee000b0);
	/* 64-bit: mov [rip+0x100], esi; the offset counts from the next instruction */
	assert_true(DECODE(64, &m, 0x89, 0x35, 0x00, 0x01, 0x00, 0x00));
	expect(&m, 6, 4, 0x77777777, SEG_DS, RIP + 6 + 0x100);
	/* mov [rdi+rcx*4-8], r14d: REX.R, SIB, disp8 < 0 */
	assert_true(DECODE(64, &m, 0x44, 0x89, 0x74, 0x8f, 0xf8));
	expect(&m, 5, 4, 0xffffffff, SEG_DS, gpr[7] + gpr[1] * 4 - 8);
	/* mov dword [r12+0xfee00000], imm32: REX.B, SIB base r12, no index */
	gpr[12] = 0;
	assert_true(DECODE(64, &m, 0x41, 0xc7, 0x84, 0x24, 0x00, 0x00, 0xe0, 0xfe, 0x78, 0x56, 0x34, 0x12));
	expect(&m, 12, 4, 0x12345678, SEG_DS, 0xfffffffffee00000ull);
}

/* SIB: index 4 is none (without REX.X), index r12 with it; base 5 with mod
 * 0 is disp32; RSP/RBP bases default to SS. */
static void test_sib(void **state)
{
	(void)state;
	struct mov_store m;
	assert_true(DECODE(32, &m, 0x89, 0x04, 0x24)); /* mov [esp], eax */
	expect(&m, 3, 4, 0x11111111, SEG_SS, 0x55555555);
	assert_true(DECODE(64, &m, 0x42, 0x89, 0x04, 0x25, 0x10, 0x00, 0x00, 0x00)); /* mov [r12*1+0x10], eax */
	expect(&m, 8, 4, 0x11111111, SEG_DS, gpr[12] + 0x10);
	assert_true(DECODE(32, &m, 0x89, 0x04, 0xad, 0x20, 0x00, 0x00, 0x00)); /* mov [ebp*4+0x20], eax */
	expect(&m, 7, 4, 0x11111111, SEG_DS, (u32)(gpr[5] * 4 + 0x20));
	assert_true(DECODE(32, &m, 0x89, 0x45, 0x08)); /* mov [ebp+8], eax */
	expect(&m, 3, 4, 0x11111111, SEG_SS, (u32)(gpr[5] + 8));
	assert_true(DECODE(64, &m, 0x41, 0x89, 0x45, 0x08)); /* mov [r13+8], eax: not SS */
	expect(&m, 4, 4, 0x11111111, SEG_DS, gpr[13] + 8);
}

/* Operand size: 66 (16 <-> 32), REX.W (64, imm32 sign-extended); byte
 * stores with AH..BH without REX, SPL..DIL with it. Address size: 67. */
static void test_sizes(void **state)
{
	(void)state;
	struct mov_store m;
	assert_true(DECODE(32, &m, 0x66, 0x89, 0x03));
	expect(&m, 3, 2, 0x1111, SEG_DS, 0x44444444);
	assert_true(DECODE(64, &m, 0x48, 0xc7, 0x03, 0xff, 0xff, 0xff, 0xff));
	expect(&m, 7, 8, ~0ull, SEG_DS, gpr[3]);
	assert_true(DECODE(64, &m, 0x48, 0x66, 0x89, 0x03)); /* a REX before a prefix is ignored */
	expect(&m, 4, 2, 0x1111, SEG_DS, gpr[3]);
	assert_true(DECODE(64, &m, 0x67, 0x89, 0x03)); /* [ebx] */
	expect(&m, 3, 4, 0x11111111, SEG_DS, 0x44444444);
	assert_true(DECODE(32, &m, 0x88, 0x20)); /* mov [eax], ah */
	expect(&m, 2, 1, 0x11, SEG_DS, 0x11111111);
	gpr[4] = 0xabcd;
	assert_true(DECODE(64, &m, 0x40, 0x88, 0x20)); /* mov [rax], spl */
	expect(&m, 3, 1, 0xcd, SEG_DS, gpr[0]);
	assert_true(DECODE(32, &m, 0xc6, 0x00, 0x80)); /* mov byte [eax], 0x80 */
	expect(&m, 3, 1, 0x80, SEG_DS, 0x11111111);
}

/* 16-bit code: 16-bit operands and Table 2-1 addressing; 66/67 give 32. */
static void test_16bit(void **state)
{
	(void)state;
	struct mov_store m;
	assert_true(DECODE(16, &m, 0x89, 0x47, 0x10)); /* mov [bx+0x10], ax */
	expect(&m, 3, 2, 0x1111, SEG_DS, 0x4444 + 0x10);
	assert_true(DECODE(16, &m, 0x66, 0x89, 0x02)); /* mov [bp+si], eax */
	expect(&m, 3, 4, 0x11111111, SEG_SS, (0x6666 + 0x7777) & 0xffff);
	assert_true(DECODE(16, &m, 0x89, 0x0e, 0x34, 0x12)); /* mov [0x1234], cx */
	expect(&m, 4, 2, 0x2222, SEG_DS, 0x1234);
	/* mov dword [0xfee00300], eax in real mode: 67 66 */
	assert_true(DECODE(16, &m, 0x67, 0x66, 0x89, 0x05, 0x00, 0x03, 0xe0, 0xfe));
	expect(&m, 8, 4, 0x11111111, SEG_DS, 0xfee00300);
}

static void test_segment_override(void **state)
{
	(void)state;
	struct mov_store m;
	assert_true(DECODE(32, &m, 0x64, 0x89, 0x03));
	assert_int_equal(m.seg, SEG_FS);
	assert_true(DECODE(32, &m, 0x26, 0x3e, 0x89, 0x45, 0x00)); /* the last one counts */
	assert_int_equal(m.seg, SEG_DS);
	assert_true(DECODE(64, &m, 0x65, 0x48, 0x89, 0x03));
	assert_int_equal(m.seg, SEG_GS);
	assert_int_equal(m.size, 8);
}

/* Not stores, other instructions, LOCK (#UD with MOV), REP, truncated,
 * longer than 15 bytes. */
static void test_rejected(void **state)
{
	(void)state;
	struct mov_store m;
	assert_false(DECODE(32, &m, 0x89, 0xc3));                /* mov ebx, eax */
	assert_false(DECODE(32, &m, 0x8b, 0x03));                /* a load */
	assert_false(DECODE(32, &m, 0x87, 0x03));                /* xchg */
	assert_false(DECODE(32, &m, 0xc7, 0x08, 0, 0, 0, 0));    /* C7 /1 */
	assert_false(DECODE(32, &m, 0xf0, 0x89, 0x03));          /* lock */
	assert_false(DECODE(32, &m, 0xf3, 0x89, 0x03));          /* rep */
	assert_false(DECODE(32, &m, 0x89, 0x83, 0x00, 0x03, 0x00)); /* disp32 cut */
	assert_false(DECODE(32, &m, 0xc7, 0x03, 0x00, 0x00, 0x00)); /* imm32 cut */
	assert_false(DECODE(32, &m, 0x89));
	assert_false(DECODE(32, &m, 0x66));
	assert_false(DECODE(32, &m, 0x40, 0x89, 0x03));          /* INC EAX outside 64-bit mode */
	assert_false(DECODE(32, &m, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
			    0x89, 0x83, 0x00, 0x03, 0x00, 0x00));     /* 19 bytes */
	assert_true(DECODE(32, &m, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
			   0x89, 0x03));                              /* 15 bytes */
	assert_int_equal(m.len, 15);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_common_forms, setup),
		cmocka_unit_test_setup(test_sib, setup),
		cmocka_unit_test_setup(test_sizes, setup),
		cmocka_unit_test_setup(test_16bit, setup),
		cmocka_unit_test_setup(test_segment_override, setup),
		cmocka_unit_test_setup(test_rejected, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
