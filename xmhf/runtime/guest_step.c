/* One-instruction steps of the guest (see guest_step.h). */
#include <runtime/guest_step.h>
#include <runtime/percpu.h>
#include <runtime/vmx_ops.h>
#include <xmhf/cpu.h>
#include <xmhf/guest.h>
#include <xmhf/vmx.h>

#define EVERY_EXCEPTION 0xffffffffu


bool guest_step_begin(guest_step_done_fn done)
{
	struct guest_step *s = &this_cpu()->step;
	u64 rflags = vmread(VMCS_GUEST_RFLAGS);
	u64 intr = vmread(VMCS_GUEST_INTERRUPTIBILITY_INFO);

	if (s->done)
		return false;
	s->done = done;
	s->saved_rflags = rflags;
	s->saved_exception_bitmap = vmread(VMCS_EXCEPTION_BITMAP);
	s->blocked_nmis = !(intr & INTERRUPTIBILITY_NMI);
	/* 27.3.1.5: with STI/MOV-SS blocking and TF set, the single-step trap
	 * must already be pending (BS) or VM entry fails */
	if (intr & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS))
		vmwrite(VMCS_GUEST_PENDING_DBG_EXCEPTIONS, vmread(VMCS_GUEST_PENDING_DBG_EXCEPTIONS) | DR6_BS);
	vmwrite(VMCS_GUEST_INTERRUPTIBILITY_INFO, intr | INTERRUPTIBILITY_NMI);
	vmwrite(VMCS_GUEST_RFLAGS, (rflags | RFLAGS_TF) & ~RFLAGS_IF);
	/* #PF too: the page-fault error-code mask and match are 0 */
	vmwrite(VMCS_EXCEPTION_BITMAP, EVERY_EXCEPTION);
	return true;
}

bool guest_step_active(void) { return this_cpu()->step.done != NULL; }

/* The guest's TF, IF, NMI blocking and exception bitmap back. */
static void step_end(struct guest_step *s, bool completed)
{
	guest_step_done_fn done = s->done;
	u64 rflags = vmread(VMCS_GUEST_RFLAGS);

	s->done = NULL;
	rflags = (rflags & ~(RFLAGS_TF | RFLAGS_IF)) | (s->saved_rflags & (RFLAGS_TF | RFLAGS_IF));
	vmwrite(VMCS_GUEST_RFLAGS, rflags);
	if (s->blocked_nmis)
		vmwrite(VMCS_GUEST_INTERRUPTIBILITY_INFO,
			vmread(VMCS_GUEST_INTERRUPTIBILITY_INFO) & ~(u64)INTERRUPTIBILITY_NMI);
	vmwrite(VMCS_EXCEPTION_BITMAP, s->saved_exception_bitmap);
	done(completed);
}

void guest_step_cancel(void)
{
	struct guest_step *s = &this_cpu()->step;

	if (!s->done)
		return;
	/* the single-step trap the step made pending is not the guest's */
	if (!(s->saved_rflags & RFLAGS_TF))
		vmwrite(VMCS_GUEST_PENDING_DBG_EXCEPTIONS,
			vmread(VMCS_GUEST_PENDING_DBG_EXCEPTIONS) & ~(u64)DR6_BS);
	step_end(s, false);
}

/* #DB exits leave DR6 alone; the exit qualification holds the DR6 bits
 * the #DB would have set (SDM Vol. 3 28.2.1): BS ends our step; every
 * other bit, and BS when the guest was single-stepping itself, goes to the
 * guest as its own #DB (which, delivered in the step, cancels it). */
void guest_step_db_exit(void)
{
	struct guest_step *s = &this_cpu()->step;
	u64 q = vmread(VMCS_EXIT_QUALIFICATION);
	u64 guest_bits = q & (DR6_B0_B3 | DR6_BD);

	if (s->done && (q & DR6_BS)) {
		bool guest_tf = s->saved_rflags & RFLAGS_TF;
		step_end(s, true);
		if (guest_tf)
			guest_bits |= DR6_BS;
	} else {
		guest_bits |= q & DR6_BS;
	}
	if (guest_bits) {
		dr6_set_bits(guest_bits);
		inject_exception(VECTOR_DB, false, 0);
	}
}
