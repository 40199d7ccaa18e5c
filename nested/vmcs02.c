/* VMCS02 from VMCS12 (docs/nested.md "VMCS02"): one loop over the field
 * table; COPY fields as L1 wrote them, GPADDR fields translated through
 * EPT01 (the host page EPT01 maps L1's page to, with the rights the CPU's
 * accesses need), L0 fields from VMCS01, XLATE fields through their
 * translator below; and the rewalk of the GPADDR fields and the EPTP after
 * an EPT01 change while L2 runs. */
#include <nested/ept02.h>
#include <nested/vmcs02.h>
#include <xmhf/evlog.h>
#include <xmhf/log.h>
#include <xmhf/memprot.h>
#include <xmhf/nested.h>
#include <xmhf/paging.h>
#include <xmhf/panic.h>
#include <xmhf/string.h>

static u8 vmcs02_regions[CONFIG_MAX_CPUS][PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));

static hpa_t vmcs02_region(void) { return hpa((u64)vmcs02_regions[this_cpu_index()]); }

u64 vmcs12_proc2(const struct vmcs12 *v)
{
	if (!(vmcs12_get(v, VMCS12_IDX_CPU_BASED_VM_EXEC_CONTROL) & PROC_ACTIVATE_SECONDARY))
		return 0;
	return vmcs12_get(v, VMCS12_IDX_SECONDARY_VM_EXEC_CONTROL);
}

/* Written into VMCS02: the field exists for L1, is no read-only data, and is used. */
static bool vmcs02_field_written(const struct l1_caps *c, enum vmcs12_index i)
{
	const struct vmcs12_field *f = &vmcs12_fields[i];
	return !(f->props & (VF_RO | VF_IGNORED | VF_UNSUPP)) && l1_field_exists(c, &f->exists);
}

/* A GPADDR field's page is used by the CPU only with its control (26.6). */
static bool gpaddr_used(const struct vmcs12 *v, enum vmcs12_index i)
{
	u64 proc = vmcs12_get(v, VMCS12_IDX_CPU_BASED_VM_EXEC_CONTROL);
	switch (i) {
	case VMCS12_IDX_IO_BITMAP_A:
	case VMCS12_IDX_IO_BITMAP_B: return proc & PROC_USE_IO_BITMAPS;
	case VMCS12_IDX_VIRTUAL_APIC_PAGE_ADDR: return proc & PROC_USE_TPR_SHADOW;
	case VMCS12_IDX_APIC_ACCESS_ADDR: return vmcs12_proc2(v) & PROC2_VIRTUALIZE_APIC_ACCESSES;
	default: return true;
	}
}

/* L0's needs, from VMCS01 (vmcs01.c): NMI exiting and virtual NMIs
 * (quiesce and cross-CPU requests), EPT01 (L1's memory view), its own
 * I/O interceptions (with I/O bitmaps, every L2 I/O exits: l2_exit.c asks
 * L1's bitmaps), its MSR policy (no MSR bitmaps: every L2 MSR access exits
 * to L0, which asks L1's bitmap). */
static u64 pin02(const struct vmcs12 *v)
{
	return vmcs12_get(v, VMCS12_IDX_PIN_BASED_VM_EXEC_CONTROL) | PIN_NMI_EXITING | PIN_VIRTUAL_NMIS;
}

static u64 proc02(const struct nested_cpu *n)
{
	u64 proc = vmcs12_get(&n->current, VMCS12_IDX_CPU_BASED_VM_EXEC_CONTROL) & ~(u64)PROC_USE_MSR_BITMAPS;
	if (n->l0.io_bitmaps || n->io_bitmaps_denied)
		proc = (proc & ~(u64)PROC_USE_IO_BITMAPS) | PROC_UNCONDITIONAL_IO_EXITING;
	return proc | PROC_ACTIVATE_SECONDARY;
}

