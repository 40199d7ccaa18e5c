/* The hand-over from a loader (multiboot: boot/loader.c, UEFI: boot/uefi/)
 * to the runtime. runtime.bin starts with a runtime_header (at the load
 * base); the loader copies the image to the base, zeroes [image_end,
 * reserved_end) and fills the boot_info the header points to
 * (runtime_image_install) before jumping to the entry in long mode with
 * RDI = &boot_info and an identity map of at least [0, 4 GiB). */
#ifndef XMHF_BOOTINFO_H
#define XMHF_BOOTINFO_H

#define RUNTIME_HEADER_MAGIC 0x31464d48584d5852ull /* "RXMXHMF1" */
#define BOOT_INFO_MAGIC 0x464e49544f4f42ull        /* "BOOTINF" */

/* struct boot_uefi_context, for boot/enter_runtime.S (checked below) */
#define UEFI_CTX_RIP 0
#define UEFI_CTX_RSP 8
#define UEFI_CTX_RFLAGS 16
#define UEFI_CTX_CR0 24
#define UEFI_CTX_CR3 32
#define UEFI_CTX_CR4 40
#define UEFI_CTX_EFER 48
#define UEFI_CTX_PAT 56
#define UEFI_CTX_FS_BASE 64
#define UEFI_CTX_GS_BASE 72
#define UEFI_CTX_GDTR_BASE 80
#define UEFI_CTX_IDTR_BASE 88
#define UEFI_CTX_GDTR_LIMIT 96
#define UEFI_CTX_IDTR_LIMIT 98
#define UEFI_CTX_CS 100
#define UEFI_CTX_SS 102
#define UEFI_CTX_DS 104
#define UEFI_CTX_ES 106
#define UEFI_CTX_FS 108
#define UEFI_CTX_GS 110
#define UEFI_CTX_TR 112
#define UEFI_CTX_LDTR 114

#ifndef __ASSEMBLER__
#include <stddef.h>
#include <xmhf/e820.h>
#include <xmhf/types.h>

struct runtime_header {
	u64 magic;
	u64 base;         /* link and load address */
	u64 entry;        /* void entry(struct boot_info *) */
	u64 image_end;    /* end of the bytes in runtime.bin */
	u64 reserved_end; /* end of bss: [base, reserved_end) is the hypervisor */
	u64 boot_info;    /* address of the runtime's struct boot_info */
	u64 ap_trampoline; /* the page below 1 MiB the runtime starts APs from (UEFI reserves it) */
};

#define BOOT_CMDLINE_LEN 1024
#define BOOT_MAX_MODULES 8
#define BOOT_SECTOR_SIZE 512

struct boot_module {
	u64 start, end;  /* physical, after the loader moved it if needed */
};

/* How the boot CPU's guest starts (boot_info.guest_start). */
enum boot_guest_start {
	/* multiboot: real mode at 0000:7C00 on the copied boot sector, DL = boot drive */
	BOOT_GUEST_MBR = 0,
	/* UEFI: the firmware's own long-mode context, captured by the UEFI loader
	 * right before it entered the runtime (boot_info.uefi): the guest resumes
	 * there with RAX = 0 and returns EFI_SUCCESS to the firmware */
	BOOT_GUEST_UEFI_RETURN = 1,
};

/* The firmware's context at the call into the runtime (boot/enter_runtime.S).
 * Everything the guest-state area needs that the runtime cannot take from
 * its own CPU state (SDM Vol. 3 25.4.1, 25.4.2); segment bases, limits and
 * access rights come from the descriptors the selectors name in the GDT at
 * gdtr_base (identity-mapped). */
struct boot_uefi_context {
	u64 rip, rsp, rflags;     /* resume point: the instruction after the call */
	u64 cr0, cr3, cr4, efer, pat;
	u64 fs_base, gs_base;
	u64 gdtr_base, idtr_base;
	u16 gdtr_limit, idtr_limit;
	u16 cs, ss, ds, es, fs, gs, tr, ldtr;
};

_Static_assert(offsetof(struct boot_uefi_context, rflags) == UEFI_CTX_RFLAGS &&
	       offsetof(struct boot_uefi_context, pat) == UEFI_CTX_PAT &&
	       offsetof(struct boot_uefi_context, idtr_base) == UEFI_CTX_IDTR_BASE &&
	       offsetof(struct boot_uefi_context, gdtr_limit) == UEFI_CTX_GDTR_LIMIT &&
	       offsetof(struct boot_uefi_context, cs) == UEFI_CTX_CS &&
	       offsetof(struct boot_uefi_context, ldtr) == UEFI_CTX_LDTR,
	       "UEFI_CTX_* match struct boot_uefi_context");

struct boot_info {
	u64 magic;
	u32 guest_start;                 /* enum boot_guest_start */
	struct boot_uefi_context uefi;   /* BOOT_GUEST_UEFI_RETURN only */
	u64 uefi_rsdp;                   /* UEFI: the ACPI RSDP from the configuration table; 0 otherwise */
	char cmdline[BOOT_CMDLINE_LEN];  /* raw multiboot command line */
	struct e820_map e820;            /* the firmware map, as GRUB gave it */
	struct boot_module modules[BOOT_MAX_MODULES];
	u32 n_modules;
	/* module 0, the guest's boot sector (the next disk's MBR), copied */
	u8 guest_boot_sector[BOOT_SECTOR_SIZE];
	bool has_guest_boot_sector;
	u64 loader_tsc; /* TSC when the loader started (Bochs: instructions) */
};

/* Shared by the loaders (boot/runtime_image.c). The header of the runtime
 * image [image, image + len), or NULL if it is not one: wrong magic, a length
 * other than image_end - base, a base not page-aligned, an entry outside the
 * image, a boot_info that does not fit in [base, reserved_end), an AP
 * start-up page that is not a page below 1 MiB, or wrapping ranges. */
const struct runtime_header *runtime_image_header(const void *image, u64 len);
/* Copy the image to its base (the runtime is linked there: placing it is
 * its relocation), zero [image_end, reserved_end) and copy *bi, with
 * BOOT_INFO_MAGIC, to the runtime's boot_info. The image may overlap the
 * destination. Returns the runtime's boot_info. */
struct boot_info *runtime_image_install(const struct runtime_header *rt, const void *image,
					const struct boot_info *bi);
/* boot/enter_runtime.S: record the caller's context in *ctx (bi->uefi) and
 * enter the runtime with bi; returns 0 when the boot CPU's guest resumes
 * after the call (BOOT_GUEST_UEFI_RETURN, set by the caller). */
u64 uefi_enter_runtime(void (*entry)(struct boot_info *), struct boot_info *bi, struct boot_uefi_context *ctx);
#endif

#endif
