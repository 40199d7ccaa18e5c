/* MOV stores to memory (see runtime/insn_decode.h). SDM Vol. 2 2.1
 * (prefixes, ModR/M, SIB, displacement, immediate), 2.1.5 Tables 2-1 to
 * 2-3 (16/32-bit addressing), 2.2.1 (REX, RIP-relative addressing). */
#include <runtime/insn_decode.h>
#include <xmhf/x86/segment.h>

#define OP_MOV_RM8_R8 0x88
#define OP_MOV_RM_R 0x89
#define OP_MOV_RM8_IMM8 0xc6
#define OP_MOV_RM_IMM 0xc7
#define PREFIX_OPSIZE 0x66
#define PREFIX_ADDRSIZE 0x67
#define REX_W BIT(3)
#define REX_R BIT(2)
#define REX_X BIT(1)
#define REX_B BIT(0)
#define GPR_RSP 4
#define GPR_RBP 5

struct cursor {
	const u8 *p;
	u32 n, avail;
};

static bool take(struct cursor *c, u32 bytes, u64 *v)
{
	if (c->n + bytes > c->avail || c->n + bytes > INSN_MAX_LEN)
		return false;
	*v = 0;
	for (u32 i = 0; i < bytes; i++)
		*v |= (u64)c->p[c->n + i] << (8 * i);
	c->n += bytes;
	return true;
}

/* A little-endian signed field of 1, 2 or 4 bytes. */
static bool take_signed(struct cursor *c, u32 bytes, u64 *v)
{
	if (!take(c, bytes, v))
		return false;
	u32 bits = 8 * bytes;
	*v = (u64)((i64)(*v << (64 - bits)) >> (64 - bits));
	return true;
}

static u32 segment_prefix(u8 b)
{
	switch (b) {
	case 0x26: return SEG_ES;
	case 0x2e: return SEG_CS;
	case 0x36: return SEG_SS;
	case 0x3e: return SEG_DS;
	case 0x64: return SEG_FS;
	case 0x65: return SEG_GS;
	default: return ~0u;
	}
}

/* Table 2-1: [BX+SI], [BX+DI], [BP+SI], [BP+DI], [SI], [DI], [BP], [BX] */
static bool ea16(struct cursor *c, u32 mod, u32 rm, const u64 gpr[16], u64 *ea, u32 *seg)
{
	static const u8 base[8] = { 3, 3, 5, 5, 6, 7, 5, 3 }; /* BX, BP, SI, DI numbers */
	static const u8 index[8] = { 6, 7, 6, 7, 0xff, 0xff, 0xff, 0xff };
	u64 disp = 0;

	if (mod == 0 && rm == 6) {
		*seg = SEG_DS;
		return take(c, 2, ea);
	}
	if ((mod == 1 && !take_signed(c, 1, &disp)) || (mod == 2 && !take(c, 2, &disp)))
		return false;
	*seg = base[rm] == GPR_RBP ? SEG_SS : SEG_DS;
	*ea = (gpr[base[rm]] + (index[rm] != 0xff ? gpr[index[rm]] : 0) + disp) & 0xffff;
	return true;
}

/* Tables 2-2 and 2-3 with REX.X/REX.B; mod 0, r/m 5 is disp32, RIP-relative
 * in 64-bit mode (then *rip_relative). */
static bool ea32_64(struct cursor *c, u32 mod, u32 rm, u8 rex, bool long_mode, const u64 gpr[16], u64 *ea,
		    u32 *seg, bool *rip_relative)
{
	u64 disp = 0, sum = 0;
	u32 base = rm;

	*seg = SEG_DS;
	if (rm == 4) {
		u64 sib;
		if (!take(c, 1, &sib))
			return false;
		u32 index = ((sib >> 3) & 7) | ((rex & REX_X) ? 8 : 0);
		base = sib & 7;
		if (index != GPR_RSP)
			sum = gpr[index] << (sib >> 6);
		if (base == GPR_RBP && mod == 0) {
			if (!take_signed(c, 4, &disp))
				return false;
			*ea = sum + disp;
			return true;
		}
	} else if (rm == 5 && mod == 0) {
		*rip_relative = long_mode;
		return take_signed(c, 4, ea);
	}
	base |= (rex & REX_B) ? 8 : 0;
	if (base == GPR_RSP || base == GPR_RBP)
		*seg = SEG_SS; /* 3.7.4: (R|E)SP and (R|E)BP bases default to SS */
	if ((mod == 1 && !take_signed(c, 1, &disp)) || (mod == 2 && !take_signed(c, 4, &disp)))
		return false;
	*ea = sum + gpr[base] + disp;
	return true;
}