/* L2 runs on EPT01 (L1 without EPT: L2's guest-physical addresses are
 * L1's), with a VPID02 for L1's VPID12 (vpid02.h) or, where the CPU cannot
 * recycle VPID02s, with VPID 0: its TLB entries are flushed at every VM
 * entry and exit then (29.1), which keeps L1's VPIDs apart as well. */
static u64 proc2_02(const struct nested_cpu *n)
{
	u64 proc2 = vmcs12_proc2(&n->current) | PROC2_ENABLE_EPT;
	return vpid02_usable(&n->caps) ? proc2 : proc2 & ~(u64)PROC2_ENABLE_VPID;
}

/* L0's exit controls (host address-space size, PAT and EFER saved and
 * loaded) and L1's that change what the exit stores. */
static u64 exit02(const struct vmcs12 *v)
{
	u64 l1 = vmcs12_get(v, VMCS12_IDX_VM_EXIT_CONTROLS) &
		 (EXIT_ACK_INTR_ON_EXIT | EXIT_SAVE_PREEMPTION_TIMER | EXIT_SAVE_DEBUG_CONTROLS);
	return vmcs01_read(VMCS_VM_EXIT_CONTROLS) | l1;
}

/* PAT, EFER and the debug controls are always loaded into L2: L1's values
 * when its entry controls load them, else what L1 has now (27.3.2.1: only
 * EFER.LMA follows "IA-32e mode guest"). */
static u64 entry02(const struct vmcs12 *v)
{
	return vmcs12_get(v, VMCS12_IDX_VM_ENTRY_CONTROLS) | ENTRY_LOAD_PAT | ENTRY_LOAD_EFER | ENTRY_LOAD_DEBUG_CONTROLS;
}

static u64 loaded_or_l1(const struct vmcs12 *v, u64 control, enum vmcs12_index i, enum vmcs_field l1_field)
{
	return vmcs12_get(v, VMCS12_IDX_VM_ENTRY_CONTROLS) & control ? vmcs12_get(v, i) : vmcs01_read(l1_field);
}

static u64 efer02(const struct vmcs12 *v)
{
	if (vmcs12_get(v, VMCS12_IDX_VM_ENTRY_CONTROLS) & ENTRY_LOAD_EFER)
		return vmcs12_get(v, VMCS12_IDX_GUEST_IA32_EFER);
	u64 efer = vmcs01_read(VMCS_GUEST_IA32_EFER) & ~(EFER_LMA | EFER_LME);
	return vmcs12_get(v, VMCS12_IDX_VM_ENTRY_CONTROLS) & ENTRY_IA32E_MODE_GUEST ? efer | EFER_LMA | EFER_LME : efer;
}

/* L0 intercepts the exceptions its own bitmap names (hypapps, steps); a
 * #PF L0 intercepts exits whatever its error code (l2_exit.c applies L1's
 * mask and match). */
static u64 exception_bitmap02(const struct vmcs12 *v)
{
	return vmcs12_get(v, VMCS12_IDX_EXCEPTION_BITMAP) | vmcs01_read(VMCS_EXCEPTION_BITMAP);
}

static bool l0_intercepts_pf(void) { return vmcs01_read(VMCS_EXCEPTION_BITMAP) & BIT(VECTOR_PF); }

/* L1's EPT: EPT02 (EPT12 x EPT01; its root may change between entries);
 * without: L2's addresses are L1's, EPT01. */
static u64 eptp02(const struct nested_cpu *n)
{
	const struct vmcs12 *v = &n->current;
	return vmcs12_proc2(v) & PROC2_ENABLE_EPT ? ept02_eptp(this_cpu_index(), vmcs12_get(v, VMCS12_IDX_EPT_POINTER))
						   : n->l0.eptp;
}

