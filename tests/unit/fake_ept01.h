/* EPT01 stand-ins (fake_ept01.c): gpa_is_hypervisor for the linked
 * hypervisor range, one APIC-page entry for ept01_apic_entry, one page for
 * ept01_is_ones_page. */
#ifndef FAKE_EPT01_H
#define FAKE_EPT01_H

#include "fake_cpu.h"

extern u64 fake_apic_ept_entry; /* what ept01_apic_entry points to */
extern u64 fake_ones_page;      /* ept01_is_ones_page's page; ~0: none */

#endif
