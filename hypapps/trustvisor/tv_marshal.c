/* A PAL call's arguments and return: see tv_marshal.h. */
#include "tv_marshal.h"
#include <xmhf/paging.h>
#include <xmhf/string.h>

#define SYSV_REG_ARGS 6
#define STACK_ALIGN 16 /* at a call, RSP + word is 16-byte aligned (SysV i386 and AMD64 2.2.2/3.2.2) */
#define STAGE_BYTES 256

static u64 word_mask(bool caller64) { return caller64 ? ~0ull : 0xffffffffull; }

static u64 get_word(const u8 *p, bool caller64)
{
	u64 v = 0;
	memcpy(&v, p, tv_word(caller64)); /* little endian */
	return v;
}

static void put_word(u8 *p, u64 v, bool caller64) { memcpy(p, &v, tv_word(caller64)); }

/* Copy 'bytes' from one address space to another through a small buffer. */
static bool copy(const struct tv_guest_mem *from, gva_t src, const struct tv_guest_mem *to, gva_t dst, u64 bytes)
{
	u8 stage[STAGE_BYTES];
	for (u64 done = 0; done < bytes; done += sizeof(stage)) {
		u64 n = bytes - done < sizeof(stage) ? bytes - done : sizeof(stage);
		if (!from->read(from->ctx, gva(src.v + done), stage, n) ||
		    !to->write(to->ctx, gva(dst.v + done), stage, n))
			return false;
	}
	return true;
}

static u32 stack_args(const struct tv_pal_layout *l)
{
	if (!l->caller64)
		return l->n_params;
	return l->n_params > SYSV_REG_ARGS ? l->n_params - SYSV_REG_ARGS : 0;
}

/* The caller's return address and arguments: args[i] for parameter i. */
static enum tv_error read_args(const struct tv_pal_layout *l, const struct tv_gprs *caller,
			       const struct tv_guest_mem *mem, u64 *ret, u64 args[TV_MAX_PARAMS])
{
	const u64 regs[SYSV_REG_ARGS] = { caller->rdi, caller->rsi, caller->rdx, caller->rcx, caller->r8, caller->r9 };
	bool c64 = l->caller64;
	u64 w = tv_word(c64), sp = caller->rsp & word_mask(c64);
	u8 stack[(1 + TV_MAX_PARAMS) * 8];
	u32 n_stack = stack_args(l);
	if (!tv_in_address_space(sp, w, c64) || !mem->read(mem->ctx, gva(sp), stack, w))
		return TV_ERR_RETURN_UNREADABLE;
	*ret = get_word(stack, c64);
	if (n_stack && (!tv_in_address_space(sp, w * (1 + n_stack), c64) ||
			!mem->read(mem->ctx, gva(sp + w), stack + w, w * n_stack)))
		return TV_ERR_ARG_UNREADABLE;
	u32 first = l->n_params - n_stack; /* the first parameter on the stack */
	for (u32 i = 0; i < first; i++)
		args[i] = regs[i];
	for (u32 i = first; i < l->n_params; i++)
		args[i] = get_word(stack + w * (1 + i - first), c64);
	return TV_OK;
}

/* Write the parameter area and turn each POINTER argument into its in-area address. */
static enum tv_error fill_area(const struct tv_registry *reg, const struct tv_pal *pal, const struct tv_guest_mem *caller_mem,
			       const struct tv_guest_mem *pal_mem, u64 args[TV_MAX_PARAMS], struct tv_call *call)
{
	const struct tv_pal_layout *l = &pal->layout;
	u64 area = l->sections[l->param_sec].start.v + TV_PARAM_AREA_OFFSET;
	u64 off = TV_PARAM_AREA_HEADER, count = l->n_params;
	if (!pal_mem->write(pal_mem->ctx, gva(area), &count, sizeof(count)))
		return TV_ERR_PAL_FAULT;
	for (u32 i = l->n_params; i-- > 0;) {
		const struct tv_param *p = &l->params[i];
		u64 entry[3] = { p->type, p->bytes, args[i] };
		if (!pal_mem->write(pal_mem->ctx, gva(area + off), entry, sizeof(entry)))
			return TV_ERR_PAL_FAULT;
		off += sizeof(entry);
		if (p->type != TV_PAL_PM_POINTER)
			continue;
		if (p->bytes) {
			if (!tv_in_address_space(args[i], p->bytes, l->caller64))
				return TV_ERR_ARG_BUFFER;
			if (tv_registry_covers(reg, pal->cr3_key, gva(args[i]), p->bytes))
				return TV_ERR_ARG_INTO_PAL;
			if (!copy(caller_mem, gva(args[i]), pal_mem, gva(area + off), p->bytes))
				return TV_ERR_ARG_BUFFER;
		}
		call->pointers[call->n_pointers++] = (struct tv_call_pointer){
			.caller_va = gva(args[i]), .area_va = gva(area + off), .bytes = p->bytes };
		args[i] = area + off;
		off += p->bytes;
	}
	return TV_OK;
}

