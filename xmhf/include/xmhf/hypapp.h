/* The hypapp interface: the only header through which hypapps/ talks to the
 * core (with the headers it includes, xmhf/guest.h for the guest's state).
 * `./build.sh --app NAME` links the C files of hypapps/NAME/ (not its
 * subdirectories). A hypapp defines only the hooks it uses: the core has a
 * default for every hook below (xmhf/runtime/hypapp_defaults.c, weak
 * symbols: pass, do nothing), which a hypapp's definition replaces at link
 * time; `--app none` (hypapps/none/) has no code. Either way a hook is a
 * plain direct call, resolved at link time.
 *
 * Hooks run in VMX root on the CPU that took the VM exit, with that CPU's
 * VMCS01 current, interrupts off; several CPUs may be in hooks at once. A
 * hook that returns HYPAPP_DONE has completed the exit itself: it moved
 * RIP (skip_instruction) or injected an event, as the SDM says the
 * instruction would have. The core never halts for a hypapp's answer. */
#ifndef XMHF_HYPAPP_H
#define XMHF_HYPAPP_H

#include <xmhf/cmdline.h>
#include <xmhf/guest.h>
#include <xmhf/vmx.h>

enum hypapp_result {
	HYPAPP_PASS, /* the core handles the exit as it would without a hypapp */
	HYPAPP_DONE, /* the hypapp handled it; the guest resumes as the hypapp left it */
};

struct hypapp_boot {
	u32 cpu;                            /* this CPU's index (0: the boot CPU) */
	u32 cpu_count;                      /* CPUs running the guest */
	u8 boot_drive;                      /* the guest's BIOS boot drive */
	hpa_t runtime_base, runtime_end;    /* the hypervisor's range [base, end), hidden from the guest */
	const struct cmdline_extra *keys;   /* command-line key=value words the core did not consume */
	u32 n_keys;
};

/* Once on every CPU after its VMCS01 is set up, before its guest starts;
 * the boot CPU's call returns before any AP's starts. */
void hypapp_init(const struct hypapp_boot *boot);

/* VMCALL, unless it is the core's own (the E820 stub of INT 15h, real
 * mode). PASS: #UD, the CPU's answer outside VMX operation. */
enum hypapp_result hypapp_hypercall(struct guest_regs *regs);

/* CPUID of a leaf the core does not define: above the CPU's highest basic
 * leaf (CPUID.0:EAX) and outside the core's hypervisor leaves
 * 0x40000000-0x400000FF and the CPU's extended leaves 0x80000000 up to
 * CPUID.80000000H:EAX. The leaves the core answers never reach the hypapp
 * (so that their exits stay short). Called after the core put what the CPU
 * answers for such a leaf (its highest basic leaf, SDM Vol. 2A CPUID, as the
 * core shows that leaf) into RAX, RBX, RCX, RDX (the hypapp may change them;
 * leaf and subleaf as the guest asked). PASS: the core skips the
 * instruction. */
enum hypapp_result hypapp_cpuid(struct guest_regs *regs, u32 leaf, u32 subleaf);

/* RDMSR / WRMSR of an MSR whose access exits (the core's MSR bitmap),
 * before the core's MSR policy. PASS: the core's policy (its value, or #GP). */
enum hypapp_result hypapp_rdmsr(struct guest_regs *regs, u32 msr);
enum hypapp_result hypapp_wrmsr(struct guest_regs *regs, u32 msr, u64 value);

/* IN/OUT (INS/OUTS: string) of a port whose access exits (the core's I/O
 * bitmap), before the core performs it; 'flags' as in the exit
 * qualification (SDM Vol. 3 Table 28-5). PASS: the core performs it. */
#define HYPAPP_IO_IN IO_QUAL_IN
#define HYPAPP_IO_STRING IO_QUAL_STRING
enum hypapp_result hypapp_io(struct guest_regs *regs, u16 port, u32 size, u32 flags);

/* An EPT violation on EPT01 at a page the core does not own (not the
 * hypervisor's memory, not the emulated APIC page); with nested VMX also an
 * L2's access that its L1's EPT maps to such a page (gpa: L1's, gva: L2's;
 * nested_caller_is_l2() in xmhf/nested.h). 'access' is what the
 * access tried (the exit qualification's bits 2:0, SDM Vol. 3 Table 28-7);
 * gva only with gva_valid. PASS: #GP(0), what the guest gets for unmapped
 * memory. */
#define HYPAPP_ACCESS_READ EPT_QUAL_READ
#define HYPAPP_ACCESS_WRITE EPT_QUAL_WRITE
#define HYPAPP_ACCESS_EXEC EPT_QUAL_FETCH
struct hypapp_ept_violation {
	l1_gpa_t gpa;
	gva_t gva;
	bool gva_valid;
	u32 access;
};
enum hypapp_result hypapp_ept_violation(struct guest_regs *regs, const struct hypapp_ept_violation *v);

/* An exception the hypapp intercepts (guest_intercept_exception), outside
 * single steps. 'intr_info' is the VM-exit interruption information (SDM
 * Vol. 3 25.9.2), 'error_code' valid with its bit 11. PASS: the exception
 * is delivered to the guest as it was raised. */
enum hypapp_result hypapp_exception(struct guest_regs *regs, u32 intr_info, u32 error_code);

/* The VMX-preemption timer of guest_isolate_begin expired (exit reason 52). PASS: the core
 * stops the timer and resumes the isolated code. */
enum hypapp_result hypapp_isolation_timeout(struct guest_regs *regs);

/* The guest shuts down or resets the machine (triple fault, INIT to the
 * boot CPU, reset ports, ACPI sleep): called before the core powers off or
 * lets the reset through, on the CPU that saw it; scrub secrets here. */
void hypapp_guest_shutdown(void);

/* Nested VMX: an exit of L2 for VMCALL (regs: L2's) or CPUID (EAX/ECX: leaf, subleaf) that L0
 * takes instead of reflecting it to L1 (docs/nested.md "Exits of L2"): true for the hypapp's
 * calls for L2 callers. Then the core handles the exit on VMCS02 and the hypapp's
 * hypapp_hypercall / hypapp_cpuid run with nested_caller_is_l2() (xmhf/nested.h). Asked with
 * VMCS02 current (guest_mode() is L2's). Default: false, every such exit is L1's. */
bool hypapp_l2_vmcall_is_mine(const struct guest_regs *regs);
bool hypapp_l2_cpuid_is_mine(u32 leaf, u32 subleaf);
/* Nested VMX: a VMCALL of L1 in its VMX root operation, which the CPU answers with VMfail or
 * #GP(0) (SDM Vol. 2B VMCALL): true for the hypapp's own calls, which then go to
 * hypapp_hypercall as outside VMX operation (Linux with KVM is in VMX root on every CPU while
 * a VM exists, and its processes still call the hypapp). Default: false, nested VMX's answer. */
bool hypapp_l1_root_vmcall_is_mine(const struct guest_regs *regs);

/* Nested VMX (declared for the nested-VMX issue; nothing calls them yet):
 * the guest enters its L2 guest (VMLAUNCH/VMRESUME), and an L2 exit that
 * is reflected to the guest. PASS: the core's nested handling. */
enum hypapp_result hypapp_nested_entry(struct guest_regs *regs);
enum hypapp_result hypapp_nested_exit(struct guest_regs *regs, u32 exit_reason);

#endif
