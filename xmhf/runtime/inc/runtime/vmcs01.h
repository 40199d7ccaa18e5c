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

struct boot_uefi_context;
/* Load the UEFI firmware's context (BOOT_GUEST_UEFI_RETURN, xmhf/bootinfo.h)
 * into the guest fields: 64-bit mode at c->rip with its control registers,
 * EFER, PAT, descriptor tables and segments, their descriptors read from
 * 'gdt' (the firmware's GDT, c->gdtr_limit + 1 bytes). A null TR gets a
 * placeholder busy 64-bit TSS (VM entry needs a usable TR, 27.3.1.2; the
 * firmware runs without one). Returns NULL, or why the context cannot be
 * entered. */
const char *vmcs01_guest_uefi_state(const struct boot_uefi_context *c, const u64 *gdt);

#endif
