/* Nested VMX (nested/, docs/nested.md): the interface between the core and
 * nested/, both ways. nested/ reaches the core only through this header
 * and the other headers of xmhf/include.
 *
 * The hooks the core calls run in VMX root on the CPU that took the VM
 * exit, with its VMCS01 current. Without CONFIG_NESTED (./build.sh
 * --no-nested) they are the inline stubs below: VMX stays hidden (CPUID,
 * IA32_FEATURE_CONTROL, CR4.VMXE reserved, VMX instructions #UD). */
#ifndef XMHF_NESTED_H
#define XMHF_NESTED_H

#include <config.h>
#include <xmhf/guest.h>
#include <xmhf/vmcs_access.h>
#include <xmhf/vmcs_fields.h>
#include <xmhf/x86/events.h>
#include <xmhf/x86/regs.h>

/* The L1 pages whose EPT01 leaves changed on a CPU since its last flush
 * (xmhf/runtime/ept01.c); 'all': more than EPT01_CHANGES_MAX pages, or
 * the whole EPT01 was rebuilt. */
#define EPT01_CHANGES_MAX 16
struct ept01_changes {
	bool all;
	u32 n;
	l1_gpa_t pages[EPT01_CHANGES_MAX];
};

enum nested_msr_result {
	NESTED_MSR_NOT_MINE, /* not a VMX MSR: the core's policy */
	NESTED_MSR_VALUE,    /* *value is what RDMSR returns */
	NESTED_MSR_GP,       /* RDMSR raises #GP(0) (a VMX MSR of a feature not offered) */
};

/* What the guest's INIT for this CPU does (apic_trap.c asks before acting). */
enum nested_init {
	NESTED_INIT_NOT_MINE, /* not in VMX operation: the core resets the CPU */
	NESTED_INIT_BLOCKED,  /* L1 in VMX root: held until it leaves it (apic_init_unblock) */
	NESTED_INIT_EXITED,   /* L2 ran: L1 got its INIT exit, VMCS01 current */
};

#if CONFIG_NESTED
/* CPUID.1:ECX.VMX for the guest. */
bool nested_vmx_offered(void);
/* RDMSR of IA32_FEATURE_CONTROL and the IA32_VMX_* capability MSRs. */
enum nested_msr_result nested_rdmsr(u32 msr, u64 *value);
/* May the guest's CR0/CR4 become new0/new4 (SDM Vol. 3 24.7 "Enabling and
 * entering VMX operation", 24.8 "Restrictions on VMX operation")? The core
 * checked the other reserved bits. */
bool nested_cr_write_allowed(u64 new0, u64 new4);
/* A VM exit for one of L1's VMX instructions (basic exit reason): the
 * instruction's outcome for L1, as the SDM says (Vol. 3 chapter 32). */
void nested_vmx_instruction(struct guest_regs *regs, u32 exit_reason);
/* VMCALL in L1's VMX root operation is VMfail(VMCALL executed in VMX root
 * operation) (32.3 VMCALL), not a hypercall, unless the hypapp claims it
 * (hypapp_l1_root_vmcall_is_mine): true then (done). */
bool nested_vmcall(const struct guest_regs *regs);
/* This CPU's EPT01 changed (rights of some pages, a page relocated, an
 * MTRR or APIC rebuild) and the core flushes it: the EPT02 entries built
 * from the changed pages' old EPT01 leaves are dropped, every EPT02 if
 * 'all' (nested/ept02.c), and, in VMX operation, VMCS02's GPADDR fields are
 * re-translated before the next VM entry into L2 (nested_request_before_entry;
 * nested/rewalk.c). Called on cpu itself, at no NMI. */
void nested_ept01_changed(u32 cpu, const struct ept01_changes *changes);
/* The core's REQUEST_NESTED, at its last stop before a VM entry: with
 * VMCS02 current, the rewalk asked for (L1 may get a VM-entry failure
 * instead, VMCS01 current then). */
void nested_requests(void);
/* Every VM exit while a VMCS02 is current, first (reason: the full
 * exit-reason field). While L2 runs: true if nested VMX took the exit (reflected it to L1,
 * VMCS01 current again, or handled it and L2 resumes); false: the core
 * handles it as its own, on the current VMCS (L0's exits of L2). */
bool nested_l2_exit(struct guest_regs *regs, u32 reason);
/* VMLAUNCH/VMRESUME of the current VMCS failed (VMfailValid/VMfailInvalid):
 * true if it was VMCS02's; then VMCS01 is current and L1 has the outcome. */
bool nested_entry_failed(struct guest_regs *regs);
/* A guest NMI is to be delivered while L2 runs: true if L1 takes it as a
 * VM exit (its pin-based "NMI exiting", SDM Vol. 3 26.2): then done, with
 * VMCS01 current; false: the core injects it into the current VMCS. */
bool nested_nmi_exit_to_l1(void);
enum nested_init nested_init_signal(void);
/* For the hypapp's hooks: the exit being handled is one of L2's that L0 takes (VMCS02 current:
 * the guest_* accessors of xmhf/guest.h see L2's state); with ept12, L1 runs L2 with EPT (its
 * "enable EPT" in VMCS12), so L2's guest-physical addresses are not L1's. */
bool nested_caller_is_l2(void);
bool nested_caller_ept12(void);
/* An L2 caller's guest-physical address as L1's, for an access of 'access' (EPT_R, EPT_W,
 * EPT_X: the rights EPT12 must give, SDM Vol. 3 29.3.3.2): through EPT12 with ept12, else the
 * same address. False: EPT12 does not map it so (the caller checks guest RAM after). */
