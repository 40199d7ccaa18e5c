/* Guest hardware task switches (VM exit reason 9), emulated as SDM Vol. 3
 * 7.3 "Task Switching" describes, between 32-bit and 16-bit TSSes in any
 * combination (7.2.1 Figure 7-2, 7.6 Figure 7-11). Table 7-1 lists the
 * exception conditions; the pseudocode is Vol. 2 JMP, CALL, IRET and INT n
 * "task gate". The CPU has made the privilege checks on the gate or TSS
 * descriptor before the exit (Vol. 3 26.4.2), so they are not repeated (the
 * exit does not say whether a CALL/JMP went through a task gate); the type,
 * present and limit checks are repeated (the GDT may have changed since).
 *
 * Transactional, as 7.3 defines the commit point:
 * - Before it (the new TSS descriptor, the old TSS limit, every TSS and
 *   descriptor the switch writes being accessible; then the busy flags, the
 *   old task's state and the back link written, the new TSS read) a fault
 *   leaves the VMCS and the registers as they were: the exception is the
 *   old task's. Everything is checked before guest memory is written.
 * - After it (CR3, LDTR, the segment descriptors, the error-code push, the
 *   EIP limit) a fault happens in the new task, without further checks
 *   (Vol. 3 6.15 "Interrupt 10 (#TS)", Program State Change). The new task's
 *   state is computed in a struct task_state, starting with what the commit
 *   point loads (TR, EFLAGS, EIP, GPRs, selectors), and written to the VMCS
 *   by commit(), with a fault or without. A segment register the fault left
 *   unloaded holds a state VM entry accepts (see unloaded()). */
#include <runtime/ept01.h>
#include <runtime/guest_walk.h>
#include <runtime/percpu.h>
#include <runtime/task_switch.h>
#include <runtime/task_switch_tss.h>
#include <runtime/vmx_ops.h>
#include <xmhf/check.h>
#include <xmhf/cpu.h>
#include <xmhf/guest.h>
#include <xmhf/log.h>
#include <xmhf/paging.h>
#include <xmhf/power.h>
#include <xmhf/vmx.h>
#include <xmhf/x86/segment.h>

enum seg { ES, CS, SS, DS, FS, GS, LDTR, TR, SEG_COUNT };

struct segment {
	u16 sel;
	u64 base;
	u32 limit, ar;
};

/* The guest state the switch leaves, written to the VMCS by commit(). */
struct task_state {
	struct segment seg[SEG_COUNT];
	u32 eip, eflags;
	u32 gpr[8];
	bool cr3_loaded;
	u32 cr3;
	u64 pdpte[4];
};

