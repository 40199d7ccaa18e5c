/* Emulation of the guest's hardware task switches (VM exit reason 9),
 * SDM Vol. 3 7.3, for 32-bit and 16-bit TSSes. */
#ifndef RUNTIME_TASK_SWITCH_H
#define RUNTIME_TASK_SWITCH_H

#include <runtime/guest_regs.h>

/* Perform the task switch the exit reports, or inject the exception the
 * CPU would raise instead (the old task's state intact) or in the new task
 * (after the commit point). A fault while delivering #DF through a task
 * gate is the guest's shutdown: logged, and the machine is powered off. */
void task_switch_emulate(struct guest_regs *regs);

#endif
