/* PAL calls: see tv_call.h. */
#include "tv_call.h"
#include <config.h>
#include "tv_marshal.h"
#include "tv_world.h"
#include <xmhf/cpu.h>
#include <xmhf/guest.h>
#include <xmhf/nested.h>
#include <xmhf/paging.h>
#include <xmhf/string.h>
#include <xmhf/x86/regs.h>

struct cpu_call {
	struct tv_pal *pal; /* running here, or NULL */
	struct tv_call call;
	struct guest_isolation caller; /* the caller's VMCS state */
	u64 deadline;                  /* TSC: the end of its time budget */
};

static struct cpu_call cpu_calls[CONFIG_MAX_CPUS];

static struct cpu_call *mine(void) { return &cpu_calls[this_cpu_index()]; }

enum tv_paging tv_caller_paging(void)
{
	if (guest_efer() & EFER_LMA)
		return TV_PAGING_4LEVEL;
	return (guest_cr4() & CR4_PAE) ? TV_PAGING_PAE : TV_PAGING_32;
}

bool tv_caller_key(u64 *key)
{
	u64 cr3 = guest_cr3();
	l1_gpa_t root;
	if (!nested_l2_gpa_to_l1(l2_gpa(cr3 & PT_ADDR_MASK), EPT_R, &root))
		return false;
	*key = tv_cr3_key(root.v | (cr3 & (PAGE_SIZE - 1)), tv_caller_paging(), nested_caller_is_l2());
	return true;
}

const struct tv_pal *tv_call_running(void) { return mine()->pal; }

/* The PAL's address space for the marshalling: its DATA/PARAM/STACK pages through the
 * hypervisor's pointers to them (ctx: the PAL), one page at a time. */
static bool pal_copy(const struct tv_pal *pal, gva_t va, void *buf, u64 len, bool write)
{
	u8 *b = buf;
	if (len > ~va.v)
		return false;
	for (u64 done = 0; done < len;) {
		u64 at = va.v + done, n = PAGE_SIZE - (at & (PAGE_SIZE - 1));
		n = n < len - done ? n : len - done;
		const struct tv_page *p = tv_pal_page(pal, gva(at));
		if (!p || p->type == TV_PAL_SECTION_CODE || p->type == TV_PAL_SECTION_SHARED_CODE)
			return false;
		u8 *host = guest_phys_ptr(l1_gpa(p->gpa.v + (at & (PAGE_SIZE - 1))), n);
		if (!host)
			return false;
		memcpy(write ? host : b + done, write ? b + done : host, n);
		done += n;
	}
	return true;
}

static bool pal_read(void *ctx, gva_t va, void *buf, u64 len) { return pal_copy(ctx, va, buf, len, false); }
static bool pal_write(void *ctx, gva_t va, const void *buf, u64 len)
{
	return pal_copy(ctx, va, (void *)buf, len, true);
}

static struct tv_guest_mem pal_mem(const struct tv_pal *pal)
{
	return (struct tv_guest_mem){ pal_read, pal_write, (void *)pal };
}

static void gprs_from(const struct guest_regs *r, struct tv_gprs *g)
{
	*g = (struct tv_gprs){ .rax = r->rax, .rcx = r->rcx, .rdx = r->rdx, .rbx = r->rbx, .rbp = r->rbp,
			       .rsi = r->rsi, .rdi = r->rdi, .r8 = r->r8, .r9 = r->r9, .r10 = r->r10,
			       .r11 = r->r11, .r12 = r->r12, .r13 = r->r13, .r14 = r->r14, .r15 = r->r15,
			       .rsp = guest_rsp(), .rip = guest_rip() };
}

/* The GPRs, RSP and RIP of g into the guest (RIP/RSP after the VMCS state is in place). */
static void gprs_to(const struct tv_gprs *g, struct guest_regs *r)
{
	*r = (struct guest_regs){ .rax = g->rax, .rcx = g->rcx, .rdx = g->rdx, .rbx = g->rbx, .rbp = g->rbp,
				  .rsi = g->rsi, .rdi = g->rdi, .r8 = g->r8, .r9 = g->r9, .r10 = g->r10,
				  .r11 = g->r11, .r12 = g->r12, .r13 = g->r13, .r14 = g->r14, .r15 = g->r15 };
	guest_set_rsp(g->rsp);
	guest_set_rip(g->rip);
}