/* The XLATE fields. False: VM entry fails with invalid controls. */
static bool translate(struct nested_cpu *n, enum vmcs12_index i, u64 *out)
{
	const struct vmcs12 *v = &n->current;
	u64 l1 = vmcs12_get(v, i);
	switch (i) {
	case VMCS12_IDX_PIN_BASED_VM_EXEC_CONTROL: *out = pin02(v); return true;
	case VMCS12_IDX_CPU_BASED_VM_EXEC_CONTROL: *out = proc02(n); return true;
	case VMCS12_IDX_SECONDARY_VM_EXEC_CONTROL: *out = proc2_02(n); return true;
	case VMCS12_IDX_VM_EXIT_CONTROLS: *out = exit02(v); return true;
	case VMCS12_IDX_VM_ENTRY_CONTROLS: *out = entry02(v); return true;
	case VMCS12_IDX_EXCEPTION_BITMAP: *out = exception_bitmap02(v); return true;
	case VMCS12_IDX_PAGE_FAULT_ERROR_CODE_MASK:
	case VMCS12_IDX_PAGE_FAULT_ERROR_CODE_MATCH: *out = l0_intercepts_pf() ? 0 : l1; return true;
	case VMCS12_IDX_GUEST_IA32_PAT:
		*out = loaded_or_l1(v, ENTRY_LOAD_PAT, i, VMCS_GUEST_IA32_PAT);
		return true;
	case VMCS12_IDX_GUEST_IA32_EFER: *out = efer02(v); return true;
	case VMCS12_IDX_EPT_POINTER: *out = eptp02(n); return true;
	case VMCS12_IDX_VPID:
		*out = (proc2_02(n) & PROC2_ENABLE_VPID) ? vpid02_of(&n->vpid02, &n->caps, (u16)l1) : 0;
		return true;
	/* L0 uses no TSC offset (vmcs01.c): L1's applies as it is */
	case VMCS12_IDX_TSC_OFFSET: *out = l1; return true;
	/* read by l2_exit.c from L1's memory, validated here */
	case VMCS12_IDX_MSR_BITMAP:
		if ((vmcs12_get(v, VMCS12_IDX_CPU_BASED_VM_EXEC_CONTROL) & PROC_USE_MSR_BITMAPS) &&
		    !guest_phys_ptr(l1_gpa(l1), PAGE_SIZE)) {
			pr_debug("nested: VM entry: MSR bitmap 0x%llx is not guest RAM", l1);
			return false;
		}
		*out = 0;
		return true;
	/* MSR areas: not emulated yet (docs/nested.md): VMCS02 has none */
	case VMCS12_IDX_VMEXIT_MSR_STORE_ADDR:
	case VMCS12_IDX_VMEXIT_MSR_LOAD_ADDR:
	case VMCS12_IDX_VMENTRY_MSR_LOAD_ADDR:
	case VMCS12_IDX_VM_EXIT_MSR_STORE_COUNT:
	case VMCS12_IDX_VM_EXIT_MSR_LOAD_COUNT:
	case VMCS12_IDX_VM_ENTRY_MSR_LOAD_COUNT: *out = 0; return true;
	case VMCS12_IDX_VMCS_LINK_POINTER: *out = VMCS12_NONE; return true;
	/* the CPU checks them as for L1 (27.3.1.1), checked before */
	default: *out = l1; return true;
	}
}

/* The debug controls when L1 does not load them: L1's own (its DR7 and
 * DEBUGCTL in VMCS01), written after the COPY fields. */
static void debug_state(struct nested_cpu *n)
{
	bool loaded = vmcs12_get(&n->current, VMCS12_IDX_VM_ENTRY_CONTROLS) & ENTRY_LOAD_DEBUG_CONTROLS;
	n->vmcs02[VMCS12_IDX_GUEST_DR7] = loaded ? vmcs12_get(&n->current, VMCS12_IDX_GUEST_DR7) : vmcs01_read(VMCS_GUEST_DR7);
	n->vmcs02[VMCS12_IDX_GUEST_IA32_DEBUGCTL] = loaded ? vmcs12_get(&n->current, VMCS12_IDX_GUEST_IA32_DEBUGCTL)
							   : vmcs01_read(VMCS_GUEST_IA32_DEBUGCTL);
}

