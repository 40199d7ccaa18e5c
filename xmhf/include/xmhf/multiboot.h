/* Multiboot specification version 0.6.96 (v1): the header we give GRUB and
 * the information structure GRUB gives us. */
#ifndef XMHF_MULTIBOOT_H
#define XMHF_MULTIBOOT_H

#define MULTIBOOT_HEADER_MAGIC 0x1BADB002
#define MULTIBOOT_BOOTLOADER_MAGIC 0x2BADB002
#define MULTIBOOT_HEADER_PAGE_ALIGN (1 << 0)
#define MULTIBOOT_HEADER_MEMORY_INFO (1 << 1)

#ifndef __ASSEMBLER__
#include <xmhf/e820.h>
#include <xmhf/types.h>

#define MULTIBOOT_INFO_MEMORY (1u << 0)
#define MULTIBOOT_INFO_CMDLINE (1u << 2)
#define MULTIBOOT_INFO_MODS (1u << 3)
#define MULTIBOOT_INFO_MEM_MAP (1u << 6)

struct multiboot_info {
	u32 flags;
	u32 mem_lower, mem_upper;
	u32 boot_device;
	u32 cmdline;
	u32 mods_count, mods_addr;
	u32 syms[4];
	u32 mmap_length, mmap_addr;
	u32 drives_length, drives_addr;
	u32 config_table;
	u32 boot_loader_name;
	u32 apm_table;
	u32 vbe[6];
} PACKED;

struct multiboot_module {
	u32 mod_start, mod_end;
	u32 string;
	u32 reserved;
} PACKED;

/* One memory-map record; 'size' does not count itself. */
struct multiboot_mmap_entry {
	u32 size;
	u64 addr;
	u64 len;
	u32 type;
} PACKED;

/* Convert GRUB's memory map (mmap_length bytes at mmap) to an E820 map
 * (out is reset first). Records are walked by their size field; a truncated
 * or zero-size record ends the walk, one too small for addr, len and type is
 * malformed. False if the map is empty, malformed or overflows. */
bool multiboot_mmap_to_e820(const void *mmap, u32 mmap_length, struct e820_map *out);
#endif

#endif
