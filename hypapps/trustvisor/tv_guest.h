/* What the TrustVisor logic needs from the hypervisor, as narrow interfaces the wiring
 * implements (and the unit tests fake): copying guest-virtual memory and translating a
 * guest-virtual page. Every implementation reaches guest memory only through the core's
 * guest-RAM check (issue 8 point 9): guest RAM only -- never the hypervisor's range, a page lent
 * to a PAL (unless the accessor is the PAL's own), MMIO or addresses above --mem. */
#ifndef TV_GUEST_H
#define TV_GUEST_H

#include <xmhf/types.h>

/* The caller's paging mode (SDM Vol. 3 4.1.1); a 64-bit caller uses 4-level paging. */
enum tv_paging { TV_PAGING_32, TV_PAGING_PAE, TV_PAGING_4LEVEL };

/* User-mode copies of [va, va + len) in one address space (the caller's, through its page
 * tables, or the PAL's): false, with nothing copied, if any byte is not reachable for that
 * access or the range wraps. */
struct tv_guest_mem {
	bool (*read)(void *ctx, gva_t va, void *buf, u64 len);
	bool (*write)(void *ctx, gva_t va, const void *buf, u64 len);
	void *ctx;
};

/* The caller's translation of one page for a user-mode access (SDM Vol. 3 4.6). */
enum tv_xlate {
	TV_XLATE_OK,
	TV_XLATE_UNMAPPED, /* not present at some level */
	TV_XLATE_DENIED,   /* present, but the access is not allowed (supervisor, read-only, NX) */
	TV_XLATE_NOT_RAM,  /* translates outside guest RAM */
};
struct tv_translator {
	enum tv_xlate (*translate)(void *ctx, gva_t va, bool write, bool exec, l1_gpa_t *gpa);
	void *ctx;
};

/* The caller's general-purpose registers (and RIP) at a PAL call or return. */
struct tv_gprs {
	u64 rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi;
	u64 r8, r9, r10, r11, r12, r13, r14, r15;
	u64 rip;
};

#endif
