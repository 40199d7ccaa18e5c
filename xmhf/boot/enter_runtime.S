/* u64 uefi_enter_runtime(entry, struct boot_info *bi, struct boot_uefi_context *ctx)
 * (SysV ABI; xmhf/bootinfo.h): record the caller's (the UEFI firmware's) state the
 * VMCS guest-state area needs
 * (SDM Vol. 3 25.4) in *ctx, with the resume point 1: below and the stack
 * as it will be there, then enter the runtime with interrupts off. The
 * runtime starts the boot CPU's guest from *ctx with RAX = 0
 * (BOOT_GUEST_UEFI_RETURN), so that this function returns 0 in VMX
 * non-root operation. */
#include <xmhf/bootinfo.h>
#include <xmhf/msr.h>

/* ctx->field = MSR (ctx in R8) */
	.macro save_msr msr, offset
	mov $\msr, %ecx
	rdmsr
	shl $32, %rdx
	or %rdx, %rax
	mov %rax, \offset(%r8)
	.endm

	.text
	.global uefi_enter_runtime
uefi_enter_runtime:
	push %rbx
	push %rbp
	push %r12
	push %r13
	push %r14
	push %r15
	mov %rdi, %r9			/* entry */
	mov %rdx, %r8			/* ctx */
	mov %cr0, %rax
	mov %rax, UEFI_CTX_CR0(%r8)
	mov %cr3, %rax
	mov %rax, UEFI_CTX_CR3(%r8)
	mov %cr4, %rax
	mov %rax, UEFI_CTX_CR4(%r8)
	save_msr MSR_IA32_EFER, UEFI_CTX_EFER
	save_msr MSR_IA32_PAT, UEFI_CTX_PAT
	save_msr MSR_IA32_FS_BASE, UEFI_CTX_FS_BASE
	save_msr MSR_IA32_GS_BASE, UEFI_CTX_GS_BASE
	sub $16, %rsp
	sgdt (%rsp)
	movzwl (%rsp), %eax
	mov %ax, UEFI_CTX_GDTR_LIMIT(%r8)
	mov 2(%rsp), %rax
	mov %rax, UEFI_CTX_GDTR_BASE(%r8)
	sidt (%rsp)
	movzwl (%rsp), %eax
	mov %ax, UEFI_CTX_IDTR_LIMIT(%r8)
	mov 2(%rsp), %rax
	mov %rax, UEFI_CTX_IDTR_BASE(%r8)
	add $16, %rsp
	mov %cs, UEFI_CTX_CS(%r8)
	mov %ss, UEFI_CTX_SS(%r8)
	mov %ds, UEFI_CTX_DS(%r8)
	mov %es, UEFI_CTX_ES(%r8)
	mov %fs, UEFI_CTX_FS(%r8)
	mov %gs, UEFI_CTX_GS(%r8)
	str UEFI_CTX_TR(%r8)
	sldt UEFI_CTX_LDTR(%r8)
	pushfq
	pop UEFI_CTX_RFLAGS(%r8)
	lea 1f(%rip), %rax
	mov %rax, UEFI_CTX_RIP(%r8)
	mov %rsp, UEFI_CTX_RSP(%r8)
	cli
	mov %rsi, %rdi			/* the runtime's boot_info */
	jmp *%r9
1:	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %rbp
	pop %rbx
	ret
	.section .note.GNU-stack, "", @progbits
