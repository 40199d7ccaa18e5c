/* Multiboot v1 entry of the bench guest: GRUB leaves us in 32-bit protected mode, paging off,
 * interrupts disabled. Set up a stack and run bench_main(). */
#define MB_MAGIC 0x1badb002
#define MB_FLAGS 0x00000003   /* page-aligned modules, memory info */
	.section .multiboot, "a"
	.align 4
	.long MB_MAGIC, MB_FLAGS, -(MB_MAGIC + MB_FLAGS)

	.text
	.globl _start
_start:
	cli
	mov $stack_top, %esp
	call bench_main
1:	hlt
	jmp 1b

	.bss
	.align 16
	.space 16384
stack_top:
