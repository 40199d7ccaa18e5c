/* The PAL functions (pal_funcs.c). They live in the section pal_text, which register_pal()
 * copies to the PAL's code page, so they are position independent and call nothing outside it
 * (check_pal_code.sh verifies the object). Each also runs natively, at its link address: the
 * reference a PAL's result is compared with. */
#ifndef PAL_FUNCS_H
#define PAL_FUNCS_H

#include <stdint.h>

/* Set in a function's result when the detection CPUID says it runs inside a PAL; the other
 * bits are the same natively and in a PAL. */
#define PAL_RESULT_IN_PAL ((uintptr_t)1 << (sizeof(uintptr_t) * 8 - 1))

/* main: returns a + *b, then *b += 1. */
uintptr_t my_pal(uintptr_t a, uintptr_t *b);
/* test_args bit 1: an order-sensitive hash of ten integers. */
uintptr_t pal_10_int(uintptr_t a0, uintptr_t a1, uintptr_t a2, uintptr_t a3, uintptr_t a4,
		     uintptr_t a5, uintptr_t a6, uintptr_t a7, uintptr_t a8, uintptr_t a9);
/* test_args bit 2: hashes the ten words pointed to, then increments each. */
uintptr_t pal_10_ptr(uintptr_t *p0, uintptr_t *p1, uintptr_t *p2, uintptr_t *p3, uintptr_t *p4,
		     uintptr_t *p5, uintptr_t *p6, uintptr_t *p7, uintptr_t *p8, uintptr_t *p9);
/* test_args bit 4: five (words, buffer) pairs: hashes every word, then rewrites it. */
uintptr_t pal_5_ptr(uintptr_t n0, uintptr_t *p0, uintptr_t n1, uintptr_t *p1, uintptr_t n2,
		    uintptr_t *p2, uintptr_t n3, uintptr_t *p3, uintptr_t n4, uintptr_t *p4);

/* pal_bad: what a PAL must not do, by `how` (PAL_ESCAPE_*); `arg` an address or count. Only a
 * loop that ends (PAL_ESCAPE_NONE) returns 0; the others never return by themselves. */
enum {
	PAL_ESCAPE_NONE,    /* returns arg + 1 */
	PAL_ESCAPE_READ,    /* reads the word at arg (outside the PAL: #PF) */
	PAL_ESCAPE_SYSCALL, /* SYSCALL (EFER.SCE is clear in a PAL: #UD) */
	PAL_ESCAPE_INT80,   /* INT 0x80 with EAX = 1, EBX = 7: exit(7) if it reached the kernel */
	PAL_ESCAPE_VMCALL,  /* TV_HC_TEST from inside */
	PAL_ESCAPE_UD2,     /* an invalid opcode */
	PAL_ESCAPE_LOOP,    /* loops forever */
	PAL_ESCAPE_CPUID_LOOP, /* loops forever on CPUID (one exit each) */
};
uintptr_t pal_escape(uintptr_t how, uintptr_t arg);

/* The bounds of pal_text (defined by the linker). */
extern const char __start_pal_text[], __stop_pal_text[];

#endif
