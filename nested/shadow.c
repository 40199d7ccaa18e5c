/* VMCS shadowing for L1's VMREAD/VMWRITE (nested/shadow.h): per CPU one
 * shadow VMCS and the VMREAD/VMWRITE bitmaps, derived from the field table. */
#include <nested/cpu.h>
#include <xmhf/cpu.h>
#include <xmhf/nested.h>
#include <xmhf/panic.h>
#include <xmhf/string.h>

enum { SHADOW_VMCS, VMREAD_BITMAP, VMWRITE_BITMAP, SHADOW_PAGES };
static u8 shadow_pages[CONFIG_MAX_CPUS][SHADOW_PAGES][PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));

static hpa_t shadow_page(u32 which) { return hpa((u64)shadow_pages[this_cpu_index()][which]); }

bool shadow_reads(const struct l1_caps *c, enum vmcs12_index i, bool vmwrite_any)
{
	const struct vmcs12_field *f = &vmcs12_fields[i];
	return !(f->props & (VF_IGNORED | VF_UNSUPP)) && (vmwrite_any || !(f->props & VF_RO)) &&
	       l1_field_exists(c, &f->exists);
}

bool shadow_writes(const struct l1_caps *c, enum vmcs12_index i, bool vmwrite_any)
{
	const struct vmcs12_field *f = &vmcs12_fields[i];
	return (f->props & VF_HOT) && !(f->props & VF_RO) && shadow_reads(c, i, vmwrite_any);
}

/* 26.6.15: bit x of a bitmap is the field whose encoding has bits 14:0 =
 * x; a clear bit lets the access reach the shadow VMCS. A 64-bit field's
 * high access (encoding + 1) is shadowed with it. */
static void bitmap_clear(u8 *bitmap, u32 encoding)
{
	for (u32 e = encoding; e <= (VMCS_ENC_WIDTH(encoding) == W64 ? encoding + 1 : encoding); e++)
		bitmap[e / 8] &= (u8)~(1u << (e % 8));
}

static bool cpu_offers_shadowing(void)
{
	return (vmx_ctl_allowed1(rdmsr(MSR_IA32_VMX_PROCBASED_CTLS)) & PROC_ACTIVATE_SECONDARY) &&
	       (vmx_ctl_allowed1(rdmsr(MSR_IA32_VMX_PROCBASED_CTLS2)) & PROC2_VMCS_SHADOWING);
}

/* Once per CPU: the field sets and bitmaps from the table, the shadow VMCS
 * (revision with the shadow-VMCS indicator, 25.10) cleared, VMCS01's
 * bitmap addresses. */
static void shadow_setup(struct nested_cpu *n)
{
	struct shadow_state *s = &n->shadow;
	u8(*pages)[PAGE_SIZE] = shadow_pages[this_cpu_index()];
	s->checked = true;
	if (!cpu_offers_shadowing())
		return;
	bool any = rdmsr(MSR_IA32_VMX_MISC) & VMX_MISC_VMWRITE_ANY_FIELD;
	memset(pages[VMREAD_BITMAP], 0xff, PAGE_SIZE);
	memset(pages[VMWRITE_BITMAP], 0xff, PAGE_SIZE);
	for (u32 i = 0; i < VMCS12_N_FIELDS; i++) {
		if (!shadow_reads(&n->caps, i, any))
			continue;
		s->reads[i / 64] |= 1ull << (i % 64);
		bitmap_clear(pages[VMREAD_BITMAP], vmcs12_fields[i].encoding);
		if (shadow_writes(&n->caps, i, any)) {
			s->writes[s->n_writes++] = (struct vmcs12_slot){ (u16)i, (u16)vmcs12_fields[i].encoding };
			bitmap_clear(pages[VMWRITE_BITMAP], vmcs12_fields[i].encoding);
		}
	}
	*(u32 *)pages[SHADOW_VMCS] = (u32)(rdmsr(MSR_IA32_VMX_BASIC) & VMX_BASIC_REVISION_MASK) | VMCS_SHADOW_INDICATOR;
	if (!vmcs_clear(shadow_page(SHADOW_VMCS)))
		panic("nested: cpu %u: VMCLEAR of the shadow VMCS failed", this_cpu_index());
	vmcs01_write(VMCS_VMREAD_BITMAP, shadow_page(VMREAD_BITMAP).v);
	vmcs01_write(VMCS_VMWRITE_BITMAP, shadow_page(VMWRITE_BITMAP).v);
	s->offered = true;
}

/* VMCS01's shadowing control and link pointer (26.6.2, 26.4.2). */
static void vmcs01_shadowing(bool on)
{
	u64 proc2 = vmcs01_read(VMCS_SECONDARY_VM_EXEC_CONTROL) & ~(u64)PROC2_VMCS_SHADOWING;
	vmcs01_write(VMCS_SECONDARY_VM_EXEC_CONTROL, on ? proc2 | PROC2_VMCS_SHADOWING : proc2);
	vmcs01_write(VMCS_VMCS_LINK_POINTER, on ? shadow_page(SHADOW_VMCS).v : VMCS12_NONE);
}

static void make_current(hpa_t region, const char *what)
{
	if (!vmcs_make_current(region))
		panic("nested: cpu %u: VMPTRLD of %s failed", this_cpu_index(), what);
}

void shadow_attach(struct nested_cpu *n)
{
	if (!n->shadow.checked)
		shadow_setup(n);
	if (!n->shadow.offered || n->shadow.active)
		return;
	vmcs01_shadowing(true);
	n->shadow.active = true;
}

void shadow_detach(struct nested_cpu *n)
{
	if (!n->shadow.active)
		return;
	shadow_sync(n);
	vmcs01_shadowing(false);
	n->shadow.active = false;
}

void shadow_sync(struct nested_cpu *n)
{
	struct vmcs12 *v = &n->current;
	if (!n->shadow.active)
		return;
	make_current(shadow_page(SHADOW_VMCS), "the shadow VMCS");
	for (const struct vmcs12_slot *s = n->shadow.writes; s < n->shadow.writes + n->shadow.n_writes; s++) {
		u64 value = vmcs02_read(s->encoding);
		if (value != v->value[s->index]) { /* L1's write: the CPU kept the field's width (26.11.2) */
			v->value[s->index] = value;
			vmcs12_mark_dirty(v, s->index);
		}
	}
	make_current(vmcs01_region(), "VMCS01");
}

void shadow_flush(struct nested_cpu *n)
{
	struct vmcs12 *v = &n->current;
	u64 pending = 0;
	if (!n->shadow.active || nested_mode(n) != VMX_MODE_L1_ROOT)
		return;
	for (u32 w = 0; w < VMCS12_DIRTY_WORDS; w++)
		pending |= v->stale[w] & n->shadow.reads[w];
	if (!pending)
		return;
	make_current(shadow_page(SHADOW_VMCS), "the shadow VMCS");
	for (u32 w = 0; w < VMCS12_DIRTY_WORDS; w++) {
		for (u64 bits = v->stale[w] & n->shadow.reads[w]; bits; bits &= bits - 1) {
			enum vmcs12_index i = w * 64 + (u32)__builtin_ctzll(bits);
			vmcs02_write(vmcs12_fields[i].encoding, v->value[i]);
		}
		v->stale[w] = 0;
	}
	make_current(vmcs01_region(), "VMCS01");
}
