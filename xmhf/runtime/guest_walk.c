/* Guest linear-address translation (SDM Vol. 3 chapter 4): see
 * runtime/guest_walk.h. */
#include <runtime/ept01.h>
#include <runtime/guest_ram.h>
#include <runtime/guest_walk.h>
#include <runtime/percpu.h>
#include <runtime/vmx_ops.h>
#include <xmhf/cpu.h>
#include <xmhf/nested.h>
#include <xmhf/paging.h>
#include <xmhf/string.h>
#include <xmhf/vmx.h>

#define PSE_PDE_RSVD BIT(21)           /* 4 MiB PDE (Table 4-4) */
#define PSE_PDE_HIGH(e) (((e) >> 13) & 0xff) /* physical-address bits 39:32 */
#define PAE_HIGH_RSVD 0x7ff0000000000000ull /* bits 62:52 of PAE entries (Tables 4-9..4-11) */

void guest_paging_current(struct guest_paging *pg)
{
	pg->cr0 = vmread(VMCS_GUEST_CR0);
	pg->cr3 = vmread(VMCS_GUEST_CR3);
	pg->cr4 = vmread(VMCS_GUEST_CR4);
	pg->efer = vmread(VMCS_GUEST_IA32_EFER);
	for (u32 i = 0; i < 4; i++)
		pg->pdpte[i] = vmread(VMCS_GUEST_PDPTE0 + 2 * i);
	pg->phys_addr_mask = this_cpu()->mtrr.phys_addr_mask;
	pg->ept12 = nested_caller_ept12();
}

/* A guest-physical address of the walk as L1's: an L2's on EPT12 only where EPT12 maps it with
 * 'ept_access' (SDM Vol. 3 29.3.3.2: the CPU's paging-structure accesses need read and, for
 * the A/D updates, write). */
static bool l1_of(const struct guest_paging *pg, u64 gpa, u64 ept_access, l1_gpa_t *out)
{
	if (!pg->ept12) {
		*out = l1_gpa(gpa);
		return true;
	}
	return nested_l2_gpa_to_l1(l2_gpa(gpa), ept_access, out);
}

static u64 ept_access_of(u32 access)
{
	return access & GW_WRITE ? EPT_R | EPT_W : access & GW_FETCH ? EPT_X : EPT_R;
}

/* One walk: the entries it used (for A/D, 4.8) and the rights it found. */
struct walk {
	const struct guest_paging *pg;
	u64 la;
	u32 access;
	bool wide;              /* 8-byte entries (PAE, 4-level) */
	void *used[PT_LEVELS];
	u32 n_used;
	bool user, writable, nx; /* U/S and R/W of every level, XD of any (4.6) */
};

static bool nxe(const struct walk *w) { return w->wide && (w->pg->efer & EFER_NXE); }

static enum gw_result page_fault(const struct walk *w, u32 code, struct gw_fault *f)
{
	/* 4.7: W, U and I/D describe the access; I/D only with XD or SMEP */
	if (w->access & GW_WRITE)
		code |= PFEC_W;
	if (w->access & GW_USER)
		code |= PFEC_U;
	if ((w->access & GW_FETCH) && (nxe(w) || (w->pg->cr4 & CR4_SMEP)))
		code |= PFEC_I;
	f->error_code = code;
	f->addr = w->la;
	return GW_PAGE_FAULT;
}

/* Reserved bits of an entry at 'level' that maps 'shift' bits (4.5 tables). */
static u64 reserved_bits(const struct walk *w, u64 e, unsigned level, unsigned shift, bool large)
{
	const struct guest_paging *pg = w->pg;
	if (!w->wide) /* 32-bit paging: only a 4 MiB PDE has reserved bits (Table 4-4) */
		return large ? e & (PSE_PDE_RSVD | (((~pg->phys_addr_mask >> 32) & 0xff) << 13)) : 0;
	u64 rsv = PT_ADDR_MASK & ~pg->phys_addr_mask;
	if (!nxe(w))
		rsv |= PTE_NX;
	if (!(pg->efer & EFER_LMA))
		rsv |= PAE_HIGH_RSVD;
	if (level == 4)
		rsv |= PTE_PS;
	if (large)
		rsv |= (BIT(shift) - 1) & ~(u64)0x1fff; /* between PAT (bit 12) and the frame */
	return rsv & e;
}

/* Whether the rights found allow the access (4.6.1); implicit supervisor
 * accesses (no GW_USER) are subject to SMAP regardless of EFLAGS.AC. */
