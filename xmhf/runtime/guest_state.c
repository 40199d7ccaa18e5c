/* The helpers every exit handler and the hypapp use (xmhf/guest.h): the
 * guest's VMCS state, injection, instruction skip, guest-virtual memory. */
#include <runtime/percpu.h>
#include <runtime/vmx_ops.h>
#include <xmhf/cpu.h>
#include <xmhf/evlog.h>
#include <xmhf/guest.h>
#include <xmhf/hypapp.h>
#include <xmhf/log.h>
#include <xmhf/power.h>
#include <xmhf/vmx.h>
#include <xmhf/x86/segment.h>

void vmcs_dump(void);

u32 this_cpu_index(void) { return this_cpu()->index; }

void skip_instruction(void)
{
	vmwrite(VMCS_GUEST_RIP, vmread(VMCS_GUEST_RIP) + vmread(VMCS_VM_EXIT_INSTRUCTION_LEN));
	/* 26.4.2: the skipped instruction ends STI/MOV SS blocking */
	u64 intr = vmread(VMCS_GUEST_INTERRUPTIBILITY_INFO);
	if (intr & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS))
		vmwrite(VMCS_GUEST_INTERRUPTIBILITY_INFO, intr & ~(INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS));
}

void inject_exception(u32 vector, bool has_error_code, u32 error_code)
{
	/* 27.2.1.3: real-mode guests (CR0.PE = 0) take no error code */
	if (!(vmread(VMCS_GUEST_CR0) & CR0_PE))
		has_error_code = false;
	vmwrite(VMCS_VM_ENTRY_INTR_INFO, INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | vector |
						 (has_error_code ? INTR_INFO_DELIVER_ERROR_CODE : 0));
	if (has_error_code)
		vmwrite(VMCS_VM_ENTRY_EXCEPTION_ERROR_CODE, error_code);
}

void nmi_reblock_after_iret(bool unblocked_by_iret)
{
	/* bit 12 of the exit qualification / interruption information
	 * ("NMI unblocking due to IRET"): the faulting IRET had unblocked
	 * virtual NMIs; it is re-executed or a fault is delivered for it, so
	 * the blocking is set again (SDM "Exit Qualification for EPT
	 * Violations", "Information for VM Exits Due to Vectored Events") */
	if (unblocked_by_iret && !(vmread(VMCS_IDT_VECTORING_INFO) & INTR_INFO_VALID))
		vmwrite(VMCS_GUEST_INTERRUPTIBILITY_INFO,
			vmread(VMCS_GUEST_INTERRUPTIBILITY_INFO) | INTERRUPTIBILITY_NMI);
}

static bool exception_is_contributory(u32 vector)
{
	return vector == VECTOR_DE || (vector >= VECTOR_TS && vector <= VECTOR_GP);
}

u32 exception_combine(u32 first, u32 second)
{
	bool serious = exception_is_contributory(second) || second == VECTOR_PF;
	if (first == VECTOR_DF && serious)
		return EXCEPTION_SHUTDOWN;
	if ((exception_is_contributory(first) && exception_is_contributory(second)) || (first == VECTOR_PF && serious))
		return VECTOR_DF;
	return second;
}

u64 guest_rip(void) { return vmread(VMCS_GUEST_RIP); }
void guest_set_rip(u64 rip) { vmwrite(VMCS_GUEST_RIP, rip); }
u64 guest_rsp(void) { return vmread(VMCS_GUEST_RSP); }
void guest_set_rsp(u64 rsp) { vmwrite(VMCS_GUEST_RSP, rsp); }
u64 guest_rflags(void) { return vmread(VMCS_GUEST_RFLAGS); }
void guest_set_rflags(u64 rflags) { vmwrite(VMCS_GUEST_RFLAGS, rflags); }
u64 guest_cr0(void) { return vmread(VMCS_GUEST_CR0); }
u64 guest_cr3(void) { return vmread(VMCS_GUEST_CR3); }
u64 guest_cr4(void) { return vmread(VMCS_GUEST_CR4); }
u64 guest_efer(void) { return vmread(VMCS_GUEST_IA32_EFER); }

u32 guest_cpl(void)
{
	return ((u32)vmread(VMCS_GUEST_SS_AR_BYTES) >> AR_DPL_SHIFT) & 3;
}

enum guest_mode guest_mode(void)
{
	if (!(guest_cr0() & CR0_PE))
		return GUEST_REAL;
	if (guest_rflags() & RFLAGS_VM)
		return GUEST_VM86;
	if ((guest_efer() & EFER_LMA) && (vmread(VMCS_GUEST_CS_AR_BYTES) & AR_L))
		return GUEST_64BIT;
	return GUEST_PROTECTED;
}

static u32 intercepted_exceptions[MAX_CPUS];

void guest_intercept_exception(u32 vector, bool intercept)
{
	u32 *mine = &intercepted_exceptions[this_cpu()->index];
	*mine = intercept ? *mine | BIT(vector) : *mine & ~(u32)BIT(vector);
	u64 bitmap = vmread(VMCS_EXCEPTION_BITMAP);
	vmwrite(VMCS_EXCEPTION_BITMAP, intercept ? bitmap | BIT(vector) : bitmap & ~(u64)BIT(vector));
}

bool guest_exception_intercepted(u32 vector)
{
	return vector < 32 && (intercepted_exceptions[this_cpu()->index] & BIT(vector));
}

u32 guest_intercepted_exceptions(void) { return intercepted_exceptions[this_cpu()->index]; }

void guest_intercept_exceptions(u32 vectors)
{
	intercepted_exceptions[this_cpu()->index] = vectors;
	vmwrite(VMCS_EXCEPTION_BITMAP, vectors);
}

bool guest_warning_due(u32 *count)
{
	u32 n = __atomic_add_fetch(count, 1, __ATOMIC_RELAXED);
	return n <= GUEST_WARN_FIRST || n % GUEST_WARN_EVERY == 0;
}

NORETURN void guest_reset_power_off(const char *what)
{
	pr_info("xmhf: cpu %u: %s: the guest reset; powering off", this_cpu()->index, what);
	hypapp_guest_shutdown();
	vmexit_print_counts(what);
	power_off();
}

void vmexit_unexpected(const char *why)
{
	struct percpu *p = this_cpu();
	pr_err("xmhf: cpu %u (apic %u): %s; VMCS01:", p->index, p->apic_id, why);
	vmcs_dump();
	halt_all_cpus();
}

void vmexit_print_counts(const char *why)
{
	evlog_print_all(why);
	for (u32 cpu = 0; cpu < cpu_count(); cpu++)
		for (u32 r = 0; r < EXIT_REASON_COUNT; r++)
			if (percpu[cpu].exits[r])
				pr_debug("xmhf: cpu %u: %llu exits with reason %u", cpu, percpu[cpu].exits[r], r);
}
