/* VM-exit dispatch for VMCS01 (SDM Vol. 3 chapter 28, Appendix C). Each
 * handler reads and writes only the fields it needs. */
#include <runtime/exit_handlers.h>
#include <runtime/guest_step.h>
#include <runtime/percpu.h>
#include <runtime/task_switch.h>
#include <runtime/vmexit.h>
#include <runtime/vmx_ops.h>
#include <xmhf/cpu.h>
#include <xmhf/evlog.h>
#include <xmhf/netlog.h>
#include <xmhf/guest.h>
#include <xmhf/hypapp.h>
#include <xmhf/log.h>
#include <xmhf/nested.h>
#include <xmhf/vmx.h>
#include <xmhf/x86/segment.h>

void nmi_unblock(void);

void vmentry_failed(struct guest_regs *regs, bool invalid_vmcs)
{
	struct percpu *p = this_cpu();
	if (nested_entry_failed(regs))
		return;
	if (invalid_vmcs)
		panic("xmhf: cpu %u: VM entry failed: VMfailInvalid (no current VMCS)", p->index);
	pr_err("xmhf: cpu %u: VM entry failed: VM-instruction error %llu", p->index,
	       vmread(VMCS_VM_INSTRUCTION_ERROR));
	vmexit_unexpected("VM entry failed (VMfailValid)");
}

/* Guest NMIs: inject now, or when the guest's NMI window opens. Blocking
 * by STI counts too: some processors fail a VM entry that injects an NMI
 * in an STI shadow (SDM "Checks on Guest Non-Register State"). */
static NOINLINE void deliver_pending_nmi(void)
{
	struct percpu *p = this_cpu();
	u64 blocking = INTERRUPTIBILITY_NMI | INTERRUPTIBILITY_MOV_SS | INTERRUPTIBILITY_STI;
	bool blocked = (vmread(VMCS_GUEST_INTERRUPTIBILITY_INFO) & blocking) ||
		       (vmread(VMCS_VM_ENTRY_INTR_INFO) & INTR_INFO_VALID);
	if (!blocked) {
		if (!nested_nmi_exit_to_l1())
			vmwrite(VMCS_VM_ENTRY_INTR_INFO, INTR_INFO_VALID | INTR_TYPE_NMI | VECTOR_NMI);
		__atomic_fetch_sub(&p->nmi_pending, 1, __ATOMIC_RELAXED);
		evlog_count(nmi_injected);
	}
	bool want_window = __atomic_load_n(&p->nmi_pending, __ATOMIC_RELAXED) != 0;
	u64 proc = vmread(VMCS_CPU_BASED_VM_EXEC_CONTROL); /* (VMCS01 again after an NMI exit to L1) */
	if (want_window != !!(proc & PROC_NMI_WINDOW_EXITING))
		vmwrite(VMCS_CPU_BASED_VM_EXEC_CONTROL, proc ^ PROC_NMI_WINDOW_EXITING);
}

/* Inject an event given as interruption information (of an exit or of
 * IDT vectoring) with its error code and, for a software event, the
 * exit's instruction length ("Reflecting Exceptions to Guest Software"). */
static void inject_event(u32 info, u32 error_code)
{
	u32 type = INTR_INFO_TYPE(info);

	if (info & INTR_INFO_DELIVER_ERROR_CODE)
		vmwrite(VMCS_VM_ENTRY_EXCEPTION_ERROR_CODE, error_code);
	if (type == EVENT_SW_INT || type == EVENT_PRIV_SW_EXCEPTION || type == EVENT_SW_EXCEPTION)
		vmwrite(VMCS_VM_ENTRY_INSTRUCTION_LEN, vmread(VMCS_VM_EXIT_INSTRUCTION_LEN));
	vmwrite(VMCS_VM_ENTRY_INTR_INFO, info & (INTR_INFO_VALID | INTR_INFO_DELIVER_ERROR_CODE | INTR_INFO_TYPE_VECTOR));
}

/* An exception the handler injected was raised by the delivery of 'first'
 * (SDM Vol. 3 6.15 Table 6-5): #DF, or a shutdown after a #DF; otherwise
 * the exception alone (the CPU handles them serially; an NMI stays pending,
 * an external interrupt is lost with its delivery). */
