/* One-instruction steps of the guest. */
#include <runtime/guest_step.h>
#include <runtime/percpu.h>
#include <runtime/vmexit.h>
#include <runtime/vmx_ops.h>
#include <xmhf/cpu.h>
#include <xmhf/vmx.h>


struct guest_step {
	guest_step_done_fn done; /* NULL when no step is in progress */
	u64 saved_rflags;
};
static struct guest_step steps[MAX_CPUS];

void guest_step_begin(guest_step_done_fn done)
{
	struct guest_step *s = &steps[this_cpu()->index];
	u64 rflags = vmread(VMCS_GUEST_RFLAGS);

	s->done = done;
	s->saved_rflags = rflags;
	/* 27.3.1.5: with STI/MOV-SS blocking and TF set, the single-step trap
	 * must already be pending (BS) or VM entry fails */
	if (vmread(VMCS_GUEST_INTERRUPTIBILITY_INFO) & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS))
		vmwrite(VMCS_GUEST_PENDING_DBG_EXCEPTIONS, vmread(VMCS_GUEST_PENDING_DBG_EXCEPTIONS) | DR6_BS);
	vmwrite(VMCS_GUEST_RFLAGS, (rflags | RFLAGS_TF) & ~RFLAGS_IF);
	vmwrite(VMCS_EXCEPTION_BITMAP, vmread(VMCS_EXCEPTION_BITMAP) | BIT(VECTOR_DB));
}

bool guest_step_active(void) { return steps[this_cpu()->index].done != NULL; }

void guest_step_cancel(void)
{
	steps[this_cpu()->index].done = NULL;
	vmwrite(VMCS_EXCEPTION_BITMAP, vmread(VMCS_EXCEPTION_BITMAP) & ~BIT(VECTOR_DB));
}

/* #DB exits happen only during a step. They leave DR6 alone; the exit
 * qualification holds the DR6 bits the #DB would have set (SDM Vol. 3
 * 28.2.1): BS ends our step; every other bit, and BS when the guest was
 * single-stepping itself, goes to the guest as its own #DB. */
void guest_step_db_exit(void)
{
	struct guest_step *s = &steps[this_cpu()->index];
	u64 q = vmread(VMCS_EXIT_QUALIFICATION);
	u64 guest_bits = q & (DR6_B0_B3 | DR6_BD);
	guest_step_done_fn done = s->done;

	if (done && (q & DR6_BS)) {
		s->done = NULL;
		u64 rflags = vmread(VMCS_GUEST_RFLAGS);
		rflags = (rflags & ~(RFLAGS_TF | RFLAGS_IF)) | (s->saved_rflags & (RFLAGS_TF | RFLAGS_IF));
		vmwrite(VMCS_GUEST_RFLAGS, rflags);
		vmwrite(VMCS_EXCEPTION_BITMAP, vmread(VMCS_EXCEPTION_BITMAP) & ~BIT(VECTOR_DB));
		done();
		if (s->saved_rflags & RFLAGS_TF)
			guest_bits |= DR6_BS;
	} else {
		guest_bits |= q & DR6_BS;
	}
	if (guest_bits) {
		dr6_set_bits(guest_bits);
		inject_exception(VECTOR_DB, false, 0);
	}
}