enum hypapp_result tv_call_enter(struct tv_registry *r, struct spinlock *lock,
				 const struct tv_guest_mem *caller_mem, struct guest_regs *regs, gva_t entry)
{
	struct cpu_call *c = mine();
	bool c64 = guest_mode() == GUEST_64BIT;
	struct tv_gprs caller, pal_regs;
	u64 key;
	if (!tv_caller_key(&key))
		return HYPAPP_PASS;
	memprot_lock(lock);
	struct tv_pal *pal = tv_registry_find(r, entry, key, c64);
	if (!pal || pal->running) {
		spin_unlock(lock);
		return pal ? HYPAPP_DONE : HYPAPP_PASS;
	}
	pal->running = 1; /* from now on nobody unregisters it: the marshalling needs no lock */
	spin_unlock(lock);
	struct tv_guest_mem pm = pal_mem(pal);
	gprs_from(regs, &caller);
	enum tv_error e = tv_marshal_enter(r, pal, &caller, caller_mem, &pm, &c->call, &pal_regs);
	if (e != TV_OK)
		__atomic_store_n(&pal->running, 0, __ATOMIC_RELEASE);
	if (e == TV_ERR_RETURN_UNREADABLE)
		return HYPAPP_PASS;
	if (e != TV_OK) {
		struct tv_gprs resume;
		tv_marshal_fail(&c->call, e, c64, &resume);
		gprs_to(&resume, regs);
		return HYPAPP_DONE;
	}
	const struct tv_world *w = tv_world_of(pal);
	c->deadline = rdtsc() + TV_PAL_BUDGET_TICKS;
	guest_isolate_begin(&c->caller, pal_regs.rip, pal_regs.rsp, w->cr3, TV_PAL_BUDGET_TICKS);
	ept_ctx_switch(&w->ept);
	gprs_to(&pal_regs, regs);
	c->pal = pal;
	return HYPAPP_DONE;
}

bool tv_call_overdue(void) { return rdtsc() > mine()->deadline; }

/* Back in the caller's world: its VMCS state, EPT01, then its registers. */
static void leave(struct cpu_call *c)
{
	ept_ctx_switch(NULL);
	guest_isolate_end(&c->caller);
}

static void done(struct cpu_call *c, const struct tv_gprs *resume, struct guest_regs *regs)
{
	gprs_to(resume, regs);
	__atomic_store_n(&c->pal->running, 0, __ATOMIC_RELEASE); /* unregistration may take it now */
	c->pal = NULL;
}

enum hypapp_result tv_call_fail(struct guest_regs *regs, enum tv_error err)
{
	struct cpu_call *c = mine();
	struct tv_gprs resume;
	leave(c);
	guest_drop_vectored_event(); /* the PAL's own event (a fault, INT n) ends with it */
	tv_marshal_fail(&c->call, err, c->pal->layout.caller64, &resume);
	done(c, &resume, regs);
	return HYPAPP_DONE;
}

enum hypapp_result tv_call_exit(const struct tv_guest_mem *caller_mem, struct guest_regs *regs,
				const struct hypapp_ept_violation *v)
{
	struct cpu_call *c = mine();
	if (ALIGN_DOWN(v->gpa.v, PAGE_SIZE) != TV_SENTINEL_GPA || v->access != HYPAPP_ACCESS_EXEC ||
	    !v->gva_valid || v->gva.v != TV_PAL_SENTINEL_RETURN)
		return tv_call_fail(regs, TV_ERR_PAL_FAULT);
	struct tv_gprs pal_regs, resume;
	struct tv_guest_mem pm = pal_mem(c->pal);
	gprs_from(regs, &pal_regs);
	leave(c); /* the copy-back goes through the caller's page tables */
	tv_marshal_return(&c->call, &pal_regs, caller_mem, &pm, c->pal->layout.caller64, &resume);
	done(c, &resume, regs);
	return HYPAPP_DONE;
}
