/* VM-exit handling for the rich guest (VMCS01). */
#ifndef RUNTIME_VMEXIT_H
#define RUNTIME_VMEXIT_H

#include <runtime/guest_regs.h>

void vmexit_handler(struct guest_regs *regs);
/* Exit counts of every CPU by reason, at loglvl=debug. */
void vmexit_print_counts(void);
NORETURN void vmentry_failed(bool invalid_vmcs);

/* Guest-visible effects */
void inject_exception(u32 vector, bool has_error_code, u32 error_code);
static inline void inject_gp0(void) { inject_exception(13, true, 0); }
void skip_instruction(void);
/* An exit on a fault of an IRET that had unblocked NMIs (the exit's "NMI
 * unblocking due to IRET" bit): block virtual NMIs again. */
void nmi_reblock_after_iret(bool unblocked_by_iret);
/* #DE, #TS, #NP, #SS, #GP (SDM Vol. 3 6.15 Table 6-4) */
/* SDM Vol. 3 6.15 Table 6-5: what the CPU delivers when exception 'second'
 * is raised while it delivers exception 'first': 'second' (serially),
 * VECTOR_DF, or EXCEPTION_SHUTDOWN (a triple fault). */
#define EXCEPTION_SHUTDOWN 0xffu
u32 exception_combine(u32 first, u32 second);
/* Warnings a guest can cause at will: count one in *count; true for the
 * first GUEST_WARN_FIRST, then for one in GUEST_WARN_EVERY (print the count). */
#define GUEST_WARN_FIRST 8
#define GUEST_WARN_EVERY 1024
bool guest_warning_due(u32 *count);
/* The guest reset the machine in a way the hypervisor cannot follow (a
 * triple fault, an INIT to the boot CPU): say why, then ACPI S5. */
NORETURN void guest_reset_power_off(const char *what);
/* Print every readable VMCS field by name, then halt all CPUs. */
NORETURN void vmexit_unexpected(const char *why);

/* Handlers (one file each) */
void handle_cpuid(struct guest_regs *regs);
void handle_rdmsr(struct guest_regs *regs);
void handle_wrmsr(struct guest_regs *regs);
void handle_cr_access(struct guest_regs *regs);
void handle_xsetbv(struct guest_regs *regs);
void handle_vmcall(struct guest_regs *regs);
void handle_ept_violation(struct guest_regs *regs);
void handle_io(struct guest_regs *regs);
/* Ports whose writes are announced (reset, ACPI sleep); per-CPU bitmaps. */
void io_watch_init(u16 pm1a_cnt, u16 pm1b_cnt);
void io_watch_cpu(u32 cpu);
void apic_requests(struct guest_regs *regs);
/* The guest wrote ICR low (x2APIC: the whole ICR); dest = destination field. */
void apic_icr_write(struct guest_regs *regs, u32 icr_low, u32 dest);
void e820_hook_install(void);
bool e820_hook_handle(struct guest_regs *regs);

/* Start the guest on this CPU: BSP at 0:7C00, APs after their SIPI. */
NORETURN void guest_start_bsp(u8 boot_drive, const u8 *boot_sector);
NORETURN void guest_start_ap(void);

#endif
