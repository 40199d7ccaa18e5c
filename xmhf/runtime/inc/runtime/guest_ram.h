/* The guest-physical memory the hypervisor touches on the guest's behalf
 * (task-switch walker, PAE PDPTEs, INT 15h E820 buffer): only what the
 * guest's E820 map calls memory (RAM, ACPI reclaim, ACPI NVS), below
 * CONFIG_MEM, outside the hypervisor's range and the device pages (LAPIC,
 * IOAPICs). Everything else -- MMIO holes, reserved ranges, device pages,
 * addresses above --mem -- the hypervisor never dereferences: above --mem
 * its page tables map nothing, and MMIO through its WB identity map (or the
 * LAPIC page behind the ICR capture) is no access to emulate. The callers
 * then give the guest what an access EPT01 does not allow gets: #GP(0). */
#ifndef RUNTIME_GUEST_RAM_H
#define RUNTIME_GUEST_RAM_H

#include <xmhf/e820.h>
#include <xmhf/paging.h>

/* At most this many device pages are passed to guest_ram_init. */
#define GUEST_RAM_MAX_DEVICES 32

/* Compute the guest's memory from its E820 map (once, on the boot CPU,
 * before any guest runs) minus the device ranges given. */
void guest_ram_init(const struct e820_map *m, const struct pt_range *devices, u32 n_devices);
/* Whether every byte of [gpa, gpa + size) is guest memory; false for an
 * empty or wrapping range. A binary search over a small sorted array. */
bool guest_ram_contains(l1_gpa_t gpa, u64 size);
/* The hypervisor's pointer to guest memory [gpa, gpa + size), or NULL if
 * any of it is not guest memory or is this CPU's (moved) APIC page. */
void *guest_ram_ptr(l1_gpa_t gpa, u64 size);

#endif
