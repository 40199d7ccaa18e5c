/* VM exits of L2 (docs/nested.md "Exits of L2"): L0 handles its own (the
 * core's handlers, on VMCS02), every other goes to L1 as a VM exit: L2's
 * state and the exit information into VMCS12, L1's host state from VMCS12
 * into VMCS01 (SDM Vol. 3 28.3, 28.5), VMCS01 current, L1 at its host RIP. */
#include <nested/ept02.h>
#include <nested/l2_msr.h>
#include <nested/vmcs02.h>
#include <nested/vmx_insn.h>
#include <xmhf/evlog.h>
#include <xmhf/hypapp.h>
#include <xmhf/log.h>
#include <xmhf/nested.h>
#include <xmhf/panic.h>
#include <xmhf/x86/segment.h>

#define GET(v, name) vmcs12_get(v, VMCS12_IDX_##name)

/* 26.6.3 exception bitmap, with the #PF error-code mask and match */
static bool l1_wants_exception(const struct vmcs12 *v, u32 info)
{
	u32 vector = INTR_INFO_VECTOR(info);
	if (vector != VECTOR_PF)
		return GET(v, EXCEPTION_BITMAP) & BIT(vector);
	u32 code = (u32)vmcs02_read(VMCS_VM_EXIT_INTR_ERROR_CODE);
	bool match = (code & GET(v, PAGE_FAULT_ERROR_CODE_MASK)) == GET(v, PAGE_FAULT_ERROR_CODE_MATCH);
	return !!(GET(v, EXCEPTION_BITMAP) & BIT(VECTOR_PF)) == match;
}

static bool bitmap_bit(u64 bitmap, u32 bit)
{
	u8 byte;
	/* the page was guest RAM at VM entry; if no longer, the access exits to L1 */
	return !guest_phys_read(l1_gpa(bitmap + bit / 8), &byte, 1) || (byte & BIT(bit % 8));
}

/* 26.6.4 I/O: unconditional exiting or the bitmaps (a range past 0xffff exits) */
static bool l1_wants_io(const struct vmcs12 *v)
{
	u64 proc = GET(v, CPU_BASED_VM_EXEC_CONTROL), qual = vmcs02_read(VMCS_EXIT_QUALIFICATION);
	u32 port = (u32)(qual >> 16) & 0xffff, size = (u32)(qual & 7) + 1;
	if (!(proc & PROC_USE_IO_BITMAPS))
		return proc & PROC_UNCONDITIONAL_IO_EXITING;
	for (u32 p = port; p < port + size; p++)
		if (p > 0xffff || bitmap_bit(p < 0x8000 ? GET(v, IO_BITMAP_A) : GET(v, IO_BITMAP_B), p & 0x7fff))
			return true;
	return false;
}

/* 26.6.9 MSR bitmaps: read low/high at 0/0x400, write at 0x800/0xc00 */
static bool l1_wants_msr(const struct vmcs12 *v, u32 msr, bool write)
{
	if (!(GET(v, CPU_BASED_VM_EXEC_CONTROL) & PROC_USE_MSR_BITMAPS))
		return true;
	u32 base = write ? 0x800 * 8 : 0;
	if (msr <= 0x1fff)
		return bitmap_bit(GET(v, MSR_BITMAP), base + msr);
	if (msr >= 0xc0000000u && msr <= 0xc0001fffu)
		return bitmap_bit(GET(v, MSR_BITMAP), base + 0x400 * 8 + (msr & 0x1fff));
	return true;
}

/* The exits L0 takes: its NMIs and signals, the #DB ending a step of the
 * core (guest_step.h: an xAPIC write of L2), NMI windows it opened, I/O and
 * MSR accesses and exceptions that exit for L0's reasons only, EPT01
 * violations (L2 on EPT01), a preemption timer L1 did not start, the
 * hypapp's VMCALLs and CPUID leaf for L2 callers (xmhf/hypapp.h). The
 * others all exit because L1's controls say so, or always do. *done: an
 * MSR access done by l2_msr.c (L2 resumes) rather than by the core. */
