/* The rich guest's state on this CPU during a VM exit, for the exit
 * handlers and the hypapp (hypapp.h): its registers, the VMCS guest state
 * it cares about, events to inject, and its memory through its own page
 * tables. Everything acts on the current CPU's VMCS01. */
#ifndef XMHF_GUEST_H
#define XMHF_GUEST_H

#include <xmhf/types.h>

/* Guest general-purpose registers saved at VM exit, in the SDM's register
 * numbering (Vol. 3 Table 28-3); the RSP slot is unused (guest RSP lives
 * in the VMCS). The VM-exit stub pushes them on the host stack. */
struct guest_regs {
	u64 rax, rcx, rdx, rbx, rsp_unused, rbp, rsi, rdi;
	u64 r8, r9, r10, r11, r12, r13, r14, r15;
};

#define GUEST_REGS_SIZE 128
_Static_assert(sizeof(struct guest_regs) == GUEST_REGS_SIZE, "vmentry.S pushes 16 registers");

/* GPR number n (0..15, SDM order) of regs. */
static inline u64 *guest_gpr(struct guest_regs *regs, unsigned n) { return &((u64 *)regs)[n]; }

/* The index of the CPU this code runs on (0: the boot CPU). */
u32 this_cpu_index(void);

/* Guest-visible effects of the exiting instruction or event */
/* Inject a hardware exception at the next VM entry (no error code in real mode, 27.2.1.3). */
void inject_exception(u32 vector, bool has_error_code, u32 error_code);
static inline void inject_gp0(void) { inject_exception(13, true, 0); }
/* RIP past the exiting instruction; it ends STI/MOV SS blocking (26.4.2). */
void skip_instruction(void);
/* A one-instruction step of the guest is in progress (runtime/guest_step.h):
 * its #DB exit is the core's. */
bool guest_step_active(void);
/* An exit on a fault of an IRET that had unblocked NMIs (the exit's "NMI
 * unblocking due to IRET" bit): block virtual NMIs again. */
void nmi_reblock_after_iret(bool unblocked_by_iret);
/* SDM Vol. 3 6.15 Table 6-5: what the CPU delivers when exception 'second'
 * is raised while it delivers exception 'first': 'second' (serially),
 * VECTOR_DF, or EXCEPTION_SHUTDOWN (a triple fault). */
#define EXCEPTION_SHUTDOWN 0xffu
u32 exception_combine(u32 first, u32 second);

/* Guest register state (VMCS guest-state area, SDM Vol. 3 25.4.1) */
u64 guest_rip(void);
void guest_set_rip(u64 rip);
u64 guest_rsp(void);
void guest_set_rsp(u64 rsp);
u64 guest_rflags(void);
void guest_set_rflags(u64 rflags);
/* The guest's own CR0/CR4 (its reads through the read shadows see the same
 * bits for the bits it may set), CR3 and EFER. */
u64 guest_cr0(void);
u64 guest_cr3(void);
u64 guest_cr4(void);
u64 guest_efer(void);
/* CPL = SS.DPL (SDM Vol. 3 5.5; 0 in real mode, 3 in virtual-8086 mode). */
u32 guest_cpl(void);
enum guest_mode {
	GUEST_REAL,      /* CR0.PE = 0 */
	GUEST_VM86,      /* virtual-8086 (RFLAGS.VM) */
	GUEST_PROTECTED, /* 16/32-bit protected mode, or compatibility mode */
	GUEST_64BIT,     /* IA-32e mode with CS.L = 1 */
};
enum guest_mode guest_mode(void);

/* Exceptions that exit to the hypapp's hypapp_exception (the exception
 * bitmap, 25.6.3); none by default. Not while a single step runs (the step
 * owns the bitmap until it ends). #PF: every page fault (mask/match 0). */
void guest_intercept_exception(u32 vector, bool intercept);
bool guest_exception_intercepted(u32 vector);
/* All at once: bit n of 'vectors' for vector n (the bitmap itself, as outside a step). */
u32 guest_intercepted_exceptions(void);
void guest_intercept_exceptions(u32 vectors);

