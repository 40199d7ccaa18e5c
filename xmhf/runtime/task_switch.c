/* Guest hardware task switches (VM exit reason 9), emulated as SDM Vol. 3
 * 7.3 "Task Switching" describes, for 32-bit TSSes. "Step n" is the
 * numbered list of 7.3; "Table 7-1" its exception conditions; the
 * pseudocode is Vol. 2 JMP, CALL, IRET and INT n "task gate". The CPU has
 * already made the privilege checks on the gate or TSS descriptor before
 * the exit (Vol. 3 26.4.2), so they are not repeated (the exit does not
 * say whether a CALL/JMP went through a task gate); the type, present and
 * limit checks are repeated (the GDT may have changed since). */
#include <runtime/ept01.h>
#include <runtime/guest_walk.h>
#include <runtime/task_switch.h>
#include <runtime/vmexit.h>
#include <runtime/vmx_ops.h>
#include <xmhf/check.h>
#include <xmhf/cpu.h>
#include <xmhf/log.h>
#include <xmhf/paging.h>
#include <xmhf/power.h>
#include <xmhf/vmx.h>
#include <xmhf/x86/segment.h>

/* Exit qualification (Table 28-2): selector in 15:0, source in 31:30. */
#define TS_CALL 0
#define TS_IRET 1
#define TS_JMP 2
#define TS_GATE 3
/* IDT-vectoring information (27.2.4) */
#define INTR_INFO_TYPE(info) (((info) >> 8) & 7)
/* Exceptions */
/* Descriptors (3.4.5, 3.5): type field, S, DPL, P in the access byte. */
#define TS_REFUSED 0xff /* a fault vector that means: not emulated */
#define TYPE_ACCESSED 1
#define TYPE_WRITABLE 2 /* data; readable for code */
#define TYPE_CONFORMING 4 /* code; expand-down for data */
#define TYPE_CODE 8
#define EFLAGS_VALID 0x3f7fd7ull /* bits that are not reserved (3.4.3) */
#define TSS32_MIN_LIMIT 0x67 /* step 3 */
#define TSS_DYNAMIC_START 0x20 /* EIP .. GS: what step 8 saves */
#define TSS_DYNAMIC_END 0x60

/* The 32-bit TSS (Figure 8-2). */
struct tss32 {
	u16 link, r0;
	u32 esp0, ss0, esp1, ss1, esp2, ss2;
	u32 cr3, eip, eflags;
	u32 gpr[8]; /* EAX ECX EDX EBX ESP EBP ESI EDI: the SDM's register order */
	u32 seg[6]; /* ES CS SS DS FS GS: the VMCS segment order */
	u32 ldt;
	u16 trap, iomap;
} PACKED;
_Static_assert(sizeof(struct tss32) == TSS32_MIN_LIMIT + 1, "32-bit TSS layout");

enum seg { ES, CS, SS, DS, FS, GS, LDTR, TR };

struct segment {
	u16 sel;
	u64 base;
	u32 limit, ar;
};

struct task_switch {
	struct guest_regs *regs;
	struct guest_paging pg;
	u32 source;
	u16 sel;        /* the new TSS */
	u64 desc;       /* its descriptor */
	u32 idt_info;   /* source == TS_GATE: the event being delivered */
	u32 ext;        /* EXT bit of error codes (6.13) */
	struct segment ldt; /* the new task's LDTR while its segments load */
	struct { u8 vector; bool has_ec; u32 ec; u64 cr2; } fault;
};

static bool ts_raise(struct task_switch *t, u8 vector, bool has_ec, u32 ec)
{
	t->fault.vector = vector;
	t->fault.has_ec = has_ec;
	t->fault.ec = ec;
	return false;
}

/* An error code naming a selector (6.13). */
static bool raise_sel(struct task_switch *t, u8 vector, u16 sel)
{
	return ts_raise(t, vector, true, (sel & ~SEL_RPL) | t->ext);
}

/* A failed access through the walker: #PF, or #GP(0) (the hypervisor's range). */
static bool raise_walk(struct task_switch *t, enum gw_result r, const struct gw_fault *f)
{
	CHECK(r != GW_UNSUPPORTED); /* 5-level paging implies IA-32e mode */
	if (r == GW_GP)
		return ts_raise(t, VECTOR_GP, true, 0);
	t->fault.cr2 = f->addr;
	return ts_raise(t, VECTOR_PF, true, f->error_code);
}

