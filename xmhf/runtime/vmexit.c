/* VM-exit dispatch for VMCS01 (SDM Vol. 3 chapter 28, Appendix C). Each
 * handler reads and writes only the fields it needs. */
#include <runtime/exit_handlers.h>
#include <runtime/guest_step.h>
#include <runtime/percpu.h>
#include <runtime/task_switch.h>
#include <runtime/vmexit.h>
#include <runtime/vmx_ops.h>
#include <xmhf/cpu.h>
#include <xmhf/guest.h>
#include <xmhf/hypapp.h>
#include <xmhf/log.h>
#include <xmhf/vmx.h>

void nmi_unblock(void);

void vmentry_failed(bool invalid_vmcs)
{
	struct percpu *p = this_cpu();
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
	u64 proc = vmread(VMCS_CPU_BASED_VM_EXEC_CONTROL);
	u64 blocking = INTERRUPTIBILITY_NMI | INTERRUPTIBILITY_MOV_SS | INTERRUPTIBILITY_STI;
	bool blocked = (vmread(VMCS_GUEST_INTERRUPTIBILITY_INFO) & blocking) ||
		       (vmread(VMCS_VM_ENTRY_INTR_INFO) & INTR_INFO_VALID);
	if (!blocked) {
		vmwrite(VMCS_VM_ENTRY_INTR_INFO, INTR_INFO_VALID | INTR_TYPE_NMI | VECTOR_NMI);
		__atomic_fetch_sub(&p->nmi_pending, 1, __ATOMIC_RELAXED);
	}
	bool want_window = __atomic_load_n(&p->nmi_pending, __ATOMIC_RELAXED) != 0;
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
static void handle_init_signal(void)
{
	if (this_cpu()->index == 0)
		guest_reset_power_off("INIT signal to the boot CPU");
	__atomic_fetch_or(&this_cpu()->requests, REQUEST_INIT, __ATOMIC_SEQ_CST);
}

/* Hardware task switches: emulated (task_switch.c). */
static void handle_task_switch(struct guest_regs *regs)
{
	task_switch_emulate(regs);
}

void vmexit_handler(struct guest_regs *regs)
{
	u32 reason = (u32)vmread(VMCS_VM_EXIT_REASON);
	u32 idt = (u32)vmread(VMCS_IDT_VECTORING_INFO);

	if (reason & EXIT_REASON_ENTRY_FAILURE)
		vmexit_unexpected("VM-entry failure");
	if ((reason & 0xffff) < EXIT_REASON_COUNT)
		this_cpu()->exits[reason & 0xffff]++;
	switch (reason & 0xffff) {
	case EXIT_REASON_EXCEPTION_NMI: handle_exception_or_nmi(regs); break;
	case EXIT_REASON_TRIPLE_FAULT: guest_reset_power_off("guest triple fault (shutdown)");
	case EXIT_REASON_NMI_WINDOW: break;
	case EXIT_REASON_CPUID: handle_cpuid(regs); break;
	case EXIT_REASON_VMCALL: handle_vmcall(regs); break;
	case EXIT_REASON_CR_ACCESS: handle_cr_access(regs); break;
	case EXIT_REASON_RDMSR: handle_rdmsr(regs); break;
	case EXIT_REASON_WRMSR: handle_wrmsr(regs); break;
	case EXIT_REASON_EPT_VIOLATION: handle_ept_violation(regs); break;
	case EXIT_REASON_XSETBV: handle_xsetbv(regs); break;
	case EXIT_REASON_IO: handle_io(regs); break;
	case EXIT_REASON_VMCLEAR ... EXIT_REASON_VMXON:
	case EXIT_REASON_INVEPT:
	case EXIT_REASON_INVVPID:
	case EXIT_REASON_VMFUNC:
	case EXIT_REASON_GETSEC:
		/* VMX and SMX are not offered: to the guest these instructions
		 * are undefined (Vol. 3 31.3 "not in VMX operation"; GETSEC with
		 * CR4.SMXE = 0) */
		inject_exception(VECTOR_UD, false, 0);
		break;
	case EXIT_REASON_INVD:
		/* INVD would drop the hypervisor's dirty cache lines too: write
		 * them back instead (as KVM does) */
		__asm__ volatile("wbinvd" : : : "memory");
		skip_instruction();
		break;
	/* a switch through a task gate delivers the vectored event itself */
	case EXIT_REASON_TASK_SWITCH: handle_task_switch(regs); idt = 0; break;
	case EXIT_REASON_INIT: handle_init_signal(); break;
	default: vmexit_unexpected("unexpected VM exit");
	}
	if (idt & INTR_INFO_VALID)
		redeliver_vectored_event(idt);
	/* no event is delivered into a step: it ends first (guest_step.h) */
	if ((vmread(VMCS_VM_ENTRY_INTR_INFO) & INTR_INFO_VALID) && guest_step_active())
		guest_step_cancel();
	struct percpu *p = this_cpu();
	if (__atomic_load_n(&p->requests, __ATOMIC_SEQ_CST))
		apic_requests(regs);
	if (p->nmi_pending)
		deliver_pending_nmi();
}
