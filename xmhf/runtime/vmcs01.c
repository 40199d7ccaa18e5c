/* VMCS01 set-up (SDM Vol. 3 chapter 26, 27.2 checks). Controls are chosen
 * from the capability MSRs: required-1 bits set, wanted bits checked. */
#include <runtime/ept01.h>
#include <runtime/exit_handlers.h>
#include <runtime/guest_regs.h>
#include <runtime/msr_policy.h>
#include <runtime/percpu.h>
#include <runtime/vmcs01.h>
#include <runtime/vmx_ops.h>
#include <xmhf/cpu.h>
#include <xmhf/msr.h>
#include <xmhf/string.h>
#include <xmhf/vmx.h>
#include <xmhf/x86/segment.h>

#define VPID01 1
#define PAT_POWER_ON 0x0007040600070406ull
#define DR7_INIT 0x400
#define LINK_POINTER_NONE 0xffffffffffffffffull

/* Controls: required-1 bits from the MSR, plus 'want' if allowed. Sets
 * *missing if a bit of 'need' is not allowed. */
static u32 adjust(u64 cap_msr, u32 want, u32 need, bool *missing)
{
	u32 v = (vmx_ctl_required1(cap_msr) | want) & vmx_ctl_allowed1(cap_msr);
	if ((v & need) != need)
		*missing = true;
	return v;
}

static void host_state(u32 cpu)
{
	struct percpu *p = &percpu[cpu];
	struct desc_ptr gdtr = store_gdtr(), idtr = store_idtr();

	vmwrite(VMCS_HOST_CR0, read_cr0());
	vmwrite(VMCS_HOST_CR3, read_cr3());
	vmwrite(VMCS_HOST_CR4, read_cr4());
	vmwrite(VMCS_HOST_CS_SELECTOR, SEL_CODE64);
	vmwrite(VMCS_HOST_SS_SELECTOR, SEL_DATA);
	vmwrite(VMCS_HOST_DS_SELECTOR, SEL_DATA);
	vmwrite(VMCS_HOST_ES_SELECTOR, SEL_DATA);
	vmwrite(VMCS_HOST_FS_SELECTOR, 0);
	vmwrite(VMCS_HOST_GS_SELECTOR, 0);
	vmwrite(VMCS_HOST_TR_SELECTOR, SEL_TSS);
	vmwrite(VMCS_HOST_FS_BASE, 0);
	vmwrite(VMCS_HOST_GS_BASE, (u64)p);
	vmwrite(VMCS_HOST_TR_BASE, (u64)&p->tss);
	vmwrite(VMCS_HOST_GDTR_BASE, gdtr.base);
	vmwrite(VMCS_HOST_IDTR_BASE, idtr.base);
	vmwrite(VMCS_HOST_IA32_SYSENTER_CS, 0);
	vmwrite(VMCS_HOST_IA32_SYSENTER_ESP, 0);
	vmwrite(VMCS_HOST_IA32_SYSENTER_EIP, 0);
	vmwrite(VMCS_HOST_IA32_EFER, rdmsr(MSR_IA32_EFER));
	vmwrite(VMCS_HOST_IA32_PAT, rdmsr(MSR_IA32_PAT));
	vmwrite(VMCS_HOST_RSP, percpu_stack_top(cpu));
	vmwrite(VMCS_HOST_RIP, (u64)vmexit_stub);
}

static void segment(enum vmcs_field sel, u16 selector, u32 ar)
{
	/* selector, limit, AR, base are laid out at fixed distances (B.1-B.4) */
	u32 idx = (sel - VMCS_GUEST_ES_SELECTOR) / 2;
	vmwrite(sel, selector);
	vmwrite(VMCS_GUEST_ES_LIMIT + 2 * idx, 0xffff);
	vmwrite(VMCS_GUEST_ES_AR_BYTES + 2 * idx, ar);
	vmwrite(VMCS_GUEST_ES_BASE + 2 * idx, (u64)selector << 4);
}

