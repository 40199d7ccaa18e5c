/* The VM-entry checks on VMCS12 (SDM Vol. 3 27.2 controls and host state,
 * 27.3 guest state), in the SDM's order. Each condition is one FAILS line
 * that names itself in a debug line. What they do not cover the CPU finds
 * at the VM entry of VMCS02: nested_entry_failed and the VM-entry failure
 * exits of VMCS02 give L1 the same outcome. */
#include <nested/entry_checks.h>
#include <nested/vmcs02.h>
#include <xmhf/log.h>
#include <xmhf/nested.h>
#include <xmhf/x86/segment.h>

#define FAILS(cond)                                                     \
	do {                                                            \
		if (cond) {                                             \
			pr_debug("nested: VM entry check: %s", #cond);  \
			return false;                                   \
		}                                                       \
	} while (0)

#define GET(name) vmcs12_get(&n->current, VMCS12_IDX_##name)

/* A control value against its capability MSR: allowed-0 bits set, no bit
 * outside allowed-1 (A.3-A.5). */
static bool ctl_ok(const struct nested_cpu *n, u64 value, u32 msr, u32 true_msr)
{
	u64 cap = l1_msr(&n->caps, l1_msr(&n->caps, MSR_IA32_VMX_BASIC) & VMX_BASIC_TRUE_CTLS ? true_msr : msr);
	u32 must = (u32)cap, may = (u32)(cap >> 32);
	return (value & must) == must && !(value & ~(u64)may);
}

static bool phys_ok(u64 addr, u64 align) { return IS_ALIGNED(addr, align) && !(addr >> l1_maxphyaddr()); }

/* 26.6.11 EPTP: memory type UC or WB as offered, 4-level walk, reserved bits */
#define EPTP_MEMTYPE(e) ((e) & 7)
#define EPTP_WALK(e) (((e) >> 3) & 7)
#define EPTP_RESERVED_LOW 0xf80ull /* bits 11:7 */
static bool eptp_ok(const struct nested_cpu *n, u64 eptp)
{
	u64 cap = l1_msr(&n->caps, MSR_IA32_VMX_EPT_VPID_CAP);
	bool type = (EPTP_MEMTYPE(eptp) == 0 && (cap & EPT_CAP_UC)) || (EPTP_MEMTYPE(eptp) == 6 && (cap & EPT_CAP_WB));
	return type && EPTP_WALK(eptp) == 3 && !(eptp & (EPTP_RESERVED_LOW | BIT(6))) && phys_ok(eptp & ~0xfffull, PAGE_SIZE);
}

/* 27.2.1.3 event injection */
static bool event_injection_ok(const struct nested_cpu *n)
{
	u64 info = GET(VM_ENTRY_INTR_INFO);
	u32 type = INTR_INFO_TYPE(info), vector = INTR_INFO_VECTOR(info);
	if (!(info & INTR_INFO_VALID))
		return true;
	FAILS(type == EVENT_RESERVED);
	FAILS(type == EVENT_OTHER && (vector != 0 || !(GET(CPU_BASED_VM_EXEC_CONTROL) & PROC_MONITOR_TRAP_FLAG)));
	FAILS(type == EVENT_NMI && vector != VECTOR_NMI);
	FAILS(type == EVENT_HW_EXCEPTION && vector > 31);
	FAILS(info & 0x7ffff000ull); /* bits 30:12 */
	bool has_code = type == EVENT_HW_EXCEPTION && (vector == 8 || (vector >= 10 && vector <= 14) || vector == 17 ||
						       vector == 21);
	bool pe = (GET(GUEST_CR0) & CR0_PE) || !(vmcs12_proc2(&n->current) & PROC2_UNRESTRICTED_GUEST);
	FAILS(!!(info & INTR_INFO_DELIVER_ERROR_CODE) != (has_code && pe));
	FAILS((info & INTR_INFO_DELIVER_ERROR_CODE) && (GET(VM_ENTRY_EXCEPTION_ERROR_CODE) >> 15));
	bool soft = type == EVENT_SW_INT || type == EVENT_PRIV_SW_EXCEPTION || type == EVENT_SW_EXCEPTION;
	u64 len = GET(VM_ENTRY_INSTRUCTION_LEN);
	FAILS(soft && (len > 15 || (len == 0 && !(l1_msr(&n->caps, MSR_IA32_VMX_MISC) & VMX_MISC_ZERO_LEN_INJECTION))));
	return true;
}

/* 27.2.1-27.2.4 read VMCS12's controls and host state, L1's capabilities
 * (fixed per CPU) and, for an event to inject, guest CR0: only with the
 * valid bit, which L1 writes (dirty), since every exit to L1 clears it
 * (28.2). L0's other changes of VMCS12 (exits) are guest state and exit
 * information. */
bool entry_controls_host_unchanged(const struct nested_cpu *n)
{
	const struct vmcs12 *v = &n->current;
	if (n->vmcs02_of != v->addr)
		return false;
	for (u32 w = 0; w < VMCS12_DIRTY_WORDS; w++)
		if (v->dirty[w] & n->lists.checked_mask[w])
			return false;
	return true;
}

bool entry_controls_valid(const struct nested_cpu *n)
{
	u64 pin = GET(PIN_BASED_VM_EXEC_CONTROL), proc = GET(CPU_BASED_VM_EXEC_CONTROL);
	u64 proc2 = vmcs12_proc2(&n->current), exit = GET(VM_EXIT_CONTROLS), entry = GET(VM_ENTRY_CONTROLS);
	u64 misc = l1_msr(&n->caps, MSR_IA32_VMX_MISC);

	/* 27.2.1.1 VM-execution controls */
	FAILS(!ctl_ok(n, pin, MSR_IA32_VMX_PINBASED_CTLS, MSR_IA32_VMX_TRUE_PINBASED_CTLS));
	FAILS(!ctl_ok(n, proc, MSR_IA32_VMX_PROCBASED_CTLS, MSR_IA32_VMX_TRUE_PROCBASED_CTLS));
	FAILS((proc & PROC_ACTIVATE_SECONDARY) && !ctl_ok(n, proc2, MSR_IA32_VMX_PROCBASED_CTLS2, MSR_IA32_VMX_PROCBASED_CTLS2));
	FAILS(GET(CR3_TARGET_COUNT) > ((misc >> 16) & 0x1ff));
	FAILS((proc & PROC_USE_IO_BITMAPS) && (!phys_ok(GET(IO_BITMAP_A), PAGE_SIZE) || !phys_ok(GET(IO_BITMAP_B), PAGE_SIZE)));
	FAILS((proc & PROC_USE_MSR_BITMAPS) && !phys_ok(GET(MSR_BITMAP), PAGE_SIZE));
	FAILS((proc & PROC_USE_TPR_SHADOW) && !phys_ok(GET(VIRTUAL_APIC_PAGE_ADDR), PAGE_SIZE));
	FAILS((proc & PROC_USE_TPR_SHADOW) && !(proc2 & PROC2_VIRTUAL_INTR_DELIVERY) && (GET(TPR_THRESHOLD) >> 4));
	FAILS(!(pin & PIN_NMI_EXITING) && (pin & PIN_VIRTUAL_NMIS));
	FAILS(!(pin & PIN_VIRTUAL_NMIS) && (proc & PROC_NMI_WINDOW_EXITING));
	FAILS((proc2 & PROC2_VIRTUALIZE_APIC_ACCESSES) && !phys_ok(GET(APIC_ACCESS_ADDR), PAGE_SIZE));
	FAILS((proc2 & PROC2_VIRTUAL_INTR_DELIVERY) && !(pin & PIN_EXTERNAL_INTERRUPT_EXITING));
	FAILS((proc2 & PROC2_ENABLE_VPID) && GET(VPID) == 0);
	FAILS((proc2 & PROC2_ENABLE_EPT) && !eptp_ok(n, GET(EPT_POINTER)));
	FAILS((proc2 & PROC2_UNRESTRICTED_GUEST) && !(proc2 & PROC2_ENABLE_EPT));
	/* 27.2.1.2 VM-exit controls */
	FAILS(!ctl_ok(n, exit, MSR_IA32_VMX_EXIT_CTLS, MSR_IA32_VMX_TRUE_EXIT_CTLS));
	FAILS(!(pin & PIN_PREEMPTION_TIMER) && (exit & EXIT_SAVE_PREEMPTION_TIMER));
	FAILS(GET(VM_EXIT_MSR_STORE_COUNT) && !phys_ok(GET(VMEXIT_MSR_STORE_ADDR), 16));
	FAILS(GET(VM_EXIT_MSR_LOAD_COUNT) && !phys_ok(GET(VMEXIT_MSR_LOAD_ADDR), 16));
	/* 27.2.1.3 VM-entry controls */
	FAILS(!ctl_ok(n, entry, MSR_IA32_VMX_ENTRY_CTLS, MSR_IA32_VMX_TRUE_ENTRY_CTLS));
	FAILS(!event_injection_ok(n));
	FAILS(GET(VM_ENTRY_MSR_LOAD_COUNT) && !phys_ok(GET(VMENTRY_MSR_LOAD_ADDR), 16));
	return true;
}

static bool pat_ok(u64 pat)
{
	for (u32 i = 0; i < 8; i++) {
		u8 t = (u8)(pat >> (8 * i));
		if (t == 2 || t == 3 || t > 7)
			return false;
	}
	return true;
}

#define EFER_RESERVED ~(EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE)

bool entry_host_state_valid(const struct nested_cpu *n)
{
	u64 exit = GET(VM_EXIT_CONTROLS), cr4 = GET(HOST_CR4);
	bool host64 = exit & EXIT_HOST_ADDR_SPACE_SIZE;

	/* 27.2.2 host control registers and MSRs */
	FAILS(!l1_cr_valid(&n->caps, GET(HOST_CR0), MSR_IA32_VMX_CR0_FIXED0));
	FAILS(!l1_cr_valid(&n->caps, cr4, MSR_IA32_VMX_CR4_FIXED0));
	FAILS(GET(HOST_CR3) >> l1_maxphyaddr());
	FAILS(!l1_canonical(GET(HOST_IA32_SYSENTER_ESP)) || !l1_canonical(GET(HOST_IA32_SYSENTER_EIP)));
	FAILS((exit & EXIT_LOAD_PAT) && !pat_ok(GET(HOST_IA32_PAT)));
	FAILS((exit & EXIT_LOAD_EFER) && (GET(HOST_IA32_EFER) & EFER_RESERVED));
	FAILS((exit & EXIT_LOAD_EFER) && !!(GET(HOST_IA32_EFER) & EFER_LMA) != host64);
	FAILS((exit & EXIT_LOAD_EFER) && !!(GET(HOST_IA32_EFER) & EFER_LME) != host64);
	/* 27.2.3 host segment and descriptor-table registers */
	for (u32 s = VMCS12_IDX_HOST_ES_SELECTOR; s <= VMCS12_IDX_HOST_TR_SELECTOR; s++)
		FAILS(vmcs12_get(&n->current, s) & (SEL_RPL | SEL_TI));
	FAILS(GET(HOST_CS_SELECTOR) == 0);
	FAILS(GET(HOST_TR_SELECTOR) == 0);
	FAILS(!host64 && GET(HOST_SS_SELECTOR) == 0);
	FAILS(!l1_canonical(GET(HOST_FS_BASE)) || !l1_canonical(GET(HOST_GS_BASE)) || !l1_canonical(GET(HOST_TR_BASE)));
	FAILS(!l1_canonical(GET(HOST_GDTR_BASE)) || !l1_canonical(GET(HOST_IDTR_BASE)));
	/* 27.2.4 address-space size */
	FAILS(!host64 && (cr4 & CR4_PCIDE));
	FAILS(!host64 && (GET(HOST_RIP) >> 32));
	FAILS(host64 && (!(cr4 & CR4_PAE) || !l1_canonical(GET(HOST_RIP))));
	return true;
}

bool entry_address_space_valid(const struct nested_cpu *n)
{
	bool host64 = GET(VM_EXIT_CONTROLS) & EXIT_HOST_ADDR_SPACE_SIZE;
	bool l1_ia32e = vmcs01_read(VMCS_GUEST_IA32_EFER) & EFER_LMA;
	FAILS(!l1_ia32e && ((GET(VM_ENTRY_CONTROLS) & ENTRY_IA32E_MODE_GUEST) || host64));
	FAILS(l1_ia32e && !host64);
	return true;
}

/* 27.3.1.2 one segment of a guest outside virtual-8086 mode: access
 * rights reserved bits, present, limit and granularity agree. */
static bool segment_ok(const struct nested_cpu *n, u32 s)
{
	u64 ar = vmcs12_get(&n->current, VMCS12_IDX_GUEST_ES_AR_BYTES + s);
	u64 limit = vmcs12_get(&n->current, VMCS12_IDX_GUEST_ES_LIMIT + s);
	if (ar & AR_UNUSABLE)
		return true;
	FAILS(ar & 0xfffe0f00ull); /* bits 11:8, 31:17 */
	FAILS(!(ar & AR_P));
	FAILS((limit & 0xfff) != 0xfff && (ar & AR_G));
	FAILS((limit >> 20) && !(ar & AR_G));
	return true;
}

#define GUEST_SEG_CS 1
#define GUEST_SEG_SS 2
#define GUEST_SEG_TR 7
#define GUEST_SEG_LDTR 6

static bool segments_ok(const struct nested_cpu *n, bool ia32e, bool unrestricted)
{
	u64 cs = GET(GUEST_CS_AR_BYTES), ss = GET(GUEST_SS_AR_BYTES), tr = GET(GUEST_TR_AR_BYTES);
	u64 ldtr = GET(GUEST_LDTR_AR_BYTES);
	u32 cs_type = cs & AR_TYPE_MASK;
	for (u32 s = 0; s <= GUEST_SEG_TR; s++)
		FAILS(!segment_ok(n, s));
	FAILS(GET(GUEST_TR_SELECTOR) & SEL_TI);
	FAILS(tr & AR_UNUSABLE);
	FAILS((tr & AR_S) || ((tr & AR_TYPE_MASK) != 11 && (ia32e || (tr & AR_TYPE_MASK) != 3)));
	FAILS(!(ldtr & AR_UNUSABLE) && ((GET(GUEST_LDTR_SELECTOR) & SEL_TI) || (ldtr & AR_TYPE_MASK) != 2 || (ldtr & AR_S)));
	FAILS(cs & AR_UNUSABLE);
	FAILS(!(cs & AR_S));
	FAILS(!(cs_type & 8) && !(unrestricted && cs_type == 3));
	FAILS(ia32e && (cs & AR_L) && (cs & AR_DB));
	FAILS(!unrestricted && (GET(GUEST_SS_SELECTOR) & SEL_RPL) != (GET(GUEST_CS_SELECTOR) & SEL_RPL));
	FAILS(!(ss & AR_UNUSABLE) && (ss & AR_TYPE_MASK) != 3 && (ss & AR_TYPE_MASK) != 7);
	return true;
}

bool entry_guest_state_valid(const struct nested_cpu *n, u64 *qualification)
{
	u64 cr0 = GET(GUEST_CR0), cr4 = GET(GUEST_CR4), entry = GET(VM_ENTRY_CONTROLS);
	u64 rflags = GET(GUEST_RFLAGS), intr = GET(GUEST_INTERRUPTIBILITY_INFO);
	bool ia32e = entry & ENTRY_IA32E_MODE_GUEST;
	bool unrestricted = vmcs12_proc2(&n->current) & PROC2_UNRESTRICTED_GUEST;
	u64 fixed0 = l1_msr(&n->caps, MSR_IA32_VMX_CR0_FIXED0) & ~(unrestricted ? CR0_PE | CR0_PG : 0);

	*qualification = 0;
	/* 27.3.1.1 control registers, debug registers, MSRs */
	FAILS((cr0 & fixed0) != fixed0 || (cr0 & ~l1_msr(&n->caps, MSR_IA32_VMX_CR0_FIXED1)));
	FAILS((cr0 & CR0_PG) && !(cr0 & CR0_PE));
	FAILS(!l1_cr_valid(&n->caps, cr4, MSR_IA32_VMX_CR4_FIXED0));
	FAILS(ia32e && (!(cr0 & CR0_PG) || !(cr4 & CR4_PAE)));
	FAILS(!ia32e && (cr4 & CR4_PCIDE));
	FAILS(GET(GUEST_CR3) >> l1_maxphyaddr());
	FAILS((entry & ENTRY_LOAD_DEBUG_CONTROLS) && (GET(GUEST_DR7) >> 32));
	FAILS(!l1_canonical(GET(GUEST_SYSENTER_ESP)) || !l1_canonical(GET(GUEST_SYSENTER_EIP)));
	FAILS((entry & ENTRY_LOAD_PAT) && !pat_ok(GET(GUEST_IA32_PAT)));
	FAILS((entry & ENTRY_LOAD_EFER) && (GET(GUEST_IA32_EFER) & EFER_RESERVED));
	FAILS((entry & ENTRY_LOAD_EFER) && !!(GET(GUEST_IA32_EFER) & EFER_LMA) != ia32e);
	FAILS((entry & ENTRY_LOAD_EFER) && (cr0 & CR0_PG) &&
	      !!(GET(GUEST_IA32_EFER) & EFER_LMA) != !!(GET(GUEST_IA32_EFER) & EFER_LME));
	/* 27.3.1.2, 27.3.1.3 segments and descriptor tables (not virtual-8086) */
	FAILS(rflags & RFLAGS_VM); /* virtual-8086 guests: not checked here, refused */
	FAILS(!segments_ok(n, ia32e, unrestricted));
	FAILS(GET(GUEST_GDTR_LIMIT) >> 16 || GET(GUEST_IDTR_LIMIT) >> 16);
	FAILS(!l1_canonical(GET(GUEST_GDTR_BASE)) || !l1_canonical(GET(GUEST_IDTR_BASE)));
	/* 27.3.1.4 RIP and RFLAGS */
	FAILS((!ia32e || !(GET(GUEST_CS_AR_BYTES) & AR_L)) && (GET(GUEST_RIP) >> 32));
	FAILS(rflags & ~RFLAGS_NOT_RESERVED);
	FAILS(!(rflags & RFLAGS_RESERVED_1));
	FAILS(INTR_INFO_TYPE(GET(VM_ENTRY_INTR_INFO)) == EVENT_EXT_INTR && (GET(VM_ENTRY_INTR_INFO) & INTR_INFO_VALID) &&
	      !(rflags & RFLAGS_IF));
	/* 27.3.1.5 non-register state */
	FAILS(GET(GUEST_ACTIVITY_STATE) > ACTIVITY_WAIT_SIPI);
	FAILS(GET(GUEST_ACTIVITY_STATE) != ACTIVITY_ACTIVE &&
	      !(l1_msr(&n->caps, MSR_IA32_VMX_MISC) >> VMX_MISC_ACTIVITY_SHIFT & BIT(GET(GUEST_ACTIVITY_STATE))));
	FAILS(intr >> 5);
	FAILS((intr & INTERRUPTIBILITY_STI) && (intr & INTERRUPTIBILITY_MOV_SS));
	FAILS(!(rflags & RFLAGS_IF) && (intr & INTERRUPTIBILITY_STI));
	FAILS(intr & INTERRUPTIBILITY_SMI);
	/* 27.3.1.5 VMCS link pointer: no shadow VMCS for L1 */
	if (GET(VMCS_LINK_POINTER) != VMCS12_NONE) {
		*qualification = 4;
		FAILS(GET(VMCS_LINK_POINTER) != VMCS12_NONE);
	}
	return true;
}
