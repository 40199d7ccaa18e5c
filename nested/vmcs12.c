/* The current VMCS12: cached per CPU, in L1's memory otherwise
 * (nested/vmcs12.h). */
#include <nested/vmcs12.h>
#include <xmhf/nested.h>
#include <xmhf/string.h>

#define REGION_LAUNCH_STATE offsetof(struct vmcs12_region, launch_state)
#define REGION_VALUES offsetof(struct vmcs12_region, value)

static void write_back(const struct vmcs12 *v)
{
	u32 launch_state = v->launched ? VMCS12_LAUNCHED : 0;
	/* the region was guest RAM at VMPTRLD; if L1 moved its APIC page over
	 * it since, its data is lost, as for MMIO on hardware */
	guest_phys_write(l1_gpa(v->addr + REGION_LAUNCH_STATE), &launch_state, sizeof(launch_state));
	guest_phys_write(l1_gpa(v->addr + REGION_VALUES), v->value, sizeof(v->value));
}

void vmcs12_release(struct vmcs12 *v)
{
	if (v->addr != VMCS12_NONE)
		write_back(v);
	v->addr = VMCS12_NONE;
}

bool vmcs12_make_current(struct vmcs12 *v, u64 addr)
{
	u32 launch_state;
	if (v->addr == addr)
		return true;
	if (!guest_phys_read(l1_gpa(addr + REGION_LAUNCH_STATE), &launch_state, sizeof(launch_state)))
		return false;
	if (v->addr != VMCS12_NONE)
		write_back(v);
	/* nothing is copied if it fails: the old VMCS12 stays current */
	if (!guest_phys_read(l1_gpa(addr + REGION_VALUES), v->value, sizeof(v->value)))
		return false;
	v->launched = launch_state == VMCS12_LAUNCHED;
	v->addr = addr;
	memset(v->dirty, 0xff, sizeof(v->dirty)); /* VMCS02 takes every field at the next entry */
	memset(v->stale, 0xff, sizeof(v->stale)); /* so does the shadow VMCS (shadow.c) */
	return true;
}

bool vmcs12_clear(struct vmcs12 *v, u64 addr)
{
	u32 clear = 0;
	if (v->addr == addr)
		vmcs12_release(v);
	return guest_phys_write(l1_gpa(addr + REGION_LAUNCH_STATE), &clear, sizeof(clear));
}
