/* Isolated code in the guest on this CPU (xmhf/guest.h: guest_isolate_begin): the VMCS
 * guest state it replaces, NMIs held, the VMX-preemption timer as its time bound. */
#include <runtime/exit_handlers.h>
#include <runtime/percpu.h>
#include <runtime/vmx_ops.h>
#include <xmhf/guest.h>
#include <xmhf/hypapp.h>
#include <xmhf/nested.h>
#include <xmhf/vmx.h>

#define SEGMENTS 6            /* ES, CS, SS, DS, FS, GS: the VMCS encodings step by 2 */
#define RFLAGS_ISOLATED 0x2u  /* bit 1 is always set (SDM Vol. 1 3.4.3) */
#define DR7_ISOLATED 0x400u   /* DR7's reset value: no breakpoint enabled (Vol. 3 18.2.4) */
#define ALL_EXCEPTIONS 0xffffffffu
#define TIMER_MAX 0xffffffffull

static void segments_save(struct guest_segment_save seg[SEGMENTS])
{
	for (u32 i = 0; i < SEGMENTS; i++)
		seg[i] = (struct guest_segment_save){
			.selector = vmread(VMCS_GUEST_ES_SELECTOR + 2 * i),
			.base = vmread(VMCS_GUEST_ES_BASE + 2 * i),
			.limit = vmread(VMCS_GUEST_ES_LIMIT + 2 * i),
			.ar = vmread(VMCS_GUEST_ES_AR_BYTES + 2 * i),
		};
}

static void segments_restore(const struct guest_segment_save seg[SEGMENTS])
{
	for (u32 i = 0; i < SEGMENTS; i++) {
		vmwrite(VMCS_GUEST_ES_SELECTOR + 2 * i, seg[i].selector);
		vmwrite(VMCS_GUEST_ES_BASE + 2 * i, seg[i].base);
		vmwrite(VMCS_GUEST_ES_LIMIT + 2 * i, seg[i].limit);
		vmwrite(VMCS_GUEST_ES_AR_BYTES + 2 * i, seg[i].ar);
	}
}

/* The timer with its value saved at every exit (25.5.1, 27.3.4), or false without it. */
static bool timer_arm(const struct guest_isolation *save, u64 budget)
{
	const struct vmx_caps *c = &this_cpu()->vmx;
	if (!(vmx_ctl_allowed1(c->pinbased) & PIN_PREEMPTION_TIMER) ||
	    !(vmx_ctl_allowed1(c->exit) & EXIT_SAVE_PREEMPTION_TIMER))
		return false;
	u64 ticks = budget >> (c->misc & VMX_MISC_TIMER_RATE_MASK);
	vmwrite(VMCS_VMX_PREEMPTION_TIMER_VALUE, ticks < TIMER_MAX ? ticks : TIMER_MAX);
	vmwrite(VMCS_PIN_BASED_VM_EXEC_CONTROL, save->pin | PIN_PREEMPTION_TIMER);
	vmwrite(VMCS_VM_EXIT_CONTROLS, save->exit_controls | EXIT_SAVE_PREEMPTION_TIMER);
	return true;
}

static void timer_stop(u32 pin, u32 exit_controls)
{
	vmwrite(VMCS_PIN_BASED_VM_EXEC_CONTROL, pin & ~(u32)PIN_PREEMPTION_TIMER);
	vmwrite(VMCS_VM_EXIT_CONTROLS, exit_controls & ~(u32)EXIT_SAVE_PREEMPTION_TIMER);
}

