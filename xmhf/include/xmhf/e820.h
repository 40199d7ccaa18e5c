/* The physical memory map (BIOS E820 types) and its revision: the
 * hypervisor's range is carved out as reserved before the guest sees it. */
#ifndef XMHF_E820_H
#define XMHF_E820_H

#include <xmhf/types.h>

enum e820_type {
	E820_RAM = 1,
	E820_RESERVED = 2,
	E820_ACPI = 3,
	E820_NVS = 4,
	E820_UNUSABLE = 5,
};

struct e820_entry {
	u64 base;
	u64 length;
	u32 type;
};

#define E820_MAX 128

struct e820_map {
	struct e820_entry e[E820_MAX];
	u32 n;
};

/* Append an entry; false if the map is full. Zero-length entries are
 * dropped; a length reaching past 2^64 - 1 is cut there. */
bool e820_add(struct e820_map *m, u64 base, u64 length, u32 type);
/* True iff every byte of [base, base+size) is in a RAM entry (adjacent
 * or overlapping RAM entries may cover it together) and in no non-RAM entry.
 * False for an empty or wrapping range. */
bool e820_is_ram(const struct e820_map *m, u64 base, u64 size);
/* Mark [base, base+size) reserved: every entry overlapping it is split so
 * that the parts outside keep their type and order; one E820_RESERVED
 * entry for the range is inserted in address order: right before the first
 * entry, in map order, that overlaps the range or lies above it (after the
 * overlapping entry's part below), or last. In an unsorted map untouched
 * entries keep their order. All other entries, including the last one, are
 * preserved. Size 0 does nothing. False if the range wraps or the map would
 * overflow (then m is unchanged). */
bool e820_reserve(struct e820_map *m, u64 base, u64 size);
/* End of the highest entry of any type (0 for an empty map). */
u64 e820_top(const struct e820_map *m);

#endif
