/* Dense CPU indexes: per-CPU data is indexed 0..n-1 (0 = boot CPU), never
 * by APIC id. This table maps APIC ids to dense indexes. */
#ifndef XMHF_PERCPU_INDEX_H
#define XMHF_PERCPU_INDEX_H

#include <xmhf/types.h>

#define CPU_INDEX_NONE 0xffffffffu
#define CPU_INDEX_CAPACITY 256

struct cpu_index_table {
	u32 apic_id[CPU_INDEX_CAPACITY]; /* dense index -> APIC id */
	u32 n;
	u32 max;  /* capacity in use (build-time MAX_CPUS) */
};

void cpu_index_init(struct cpu_index_table *t, u32 max);
/* Add an APIC id; returns its dense index, the existing one if present,
 * or CPU_INDEX_NONE when the table is full. */
u32 cpu_index_add(struct cpu_index_table *t, u32 apic_id);
/* Dense index of an APIC id, or CPU_INDEX_NONE. */
u32 cpu_index_of(const struct cpu_index_table *t, u32 apic_id);

#endif