static bool l0_handles(const struct vmcs12 *v, u32 reason, struct guest_regs *regs, bool *done)
{
	switch (reason) {
	case EXIT_REASON_EXCEPTION_NMI: {
		u32 info = (u32)vmcs02_read(VMCS_VM_EXIT_INTR_INFO);
		bool step_db = INTR_INFO_VECTOR(info) == VECTOR_DB && guest_step_active();
		return INTR_INFO_TYPE(info) == EVENT_NMI || step_db || !l1_wants_exception(v, info);
	}
	case EXIT_REASON_INIT:
	case EXIT_REASON_SIPI:
	case EXIT_REASON_IO_SMI:
	case EXIT_REASON_OTHER_SMI: return true;
	case EXIT_REASON_NMI_WINDOW: return !(GET(v, CPU_BASED_VM_EXEC_CONTROL) & PROC_NMI_WINDOW_EXITING);
	case EXIT_REASON_IO: return !l1_wants_io(v);
	case EXIT_REASON_RDMSR:
	case EXIT_REASON_WRMSR: {
		bool write = reason == EXIT_REASON_WRMSR;
		if (l1_wants_msr(v, (u32)regs->rcx, write))
			return false;
		*done = l2_msr_access(regs, write);
		return true;
	}
	/* EPT01's (L1 without EPT; EPT02's are ept02_exit's) */
	case EXIT_REASON_EPT_VIOLATION:
	case EXIT_REASON_EPT_MISCONFIG: return true;
	case EXIT_REASON_PREEMPTION_TIMER: return !(GET(v, PIN_BASED_VM_EXEC_CONTROL) & PIN_PREEMPTION_TIMER);
	/* both exit unconditionally (26.1.2): L1 sees none of these */
	case EXIT_REASON_VMCALL: return hypapp_l2_vmcall_is_mine(regs);
	case EXIT_REASON_CPUID: return hypapp_l2_cpuid_is_mine((u32)regs->rax, (u32)regs->rcx);
	default: return false;
	}
}

/* 28.3 L2's state into VMCS12 (the debug controls, PAT and EFER only as
 * L1's exit controls save them) and the exit information. */
static void save_l2_state(struct nested_cpu *n)
{
	struct vmcs12 *v = &n->current;
	u64 exit = GET(v, VM_EXIT_CONTROLS);
	u64 dr7 = GET(v, GUEST_DR7), debugctl = GET(v, GUEST_IA32_DEBUGCTL);
	u64 pat = GET(v, GUEST_IA32_PAT), efer = GET(v, GUEST_IA32_EFER);
	const struct vmcs12_slot *saved = n->lists.saved, *end = saved + n->lists.n_saved;
	for (const struct vmcs12_slot *s = saved; s < end; s++)
		vmcs12_put_read(v, s->index, vmcs02_read(s->encoding));
	if (!(exit & EXIT_SAVE_DEBUG_CONTROLS)) {
		vmcs12_put(v, VMCS12_IDX_GUEST_DR7, dr7);
		vmcs12_put(v, VMCS12_IDX_GUEST_IA32_DEBUGCTL, debugctl);
	}
	if (!(exit & EXIT_SAVE_PAT))
		vmcs12_put(v, VMCS12_IDX_GUEST_IA32_PAT, pat);
	if (!(exit & EXIT_SAVE_EFER))
		vmcs12_put(v, VMCS12_IDX_GUEST_IA32_EFER, efer);
}

/* L1's CR0/CR4 from the host field (28.5.1: CR0's reserved bits, ET, CD
 * and NW are kept): the bits L0 owns keep their real value in VMCS01 and
 * show L1's through the read shadow. */
#define CR0_KEPT (CR0_RESERVED_LOW | CR0_ET | CR0_CD | CR0_NW)
static void load_cr(enum vmcs_field real, enum vmcs_field mask, enum vmcs_field shadow, u64 value)
{
	u64 owned = vmcs01_read(mask);
	vmcs01_write(real, (value & ~owned) | (vmcs01_read(real) & owned));
	vmcs01_write(shadow, value);
}

/* 28.5.2 a data segment of L1 after the exit: unusable if null */
static void load_data_segment(u32 s, u64 selector)
{
	vmcs01_write(VMCS_GUEST_ES_SELECTOR + 2 * s, selector);
	vmcs01_write(VMCS_GUEST_ES_LIMIT + 2 * s, 0xffffffff);
	vmcs01_write(VMCS_GUEST_ES_AR_BYTES + 2 * s, selector ? AR_DATA_RW_ACCESSED | AR_DB | AR_G : AR_UNUSABLE);
	vmcs01_write(VMCS_GUEST_ES_BASE + 2 * s, 0);
}

/* 28.5 L1's state after the exit, from VMCS12's host state; l2_efer and
 * l2_pat are what L2 had (kept where L1 does not load its own). */