void vmcs01_guest_init_state(u16 cs_selector, u16 ip)
{
	struct percpu *p = this_cpu();

	/* Table 10-1: CR0 = 60000010H as the guest sees it; the CPU runs with
	 * caches on and NE set (owned bits, see the masks). */
	vmwrite(VMCS_CR0_READ_SHADOW, CR0_CD | CR0_NW | CR0_ET);
	vmwrite(VMCS_GUEST_CR0, (CR0_ET | p->vmx.cr0_fixed0) & ~(CR0_PE | CR0_PG));
	vmwrite(VMCS_CR4_READ_SHADOW, 0);
	vmwrite(VMCS_GUEST_CR4, p->vmx.cr4_fixed0);
	vmwrite(VMCS_GUEST_CR3, 0);
	segment(VMCS_GUEST_CS_SELECTOR, cs_selector, AR_CODE_RX_ACCESSED);
	segment(VMCS_GUEST_SS_SELECTOR, 0, AR_DATA_RW_ACCESSED);
	segment(VMCS_GUEST_DS_SELECTOR, 0, AR_DATA_RW_ACCESSED);
	segment(VMCS_GUEST_ES_SELECTOR, 0, AR_DATA_RW_ACCESSED);
	segment(VMCS_GUEST_FS_SELECTOR, 0, AR_DATA_RW_ACCESSED);
	segment(VMCS_GUEST_GS_SELECTOR, 0, AR_DATA_RW_ACCESSED);
	segment(VMCS_GUEST_LDTR_SELECTOR, 0, AR_LDT);
	segment(VMCS_GUEST_TR_SELECTOR, 0, AR_TSS_BUSY);
	vmwrite(VMCS_GUEST_GDTR_BASE, 0);
	vmwrite(VMCS_GUEST_GDTR_LIMIT, 0xffff);
	vmwrite(VMCS_GUEST_IDTR_BASE, 0);
	vmwrite(VMCS_GUEST_IDTR_LIMIT, 0xffff);
	vmwrite(VMCS_GUEST_RIP, ip);
	vmwrite(VMCS_GUEST_RSP, 0);
	vmwrite(VMCS_GUEST_RFLAGS, RFLAGS_RESERVED_1);
	vmwrite(VMCS_GUEST_DR7, DR7_INIT);
	vmwrite(VMCS_GUEST_IA32_EFER, 0); /* LME = LMA = 0 */
	vmwrite(VMCS_GUEST_IA32_PAT, PAT_POWER_ON);
	vmwrite(VMCS_GUEST_IA32_DEBUGCTL, 0);
	vmwrite(VMCS_GUEST_SYSENTER_CS, 0);
	vmwrite(VMCS_GUEST_SYSENTER_ESP, 0);
	vmwrite(VMCS_GUEST_SYSENTER_EIP, 0);
	vmwrite(VMCS_GUEST_INTERRUPTIBILITY_INFO, 0);
	vmwrite(VMCS_GUEST_ACTIVITY_STATE, 0);
	vmwrite(VMCS_GUEST_PENDING_DBG_EXCEPTIONS, 0);
	vmwrite(VMCS_VM_ENTRY_INTR_INFO, 0);
	vmwrite(VMCS_VM_ENTRY_CONTROLS, vmread(VMCS_VM_ENTRY_CONTROLS) & ~ENTRY_IA32E_MODE_GUEST);
}

