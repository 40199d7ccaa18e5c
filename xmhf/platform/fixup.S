/* Fault-safe RDMSR, WRMSR and XSETBV (xmhf/fixup.h). Each possibly faulting instruction has an
 * .ex_table entry {faulting RIP, fix-up RIP}; the exception handler resumes
 * at the fix-up, which returns false. */
	.macro ex_entry fault, fixup
	.pushsection .ex_table, "a"
	.balign 8
	.quad \fault, \fixup
	.popsection
	.endm

	.text
/* bool rdmsr_safe(u32 msr, u64 *value) */
	.global rdmsr_safe
rdmsr_safe:
	mov	%edi, %ecx
1:	rdmsr
	shl	$32, %rdx
	or	%rdx, %rax
	mov	%rax, (%rsi)
	mov	$1, %eax
	ret
2:	xor	%eax, %eax
	ret
	ex_entry 1b, 2b

/* bool wrmsr_safe(u32 msr, u64 value) */
	.global wrmsr_safe
wrmsr_safe:
	mov	%edi, %ecx
	mov	%rsi, %rax
	mov	%rsi, %rdx
	shr	$32, %rdx
3:	wrmsr
	mov	$1, %eax
	ret
4:	xor	%eax, %eax
	ret
	ex_entry 3b, 4b

/* bool xsetbv_safe(u32 xcr, u64 value) */
	.global xsetbv_safe
xsetbv_safe:
	mov	%edi, %ecx
	mov	%rsi, %rax
	mov	%rsi, %rdx
	shr	$32, %rdx
5:	xsetbv
	mov	$1, %eax
	ret
6:	xor	%eax, %eax
	ret
	ex_entry 5b, 6b

	.section .note.GNU-stack, "", @progbits
