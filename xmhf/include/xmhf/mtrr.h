/* Memory type range registers (SDM Vol. 3 12.11): the guest's view, from
 * which EPT01 memory types are computed (with EPT, MTRRs do not apply to
 * guest-physical accesses, 29.3.7.2). */
#ifndef XMHF_MTRR_H
#define XMHF_MTRR_H

#include <xmhf/types.h>

#define MSR_MTRRCAP 0x0fe
#define MSR_MTRR_PHYSBASE0 0x200
#define MSR_MTRR_FIX64K_00000 0x250
#define MSR_MTRR_FIX16K_80000 0x258
#define MSR_MTRR_FIX16K_A0000 0x259
#define MSR_MTRR_FIX4K_C0000 0x268
#define MSR_MTRR_FIX4K_F8000 0x26f
#define MSR_MTRR_DEF_TYPE 0x2ff

#define MTRR_MAX_VAR 16
#define MTRR_N_FIXED 11
#define MTRR_CAP_VCNT_MASK 0xffull
#define MTRR_CAP_FIX BIT(8)
#define MTRR_DEF_TYPE_MASK 0xffull
#define MTRR_DEF_FE BIT(10)
#define MTRR_DEF_E BIT(11)
#define MTRR_PHYSMASK_VALID BIT(11)
#define MTRR_MIXED 0xff /* "no single type" result */

struct mtrr_state {
	u64 cap;
	u64 def_type;
	u64 fixed[MTRR_N_FIXED]; /* 64K_00000, 16K_80000, 16K_A0000, 4K_C0000 .. 4K_F8000 */
	u64 var_base[MTRR_MAX_VAR];
	u64 var_mask[MTRR_MAX_VAR];
	u64 phys_addr_mask;      /* (1 << MAXPHYADDR) - 1 */
};

/* The memory type of every byte of [base, base + size), or MTRR_MIXED. */
u8 mtrr_range_type(const struct mtrr_state *m, u64 base, u64 size);
/* One type for a range that is not uniform (base >= 1 MiB): the
 * precedences of overlapping ranges (12.11.4.1) applied to every type some
 * byte of it has: UC if any, WT for WT and WB, else UC unless there is only
 * one. Never less strict than the type of any of its bytes. */
u8 mtrr_range_type_merged(const struct mtrr_state *m, u64 base, u64 size);
/* MSR index -> pointer into m (NULL if not an MTRR MSR of m); writable
 * tells whether the guest may write it (MTRRCAP is read-only). */
u64 *mtrr_msr(struct mtrr_state *m, u32 msr, bool *writable);
/* Whether value is a valid value for MTRR MSR msr (reserved bits, types). */
bool mtrr_value_valid(const struct mtrr_state *m, u32 msr, u64 value);

#endif
