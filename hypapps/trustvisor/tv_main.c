/* --app trustvisor: TrustVisor's hypercall ABI on the hypapp interface (xmhf/hypapp.h; README.md).
 * Wired so far: the detection CPUID leaf and the hypercall numbers (TV_HC_TEST logs its line;
 * TV_HC_REG/TV_HC_UNREG, the micro-TPM and unknown numbers answer an error code in RAX). */
#include "tv_hypercall.h"
#include <xmhf/hypapp.h>
#include <xmhf/log.h>

void hypapp_init(const struct hypapp_boot *boot) { pr_info("trustvisor: ready on cpu %u", boot->cpu); }

static bool caller64(void) { return guest_mode() == GUEST_64BIT; }

enum hypapp_result hypapp_hypercall(struct guest_regs *regs)
{
	struct tv_hc_regs in = { .rax = regs->rax, .rcx = regs->rcx, .rsi = regs->rsi, .rdi = regs->rdi,
				 .caller64 = caller64() };
	struct tv_hypercall hc;
	tv_hc_decode(&in, &hc);
	switch (hc.kind) {
	case TV_HC_KIND_TEST: {
		char line[64];
		tv_hc_test_line(line, sizeof(line), hc.value);
		pr_info("trustvisor: cpu %u: %s", this_cpu_index(), line);
		regs->rax = TV_OK;
		break;
	}
	case TV_HC_KIND_REG:
	case TV_HC_KIND_UNREG:
		regs->rax = TV_ERR_UNSUPPORTED; /* not wired yet (README.md, known missing) */
		break;
	case TV_HC_KIND_ERROR:
		regs->rax = hc.error;
		break;
	}
	skip_instruction();
	return HYPAPP_DONE;
}

enum hypapp_result hypapp_cpuid(struct guest_regs *regs, u32 leaf, u32 subleaf)
{
	struct tv_cpuid_query q = { .eax = leaf, .ecx = subleaf, .caller64 = caller64() };
	struct tv_cpuid out;
	if (tv_cpuid_answer(&q, &out)) {
		regs->rax = out.eax;
		regs->rbx = out.ebx;
		regs->rcx = out.ecx;
		regs->rdx = out.edx;
	}
	return HYPAPP_PASS;
}

enum hypapp_result hypapp_rdmsr(struct guest_regs *regs, u32 msr) { return HYPAPP_PASS; }
enum hypapp_result hypapp_wrmsr(struct guest_regs *regs, u32 msr, u64 value) { return HYPAPP_PASS; }
enum hypapp_result hypapp_io(struct guest_regs *regs, u16 port, u32 size, u32 flags) { return HYPAPP_PASS; }
enum hypapp_result hypapp_ept_violation(struct guest_regs *regs, const struct hypapp_ept_violation *v)
{
	return HYPAPP_PASS;
}
enum hypapp_result hypapp_exception(struct guest_regs *regs, u32 intr_info, u32 error_code) { return HYPAPP_PASS; }
void hypapp_guest_shutdown(void) {}
enum hypapp_result hypapp_nested_entry(struct guest_regs *regs) { return HYPAPP_PASS; }
enum hypapp_result hypapp_nested_exit(struct guest_regs *regs, u32 exit_reason) { return HYPAPP_PASS; }
