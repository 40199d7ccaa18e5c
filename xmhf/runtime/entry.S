/* Runtime entry points: the boot CPU's entry from the loader, the AP
 * trampoline, and the exception stubs. */
#include <runtime/asm_offsets.h>

	.text
/* void runtime_entry(struct boot_info *bi): from the loader, RDI = bi. */
	.global runtime_entry
runtime_entry:
	lea	percpu_pages + PERCPU_PAGES_STACK_TOP_0(%rip), %rsp
	xor	%ebp, %ebp
	call	runtime_main
1:	cli
	hlt
	jmp	1b

/* Exception stubs: push a zero error code where the CPU pushes none, then
 * the vector, and call exception_entry(struct exception_frame *). */
	.macro isr vector, has_error_code
	.balign 16
isr_\vector:
	.if !\has_error_code
	pushq	$0
	.endif
	pushq	$\vector
	jmp	isr_common
	.endm

	.irp v, 0,1,2,3,4,5,6,7,9,15,16,18,19,20,22,23,24,25,26,27,28,31
	isr \v, 0
	.endr
	.irp v, 8,10,11,12,13,14,17,21,29,30
	isr \v, 1
	.endr

isr_common:
	push	%rax
	push	%rcx
	push	%rdx
	push	%rbx
	push	%rbp
	push	%rsi
	push	%rdi
	push	%r8
	push	%r9
	push	%r10
	push	%r11
	push	%r12
	push	%r13
	push	%r14
	push	%r15
	mov	%rsp, %rdi
	cld
	call	exception_entry		/* returns only after a fix-up */
	pop	%r15
	pop	%r14
	pop	%r13
	pop	%r12
	pop	%r11
	pop	%r10
	pop	%r9
	pop	%r8
	pop	%rdi
	pop	%rsi
	pop	%rbp
	pop	%rbx
	pop	%rdx
	pop	%rcx
	pop	%rax
	add	$16, %rsp
	iretq

	.section .rodata
	.balign 8
	.global isr_stubs
isr_stubs:
	.irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	.quad isr_\v
	.endr

	.text
/* void nmi_unblock(void): an IRET to the next instruction ends NMI
 * blocking (SDM Vol. 3 7.7.1). */
	.global nmi_unblock
nmi_unblock:
	mov	%ss, %eax
	push	%rax
	lea	8(%rsp), %rax
	push	%rax
	pushfq
	mov	%cs, %eax
	push	%rax
	lea	7f(%rip), %rax
	push	%rax
	iretq
7:	ret

/* AP trampoline, copied to TRAMPOLINE_PA (< 1 MiB, 4 KiB aligned) and
 * started by SIPI in real mode (SDM Vol. 3 9.4.4). The boot CPU fills the
 * data words at its end before each SIPI. It enters long mode with the
 * runtime's page tables and calls ap_main(index) on the AP's own stack. */
#define TRAMP(sym) ((sym) - ap_trampoline + TRAMPOLINE_PA)

	.text
	.global ap_trampoline, ap_trampoline_end
	.global ap_trampoline_cr3, ap_trampoline_stack, ap_trampoline_index
	.code16
ap_trampoline:
	cli
	cld
	xor	%ax, %ax
	mov	%ax, %ds
	lgdtl	TRAMP(ap_trampoline_gdtr)
	mov	%cr0, %eax
	or	$1, %eax		/* PE */
	mov	%eax, %cr0
	ljmpl	$0x08, $TRAMP(ap_protected)

	.code32
ap_protected:
	mov	$0x10, %ax
	mov	%ax, %ds
	mov	%ax, %es
	mov	%ax, %ss
	mov	%cr4, %eax
	or	$0x20, %eax		/* PAE */
	mov	%eax, %cr4
	mov	TRAMP(ap_trampoline_cr3), %eax
	mov	%eax, %cr3
	mov	$0xc0000080, %ecx	/* EFER.LME */
	rdmsr
	or	$0x100, %eax
	wrmsr
	mov	%cr0, %eax
	or	$0x80000021, %eax	/* PG, NE, PE */
	and	$0x9fffffff, %eax	/* caches on */
	mov	%eax, %cr0
	ljmp	$0x18, $TRAMP(ap_long)

	.code64
ap_long:
	mov	TRAMP(ap_trampoline_stack), %rsp
	mov	TRAMP(ap_trampoline_index), %edi
	movabs	$ap_main, %rax
	call	*%rax
2:	cli
	hlt
	jmp	2b

	.balign 8
ap_trampoline_gdt:
	.quad 0
	.quad 0x00cf9a000000ffff	/* 0x08: 32-bit code */
	.quad 0x00cf92000000ffff	/* 0x10: data */
	.quad 0x00af9a000000ffff	/* 0x18: 64-bit code */
ap_trampoline_gdtr:
	.word ap_trampoline_gdtr - ap_trampoline_gdt - 1
	.long TRAMP(ap_trampoline_gdt)
	.balign 8
ap_trampoline_cr3:	.quad 0
ap_trampoline_stack:	.quad 0
ap_trampoline_index:	.quad 0
ap_trampoline_end:

	.section .note.GNU-stack, "", @progbits