bool guest_isolate_begin(struct guest_isolation *save, u64 rip, u64 rsp, u64 cr3, u64 budget)
{
	struct percpu *p = this_cpu();
	nested_isolation_begin(); /* an L2 caller: the controls saved below are L0's */
	*save = (struct guest_isolation){
		.rip = vmread(VMCS_GUEST_RIP), .rsp = vmread(VMCS_GUEST_RSP), .rflags = vmread(VMCS_GUEST_RFLAGS),
		.cr0 = vmread(VMCS_GUEST_CR0), .cr3 = vmread(VMCS_GUEST_CR3), .efer = vmread(VMCS_GUEST_IA32_EFER),
		.sysenter_cs = vmread(VMCS_GUEST_SYSENTER_CS), .dr7 = vmread(VMCS_GUEST_DR7),
		.debugctl = vmread(VMCS_GUEST_IA32_DEBUGCTL),
		.interruptibility = vmread(VMCS_GUEST_INTERRUPTIBILITY_INFO),
		.pending_dbg = vmread(VMCS_GUEST_PENDING_DBG_EXCEPTIONS),
		.exception_bitmap = (u32)vmread(VMCS_EXCEPTION_BITMAP), .intercepts = guest_intercepted_exceptions(),
		.pin = (u32)vmread(VMCS_PIN_BASED_VM_EXEC_CONTROL), .exit_controls = (u32)vmread(VMCS_VM_EXIT_CONTROLS),
	};
	segments_save(save->seg);
	vmwrite(VMCS_GUEST_RIP, rip);
	vmwrite(VMCS_GUEST_RSP, rsp);
	vmwrite(VMCS_GUEST_RFLAGS, RFLAGS_ISOLATED);
	vmwrite(VMCS_GUEST_CR0, save->cr0 | CR0_EM | CR0_TS);
	vmwrite(VMCS_GUEST_CR3, cr3);
	vmwrite(VMCS_GUEST_IA32_EFER, save->efer & ~(u64)EFER_SCE);
	vmwrite(VMCS_GUEST_SYSENTER_CS, 0);
	vmwrite(VMCS_GUEST_DR7, DR7_ISOLATED);
	vmwrite(VMCS_GUEST_IA32_DEBUGCTL, 0);
	vmwrite(VMCS_GUEST_PENDING_DBG_EXCEPTIONS, 0);
	/* the caller's STI/MOV-SS shadow is not the code's: STI blocking with IF = 0 fails the VM
	 * entry (SDM Vol. 3 27.3.1.5); NMI blocking stays */
	vmwrite(VMCS_GUEST_INTERRUPTIBILITY_INFO,
		save->interruptibility & ~(u64)(INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS));
	guest_intercept_exceptions(ALL_EXCEPTIONS);
	p->nmi_held = true;
	u64 proc = vmread(VMCS_CPU_BASED_VM_EXEC_CONTROL);
	if (proc & PROC_NMI_WINDOW_EXITING) /* the window would open inside: asked for again at the end */
		vmwrite(VMCS_CPU_BASED_VM_EXEC_CONTROL, proc & ~(u64)PROC_NMI_WINDOW_EXITING);
	return timer_arm(save, budget);
}

void guest_isolate_end(const struct guest_isolation *save)
{
	vmwrite(VMCS_GUEST_RIP, save->rip);
	vmwrite(VMCS_GUEST_RSP, save->rsp);
	vmwrite(VMCS_GUEST_RFLAGS, save->rflags);
	vmwrite(VMCS_GUEST_CR0, save->cr0);
	vmwrite(VMCS_GUEST_CR3, save->cr3);
	vmwrite(VMCS_GUEST_IA32_EFER, save->efer);
	vmwrite(VMCS_GUEST_SYSENTER_CS, save->sysenter_cs);
	vmwrite(VMCS_GUEST_DR7, save->dr7);
	vmwrite(VMCS_GUEST_IA32_DEBUGCTL, save->debugctl);
	vmwrite(VMCS_GUEST_INTERRUPTIBILITY_INFO, save->interruptibility);
	vmwrite(VMCS_GUEST_PENDING_DBG_EXCEPTIONS, save->pending_dbg);
	segments_restore(save->seg);
	guest_intercept_exceptions(save->intercepts);
	vmwrite(VMCS_EXCEPTION_BITMAP, save->exception_bitmap);
	timer_stop(save->pin, save->exit_controls);
	this_cpu()->nmi_held = false; /* the exit's tail delivers the pending ones (vmexit.c) */
	nested_isolation_end();
}

bool guest_isolated(void) { return this_cpu()->nmi_held; } /* held exactly while isolated */

void guest_drop_vectored_event(void)
{
	struct percpu *p = this_cpu();
	u32 idt = (u32)vmread(VMCS_IDT_VECTORING_INFO);
	if (!(idt & INTR_INFO_VALID))
		return;
	if (INTR_INFO_TYPE(idt) == EVENT_NMI)
		__atomic_fetch_add(&p->nmi_pending, 1, __ATOMIC_RELAXED);
	p->vectored_dropped = true; /* consumed by this exit's redelivery (vmexit.c) */
}

void handle_preemption_timer(struct guest_regs *regs)
{
	if (hypapp_isolation_timeout(regs) == HYPAPP_PASS)
		timer_stop((u32)vmread(VMCS_PIN_BASED_VM_EXEC_CONTROL), (u32)vmread(VMCS_VM_EXIT_CONTROLS));
}