struct task_switch {
	struct guest_regs *regs;
	struct guest_paging pg;
	u32 source;
	u16 sel;        /* the new TSS */
	u64 desc;       /* its descriptor */
	bool new_wide;  /* the new TSS is a 32-bit one */
	bool old_wide;
	u32 idt_info;   /* source == TASK_SWITCH_GATE: the event being delivered */
	u32 ext;        /* EXT bit of error codes (6.13) */
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
	CHECK(r != GW_UNSUPPORTED); /* 5-level paging needs IA-32e mode, which has no task switches */
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
static u8 desc_type(u64 d) { return (d >> 40) & AR_TYPE_MASK; }
static u32 desc_dpl(u64 d) { return (d >> 45) & 3; }
static bool desc_present(u64 d) { return d & BIT(47); }
static bool desc_system(u64 d) { return !(d & BIT(44)); }

static u64 gdt_slot(u16 sel) { return vmread(VMCS_GUEST_GDTR_BASE) + (sel & ~7u); }

/* A descriptor of the GDT (TI = 0) or, if 'ldt' is given and usable, of
 * that LDT; 'vector' if the selector is outside the table. */
static bool read_desc(struct task_switch *t, u16 sel, const struct segment *ldt, u8 vector, u64 *desc, u64 *addr)
{
	bool local = sel & SEL_TI;
	if (local && (!ldt || (ldt->ar & AR_UNUSABLE)))
		return raise_sel(t, vector, sel);
	u64 base = local ? ldt->base : vmread(VMCS_GUEST_GDTR_BASE);
	u64 limit = local ? ldt->limit : vmread(VMCS_GUEST_GDTR_LIMIT);
	if ((sel | 7u) > limit)
		return raise_sel(t, vector, sel);
	*addr = base + (sel & ~7u);
	return read_lin(t, *addr, desc, sizeof(*desc));
}

/* The checks on the new TSS descriptor (Table 7-1, the pseudocode): #GP
 * (CALL, JMP, gate) or #TS (IRET) for a bad selector or type, including a
 * busy target of CALL/JMP/gate and a non-busy one of IRET; #NP if not
 * present; #TS if its limit is below 67H (2BH for a 16-bit TSS, the last
 * byte of its 44: as Bochs, QEMU and KVM check). */
static bool check_new_tss(struct task_switch *t)
{
	bool iret = t->source == TASK_SWITCH_IRET;
	u8 bad = iret ? VECTOR_TS : VECTOR_GP;
	u64 addr;
	if (!read_desc(t, t->sel, NULL, bad, &t->desc, &addr))
		return false;
	u8 type = desc_type(t->desc);
	bool busy = type & DESC_TSS_BUSY_BIT;
	u8 avail = type & ~DESC_TSS_BUSY_BIT;
	if (!desc_system(t->desc) || (avail != DESC_TSS16_AVAIL && avail != DESC_TSS32_AVAIL) || busy != iret)
		return raise_sel(t, bad, t->sel);
	if (!desc_present(t->desc))
		return raise_sel(t, VECTOR_NP, t->sel);
	t->new_wide = tss_type_wide(type);
	if (desc_limit(t->desc) < tss_size(t->new_wide) - 1)
		return raise_sel(t, VECTOR_TS, t->sel);
	return true;
}

/* The old TSS must hold the fields the switch saves (#TS, its selector). */
static bool check_old_tss(struct task_switch *t)
{
	t->old_wide = tss_type_wide(vmread(VMCS_GUEST_TR_AR_BYTES) & AR_TYPE_MASK);
	if (vmread(VMCS_GUEST_TR_LIMIT) < tss_dynamic_end(t->old_wide) - 1)
		return raise_sel(t, VECTOR_TS, (u16)vmread(VMCS_GUEST_TR_SELECTOR));
	return true;
}

/* Step 5: the old TSS, the new TSS and the descriptors the switch writes
 * are accessible (#PF otherwise), before anything changes. */
static bool check_accessible(struct task_switch *t)
{
	u64 old_tss = vmread(VMCS_GUEST_TR_BASE);
	u16 old_sel = (u16)vmread(VMCS_GUEST_TR_SELECTOR);
	bool nesting = t->source == TASK_SWITCH_CALL || t->source == TASK_SWITCH_GATE;
	u32 start = tss_dynamic_start(t->old_wide);
	return probe_lin(t, old_tss + start, tss_dynamic_end(t->old_wide) - start, GW_WRITE) &&
	       probe_lin(t, desc_base(t->desc), tss_size(t->new_wide), 0) &&
	       (!nesting || probe_lin(t, desc_base(t->desc), 2, GW_WRITE)) &&
	       (nesting || probe_lin(t, gdt_slot(old_sel), 8, GW_WRITE)) &&
	       (t->source == TASK_SWITCH_IRET || probe_lin(t, gdt_slot(t->sel), 8, GW_WRITE));
}

/* The busy flag (bit 1 of the type) of a TSS descriptor. */
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
	bool hw_event = t->source == TASK_SWITCH_GATE && (INTR_INFO_TYPE(t->idt_info) < EVENT_SW_INT);
	return (u32)(hw_event ? rip : rip + vmread(VMCS_VM_EXIT_INSTRUCTION_LEN));
}