/* Isolated code in the guest (a hypapp's, e.g. a TrustVisor PAL) on this CPU, issue 8 point 4.
 * guest_isolate_begin saves the VMCS guest state below into *save and starts the code at
 * rip/rsp with page tables cr3 (4-level or 32-bit paging: the caller's PDPTEs are not
 * replaced) and, until guest_isolate_end restores *save:
 * - RFLAGS = 2 (IF, TF, AC, DF, NT, RF clear; IOPL 0, so CLI/STI/IN/OUT fault at CPL 3), no
 *   STI or MOV-SS blocking (the caller's; NMI blocking stays);
 * - CR0.EM and CR0.TS set (x87: #NM, SSE/AVX: #UD or #NM; SDM Vol. 3 2.5, 13.1);
 * - EFER.SCE = 0 and IA32_SYSENTER_CS = 0 (SYSCALL #UD, SYSENTER #GP: the code cannot reach
 *   the guest kernel with its state), DR7 = 0x400 and IA32_DEBUGCTL = 0 (no breakpoints or
 *   branch records of it);
 * - every exception exits to hypapp_exception (exception bitmap all ones, 25.6.3);
 * - the guest's NMIs are held: counted, never injected and no NMI window asked for; those
 *   pending at guest_isolate_end are delivered from the next VM entry on, each once;
 * - the VMX-preemption timer (25.5.1), if the CPU has it with "save VMX-preemption timer
 *   value", counts 'budget' TSC ticks of non-root time across all exits; when it expires,
 *   hypapp_isolation_timeout. False: no timer on this CPU (the code runs unbounded).
 * Saved and restored as well: CR3, the six segment registers (selector, base, limit,
 * rights), interruptibility and pending debug exceptions. GPRs are the hypapp's affair. With an
 * L2 caller (VMCS02 current) nested VMX swaps VMCS02's controls too (xmhf/nested.h:
 * nested_isolation_begin/end). */
struct guest_segment_save {
	u64 selector, base, limit, ar;
};
struct guest_isolation {
	u64 rip, rsp, rflags, cr0, cr3, efer, sysenter_cs, dr7, debugctl;
	u64 interruptibility, pending_dbg;
	u32 exception_bitmap, intercepts, pin, exit_controls;
	struct guest_segment_save seg[6]; /* ES, CS, SS, DS, FS, GS */
};
bool guest_isolate_begin(struct guest_isolation *save, u64 rip, u64 rsp, u64 cr3, u64 budget);
void guest_isolate_end(const struct guest_isolation *save);
/* Between guest_isolate_begin and guest_isolate_end on this CPU (nested VMX: every exit of
 * isolated code in L2 is L0's, never L1's). */
bool guest_isolated(void);
/* The event whose delivery this exit interrupted (IDT-vectoring information, SDM Vol. 3
 * 28.2.4) is not delivered again: the hypapp replaced the context that raised it (it ended an
 * isolation). An NMI among them stays pending. */
void guest_drop_vectored_event(void);

/* Guest-virtual memory through the guest's page tables as the CPU walks
 * them (A/D flags set as the CPU would). Access kinds (combine): a write,
 * a user-mode access (CPL 3 and not an implicit supervisor access, 4.6), an
 * instruction fetch. */
#define GW_WRITE BIT(0)
#define GW_USER BIT(1)
#define GW_FETCH BIT(2)

enum gw_result {
	GW_OK,
	GW_PAGE_FAULT,   /* inject #PF(error_code) with CR2 = addr */
	GW_GP,           /* #GP(0): not guest RAM (as an EPT violation), or a non-canonical address */
	GW_UNSUPPORTED,  /* 5-level paging: not emulated */
};

struct gw_fault {
	u32 error_code; /* GW_PAGE_FAULT */
	u64 addr;       /* the faulting linear address (CR2) */
};

/* Copy len bytes at guest linear 'linear' to or from buf with the current
 * paging state: every page is translated (only guest RAM) before any byte
 * is copied; on failure guest memory is unchanged and *fault says why. */
enum gw_result guest_virt_read(gva_t linear, void *buf, u64 len, u32 access, struct gw_fault *fault);
enum gw_result guest_virt_write(gva_t linear, const void *buf, u64 len, u32 access, struct gw_fault *fault);
/* The guest-physical address of 'linear' for 'access' with the current
 * paging state (A/D flags as the access would set them); GW_GP if it is
 * not guest RAM. */
enum gw_result guest_virt_translate(gva_t linear, u32 access, l1_gpa_t *gpa, struct gw_fault *fault);
/* The hypervisor's pointer to [gpa, gpa + size) if all of it is guest RAM, else NULL. */
void *guest_phys_ptr(l1_gpa_t gpa, u64 size);
/* Zero the guest-RAM page holding gpa; false (nothing written) if it is not guest RAM. */
bool guest_phys_zero_page(l1_gpa_t gpa);
/* Give the guest what a failed access gets: #PF (CR2 = the address) or
 * #GP(0); GW_UNSUPPORTED is #GP(0) too. */
void guest_inject_fault(enum gw_result r, const struct gw_fault *fault);

/* Warnings a guest can cause at will: count one in *count; true for the
 * first GUEST_WARN_FIRST, then for one in GUEST_WARN_EVERY (print the count). */
#define GUEST_WARN_FIRST 8
#define GUEST_WARN_EVERY 1024
bool guest_warning_due(u32 *count);
/* The guest reset the machine in a way the hypervisor cannot follow (a
 * triple fault, an INIT to the boot CPU): say why, then ACPI S5. */
NORETURN void guest_reset_power_off(const char *what);
/* A hypervisor bug: print every readable VMCS field by name, then halt all CPUs. */
NORETURN void vmexit_unexpected(const char *why);
/* Exit counts of every CPU by reason, at loglvl=debug, and the event
 * logger's blocks (xmhf/evlog.h) with 'why'. */
void vmexit_print_counts(const char *why);

#endif