/* 88 /r's source: with any REX, SPL..DIL and R8B..R15B; without, AH..BH for
 * 4..7 (Table 3-1 "Register codes"). */
static u64 byte_register(const u64 gpr[16], u32 reg, u8 rex)
{
	if (!rex && reg >= 4)
		return (gpr[reg - 4] >> 8) & 0xff;
	return gpr[reg] & 0xff;
}

bool decode_mov_store(const u8 *insn, u32 avail, u32 code_bits, u64 rip, const u64 gpr[16],
		      struct mov_store *m)
{
	struct cursor c = { insn, 0, avail };
	bool opsize = false, addrsize = false, long_mode = code_bits == 64, rip_relative = false;
	u32 seg_override = ~0u;
	u8 rex = 0;
	u64 b, modrm, ea = 0;

	for (;;) { /* legacy prefixes, then REX (2.2.1: a REX before a prefix is ignored) */
		if (!take(&c, 1, &b))
			return false;
		if (b == PREFIX_OPSIZE)
			opsize = true;
		else if (b == PREFIX_ADDRSIZE)
			addrsize = true;
		else if (segment_prefix((u8)b) != ~0u)
			seg_override = segment_prefix((u8)b);
		else if (long_mode && (b & 0xf0) == 0x40) {
			rex = (u8)b;
			continue;
		} else
			break; /* LOCK (#UD with MOV), REP and the rest: not handled */
		rex = 0;
	}
	u8 op = (u8)b;
	bool byte_op = op == OP_MOV_RM8_R8 || op == OP_MOV_RM8_IMM8;
	if (op != OP_MOV_RM8_R8 && op != OP_MOV_RM_R && op != OP_MOV_RM8_IMM8 && op != OP_MOV_RM_IMM)
		return false;
	if (!take(&c, 1, &modrm))
		return false;
	u32 mod = (u32)modrm >> 6, reg = ((u32)modrm >> 3) & 7, rm = (u32)modrm & 7;
	bool imm = op == OP_MOV_RM8_IMM8 || op == OP_MOV_RM_IMM;
	if (mod == 3 || (imm && reg != 0))
		return false; /* a register destination; C6/C7 with reg != 0 */

	/* 2.2.1.2 / Table 3-4: operand and address sizes */
	m->size = byte_op ? 1 : (rex & REX_W) ? 8 : ((code_bits == 16) != opsize) ? 2 : 4;
	u32 addr_bits = long_mode ? (addrsize ? 32 : 64) : ((code_bits == 16) != addrsize) ? 16 : 32;
	if (addr_bits == 16 ? !ea16(&c, mod, rm, gpr, &ea, &m->seg)
			    : !ea32_64(&c, mod, rm, rex, long_mode, gpr, &ea, &m->seg, &rip_relative))
		return false;

	if (imm) { /* imm8, imm16 or imm32 (sign-extended for a 64-bit store) */
		if (!take_signed(&c, m->size == 1 ? 1 : m->size == 2 ? 2 : 4, &m->value))
			return false;
	} else {
		reg |= (rex & REX_R) ? 8 : 0;
		m->value = byte_op ? byte_register(gpr, reg, rex) : gpr[reg];
	}
	if (m->size < 8)
		m->value &= BIT(8 * m->size) - 1;
	m->len = c.n;
	if (rip_relative)
		ea += rip + c.n;
	m->offset = addr_bits == 64 ? ea : ea & (BIT(addr_bits) - 1);
	if (seg_override != ~0u)
		m->seg = seg_override;
	return true;
}