/* Step 8: EIP, EFLAGS (NT cleared for IRET, step 7), GPRs and selectors
 * into the old TSS (its other fields keep their value). */
static bool save_old_task(struct task_switch *t)
{
	union tss old;
	struct task_image img = { .eip = old_eip(t), .eflags = (u32)vmread(VMCS_GUEST_RFLAGS) };
	u64 base = vmread(VMCS_GUEST_TR_BASE);
	u32 start = tss_dynamic_start(t->old_wide), len = tss_dynamic_end(t->old_wide) - start;
	if (t->source == TASK_SWITCH_IRET)
		img.eflags &= ~RFLAGS_NT;
	for (u32 i = 0; i < 8; i++)
		img.gpr[i] = (u32)*guest_gpr(t->regs, i);
	img.gpr[TSS_GPR_ESP] = (u32)vmread(VMCS_GUEST_RSP);
	for (u32 s = ES; s <= GS; s++)
		img.seg[s] = (u16)vmread(VMCS_GUEST_ES_SELECTOR + 2 * s);
	if (!read_lin(t, base + start, old.bytes + start, len))
		return false;
	tss_store_image(&old, t->old_wide, &img);
	return write_lin(t, base + start, old.bytes + start, len);
}

static struct segment segment_of(u16 sel, u64 desc)
{
	return (struct segment){ sel, desc_base(desc), desc_limit(desc), desc_ar(desc) };
}

/* A segment register of the new task whose descriptor is not loaded (a
 * fault came first). The SDM leaves its descriptor state undefined and
 * tells the handler not to rely on it (6.15 "Interrupt 10"); here it is one
 * VM entry accepts ("Checks on Guest Segment Registers") that keeps the new
 * task's CPL (SS.DPL is the CPL, "Guest Register State"; a non-conforming
 * CS.DPL equals it): data segments unusable, SS unusable with DPL = CPL,
 * CS a flat 32-bit code segment at CPL. */
static struct segment unloaded(enum seg s, u16 sel, u32 cpl)
{
	if (s == CS)
		return (struct segment){ sel, 0, 0xffffffffu,
					 AR_CODE_RX_ACCESSED | AR_DB | AR_G | (cpl << AR_DPL_SHIFT) };
	return (struct segment){ .sel = sel, .ar = AR_UNUSABLE | (s == SS ? cpl << AR_DPL_SHIFT : 0) };
}

/* A virtual-8086 task's segments need no descriptors ("Virtual-8086
 * Mode"); their VMCS form is that of "Checks on Guest Segment Registers". */
static struct segment v86_segment(u16 sel)
{
	return (struct segment){ sel, (u64)sel << 4, 0xffff, AR_V86 };
}

/* The state at the commit point: TR (busy, step 9), EFLAGS (NT set for a
 * nesting switch, step 10), EIP, GPRs and the selectors (step 12), LDTR
 * and the segment descriptors not loaded yet. */
static void begin_new_task(const struct task_switch *t, const struct task_image *img, struct task_state *st)
{
	bool v86 = img->eflags & RFLAGS_VM;
	u32 cpl = v86 ? 3 : img->seg[CS] & SEL_RPL;
	st->eflags = (img->eflags & RFLAGS_NOT_RESERVED) | RFLAGS_RESERVED_1;
	if (t->source == TASK_SWITCH_CALL || t->source == TASK_SWITCH_GATE)
		st->eflags |= RFLAGS_NT;
	st->eip = img->eip;
	for (u32 i = 0; i < 8; i++)
		st->gpr[i] = img->gpr[i];
	for (u32 s = ES; s <= GS; s++)
		st->seg[s] = v86 ? v86_segment(img->seg[s]) : unloaded(s, img->seg[s], cpl);
	st->seg[LDTR] = (struct segment){ .sel = img->ldt, .ar = AR_UNUSABLE };
	st->seg[TR] = segment_of(t->sel, t->desc);
	st->seg[TR].ar |= DESC_TSS_BUSY_BIT;
	st->cr3_loaded = false;
}

