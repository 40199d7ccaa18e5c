/* VMX instructions (SDM Vol. 3 chapter 31); VMREAD/VMWRITE of the current
 * VMCS are xmhf/vmcs_access.h's. */
#ifndef RUNTIME_VMX_OPS_H
#define RUNTIME_VMX_OPS_H

#include <runtime/panic.h>
#include <xmhf/vmcs_access.h>
#include <xmhf/vmcs_fields.h>
#include <xmhf/vmx.h>

#ifdef XMHF_HOST_TEST
/* Host unit tests: a fake VMCS (tests/unit/fake_cpu.c). */
bool vmclear(hpa_t pa);
bool vmptrld(hpa_t pa);
bool invept(u64 type, u64 eptp);
bool invvpid(u64 type, u16 vpid, u64 linear);
#else
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
