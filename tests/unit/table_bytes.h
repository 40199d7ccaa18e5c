/* Building firmware tables (ACPI) in test memory: little-endian fields and
 * the byte checksum that makes a table sum to zero. */
#ifndef TABLE_BYTES_H
#define TABLE_BYTES_H

#include <string.h>
#include <xmhf/types.h>

static inline void put16(u8 *p, u16 v) { memcpy(p, &v, 2); }
static inline void put32(u8 *p, u32 v) { memcpy(p, &v, 4); }
static inline void put64(u8 *p, u64 v) { memcpy(p, &v, 8); }

static inline u8 sum(const u8 *p, u64 len)
{
	u8 s = 0;

	while (len--)
		s = (u8)(s + *p++);
	return s;
}

/* Make bytes [0, len) of p sum to zero by adjusting p[at]. */
static inline void fix_checksum(u8 *p, u64 len, u32 at)
{
	p[at] = 0;
	p[at] = (u8)-sum(p, len);
}

#endif