static void combine_with_vectored_event(u32 first)
{
	u32 second = (u32)vmread(VMCS_VM_ENTRY_INTR_INFO);
	u32 v1 = INTR_INFO_VECTOR(first), v2 = INTR_INFO_VECTOR(second);

	if (INTR_INFO_TYPE(first) == EVENT_NMI)
		__atomic_fetch_add(&this_cpu()->nmi_pending, 1, __ATOMIC_RELAXED);
	if (INTR_INFO_TYPE(first) != EVENT_HW_EXCEPTION || INTR_INFO_TYPE(second) != EVENT_HW_EXCEPTION)
		return;
	u32 v = exception_combine(v1, v2);
	if (v == EXCEPTION_SHUTDOWN)
		guest_reset_power_off("guest triple fault (shutdown)");
	if (v == VECTOR_DF)
		inject_exception(VECTOR_DF, true, 0);
}

/* After the handler: the event whose delivery the exit interrupted (SDM
 * "Information for VM Exits During Event Delivery") is delivered again
 * with its error code and, for software events, instruction length
 * ("Reflecting Exceptions to Guest Software"); unless the handler injected
 * an exception that delivery raised. */
static NOINLINE void redeliver_vectored_event(u32 idt)
{
	/* a hypapp dropped it (guest_drop_vectored_event) */
	if (this_cpu()->vectored_dropped) {
		this_cpu()->vectored_dropped = false;
		return;
	}
	/* a switch through a task gate delivered the vectored event itself */
	if ((u16)vmread(VMCS_VM_EXIT_REASON) == EXIT_REASON_TASK_SWITCH)
		return;
	if (vmread(VMCS_VM_ENTRY_INTR_INFO) & INTR_INFO_VALID) {
		combine_with_vectored_event(idt);
		return;
	}
	/* NMI injection needs virtual-NMI blocking clear (entry checks) */
	if (INTR_INFO_TYPE(idt) == EVENT_NMI)
		vmwrite(VMCS_GUEST_INTERRUPTIBILITY_INFO,
			vmread(VMCS_GUEST_INTERRUPTIBILITY_INFO) & ~(u64)INTERRUPTIBILITY_NMI);
	inject_event(idt, (u32)vmread(VMCS_IDT_VECTORING_ERROR_CODE));
}

/* An exception exit: the exception bitmap makes exceptions exit while a
 * step is active (guest_step.c) and for the vectors the hypapp intercepts;
 * unless the hypapp handled it, the exception goes to the guest as raised
 * (a #PF exit leaves CR2 alone: it is in the qualification). */
static void reflect_exception(struct guest_regs *regs, u32 info)
{
	u32 vector = INTR_INFO_VECTOR(info);

	if (!guest_step_active()) {
		if (!guest_exception_intercepted(vector))
			vmexit_unexpected("unexpected exception exit");
		u32 error_code = info & INTR_INFO_DELIVER_ERROR_CODE ? (u32)vmread(VMCS_VM_EXIT_INTR_ERROR_CODE) : 0;
		if (hypapp_exception(regs, info, error_code) == HYPAPP_DONE)
			return;
	}
	if (vector == VECTOR_PF)
		write_cr2(vmread(VMCS_EXIT_QUALIFICATION));
	if (vector != VECTOR_DF)
		nmi_reblock_after_iret(info & INTR_INFO_NMI_UNBLOCKED_BY_IRET);
	inject_event(info, (u32)vmread(VMCS_VM_EXIT_INTR_ERROR_CODE));
}

static NOINLINE void handle_exception_or_nmi(struct guest_regs *regs)
{
	u32 info = (u32)vmread(VMCS_VM_EXIT_INTR_INFO);
	u32 vector = INTR_INFO_VECTOR(info);

	if (INTR_INFO_TYPE(info) == EVENT_NMI) {
		/* After an NMI-caused VM exit NMIs stay blocked in VMX root until
		 * the next IRET (as XMHF64 found too): unblock them. */
		nmi_unblock();
		evlog_count(nmi_received);
		/* kicks are handled by the requests before entry; others are the guest's */
		if (!nmi_is_kick(this_cpu()))
			__atomic_fetch_add(&this_cpu()->nmi_pending, 1, __ATOMIC_RELAXED);
		return;
	}
	if (vector == VECTOR_DB && guest_step_active()) {
		guest_step_db_exit();
		return;
	}
	reflect_exception(regs, info);
}

