/* Emulation of the guest's hardware task switches (VM exit reason 9),
 * SDM Vol. 3 7.3, for 32-bit TSSes. */
#ifndef RUNTIME_TASK_SWITCH_H
#define RUNTIME_TASK_SWITCH_H

#include <runtime/guest_regs.h>

/* Perform the task switch the exit reports, or inject the exception the
 * CPU would raise instead. A 16-bit TSS (old or new) is not emulated: the
 * guest is stopped with a message. */
void task_switch_emulate(struct guest_regs *regs);

#endif
