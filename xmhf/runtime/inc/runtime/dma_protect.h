/* DMA protection of the hypervisor's range with VT-d Protected Memory
 * Regions, and the remapping units hidden from the guest (docs/security.md). */
#ifndef RUNTIME_DMA_PROTECT_H
#define RUNTIME_DMA_PROTECT_H

#include <xmhf/acpi.h>
#include <xmhf/e820.h>
#include <xmhf/paging.h>

/* Find and parse the DMAR table (tables reached through map). */
void dma_protect_probe(u64 rsdp, acpi_map_fn map);
/* The remapping units' register sets, for uncached host mappings: fills up
 * to max ranges, returns how many. */
u32 dma_protect_mmio(struct pt_range *out, u32 max);
/* On the host page tables: program every unit to block DMA to the
 * hypervisor's range, reserve in the guest's map what the hardware's
 * alignment blocks beyond it, and hide the DMAR table from the guest. */
void dma_protect_enable(struct e820_map *guest_map);
/* After this CPU's EPT01 is built: make the units' registers not present. */
void dma_protect_hide_units(u32 cpu);

#endif
