/* VMX instructions on the current VMCS (SDM Vol. 3 chapter 31). A failed
 * VMREAD/VMWRITE of a field the hypervisor chose is a hypervisor bug. */
#ifndef RUNTIME_VMX_OPS_H
#define RUNTIME_VMX_OPS_H

#include <runtime/panic.h>
#include <xmhf/vmcs_fields.h>

#define INVEPT_SINGLE_CONTEXT 1
#define INVEPT_ALL_CONTEXT 2

#ifdef XMHF_HOST_TEST
/* Host unit tests: a fake VMCS (tests/unit/fake_cpu.c). */
u64 vmread(enum vmcs_field f);
void vmwrite(enum vmcs_field f, u64 v);
bool vmclear(hpa_t pa);
bool vmptrld(hpa_t pa);
bool invept(u64 type, u64 eptp);
#else
/* CF or ZF set: VMfailInvalid / VMfailValid (SDM Vol. 3 31.2); one branch
 * straight from the instruction's flags (these run on every VM exit). */
static inline u64 vmread(enum vmcs_field f)
{
	u64 v;
	__asm__ goto("vmread %1, %0; jbe %l[failed]" : "=r"(v) : "r"((u64)f) : "cc" : failed);
	return v;
failed:
	panic("xmhf: VMREAD of field 0x%x failed", f);
}

static inline void vmwrite(enum vmcs_field f, u64 v)
{
	__asm__ goto("vmwrite %0, %1; jbe %l[failed]" : : "r"(v), "r"((u64)f) : "cc", "memory" : failed);
	return;
failed:
	panic("xmhf: VMWRITE of field 0x%x = 0x%llx failed", f, v);
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
#endif /* XMHF_HOST_TEST */

#endif
