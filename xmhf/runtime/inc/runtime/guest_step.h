/* Letting the guest run exactly one instruction with a restriction lifted
 * (an EPT permission, an I/O-bitmap bit), then restoring it: RFLAGS.TF
 * with #DB exiting, ended by the single-step #DB exit (SDM Vol. 3 19.2.4
 * "single-step", 26.2 exception bitmap). No event reaches the guest inside
 * a step: IF is cleared, virtual NMIs are blocked, every exception exits;
 * an event to deliver (an exception of the instruction, an INIT) cancels
 * the step first, so that the guest's handler runs with the restriction
 * in place. Steps do not nest. */
#ifndef RUNTIME_GUEST_STEP_H
#define RUNTIME_GUEST_STEP_H

#include <xmhf/guest.h> /* guest_step_active */

/* Called when the step ends: completed (the instruction ran) or cancelled
 * (it did not; the restriction must be restored all the same). */
typedef void (*guest_step_done_fn)(bool completed);

/* A CPU's step (struct percpu's 'step': the exit path tests 'done'). */
struct guest_step {
	guest_step_done_fn done; /* NULL when no step is in progress */
	u64 saved_rflags;
	u64 saved_exception_bitmap;
	bool blocked_nmis; /* the step set virtual-NMI blocking */
};

/* Start a step; 'done' runs when it ends. False (nothing changed) if a
 * step is already active. */
bool guest_step_begin(guest_step_done_fn done);
/* On a #DB exit during a step: ends the step (then 'done' runs) and passes
 * the guest's own debug exceptions on to it. */
void guest_step_db_exit(void);
/* End a step in progress without the instruction: the guest's RFLAGS,
 * NMI blocking and exception bitmap back, 'done(false)'. */
void guest_step_cancel(void);

#endif
