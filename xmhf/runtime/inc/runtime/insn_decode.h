/* Decoding the guest's MOV stores to memory, for the writes the hypervisor
 * emulates (the xAPIC page, apic_trap.c): MOV r/m8,r8 (88 /r), MOV
 * r/m,r (89 /r), MOV r/m8,imm8 (C6 /0), MOV r/m,imm (C7 /0) with legacy
 * prefixes, REX and every addressing mode (SDM Vol. 2 chapter 2, MOV). */
#ifndef RUNTIME_INSN_DECODE_H
#define RUNTIME_INSN_DECODE_H

#include <xmhf/types.h>

#define INSN_MAX_LEN 15

struct mov_store {
	u32 len;    /* instruction length */
	u32 size;   /* bytes stored: 1, 2, 4 or 8 */
	u64 value;  /* what is stored */
	u32 seg;    /* segment register of the operand (enum seg_reg) */
	u64 offset; /* effective address, wrapped to the address size */
};

/* The instruction in insn[0, avail) at 'rip' in code of 'code_bits' (16,
 * 32 or 64: CS.D, IA-32e mode with CS.L), gpr[] the 16 GPRs in SDM order
 * (RSP included). False if it is not one of those forms, or longer than
 * avail. */
bool decode_mov_store(const u8 *insn, u32 avail, u32 code_bits, u64 rip, const u64 gpr[16],
		      struct mov_store *m);

#endif
