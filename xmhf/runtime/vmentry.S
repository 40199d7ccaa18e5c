/* VM entry and exit (SDM Vol. 3 chapters 27 and 28). HOST_RSP is the top
 * of this CPU's stack: at VM exit the stub pushes the guest GPRs there as a
 * struct guest_regs and calls vmexit_handler(regs); when it returns, the
 * registers are popped and the guest resumed.
 *
 * Just before VMRESUME/VMLAUNCH the CPU tests its request bits
 * (REQUESTS_BEFORE_ENTRY). Another CPU posts a bit, then sends an NMI (and
 * a guest NMI taken in VMX root posts REQUEST_NMI itself); if that NMI lands
 * between the test and the VM entry, the NMI handler moves RIP back to the
 * test, so neither a request nor a guest NMI waits for the next exit. */
#include <runtime/asm_offsets.h>
	.macro push_guest_regs
	push	%r15
	push	%r14
	push	%r13
	push	%r12
	push	%r11
	push	%r10
	push	%r9
	push	%r8
	push	%rdi
	push	%rsi
	push	%rbp
	sub	$8, %rsp	/* rsp slot */
	push	%rbx
	push	%rdx
	push	%rcx
	push	%rax
	.endm

	.macro pop_guest_regs
	pop	%rax
	pop	%rcx
	pop	%rdx
	pop	%rbx
	lea	8(%rsp), %rsp	/* not ADD: the flags survive (vmlaunch_requests) */
	pop	%rbp
	pop	%rsi
	pop	%rdi
	pop	%r8
	pop	%r9
	pop	%r10
	pop	%r11
	pop	%r12
	pop	%r13
	pop	%r14
	pop	%r15
	.endm

	.text
	.global vmexit_stub
vmexit_stub:
	push_guest_regs
	mov	%rsp, %rdi	/* RFLAGS is 2 after VM exit (SDM Vol. 3 28.5.3): DF clear */
	call	vmexit_handler
	pop_guest_regs
	.global vmresume_check, vmresume_insn
vmresume_check:
	testl	$PERCPU_REQUESTS_BEFORE_ENTRY, %gs:PERCPU_REQUESTS
	jnz	vmresume_requests
vmresume_insn:
	vmresume
	jmp	vmentry_fail

/* void vmx_launch(const struct guest_regs *regs) */
	.global vmx_launch
vmx_launch:
	mov	$VMCS_HOST_RSP_ENCODING, %eax
	vmread	%rax, %rsp
	sub	$128, %rsp
	mov	%rdi, %rsi	/* copy regs to the stack top, then pop them */
	mov	%rsp, %rdi
	mov	$16, %ecx
	rep movsq
	pop_guest_regs
	.global vmlaunch_check, vmlaunch_insn
vmlaunch_check:
	testl	$PERCPU_REQUESTS_BEFORE_ENTRY, %gs:PERCPU_REQUESTS
	jnz	vmlaunch_requests
vmlaunch_insn:
	vmlaunch
	jmp	vmentry_fail

/* VMfailInvalid (CF) or VMfailValid (ZF): vmentry_failed(regs, CF) with the
 * guest registers saved (above them RFLAGS and a pad, the stack stays
 * 16-byte aligned). It returns only when nested VMX took the failure of a
 * VMCS02 entry and made VMCS01 current again: then L1 resumes. */
vmentry_fail:
	pushfq
	sub	$8, %rsp
	push_guest_regs
	mov	%rsp, %rdi
	mov	136(%rsp), %rsi
	and	$1, %esi
	call	vmentry_failed
	pop_guest_regs
	add	$16, %rsp
	jmp	vmresume_check

/* Slow paths: apply the requests (and inject a guest NMI taken in VMX root)
 * with the guest registers saved, retry. */
vmresume_requests:
	push_guest_regs
	mov	%rsp, %rdi
	call	vmentry_requests
	pop_guest_regs
	jmp	vmresume_check

/* VMCS01 current in place of the VMCS02 being launched: resume it */
vmlaunch_requests:
	push_guest_regs
	mov	%rsp, %rdi
	call	vmentry_requests
	test	%al, %al	/* the pops keep the flags */
	pop_guest_regs
	jnz	vmresume_check
	jmp	vmlaunch_check

	.section .note.GNU-stack, "", @progbits