static bool rights_allow(const struct walk *w)
{
	u64 cr4 = w->pg->cr4;
	bool write = w->access & GW_WRITE, fetch = w->access & GW_FETCH;
	if (fetch && w->nx)
		return false;
	if (w->access & GW_USER)
		return w->user && (!write || w->writable);
	if (w->user && (fetch ? (cr4 & CR4_SMEP) : (cr4 & CR4_SMAP)))
		return false;
	return !write || w->writable || !(w->pg->cr0 & CR0_WP);
}

/* 4.8: accessed flags of every entry used, dirty flag of the leaf. */
static void set_accessed_dirty(const struct walk *w)
{
	for (u32 i = 0; i < w->n_used; i++) {
		u64 bits = PTE_A | ((i + 1 == w->n_used && (w->access & GW_WRITE)) ? PTE_D : 0);
		if (w->wide)
			__atomic_fetch_or((u64 *)w->used[i], bits, __ATOMIC_SEQ_CST);
		else
			__atomic_fetch_or((u32 *)w->used[i], (u32)bits, __ATOMIC_SEQ_CST);
	}
}

/* Walk from the table at 'table', whose entries map 'level' (the top one
 * given), 'bits' index bits a level. Large pages at levels 2 and 3 (4-level
 * paging: 1 GiB pages are assumed supported), level 2 only with 32-bit
 * paging under CR4.PSE. */
static enum gw_result walk_tables(struct walk *w, u64 table, unsigned level, unsigned bits, l1_gpa_t *gpa,
				  struct gw_fault *f)
{
	u64 size = w->wide ? 8 : 4;
	u64 addr_mask = w->wide ? PT_ADDR_MASK & w->pg->phys_addr_mask : CR3_ADDR_32BIT;
	for (;; level--) {
		unsigned shift = PAGE_SHIFT + bits * (level - 1);
		u64 index = (w->la >> shift) & (BIT(bits) - 1);
		l1_gpa_t entry;
		void *p = l1_of(w->pg, table + index * size, EPT_R | EPT_W, &entry) ? guest_ram_ptr(entry, size) : NULL;
		if (!p)
			return GW_GP;
		u64 e = w->wide ? *(u64 *)p : *(u32 *)p;
		if (!(e & PTE_P))
			return page_fault(w, 0, f);
		bool large = level > 1 && (e & PTE_PS) &&
			     (w->wide ? level <= 3 : (w->pg->cr4 & CR4_PSE) != 0);
		if (reserved_bits(w, e, level, shift, large))
			return page_fault(w, PFEC_P | PFEC_RSVD, f);
		w->used[w->n_used++] = p;
		w->user &= !!(e & PTE_US);
		w->writable &= !!(e & PTE_RW);
		w->nx |= nxe(w) && (e & PTE_NX);
		if (level == 1 || large) {
			u64 frame = w->wide ? e & addr_mask & ~(BIT(shift) - 1)
					    : (e & ~(BIT(shift) - 1) & 0xffffffffull) | (large ? PSE_PDE_HIGH(e) << 32 : 0);
			*gpa = l1_gpa(frame | (w->la & (BIT(shift) - 1)));
			return GW_OK;
		}
		table = e & addr_mask;
	}
}

enum gw_result guest_translate(const struct guest_paging *pg, gva_t linear, u32 access, l1_gpa_t *gpa,
			       struct gw_fault *fault)
{
	struct walk w = { .pg = pg, .la = linear.v, .access = access, .user = true, .writable = true };
	bool lma = pg->efer & EFER_LMA;
	enum gw_result r;

	if (!lma)
		w.la = (u32)w.la; /* 32-bit linear addresses outside IA-32e mode */
	if (!(pg->cr0 & CR0_PG))
		return l1_of(pg, w.la, ept_access_of(access), gpa) ? GW_OK : GW_GP;
	if (!(pg->cr4 & CR4_PAE)) { /* 32-bit paging (4.3) */
		r = walk_tables(&w, pg->cr3 & CR3_ADDR_32BIT, 2, 10, gpa, fault);
	} else if (!lma) { /* PAE paging (4.4): the PDPTE registers, no A flag */
		u64 pdpte = pg->pdpte[(w.la >> 30) & 3];
		w.wide = true;
		if (!(pdpte & PTE_P))
			return page_fault(&w, 0, fault);
		r = walk_tables(&w, pdpte & PT_ADDR_MASK & pg->phys_addr_mask, 2, 9, gpa, fault);
	} else if (pg->cr4 & CR4_LA57) {
		return GW_UNSUPPORTED;
	} else { /* 4-level paging (4.5); non-canonical addresses are #GP (3.3.7.1) */
		if ((u64)((i64)(w.la << 16) >> 16) != w.la)
			return GW_GP;
		w.wide = true;
		r = walk_tables(&w, pg->cr3 & PT_ADDR_MASK & pg->phys_addr_mask, 4, 9, gpa, fault);
	}
	if (r != GW_OK)
		return r;
	if (!rights_allow(&w))
		return page_fault(&w, PFEC_P, fault);
	if (!l1_of(pg, gpa->v, ept_access_of(access), gpa))
		return GW_GP;
	set_accessed_dirty(&w);
	return GW_OK;
}

