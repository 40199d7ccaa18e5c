/* --app test: a hypapp that proves the interface (xmhf/hypapp.h) and
 * nothing more; the checks guest's check hypapp_test uses it:
 * - init: one line per CPU with the boot parameters and the command-line
 *   keys the core left (tools/bochs/hypapp_check.py reads them);
 * - CPUID leaf TEST_CPUID_LEAF: a signature instead of the core's answer;
 * - the hypercalls and the #BP interception of abi.h;
 * - every other hook is the core's default (it passes). */
#include "abi.h"
#include <xmhf/format.h>
#include <xmhf/hypapp.h>
#include <xmhf/log.h>
#include <xmhf/string.h>
#include <xmhf/x86/events.h>

void hypapp_init(const struct hypapp_boot *boot)
{
	char keys[256] = "";
	size_t used = 0;
	for (u32 i = 0; i < boot->n_keys && used < sizeof(keys); i++)
		used += (size_t)xsnprintf(keys + used, sizeof(keys) - used, " %s=%s", boot->keys[i].key,
					  boot->keys[i].value);
	pr_info("hypapp test: cpu %u of %u, boot drive 0x%x, runtime [0x%llx, 0x%llx), keys:%s", boot->cpu,
		boot->cpu_count, boot->boot_drive, boot->runtime_base.v, boot->runtime_end.v, keys);
}

enum hypapp_result hypapp_hypercall(struct guest_regs *regs)
{
	switch ((u32)regs->rax) {
	case TEST_HC_ECHO:
		regs->rax = regs->rbx + 1;
		regs->rcx = this_cpu_index();
		break;
	case TEST_HC_BP_ON:
	case TEST_HC_BP_OFF:
		guest_intercept_exception(VECTOR_BP, (u32)regs->rax == TEST_HC_BP_ON);
		break;
	default:
		return HYPAPP_PASS;
	}
	skip_instruction();
	return HYPAPP_DONE;
}

enum hypapp_result hypapp_cpuid(struct guest_regs *regs, u32 leaf, u32 subleaf)
{
	if (leaf != TEST_CPUID_LEAF)
		return HYPAPP_PASS;
	regs->rax = TEST_CPUID_LEAF;
	regs->rbx = TEST_SIGNATURE_EBX;
	regs->rcx = TEST_SIGNATURE_ECX;
	regs->rdx = TEST_SIGNATURE_EDX;
	return HYPAPP_PASS;
}

enum hypapp_result hypapp_exception(struct guest_regs *regs, u32 intr_info, u32 error_code)
{
	if (INTR_INFO_VECTOR(intr_info) != VECTOR_BP)
		return HYPAPP_PASS;
	regs->rax = TEST_BP_SEEN;
	skip_instruction(); /* the exit's instruction length is INT3's (SDM Vol. 3 28.2.4) */
	return HYPAPP_DONE;
}

void hypapp_guest_shutdown(void) { pr_info("hypapp test: guest shutdown"); }