static void load_l1_host_state(const struct vmcs12 *v, u64 l2_efer, u64 l2_pat)
{
	u64 exit = GET(v, VM_EXIT_CONTROLS);
	bool host64 = exit & EXIT_HOST_ADDR_SPACE_SIZE;

	load_cr(VMCS_GUEST_CR0, VMCS_CR0_GUEST_HOST_MASK, VMCS_CR0_READ_SHADOW,
		(GET(v, HOST_CR0) & ~CR0_KEPT) | (l1_cr0() & CR0_KEPT));
	load_cr(VMCS_GUEST_CR4, VMCS_CR4_GUEST_HOST_MASK, VMCS_CR4_READ_SHADOW, GET(v, HOST_CR4));
	vmcs01_write(VMCS_GUEST_CR3, GET(v, HOST_CR3));
	vmcs01_write(VMCS_GUEST_DR7, DR7_INIT_VALUE);
	vmcs01_write(VMCS_GUEST_IA32_DEBUGCTL, 0);
	vmcs01_write(VMCS_GUEST_SYSENTER_CS, GET(v, HOST_IA32_SYSENTER_CS));
	vmcs01_write(VMCS_GUEST_SYSENTER_ESP, GET(v, HOST_IA32_SYSENTER_ESP));
	vmcs01_write(VMCS_GUEST_SYSENTER_EIP, GET(v, HOST_IA32_SYSENTER_EIP));
	u64 efer = exit & EXIT_LOAD_EFER ? GET(v, HOST_IA32_EFER)
					 : (l2_efer & ~(EFER_LMA | EFER_LME)) | (host64 ? EFER_LMA | EFER_LME : 0);
	vmcs01_write(VMCS_GUEST_IA32_EFER, efer);
	vmcs01_write(VMCS_GUEST_IA32_PAT, exit & EXIT_LOAD_PAT ? GET(v, HOST_IA32_PAT) : l2_pat);
	u64 entry01 = vmcs01_read(VMCS_VM_ENTRY_CONTROLS) & ~(u64)ENTRY_IA32E_MODE_GUEST;
	vmcs01_write(VMCS_VM_ENTRY_CONTROLS, entry01 | (host64 ? ENTRY_IA32E_MODE_GUEST : 0));

	for (u32 s = SEG_ES; s <= SEG_GS; s++)
		if (s != SEG_CS)
			load_data_segment(s, vmcs12_get(v, VMCS12_IDX_HOST_ES_SELECTOR + s));
	vmcs01_write(VMCS_GUEST_CS_SELECTOR, GET(v, HOST_CS_SELECTOR));
	vmcs01_write(VMCS_GUEST_CS_BASE, 0);
	vmcs01_write(VMCS_GUEST_CS_LIMIT, 0xffffffff);
	vmcs01_write(VMCS_GUEST_CS_AR_BYTES, AR_CODE_RX_ACCESSED | AR_G | (host64 ? AR_L : AR_DB));
	vmcs01_write(VMCS_GUEST_FS_BASE, GET(v, HOST_FS_BASE));
	vmcs01_write(VMCS_GUEST_GS_BASE, GET(v, HOST_GS_BASE));
	vmcs01_write(VMCS_GUEST_TR_SELECTOR, GET(v, HOST_TR_SELECTOR));
	vmcs01_write(VMCS_GUEST_TR_BASE, GET(v, HOST_TR_BASE));
	vmcs01_write(VMCS_GUEST_TR_LIMIT, 0x67);
	vmcs01_write(VMCS_GUEST_TR_AR_BYTES, AR_TSS_BUSY);
	vmcs01_write(VMCS_GUEST_LDTR_SELECTOR, 0);
	vmcs01_write(VMCS_GUEST_LDTR_AR_BYTES, AR_UNUSABLE);
	vmcs01_write(VMCS_GUEST_GDTR_BASE, GET(v, HOST_GDTR_BASE));
	vmcs01_write(VMCS_GUEST_GDTR_LIMIT, 0xffff);
	vmcs01_write(VMCS_GUEST_IDTR_BASE, GET(v, HOST_IDTR_BASE));
	vmcs01_write(VMCS_GUEST_IDTR_LIMIT, 0xffff);

	vmcs01_write(VMCS_GUEST_RIP, GET(v, HOST_RIP));
	vmcs01_write(VMCS_GUEST_RSP, GET(v, HOST_RSP));
	vmcs01_write(VMCS_GUEST_RFLAGS, RFLAGS_RESERVED_1);
	vmcs01_write(VMCS_GUEST_INTERRUPTIBILITY_INFO, 0);
	vmcs01_write(VMCS_GUEST_ACTIVITY_STATE, ACTIVITY_ACTIVE);
	vmcs01_write(VMCS_GUEST_PENDING_DBG_EXCEPTIONS, 0);
	vmcs01_write(VMCS_VM_ENTRY_INTR_INFO, 0);
}

