/* The L1 of nested/'s unit tests (test_nested_vmx.c, test_nested_l2.c):
 * L1 in 64-bit mode at CPL 0 with a 1 GiB identity page, the Bochs
 * corei7_skylake_x capability MSRs, on the fake VMCS01 and guest memory;
 * each VMX instruction is one exit with its instruction information and
 * displacement, its outcome what L1 sees. */
#ifndef NESTED_L1_H
#define NESTED_L1_H

#include "fake_cpu.h"
#include <nested/cpu.h>
#include <nested/errors.h>
#include <nested/operand.h>
#include <xmhf/nested.h>
#include <xmhf/paging.h>
#include <xmhf/x86/segment.h>

#define RIP0 0x7000ull
#define INSN_LEN 4
#define ARITH_FLAGS (RFLAGS_CF | RFLAGS_PF | RFLAGS_AF | RFLAGS_ZF | RFLAGS_SF | RFLAGS_OF)
#define PML4 0x1000ull
#define PDPT 0x2000ull
#define VMXON_REGION 0x10000ull
#define VMCS_A 0x11000ull
#define VMCS_B 0x12000ull
#define OPERAND 0x20000ull  /* where memory operands live */
#define REVISION 0x2b
#define MAXPHYADDR 39
#define RBX 3
#define RCX 1
#define RDX 2
#define ADDR64 (2u << 7)
#define ADDR32 (1u << 7)
#define SEG(s) ((u32)(s) << 15)
#define BASE(r) ((u32)(r) << 23)
#define REG1(r) ((u32)(r) << 3)
#define REG2(r) ((u32)(r) << 28)
/* [rbx] in DS, 64-bit addressing */
#define MEM_RBX (ADDR64 | SEG(SEG_DS) | INSN_INFO_NO_INDEX | BASE(RBX))

enum outcome { SUCCEED, FAIL_INVALID, FAIL_VALID, FAULT };

extern struct guest_regs regs;

/* CMocka setup: fresh fakes, L1 in long mode, revision ids in the regions. */
int setup(void **state);
void l1_long_mode(void);
/* EPT01 of CPU 0 over the fake guest memory (write-back), for EPT01's rights. */
void ept01_of_cpu0(void);
/* One VMX instruction exit, and its outcome for L1. */
void exec(u32 reason, u32 info, u64 disp);
enum outcome outcome(void);
u32 fault_vector(void);
/* An instruction with a 64-bit pointer operand at OPERAND. */
enum outcome with_pointer(u32 reason, u64 pointer);
u64 l1_vmread(u64 encoding, enum outcome *o);
enum outcome l1_vmwrite(u64 encoding, u64 value);
/* The error number of the last VMfailValid, as L1 reads it. */
u64 insn_error(void);
void vmxon_ok(void);
void vmptrld_ok(u64 vmcs);

#endif
