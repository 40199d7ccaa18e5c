/* VM-exit dispatch for the rich guest (VMCS01): vmentry.S calls it. */
#ifndef RUNTIME_VMEXIT_H
#define RUNTIME_VMEXIT_H

#include <runtime/guest_regs.h>

void vmexit_handler(struct guest_regs *regs);
/* requests and guest NMIs before a VM entry (vmentry.S slow path) */
void vmentry_requests(struct guest_regs *regs);
NORETURN void vmentry_failed(bool invalid_vmcs);

#endif