/* The CPU's implicit supervisor accesses to the GDT, LDT and TSS (4.6.1). */
static bool read_lin(struct task_switch *t, u64 la, void *buf, u32 len)
{
	struct gw_fault f;
	enum gw_result r = guest_linear_read(&t->pg, gva(la), buf, len, 0, &f);
	return r == GW_OK || raise_walk(t, r, &f);
}

static bool write_lin(struct task_switch *t, u64 la, const void *buf, u32 len)
{
	struct gw_fault f;
	enum gw_result r = guest_linear_write(&t->pg, gva(la), buf, len, 0, &f);
	return r == GW_OK || raise_walk(t, r, &f);
}

static bool probe_lin(struct task_switch *t, u64 la, u32 len, u32 access)
{
	struct gw_fault f;
	enum gw_result r = guest_linear_probe(&t->pg, gva(la), len, access, &f);
	return r == GW_OK || raise_walk(t, r, &f);
}

/* Descriptor fields (3.4.5). */
static u8 desc_type(u64 d) { return (d >> 40) & 0xf; }
static u32 desc_ar(u64 d) { return (d >> 40) & 0xf0ff; }
static u32 desc_dpl(u64 d) { return (d >> 45) & 3; }
static bool desc_present(u64 d) { return d & BIT(47); }
static bool desc_system(u64 d) { return !(d & BIT(44)); }
static u64 desc_base(u64 d) { return ((d >> 16) & 0xffffff) | ((d >> 32) & 0xff000000); }

static u32 desc_limit(u64 d)
{
	u32 limit = (d & 0xffff) | ((d >> 32) & 0xf0000);
	return (d & BIT(55)) ? (limit << 12) | 0xfff : limit;
}

static u64 gdt_slot(u16 sel) { return vmread(VMCS_GUEST_GDTR_BASE) + (sel & ~7u); }

/* A descriptor of the GDT (TI = 0) or of the new task's LDT; 'vector' if the
 * selector is outside the table. */
static bool read_desc(struct task_switch *t, u16 sel, bool ldt_allowed, u8 vector, u64 *desc, u64 *addr)
{
	bool local = sel & SEL_TI;
	u64 base = local ? t->ldt.base : vmread(VMCS_GUEST_GDTR_BASE);
	u64 limit = local ? t->ldt.limit : vmread(VMCS_GUEST_GDTR_LIMIT);
	if ((local && (!ldt_allowed || (t->ldt.ar & AR_UNUSABLE))) || (sel | 7u) > limit)
		return raise_sel(t, vector, sel);
	*addr = base + (sel & ~7u);
	return read_lin(t, *addr, desc, sizeof(*desc));
}

/* Steps 1-4 and the pseudocode's checks on the new TSS descriptor: #GP
 * (CALL, JMP, gate) or #TS (IRET) for a bad selector or type, including a
 * busy target of CALL/JMP/gate and a non-busy one of IRET; #NP if not
 * present; #TS if its limit is below 67H. */
static bool check_new_tss(struct task_switch *t)
{
	bool iret = t->source == TS_IRET;
	u8 bad = iret ? VECTOR_TS : VECTOR_GP;
	u64 addr;
	if (!read_desc(t, t->sel, false, bad, &t->desc, &addr))
		return false;
	if (desc_system(t->desc) && (desc_type(t->desc) & ~DESC_TSS_BUSY_BIT) == DESC_TSS16_AVAIL)
		return ts_raise(t, TS_REFUSED, false, 0);
	if (!desc_system(t->desc) || desc_type(t->desc) != (iret ? DESC_TSS32_BUSY : DESC_TSS32_AVAIL))
		return raise_sel(t, bad, t->sel);
	if (!desc_present(t->desc))
		return raise_sel(t, VECTOR_NP, t->sel);
	if (desc_limit(t->desc) < TSS32_MIN_LIMIT)
		return raise_sel(t, VECTOR_TS, t->sel);
	return true;
}

/* Step 5: the old TSS, the new TSS and the descriptors the switch writes
 * are accessible (#PF otherwise), before anything changes. */
