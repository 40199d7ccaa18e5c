/* The field table as nested VMX uses it: by index, and by encoding through
 * a lookup array indexed by the encoding's width, type and index bits
 * (SDM Vol. 3 26.11.2). */
#include <nested/vmcs12.h>

#define FIELD_INFO(name, encoding, width, props, exists) { #name, encoding, width, props, exists },
const struct vmcs12_field vmcs12_fields[VMCS12_N_FIELDS] = { VMCS_FIELDS(FIELD_INFO) };
#undef FIELD_INFO

/* The highest index (bits 9:1) of any field is below this. */
#define VMCS12_MAX_ENC_INDEX 64
/* by [width][type][index]: table index + 1 (0: no such field) */
#define FIELD_SLOT(name, encoding, width, props, exists) \
	[VMCS_ENC_WIDTH(encoding)][VMCS_ENC_TYPE(encoding)][VMCS_ENC_INDEX(encoding)] = VMCS12_IDX_##name + 1,
static const u8 by_encoding[4][4][VMCS12_MAX_ENC_INDEX] = { VMCS_FIELDS(FIELD_SLOT) };
#undef FIELD_SLOT
_Static_assert(VMCS12_N_FIELDS < 255, "table indexes fit in by_encoding");

const struct vmcs12_field *vmcs12_field_lookup(u64 encoding, bool *high)
{
	if (encoding & (u64)(u32)VMCS_ENC_RESERVED || encoding >> 32)
		return NULL;
	u32 index = VMCS_ENC_INDEX(encoding);
	if (index >= VMCS12_MAX_ENC_INDEX)
		return NULL;
	u8 slot = by_encoding[VMCS_ENC_WIDTH(encoding)][VMCS_ENC_TYPE(encoding)][index];
	if (!slot)
		return NULL;
	const struct vmcs12_field *f = &vmcs12_fields[slot - 1];
	*high = encoding & VMCS_ENC_HIGH;
	if (*high && f->width != W64)
		return NULL; /* only 64-bit fields have a high access type */
	return f;
}
