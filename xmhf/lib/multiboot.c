/* Multiboot 0.6.96 section 3.3: the mmap_* fields describe a buffer of
 * records, each preceded by its size (which does not count itself). */
#include <xmhf/multiboot.h>
#include <xmhf/string.h>

bool multiboot_mmap_to_e820(const void *mmap, u32 mmap_length, struct e820_map *out)
{
	const u8 *p = mmap;
	u32 off = 0;

	out->n = 0;
	while (mmap_length - off >= sizeof(u32)) {
		struct multiboot_mmap_entry r;
		u32 size;

		memcpy(&size, p + off, sizeof(size));
		if (!size || size > mmap_length - off - sizeof(u32))
			break;  /* zero-size or truncated record */
		if (size < sizeof(r) - sizeof(u32))
			return false;  /* too small for addr, len and type */
		memcpy(&r, p + off, sizeof(r));
		if (!e820_add(out, r.addr, r.len, r.type))
			return false;
		off += sizeof(u32) + size;
	}
	return out->n > 0;
}
