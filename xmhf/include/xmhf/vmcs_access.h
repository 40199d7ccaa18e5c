/* VMREAD and VMWRITE on the current VMCS (SDM Vol. 3 32.3), inline for
 * the core and nested/ (VMCS01, VMCS02 and the shadow VMCS: xmhf/nested.h).
 * A failed VMREAD/VMWRITE of a field the hypervisor chose is a hypervisor
 * bug. */
#ifndef XMHF_VMCS_ACCESS_H
#define XMHF_VMCS_ACCESS_H

#include <xmhf/types.h>
#include <xmhf/vmcs_fields.h>

#ifdef XMHF_HOST_TEST
/* Host unit tests: a fake VMCS (tests/unit/fake_cpu.c). */
u64 vmread(enum vmcs_field f);
void vmwrite(enum vmcs_field f, u64 v);
#else
/* CF or ZF set: VMfailInvalid / VMfailValid (SDM Vol. 3 31.2); one branch
 * straight from the instruction's flags (these run on every VM exit) to a
 * cold stub in .text.unlikely that calls vmx_field_failed (panics) on an
 * aligned stack: no call is seen by the compiler, so a function that only
 * reads and writes fields needs no stack frame. */
NORETURN void vmx_field_failed(u64 field, u64 value, bool write);

#define VMX_FIELD_FAILED_STUB(write)                                                     \
	"jbe 2f\n\t"                                                                      \
	".pushsection .text.unlikely.vmx_field_failed, \"ax\", @progbits\n"              \
	"2:\tpush %[field]\n\tpush %[value]\n\tpop %%rsi\n\tpop %%rdi\n\t"                \
	"mov $" #write ", %%edx\n\tand $-16, %%rsp\n\tcall vmx_field_failed\n"            \
	".popsection"

static inline u64 vmread(enum vmcs_field f)
{
	u64 v;
	__asm__ volatile("vmread %[field], %[value]\n\t" VMX_FIELD_FAILED_STUB(0)
			 : [value] "=r"(v) : [field] "r"((u64)f) : "cc");
	return v;
}

static inline void vmwrite(enum vmcs_field f, u64 v)
{
	__asm__ volatile("vmwrite %[value], %[field]\n\t" VMX_FIELD_FAILED_STUB(1)
			 : : [value] "r"(v), [field] "r"((u64)f) : "cc", "memory");
}
#endif

#endif