/* A real INIT (only another agent than the guest can send one: the guest's
 * are captured): an AP goes to wait-for-SIPI like after the guest's INIT.
 * The boot CPU would wait for a SIPI nobody sends (the guest's reset by
 * port 0x92, 0xCF9 or an IOAPIC/MSI INIT): a logged power-off instead. */
static void handle_init_signal(struct guest_regs *regs)
{
	if (this_cpu()->index == 0)
		guest_reset_power_off("INIT signal to the boot CPU");
	__atomic_fetch_or(&this_cpu()->requests, REQUEST_INIT, __ATOMIC_SEQ_CST);
}

static void handle_triple_fault(struct guest_regs *regs) { guest_reset_power_off("guest triple fault (shutdown)"); }

/* The guest's NMI window opened: deliver_pending_nmi injects. */
static void handle_nmi_window(struct guest_regs *regs) {}

/* VM functions and SMX are not offered: to the guest these instructions
 * are undefined (VMFUNC without "enable VM functions"; GETSEC with
 * CR4.SMXE = 0). */
static void handle_vmfunc_getsec(struct guest_regs *regs) { inject_exception(VECTOR_UD, false, 0); }

/* VMX instructions: nested VMX (#UD with --no-nested). */
static void handle_vmx_instruction(struct guest_regs *regs)
{
	nested_vmx_instruction(regs, (u16)vmread(VMCS_VM_EXIT_REASON));
}

/* INVD would drop the hypervisor's dirty cache lines too: write them back
 * instead (as KVM does). */
static void handle_invd(struct guest_regs *regs)
{
	__asm__ volatile("wbinvd" : : : "memory");
	skip_instruction();
}

static void handle_unexpected(struct guest_regs *regs) { vmexit_unexpected("unexpected VM exit"); }

/* The handler of each basic exit reason (SDM Vol. 3 Appendix C): one
 * indirect call, the bound checked with the exit count. */
typedef void (*exit_handler_fn)(struct guest_regs *regs);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Woverride-init" /* the default first, then the reasons handled */
static const exit_handler_fn exit_handlers[EXIT_REASON_COUNT] = {
	[0 ... EXIT_REASON_COUNT - 1] = handle_unexpected,
	[EXIT_REASON_EXCEPTION_NMI] = handle_exception_or_nmi,
	[EXIT_REASON_TRIPLE_FAULT] = handle_triple_fault,
	[EXIT_REASON_INIT] = handle_init_signal,
	[EXIT_REASON_NMI_WINDOW] = handle_nmi_window,
	[EXIT_REASON_TASK_SWITCH] = task_switch_emulate, /* hardware task switches: emulated */
	[EXIT_REASON_CPUID] = handle_cpuid,
	[EXIT_REASON_GETSEC] = handle_vmfunc_getsec,
	[EXIT_REASON_INVD] = handle_invd,
	[EXIT_REASON_VMCALL] = handle_vmcall,
	[EXIT_REASON_VMCLEAR ... EXIT_REASON_VMXON] = handle_vmx_instruction,
	[EXIT_REASON_CR_ACCESS] = handle_cr_access,
	[EXIT_REASON_IO] = handle_io,
	[EXIT_REASON_RDMSR] = handle_rdmsr,
	[EXIT_REASON_WRMSR] = handle_wrmsr,
	[EXIT_REASON_EPT_VIOLATION] = handle_ept_violation,
	[EXIT_REASON_PREEMPTION_TIMER] = handle_preemption_timer,
	[EXIT_REASON_INVEPT] = handle_vmx_instruction,
	[EXIT_REASON_INVVPID] = handle_vmx_instruction,
	[EXIT_REASON_XSETBV] = handle_xsetbv,
	[EXIT_REASON_VMFUNC] = handle_vmfunc_getsec,
};
#pragma GCC diagnostic pop

/* A reason past the table: a failed VM entry (bit 31) or a flag VMCS01
 * never causes (SDM Vol. 3 25.9.1, the exit reason: enclave, SMM). */
static NORETURN NOINLINE void unexpected_reason(u32 reason)
{
	vmexit_unexpected(reason & EXIT_REASON_ENTRY_FAILURE ? "VM-entry failure" : "unexpected VM exit");
}

/* Work before the next VM entry that most exits do not have; also the
 * slow path of vmentry.S when a request bit came in after this ran. */