/* With EPT on, the CPU takes the PDPTEs of PAE paging from the VMCS
 * (27.3.2.4); L1 without EPT has them loaded from its CR3 as on hardware,
 * at every entry. An unreadable table gives zeros: L2's accesses fault. */
static bool pae_pdptes(struct nested_cpu *n)
{
	const struct vmcs12 *v = &n->current;
	u64 cr0 = vmcs12_get(v, VMCS12_IDX_GUEST_CR0), cr4 = vmcs12_get(v, VMCS12_IDX_GUEST_CR4);
	u64 pdpte[4] = { 0 };
	if ((vmcs12_proc2(v) & PROC2_ENABLE_EPT) || !(cr0 & CR0_PG) || !(cr4 & CR4_PAE) ||
	    (vmcs12_get(v, VMCS12_IDX_VM_ENTRY_CONTROLS) & ENTRY_IA32E_MODE_GUEST))
		return false;
	guest_phys_read(l1_gpa(vmcs12_get(v, VMCS12_IDX_GUEST_CR3) & ~0x1full), pdpte, sizeof(pdpte));
	for (u32 i = 0; i < 4; i++)
		n->vmcs02[VMCS12_IDX_GUEST_PDPTE0 + i] = pdpte[i];
	return true;
}

/* The fields L1 has (L1's capabilities are fixed per CPU), by handling,
 * and those a reflected exit copies back (l2_exit.c). */
static void field_lists(struct nested_cpu *n)
{
	struct vmcs02_fields *l = &n->lists;
	for (u32 i = 0; i < VMCS12_N_FIELDS; i++) {
		u16 props = vmcs12_fields[i].props;
		bool state = (props & VF_GUEST) && (props & (VF_COPY | VF_XLATE)) && i != VMCS12_IDX_VMCS_LINK_POINTER;
		bool info = (props & VF_RO) && (props & VF_COPY);
		if (props & (VF_CTRL | VF_HOST))
			l->checked_mask[i / 64] |= 1ull << (i % 64);
		if ((state || info || i == VMCS12_IDX_GUEST_PHYSICAL_ADDRESS) && l1_field_exists(&n->caps, &vmcs12_fields[i].exists))
			l->saved[l->n_saved++] = (struct vmcs12_slot){ (u16)i, (u16)vmcs12_fields[i].encoding };
		if (!vmcs02_field_written(&n->caps, i))
			continue;
		if (props & VF_COPY) {
			l->copy[l->n_copy++] = (u16)i;
			l->copy_mask[i / 64] |= 1ull << (i % 64);
		} else if (props & VF_GPADDR)
			l->gpaddr[l->n_gpaddr++] = (u16)i;
		else if (props & VF_L0)
			l->l0[l->n_l0++] = (u16)i;
		else
			l->xlate[l->n_xlate++] = (u16)i;
	}
}

/* The EPT01 rights L1 needs on a GPADDR page: the CPU reads the I/O
 * bitmaps and reads and writes the virtual-APIC page by their physical
 * addresses (26.6.4, 26.6.8), bypassing EPT01; it never accesses the
 * APIC-access page (30.4). */
static u64 gpaddr_rights(enum vmcs12_index i)
{
	if (i == VMCS12_IDX_VIRTUAL_APIC_PAGE_ADDR)
		return EPT_R | EPT_W;
	return i == VMCS12_IDX_APIC_ACCESS_ADDR ? 0 : EPT_R;
}

static bool is_io_bitmap(enum vmcs12_index i) { return i == VMCS12_IDX_IO_BITMAP_A || i == VMCS12_IDX_IO_BITMAP_B; }