static bool check_accessible(struct task_switch *t)
{
	u64 old_tss = vmread(VMCS_GUEST_TR_BASE);
	u16 old_sel = (u16)vmread(VMCS_GUEST_TR_SELECTOR);
	bool nesting = t->source == TS_CALL || t->source == TS_GATE;
	return probe_lin(t, old_tss + TSS_DYNAMIC_START, TSS_DYNAMIC_END - TSS_DYNAMIC_START, GW_WRITE) &&
	       probe_lin(t, desc_base(t->desc), sizeof(struct tss32), nesting ? GW_WRITE : 0) &&
	       (nesting || probe_lin(t, gdt_slot(old_sel), 8, GW_WRITE)) &&
	       (t->source == TS_IRET || probe_lin(t, gdt_slot(t->sel), 8, GW_WRITE));
}

/* Steps 6 and 11: the busy flag (bit 1 of the type) of a TSS descriptor. */
static bool set_busy(struct task_switch *t, u16 sel, bool busy)
{
	u8 access;
	u64 addr = gdt_slot(sel) + 5;
	if (!read_lin(t, addr, &access, 1))
		return false;
	access = busy ? access | DESC_TSS_BUSY_BIT : access & ~DESC_TSS_BUSY_BIT;
	return write_lin(t, addr, &access, 1);
}

/* The instruction pointer the old task resumes at: after CALL, JMP, IRET
 * and INT n/INT1/INT3/INTO (their length is in the exit, 28.2.4), else the
 * RIP of the exit (the event's return address, 28.2.3). */
static u32 old_eip(const struct task_switch *t)
{
	u64 rip = vmread(VMCS_GUEST_RIP);
	bool hw_event = t->source == TS_GATE && (INTR_INFO_TYPE(t->idt_info) < EVENT_SW_INT);
	return (u32)(hw_event ? rip : rip + vmread(VMCS_VM_EXIT_INSTRUCTION_LEN));
}

/* Steps 7 and 8: EIP, EFLAGS (NT cleared for IRET), GPRs and selectors
 * into the old TSS. */
static bool save_old_task(struct task_switch *t)
{
	struct tss32 old = { 0 };
	u32 eflags = (u32)vmread(VMCS_GUEST_RFLAGS);
	old.eip = old_eip(t);
	old.eflags = t->source == TS_IRET ? eflags & ~RFLAGS_NT : eflags;
	for (u32 i = 0; i < 8; i++)
		old.gpr[i] = (u32)*guest_gpr(t->regs, i);
	old.gpr[4] = (u32)vmread(VMCS_GUEST_RSP);
	for (u32 s = ES; s <= GS; s++)
		old.seg[s] = (u16)vmread(VMCS_GUEST_ES_SELECTOR + 2 * s);
	u64 base = vmread(VMCS_GUEST_TR_BASE);
	return write_lin(t, base + TSS_DYNAMIC_START, (u8 *)&old + TSS_DYNAMIC_START,
			 TSS_DYNAMIC_END - TSS_DYNAMIC_START);
}

static void write_segment(enum seg s, const struct segment *seg)
{
	vmwrite(VMCS_GUEST_ES_SELECTOR + 2 * s, seg->sel);
	vmwrite(VMCS_GUEST_ES_BASE + 2 * s, seg->base);
	vmwrite(VMCS_GUEST_ES_LIMIT + 2 * s, seg->limit);
	vmwrite(VMCS_GUEST_ES_AR_BYTES + 2 * s, seg->ar);
}

static struct segment segment_of(u16 sel, u64 desc)
{
	return (struct segment){ sel, desc_base(desc), desc_limit(desc), desc_ar(desc) };
}

/* Step 9: TR = the new TSS, marked busy (as the descriptor now is). */
static void load_tr(struct task_switch *t)
{
	struct segment tr = segment_of(t->sel, t->desc);
	tr.ar |= DESC_TSS_BUSY_BIT;
	write_segment(TR, &tr);
}

/* Step 12: CR3 from the new TSS when paging is on (with PAE paging, the
 * PDPTEs too: reserved bits are #GP(0), as for MOV to CR3, 4.4.1). The
 * guest's cached translations go with the old CR3 (INVEPT drops them). */
