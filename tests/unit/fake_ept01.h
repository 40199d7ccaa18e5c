/* EPT01 stand-ins (fake_ept01.c): gpa_is_hypervisor for the linked
 * hypervisor range, one APIC-page entry for ept01_apic_entry. */
#ifndef FAKE_EPT01_H
#define FAKE_EPT01_H

#include "fake_cpu.h"

extern u64 fake_apic_ept_entry; /* what ept01_apic_entry points to */

#endif
