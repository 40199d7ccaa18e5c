/* The hypervisor's CPUs: dense indexes registered in MADT order. */
#include <runtime/percpu.h>

struct cpu_index_table cpu_index = { .max = MAX_CPUS };

u32 cpu_register(u32 apic_id)
{
	u32 index = cpu_index_add(&cpu_index, apic_id);
	if (index != CPU_INDEX_NONE)
		percpu[index].apic_id = apic_id;
	return index;
}
