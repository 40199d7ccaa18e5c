/* VMX instructions on the current VMCS (SDM Vol. 3 chapter 31). A failed
 * VMREAD/VMWRITE of a field the hypervisor chose is a hypervisor bug. */
#ifndef RUNTIME_VMX_OPS_H
#define RUNTIME_VMX_OPS_H

#include <runtime/panic.h>
#include <xmhf/vmcs_fields.h>
#include <xmhf/vmx.h>

#ifdef XMHF_HOST_TEST
/* Host unit tests: a fake VMCS (tests/unit/fake_cpu.c). */
u64 vmread(enum vmcs_field f);
void vmwrite(enum vmcs_field f, u64 v);
bool vmclear(hpa_t pa);
bool vmptrld(hpa_t pa);
bool invept(u64 type, u64 eptp);
bool invvpid(u64 type, u16 vpid, u64 linear);
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

/* VMCLEAR / VMPTRLD / INVEPT: true on success. */
static inline bool vmclear(hpa_t pa)
{
	u8 failed;
	__asm__ volatile("vmclear %1; setbe %0" : "=qm"(failed) : "m"(pa.v) : "cc", "memory");
	return !failed;
}

static inline bool vmptrld(hpa_t pa)
{
	u8 failed;
	__asm__ volatile("vmptrld %1; setbe %0" : "=qm"(failed) : "m"(pa.v) : "cc", "memory");
	return !failed;
}

static inline bool invept(u64 type, u64 eptp)
{
	struct { u64 eptp, reserved; } desc = { eptp, 0 };
	u8 failed;
	__asm__ volatile("invept %1, %2; setbe %0" : "=qm"(failed) : "m"(desc), "r"(type) : "cc", "memory");
	return !failed;
}

static inline bool invvpid(u64 type, u16 vpid, u64 linear)
{
	struct { u64 vpid, linear; } desc = { vpid, linear };
	u8 failed;
	__asm__ volatile("invvpid %1, %2; setbe %0" : "=qm"(failed) : "m"(desc), "r"(type) : "cc", "memory");
	return !failed;
}
#endif /* XMHF_HOST_TEST */

#endif
