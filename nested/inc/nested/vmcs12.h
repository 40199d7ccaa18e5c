/* VMCS12: the VMCS L1 made current, by the field table (xmhf/vmcs_fields.h).
 * It lives in L1's memory (the VMCS region L1 gave to VMPTRLD) in our own
 * layout, struct vmcs12_region; the current one is cached per CPU and
 * written back when it stops being current (VMCLEAR, VMPTRLD of another,
 * VMXOFF): docs/nested.md "VMCS12". */
#ifndef NESTED_VMCS12_H
#define NESTED_VMCS12_H

#include <xmhf/paging.h>
#include <xmhf/vmcs_fields.h>

/* The table index of every field: VMCS12_IDX_<name> */
#define VMCS12_FIELD_INDEX(name, encoding, width, props, exists) VMCS12_IDX_##name,
enum vmcs12_index { VMCS_FIELDS(VMCS12_FIELD_INDEX) VMCS12_N_FIELDS };
#undef VMCS12_FIELD_INDEX

struct vmcs12_field {
	const char *name;
	u32 encoding;
	u8 width; /* W16, W32, W64, WN */
	u16 props;
	struct vmcs_exists exists;
};
extern const struct vmcs12_field vmcs12_fields[VMCS12_N_FIELDS];

/* The field an encoding names (full or, for 64-bit fields, high access);
 * NULL if none: reserved bits, an unknown index, high access of a field
 * that is not 64-bit. */
const struct vmcs12_field *vmcs12_field_lookup(u64 encoding, bool *high);

/* The current-VMCS pointer's "none" value (SDM Vol. 3 25.1) */
#define VMCS12_NONE 0xffffffffffffffffull
#define VMCS_REVISION_MASK 0x7fffffffu
#define VMCS_SHADOW_INDICATOR BIT(31)

/* Our layout of a VMCS region in L1 memory (25.2: the first 4 bytes are the
 * revision identifier, the next 4 the VMX-abort indicator, the rest is the
 * implementation's). */
#define VMCS12_LAUNCHED 0x4c41554eu /* launch_state of a launched VMCS ("LAUN"); anything else: clear */
struct vmcs12_region {
	u32 revision;
	u32 abort;
	u32 launch_state;
	u32 reserved;
	u64 value[VMCS12_N_FIELDS];
};
_Static_assert(sizeof(struct vmcs12_region) <= PAGE_SIZE, "a VMCS region is one page");

#define VMCS12_DIRTY_WORDS ((VMCS12_N_FIELDS + 63) / 64)
struct vmcs12 {
	u64 addr; /* L1 guest-physical; VMCS12_NONE: no current VMCS */
	bool launched;
	u64 value[VMCS12_N_FIELDS];
	u64 dirty[VMCS12_DIRTY_WORDS]; /* by index: L1 wrote it since VMCS02 took it (vmcs02.c) */
	u64 stale[VMCS12_DIRTY_WORDS]; /* by index: L0 changed it since the shadow VMCS took it (shadow.c) */
};

/* Field access on the cached VMCS12 (values are kept truncated to the
 * width); vmcs12_put marks a changed value stale. */
static inline u64 vmcs12_get(const struct vmcs12 *v, enum vmcs12_index i) { return v->value[i]; }
/* value already of field i's width: VMREAD of a VMCS field clears the bits
 * above it (32.3 VMREAD) */
static inline void vmcs12_put_read(struct vmcs12 *v, enum vmcs12_index i, u64 value)
{
	if (v->value[i] == value)
		return;
	v->value[i] = value;
	v->stale[i / 64] |= 1ull << (i % 64);
}
static inline void vmcs12_put(struct vmcs12 *v, enum vmcs12_index i, u64 value)
{
	/* 16- and 32-bit fields keep only their bits (26.11.2) */
	static const u64 width_mask[4] = { [W16] = 0xffff, [W32] = 0xffffffff, [W64] = ~0ull, [WN] = ~0ull };
	vmcs12_put_read(v, i, value & width_mask[vmcs12_fields[i].width]);
}

/* A field of a per-CPU list with its encoding next to its index, for the
 * loops of every VM entry and exit (no table lookup per field). */
struct vmcs12_slot {
	u16 index;    /* enum vmcs12_index */
	u16 encoding; /* full access (every encoding fits in 15 bits, 26.11.2) */
};
static inline void vmcs12_mark_dirty(struct vmcs12 *v, enum vmcs12_index i) { v->dirty[i / 64] |= 1ull << (i % 64); }
static inline bool vmcs12_dirty(const struct vmcs12 *v, enum vmcs12_index i) { return v->dirty[i / 64] >> (i % 64) & 1; }

/* Make the VMCS12 at addr (4 KiB aligned, guest RAM) current: the cached
 * one is written back first; every field of the new one is dirty and
 * stale. False (nothing changed) if addr's region is
 * not guest RAM. */
bool vmcs12_make_current(struct vmcs12 *v, u64 addr);
/* Write the current VMCS12 back to L1 memory; none is current after. */
void vmcs12_release(struct vmcs12 *v);
/* VMCLEAR's effect on the region at addr: its data in memory, launch
 * state clear; not current any more. False (nothing changed) if the region
 * is not guest RAM. */
bool vmcs12_clear(struct vmcs12 *v, u64 addr);

#endif
