/* MTRR memory-type lookups over ranges (SDM Vol. 3 12.11.2 - 12.11.4). */
#include <xmhf/mtrr.h>
#include <xmhf/paging.h>

#define ONE_MIB 0x100000ull

static bool type_valid(u8 t) { return t == MT_UC || t == MT_WC || t == MT_WT || t == MT_WP || t == MT_WB; }

/* 12.11.4.1: overlapping variable ranges: UC wins; WT and WB give WT;
 * other combinations are undefined (we use UC). */
static u8 combine(u8 a, u8 b)
{
	if (a == b)
		return a;
	if ((a == MT_WT && b == MT_WB) || (a == MT_WB && b == MT_WT))
		return MT_WT;
	return MT_UC;
}

/* Type of the fixed-range byte at addr (< 1 MiB), 12.11.2.2. */
static u8 fixed_type(const struct mtrr_state *m, u64 addr)
{
	u32 reg, byte;
	if (addr < 0x80000) {
		reg = 0;
		byte = (u32)(addr >> 16);
	} else if (addr < 0xc0000) {
		reg = 1 + (u32)((addr - 0x80000) >> 17);
		byte = (u32)((addr >> 14) & 7);
	} else {
		reg = 3 + (u32)((addr - 0xc0000) >> 15);
		byte = (u32)((addr >> 12) & 7);
	}
	return (u8)(m->fixed[reg] >> (8 * byte));
}

/* Whether variable range i is valid; its mask and the base bits it compares. */
static bool var_range(const struct mtrr_state *m, u32 i, u64 *mask, u64 *match)
{
	*mask = m->var_mask[i] & m->phys_addr_mask & ~0xfffull;
	*match = m->var_base[i] & *mask;
	return (m->var_mask[i] & MTRR_PHYSMASK_VALID) != 0;
}

static u32 var_count(const struct mtrr_state *m)
{
	u32 n = (u32)(m->cap & MTRR_CAP_VCNT_MASK);
	return n > MTRR_MAX_VAR ? MTRR_MAX_VAR : n;
}

/* base and size are a naturally aligned power of two: the bits of an
 * address in [base, base+size) above size vary not; those below vary
 * freely. Some address matches a range iff the fixed bits match. */
static bool some_match(u64 base, u64 size, u64 mask, u64 match)
{
	return (base & mask & ~(size - 1)) == (match & ~(size - 1));
}

/* Type of [base, base+size) from the variable ranges and the default. */
static u8 variable_type(const struct mtrr_state *m, u64 base, u64 size)
{
	u8 type = 0xff;
	bool covered = false;

	for (u32 i = 0; i < var_count(m); i++) {
		u64 mask, match;
		if (!var_range(m, i, &mask, &match) || !some_match(base, size, mask, match))
			continue;
		if (mask & (size - 1))
			return MTRR_MIXED; /* a mask bit varies inside: some addresses match, some not */
		u8 t = (u8)(m->var_base[i] & 0xff);
		type = covered ? combine(type, t) : t;
		covered = true;
	}
	return covered ? type : (u8)(m->def_type & MTRR_DEF_TYPE_MASK);
}

u8 mtrr_range_type_merged(const struct mtrr_state *m, u64 base, u64 size)
{
	u8 type = 0xff;
	bool all_covered = false;

	if (!(m->def_type & MTRR_DEF_E))
		return MT_UC;
	for (u32 i = 0; i < var_count(m); i++) {
		u64 mask, match;
		if (!var_range(m, i, &mask, &match) || !some_match(base, size, mask, match))
			continue;
		u8 t = (u8)(m->var_base[i] & 0xff);
		type = type == 0xff ? t : combine(type, t);
		all_covered |= !(mask & (size - 1));
	}
	if (!all_covered) { /* some address may take the default type */
		u8 t = (u8)(m->def_type & MTRR_DEF_TYPE_MASK);
		type = type == 0xff ? t : combine(type, t);
	}
	return type;
}

u8 mtrr_range_type(const struct mtrr_state *m, u64 base, u64 size)
{
	if (!(m->def_type & MTRR_DEF_E))
		return MT_UC; /* 12.11.2.1: MTRRs disabled: everything UC */
	if (base < ONE_MIB && (m->cap & MTRR_CAP_FIX) && (m->def_type & MTRR_DEF_FE)) {
		if (base + size > ONE_MIB)
			return MTRR_MIXED;
		u8 t = fixed_type(m, base);
		for (u64 a = base; a < base + size; a += 0x1000)
			if (fixed_type(m, a) != t)
				return MTRR_MIXED;
		return t;
	}
	return variable_type(m, base, size);
}

u64 *mtrr_msr(struct mtrr_state *m, u32 msr, bool *writable)
{
	u32 n = (u32)(m->cap & MTRR_CAP_VCNT_MASK);
	*writable = true;
	if (msr == MSR_MTRRCAP) {
		*writable = false;
		return &m->cap;
	}
	if (msr == MSR_MTRR_DEF_TYPE)
		return &m->def_type;
	if (msr == MSR_MTRR_FIX64K_00000)
		return &m->fixed[0];
	if (msr == MSR_MTRR_FIX16K_80000 || msr == MSR_MTRR_FIX16K_A0000)
		return &m->fixed[1 + msr - MSR_MTRR_FIX16K_80000];
	if (msr >= MSR_MTRR_FIX4K_C0000 && msr <= MSR_MTRR_FIX4K_F8000)
		return &m->fixed[3 + msr - MSR_MTRR_FIX4K_C0000];
	if (msr >= MSR_MTRR_PHYSBASE0 && msr < MSR_MTRR_PHYSBASE0 + 2 * n && n <= MTRR_MAX_VAR) {
		u32 i = (msr - MSR_MTRR_PHYSBASE0) / 2;
		return (msr & 1) ? &m->var_mask[i] : &m->var_base[i];
	}
	return NULL;
}

bool mtrr_value_valid(const struct mtrr_state *m, u32 msr, u64 value)
{
	if (msr == MSR_MTRR_DEF_TYPE)
		return !(value & ~(MTRR_DEF_TYPE_MASK | MTRR_DEF_FE | MTRR_DEF_E)) && type_valid((u8)value);
	if (msr >= MSR_MTRR_PHYSBASE0 && msr < MSR_MTRR_PHYSBASE0 + 2 * MTRR_MAX_VAR) {
		u64 addr_bits = m->phys_addr_mask & ~0xfffull;
		if (msr & 1)
			return !(value & ~(addr_bits | MTRR_PHYSMASK_VALID));
		return !(value & ~(addr_bits | 0xff)) && type_valid((u8)value);
	}
	for (u32 b = 0; b < 8; b++) /* fixed ranges: eight type bytes */
		if (!type_valid((u8)(value >> (8 * b))))
			return false;
	return true;
}
