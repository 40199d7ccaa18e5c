/* xmhf.efi: the UEFI loader. Reads the command line from its load options,
 * reserves the hypervisor's range in the UEFI memory map
 * (EfiReservedMemoryType: the OS never uses it), checks VT-x, places the
 * runtime and enters it with the firmware's context recorded, so that the
 * boot CPU's guest resumes here in VMX non-root and returns EFI_SUCCESS to
 * the firmware, which boots the next boot entry as the guest
 * (docs/architecture.md "UEFI boot"). Without VT-x it says so, returns
 * EFI_UNSUPPORTED, and the firmware goes on without the hypervisor. */
#include <efi.h>
#include "firmware.h"
#include <xmhf/bootinfo.h>
#include <xmhf/cmdline.h>
#include <xmhf/console.h>
#include <xmhf/cpu.h>
#include <xmhf/format.h>
#include <xmhf/log.h>
#include <xmhf/msr.h>
#include <xmhf/panic.h>
#include <xmhf/string.h>
#include <xmhf/vmx.h>

_Static_assert(sizeof(EFI_MEMORY_DESCRIPTOR) == sizeof(struct uefi_mem_desc) &&
	       offsetof(EFI_MEMORY_DESCRIPTOR, PhysicalStart) == offsetof(struct uefi_mem_desc, phys_start) &&
	       offsetof(EFI_MEMORY_DESCRIPTOR, NumberOfPages) == offsetof(struct uefi_mem_desc, n_pages),
	       "uefi_mem_desc is EFI_MEMORY_DESCRIPTOR");
_Static_assert((int)EfiReservedMemoryType == (int)UEFI_RESERVED_MEMORY &&
	       (int)EfiConventionalMemory == (int)UEFI_CONVENTIONAL_MEMORY,
	       "EFI_MEMORY_TYPE values");

extern const u8 runtime_payload[], runtime_payload_end[];

#define KEEP_RESERVED_KEY "keep_reserved"

static EFI_HANDLE image_handle;
static EFI_SYSTEM_TABLE *st;
static struct cmdline cmdline;
static struct boot_info boot_info;
/* what this loader allocated, freed on every failure path */
static EFI_PHYSICAL_ADDRESS reserved_base, trampoline_page;
static UINTN reserved_pages, trampoline_pages;

/* A line on the serial console (with the loader's "[L] " prefix) and on ConOut. */
static void vsay(enum loglvl level, const char *fmt, va_list ap)
{
	char line[LOG_LINE_MAX];

	xvsnprintf(line, sizeof(line), fmt, ap);
	xlog(level, "%s", line);
	if (log_enabled(level)) {
		uefi_conout(st, line);
		uefi_conout(st, "\r\n");
	}
}

__attribute__((format(printf, 2, 3))) static void say(enum loglvl level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsay(level, fmt, ap);
	va_end(ap);
}

static void free_allocations(void)
{
	if (trampoline_pages)
		st->BootServices->FreePages(trampoline_page, trampoline_pages);
	if (reserved_pages)
		st->BootServices->FreePages(reserved_base, reserved_pages);
	trampoline_pages = reserved_pages = 0;
}

/* The loader's panic (xmhf/panic.h): give everything back, exit to the firmware. */
void panic(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay(LOG_ERROR, fmt, ap);
	va_end(ap);
	free_allocations();
	st->BootServices->Exit(image_handle, EFI_ABORTED, 0, NULL);
	cpu_halt_forever();
}

static void read_cmdline(void)
{
	bool whole = uefi_read_options(st, image_handle, boot_info.cmdline, sizeof(boot_info.cmdline));
	cmdline_parse(boot_info.cmdline, &cmdline);
	console_init(&cmdline.serial, cmdline.e9);
	log_set_level(cmdline.loglvl);
	say(LOG_INFO, "xmhf: uefi loader: cmdline '%s'", boot_info.cmdline);
	if (!whole)
		say(LOG_WARN, "xmhf: uefi loader: the load options were cut to %u bytes", BOOT_CMDLINE_LEN - 1);
	for (u32 i = 0; i < cmdline.n_warnings && i < CMDLINE_MAX_WARNINGS; i++)
		say(LOG_WARN, "xmhf: %s", cmdline.warnings[i]);
}

/* The current memory map in a pool buffer (the caller frees m->desc). */
static void get_memory_map(struct uefi_mmap *m)
{
	EFI_STATUS s = uefi_get_memory_map(st, m);
	if (s != EFI_SUCCESS)
		panic("xmhf: uefi loader: cannot read the memory map (status 0x%llx)", (u64)s);
}

