/* Hardware VMCS shadowing for L1's VMREAD/VMWRITE (docs/nested.md "VMCS
 * shadowing"; SDM Vol. 3 25.10, 26.6.15, 27.3.1.5, 32.3 VMREAD/VMWRITE).
 * While a VMCS12 is current and the CPU offers shadowing, VMCS01 has
 * "VMCS shadowing" on and its VMCS link pointer at this CPU's shadow VMCS:
 * L1's VMREAD of a field L1 has and VMWRITE of a field copied as is do not
 * exit, they reach the shadow VMCS. The cached VMCS12 (vmcs12.h) and the
 * shadow VMCS are kept coherent: what L0 changes in the cache (its
 * 'stale' bits) goes into the shadow before L1 runs (shadow_flush), what
 * L1 may have written without an exit comes back before L0 reads the
 * cache (shadow_sync). */
#ifndef NESTED_SHADOW_H
#define NESTED_SHADOW_H

#include <nested/caps.h>
#include <nested/vmcs12.h>

struct shadow_state {
	bool checked;  /* the CPU's capabilities were looked at */
	bool offered;  /* the CPU has VMCS shadowing: bitmaps and shadow VMCS set up */
	bool active;   /* VMCS01 uses the shadow VMCS (a VMCS12 is current) */
	u64 reads[VMCS12_DIRTY_WORDS]; /* by table index: VMREAD does not exit */
	u16 n_writes;
	struct vmcs12_slot writes[VMCS12_N_FIELDS]; /* the fields VMWRITE reaches without an exit */
};

/* Whether L1's VMREAD (VMWRITE) of field i goes to the shadow VMCS: every
 * field L1 has that nested VMX keeps (not ignored, not unsupported) for
 * VMREAD, read-only exit information only where the CPU lets L0 write it
 * into the shadow (IA32_VMX_MISC[29], vmwrite_any); for VMWRITE only the
 * table's hot fields (VF_HOT), no read-only data. Each VMWRITE-shadowed
 * field costs a VMREAD at every shadow_sync, an exit costs thousands of
 * ticks: the fields L1 hypervisors write before every VM entry are
 * shadowed, the others (written when they change) exit and are emulated
 * (the same cache, dirty and stale bits). Any handling is fine for a hot
 * field: VMWRITE emulation has no side effect beyond the cache, and what
 * L0 derives from a field (VMCS02, the entry checks, the host state of a
 * reflected exit) it reads from the cache after shadow_sync. */
bool shadow_reads(const struct l1_caps *c, enum vmcs12_index i, bool vmwrite_any);
bool shadow_writes(const struct l1_caps *c, enum vmcs12_index i, bool vmwrite_any);

struct nested_cpu;
/* A VMCS12 became current (VMPTRLD): shadowing on, with every field of
 * the new VMCS12 to go into the shadow at the next shadow_flush. */
void shadow_attach(struct nested_cpu *n);
/* The current VMCS12 stops being current (VMCLEAR of it, VMXOFF): L1's
 * writes to the shadow into the cache, then shadowing off (link pointer
 * ~0). */
void shadow_detach(struct nested_cpu *n);
/* Before L0 reads the cache: the fields L1 can VMWRITE without an exit,
 * from the shadow VMCS into the cache (a changed one marked dirty for
 * VMCS02). VMCS01 is current before and after. */
void shadow_sync(struct nested_cpu *n);
/* Before L1 runs again: if L1 is in VMX root (VMCS01 current), the fields
 * L0 changed in the cache into the shadow VMCS; while L2 runs nothing
 * (the next exit to L1 does it). */
void shadow_flush(struct nested_cpu *n);

#endif