const char *vmcs01_init(u32 cpu)
{
	struct percpu *p = &percpu[cpu];
	struct percpu_pages *pg = &percpu_pages[cpu];
	const struct vmx_caps *c = &p->vmx;
	bool missing = false;

	*(u32 *)pg->vmcs01 = (u32)(c->basic & VMX_BASIC_REVISION_MASK);
	if (!vmclear(hpa((u64)pg->vmcs01)) || !vmptrld(hpa((u64)pg->vmcs01)))
		return "VMCLEAR/VMPTRLD of VMCS01 failed";

	u32 pin = adjust(c->pinbased, PIN_NMI_EXITING | PIN_VIRTUAL_NMIS, PIN_NMI_EXITING | PIN_VIRTUAL_NMIS, &missing);
	u32 proc = adjust(c->procbased, PROC_USE_IO_BITMAPS | PROC_USE_MSR_BITMAPS | PROC_ACTIVATE_SECONDARY,
			  PROC_USE_MSR_BITMAPS | PROC_ACTIVATE_SECONDARY, &missing);
	u32 proc2 = adjust(c->procbased2,
			   PROC2_ENABLE_EPT | PROC2_ENABLE_VPID | PROC2_UNRESTRICTED_GUEST | PROC2_ENABLE_RDTSCP |
				   PROC2_ENABLE_INVPCID | PROC2_ENABLE_XSAVES,
			   PROC2_ENABLE_EPT | PROC2_ENABLE_VPID | PROC2_UNRESTRICTED_GUEST, &missing);
	u32 exit = adjust(c->exit, EXIT_HOST_ADDR_SPACE_SIZE | EXIT_SAVE_PAT | EXIT_LOAD_PAT | EXIT_SAVE_EFER | EXIT_LOAD_EFER,
			  EXIT_HOST_ADDR_SPACE_SIZE | EXIT_SAVE_PAT | EXIT_LOAD_PAT | EXIT_SAVE_EFER | EXIT_LOAD_EFER,
			  &missing);
	u32 entry = adjust(c->entry, ENTRY_LOAD_PAT | ENTRY_LOAD_EFER, ENTRY_LOAD_PAT | ENTRY_LOAD_EFER, &missing);
	if (missing)
		return "missing a required VM-execution, VM-exit or VM-entry control (NMI exiting, virtual NMIs, "
		       "MSR bitmaps, PAT/EFER load/save)";
	if (proc & (PROC_CR3_LOAD_EXITING | PROC_CR3_STORE_EXITING))
		return "CR3-load/store exiting cannot be turned off (no TRUE controls)";

	vmwrite(VMCS_PIN_BASED_VM_EXEC_CONTROL, pin);
	vmwrite(VMCS_CPU_BASED_VM_EXEC_CONTROL, proc);
	vmwrite(VMCS_SECONDARY_VM_EXEC_CONTROL, proc2);
	vmwrite(VMCS_VM_EXIT_CONTROLS, exit);
	vmwrite(VMCS_VM_ENTRY_CONTROLS, entry);
	vmwrite(VMCS_EXCEPTION_BITMAP, 0);
	vmwrite(VMCS_PAGE_FAULT_ERROR_CODE_MASK, 0);
	vmwrite(VMCS_PAGE_FAULT_ERROR_CODE_MATCH, 0);
	vmwrite(VMCS_CR3_TARGET_COUNT, 0);
	vmwrite(VMCS_VM_EXIT_MSR_STORE_COUNT, 0);
	vmwrite(VMCS_VM_EXIT_MSR_LOAD_COUNT, 0);
	vmwrite(VMCS_VM_ENTRY_MSR_LOAD_COUNT, 0);
	if (proc & PROC_USE_IO_BITMAPS) {
		vmwrite(VMCS_IO_BITMAP_A, (u64)pg->io_bitmap_a);
		vmwrite(VMCS_IO_BITMAP_B, (u64)pg->io_bitmap_b);
		io_watch_cpu(cpu);
	}
	msr_bitmap_build(pg->msr_bitmap);
	vmwrite(VMCS_MSR_BITMAP, (u64)pg->msr_bitmap);
	msr_root_clear();
	if (proc2 & PROC2_ENABLE_XSAVES)
		vmwrite(VMCS_XSS_EXIT_BITMAP, 0);
	vmwrite(VMCS_VPID, VPID01);
	vmwrite(VMCS_EPT_POINTER, ept01_build(cpu));
	vmwrite(VMCS_VMCS_LINK_POINTER, LINK_POINTER_NONE);

	/* 25.8 / 27.3.1.1: the guest owns CR0.PE (unrestricted guest); the
	 * hypervisor owns every other fixed bit, CD/NW (caches stay on) and PG,
	 * so that IA-32e mode activation exits (exit_cr.c fixes TR up). */
	p->cr0_mask = ((c->cr0_fixed0 | ~c->cr0_fixed1) & ~CR0_PE) | CR0_PG | CR0_CD | CR0_NW;
	p->cr4_mask = c->cr4_fixed0 | ~c->cr4_fixed1 | CR4_SMXE;
	vmwrite(VMCS_CR0_GUEST_HOST_MASK, p->cr0_mask);
	vmwrite(VMCS_CR4_GUEST_HOST_MASK, p->cr4_mask);
	host_state(cpu);
	vmcs01_guest_init_state(0, 0);
	return NULL;
}
