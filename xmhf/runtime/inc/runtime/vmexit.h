/* VM-exit dispatch for the rich guest (VMCS01): vmentry.S calls it. */
#ifndef RUNTIME_VMEXIT_H
#define RUNTIME_VMEXIT_H

#include <runtime/guest_regs.h>

void vmexit_handler(struct guest_regs *regs);
/* requests and guest NMIs before a VM entry (vmentry.S slow path); true if
 * they made VMCS01 current in place of VMCS02 (an event's exit to L1): a
 * VMLAUNCH of VMCS02 then becomes a VMRESUME of VMCS01 */
bool vmentry_requests(struct guest_regs *regs);
/* VMLAUNCH/VMRESUME failed: returns only if it was nested VMX's entry of
 * VMCS02 (then VMCS01 is current and L1 has the outcome), else halts. */
void vmentry_failed(struct guest_regs *regs, bool invalid_vmcs);

#endif