static bool load_cr3(struct task_switch *t, u32 cr3)
{
	if (!(t->pg.cr0 & CR0_PG))
		return true;
	if (t->pg.cr4 & CR4_PAE) {
		u64 pdpte[4];
		if (!guest_pae_pdptes(cr3, t->pg.phys_addr_mask, pdpte))
			return ts_raise(t, VECTOR_GP, true, 0);
		for (u32 i = 0; i < 4; i++)
			vmwrite(VMCS_GUEST_PDPTE0 + 2 * i, t->pg.pdpte[i] = pdpte[i]);
	}
	vmwrite(VMCS_GUEST_CR3, t->pg.cr3 = cr3);
	invept(INVEPT_SINGLE_CONTEXT, vmread(VMCS_EPT_POINTER));
	return true;
}

/* Table 7-1: the new LDT must be an LDT descriptor in the GDT and present
 * (#TS); a null selector makes LDTR unusable. */
static bool load_ldtr(struct task_switch *t, u16 sel)
{
	u64 desc, addr;
	t->ldt = (struct segment){ .sel = sel, .ar = AR_UNUSABLE };
	if (sel & ~SEL_RPL) {
		if (!read_desc(t, sel, false, VECTOR_TS, &desc, &addr))
			return false;
		if (!desc_system(desc) || desc_type(desc) != DESC_LDT || !desc_present(desc))
			return raise_sel(t, VECTOR_TS, sel);
		t->ldt = segment_of(sel, desc);
	}
	write_segment(LDTR, &t->ldt);
	return true;
}

/* Table 7-1 rules for one segment of the new task at privilege 'cpl':
 * the vector to raise with its selector, or 0 if it may be loaded.
 * CS: code, DPL = CPL (non-conforming) or <= CPL. SS: RPL = CPL, writable
 * data, DPL = CPL, #SS if not present. Others: data or readable code, DPL
 * >= CPL and RPL unless conforming code, #NP if not present. */
static u8 segment_fault(enum seg s, u16 sel, u64 desc, u32 cpl)
{
	u8 type = desc_type(desc);
	bool code = type & TYPE_CODE, conforming = code && (type & TYPE_CONFORMING);
	u32 dpl = desc_dpl(desc), rpl = sel & SEL_RPL;
	if (desc_system(desc))
		return VECTOR_TS;
	if (s == CS) {
		if (!code || (conforming ? dpl > cpl : dpl != cpl))
			return VECTOR_TS;
		return desc_present(desc) ? 0 : VECTOR_NP;
	}
	if (s == SS) {
		if (code || !(type & TYPE_WRITABLE) || rpl != cpl || dpl != cpl)
			return VECTOR_TS;
		return desc_present(desc) ? 0 : VECTOR_SS;
	}
	if ((code && !(type & TYPE_WRITABLE)) || (!conforming && (dpl < cpl || dpl < rpl)))
		return VECTOR_TS;
	return desc_present(desc) ? 0 : VECTOR_NP;
}

/* Step 13 for one segment: the descriptor is loaded and qualified, and its
 * accessed flag set in memory (3.4.5.1) and in the VMCS AR (27.3.1.2). */
static bool load_segment(struct task_switch *t, enum seg s, u16 sel, u32 cpl)
{
	u64 desc, addr;
	if (!(sel & ~SEL_RPL)) {
		if (s == CS || s == SS)
			return raise_sel(t, VECTOR_TS, sel);
		write_segment(s, &(struct segment){ .sel = sel, .ar = AR_UNUSABLE });
		return true;
	}
	if (!read_desc(t, sel, true, VECTOR_TS, &desc, &addr))
		return false;
	u8 vector = segment_fault(s, sel, desc, cpl);
	if (vector)
		return raise_sel(t, vector, sel);
	if (!(desc & BIT(40))) {
		u8 access = (u8)(desc >> 40) | TYPE_ACCESSED;
		if (!write_lin(t, addr + 5, &access, 1))
			return false;
		desc |= BIT(40);
	}
	struct segment seg = segment_of(sel, desc);
	write_segment(s, &seg);
	return true;
}

/* Steps 12-13: the new task's state. A fault here happens in the new task
 * (segments not loaded yet keep their hidden state with the new selector:
 * the SDM leaves that state undefined). */
