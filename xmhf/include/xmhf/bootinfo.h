/* The hand-over from the loader to the runtime.
 * runtime.bin starts with a runtime_header (at the load base); the loader
 * copies the image to the base, zeroes [image_end, reserved_end) and fills
 * the boot_info the header points to before jumping to the entry in long
 * mode with RDI = &boot_info and the loader's identity map of [0, 4 GiB). */
#ifndef XMHF_BOOTINFO_H
#define XMHF_BOOTINFO_H

#define RUNTIME_HEADER_MAGIC 0x31464d48584d5852ull /* "RXMXHMF1" */
#define BOOT_INFO_MAGIC 0x464e49544f4f42ull        /* "BOOTINF" */

#ifndef __ASSEMBLER__
#include <xmhf/e820.h>
#include <xmhf/types.h>

struct runtime_header {
	u64 magic;
	u64 base;         /* link and load address */
	u64 entry;        /* void entry(struct boot_info *) */
	u64 image_end;    /* end of the bytes in runtime.bin */
	u64 reserved_end; /* end of bss: [base, reserved_end) is the hypervisor */
	u64 boot_info;    /* address of the runtime's struct boot_info */
};

#define BOOT_CMDLINE_LEN 1024
#define BOOT_MAX_MODULES 8
#define BOOT_SECTOR_SIZE 512

struct boot_module {
	u64 start, end;  /* physical, after the loader moved it if needed */
};

struct boot_info {
	u64 magic;
	char cmdline[BOOT_CMDLINE_LEN];  /* raw multiboot command line */
	struct e820_map e820;            /* the firmware map, as GRUB gave it */
	struct boot_module modules[BOOT_MAX_MODULES];
	u32 n_modules;
	/* module 0, the guest's boot sector (the next disk's MBR), copied */
	u8 guest_boot_sector[BOOT_SECTOR_SIZE];
	bool has_guest_boot_sector;
	u64 loader_tsc; /* TSC when the loader started (Bochs: instructions) */
};
#endif

#endif