/* Step 12: CR3 from a 32-bit TSS when paging is on (with PAE paging, the
 * PDPTEs too: reserved bits are #GP(0), as for MOV to CR3, 4.4.1). The
 * descriptor reads that follow use it. */
static bool load_cr3(struct task_switch *t, u32 cr3, struct task_state *st)
{
	if (!(t->pg.cr0 & CR0_PG))
		return true;
	if ((t->pg.cr4 & CR4_PAE) && !guest_pae_pdptes(cr3, t->pg.phys_addr_mask, st->pdpte))
		return ts_raise(t, VECTOR_GP, true, 0);
	st->cr3_loaded = true;
	st->cr3 = cr3;
	t->pg.cr3 = cr3;
	for (u32 i = 0; i < 4; i++)
		t->pg.pdpte[i] = st->pdpte[i];
	return true;
}

/* Table 7-1: the new LDT must be an LDT descriptor in the GDT and present
 * (#TS); a null selector leaves LDTR unusable. */
static bool load_ldtr(struct task_switch *t, u16 sel, struct task_state *st)
{
	u64 desc, addr;
	if (!(sel & ~SEL_RPL))
		return true;
	if (!read_desc(t, sel, NULL, VECTOR_TS, &desc, &addr))
		return false;
	if (!desc_system(desc) || desc_type(desc) != DESC_LDT || !desc_present(desc))
		return raise_sel(t, VECTOR_TS, sel);
	st->seg[LDTR] = segment_of(sel, desc);
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
	bool code = type & SEG_TYPE_CODE, conforming = code && (type & SEG_TYPE_CONFORMING);
	u32 dpl = desc_dpl(desc), rpl = sel & SEL_RPL;
	if (desc_system(desc))
		return VECTOR_TS;
	if (s == CS) {
		if (!code || (conforming ? dpl > cpl : dpl != cpl))
			return VECTOR_TS;
		return desc_present(desc) ? 0 : VECTOR_NP;
	}
	if (s == SS) {
		if (code || !(type & SEG_TYPE_WRITABLE) || rpl != cpl || dpl != cpl)
			return VECTOR_TS;
		return desc_present(desc) ? 0 : VECTOR_SS;
	}
	if ((code && !(type & SEG_TYPE_WRITABLE)) || (!conforming && (dpl < cpl || dpl < rpl)))
		return VECTOR_TS;
	return desc_present(desc) ? 0 : VECTOR_NP;
}

/* Step 13 for one segment: the descriptor is loaded and qualified, and its
 * accessed flag set in memory (3.4.5.1) and in the VMCS AR (27.3.1.2). A
 * null selector leaves DS, ES, FS or GS unusable. */
static bool load_segment(struct task_switch *t, enum seg s, u16 sel, u32 cpl, struct task_state *st)
{
	u64 desc, addr;
	if (!(sel & ~SEL_RPL))
		return (s != CS && s != SS) || raise_sel(t, VECTOR_TS, sel);
	if (!read_desc(t, sel, &st->seg[LDTR], VECTOR_TS, &desc, &addr))
		return false;
	u8 vector = segment_fault(s, sel, desc, cpl);
	if (vector)
		return raise_sel(t, vector, sel);
	if (!(desc & BIT(40))) {
		u8 access = (u8)(desc >> 40) | SEG_TYPE_ACCESSED;
		if (!write_lin(t, addr + 5, &access, 1))
			return false;
		desc |= BIT(40);
	}
	st->seg[s] = segment_of(sel, desc);
	return true;
}

/* Steps 12-13 after the commit point: CR3, LDTR, then the segment
 * descriptors (a virtual-8086 task's segments are already set). */
