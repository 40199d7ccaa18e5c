/* A PAL call (issue 8 point 4): the caller's arguments into the PAL's parameter area and
 * stack, and on the PAL's return (a fetch of the sentinel TV_PAL_SENTINEL_RETURN) the pointer
 * data back into the caller's buffers and the caller's registers with the caller-saved ones
 * scrubbed (bug_116).
 *
 * The caller has just executed CALL entry: its RSP points to the return address. 64-bit
 * callers pass arguments by SysV (RDI, RSI, RDX, RCX, R8, R9, then the stack from RSP + 8),
 * 32-bit callers by cdecl (all on the stack from ESP + 4). The parameter area, at PARAM +
 * TV_PARAM_AREA_OFFSET, holds u64 count and then, for the parameters in reverse order, {u64
 * type, u64 size in bytes, u64 the caller's value} followed by a POINTER's data; the PAL gets
 * an INTEGER's value and, for a POINTER, the address of its data in the area. The PAL's stack
 * starts at STACK + size - 0x10: the stack arguments, and below them the sentinel return
 * address (64-bit: RSP + 8 16-byte aligned, SysV 3.2.2). Pure logic: memory through struct
 * tv_guest_mem (the caller's address space, and the PAL's, which maps only its sections). */
#ifndef TV_MARSHAL_H
#define TV_MARSHAL_H

#include "tv_registry.h"

/* What the return needs, kept by the CPU running the PAL (never in guest memory). */
struct tv_call_pointer {
	gva_t caller_va, area_va;
	u64 bytes;
};
struct tv_call {
	struct tv_gprs caller; /* at the call, RIP = the return address */
	u32 n_pointers;
	struct tv_call_pointer pointers[TV_MAX_PARAMS];
};

/* Enter 'pal' (found by tv_registry_find) called with registers 'caller': TV_OK, *call and
 * the PAL's registers (*pal_regs: arguments, RSP, RIP = entry; all others zero), or an error
 * for the caller's RAX (tv_marshal_fail), but for TV_ERR_RETURN_UNREADABLE, with which the
 * caller cannot be resumed. No pointer buffer may overlap a PAL of the caller's
 * address space ('reg'). Pointer data are staged through a small stack buffer. */
enum tv_error tv_marshal_enter(const struct tv_registry *reg, const struct tv_pal *pal,
			       const struct tv_gprs *caller, const struct tv_guest_mem *caller_mem,
			       const struct tv_guest_mem *pal_mem, struct tv_call *call, struct tv_gprs *pal_regs);

/* The PAL returned with registers 'pal_regs': copy each pointer's data back and give the
 * registers the caller resumes with (*resume): RIP = return address, RSP past it, RAX = the
 * PAL's (EAX for a 32-bit caller), or TV_ERR_COPY_BACK if a buffer is no longer writable. */
void tv_marshal_return(const struct tv_call *call, const struct tv_gprs *pal_regs,
		       const struct tv_guest_mem *caller_mem, const struct tv_guest_mem *pal_mem,
		       bool caller64, struct tv_gprs *resume);

/* The call failed (an error from tv_marshal_enter, or TV_ERR_PAL_FAULT): the caller resumes
 * as from a return with RAX = err and nothing copied back. */
void tv_marshal_fail(const struct tv_call *call, enum tv_error err, bool caller64, struct tv_gprs *resume);

#endif