/* The PAL's stack: its stack arguments and, below them, the sentinel return address. */
static enum tv_error build_stack(const struct tv_pal_layout *l, const u64 args[TV_MAX_PARAMS],
				 const struct tv_guest_mem *pal_mem, u64 *rsp)
{
	bool c64 = l->caller64;
	u64 w = tv_word(c64);
	const struct tv_section *stack = &l->sections[l->stack_sec];
	u32 n_stack = stack_args(l), first = l->n_params - n_stack;
	u64 top = tv_section_end(stack) - 0x10;
	u8 frame[(1 + TV_MAX_PARAMS) * 8];
	*rsp = ALIGN_DOWN(top - w * n_stack, STACK_ALIGN) - w; /* inside the section: it has a page */
	put_word(frame, TV_PAL_SENTINEL_RETURN, c64);
	for (u32 j = 0; j < n_stack; j++)
		put_word(frame + w * (1 + j), args[first + j], c64);
	return pal_mem->write(pal_mem->ctx, gva(*rsp), frame, w * (1 + n_stack)) ? TV_OK : TV_ERR_PAL_FAULT;
}

enum tv_error tv_marshal_enter(const struct tv_registry *reg, const struct tv_pal *pal,
			       const struct tv_gprs *caller, const struct tv_guest_mem *caller_mem,
			       const struct tv_guest_mem *pal_mem, struct tv_call *call, struct tv_gprs *pal_regs)
{
	const struct tv_pal_layout *l = &pal->layout;
	u64 args[TV_MAX_PARAMS], ret;
	*call = (struct tv_call){ .caller = *caller };
	*pal_regs = (struct tv_gprs){ .rip = l->entry.v };
	enum tv_error e = read_args(l, caller, caller_mem, &ret, args);
	if (e == TV_ERR_RETURN_UNREADABLE)
		return e;
	call->caller.rip = ret;
	if (e == TV_OK)
		e = fill_area(reg, pal, caller_mem, pal_mem, args, call);
	if (e == TV_OK)
		e = build_stack(l, args, pal_mem, &pal_regs->rsp);
	if (e != TV_OK || !l->caller64)
		return e;
	u64 *regs[SYSV_REG_ARGS] = { &pal_regs->rdi, &pal_regs->rsi, &pal_regs->rdx, &pal_regs->rcx, &pal_regs->r8, &pal_regs->r9 };
	for (u32 i = 0; i < l->n_params && i < SYSV_REG_ARGS; i++)
		*regs[i] = args[i];
	return TV_OK;
}

/* Back to the caller with RAX = rax: callee-saved registers as the caller left them (whatever
 * the PAL did with them), caller-saved ones zero (bug_116). Callee-saved: RBX, RBP, R12-R15
 * (SysV AMD64 3.2.1); EBX, EBP, ESI, EDI (SysV i386 2.2.2). */
static void resume_caller(const struct tv_call *call, u64 rax, bool caller64, struct tv_gprs *resume)
{
	const struct tv_gprs *c = &call->caller;
	*resume = (struct tv_gprs){
		.rax = rax, .rbx = c->rbx, .rbp = c->rbp, .r12 = c->r12, .r13 = c->r13, .r14 = c->r14, .r15 = c->r15,
		.rsp = (c->rsp + tv_word(caller64)) & word_mask(caller64), .rip = c->rip,
	};
	if (!caller64) {
		resume->rsi = c->rsi;
		resume->rdi = c->rdi;
	}
}

void tv_marshal_fail(const struct tv_call *call, enum tv_error err, bool caller64, struct tv_gprs *resume)
{
	resume_caller(call, err, caller64, resume);
}

void tv_marshal_return(const struct tv_call *call, const struct tv_gprs *pal_regs,
		       const struct tv_guest_mem *caller_mem, const struct tv_guest_mem *pal_mem,
		       bool caller64, struct tv_gprs *resume)
{
	for (u32 i = call->n_pointers; i-- > 0;) {
		const struct tv_call_pointer *p = &call->pointers[i];
		if (!copy(pal_mem, p->area_va, caller_mem, p->caller_va, p->bytes)) {
			resume_caller(call, TV_ERR_COPY_BACK, caller64, resume);
			return;
		}
	}
	resume_caller(call, pal_regs->rax & word_mask(caller64), caller64, resume);
}
