/* Nested VMX state of one CPU (docs/nested.md "State"). */
#ifndef NESTED_CPU_H
#define NESTED_CPU_H

#include <nested/caps.h>
#include <nested/shadow.h>
#include <nested/vmcs12.h>
#include <nested/vpid02.h>

/* L1's VMX mode on this CPU (SDM Vol. 3 24.4 "VMX root/non-root
 * operation" as L1 sees it). One variable written with one store, so code
 * in NMI context (quiesce) never sees a state between two flags. */
enum vmx_mode {
	VMX_MODE_OFF,     /* L1 is not in VMX operation */
	VMX_MODE_L1_ROOT, /* L1 is in VMX root operation */
	VMX_MODE_L2,      /* L2 runs: VMCS02 is current */
};

/* VMCS02's controls while isolated code of an L2 caller runs (nested/isolation.c). */
struct vmcs02_isolation {
	bool saved;
	u64 pin, proc, proc2, exit_controls, timer, eptp;
};

struct nested_cpu {
	u32 mode;              /* enum vmx_mode: nested_set_mode only; the only field NMI context reads */
	u64 vmxon_ptr;         /* L1's VMXON pointer (VMX operation only) */
	struct l1_caps caps;   /* what L1 sees of VMX on this CPU */
	struct vmcs12 current; /* the current VMCS12, cached (addr VMCS12_NONE: none) */
	struct vpid02_map vpid02; /* L1's VPID12s -> the VPIDs L2 runs with here */
	struct shadow_state shadow; /* VMCS shadowing of the current VMCS12 (shadow.h) */
	bool vmcs02_launched;  /* this CPU's VMCS02 had a VM entry (VMRESUME, not VMLAUNCH) */
	u64 vmcs02_of;         /* the VMCS12 whose COPY fields VMCS02 holds (VMCS12_NONE: none) */
	u64 vmcs02[VMCS12_N_FIELDS]; /* computed values (L0, XLATE, GPADDR fields) by table index */
	struct {                     /* what VMCS02 takes from VMCS01, read at each VM entry of L1 */
		bool io_bitmaps;     /* L0 watches I/O ports: every L2 I/O exits */
		u64 eptp;            /* EPT01's EPTP */
	} l0;
	bool io_bitmaps_denied;      /* an I/O bitmap of L1's in use is on a page EPT01 denies L1 */
	bool rewalk_pending;         /* EPT01 changed since the GPADDR fields were translated */
	struct vmcs02_fields {       /* the fields L1 has, by handling (derived once from caps) */
		u16 n_copy, n_gpaddr, n_l0, n_xlate, n_saved;
		u16 copy[VMCS12_N_FIELDS], gpaddr[VMCS12_N_FIELDS], l0[VMCS12_N_FIELDS], xlate[VMCS12_N_FIELDS];
		u64 copy_mask[VMCS12_DIRTY_WORDS]; /* the copy list by table index */
		u64 checked_mask[VMCS12_DIRTY_WORDS]; /* the controls and host state: what 27.2 checks */
		struct vmcs12_slot saved[VMCS12_N_FIELDS]; /* what a reflected exit copies back: guest state, exit information */
	} lists;
	struct vmcs02_isolation isolation;
};

/* This CPU's nested state. */
struct nested_cpu *nested_cpu(void);

static inline enum vmx_mode nested_mode(const struct nested_cpu *n)
{
	return (enum vmx_mode)__atomic_load_n(&n->mode, __ATOMIC_SEQ_CST);
}
/* Every other field the new mode depends on is written before. */
static inline void nested_set_mode(struct nested_cpu *n, enum vmx_mode mode)
{
	__atomic_store_n(&n->mode, (u32)mode, __ATOMIC_SEQ_CST);
}

#endif
