/* L1's VMX instructions (SDM Vol. 3 chapter 32), one function each, called
 * by nested_vmx_instruction after the #UD and CPL checks common to all. */
#ifndef NESTED_VMX_INSN_H
#define NESTED_VMX_INSN_H

#include <nested/cpu.h>
#include <nested/errors.h>
#include <nested/operand.h>

/* The outcomes of 32.2 "Conventions"; each also moves RIP past the instruction. */
void vm_succeed(void);
void vm_fail_invalid(void);
/* VMfail: VMfailValid(error) with a current VMCS12, else VMfailInvalid. */
void vm_fail(struct nested_cpu *n, enum vm_insn_error error);
/* L1's own CR0/CR4 (VMCS01 with the read shadows of the bits L0 owns). */
u64 l1_cr0(void);
u64 l1_cr4(void);

void vmx_vmxon(struct nested_cpu *n, const struct vmx_insn *in);
void vmx_vmxoff(struct nested_cpu *n, const struct vmx_insn *in);
void vmx_vmclear(struct nested_cpu *n, const struct vmx_insn *in);
void vmx_vmptrld(struct nested_cpu *n, const struct vmx_insn *in);
void vmx_vmptrst(struct nested_cpu *n, const struct vmx_insn *in);
void vmx_vmread(struct nested_cpu *n, const struct vmx_insn *in);
void vmx_vmwrite(struct nested_cpu *n, const struct vmx_insn *in);
void vmx_vmlaunch(struct nested_cpu *n, const struct vmx_insn *in, bool resume);
void vmx_invept(struct nested_cpu *n, const struct vmx_insn *in);
void vmx_invvpid(struct nested_cpu *n, const struct vmx_insn *in);
/* #UD of INVEPT/INVVPID on a processor without them (their "#UD" lists). */
bool vmx_invept_supported(const struct l1_caps *c);
bool vmx_invvpid_supported(const struct l1_caps *c);

#endif
