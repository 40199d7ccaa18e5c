/* APIC id -> dense CPU index: see percpu_index.h. */
#include <xmhf/percpu_index.h>

void cpu_index_init(struct cpu_index_table *t, u32 max)
{
	t->n = 0;
	t->max = max < CPU_INDEX_CAPACITY ? max : CPU_INDEX_CAPACITY;
}

u32 cpu_index_add(struct cpu_index_table *t, u32 apic_id)
{
	u32 index = cpu_index_of(t, apic_id);

	if (index != CPU_INDEX_NONE || t->n >= t->max)
		return index;
	t->apic_id[t->n] = apic_id;
	return t->n++;
}

u32 cpu_index_of(const struct cpu_index_table *t, u32 apic_id)
{
	for (u32 i = 0; i < t->n; i++)
		if (t->apic_id[i] == apic_id)
			return i;
	return CPU_INDEX_NONE;
}
