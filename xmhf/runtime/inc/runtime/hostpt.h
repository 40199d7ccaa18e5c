/* The hypervisor's own page tables: identity map of [0, CONFIG_MEM). */
#ifndef RUNTIME_HOSTPT_H
#define RUNTIME_HOSTPT_H

#include <xmhf/paging.h>

/* Build the tables (LAPIC/IOAPIC ranges uncached) and load CR3. */
void hostpt_init(const struct pt_range *uncached, u32 n_uncached);
hpa_t hostpt_cr3(void);

#endif