/* A GPADDR field in use (its page is aligned: 27.2.1.1): the host page
 * EPT01 maps L1's page to (memprot_page), if EPT01 gives L1 the rights the
 * CPU's use needs. The APIC-access page needs none: its address is only
 * compared with the physical addresses of L2's accesses (30.4), so one
 * EPT01 does not map keeps L1's address, which no EPT02 entry reaches. An
 * I/O bitmap EPT01 denies (a PAL's lent page) is no failure: VMCS02 then
 * exits on every I/O and l2_exit.c reads that bitmap as all ones (every
 * port exits to L1); the field gets 0, never the denied page. Not in use:
 * 0. False: the virtual-APIC page, which the CPU reads and writes, where
 * EPT01 denies L1 that. */
static bool gpaddr_translate(struct nested_cpu *n, enum vmcs12_index i)
{
	u64 l1 = vmcs12_get(&n->current, i), need = gpaddr_rights(i);
	u64 leaf = memprot_page(this_cpu_index(), l1_gpa(l1));

	n->vmcs02[i] = 0;
	if (!gpaddr_used(&n->current, i))
		return true;
	if ((leaf & need) == need) {
		n->vmcs02[i] = leaf ? leaf & PT_ADDR_MASK : l1;
		return true;
	}
	if (is_io_bitmap(i)) {
		n->io_bitmaps_denied = true;
		return true;
	}
	pr_debug("nested: %s 0x%llx: a page EPT01 denies L1", vmcs12_fields[i].name, l1);
	return false;
}

/* The GPADDR fields, at VM entry and by the rewalk. */
static bool gpaddr_fields(struct nested_cpu *n)
{
	const struct vmcs02_fields *l = &n->lists;
	n->io_bitmaps_denied = false;
	for (u32 k = 0; k < l->n_gpaddr; k++)
		if (!gpaddr_translate(n, l->gpaddr[k]))
			return false;
	return true;
}

/* At VM entry a GPADDR field in use must also be L1's guest RAM (not the
 * hypervisor's, not MMIO, not past --mem): else VMfailValid(7). */
static bool gpaddr_in_guest_ram(const struct nested_cpu *n)
{
	const struct vmcs02_fields *l = &n->lists;
	for (u32 k = 0; k < l->n_gpaddr; k++) {
		enum vmcs12_index i = l->gpaddr[k];
		u64 l1 = vmcs12_get(&n->current, i);
		if (gpaddr_used(&n->current, i) &&
		    !guest_phys_ptr(l1_gpa(l1), PAGE_SIZE)) {
			pr_debug("nested: VM entry: %s 0x%llx is not guest RAM", vmcs12_fields[i].name, l1);
			return false;
		}
	}
	return true;
}

enum vm_insn_error vmcs02_prepare(struct nested_cpu *n)
{
	struct vmcs02_fields *l = &n->lists;
	if (!l->n_copy)
		field_lists(n);
	n->rewalk_pending = false; /* this translates everything; a change from here on asks again */
	n->l0.io_bitmaps = vmcs01_read(VMCS_CPU_BASED_VM_EXEC_CONTROL) & PROC_USE_IO_BITMAPS;
	n->l0.eptp = vmcs01_read(VMCS_EPT_POINTER);
	if (!gpaddr_in_guest_ram(n) || !gpaddr_fields(n))
		return VMERR_ENTRY_INVALID_CONTROLS;
	for (u32 k = 0; k < l->n_xlate; k++)
		if (!translate(n, l->xlate[k], &n->vmcs02[l->xlate[k]]))
			return VMERR_ENTRY_INVALID_CONTROLS;
	if (n->vmcs02_of != n->current.addr)
		for (u32 k = 0; k < l->n_l0; k++)
			n->vmcs02[l->l0[k]] = vmcs01_read(vmcs12_fields[l->l0[k]].encoding);
	debug_state(n);
	return 0;
}

