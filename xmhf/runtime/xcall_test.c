/* Test hypercalls (build.sh --test-hypercalls only): a guest's way to run
 * quiesces and all-CPU EPT01 changes in Bochs (tests/guests/checks/xcall.c).
 * VMCALL at CPL 0 with EAX = XCALL_TEST_MAGIC, ECX = operation:
 * - XCALL_TEST_QUIESCE: EDX quiesces in a row; EAX = the quiesces run.
 * - XCALL_TEST_SET_PROT_ALL: rights ESI for the page at EDX on every CPU;
 *   EAX = 1 if set, 0 if refused.
 * - XCALL_TEST_GET_PROT: EAX = the rights CPU ESI's EPT01 gives page EDX.
 * Anything else: EAX = ~0. */
#include <config.h>
#include <runtime/percpu.h>
#include <runtime/vmexit.h>
#include <runtime/vmx_ops.h>
#include <runtime/xcall.h>
#include <xmhf/memprot.h>
#include <xmhf/paging.h>
#include <xmhf/vmx.h>
#include <xmhf/x86/segment.h>

#define XCALL_TEST_MAGIC 0x58435454u /* "XCTT" */
#define XCALL_TEST_QUIESCE 1
#define XCALL_TEST_SET_PROT_ALL 2
#define XCALL_TEST_GET_PROT 3
#define XCALL_TEST_BAD ~0ull

static void count_quiesce(void *arg) { ++*(u32 *)arg; }

static u64 test_hypercall(u32 op, u64 arg1, u64 arg2)
{
	switch (op) {
	case XCALL_TEST_QUIESCE: {
		u32 n = 0;
		for (u32 i = 0; i < (u32)arg1; i++)
			quiesce(count_quiesce, &n);
		return n;
	}
	case XCALL_TEST_SET_PROT_ALL: return memprot_set(MEMPROT_ALL_CPUS, l1_gpa(arg1), arg2);
	case XCALL_TEST_GET_PROT: return memprot_get((u32)arg2, l1_gpa(arg1));
	default: return XCALL_TEST_BAD;
	}
}

bool xcall_debug_hypercall(struct guest_regs *regs)
{
	if (!CONFIG_TEST_HYPERCALLS || (u32)regs->rax != XCALL_TEST_MAGIC ||
	    ((vmread(VMCS_GUEST_SS_AR_BYTES) >> AR_DPL_SHIFT) & 3) != 0)
		return false;
	regs->rax = test_hypercall((u32)regs->rcx, (u32)regs->rdx, (u32)regs->rsi);
	skip_instruction();
	return true;
}
