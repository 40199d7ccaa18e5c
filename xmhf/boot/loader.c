/* The loader: checks the memory map, moves multiboot modules out of the
 * hypervisor's way, relocates runtime.bin to its base and enters it. It
 * runs once on the boot CPU in long mode on the identity map of 4 GiB. */
#include <config.h>
#include <xmhf/bootinfo.h>
#include <xmhf/cmdline.h>
#include <xmhf/console.h>
#include <xmhf/cpu.h>
#include <xmhf/log.h>
#include <xmhf/multiboot.h>
#include <xmhf/panic.h>
#include <xmhf/paging.h>
#include <xmhf/string.h>
#include <xmhf/vmx.h>

extern const u8 runtime_payload[], runtime_payload_end[];
extern const u8 __loader_start[], __loader_end[];

#define LOW_LIMIT 0x100000ull /* modules are never moved below 1 MiB */

static struct boot_info boot_info;
static struct cmdline cmdline;

/* The loader's panic (xmhf/panic.h): only this CPU runs. */
void panic(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	xvlog(LOG_ERROR, fmt, ap);
	va_end(ap);
	pr_err("xmhf: halted");
	console_drain();
	cpu_halt_forever();
}

static bool overlaps(u64 a, u64 a_end, u64 b, u64 b_end) { return a < b_end && b < a_end; }

struct busy_range { u64 start, end; };

/* Lowest page-aligned address >= 1 MiB and below 4 GiB where 'size' bytes
 * of RAM overlap none of the busy ranges; 0 if there is none. Candidates
 * are the starts of RAM entries and the ends of busy ranges. */
static u64 find_free(const struct e820_map *m, const struct busy_range *busy, u32 n_busy, u64 size)
{
	u64 best = 0;
	for (u32 c = 0; c < m->n + n_busy; c++) {
		u64 at = c < m->n ? m->e[c].base : busy[c - m->n].end;
		at = ALIGN_UP(at < LOW_LIMIT ? LOW_LIMIT : at, PAGE_SIZE);
		if (at + size > GiB(4) || !e820_is_ram(m, at, size) || (best && at >= best))
			continue;
		bool clash = false;
		for (u32 b = 0; b < n_busy && !clash; b++)
			clash = overlaps(at, at + size, busy[b].start, busy[b].end);
		if (!clash)
			best = at;
	}
	return best;
}

/* Record the modules; move those that overlap [base, end). */
static void place_modules(const struct multiboot_info *mbi, u64 base, u64 end)
{
	const struct multiboot_module *mods = (const void *)(u64)mbi->mods_addr;
	struct busy_range busy[BOOT_MAX_MODULES + 2];
	u32 n = (mbi->flags & MULTIBOOT_INFO_MODS) ? mbi->mods_count : 0;

	if (n > BOOT_MAX_MODULES) {
		pr_warn("xmhf: loader: %u modules, using the first %u", n, BOOT_MAX_MODULES);
		n = BOOT_MAX_MODULES;
	}
	busy[0] = (struct busy_range){ (u64)__loader_start, (u64)__loader_end };
	busy[1] = (struct busy_range){ base, end };
	for (u32 i = 0; i < n; i++) {
		boot_info.modules[i] = (struct boot_module){ mods[i].mod_start, mods[i].mod_end };
		busy[2 + i] = (struct busy_range){ mods[i].mod_start, mods[i].mod_end };
	}
	boot_info.n_modules = n;
	for (u32 i = 0; i < n; i++) {
		struct boot_module *mod = &boot_info.modules[i];
		u64 size = mod->end - mod->start;
		if (!overlaps(mod->start, mod->end, base, end))
			continue;
		u64 to = find_free(&boot_info.e820, busy, 2 + n, size);
		if (!to)
			panic("xmhf: loader: module %u [0x%llx, 0x%llx) overlaps the hypervisor and no free RAM "
			      "can take it", i, mod->start, mod->end);
		memmove((void *)to, (const void *)mod->start, size);
		pr_info("xmhf: loader: moved module %u from 0x%llx to 0x%llx (%llu bytes)", i, mod->start, to, size);
		*mod = (struct boot_module){ to, to + size };
		busy[2 + i] = (struct busy_range){ to, to + size };
	}
	if (n > 0 && boot_info.modules[0].end - boot_info.modules[0].start >= BOOT_SECTOR_SIZE) {
		memcpy(boot_info.guest_boot_sector, (const void *)boot_info.modules[0].start, BOOT_SECTOR_SIZE);
		boot_info.has_guest_boot_sector = true;
	}
}

