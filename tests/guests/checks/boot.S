/* Multiboot v1 entry, GDT, exception stubs with fault recovery, AP real-mode trampoline. */
#include "layout.h"

#define MB_MAGIC 0x1BADB002
#define MB_FLAGS 0x00000003              /* bit 0: align modules, bit 1: memory map wanted */

    .section .multiboot, "a"
    .align 4
    .long MB_MAGIC, MB_FLAGS, -(MB_MAGIC + MB_FLAGS)

    .text
    .code32
    .globl _start
_start:                                  /* GRUB: protected mode, paging off, EAX magic, EBX mbi */
    cli
    cld
    mov %eax, %edx
    mov $__bss_start, %edi
    mov $__bss_end, %ecx
    sub %edi, %ecx
    xor %eax, %eax
    rep stosb
    mov $stack_top, %esp
    push %ebx
    push %edx
    lgdt gdt_desc                        /* our own GDT: GRUB's may be anywhere (MB spec 3.2) */
    ljmp $0x08, $1f
1:  mov $0x10, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %fs
    mov %ax, %gs
    mov %ax, %ss
    call kmain
2:  cli
    hlt
    jmp 2b

    .section .rodata
    .align 8
gdt:
    .quad 0
    .quad 0x00CF9A000000FFFF             /* 0x08: code, base 0, 4 GiB, 32-bit */
    .quad 0x00CF92000000FFFF             /* 0x10: data, base 0, 4 GiB */
gdt_end:
gdt_desc:
    .word gdt_end - gdt - 1
    .long gdt

/* --- exceptions ----------------------------------------------------------------------------
 * 32 stubs, 16 bytes apart (C computes isr_stubs + 16 * vector). Each pushes a dummy error code
 * where the CPU pushes none (SDM Vol.3A 6.13, Table 6-1), then its vector. */
    .text
    .globl isr_stubs, isr_other
    .balign 16
isr_stubs:
    .set vec, 0
    .rept 32
    .balign 16
    .if (vec == 8) || ((vec >= 10) && (vec <= 14)) || (vec == 17) || (vec == 21) || (vec == 29) || (vec == 30)
    .else
    pushl $0
    .endif
    pushl $vec
    jmp isr_common
    .set vec, vec + 1
    .endr
    .balign 16
isr_other:                               /* vectors 32..255: never expected (IF stays 0) */
    pushl $0
    pushl $256
    jmp isr_common

/* Frame on entry: vector, error code, EIP, CS, EFLAGS. Inside try_call the handler does not
 * return to the faulting instruction: it records the fault and resumes at try_call's landing
 * point with try_call's own stack. */
isr_common:
    cmpl $0, recover_active
    je 1f
    movl $0, recover_active
    mov 0(%esp), %eax
    mov %eax, fault_vector
    mov 4(%esp), %eax
    mov %eax, fault_error
    mov 8(%esp), %eax
    mov %eax, fault_eip
    mov recover_esp, %esp
    jmp try_call_landing
1:  pusha
    push %esp
    call unexpected_exception            /* does not return */
2:  cli
    hlt
    jmp 2b

/* int try_call(void (*fn)(void *), void *arg): -1 if fn returned, else the exception vector. */
    .globl try_call
try_call:
    push %ebp
    push %ebx
    push %esi
    push %edi
    mov 20(%esp), %eax
    mov 24(%esp), %edx
    mov %esp, recover_esp
    movl $1, recover_active
    push %edx
    call *%eax
    add $4, %esp
    movl $0, recover_active
    mov $-1, %eax
    jmp 1f
try_call_landing:
    mov fault_vector, %eax
1:  pop %edi
    pop %esi
    pop %ebx
    pop %ebp
    ret

/* --- AP trampoline, copied to TRAMP_BASE ---------------------------------------------------
 * Started by SIPI vector v: real mode at physical v << 12, i.e. CS = v << 8, IP = 0 (SDM Vol.3A
 * 10.6.1, delivery mode 110 "Start-Up"). Other registers hold their INIT values (Table 9-1):
 * EDX = CPU signature, DS = SS = 0. Records EDX (before touching it), CS, CPUID.1:ECX and the
 * IP that `call` pushes, then counts itself with a locked add and halts with interrupts off. */
    .code16
    .globl ap_tramp_start, ap_tramp_ret, ap_tramp_end
ap_tramp_start:
    mov %edx, %esi
    mov %cs, %bx
    xor %ax, %ax
    mov %ax, %ds
    mov %ax, %ss
    mov $1, %di
    lock xadd %di, AP_NEXT
    cmp $AP_MAX_SLOTS, %di
    jae 1f
    shl $4, %di
    mov %esi, AP_SLOTS(%di)
    mov %bx, AP_SLOTS + 4(%di)
    mov $1, %eax                         /* who runs us: CPUID.1:ECX (VMX, hypervisor bits) */
    cpuid
    mov %ecx, AP_SLOTS + 8(%di)
    lea AP_SLOTS + 16(%di), %sp
    call ap_tramp_ret                    /* pushes the IP of ap_tramp_ret to slot + 14 */
ap_tramp_ret:
1:  lock addl $1, AP_COUNT
2:  cli
    hlt
    jmp 2b
ap_tramp_end:
    .code32

    .bss
    .align 16
    .globl fault_vector, fault_error, fault_eip
recover_active: .long 0
recover_esp:    .long 0
fault_vector:   .long 0
fault_error:    .long 0
fault_eip:      .long 0
    .align 16
stack:
    .skip 16384
stack_top:

    .section .note.GNU-stack, "", @progbits
