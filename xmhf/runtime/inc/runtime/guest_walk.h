/* Guest linear-address translation as the CPU performs it (SDM Vol. 3
 * chapter 4): paging off, 32-bit paging (4 KiB and, with CR4.PSE, 4 MiB
 * pages), PAE paging with the PDPTE registers (the VMCS PDPTE fields,
 * 4.4.1 and 28.3.1) and 4-level paging; 5-level paging (CR4.LA57) is
 * refused. Used for the CPU's accesses the hypervisor emulates (the
 * implicit supervisor accesses to the GDT and TSS of a task switch). Guest
 * memory is reached only through guest_ram_ptr: what is not guest RAM
 * (the hypervisor's range, MMIO, above --mem) is never read or written. Not modelled: protection keys (4.6.2) and the
 * memory types of the accesses. */
#ifndef RUNTIME_GUEST_WALK_H
#define RUNTIME_GUEST_WALK_H

#include <xmhf/guest.h> /* GW_* access kinds, results, faults */
#include <xmhf/x86/events.h> /* PFEC_* */

/* The paging state a translation uses (the guest's real CR0/CR3/CR4/EFER). */
struct guest_paging {
	u64 cr0, cr3, cr4, efer;
	u64 pdpte[4];       /* PAE paging: the PDPTE registers */
	u64 phys_addr_mask; /* (1 << MAXPHYADDR) - 1 */
	bool ept12;         /* an L2's, whose L1 uses EPT: its guest-physical addresses (tables and
			     * result) are L1's through nested_l2_gpa_to_l1 (xmhf/nested.h) */
};

/* The current guest's paging state, from the VMCS. */
void guest_paging_current(struct guest_paging *pg);

/* Load the four PAE PDPTEs for CR3 (SDM Vol. 3 4.4.1) into pdpte[]:
 * false if a present one has a reserved bit set (Table 4-8: bits 2:1, 8:5
 * and MAXPHYADDR and up), which is #GP(0) for the instruction that loads
 * them. What is not guest RAM reads as zeros. */
bool guest_pae_pdptes(u64 cr3, u64 phys_addr_mask, u64 pdpte[4]);

/* The guest-physical address of 'linear' for an access of kind 'access',
 * setting the accessed flags of the entries used and, for a write, the
 * dirty flag of the leaf (4.8), only when the translation succeeds. */
enum gw_result guest_translate(const struct guest_paging *pg, gva_t linear, u32 access, l1_gpa_t *gpa,
			       struct gw_fault *fault);

/* Copy len bytes at guest linear 'linear' to or from buf, crossing pages.
 * Every page is translated (and checked against the hypervisor's range)
 * before any byte is copied: on failure the guest memory is unchanged
 * (apart from A/D flags of the pages that translated). */
enum gw_result guest_linear_read(const struct guest_paging *pg, gva_t linear, void *buf, u64 len, u32 access,
				 struct gw_fault *fault);
enum gw_result guest_linear_write(const struct guest_paging *pg, gva_t linear, const void *buf, u64 len,
				  u32 access, struct gw_fault *fault);
/* Translate every page of [linear, linear+len) for 'access' (A/D flags as
 * an access would), copying nothing: whether the access would succeed. */
enum gw_result guest_linear_probe(const struct guest_paging *pg, gva_t linear, u64 len, u32 access,
				  struct gw_fault *fault);

#endif
