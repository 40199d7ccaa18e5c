/* The checks a VM entry makes on VMCS12 (SDM Vol. 3 27.2, 27.3), in the
 * SDM's order; each failing condition names itself in a debug line. */
#ifndef NESTED_ENTRY_CHECKS_H
#define NESTED_ENTRY_CHECKS_H

#include <nested/cpu.h>

/* 27.2.1 VM-execution, VM-exit and VM-entry control fields */
bool entry_controls_valid(const struct nested_cpu *n);
/* 27.2.2, 27.2.3 host state and address-space size */
bool entry_host_state_valid(const struct nested_cpu *n);
/* 27.3.1 guest state; false: *qualification for the VM-entry failure (27.8) */
bool entry_guest_state_valid(const struct nested_cpu *n, u64 *qualification);

#endif
