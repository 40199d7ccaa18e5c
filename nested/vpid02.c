/* VPID02 (vpid02.h). L1's INVVPID types are the CPU's (caps.c passes
 * IA32_VMX_EPT_VPID_CAP's VPID bits through), so each of L1's types is
 * done with the same type on the VPID02. */
#include <nested/vpid02.h>
#include <xmhf/nested.h>

static bool cpu_has_type(const struct l1_caps *c, u64 type)
{
	return l1_msr(c, MSR_IA32_VMX_EPT_VPID_CAP) & BIT(VPID_CAP_INVVPID_TYPE_SHIFT + type);
}

bool vpid02_usable(const struct l1_caps *c)
{
	return (l1_msr(c, MSR_IA32_VMX_EPT_VPID_CAP) & VPID_CAP_INVVPID) &&
	       (cpu_has_type(c, INVVPID_SINGLE_CONTEXT) || cpu_has_type(c, INVVPID_ALL_CONTEXT));
}

static u16 slot_vpid02(u32 slot) { return (u16)(VPID02_FIRST + slot); }

/* Every TLB entry tagged with the slot's VPID02 gone (all contexts if the
 * CPU has no single-context type: more than needed, never less). */
static void flush_slot(const struct l1_caps *c, u32 slot)
{
	bool single = cpu_has_type(c, INVVPID_SINGLE_CONTEXT);
	nested_invvpid(single ? INVVPID_SINGLE_CONTEXT : INVVPID_ALL_CONTEXT, slot_vpid02(slot), 0);
}

static int find(const struct vpid02_map *m, u16 vpid12)
{
	for (u32 s = 0; s < VPID02_COUNT; s++)
		if (m->vpid12[s] == vpid12)
			return (int)s;
	return -1;
}

u16 vpid02_of(struct vpid02_map *m, const struct l1_caps *c, u16 vpid12)
{
	int s = find(m, vpid12);
	if (s < 0) {
		s = 0;
		for (u32 i = 1; i < VPID02_COUNT; i++)
			if (m->last_use[i] < m->last_use[s])
				s = (int)i;
		if (m->vpid12[s])
			flush_slot(c, (u32)s); /* the old VPID12's entries must not reach the new one */
		m->vpid12[s] = vpid12;
	}
	m->last_use[s] = ++m->clock;
	return slot_vpid02((u32)s);
}

void vpid02_invvpid(struct vpid02_map *m, const struct l1_caps *c, u64 type, u16 vpid12, u64 linear)
{
	if (type == INVVPID_ALL_CONTEXT) {
		for (u32 s = 0; s < VPID02_COUNT; s++)
			if (m->vpid12[s])
				flush_slot(c, s);
		return;
	}
	int s = find(m, vpid12);
	if (s >= 0)
		nested_invvpid(type, slot_vpid02((u32)s), linear);
}