bool nested_l2_gpa_to_l1(l2_gpa_t gpa, u64 access, l1_gpa_t *out);
/* guest_isolate_begin (first) and guest_isolate_end (last) on this CPU: with an L2 caller,
 * VMCS02 runs the isolated code with L0's controls only, and gets L1's back at the end
 * (nested/isolation.c). Nothing for an L1 caller. */
void nested_isolation_begin(void);
void nested_isolation_end(void);
#else
static inline bool nested_vmx_offered(void) { return false; }
static inline enum nested_msr_result nested_rdmsr(u32 msr, u64 *value) { return NESTED_MSR_NOT_MINE; }
static inline bool nested_cr_write_allowed(u64 new0, u64 new4) { return !(new4 & CR4_VMXE); }
static inline void nested_vmx_instruction(struct guest_regs *regs, u32 exit_reason)
{
	inject_exception(VECTOR_UD, false, 0); /* not in VMX operation (Vol. 3 32.3) */
}
static inline bool nested_vmcall(const struct guest_regs *regs) { (void)regs; return false; }
static inline void nested_ept01_changed(u32 cpu, const struct ept01_changes *changes) {}
static inline void nested_requests(void) {}
static inline bool nested_l2_exit(struct guest_regs *regs, u32 reason) { return false; }
static inline bool nested_entry_failed(struct guest_regs *regs) { return false; }
static inline bool nested_nmi_exit_to_l1(void) { return false; }
static inline enum nested_init nested_init_signal(void) { return NESTED_INIT_NOT_MINE; }
static inline bool nested_caller_is_l2(void) { return false; }
static inline bool nested_caller_ept12(void) { return false; }
static inline bool nested_l2_gpa_to_l1(l2_gpa_t gpa, u64 access, l1_gpa_t *out)
{
	*out = l1_gpa(gpa.v);
	return true;
}
static inline void nested_isolation_begin(void) {}
static inline void nested_isolation_end(void) {}
#endif

/* What the core gives nested/ (xmhf/runtime/nested_services.c; the field
 * accesses are VMREAD/VMWRITE inline, xmhf/vmcs_access.h: they run per
 * field in every loop of a nested VM entry and exit) */
/* The current CPU's VMCS01 (L1's state at the exit): every field of
 * VMCS_FIELDS that the CPU supports. */
static inline u64 vmcs01_read(enum vmcs_field f) { return vmread(f); }
static inline void vmcs01_write(enum vmcs_field f, u64 v) { vmwrite(f, v); }
/* VMCS02 and the shadow VMCS: nested/'s own regions per CPU.
 * vmcs_make_current is VMPTRLD, vmcs_clear VMCLEAR (false: the CPU refused,
 * a hypervisor bug); while one of them is current, vmcs02_read/write reach
 * its fields (SDM Vol. 3 31.3). */
hpa_t vmcs01_region(void);
bool vmcs_make_current(hpa_t region);
bool vmcs_clear(hpa_t region);
static inline u64 vmcs02_read(enum vmcs_field f) { return vmread(f); }
static inline void vmcs02_write(enum vmcs_field f, u64 v) { vmwrite(f, v); }
/* L0's MSR policy: true if L1's RDMSR (write: WRMSR) of msr runs without a
 * VM exit (VMCS01's MSR bitmap, msr_policy.c). */
bool l0_msr_passed_through(u32 msr, bool write);
/* VMLAUNCH of the current VMCS with these guest registers, from an exit
 * handler: the stack is reset, never returns (a failure goes to
 * nested_entry_failed). If the requests served just before the entry make
 * VMCS01 current again (an event's exit to L1), VMCS01 is resumed instead. */
NORETURN void vmcs_launch(const struct guest_regs *regs);
/* L1 left VMX root operation (VMXOFF, or a VM entry into L2): an INIT it
 * blocked (nested_init_signal) is taken before this CPU's next VM entry, as
 * the core's reset or as L2's INIT exit (SDM Vol. 3 24.8, 26.2). */
void apic_init_unblock(void);
/* Guest-physical memory of L1 as this CPU's EPT01 maps it (its host pages,
 * e.g. a relocated page, and its rights: R to read, W to write), only guest
 * RAM (guest_ram_ptr's rules); false, and nothing copied, if any byte is
 * not (a shootdown between the check and the copy may cut a copy short). */
bool guest_phys_read(l1_gpa_t gpa, void *buf, u64 len);
bool guest_phys_write(l1_gpa_t gpa, const void *buf, u64 len);
/* Post REQUEST_NESTED to this CPU: nested_requests runs before its next
 * VM entry (also when the request comes after the entry path looked). */
void nested_request_before_entry(void);
/* An EPT violation (qualification q, SDM Vol. 3 Table 28-7) of the current VMCS at L1's page
 * gpa, which EPT01 denies: the hypapp's (hypapp_ept_violation) unless the core owns the page
 * (the hypervisor's memory, the emulated APIC page, a hidden device's page). True: the hypapp
 * handled it (e.g. a PAL call of an L2 caller on EPT12, whose page is lent). */
bool l0_offer_ept_violation(struct guest_regs *regs, l1_gpa_t gpa, u64 q);
/* INVEPT single-context (SDM Vol. 3 32.3 INVEPT) of an EPTP of nested/'s
 * own tables (EPT02) on this CPU: its cached mappings are gone. */
void nested_invept(u64 eptp);
/* INVVPID (SDM Vol. 3 32.3 INVVPID) of type for a VPID of nested/'s own
 * (VPID02) on this CPU. */
void nested_invvpid(u64 type, u16 vpid, u64 linear);

#endif