static bool load_new_task(struct task_switch *t, const struct tss32 *tss)
{
	u32 eflags = (tss->eflags & EFLAGS_VALID) | RFLAGS_RESERVED_1;
	if (t->source == TS_CALL || t->source == TS_GATE)
		eflags |= RFLAGS_NT; /* step 10 */
	vmwrite(VMCS_GUEST_RFLAGS, eflags);
	vmwrite(VMCS_GUEST_RIP, tss->eip);
	for (u32 i = 0; i < 8; i++)
		*guest_gpr(t->regs, i) = tss->gpr[i];
	vmwrite(VMCS_GUEST_RSP, tss->gpr[4]);
	for (u32 s = ES; s <= GS; s++)
		vmwrite(VMCS_GUEST_ES_SELECTOR + 2 * s, (u16)tss->seg[s]);
	if (!load_cr3(t, tss->cr3) || !load_ldtr(t, (u16)tss->ldt))
		return false;
	if (eflags & RFLAGS_VM) { /* virtual-8086 task (20.2.1) */
		for (u32 s = ES; s <= GS; s++)
			write_segment(s, &(struct segment){ (u16)tss->seg[s], (u64)(u16)tss->seg[s] << 4, 0xffff, AR_V86 });
		return true;
	}
	u32 cpl = tss->seg[CS] & SEL_RPL;
	static const enum seg order[] = { CS, SS, DS, ES, FS, GS };
	for (u32 i = 0; i < ARRAY_SIZE(order); i++)
		if (!load_segment(t, order[i], (u16)tss->seg[order[i]], cpl))
			return false;
	return true;
}

/* INT n pseudocode, task gate: an exception's error code is pushed on the
 * new task's stack (a dword for a 32-bit TSS); #SS(EXT) if it does not fit. */
static bool push_error_code(struct task_switch *t)
{
	if (t->source != TS_GATE || !(t->idt_info & INTR_INFO_DELIVER_ERROR_CODE))
		return true;
	u32 ec = (u32)vmread(VMCS_IDT_VECTORING_ERROR_CODE);
	u32 ar = (u32)vmread(VMCS_GUEST_SS_AR_BYTES), limit = (u32)vmread(VMCS_GUEST_SS_LIMIT);
	u32 top = (ar & AR_DB) ? 0xffffffffu : 0xffffu;
	u32 esp = (u32)vmread(VMCS_GUEST_RSP);
	u32 sp = ((ar & AR_DB) ? esp : (esp & 0xffff)) - 4;
	bool expand_down = (ar & 0xf & TYPE_CONFORMING) && !(ar & TYPE_CODE);
	sp &= top;
	if (expand_down ? sp <= limit || sp > top - 3 : sp > limit - 3 || limit < 3)
		return ts_raise(t, VECTOR_SS, true, t->ext);
	u32 access = (ar >> 5 & 3) == 3 ? GW_USER : 0;
	struct gw_fault f;
	enum gw_result r = guest_linear_write(&t->pg, gva(vmread(VMCS_GUEST_SS_BASE) + sp), &ec, 4, access, &f);
	if (r != GW_OK)
		return raise_walk(t, r, &f);
	vmwrite(VMCS_GUEST_RSP, (ar & AR_DB) ? sp : (esp & ~0xffffu) | sp);
	return true;
}


/* The whole switch; false with t->fault set if an exception replaces it or
 * interrupts it. */
