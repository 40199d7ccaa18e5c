/* The checks a VM entry makes on VMCS12 (SDM Vol. 3 27.2, 27.3), in the
 * SDM's order; each failing condition names itself in a debug line. */
#ifndef NESTED_ENTRY_CHECKS_H
#define NESTED_ENTRY_CHECKS_H

#include <nested/cpu.h>

/* Whether 27.2's checks of VMCS12 alone passed for what it holds: VMCS02
 * holds this VMCS12 (its last VM entry passed every check) and L1 wrote no
 * control or host-state field since (their dirty bits, vmcs12.h). */
bool entry_controls_host_unchanged(const struct nested_cpu *n);
/* 27.2.1 VM-execution, VM-exit and VM-entry control fields */
bool entry_controls_valid(const struct nested_cpu *n);
/* 27.2.2, 27.2.3, 27.2.4 host state and address-space size, from VMCS12 alone */
bool entry_host_state_valid(const struct nested_cpu *n);
/* 27.2.4 the address-space size against L1's IA-32e mode (VMCS01) */
bool entry_address_space_valid(const struct nested_cpu *n);
/* 27.3.1 guest state; false: *qualification for the VM-entry failure (27.8) */
bool entry_guest_state_valid(const struct nested_cpu *n, u64 *qualification);

#endif
