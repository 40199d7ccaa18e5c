/* VM-exit dispatch for VMCS01 (SDM Vol. 3 chapter 28, Appendix C). Each
 * handler reads and writes only the fields it needs. */
#include <runtime/guest_step.h>
#include <runtime/percpu.h>
#include <runtime/task_switch.h>
#include <runtime/vmexit.h>
#include <runtime/vmx_ops.h>
#include <xmhf/cpu.h>
#include <xmhf/log.h>
#include <xmhf/power.h>
#include <xmhf/vmx.h>

void vmcs_dump(void);
void nmi_unblock(void);

void skip_instruction(void)
{
	vmwrite(VMCS_GUEST_RIP, vmread(VMCS_GUEST_RIP) + vmread(VMCS_VM_EXIT_INSTRUCTION_LEN));
	/* 26.4.2: the skipped instruction ends STI/MOV SS blocking */
	u64 intr = vmread(VMCS_GUEST_INTERRUPTIBILITY_INFO);
	if (intr & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS))
		vmwrite(VMCS_GUEST_INTERRUPTIBILITY_INFO, intr & ~(INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS));
}

void inject_exception(u32 vector, bool has_error_code, u32 error_code)
{
	/* 27.2.1.3: real-mode guests (CR0.PE = 0) take no error code */
	if (!(vmread(VMCS_GUEST_CR0) & CR0_PE))
		has_error_code = false;
	vmwrite(VMCS_VM_ENTRY_INTR_INFO, INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | vector |
						 (has_error_code ? INTR_INFO_DELIVER_ERROR_CODE : 0));
	if (has_error_code)
		vmwrite(VMCS_VM_ENTRY_EXCEPTION_ERROR_CODE, error_code);
}

void vmexit_unexpected(const char *why)
{
	struct percpu *p = this_cpu();
	pr_err("xmhf: cpu %u (apic %u): %s; VMCS01:", p->index, p->apic_id, why);
	vmcs_dump();
	halt_all_cpus();
}

void vmentry_failed(bool invalid_vmcs)
{
	struct percpu *p = this_cpu();
	if (invalid_vmcs)
		panic("xmhf: cpu %u: VM entry failed: VMfailInvalid (no current VMCS)", p->index);
	pr_err("xmhf: cpu %u: VM entry failed: VM-instruction error %llu", p->index,
	       vmread(VMCS_VM_INSTRUCTION_ERROR));
	vmexit_unexpected("VM entry failed (VMfailValid)");
}

/* Guest NMIs: inject now, or when the guest's NMI window opens. */
static void deliver_pending_nmi(void)
{
	struct percpu *p = this_cpu();
	u64 proc = vmread(VMCS_CPU_BASED_VM_EXEC_CONTROL);
	bool blocked = vmread(VMCS_GUEST_INTERRUPTIBILITY_INFO) & (INTERRUPTIBILITY_NMI | INTERRUPTIBILITY_MOV_SS) ||
		       (vmread(VMCS_VM_ENTRY_INTR_INFO) & INTR_INFO_VALID);
	if (!blocked) {
		vmwrite(VMCS_VM_ENTRY_INTR_INFO, INTR_INFO_VALID | INTR_TYPE_NMI | VECTOR_NMI);
		__atomic_fetch_sub(&p->nmi_pending, 1, __ATOMIC_RELAXED);
	}
	bool want_window = __atomic_load_n(&p->nmi_pending, __ATOMIC_RELAXED) != 0;
	if (want_window != !!(proc & PROC_NMI_WINDOW_EXITING))
		vmwrite(VMCS_CPU_BASED_VM_EXEC_CONTROL, proc ^ PROC_NMI_WINDOW_EXITING);
}

static void handle_exception_or_nmi(struct guest_regs *regs)
{
	u32 info = (u32)vmread(VMCS_VM_EXIT_INTR_INFO);
	u32 vector = info & 0xff;

	if (vector == VECTOR_NMI && ((info >> 8) & 7) == 2) {
		/* After an NMI-caused VM exit NMIs stay blocked in VMX root until
		 * the next IRET (as XMHF64 found too): unblock them. */
		nmi_unblock();
		/* kicks are handled by the requests before entry; others are the guest's */
		if (!nmi_is_kick(this_cpu()))
			__atomic_fetch_add(&this_cpu()->nmi_pending, 1, __ATOMIC_RELAXED);
		return;
	}
	if (vector == VECTOR_DB) {
		guest_step_db_exit();
		return;
	}
	vmexit_unexpected("unexpected exception exit");
}

/* A real INIT (only another agent than the guest can send one: the guest's
 * are captured): the CPU goes to wait-for-SIPI like the guest's INIT. */
static void handle_init_signal(void)
{
	__atomic_fetch_or(&this_cpu()->requests, REQUEST_INIT, __ATOMIC_SEQ_CST);
}

/* Hardware task switches: emulated (task_switch.c). */
static void handle_task_switch(struct guest_regs *regs)
{
	task_switch_emulate(regs);
}

static void handle_triple_fault(void)
{
	pr_info("xmhf: cpu %u: guest triple fault (shutdown): the guest reset; powering off",
		this_cpu()->index);
	power_off();
}

void vmexit_handler(struct guest_regs *regs)
{
	u32 reason = (u32)vmread(VMCS_VM_EXIT_REASON);

	if (reason & EXIT_REASON_ENTRY_FAILURE)
		vmexit_unexpected("VM-entry failure");
	if ((reason & 0xffff) < EXIT_REASON_COUNT)
		this_cpu()->exits[reason & 0xffff]++;
	switch (reason & 0xffff) {
	case EXIT_REASON_EXCEPTION_NMI: handle_exception_or_nmi(regs); break;
	case EXIT_REASON_TRIPLE_FAULT: handle_triple_fault(); break;
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
	case EXIT_REASON_TASK_SWITCH: handle_task_switch(regs); break;
	case EXIT_REASON_INIT: handle_init_signal(); break;
	default: vmexit_unexpected("unexpected VM exit");
	}
	apic_requests(regs);
	if (this_cpu()->nmi_pending)
		deliver_pending_nmi();
}

void vmexit_print_counts(void)
{
	for (u32 cpu = 0; cpu < cpu_count(); cpu++)
		for (u32 r = 0; r < EXIT_REASON_COUNT; r++)
			if (percpu[cpu].exits[r])
				pr_debug("xmhf: cpu %u: %llu exits with reason %u", cpu, percpu[cpu].exits[r], r);
}