NOINLINE bool vmentry_requests(struct guest_regs *regs)
{
	struct percpu *p = this_cpu();
	bool vmcs02_was_current = p->vmcs02_current;
	/* no event is delivered into a step: it ends first (guest_step.h) */
	if (p->step.done && (vmread(VMCS_VM_ENTRY_INTR_INFO) & INTR_INFO_VALID))
		guest_step_cancel();
	u32 requests = __atomic_load_n(&p->requests, __ATOMIC_SEQ_CST);
	/* cleared before nmi_pending is read: a later NMI sets it again */
	if (requests & REQUEST_NMI)
		__atomic_fetch_and(&p->requests, ~(u32)REQUEST_NMI, __ATOMIC_SEQ_CST);
	if (requests & ~(u32)(REQUEST_NMI | REQUEST_NESTED))
		apic_requests(regs);
	/* last: the requests above may change EPT01 and post it again */
	if (__atomic_fetch_and(&p->requests, ~(u32)REQUEST_NESTED, __ATOMIC_SEQ_CST) & REQUEST_NESTED)
		nested_requests();
	if (__atomic_load_n(&p->nmi_pending, __ATOMIC_SEQ_CST) && !p->nmi_held) /* held: guest_isolate_begin */
		deliver_pending_nmi();
	return vmcs02_was_current && !p->vmcs02_current;
}

/* A 64-bit kernel runs with a NULL SS after an interrupt from CPL 3 (SDM
 * Vol. 3 6.14.4), which an exit saves with B = 0 (unusable, or usable
 * with the attributes Bochs gives a NULL SS) and the entry loads. SYSRET to
 * compatibility mode must then load fixed flat attributes (Vol. 2B SYSRET:
 * SS.B = 1), but Bochs 2.7 keeps SS's (docs/bochs.md): a 32-bit process
 * would run on a 16-bit stack. B is ignored in 64-bit mode and in an
 * unusable SS, and VM entry does not check it there (26.3.1.2). */
static inline void ss_keep_b(void)
{
	u32 ss = (u32)vmread(VMCS_GUEST_SS_AR_BYTES);
	if (!(ss & AR_DB) && ((ss & AR_UNUSABLE) || (vmread(VMCS_GUEST_CS_AR_BYTES) & AR_L)))
		vmwrite(VMCS_GUEST_SS_AR_BYTES, ss | AR_DB);
}

/* One exit of the current VMCS (VMCS01, or VMCS02 for an L2 exit that
 * nested VMX leaves to the core): its handler, then the event it
 * interrupted (read first: the handler may make VMCS02 current). */
static void dispatch(struct guest_regs *regs, u64 reason)
{
	if (reason >= EXIT_REASON_COUNT)
		unexpected_reason((u32)reason);
	this_cpu()->exits[reason]++;
	evlog_exit((u32)reason, regs);
	u32 idt = (u32)vmread(VMCS_IDT_VECTORING_INFO);
	exit_handlers[reason](regs);
	if (idt & INTR_INFO_VALID)
		redeliver_vectored_event(idt);
}

/* An exit of L2: nested VMX's (reflected to L1, VMCS01 current; or handled,
 * and L2 resumes with the event the exit interrupted delivered again) or
 * the core's, on VMCS02. */
static NOINLINE void l2_exit(struct guest_regs *regs, u64 reason)
{
	u32 idt = (u32)vmread(VMCS_IDT_VECTORING_INFO);
	if (!nested_l2_exit(regs, (u32)reason))
		dispatch(regs, reason);
	else if (this_cpu()->vmcs02_current && (idt & INTR_INFO_VALID))
		redeliver_vectored_event(idt);
}

void vmexit_handler(struct guest_regs *regs)
{
	u64 reason = vmread(VMCS_VM_EXIT_REASON);

	if (this_cpu()->vmcs02_current)
		l2_exit(regs, reason);
	else
		dispatch(regs, reason);
	ss_keep_b();
	netlog_poll(); /* a safe point: no lock held (xmhf/netlog.h) */
	/* one test for a request, a guest NMI and a step in progress */
	struct percpu *p = this_cpu();
	if ((p->requests | p->nmi_pending | (uintptr_t)p->step.done) != 0)
		vmentry_requests(regs);
}

/* A VMREAD/VMWRITE failed (vmx_ops.h): a hypervisor bug. */
void vmx_field_failed(u64 field, u64 value, bool write)
{
	if (write)
		panic("xmhf: VMWRITE of field 0x%llx = 0x%llx failed", field, value);
	panic("xmhf: VMREAD of field 0x%llx failed", field);
}
