/* EPT02: the EPT the CPU walks while L2 runs, L1's EPT12 composed with
 * EPT01 (docs/nested.md "EPT02"). Built lazily: an EPT violation of L2 on
 * a page EPT02 lacks goes to ept02_fault, which walks EPT12 in L1's memory
 * (SDM Vol. 3 29.3.2) and gives the page the rights both allow. Per CPU, a
 * few roots are kept, one per EPTP12 (least recently used one recycled).
 * Each function runs on cpu itself: only it touches its EPT02s. */
#ifndef NESTED_EPT02_H
#define NESTED_EPT02_H

#include <xmhf/nested.h>
#include <xmhf/types.h>

enum ept02_result {
	EPT02_MAPPED,            /* EPT02 maps the page now: resume L2 */
	EPT02_REFLECT_VIOLATION, /* EPT12 denies the access: an EPT violation for L1 */
	EPT02_REFLECT_MISCONFIG, /* an EPT12 entry is misconfigured (29.3.3.1): for L1 */
	EPT02_L0_DENIED,         /* EPT12 gives an L1 page EPT01 does not give L1 */
};

struct ept02_fault_info {
	u64 exit_qualification; /* for REFLECT_VIOLATION: L1's qualification (28.2.1 Table 28-7) */
	l1_gpa_t l1_gpa;        /* where EPT12 maps the L2 page (MAPPED, L0_DENIED) */
};

/* The EPTP to run L2 with for L1's EPTP12 (validated by the caller against
 * L1's EPT capabilities): its cached EPT02 or a new, empty one. */
u64 ept02_eptp(u32 cpu, u64 eptp12);
/* An EPT violation of L2 at gpa with the CPU's exit qualification. */
enum ept02_result ept02_fault(u32 cpu, u64 eptp12, l2_gpa_t gpa, u64 exit_qualification,
			      struct ept02_fault_info *out);
/* EPT12's translation of gpa for an access of 'access' (EPT_R/W/X): false if EPT12 does not
 * map it with those rights (not present, misconfigured, an EPT12 table outside guest RAM). */
bool ept12_translate(u64 eptp12, l2_gpa_t gpa, u64 access, l1_gpa_t *out);
/* L1's INVEPT (32.3 INVEPT): one EPTP12's translations, or all of cpu's. */
void ept02_invalidate(u32 cpu, u64 eptp12);
void ept02_invalidate_all(u32 cpu);
/* EPT01 changed (nested_ept01_changed): the EPT02 leaves built from the
 * changed pages are dropped, every EPT02 if changes->all (or always with
 * --ept02-full-drop); INVEPT of the roots that had one. */
void ept02_invalidate_changed(u32 cpu, const struct ept01_changes *changes);

#endif
