/* The hypapps' memory protection API (xmhf/memprot.h) on EPT01. */
#include <runtime/ept01.h>
#include <runtime/percpu.h>
#include <runtime/vmx_ops.h>
#include <xmhf/memprot.h>
#include <xmhf/vmx.h>

bool memprot_set(u32 cpu, l1_gpa_t gpa, u64 rwx)
{
	if (cpu == MEMPROT_ALL_CPUS)
		return ept01_set_prot_all(gpa, rwx);
	return cpu < cpu_count() && ept01_set_prot(cpu, gpa, rwx);
}

u64 memprot_get(u32 cpu, l1_gpa_t gpa) { return cpu < cpu_count() ? ept01_get_prot(cpu, gpa) : 0; }

void memprot_flush(u32 flags)
{
	if (flags & (MEMPROT_FLUSH_ENTRIES | MEMPROT_FLUSH_MT))
		invept(INVEPT_SINGLE_CONTEXT, ept01_eptp(this_cpu()->index));
}
