/* The VM-exit handlers the dispatcher (vmexit.c) calls, one file each, and
 * their set-up. They use the guest helpers of xmhf/guest.h, never the
 * dispatcher. */
#ifndef RUNTIME_EXIT_HANDLERS_H
#define RUNTIME_EXIT_HANDLERS_H

#include <runtime/guest_regs.h> /* struct guest_regs, the guest helpers, vmx_launch */

void handle_cpuid(struct guest_regs *regs);
/* Once, before any guest runs: the CPU's highest CPUID leaves. */
void cpuid_limits_init(void);
void handle_rdmsr(struct guest_regs *regs);
void handle_wrmsr(struct guest_regs *regs);
void handle_cr_access(struct guest_regs *regs);
void handle_xsetbv(struct guest_regs *regs);
void handle_vmcall(struct guest_regs *regs);
void handle_ept_violation(struct guest_regs *regs);
void handle_io(struct guest_regs *regs);
/* The VMX-preemption timer of an isolation expired (guest_isolate.c). */
void handle_preemption_timer(struct guest_regs *regs);
/* Ports whose writes are announced (reset, ACPI sleep); per-CPU bitmaps. */
void io_watch_init(u16 pm1a_cnt, u16 pm1b_cnt);
void io_watch_cpu(u32 cpu);
/* A device the hypervisor keeps (before io_watch_cpu): the PCI function
 * bus << 8 | device << 3 | function reads as absent through 0xCF8/0xCFC,
 * and up to 4 I/O port ranges (its I/O BARs) likewise. False when full. */
bool io_hide_pci_function(u16 bdf);
bool io_hide_ports(u16 base, u16 count);
void apic_requests(struct guest_regs *regs);
/* The guest wrote ICR low (x2APIC: the whole ICR); dest = destination field. */
void apic_icr_write(struct guest_regs *regs, u32 icr_low, u32 dest);
void e820_hook_install(void);
bool e820_hook_handle(struct guest_regs *regs);

/* Start the guest on this CPU: BSP at 0:7C00, APs after their SIPI. */
NORETURN void guest_start_bsp(u8 boot_drive, const u8 *boot_sector);
struct boot_uefi_context;
NORETURN void guest_start_bsp_uefi(const struct boot_uefi_context *c);
NORETURN void guest_start_ap(void);

#endif