/* 28.2 / 27.8: every exit clears the valid bit of VM-entry interruption
 * information; the exit reason is the CPU's. */
static void exit_reason_for_l1(struct vmcs12 *v, u32 reason)
{
	vmcs12_put(v, VMCS12_IDX_VM_EXIT_REASON, reason);
	vmcs12_put(v, VMCS12_IDX_VM_ENTRY_INTR_INFO, GET(v, VM_ENTRY_INTR_INFO) & ~(u64)INTR_INFO_VALID);
}

/* The exit reason into VMCS12, then VMCS01 current and L1's host state. */
static void to_l1(struct nested_cpu *n, u32 reason)
{
	struct vmcs12 *v = &n->current;
	u64 l2_efer = vmcs02_read(VMCS_GUEST_IA32_EFER), l2_pat = vmcs02_read(VMCS_GUEST_IA32_PAT);
	exit_reason_for_l1(v, reason);
	if (!vmcs_make_current(vmcs01_region()))
		panic("nested: cpu %u: VMPTRLD of VMCS01 failed", this_cpu_index());
	nested_set_mode(n, VMX_MODE_L1_ROOT);
	load_l1_host_state(v, l2_efer, l2_pat);
	msr_area_exit_load(n);
}

/* The CPU's exit of VMCS02 as L1's (a VM-entry failure saves no guest state, 27.8). */
static void reflect(struct nested_cpu *n, u32 reason)
{
	evlog_count(nested_reflected);
	if (reason & EXIT_REASON_ENTRY_FAILURE) {
		vmcs12_put(&n->current, VMCS12_IDX_EXIT_QUALIFICATION, vmcs02_read(VMCS_EXIT_QUALIFICATION));
	} else {
		save_l2_state(n);
		msr_area_exit_store(n);
	}
	to_l1(n, reason);
}

/* An EPT violation of L2 on EPT02 (L1 uses EPT, nested/ept02.h): a page
 * EPT02 lacks is mapped and L2 retries; what EPT12 denies or cannot map is
 * L1's EPT violation (its qualification) or EPT misconfiguration (29.3.3:
 * no qualification); what EPT01 denies L1 itself is the hypapp's as for L1
 * (its page lent to a PAL: a PAL call), else #GP(0) in L2, as L1's own
 * access would get (docs/nested.md "EPT02"). */
static void ept02_exit(struct nested_cpu *n, struct guest_regs *regs)
{
	static u32 warnings;
	struct ept02_fault_info info;
	u64 qualification = vmcs02_read(VMCS_EXIT_QUALIFICATION);
	l2_gpa_t gpa = l2_gpa(vmcs02_read(VMCS_GUEST_PHYSICAL_ADDRESS));
	switch (ept02_fault(this_cpu_index(), GET(&n->current, EPT_POINTER), gpa, qualification, &info)) {
	case EPT02_MAPPED:
		evlog_count(nested_l0);
		nmi_reblock_after_iret(qualification & EPT_QUAL_NMI_UNBLOCKED_BY_IRET);
		return;
	case EPT02_REFLECT_VIOLATION:
		reflect(n, EXIT_REASON_EPT_VIOLATION);
		vmcs12_put(&n->current, VMCS12_IDX_EXIT_QUALIFICATION, info.exit_qualification);
		return;
	case EPT02_REFLECT_MISCONFIG:
		reflect(n, EXIT_REASON_EPT_MISCONFIG);
		vmcs12_put(&n->current, VMCS12_IDX_EXIT_QUALIFICATION, 0);
		return;
	case EPT02_L0_DENIED:
		evlog_count(nested_l0);
		nmi_reblock_after_iret(qualification & EPT_QUAL_NMI_UNBLOCKED_BY_IRET);
		if (l0_offer_ept_violation(regs, info.l1_gpa, qualification))
			return;
		if (guest_warning_due(&warnings))
			pr_warn("nested: cpu %u: L2 access to L2 GPA 0x%llx = L1 GPA 0x%llx blocked: #GP(0) (%u so far)",
				this_cpu_index(), gpa.v, info.l1_gpa.v, warnings);
		inject_gp0();
		return;
	}
}

