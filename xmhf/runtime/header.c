/* The runtime header the loader reads (first bytes of runtime.bin). */
#include <runtime/asm_offsets.h>
#include <xmhf/bootinfo.h>

extern const u8 __runtime_base[], __image_end[], __reserved_end[];
void runtime_entry(struct boot_info *bi);

struct boot_info boot_info;

__attribute__((section(".header"), used)) const struct runtime_header runtime_header = {
	.magic = RUNTIME_HEADER_MAGIC,
	.base = (u64)__runtime_base,
	.entry = (u64)runtime_entry,
	.image_end = (u64)__image_end,
	.reserved_end = (u64)__reserved_end,
	.boot_info = (u64)&boot_info,
	.ap_trampoline = TRAMPOLINE_PA,
};