static void write02(const struct nested_cpu *n, enum vmcs12_index i, u64 v) { vmcs02_write(vmcs12_fields[i].encoding, v); }

static void write_gpaddr_fields(const struct nested_cpu *n)
{
	for (u32 k = 0; k < n->lists.n_gpaddr; k++)
		write02(n, n->lists.gpaddr[k], n->vmcs02[n->lists.gpaddr[k]]);
}

/* VMCS02 after a VM exit holds VMCS12's guest state (l2_exit.c saved it):
 * for the same VMCS12 only what L1 wrote since is written again, with
 * the translated fields, GPADDR fields and L1's debug controls. */
void vmcs02_load(struct nested_cpu *n)
{
	struct vmcs12 *v = &n->current;
	const struct vmcs02_fields *l = &n->lists;
	hpa_t region = vmcs02_region();
	bool all = n->vmcs02_of != v->addr;

	if (!n->vmcs02_launched) {
		*(u32 *)vmcs02_regions[this_cpu_index()] = (u32)(l1_msr(&n->caps, MSR_IA32_VMX_BASIC) & VMX_BASIC_REVISION_MASK);
		if (!vmcs_clear(region))
			panic("nested: cpu %u: VMCLEAR of VMCS02 failed", this_cpu_index());
	}
	if (!vmcs_make_current(region))
		panic("nested: cpu %u: VMPTRLD of VMCS02 failed", this_cpu_index());
	for (u32 k = 0; all && k < l->n_copy; k++)
		write02(n, l->copy[k], vmcs12_get(v, l->copy[k]));
	for (u32 w = 0; !all && w < VMCS12_DIRTY_WORDS; w++)
		for (u64 bits = v->dirty[w] & l->copy_mask[w]; bits; bits &= bits - 1) {
			enum vmcs12_index i = w * 64 + (u32)__builtin_ctzll(bits);
			write02(n, i, vmcs12_get(v, i));
		}
	write_gpaddr_fields(n);
	for (u32 k = 0; all && k < l->n_l0; k++)
		write02(n, l->l0[k], n->vmcs02[l->l0[k]]);
	for (u32 k = 0; k < l->n_xlate; k++)
		write02(n, l->xlate[k], n->vmcs02[l->xlate[k]]);
	write02(n, VMCS12_IDX_GUEST_DR7, n->vmcs02[VMCS12_IDX_GUEST_DR7]);
	write02(n, VMCS12_IDX_GUEST_IA32_DEBUGCTL, n->vmcs02[VMCS12_IDX_GUEST_IA32_DEBUGCTL]);
	if (pae_pdptes(n))
		for (u32 i = 0; i < 4; i++)
			write02(n, VMCS12_IDX_GUEST_PDPTE0 + i, n->vmcs02[VMCS12_IDX_GUEST_PDPTE0 + i]);
	memset(v->dirty, 0, sizeof(v->dirty));
	n->vmcs02_of = v->addr;
}

/* VMCS02 is current and L2 runs: the GPADDR fields and the EPTP again from
 * VMCS12 and this CPU's EPT01, written into VMCS02; the primary controls
 * too if an I/O bitmap's page became denied or usable again. Nothing else. */
bool vmcs02_rewalk(struct nested_cpu *n)
{
	enum vmcs12_index proc = VMCS12_IDX_CPU_BASED_VM_EXEC_CONTROL, eptp = VMCS12_IDX_EPT_POINTER;
	if (!gpaddr_fields(n))
		return false;
	write_gpaddr_fields(n);
	n->vmcs02[eptp] = eptp02(n);
	write02(n, eptp, n->vmcs02[eptp]);
	u64 proc_now = proc02(n);
	if (proc_now != n->vmcs02[proc]) {
		n->vmcs02[proc] = proc_now;
		write02(n, proc, proc_now);
	}
	evlog_count(rewalks);
	evlog_add(EVLOG_rewalk_fields, n->lists.n_gpaddr + 1);
	return true;
}
