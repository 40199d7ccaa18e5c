/* efi-marker.efi: the EFI payload the UEFI smoke test (tools/uefi/qemu-smoke.sh)
 * has the firmware start after xmhf.efi returned. It prints a marker on
 * ConOut, proving that the firmware went on after xmhf.efi, and whether the
 * UEFI memory map holds the hypervisor's range [hv_base, hv_end) (its load
 * options) as EfiReservedMemoryType; if so, whether the runtime's header
 * (xmhf/bootinfo.h) is at hv_base, i.e. xmhf.efi placed runtime.bin there. */
#include <efi.h>
#include "../../../xmhf/boot/uefi/firmware.h"
#include <xmhf/bootinfo.h>
#include <xmhf/cmdline.h>
#include <xmhf/format.h>
#include <xmhf/panic.h>
#include <xmhf/string.h>

#define LINE_MAX 160
#define CMDLINE_MARKER_LEN 512

static EFI_SYSTEM_TABLE *st;

__attribute__((format(printf, 1, 2))) static void say(const char *fmt, ...)
{
	char line[LINE_MAX];
	va_list ap;

	va_start(ap, fmt);
	xvsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	uefi_conout(st, line);
	uefi_conout(st, "\r\n");
}

/* lib/ code may call it (xmhf/panic.h) */
void panic(const char *fmt, ...)
{
	say("efi-marker: panic: %s", fmt);
	for (;;)
		__asm__ volatile("hlt");
}

static bool key_u64(const struct cmdline *c, const char *key, u64 *v)
{
	const char *s = cmdline_extra(c, key);
	return s && parse_u64(s, strlen(s), v);
}

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab)
{
	static struct cmdline c;
	static char options[CMDLINE_MARKER_LEN];
	struct uefi_mmap m;
	u64 base, end;

	st = systab;
	say("efi-marker: started by the firmware");
	uefi_read_options(st, image, options, sizeof(options));
	cmdline_parse(options, &c);
	if (!key_u64(&c, "hv_base", &base) || !key_u64(&c, "hv_end", &end) || end <= base) {
		say("efi-marker: usage: efi-marker.efi hv_base=ADDR hv_end=ADDR (got '%s')", options);
		return EFI_INVALID_PARAMETER;
	}
	EFI_STATUS s = uefi_get_memory_map(st, &m);
	if (s != EFI_SUCCESS) {
		say("efi-marker: cannot read the memory map (status 0x%llx)", (u64)s);
		return s;
	}
	if (uefi_mmap_covers(&m, UEFI_RESERVED_MEMORY, base, end - base)) {
		say("efi-marker: hypervisor range [0x%llx, 0x%llx) is EfiReservedMemoryType", base, end);
		/* ours to read now: xmhf.efi placed the runtime there */
		const struct runtime_header *rt = (const struct runtime_header *)base;
		if (rt->magic == RUNTIME_HEADER_MAGIC && rt->base == base && rt->reserved_end == end)
			say("efi-marker: the runtime's header is at 0x%llx", base);
		else
			say("efi-marker: no runtime header at 0x%llx", base);
	} else
		say("efi-marker: hypervisor range [0x%llx, 0x%llx) is NOT reserved (UEFI memory type %d there)", base,
		    end, uefi_mmap_other_type(&m, UEFI_RESERVED_MEMORY, base, end - base));
	st->BootServices->FreePool((void *)m.desc);
	return EFI_SUCCESS;
}
