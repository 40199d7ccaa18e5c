/* Multiboot v1 entry: 32-bit protected mode, paging off (Multiboot 0.6.96
 * section 3.2). Identity-maps [0, 4 GiB) with 2 MiB pages, enters long mode
 * (SDM Vol. 3 10.8.5) and calls loader_main(magic, mbi). */
#include <xmhf/multiboot.h>

#define MB_FLAGS (MULTIBOOT_HEADER_PAGE_ALIGN | MULTIBOOT_HEADER_MEMORY_INFO)
#define LOADER_STACK_SIZE 16384
#define CR0_PE 0x00000001
#define CR0_NE 0x00000020
#define CR0_PG 0x80000000
#define CR4_PAE 0x00000020
#define MSR_EFER 0xC0000080
#define EFER_LME 0x00000100
#define PDE_LARGE_RW_P 0x83

	.section .multiboot, "a"
	.balign 4
	.long MULTIBOOT_HEADER_MAGIC
	.long MB_FLAGS
	.long -(MULTIBOOT_HEADER_MAGIC + MB_FLAGS)

	.bss
	.balign 4096
loader_pml4:	.skip 4096
loader_pdpt:	.skip 4096
loader_pd:	.skip 4096 * 4
loader_stack:	.skip LOADER_STACK_SIZE
loader_stack_top:

	.data
	.balign 8
loader_gdt:
	.quad 0
	.quad 0x00af9a000000ffff	/* 0x08: 64-bit code */
	.quad 0x00cf92000000ffff	/* 0x10: data */
loader_gdt_end:
loader_gdtr:
	.word loader_gdt_end - loader_gdt - 1
	.quad loader_gdt

	.section .text.entry32, "ax"
	.code32
	.global loader_start32
loader_start32:
	cli
	cld
	mov	%eax, %ebp		/* multiboot magic */
	mov	%ebx, %esi		/* multiboot info */
	mov	$__bss_start, %edi	/* zero .bss */
	mov	$__bss_end, %ecx
	sub	%edi, %ecx
	xor	%eax, %eax
	rep stosb
	mov	$loader_stack_top, %esp

	mov	$loader_pdpt + 3, %eax	/* PML4[0] -> PDPT */
	mov	%eax, loader_pml4
	mov	$loader_pd + 3, %eax	/* PDPT[0..3] -> 4 page directories */
	xor	%ecx, %ecx
1:	mov	%eax, loader_pdpt(,%ecx,8)
	add	$4096, %eax
	inc	%ecx
	cmp	$4, %ecx
	jb	1b
	xor	%ecx, %ecx		/* 2048 x 2 MiB = 4 GiB; high halves stay 0 */
2:	mov	%ecx, %eax
	shl	$21, %eax
	or	$PDE_LARGE_RW_P, %eax
	mov	%eax, loader_pd(,%ecx,8)
	inc	%ecx
	cmp	$2048, %ecx
	jb	2b

	mov	$loader_pml4, %eax
	mov	%eax, %cr3
	mov	%cr4, %eax
	or	$CR4_PAE, %eax
	mov	%eax, %cr4
	mov	$MSR_EFER, %ecx
	rdmsr
	or	$EFER_LME, %eax
	wrmsr
	mov	%cr0, %eax
	or	$(CR0_PG | CR0_PE | CR0_NE), %eax
	and	$0x9fffffff, %eax	/* caches on: clear CD, NW */
	mov	%eax, %cr0
	lgdt	loader_gdtr
	ljmp	$0x08, $loader_start64

	.code64
loader_start64:
	mov	$0x10, %eax
	mov	%eax, %ds
	mov	%eax, %es
	mov	%eax, %ss
	mov	%eax, %fs
	mov	%eax, %gs
	mov	%ebp, %edi
	/* %esi = mbi */
	call	loader_main
3:	cli
	hlt
	jmp	3b

	.section .note.GNU-stack, "", @progbits