static bool switch_tasks(struct task_switch *t)
{
	u16 old_sel = (u16)vmread(VMCS_GUEST_TR_SELECTOR);
	bool nesting = t->source == TS_CALL || t->source == TS_GATE;
	struct tss32 tss;

	if (!check_new_tss(t) || !check_accessible(t))
		return false;
	if (!nesting && !set_busy(t, old_sel, false))          /* step 6 */
		return false;
	if (!save_old_task(t))                                 /* steps 7-8 */
		return false;
	if (nesting && !write_lin(t, desc_base(t->desc), &old_sel, 2)) /* 7.4: back link */
		return false;
	if (t->source != TS_IRET && !set_busy(t, t->sel, true)) /* step 11 */
		return false;
	if (!read_lin(t, desc_base(t->desc), &tss, sizeof(tss)))
		return false;
	load_tr(t);                                            /* step 9 */
	vmwrite(VMCS_GUEST_CR0, vmread(VMCS_GUEST_CR0) | CR0_TS); /* 2.5: TS set on every switch */
	if (vmread(VMCS_CR0_GUEST_HOST_MASK) & CR0_TS)
		vmwrite(VMCS_CR0_READ_SHADOW, vmread(VMCS_CR0_READ_SHADOW) | CR0_TS);
	if (!load_new_task(t, &tss) || !push_error_code(t))   /* steps 10, 12, 13 */
		return false;
	/* pseudocode: EIP outside the new CS limit is #GP(0) (INT: #GP(EXT)) */
	if (vmread(VMCS_GUEST_RIP) > vmread(VMCS_GUEST_CS_LIMIT))
		return ts_raise(t, VECTOR_GP, true, t->ext);
	if (tss.trap & 1) { /* 18.3.1.5: the T flag, a #DB trap with DR6.BT */
		dr6_set_bits(DR6_BT);
		return ts_raise(t, VECTOR_DB, false, 0);
	}
	return true;
}


static bool contributory(u8 v) { return v == 0 || (v >= VECTOR_TS && v <= VECTOR_GP); }

/* 6.15 Table 6-5: a fault while delivering an exception through the task
 * gate becomes #DF, or a shutdown if that exception was #DF. */
static void deliver_fault(struct task_switch *t)
{
	u8 v = t->fault.vector;
	if (t->source == TS_GATE && INTR_INFO_TYPE(t->idt_info) == EVENT_HW_EXCEPTION && v != VECTOR_DB) {
		u8 first = t->idt_info & 0xff;
		if (first == VECTOR_DF) {
			pr_info("xmhf: guest triple fault in a task switch (shutdown): powering off");
			power_off();
		}
		if ((contributory(first) && contributory(v)) || (first == VECTOR_PF && (v == VECTOR_PF || contributory(v))))
			v = VECTOR_DF, t->fault.has_ec = true, t->fault.ec = 0;
	}
	if (v == VECTOR_PF)
		write_cr2(t->fault.cr2);
	inject_exception(v, t->fault.has_ec, t->fault.ec);
}

void task_switch_emulate(struct guest_regs *regs)
{
	u64 q = vmread(VMCS_EXIT_QUALIFICATION);
	struct task_switch t = { .regs = regs, .sel = q & 0xffff, .source = (q >> 30) & 3 };

	/* 7.7: no task switches in IA-32e mode; the CPU raises #GP before any exit */
	CHECK(!(vmread(VMCS_GUEST_IA32_EFER) & EFER_LMA));
	guest_paging_current(&t.pg);
	if (t.source == TS_GATE) {
		t.idt_info = (u32)vmread(VMCS_IDT_VECTORING_INFO);
		CHECK(t.idt_info & INTR_INFO_VALID); /* 28.2.4: valid for a switch through the IDT */
		u32 type = INTR_INFO_TYPE(t.idt_info);
		t.ext = type != EVENT_SW_INT && type != EVENT_SW_EXCEPTION;
		/* the event is delivered by the switch: nothing is re-injected; an
		 * NMI leaves NMIs blocked as its delivery would (6.7.1) */
		if (type == EVENT_NMI)
			vmwrite(VMCS_GUEST_INTERRUPTIBILITY_INFO,
				vmread(VMCS_GUEST_INTERRUPTIBILITY_INFO) | INTERRUPTIBILITY_NMI);
	}
	if ((vmread(VMCS_GUEST_TR_AR_BYTES) & 0xf) != DESC_TSS32_BUSY) {
		pr_err("xmhf: guest task switch from a 16-bit TSS is not emulated; stopping the guest");
		power_off();
	}
	/* an instruction's STI / MOV SS blocking ends with it (26.4.2) */
	vmwrite(VMCS_GUEST_INTERRUPTIBILITY_INFO,
		vmread(VMCS_GUEST_INTERRUPTIBILITY_INFO) & ~(INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS));
	if (switch_tasks(&t))
		return;
	if (t.fault.vector == TS_REFUSED) {
		pr_err("xmhf: guest task switch to a 16-bit TSS is not emulated; stopping the guest");
		power_off();
	}
	deliver_fault(&t);
}
