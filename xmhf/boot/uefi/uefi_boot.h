/* The UEFI loader's pure parts (no firmware calls; unit-tested on the host):
 * load options, memory map, VT-x check. Layouts from the UEFI
 * Specification 2.10; this header does not need gnu-efi's. */
#ifndef XMHF_BOOT_UEFI_BOOT_H
#define XMHF_BOOT_UEFI_BOOT_H

#include <xmhf/e820.h>
#include <xmhf/types.h>

/* EFI_MEMORY_TYPE (7.2.1) */
enum uefi_mem_type {
	UEFI_RESERVED_MEMORY = 0,
	UEFI_LOADER_CODE = 1,
	UEFI_LOADER_DATA = 2,
	UEFI_BOOT_SERVICES_CODE = 3,
	UEFI_BOOT_SERVICES_DATA = 4,
	UEFI_RUNTIME_SERVICES_CODE = 5,
	UEFI_RUNTIME_SERVICES_DATA = 6,
	UEFI_CONVENTIONAL_MEMORY = 7,
	UEFI_UNUSABLE_MEMORY = 8,
	UEFI_ACPI_RECLAIM_MEMORY = 9,
	UEFI_ACPI_MEMORY_NVS = 10,
	UEFI_MEMORY_MAPPED_IO = 11,
	UEFI_MEMORY_MAPPED_IO_PORT_SPACE = 12,
	UEFI_PAL_CODE = 13,
	UEFI_PERSISTENT_MEMORY = 14,
};

/* EFI_MEMORY_DESCRIPTOR (7.2.3 GetMemoryMap()); the firmware's descriptors
 * are DescriptorSize bytes apart, which may exceed this struct. */
struct uefi_mem_desc {
	u32 type;
	u32 pad;
	u64 phys_start;
	u64 virt_start;
	u64 n_pages;
	u64 attribute;
};
#define UEFI_PAGE_SIZE 4096ull

/* A memory map as GetMemoryMap() returns it. */
struct uefi_mmap {
	const void *desc;
	u64 size;       /* bytes; a partial last descriptor is ignored */
	u64 desc_size;  /* >= sizeof(struct uefi_mem_desc), or the map is empty */
};

/* The E820 type the OS gives a UEFI memory type once boot services are
 * gone (loader and boot-services memory, conventional memory: RAM;
 * runtime services, MMIO and unknown types: reserved). */
u32 uefi_type_to_e820(u32 type);
/* Convert the map to E820 entries in map order, merging a descriptor with
 * the previous entry when it continues it with the same E820 type. False if
 * a descriptor reaches 2^64 (malformed; the functions below skip such
 * descriptors) or out runs full (out then holds what fit). */
bool uefi_mmap_to_e820(const struct uefi_mmap *m, struct e820_map *out);
/* True iff descriptors of 'type' cover every byte of [base, base + size)
 * (adjacent descriptors may cover it together, in any order). False for an
 * empty or wrapping range. */
bool uefi_mmap_covers(const struct uefi_mmap *m, u32 type, u64 base, u64 size);
/* The type of the first descriptor, in map order, that overlaps
 * [base, base + size) and is not of 'type'; -1 if none or if the range is
 * empty or wraps. */
int uefi_mmap_other_type(const struct uefi_mmap *m, u32 type, u64 base, u64 size);

/* The command line in EFI_LOADED_IMAGE_PROTOCOL.LoadOptions (size bytes):
 * UCS-2 (the UEFI shell, GRUB's chainloader, efibootmgr --unicode) or, if
 * its second byte is not 0, 8-bit text (efibootmgr without --unicode). It
 * ends at the first NUL character or after 'size' bytes. A first word
 * without '=' is the image's own path (the shell and GRUB pass it) and is
 * dropped; characters outside printable ASCII become '?', tabs and line
 * ends spaces. Writes a NUL-terminated string of at most out_size - 1
 * characters to out (out_size > 0); false if it had to cut the line. */
bool uefi_load_options_to_ascii(const void *options, u32 size, char *out, u64 out_size);

/* Why VMX cannot be used (SDM Vol. 3 25.6 "Discovering support for VMX",
 * 25.7: IA32_FEATURE_CONTROL), or NULL if it can: cpuid1_ecx is
 * CPUID.1:ECX, feature_control IA32_FEATURE_CONTROL (read only when
 * CPUID reports VMX). Unlocked counts as usable: the runtime locks it with
 * VMX outside SMX enabled. */
const char *uefi_vmx_unavailable(u32 cpuid1_ecx, u64 feature_control);

#endif