/* Translate every page of [linear, linear+len), then (copy) copy. */
static enum gw_result linear_copy(const struct guest_paging *pg, gva_t linear, u8 *buf, u64 len, u32 access,
				  struct gw_fault *fault, bool copy)
{
	for (u64 done = 0; done < len;) {
		u64 la = linear.v + done;
		u64 chunk = PAGE_SIZE - (la & (PAGE_SIZE - 1));
		l1_gpa_t gpa;
		if (chunk > len - done)
			chunk = len - done;
		enum gw_result r = guest_translate(pg, gva(la), access, &gpa, fault);
		if (r != GW_OK)
			return r;
		u8 *p = guest_ram_ptr(gpa, chunk);
		if (!p)
			return GW_GP;
		if (copy && (access & GW_WRITE))
			memcpy(p, buf + done, chunk);
		else if (copy)
			memcpy(buf + done, p, chunk);
		done += chunk;
	}
	return GW_OK;
}

enum gw_result guest_linear_probe(const struct guest_paging *pg, gva_t linear, u64 len, u32 access,
				  struct gw_fault *fault)
{
	return linear_copy(pg, linear, NULL, len, access, fault, false);
}

enum gw_result guest_linear_read(const struct guest_paging *pg, gva_t linear, void *buf, u64 len, u32 access,
				 struct gw_fault *fault)
{
	access &= ~GW_WRITE;
	enum gw_result r = guest_linear_probe(pg, linear, len, access, fault);
	return r == GW_OK ? linear_copy(pg, linear, buf, len, access, fault, true) : r;
}

enum gw_result guest_linear_write(const struct guest_paging *pg, gva_t linear, const void *buf, u64 len,
				  u32 access, struct gw_fault *fault)
{
	access |= GW_WRITE;
	enum gw_result r = guest_linear_probe(pg, linear, len, access, fault);
	return r == GW_OK ? linear_copy(pg, linear, (u8 *)buf, len, access, fault, true) : r;
}

#define PDPTE_RESERVED 0x1e6ull /* bits 2:1 and 8:5 */

bool guest_pae_pdptes(u64 cr3, u64 phys_addr_mask, u64 pdpte[4])
{
	const u64 *src = guest_ram_ptr(l1_gpa(cr3 & CR3_ADDR_PAE), 4 * sizeof(u64));
	u64 reserved = PDPTE_RESERVED | ~phys_addr_mask;
	for (u32 i = 0; i < 4; i++) {
		pdpte[i] = src ? src[i] : 0;
		if ((pdpte[i] & PTE_P) && (pdpte[i] & reserved))
			return false;
	}
	return true;
}

/* xmhf/guest.h: the current paging state */
enum gw_result guest_virt_read(gva_t linear, void *buf, u64 len, u32 access, struct gw_fault *fault)
{
	struct guest_paging pg;
	guest_paging_current(&pg);
	return guest_linear_read(&pg, linear, buf, len, access, fault);
}

enum gw_result guest_virt_write(gva_t linear, const void *buf, u64 len, u32 access, struct gw_fault *fault)
{
	struct guest_paging pg;
	guest_paging_current(&pg);
	return guest_linear_write(&pg, linear, buf, len, access, fault);
}

enum gw_result guest_virt_translate(gva_t linear, u32 access, l1_gpa_t *gpa, struct gw_fault *fault)
{
	struct guest_paging pg;
	guest_paging_current(&pg);
	enum gw_result r = guest_translate(&pg, linear, access, gpa, fault);
	return r == GW_OK && !guest_ram_contains(*gpa, 1) ? GW_GP : r;
}

void *guest_phys_ptr(l1_gpa_t gpa, u64 size) { return guest_ram_ptr(gpa, size); }

bool guest_phys_zero_page(l1_gpa_t gpa)
{
	void *p = guest_ram_ptr(l1_gpa(ALIGN_DOWN(gpa.v, PAGE_SIZE)), PAGE_SIZE);
	if (p)
		memset(p, 0, PAGE_SIZE);
	return p != NULL;
}

void guest_inject_fault(enum gw_result r, const struct gw_fault *fault)
{
	if (r == GW_PAGE_FAULT) {
		write_cr2(fault->addr); /* CR2 is not switched by VM entry (SDM Vol. 3 27.3) */
		inject_exception(VECTOR_PF, true, fault->error_code);
	} else if (r != GW_OK) {
		inject_gp0();
	}
}
