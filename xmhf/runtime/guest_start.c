/* Starting the rich guest on the boot CPU as the BIOS would start a boot
 * sector: real mode, CS:IP = 0:7C00, DL = boot drive (the BIOS Boot
 * Specification's hand-off), interrupts on, IVT at 0; or, booted by the
 * UEFI loader, where the firmware called it (vmcs01_uefi.c). */
#include <runtime/exit_handlers.h>
#include <runtime/panic.h>
#include <runtime/percpu.h>
#include <runtime/vmcs01.h>
#include <runtime/vmx_ops.h>
#include <xmhf/bootinfo.h>
#include <xmhf/string.h>
#include <xmhf/vmx.h>

#define BOOT_SECTOR_ADDR 0x7c00
#define IVT_LIMIT 0x3ff

NORETURN void guest_start_bsp(u8 boot_drive, const u8 *boot_sector)
{
	struct guest_regs regs = { .rdx = boot_drive };

	memcpy((void *)BOOT_SECTOR_ADDR, boot_sector, BOOT_SECTOR_SIZE);
	e820_hook_install();
	vmcs01_guest_init_state(0, BOOT_SECTOR_ADDR);
	vmwrite(VMCS_CR0_READ_SHADOW, CR0_ET); /* the BIOS left caches on */
	vmwrite(VMCS_GUEST_RFLAGS, RFLAGS_RESERVED_1 | RFLAGS_IF);
	vmwrite(VMCS_GUEST_RSP, BOOT_SECTOR_ADDR);
	vmwrite(VMCS_GUEST_IDTR_LIMIT, IVT_LIMIT);
	this_cpu()->in_guest = true;
	vmx_launch(&regs);
}

NORETURN void guest_start_bsp_uefi(const struct boot_uefi_context *c)
{
	struct guest_regs regs = { .rax = 0 }; /* uefi_enter_runtime() returns 0 */
	const char *err = vmcs01_guest_uefi_state(c, (const u64 *)c->gdtr_base);

	if (err)
		panic("xmhf: cannot resume the UEFI firmware as the guest: %s", err);
	this_cpu()->in_guest = true;
	vmx_launch(&regs);
}