#if CONFIG_TEST_HYPERCALLS
/* Test builds, test_uefi_return=on: the UEFI loader's hand-off
 * (BOOT_GUEST_UEFI_RETURN) on a VMX CPU without UEFI firmware. This loader
 * stands in for the firmware: the runtime resumes it in VMX non-root right
 * after the call, as it resumes the firmware under xmhf.efi
 * (tests/bochs/uefi-return-1cpu.case). */
static void test_uefi_return(void (*entry)(struct boot_info *), const struct runtime_header *rt)
{
	const char *on = cmdline_extra(&cmdline, "test_uefi_return");

	if (!on || strcmp(on, "on"))
		return;
	boot_info.guest_start = BOOT_GUEST_UEFI_RETURN;
	struct boot_info *bi = runtime_image_install(rt, runtime_payload, &boot_info);
	pr_info("xmhf: loader: test_uefi_return=on: entering the runtime as xmhf.efi does");
	console_drain(); /* the runtime sets the UART up again */
	u64 status = uefi_enter_runtime(entry, bi, &bi->uefi);
	/* the runtime's guest from here on: CPUID shows no VMX (exit_cpuid.c) */
	pr_info("xmhf: loader: resumed as the guest: status %llu, CPUID.1:ECX.VMX %u", status,
		!!(cpuid(1, 0).ecx & CPUID1_ECX_VMX));
	console_drain();
	cpu_halt_forever();
}
#endif

void loader_main(u32 magic, u32 mbi_pa)
{
	const struct multiboot_info *mbi = (const void *)(u64)mbi_pa;
	const struct runtime_header *rt;
	const char *cmd = "";

	boot_info.loader_tsc = rdtsc();
	if (magic == MULTIBOOT_BOOTLOADER_MAGIC && (mbi->flags & MULTIBOOT_INFO_CMDLINE))
		cmd = (const char *)(u64)mbi->cmdline;
	cmdline_parse(cmd, &cmdline);
	console_init(&cmdline.serial, cmdline.e9);
	log_set_level(cmdline.loglvl);
	pr_info("xmhf: loader: cmdline '%s'", cmd);
	if (magic != MULTIBOOT_BOOTLOADER_MAGIC)
		panic("xmhf: loader: not started by a multiboot loader (eax=0x%x)", magic);
	rt = runtime_image_header(runtime_payload, (u64)(runtime_payload_end - runtime_payload));
	if (!rt)
		panic("xmhf: loader: runtime image is corrupt");

	strlcpy(boot_info.cmdline, cmd, sizeof(boot_info.cmdline));
	if (!(mbi->flags & MULTIBOOT_INFO_MEM_MAP))
		panic("xmhf: loader: the boot loader gave no memory map (multiboot flag 6)");
	if (!multiboot_mmap_to_e820((const void *)(u64)mbi->mmap_addr, mbi->mmap_length, &boot_info.e820))
		panic("xmhf: loader: the memory map is empty or malformed");

	u64 base = rt->base, end = rt->reserved_end;
	if (end > GiB(4) || !e820_is_ram(&boot_info.e820, base, end - base))
		panic("xmhf: loader: [0x%llx, 0x%llx) is not RAM below 4 GiB; rebuild with another --base", base, end);
	if (overlaps(base, end, (u64)__loader_start, (u64)__loader_end))
		panic("xmhf: loader: the hypervisor range [0x%llx, 0x%llx) overlaps the loader", base, end);
	place_modules(mbi, base, end);

	void (*entry)(struct boot_info *) = (void (*)(struct boot_info *))rt->entry;
#if CONFIG_TEST_HYPERCALLS
	test_uefi_return(entry, rt);
#endif
	struct boot_info *bi = runtime_image_install(rt, runtime_payload, &boot_info);
	pr_debug("xmhf: loader: runtime at [0x%llx, 0x%llx), entering it", base, end);
	entry(bi);
	panic("xmhf: loader: the runtime returned");
}
