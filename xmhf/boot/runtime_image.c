/* Placing runtime.bin at its load base: the part both loaders share
 * (multiboot: boot/loader.c, UEFI: boot/uefi/efi_main.c). */
#include <xmhf/bootinfo.h>
#include <xmhf/paging.h>
#include <xmhf/string.h>

#define SIPI_LIMIT 0x100000ull

/* [a, a + size) lies in [lo, hi) without wrapping */
static bool inside(u64 a, u64 size, u64 lo, u64 hi)
{
	return a >= lo && a + size >= a && a + size <= hi;
}

const struct runtime_header *runtime_image_header(const void *image, u64 len)
{
	const struct runtime_header *rt = image;

	if (len < sizeof(*rt) || rt->magic != RUNTIME_HEADER_MAGIC || rt->base % PAGE_SIZE)
		return NULL;
	if (rt->image_end < rt->base || rt->image_end - rt->base != len || rt->reserved_end < rt->image_end)
		return NULL;
	/* a SIPI's vector is the page number of the start-up code, below 1 MiB (SDM Vol. 3 9.4.4.1) */
	if (rt->ap_trampoline % PAGE_SIZE || rt->ap_trampoline >= SIPI_LIMIT)
		return NULL;
	if (!inside(rt->entry, 1, rt->base, rt->image_end) ||
	    !inside(rt->boot_info, sizeof(struct boot_info), rt->base, rt->reserved_end))
		return NULL;
	return rt;
}

struct boot_info *runtime_image_install(const struct runtime_header *rt, const void *image,
					const struct boot_info *bi)
{
	u64 base = rt->base, image_end = rt->image_end, end = rt->reserved_end;
	struct boot_info *dst = (struct boot_info *)rt->boot_info;

	memmove((void *)base, image, image_end - base);
	memset((void *)image_end, 0, end - image_end);
	memcpy(dst, bi, sizeof(*bi));
	dst->magic = BOOT_INFO_MAGIC;
	return dst;
}
