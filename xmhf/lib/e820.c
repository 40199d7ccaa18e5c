/* E820 memory map edits: see e820.h. Ranges are half-open [base, end);
 * e820_add clamps an entry so that its end never wraps past 2^64 - 1. */
#include <xmhf/e820.h>
#include <xmhf/string.h>

static u64 entry_end(const struct e820_entry *e)
{
	return e->base + e->length;
}

static bool overlaps(const struct e820_entry *e, u64 base, u64 end)
{
	return e->base < end && base < entry_end(e);
}

bool e820_add(struct e820_map *m, u64 base, u64 length, u32 type)
{
	if (length > UINT64_MAX - base)
		length = UINT64_MAX - base;
	if (!length)
		return true;
	if (m->n >= E820_MAX)
		return false;
	m->e[m->n++] = (struct e820_entry){ base, length, type };
	return true;
}

/* The end of the RAM entry that contains addr, or addr if there is none. */
static u64 ram_end_from(const struct e820_map *m, u64 addr)
{
	u64 end = addr;

	for (u32 i = 0; i < m->n; i++) {
		const struct e820_entry *e = &m->e[i];

		if (e->type == E820_RAM && e->base <= addr && addr < entry_end(e) &&
		    entry_end(e) > end)
			end = entry_end(e);
	}
	return end;
}

bool e820_is_ram(const struct e820_map *m, u64 base, u64 size)
{
	u64 end = base + size;

	if (!size || end < base)
		return false;
	for (u32 i = 0; i < m->n; i++)
		if (m->e[i].type != E820_RAM && overlaps(&m->e[i], base, end))
			return false;
	/* Walk from RAM entry to RAM entry until the range is covered. */
	while (base < end) {
		u64 next = ram_end_from(m, base);

		if (next == base)
			return false;
		base = next;
	}
	return true;
}

/* Number of entries e820_reserve would produce. */
static u32 count_after_reserve(const struct e820_map *m, u64 base, u64 end)
{
	u32 n = 1;  /* the reserved entry */

	for (u32 i = 0; i < m->n; i++) {
		const struct e820_entry *e = &m->e[i];

		if (!overlaps(e, base, end))
			n++;
		else
			n += (e->base < base) + (entry_end(e) > end);
	}
	return n;
}

/* The map is rebuilt in its order into a copy (3 KiB of stack). The
 * reserved entry goes right before the first entry, in map order, that
 * overlaps the range or lies above it (after the part of an overlapping
 * entry below the range), or last if there is none: address order for a
 * sorted map, and untouched entries keep their order in any map. */
bool e820_reserve(struct e820_map *m, u64 base, u64 size)
{
	u64 end = base + size;
	struct e820_entry out[E820_MAX];
	u32 n = 0;
	bool placed = false;

	if (end < base)
		return false;
	if (!size)
		return true;
	if (count_after_reserve(m, base, end) > E820_MAX)
		return false;
	for (u32 i = 0; i < m->n; i++) {
		struct e820_entry e = m->e[i];

		if (!overlaps(&e, base, end)) {
			if (!placed && e.base >= end) {
				out[n++] = (struct e820_entry){ base, size, E820_RESERVED };
				placed = true;
			}
			out[n++] = e;
			continue;
		}
		if (e.base < base)
			out[n++] = (struct e820_entry){ e.base, base - e.base, e.type };
		if (!placed) {
			out[n++] = (struct e820_entry){ base, size, E820_RESERVED };
			placed = true;
		}
		if (entry_end(&e) > end)
			out[n++] = (struct e820_entry){ end, entry_end(&e) - end, e.type };
	}
	if (!placed)
		out[n++] = (struct e820_entry){ base, size, E820_RESERVED };
	memcpy(m->e, out, n * sizeof(out[0]));
	m->n = n;
	return true;
}

u64 e820_top(const struct e820_map *m)
{
	u64 top = 0;

	for (u32 i = 0; i < m->n; i++)
		if (entry_end(&m->e[i]) > top)
			top = entry_end(&m->e[i]);
	return top;
}
