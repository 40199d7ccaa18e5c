/* Test hypercalls (build.sh --test-hypercalls only): a guest's way to run
 * quiesces and all-CPU EPT01 changes in Bochs (tests/guests/checks/xcall.c).
 * VMCALL at CPL 0 with EAX = XCALL_TEST_MAGIC, ECX = operation:
 * - XCALL_TEST_QUIESCE: EDX quiesces in a row; EAX = the quiesces run.
 * - XCALL_TEST_SET_PROT_ALL: rights ESI for the page at EDX on every CPU;
 *   EAX = 1 if set, 0 if refused.
 * - XCALL_TEST_GET_PROT: EAX = the rights CPU ESI's EPT01 gives page EDX.
 * - XCALL_TEST_RELOCATE: move the guest page at EDX to another host page
 *   on every CPU (one of RELOCATION_SPARES pages of the hypervisor's), or
 *   back to itself if it was moved, its contents copied (the guest must
 *   not write it meanwhile), through the shootdown of every EPT01 change
 *   (so nested VMX's rewalk: docs/nested.md "Rewalk"); EAX = 1 if moved,
 *   0 if refused (no spare free, a page EPT01 does not let move).
 * Anything else: EAX = ~0. */
#include <config.h>
#include <runtime/ept01.h>
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
#define XCALL_TEST_RELOCATE 4
#define XCALL_TEST_BAD ~0ull

#define RELOCATION_SPARES 4
static u8 spares[RELOCATION_SPARES][PAGE_SIZE] __attribute__((section(".bss.pages"), aligned(PAGE_SIZE)));
static u64 spare_user[RELOCATION_SPARES]; /* the guest page on spare i, + 1 (0: free) */
static struct spinlock relocation_lock;   /* spare_user; taken before the EPT lock */

static void count_quiesce(void *arg) { ++*(u32 *)arg; }

static bool relocate_locked(u64 page)
{
	for (u32 i = 0; i < RELOCATION_SPARES; i++)
		if (spare_user[i] == page + 1) {
			bool home = ept01_relocate_all(l1_gpa(page), hpa(page));
			spare_user[i] = home ? 0 : spare_user[i];
			return home;
		}
	for (u32 i = 0; i < RELOCATION_SPARES; i++)
		if (!spare_user[i]) {
			bool moved = ept01_relocate_all(l1_gpa(page), hpa((u64)spares[i]));
			spare_user[i] = moved ? page + 1 : 0;
			return moved;
		}
	return false;
}

static bool relocate(l1_gpa_t gpa)
{
	xcall_lock(&relocation_lock);
	bool ok = relocate_locked(ALIGN_DOWN(gpa.v, PAGE_SIZE));
	spin_unlock(&relocation_lock);
	return ok;
}

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
	case XCALL_TEST_RELOCATE: return relocate(l1_gpa(arg1));
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
