/* The guest's writes to its xAPIC page, which EPT01 maps read-only so that
 * ICR writes are seen (apic_trap.c decodes them), and the other EPT
 * violations (the hypervisor's range, which EPT01 does not map, and writes
 * to the all-ones pages of hidden PCI functions, ept01_show_ones).
 *
 * A write is emulated: the faulting instruction is fetched through the
 * guest's paging and, if it is a 4-byte MOV store (runtime/insn_decode.h)
 * whose operand is the access that exited, done by the hypervisor: to the
 * real APIC, or for ICR to the capture. One exit per write. Any other
 * write runs as a one-instruction step (guest_step.h: no event reaches the
 * guest inside it) with the page mapped writable, to the real APIC or for
 * ICR writes to a per-CPU scratch page whose value is decoded after it. */
#include <runtime/ept01.h>
#include <runtime/exit_handlers.h>
#include <runtime/guest_step.h>
#include <runtime/guest_walk.h>
#include <runtime/insn_decode.h>
#include <runtime/percpu.h>
#include <runtime/vmx_ops.h>
#include <xmhf/cpu.h>
#include <xmhf/hypapp.h>
#include <xmhf/nested.h>
#include <xmhf/lapic.h>
#include <xmhf/log.h>
#include <xmhf/paging.h>
#include <xmhf/vmx.h>
#include <xmhf/x86/segment.h>

#define APIC_REG_ALIGN 16 /* 12.4.1: registers are 128-bit aligned */
#define GPR_RSP 4

struct apic_write {
	u32 offset;   /* the register a step writes */
	u32 icr_high; /* what the guest wrote to ICR high */
	u8 scratch[PAGE_SIZE] __attribute__((aligned(4096)));
};
static struct apic_write writes[MAX_CPUS] __attribute__((section(".bss.pages"), aligned(4096)));
static u32 n_blocked; /* blocked accesses, for the warning's rate limit */

static bool is_icr(u32 offset) { return offset == APIC_REG_ICR_LOW || offset == APIC_REG_ICR_HIGH; }

static void map_apic_page(u32 cpu, u64 target, u64 rwx)
{
	u64 *e = ept01_apic_entry(cpu);
	*e = (*e & ~(PT_ADDR_MASK | EPT_RWX)) | target | rwx;
	invept(INVEPT_SINGLE_CONTEXT, vmread(VMCS_EPT_POINTER));
}

/* The guest wrote 'value' to the register at 'offset': ICR is captured
 * (only the low half sends), LDR/DFR are tracked for logical destinations
 * (they have reached the APIC already). */
static void register_written(u32 cpu, u32 offset, u32 value)
{
	struct apic_write *w = &writes[cpu];

	if (offset == APIC_REG_LDR || offset == APIC_REG_DFR) {
		percpu[cpu].apic_ldr = lapic_read(APIC_REG_LDR);
		percpu[cpu].apic_dfr = lapic_read(APIC_REG_DFR);
	} else if (offset == APIC_REG_ICR_HIGH)
		w->icr_high = value;
	else if (offset == APIC_REG_ICR_LOW)
		apic_icr_write(NULL, value, w->icr_high >> 24);
}

/* The stepped instruction ran (or was cancelled): read-only again. */
static void step_done(bool completed)
{
	u32 cpu = this_cpu()->index;
	struct apic_write *w = &writes[cpu];

	map_apic_page(cpu, percpu[cpu].ept_apic_page.v, EPT_R);
	if (completed)
		register_written(cpu, w->offset, is_icr(w->offset) ? *(volatile u32 *)(w->scratch + w->offset) : 0);
}

static bool step_write(u32 offset)
{
	u32 cpu = this_cpu()->index;
	struct apic_write *w = &writes[cpu];

	if (!guest_step_begin(step_done))
		return false;
	w->offset = offset;
	map_apic_page(cpu, is_icr(offset) ? (u64)w->scratch : percpu[cpu].ept_apic_page.v, EPT_R | EPT_W);
	return true;
}

/* The instruction bytes at guest linear 'la': 15, or those up to the end
 * of its page if the next one does not translate. */
static u32 fetch_insn(u64 la, u8 *buf)
{
	struct guest_paging pg;
	struct gw_fault f;
	u32 access = GW_FETCH | (((vmread(VMCS_GUEST_SS_AR_BYTES) >> AR_DPL_SHIFT) & 3) == 3 ? GW_USER : 0);
	u32 to_page_end = PAGE_SIZE - (u32)(la & (PAGE_SIZE - 1));

	guest_paging_current(&pg);
	if (guest_linear_read(&pg, gva(la), buf, INSN_MAX_LEN, access, &f) == GW_OK)
		return INSN_MAX_LEN;
	if (to_page_end < INSN_MAX_LEN && guest_linear_read(&pg, gva(la), buf, to_page_end, access, &f) == GW_OK)
		return to_page_end;
	return 0;
}

/* Emulate the write if the instruction at RIP is a 4-byte MOV to an
 * aligned register and its operand is the linear address that exited (a
 * translation of it, not a paging-structure access: EPT-violation
 * qualification bits 7 and 8). The CPU checked segmentation and paging
 * before the exit. */
