/* The UEFI memory map: E820 view, coverage checks (uefi_boot.h). */
#include "uefi_boot.h"

static u64 n_desc(const struct uefi_mmap *m)
{
	return m->desc_size < sizeof(struct uefi_mem_desc) ? 0 : m->size / m->desc_size;
}

static const struct uefi_mem_desc *desc_at(const struct uefi_mmap *m, u64 i)
{
	return (const struct uefi_mem_desc *)((const u8 *)m->desc + i * m->desc_size);
}

/* The descriptor's byte range [*start, *end); false if it reaches 2^64. */
static bool desc_range(const struct uefi_mem_desc *d, u64 *start, u64 *end)
{
	if (d->n_pages > (~0ull - d->phys_start) / UEFI_PAGE_SIZE)
		return false;
	*start = d->phys_start;
	*end = d->phys_start + d->n_pages * UEFI_PAGE_SIZE;
	return true;
}

u32 uefi_type_to_e820(u32 type)
{
	switch (type) {
	case UEFI_LOADER_CODE:
	case UEFI_LOADER_DATA:
	case UEFI_BOOT_SERVICES_CODE:
	case UEFI_BOOT_SERVICES_DATA:
	case UEFI_CONVENTIONAL_MEMORY:
		return E820_RAM;
	case UEFI_UNUSABLE_MEMORY:
		return E820_UNUSABLE;
	case UEFI_ACPI_RECLAIM_MEMORY:
		return E820_ACPI;
	case UEFI_ACPI_MEMORY_NVS:
		return E820_NVS;
	default:
		return E820_RESERVED;
	}
}

bool uefi_mmap_to_e820(const struct uefi_mmap *m, struct e820_map *out)
{
	out->n = 0;
	for (u64 i = 0; i < n_desc(m); i++) {
		const struct uefi_mem_desc *d = desc_at(m, i);
		u64 start, end;
		u32 type = uefi_type_to_e820(d->type);

		if (!desc_range(d, &start, &end))
			return false;
		struct e820_entry *last = out->n ? &out->e[out->n - 1] : NULL;
		if (last && last->type == type && last->base + last->length == start) {
			last->length += end - start;
			continue;
		}
		if (start != end && !e820_add(out, start, end - start, type))
			return false;
	}
	return true;
}

/* The end of a descriptor of 'type' that holds the byte at 'at', or 0. */
static u64 covered_to(const struct uefi_mmap *m, u32 type, u64 at)
{
	for (u64 i = 0; i < n_desc(m); i++) {
		const struct uefi_mem_desc *d = desc_at(m, i);
		u64 start, end;
		if (d->type == type && desc_range(d, &start, &end) && start <= at && at < end)
			return end;
	}
	return 0;
}

bool uefi_mmap_covers(const struct uefi_mmap *m, u32 type, u64 base, u64 size)
{
	if (size == 0 || base + size < base)
		return false;
	for (u64 at = base; at - base < size;) {
		u64 end = covered_to(m, type, at);
		if (!end)
			return false;
		at = end;
	}
	return true;
}

int uefi_mmap_other_type(const struct uefi_mmap *m, u32 type, u64 base, u64 size)
{
	if (size == 0 || base + size < base)
		return -1;
	for (u64 i = 0; i < n_desc(m); i++) {
		const struct uefi_mem_desc *d = desc_at(m, i);
		u64 start, end;
		if (d->type != type && desc_range(d, &start, &end) && start < base + size && base < end)
			return (int)d->type;
	}
	return -1;
}
