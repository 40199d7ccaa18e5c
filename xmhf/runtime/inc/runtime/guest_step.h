/* Letting the guest run exactly one instruction with a restriction lifted
 * (an EPT permission, an I/O-bitmap bit), then restoring it: RFLAGS.TF
 * with interrupts blocked and #DB exiting, ended by the single-step #DB
 * exit (SDM Vol. 3 19.2.4 "single-step", 26.2 exception bitmap). */
#ifndef RUNTIME_GUEST_STEP_H
#define RUNTIME_GUEST_STEP_H

#include <xmhf/types.h>

typedef void (*guest_step_done_fn)(void);

/* Start a step; 'done' runs on the #DB exit that ends it. */
void guest_step_begin(guest_step_done_fn done);
bool guest_step_active(void);
/* On a #DB exit: ends the step (then 'done' runs) and passes the guest's
 * own debug exceptions on to it. */
void guest_step_db_exit(void);
/* Drop a step in progress (the guest was reset by INIT). */
void guest_step_cancel(void);

#endif
