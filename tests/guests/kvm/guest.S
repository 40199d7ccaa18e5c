/* guest.S -- the code kvmtest runs in its VMs: 16-bit real mode, copied to GUEST_CODE_GPA and
 * entered with CS = 0. Position independent (relative jumps only); uses no RAM, so several
 * vCPUs can run it at once. The host side of each step is in kvmtest.c. */
#include "guest_abi.h"

	.section .rodata.guest, "a"
	.code16
	.globl guest_code, guest_suite, guest_bench, guest_code_end
guest_code:

guest_suite:
1:	xorl	%eax, %eax		/* CPUID leaf 0, ESI times: each one exits to KVM (in kernel) */
	cpuid
	decl	%esi
	jnz	1b
	outb	%al, $PORT_CPUID_DONE
	movb	$OUT8_VALUE, %al
	outb	%al, $PORT_OUT8
	inw	$PORT_IN16, %ax
	incw	%ax
	outw	%ax, $PORT_ECHO16
	movw	$GUEST_MMIO_SEG, %ax
	movw	%ax, %es
	movl	$MMIO_WRITE_VALUE, %es:0
	movl	%es:MMIO_READ_OFFSET, %eax
	outl	%eax, $PORT_ECHO32
	hlt

guest_bench:
	rdtsc
	movl	%eax, %edi
	movl	%edx, %ebp
1:	xorl	%eax, %eax
	cpuid
	decl	%esi
	jnz	1b
	rdtsc
	outb	%al, $PORT_BENCH_DONE
	hlt

guest_code_end:
	.code64
	.section .note.GNU-stack, "", @progbits