static bool load_new_task(struct task_switch *t, const struct task_image *img, struct task_state *st)
{
	static const enum seg order[] = { CS, SS, DS, ES, FS, GS };
	if ((t->new_wide && !load_cr3(t, img->cr3, st)) || !load_ldtr(t, img->ldt, st))
		return false;
	if (st->eflags & RFLAGS_VM)
		return true;
	for (u32 i = 0; i < ARRAY_SIZE(order); i++)
		if (!load_segment(t, order[i], img->seg[order[i]], img->seg[CS] & SEL_RPL, st))
			return false;
	return true;
}

/* INT n pseudocode, task gate: an exception's error code is pushed on the
 * new task's stack, a dword for a 32-bit TSS and a word for a 16-bit one
 * (6.13); #SS(EXT) if it does not fit. */
static bool push_error_code(struct task_switch *t, struct task_state *st)
{
	if (t->source != TASK_SWITCH_GATE || !(t->idt_info & INTR_INFO_DELIVER_ERROR_CODE))
		return true;
	u32 ec = (u32)vmread(VMCS_IDT_VECTORING_ERROR_CODE);
	const struct segment *ss = &st->seg[SS];
	u32 width = t->new_wide ? 4 : 2;
	bool big = ss->ar & AR_DB;
	u32 top = big ? 0xffffffffu : 0xffffu;
	u32 esp = st->gpr[TSS_GPR_ESP];
	u32 sp = ((big ? esp : (esp & 0xffff)) - width) & top;
	bool expand_down = (ss->ar & SEG_TYPE_CONFORMING) && !(ss->ar & SEG_TYPE_CODE);
	if (expand_down ? sp <= ss->limit || sp > top - (width - 1)
			: ss->limit < width - 1 || sp > ss->limit - (width - 1))
		return ts_raise(t, VECTOR_SS, true, t->ext);
	u32 access = ((ss->ar >> AR_DPL_SHIFT) & 3) == 3 ? GW_USER : 0;
	struct gw_fault f;
	enum gw_result r = guest_linear_write(&t->pg, gva(ss->base + sp), &ec, width, access, &f);
	if (r != GW_OK)
		return raise_walk(t, r, &f);
	st->gpr[TSS_GPR_ESP] = big ? sp : (esp & ~0xffffu) | sp;
	return true;
}

static void write_segment(enum seg s, const struct segment *seg)
{
	vmwrite(VMCS_GUEST_ES_SELECTOR + 2 * s, seg->sel);
	vmwrite(VMCS_GUEST_ES_BASE + 2 * s, seg->base);
	vmwrite(VMCS_GUEST_ES_LIMIT + 2 * s, seg->limit);
	vmwrite(VMCS_GUEST_ES_AR_BYTES + 2 * s, seg->ar);
}

/* The one place the new task's state reaches the VMCS. CR0.TS is set
 * (2.5) and DR7's local breakpoint enables cleared (18.2.4) on every
 * switch; a new CR3 drops the guest's cached translations (INVEPT). */
static void commit(struct task_switch *t, const struct task_state *st)
{
	for (u32 s = 0; s < SEG_COUNT; s++)
		write_segment(s, &st->seg[s]);
	vmwrite(VMCS_GUEST_RIP, st->eip);
	vmwrite(VMCS_GUEST_RFLAGS, st->eflags);
	for (u32 i = 0; i < 8; i++)
		*guest_gpr(t->regs, i) = st->gpr[i];
	vmwrite(VMCS_GUEST_RSP, st->gpr[TSS_GPR_ESP]);
	vmwrite(VMCS_GUEST_CR0, vmread(VMCS_GUEST_CR0) | CR0_TS);
	if (vmread(VMCS_CR0_GUEST_HOST_MASK) & CR0_TS)
		vmwrite(VMCS_CR0_READ_SHADOW, vmread(VMCS_CR0_READ_SHADOW) | CR0_TS);
	vmwrite(VMCS_GUEST_DR7, vmread(VMCS_GUEST_DR7) & ~DR7_LOCAL_ENABLES);
	if (st->cr3_loaded) {
		if (t->pg.cr4 & CR4_PAE)
			for (u32 i = 0; i < 4; i++)
				vmwrite(VMCS_GUEST_PDPTE0 + 2 * i, st->pdpte[i]);
		vmwrite(VMCS_GUEST_CR3, st->cr3);
		invept(INVEPT_SINGLE_CONTEXT, vmread(VMCS_EPT_POINTER));
	}
}

