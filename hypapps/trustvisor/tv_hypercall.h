/* TrustVisor's hypercall numbers as a caller issues them (VMCALL, RAX = number; an L2 caller
 * adds TV_HC_L2_OFFSET), the detection CPUID leaf's answer and TV_HC_TEST's log line (issue 8
 * point 4, xmhf64.md 4.1). Pure logic. */
#ifndef TV_HYPERCALL_H
#define TV_HYPERCALL_H

#include <tv_abi.h>
#include "tv_errors.h"
#include <xmhf/types.h>

#define TV_HC_L2_OFFSET 0x4c415000u /* added to hypercall numbers and the CPUID ECX by L2 callers */

enum tv_hc_kind { TV_HC_KIND_REG, TV_HC_KIND_UNREG, TV_HC_KIND_TEST, TV_HC_KIND_ERROR };

/* A decoded hypercall; a 32-bit caller's registers count with their low 32 bits only. */
struct tv_hypercall {
	enum tv_hc_kind kind;
	enum tv_error error; /* TV_HC_KIND_ERROR: the caller's RAX */
	gva_t sections, params, entry; /* REG: RCX, RSI, RDI; UNREG: entry = RCX */
	u64 value;                     /* TEST: RCX */
};

/* l2: the caller is L2 (its numbers carry TV_HC_L2_OFFSET). */
struct tv_hc_regs {
	u64 rax, rcx, rsi, rdi;
	bool caller64, l2;
};

void tv_hc_decode(const struct tv_hc_regs *in, struct tv_hypercall *out);

/* An L2 caller's VMCALL with RAX (its low half for a 32-bit caller) in [TV_HC_L2_OFFSET,
 * TV_HC_L2_OFFSET + 0xff] and its CPUID of TV_CPUID_LEAF with ECX = TV_HC_L2_OFFSET are the
 * hypapp's (L0 takes them, L1 never sees them). */
#define TV_HC_L2_LAST 0xffu
bool tv_hc_is_l2_call(u64 rax, bool caller64);
/* An L1 caller's VMCALL that is one of TrustVisor's calls (TV_HC_REG, TV_HC_UNREG, TV_HC_TEST),
 * claimed also while L1 is in VMX root operation (hypapp_l1_root_vmcall_is_mine); other numbers
 * there get nested VMX's answer. */
bool tv_hc_is_l1_root_call(u64 rax, bool caller64);
bool tv_cpuid_is_l2_leaf(u32 eax, u32 ecx);

/* TV_HC_TEST's console line, "test hypercall, rcx=0x%016llx" (what XMHF64 prints and CI
 * parses), into buf; returns its length as xsnprintf. */
int tv_hc_test_line(char *buf, size_t size, u64 value);

/* The detection leaf. in_pal: the caller runs in PAL pal_id; ept12: an L2 caller whose L1 uses
 * EPT. Returns false (the core answers as for any CPUID) unless EAX is TV_CPUID_LEAF and ECX
 * is 0 for an L1 caller or TV_HC_L2_OFFSET for an L2 one. */
struct tv_cpuid_query {
	u32 eax, ecx;
	bool l2, in_pal, caller64, ept12;
	u32 pal_id;
};
bool tv_cpuid_answer(const struct tv_cpuid_query *q, struct tv_cpuid *out);

#endif
