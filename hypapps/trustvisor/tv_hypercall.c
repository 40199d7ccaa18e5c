/* Hypercall decoding and the detection leaf: see tv_hypercall.h. */
#include "tv_hypercall.h"
#include <xmhf/format.h>

/* XMHF64's numbers of the hypercalls not implemented here (xmhf64.md 4.1): the micro-TPM
 * (3-5, 7-13), TV_HC_SHARE (6) and the NV-RAM ones (21-23). */
#define TV_HC_UTPM_FIRST 3
#define TV_HC_UTPM_LAST 13
#define TV_HC_NVRAM_FIRST 21
#define TV_HC_NVRAM_LAST 23

void tv_hc_decode(const struct tv_hc_regs *in, struct tv_hypercall *out)
{
	u64 mask = in->caller64 ? ~0ull : 0xffffffffull, nr = in->rax & mask;
	u64 rcx = in->rcx & mask;
	*out = (struct tv_hypercall){ .kind = TV_HC_KIND_ERROR, .error = TV_ERR_UNKNOWN_HYPERCALL };
	if (in->l2) {
		if (nr < TV_HC_L2_OFFSET)
			return;
		nr -= TV_HC_L2_OFFSET;
	}
	switch (nr) {
	case TV_HC_REG:
		*out = (struct tv_hypercall){ .kind = TV_HC_KIND_REG, .sections = gva(rcx),
					      .params = gva(in->rsi & mask), .entry = gva(in->rdi & mask) };
		return;
	case TV_HC_UNREG:
		*out = (struct tv_hypercall){ .kind = TV_HC_KIND_UNREG, .entry = gva(rcx) };
		return;
	case TV_HC_TEST:
		*out = (struct tv_hypercall){ .kind = TV_HC_KIND_TEST, .value = rcx };
		return;
	}
	if ((nr >= TV_HC_UTPM_FIRST && nr <= TV_HC_UTPM_LAST) || (nr >= TV_HC_NVRAM_FIRST && nr <= TV_HC_NVRAM_LAST))
		out->error = TV_ERR_UNSUPPORTED;
}

bool tv_hc_is_l2_call(u64 rax, bool caller64)
{
	u64 nr = caller64 ? rax : (u32)rax;
	return nr >= TV_HC_L2_OFFSET && nr - TV_HC_L2_OFFSET <= TV_HC_L2_LAST;
}

bool tv_hc_is_l1_root_call(u64 rax, bool caller64)
{
	struct tv_hc_regs in = { .rax = rax, .caller64 = caller64 };
	struct tv_hypercall hc;
	tv_hc_decode(&in, &hc);
	return hc.kind != TV_HC_KIND_ERROR;
}

bool tv_cpuid_is_l2_leaf(u32 eax, u32 ecx) { return eax == TV_CPUID_LEAF && ecx == TV_HC_L2_OFFSET; }

int tv_hc_test_line(char *buf, size_t size, u64 value)
{
	return xsnprintf(buf, size, "test hypercall, rcx=0x%016llx", value);
}

bool tv_cpuid_answer(const struct tv_cpuid_query *q, struct tv_cpuid *out)
{
	if (q->eax != TV_CPUID_LEAF || q->ecx != (q->l2 ? TV_HC_L2_OFFSET : 0))
		return false;
	*out = (struct tv_cpuid){
		.eax = TV_CPUID_SIGNATURE,
		.ebx = q->in_pal ? q->pal_id : TV_CPUID_NO_PAL,
		.ecx = (q->caller64 ? TV_CPUID_ECX_64BIT : 0) | (q->ept12 ? TV_CPUID_ECX_EPT12 : 0),
	};
	return true;
}