/* Take [base, base + pages * 4 KiB) out of the firmware's free memory. */
static void reserve(EFI_PHYSICAL_ADDRESS base, UINTN pages, const char *what, EFI_PHYSICAL_ADDRESS *got, UINTN *got_pages)
{
	struct uefi_mmap m;
	u64 size = pages * UEFI_PAGE_SIZE;

	get_memory_map(&m);
	bool is_free = uefi_mmap_covers(&m, UEFI_CONVENTIONAL_MEMORY, base, size);
	int other = uefi_mmap_other_type(&m, UEFI_CONVENTIONAL_MEMORY, base, size);
	st->BootServices->FreePool((void *)m.desc);
	if (!is_free)
		panic("xmhf: uefi loader: %s [0x%llx, 0x%llx) is not free conventional memory (UEFI memory type %d "
		      "there); rebuild with another --base", what, (u64)base, (u64)(base + size), other);
	EFI_PHYSICAL_ADDRESS at = base;
	EFI_STATUS s = st->BootServices->AllocatePages(AllocateAddress, EfiReservedMemoryType, pages, &at);
	if (s != EFI_SUCCESS || at != base)
		panic("xmhf: uefi loader: cannot reserve %s [0x%llx, 0x%llx) (status 0x%llx)", what, (u64)base,
		      (u64)(base + size), (u64)s);
	*got = base;
	*got_pages = pages;
	say(LOG_INFO, "xmhf: uefi loader: reserved %s [0x%llx, 0x%llx) as EfiReservedMemoryType", what, (u64)base,
	    (u64)(base + size));
}

/* The ACPI RSDP from the configuration table (ACPI 2.0+ first). */
static u64 find_rsdp(void)
{
	static EFI_GUID acpi20 = ACPI_20_TABLE_GUID, acpi10 = ACPI_TABLE_GUID;
	u64 rsdp10 = 0;

	for (UINTN i = 0; i < st->NumberOfTableEntries; i++) {
		EFI_CONFIGURATION_TABLE *t = &st->ConfigurationTable[i];
		if (!memcmp(&t->VendorGuid, &acpi20, sizeof(acpi20)))
			return (u64)t->VendorTable;
		if (!memcmp(&t->VendorGuid, &acpi10, sizeof(acpi10)))
			rsdp10 = (u64)t->VendorTable;
	}
	return rsdp10;
}

static const char *vmx_unavailable(void)
{
	u32 ecx = cpuid(1, 0).ecx;
	/* 25.6: IA32_FEATURE_CONTROL exists when CPUID reports VMX */
	return uefi_vmx_unavailable(ecx, (ecx & CPUID1_ECX_VMX) ? rdmsr(MSR_IA32_FEATURE_CONTROL) : 0);
}

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab)
{
	image_handle = image;
	st = systab;
	boot_info.loader_tsc = rdtsc();
	read_cmdline();

	const struct runtime_header *rt =
		runtime_image_header(runtime_payload, (u64)(runtime_payload_end - runtime_payload));
	if (!rt)
		panic("xmhf: uefi loader: runtime image is corrupt");
	u64 base = rt->base, end = rt->reserved_end;
	if (end > GiB(4))
		panic("xmhf: uefi loader: [0x%llx, 0x%llx) is not below 4 GiB; rebuild with another --base", base, end);
	reserve(base, (end - base) / UEFI_PAGE_SIZE, "the hypervisor range", &reserved_base, &reserved_pages);
	void (*entry)(struct boot_info *) = (void (*)(struct boot_info *))rt->entry;
	struct boot_info *bi = runtime_image_install(rt, runtime_payload, &boot_info);
	say(LOG_INFO, "xmhf: uefi loader: runtime placed at [0x%llx, 0x%llx), entry 0x%llx", base, end, (u64)entry);

	const char *why = vmx_unavailable();
	if (why) {
		say(LOG_ERROR, "xmhf: VT-x not available: %s", why);
		const char *keep = cmdline_extra(&cmdline, KEEP_RESERVED_KEY);
		if (keep && !strcmp(keep, "on")) {
			say(LOG_INFO, "xmhf: uefi loader: " KEEP_RESERVED_KEY "=on: the range stays reserved");
			reserved_pages = 0;
		}
		free_allocations();
		say(LOG_INFO, "xmhf: uefi loader: returning EFI_UNSUPPORTED to the firmware");
		return EFI_UNSUPPORTED;
	}

	/* the rest of the hand-over goes straight to the runtime's boot_info */
	reserve(rt->ap_trampoline, 1, "the AP start-up page", &trampoline_page, &trampoline_pages);
	struct uefi_mmap m;
	get_memory_map(&m);
	bool fits = uefi_mmap_to_e820(&m, &bi->e820);
	st->BootServices->FreePool((void *)m.desc);
	if (!fits)
		panic("xmhf: uefi loader: the UEFI memory map does not fit in %u E820 entries", E820_MAX);
	bi->uefi_rsdp = find_rsdp();
	bi->guest_start = BOOT_GUEST_UEFI_RETURN;
	say(LOG_INFO, "xmhf: uefi loader: entering the runtime");
	console_drain();
	uefi_enter_runtime(entry, bi, &bi->uefi);
	/* the boot CPU's guest: VMX non-root from here on */
	say(LOG_INFO, "xmhf: uefi loader: the hypervisor runs; back in the firmware as its guest");
	return EFI_SUCCESS;
}
