/* Operands of L1's VMX instructions, from the VM-exit instruction-
 * information field and the exit qualification (SDM Vol. 3 28.2.5, Table
 * 28-13 and 28-14): registers, and memory through L1's segmentation and
 * paging at CPL 0 (Vol. 3 5.3 limits, 3.4.5 types, Vol. 1 3.3.7.1
 * canonical addresses, Vol. 3 chapter 4 paging). A failed access injects
 * the fault the instruction raises: #GP(0), #SS(0) or #PF with CR2 and
 * the error code; the instruction then does nothing else. */
#ifndef NESTED_OPERAND_H
#define NESTED_OPERAND_H

#include <xmhf/guest.h>

/* VM-exit instruction-information field for VMX instructions */
#define INSN_INFO_SCALE(i) ((i) & 3)
#define INSN_INFO_REG1(i) (((i) >> 3) & 0xf)
#define INSN_INFO_ADDR_SIZE(i) (((i) >> 7) & 7) /* 0: 16-bit, 1: 32-bit, 2: 64-bit */
#define INSN_INFO_REG_OPERAND BIT(10)           /* VMREAD/VMWRITE: reg1 rather than memory */
#define INSN_INFO_SEG(i) (((i) >> 15) & 7)
#define INSN_INFO_INDEX(i) (((i) >> 18) & 0xf)
#define INSN_INFO_NO_INDEX BIT(22)
#define INSN_INFO_BASE(i) (((i) >> 23) & 0xf)
#define INSN_INFO_NO_BASE BIT(27)
#define INSN_INFO_REG2(i) (((i) >> 28) & 0xf)

#define GPR_RSP 4

/* The exit's instruction: its operand size (4 or 8 bytes: 8 in 64-bit
 * mode, 26.11.2 / the instructions' "Description") and where its
 * operands are. */
struct vmx_insn {
	struct guest_regs *regs;
	u32 info;   /* VMX_INSTRUCTION_INFO */
	u64 disp;   /* EXIT_QUALIFICATION: the displacement, sign-extended */
	bool code64;
	u32 opsize; /* bytes */
};

void vmx_insn_decode(struct vmx_insn *in, struct guest_regs *regs);

/* GPR n (SDM order; RSP from the VMCS), the low opsize bytes. */
u64 insn_reg_read(const struct vmx_insn *in, u32 n);
/* Write GPR n: the value, zero-extended; outside 64-bit mode only bits 31:0 matter. */
void insn_reg_write(const struct vmx_insn *in, u32 n, u64 value);
/* The memory operand: read or write 'len' bytes. False: the fault is injected. */
bool insn_mem_read(const struct vmx_insn *in, void *buf, u32 len);
bool insn_mem_write(const struct vmx_insn *in, const void *buf, u32 len);

#endif