bool nested_l2_exit(struct guest_regs *regs, u32 reason)
{
	struct nested_cpu *n;
	static u32 warnings;
	/* isolated code (a PAL) in L2: none of its exits is L1's */
	if (nested_mode(n = nested_cpu()) != VMX_MODE_L2 || guest_isolated())
		return false;
	if (reason & EXIT_REASON_ENTRY_FAILURE) {
		if (guest_warning_due(&warnings))
			pr_warn("nested: cpu %u: VM-entry failure of VMCS02 (reason 0x%x) the checks missed (%u times)",
				this_cpu_index(), reason, warnings);
	} else {
		/* 27.8: a VM entry that failed launches nothing */
		n->vmcs02_launched = true;
		n->current.launched = true;
		bool done = false;
		if ((u16)reason == EXIT_REASON_EPT_VIOLATION && (vmcs12_proc2(&n->current) & PROC2_ENABLE_EPT)) {
			ept02_exit(n, regs);
			shadow_flush(n);
			return true;
		}
		if (l0_handles(&n->current, (u16)reason, regs, &done)) {
			evlog_count(nested_l0);
			return done;
		}
	}
	reflect(n, reason);
	shadow_flush(n);
	return true;
}

/* An exit to L1 for an event that comes while L0 holds the CPU (an NMI L1
 * takes by NMI exiting, an INIT signal): L2's state as it stands. An event
 * VMCS02 has still to inject (L1's own at its VM entry, if VMCS02 never ran;
 * one the core re-injects after its own exit) becomes L1's IDT-vectoring
 * information, as for an exit during its delivery (28.2.4), so L1 injects
 * it again. The VM entry that loaded L2 counts as done: VMCS12 launched. */
static void event_exit_to_l1(struct nested_cpu *n, u32 reason, u32 intr_info)
{
	struct vmcs12 *v = &n->current;
	u32 pending = (u32)vmcs02_read(VMCS_VM_ENTRY_INTR_INFO);
	save_l2_state(n);
	msr_area_exit_store(n);
	vmcs12_put(v, VMCS12_IDX_VM_EXIT_INTR_INFO, intr_info);
	vmcs12_put(v, VMCS12_IDX_EXIT_QUALIFICATION, 0);
	vmcs12_put(v, VMCS12_IDX_IDT_VECTORING_INFO, pending & INTR_INFO_VALID ? pending : 0);
	if (pending & INTR_INFO_VALID) {
		vmcs12_put(v, VMCS12_IDX_IDT_VECTORING_ERROR_CODE, vmcs02_read(VMCS_VM_ENTRY_EXCEPTION_ERROR_CODE));
		vmcs12_put(v, VMCS12_IDX_VM_EXIT_INSTRUCTION_LEN, vmcs02_read(VMCS_VM_ENTRY_INSTRUCTION_LEN));
	}
	v->launched = true;
	evlog_count(nested_reflected);
	to_l1(n, reason);
	shadow_flush(n);
}

bool nested_nmi_exit_to_l1(void)
{
	struct nested_cpu *n = nested_cpu();
	if (nested_mode(n) != VMX_MODE_L2 || !(GET(&n->current, PIN_BASED_VM_EXEC_CONTROL) & PIN_NMI_EXITING))
		return false;
	/* 28.2.2: the exit of an NMI, its information as the CPU gives it */
	event_exit_to_l1(n, EXIT_REASON_EXCEPTION_NMI, INTR_INFO_VALID | INTR_TYPE_NMI | VECTOR_NMI);
	return true;
}

enum nested_init nested_init_signal(void)
{
	struct nested_cpu *n = nested_cpu();
	switch (nested_mode(n)) {
	case VMX_MODE_OFF: return NESTED_INIT_NOT_MINE;
	case VMX_MODE_L1_ROOT: return NESTED_INIT_BLOCKED; /* 24.8: blocked in VMX root operation */
	default: /* 26.2: an INIT causes a VM exit in VMX non-root operation, nothing else */
		event_exit_to_l1(n, EXIT_REASON_INIT, 0);
		return NESTED_INIT_EXITED;
	}
}

void l2_entry_failure(struct nested_cpu *n, u32 reason, u64 qualification)
{
	struct vmcs12 *v = &n->current;
	vmcs12_put(v, VMCS12_IDX_EXIT_QUALIFICATION, qualification);
	exit_reason_for_l1(v, reason | EXIT_REASON_ENTRY_FAILURE);
	load_l1_host_state(v, vmcs01_read(VMCS_GUEST_IA32_EFER), vmcs01_read(VMCS_GUEST_IA32_PAT));
	msr_area_exit_load(n);
}
