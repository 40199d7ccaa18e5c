/* Entering the guest with its general-purpose registers (struct
 * guest_regs, xmhf/guest.h): vmentry.S. */
#ifndef RUNTIME_GUEST_REGS_H
#define RUNTIME_GUEST_REGS_H

#include <xmhf/guest.h> /* struct guest_regs */

/* First VM entry on this CPU with these registers; never returns. */
NORETURN void vmx_launch(const struct guest_regs *regs);
/* The VMCS's HOST_RIP. */
void vmexit_stub(void);

#endif
