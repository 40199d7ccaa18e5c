/* EPT01 stand-ins for tests that do not build an EPT01: the hypervisor's
 * range is [FAKE_HV_BASE, FAKE_HV_END) as the Makefile links it, the
 * APIC page's EPT01 entry is fake_apic_ept_entry, the one all-ones page
 * fake_ones_page. */
#include "fake_ept01.h"
#include <runtime/ept01.h>

u64 fake_apic_ept_entry;
u64 fake_ones_page = ~0ull;

bool gpa_is_hypervisor(l1_gpa_t gpa, u64 size) { return gpa.v < FAKE_HV_END && FAKE_HV_BASE < gpa.v + size; }

u64 *ept01_apic_entry(u32 cpu)
{
	assert_true(percpu[cpu].ept_apic_page.v != EPT01_NO_APIC_PAGE);
	return &fake_apic_ept_entry;
}

bool ept01_is_ones_page(l1_gpa_t gpa) { return ALIGN_DOWN(gpa.v, PAGE_SIZE) == fake_ones_page; }
