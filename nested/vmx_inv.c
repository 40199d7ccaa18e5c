/* INVEPT and INVVPID (SDM Vol. 3 32.3). INVEPT drops this CPU's EPT02s
 * built from the EPT12s it names (nested/ept02.h); INVVPID invalidates the
 * VPID02s of the VPID12s it names (nested/vpid02.h). */
#include <nested/ept02.h>
#include <nested/vpid02.h>
#include <nested/vmx_insn.h>
#include <xmhf/guest.h>

/* EPTP (SDM Vol. 3 26.6.11, checked as VM entry does, 28.2.1.1) */
#define EPTP_MEMTYPE(e) ((e) & 7)
#define EPTP_MEMTYPE_UC 0
#define EPTP_MEMTYPE_WB 6
#define EPTP_WALK_LENGTH(e) (((e) >> 3) & 7) /* levels - 1 */
#define EPTP_WALK_4_LEVELS 3
#define EPTP_AD BIT(6)
#define EPTP_SUPERVISOR_SHADOW_STACK BIT(7)
#define EPTP_RESERVED_11_8 0xf00ull

#define INVVPID_DESC_VPID_MASK 0xffffull

struct inv_descriptor {
	u64 low, high; /* INVEPT: EPTP, reserved; INVVPID: VPID in 15:0 (63:16 reserved), linear address */
};

static u64 ept_vpid_cap(const struct l1_caps *c) { return l1_msr(c, MSR_IA32_VMX_EPT_VPID_CAP); }

bool vmx_invept_supported(const struct l1_caps *c)
{
	return l1_allows(c, CAP_PROC2, PROC2_ENABLE_EPT) && (ept_vpid_cap(c) & EPT_CAP_INVEPT);
}

bool vmx_invvpid_supported(const struct l1_caps *c)
{
	return l1_allows(c, CAP_PROC2, PROC2_ENABLE_VPID) && (ept_vpid_cap(c) & VPID_CAP_INVVPID);
}

/* Whether VM entry would accept this EPTP (L1's EPT_VPID_CAP: 4-level
 * walks, no A/D, no supervisor shadow stack). */
static bool eptp_valid(const struct l1_caps *c, u64 eptp)
{
	u64 cap = ept_vpid_cap(c);
	bool memtype = (EPTP_MEMTYPE(eptp) == EPTP_MEMTYPE_UC && (cap & EPT_CAP_UC)) ||
		       (EPTP_MEMTYPE(eptp) == EPTP_MEMTYPE_WB && (cap & EPT_CAP_WB));
	return memtype && EPTP_WALK_LENGTH(eptp) == EPTP_WALK_4_LEVELS &&
	       !(eptp & (EPTP_AD | EPTP_SUPERVISOR_SHADOW_STACK | EPTP_RESERVED_11_8)) && !(eptp >> l1_maxphyaddr());
}

void vmx_invept(struct nested_cpu *n, const struct vmx_insn *in)
{
	u64 type = insn_reg_read(in, INSN_INFO_REG2(in->info)), cap = ept_vpid_cap(&n->caps);
	struct inv_descriptor desc;
	bool supported = (type == INVEPT_SINGLE_CONTEXT && (cap & EPT_CAP_INVEPT_SINGLE)) ||
			 (type == INVEPT_ALL_CONTEXT && (cap & EPT_CAP_INVEPT_ALL));
	if (!supported) {
		vm_fail(n, VMERR_INVALID_INVEPT_INVVPID);
		return;
	}
	if (!insn_mem_read(in, &desc, sizeof(desc)))
		return;
	if (type == INVEPT_SINGLE_CONTEXT && !eptp_valid(&n->caps, desc.low)) {
		vm_fail(n, VMERR_INVALID_INVEPT_INVVPID);
		return;
	}
	if (type == INVEPT_SINGLE_CONTEXT)
		ept02_invalidate(this_cpu_index(), desc.low);
	else
		ept02_invalidate_all(this_cpu_index());
	vm_succeed();
}

void vmx_invvpid(struct nested_cpu *n, const struct vmx_insn *in)
{
	u64 type = insn_reg_read(in, INSN_INFO_REG2(in->info));
	struct inv_descriptor desc;
	if (type > INVVPID_SINGLE_CONTEXT_RETAINING_GLOBALS ||
	    !(ept_vpid_cap(&n->caps) & BIT(VPID_CAP_INVVPID_TYPE_SHIFT + type))) {
		vm_fail(n, VMERR_INVALID_INVEPT_INVVPID);
		return;
	}
	if (!insn_mem_read(in, &desc, sizeof(desc)))
		return;
	u64 vpid = desc.low & INVVPID_DESC_VPID_MASK;
	bool valid = !(desc.low & ~INVVPID_DESC_VPID_MASK) && (type == INVVPID_ALL_CONTEXT || vpid != 0) &&
		     (type != INVVPID_INDIVIDUAL_ADDRESS || l1_canonical(desc.high));
	if (!valid) {
		vm_fail(n, VMERR_INVALID_INVEPT_INVVPID);
		return;
	}
	vpid02_invvpid(&n->vpid02, &n->caps, type, (u16)vpid, desc.high);
	vm_succeed();
}