static bool emulate_write(struct guest_regs *regs, u64 gpa, u64 q)
{
	u32 cpu = this_cpu()->index, offset = (u32)(gpa & (PAGE_SIZE - 1));
	u64 cs_ar = vmread(VMCS_GUEST_CS_AR_BYTES), rip = vmread(VMCS_GUEST_RIP);
	bool lma = vmread(VMCS_GUEST_IA32_EFER) & EFER_LMA;
	u32 bits = lma && (cs_ar & AR_L) ? 64 : (cs_ar & AR_DB) ? 32 : 16;
	u64 la_mask = bits == 64 ? ~0ull : 0xffffffffull;
	u64 gpr[16];
	u8 insn[INSN_MAX_LEN];
	struct mov_store m;

	if ((q & (EPT_QUAL_LINEAR_VALID | EPT_QUAL_LINEAR_TRANSLATED)) !=
	    (EPT_QUAL_LINEAR_VALID | EPT_QUAL_LINEAR_TRANSLATED) || (offset % APIC_REG_ALIGN))
		return false;
	for (u32 i = 0; i < 16; i++)
		gpr[i] = *guest_gpr(regs, i);
	gpr[GPR_RSP] = vmread(VMCS_GUEST_RSP);
	u64 cs_base = bits == 64 ? 0 : vmread(VMCS_GUEST_CS_BASE);
	u32 avail = fetch_insn((cs_base + rip) & la_mask, insn);
	if (!decode_mov_store(insn, avail, bits, rip, gpr, &m) || m.size != 4)
		return false;
	/* 3.4.4: in 64-bit mode only FS and GS have a base */
	u64 seg_base = bits == 64 && m.seg != SEG_FS && m.seg != SEG_GS ? 0 : vmread(VMCS_GUEST_ES_BASE + 2 * m.seg);
	if (((seg_base + m.offset) & la_mask) != vmread(VMCS_GUEST_LINEAR_ADDRESS))
		return false;

	if (!is_icr(offset))
		mmio_write32(percpu[cpu].ept_apic_page.v + offset, (u32)m.value);
	register_written(cpu, offset, (u32)m.value);
	vmwrite(VMCS_GUEST_RIP, (rip + m.len) & (bits == 16 ? 0xffffull : la_mask));
	u64 intr = vmread(VMCS_GUEST_INTERRUPTIBILITY_INFO);
	if (intr & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS)) /* they end with the instruction */
		vmwrite(VMCS_GUEST_INTERRUPTIBILITY_INFO, intr & ~(u64)(INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS));
	if (vmread(VMCS_GUEST_RFLAGS) & RFLAGS_TF) { /* 19.2.4: the single-step trap after it */
		dr6_set_bits(DR6_BS);
		inject_exception(VECTOR_DB, false, 0);
	}
	return true;
}

bool l0_offer_ept_violation(struct guest_regs *regs, l1_gpa_t gpa, u64 q)
{
	if (gpa_is_hypervisor(gpa, 1) || ALIGN_DOWN(gpa.v, PAGE_SIZE) == this_cpu()->ept_apic_page.v ||
	    ept01_is_ones_page(gpa))
		return false;
	struct hypapp_ept_violation v = {
		.gpa = gpa,
		.gva = gva(q & EPT_QUAL_LINEAR_VALID ? vmread(VMCS_GUEST_LINEAR_ADDRESS) : 0),
		.gva_valid = q & EPT_QUAL_LINEAR_VALID,
		.access = (u32)q & (EPT_QUAL_READ | EPT_QUAL_WRITE | EPT_QUAL_FETCH),
	};
	return hypapp_ept_violation(regs, &v) == HYPAPP_DONE;
}

void handle_ept_violation(struct guest_regs *regs)
{
	u64 gpa = vmread(VMCS_GUEST_PHYSICAL_ADDRESS);
	u64 q = vmread(VMCS_EXIT_QUALIFICATION);
	struct percpu *p = this_cpu();
	/* an access of an event delivery (its stack on the APIC page) is not
	 * emulated: it is blocked like the hypervisor's memory */
	bool delivery = vmread(VMCS_IDT_VECTORING_INFO) & INTR_INFO_VALID;

	nmi_reblock_after_iret(q & EPT_QUAL_NMI_UNBLOCKED_BY_IRET);
	if (ALIGN_DOWN(gpa, PAGE_SIZE) == p->ept_apic_page.v && (q & EPT_QUAL_WRITE) && !delivery &&
	    (emulate_write(regs, gpa, q) || step_write((u32)(gpa & (PAGE_SIZE - 1)))))
		return;
	bool ones = ept01_is_ones_page(l1_gpa(gpa));
	if (l0_offer_ept_violation(regs, l1_gpa(gpa), q))
		return;
	if (guest_warning_due(&n_blocked))
		pr_warn("xmhf: cpu %u: guest access to GPA 0x%llx at RIP 0x%llx blocked (%s): #GP(0) (%u so far)",
			p->index, gpa, vmread(VMCS_GUEST_RIP),
			gpa_is_hypervisor(l1_gpa(gpa), 1)		  ? "hypervisor memory"
			: ALIGN_DOWN(gpa, PAGE_SIZE) == p->ept_apic_page.v ? "APIC page"
			: ones						  ? "a hidden PCI function's configuration space"
									  : "unmapped",
			n_blocked);
	inject_gp0();
}
