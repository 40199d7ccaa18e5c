/* VMCS01: the VMCS with which each CPU runs the rich guest. */
#ifndef RUNTIME_VMCS01_H
#define RUNTIME_VMCS01_H

#include <xmhf/types.h>

/* Build this CPU's VMCS01 (controls, host state, EPT01) and make it
 * current. Returns NULL, or the missing capability. */
const char *vmcs01_init(u32 cpu);
/* Load the architectural INIT state into the guest fields (SDM Vol. 3
 * Table 10-1) with real-mode CS = cs_selector and IP = ip. */
void vmcs01_guest_init_state(u16 cs_selector, u16 ip);

#endif