/* The whole switch; false with t->fault set if an exception replaces it
 * (before the commit point) or interrupts it (after). */
static bool switch_tasks(struct task_switch *t)
{
	u16 old_sel = (u16)vmread(VMCS_GUEST_TR_SELECTOR);
	bool nesting = t->source == TASK_SWITCH_CALL || t->source == TASK_SWITCH_GATE;
	union tss new;

	if (!check_new_tss(t) || !check_old_tss(t) || !check_accessible(t))
		return false;
	if (!nesting && !set_busy(t, old_sel, false))          /* step 6 */
		return false;
	if (!save_old_task(t))                                 /* steps 7-8 */
		return false;
	if (nesting && !write_lin(t, desc_base(t->desc), &old_sel, 2)) /* 7.4: back link */
		return false;
	if (t->source != TASK_SWITCH_IRET && !set_busy(t, t->sel, true)) /* step 11 */
		return false;
	if (!read_lin(t, desc_base(t->desc), &new, tss_size(t->new_wide)))
		return false;

	/* the commit point */
	struct task_image img = tss_read_image(&new, t->new_wide);
	struct task_state st;
	begin_new_task(t, &img, &st);
	bool done = load_new_task(t, &img, &st) && push_error_code(t, &st);
	/* pseudocode: EIP outside the new CS limit is #GP(0) (INT: #GP(EXT)) */
	if (done && st.eip > st.seg[CS].limit)
		done = ts_raise(t, VECTOR_GP, true, t->ext);
	commit(t, &st);
	if (done && img.trap) { /* 18.3.1.5: the T flag, a #DB trap with DR6.BT */
		dr6_set_bits(DR6_BT);
		return ts_raise(t, VECTOR_DB, false, 0);
	}
	return done;
}


/* 6.15 Table 6-5: a fault while delivering an exception through the task
 * gate becomes #DF, or a shutdown if that exception was #DF: the guest's
 * end, as a triple-fault exit is. */
static void deliver_fault(struct task_switch *t)
{
	u8 v = t->fault.vector;
	if (t->source == TASK_SWITCH_GATE && INTR_INFO_TYPE(t->idt_info) == EVENT_HW_EXCEPTION && v != VECTOR_DB) {
		u32 combined = exception_combine(INTR_INFO_VECTOR(t->idt_info), v);
		if (combined == EXCEPTION_SHUTDOWN)
			guest_reset_power_off("guest triple fault (shutdown) in a task switch");
		if (combined == VECTOR_DF)
			v = VECTOR_DF, t->fault.has_ec = true, t->fault.ec = 0;
	}
	if (v == VECTOR_PF)
		write_cr2(t->fault.cr2);
	inject_exception(v, t->fault.has_ec, t->fault.ec);
}

void task_switch_emulate(struct guest_regs *regs)
{
	u64 q = vmread(VMCS_EXIT_QUALIFICATION);
	struct task_switch t = { .regs = regs, .sel = TASK_SWITCH_SELECTOR(q), .source = TASK_SWITCH_SOURCE(q) };

	/* 7.7: no task switches in IA-32e mode; the CPU raises #GP before any exit */
	CHECK(!(vmread(VMCS_GUEST_IA32_EFER) & EFER_LMA));
	guest_paging_current(&t.pg);
	if (t.source == TASK_SWITCH_GATE) {
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
	/* an instruction's STI / MOV SS blocking ends with it (26.4.2) */
	vmwrite(VMCS_GUEST_INTERRUPTIBILITY_INFO,
		vmread(VMCS_GUEST_INTERRUPTIBILITY_INFO) & ~(INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS));
	if (!switch_tasks(&t))
		deliver_fault(&t);
}
