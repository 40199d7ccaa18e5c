/* --app trustvisor: TrustVisor's hypercall ABI on the hypapp interface (xmhf/hypapp.h; README.md):
 * the detection CPUID leaf, TV_HC_TEST (logs its line), TV_HC_REG (the PAL's world is built and
 * its pages lent: not present in every CPU's EPT01, SHARED_CODE read/execute only), PAL calls
 * (tv_call.h) and TV_HC_UNREG (scrubbed and given back); the micro-TPM and unknown numbers
 * answer an error code in RAX. */
#include "tv_call.h"
#include "tv_hypercall.h"
#include "tv_world.h"
#include <xmhf/hypapp.h>
#include <xmhf/log.h>
#include <xmhf/memprot.h>
#include <xmhf/nested.h>
#include <xmhf/spinlock.h>
#include <xmhf/x86/events.h>
#include <xmhf/x86/regs.h>

static struct tv_registry registry; /* under registry_lock (memprot_lock: held across memprot_set) */
static struct spinlock registry_lock;

void hypapp_init(const struct hypapp_boot *boot)
{
	if (boot->cpu == 0)
		tv_registry_init(&registry);
	pr_info("trustvisor: ready on cpu %u", boot->cpu);
}

static bool caller64(void) { return guest_mode() == GUEST_64BIT; }

/* tv_guest.h on the current paging state, user-mode accesses, through the guest-RAM check;
 * a page lent to a PAL is refused too (issue 8 point 9). */
static bool range_lent(gva_t va, u64 len, u32 access)
{
	for (u64 page = ALIGN_DOWN(va.v, PAGE_SIZE); len && page < va.v + len; page += PAGE_SIZE) {
		l1_gpa_t gpa;
		struct gw_fault f;
		if (guest_virt_translate(gva(page), access, &gpa, &f) == GW_OK && tv_registry_owner(&registry, gpa, NULL))
			return true;
	}
	return false;
}

static bool caller_read(void *ctx, gva_t va, void *buf, u64 len)
{
	struct gw_fault f;
	return len <= ~va.v && !range_lent(va, len, GW_USER) && guest_virt_read(va, buf, len, GW_USER, &f) == GW_OK;
}

static bool caller_write(void *ctx, gva_t va, const void *buf, u64 len)
{
	struct gw_fault f;
	return len <= ~va.v && !range_lent(va, len, GW_USER | GW_WRITE) &&
	       guest_virt_write(va, buf, len, GW_USER, &f) == GW_OK;
}

static const struct tv_guest_mem caller_mem = { caller_read, caller_write, NULL };

static enum tv_xlate caller_translate(void *ctx, gva_t va, bool write, bool exec, l1_gpa_t *gpa)
{
	struct gw_fault f;
	switch (guest_virt_translate(va, GW_USER | (write ? GW_WRITE : 0) | (exec ? GW_FETCH : 0), gpa, &f)) {
	case GW_OK:
		return TV_XLATE_OK;
	case GW_PAGE_FAULT:
		return (f.error_code & PFEC_P) ? TV_XLATE_DENIED : TV_XLATE_UNMAPPED;
	default:
		return TV_XLATE_NOT_RAM;
	}
}

static const struct tv_translator caller_translator = { caller_translate, NULL };

/* Rights every CPU's EPT01 gives a page while it is lent: none for the PAL's own pages. */
static u64 lent_rights(const struct tv_page *p) { return tv_page_private(p) ? 0 : EPT_R | EPT_X; }

/* Take the PAL's pages from the guest; TV_ERR_NO_MEMORY (nothing changed) if memprot refuses. */
static enum tv_error lend_pages(const struct tv_pal *pal)
{
	for (u32 i = 0; i < pal->layout.pages; i++) {
		if (memprot_set(MEMPROT_ALL_CPUS, pal->pages[i].gpa, lent_rights(&pal->pages[i])))
			continue;
		while (i--)
			memprot_set(MEMPROT_ALL_CPUS, pal->pages[i].gpa, EPT_RWX);
		return TV_ERR_NO_MEMORY;
	}
	return TV_OK;
}

/* tv_page_sink: scrub a page of a removed PAL (bug_109) and give it back to the guest. */
static void scrub_and_return(void *ctx, const struct tv_page *p)
{
	if (tv_page_private(p))
		guest_phys_zero_page(p->gpa);
	memprot_set(MEMPROT_ALL_CPUS, p->gpa, EPT_RWX);
}

static void forget_page(void *ctx, const struct tv_page *p) {}

static const struct tv_page_sink scrub_sink = { scrub_and_return, NULL };
static const struct tv_page_sink forget_sink = { forget_page, NULL };

static enum tv_error tv_register(const struct tv_hypercall *hc, bool c64)
{
	struct tv_pal_layout layout;
	struct tv_pal *pal;
	enum tv_paging mode = tv_caller_paging();
	u64 key;
	if (guest_cr4() & CR4_LA57) /* the PAL's tables are 4-level */
		return TV_ERR_UNSUPPORTED;
	if (!tv_caller_key(&key))
		return TV_ERR_STRUCT_UNREADABLE;
	enum tv_error e = tv_parse_registration(&caller_mem, hc->sections, hc->params, hc->entry, c64, &layout);
	if (e == TV_OK)
		e = tv_registry_add(&registry, &layout, key, &caller_translator, &pal);
	if (e != TV_OK)
		return e;
	if ((e = tv_world_build(pal, mode, guest_efer() & EFER_NXE)) == TV_OK && (e = lend_pages(pal)) != TV_OK)
		tv_world_destroy(pal);
	if (e != TV_OK)
		tv_registry_remove(&registry, layout.entry, key, c64, &forget_sink);
	return e;
}

static enum tv_error tv_unregister(const struct tv_hypercall *hc, bool c64)
{
	u64 key;
	if (!tv_caller_key(&key))
		return TV_ERR_UNKNOWN_ENTRY;
	struct tv_pal *pal = tv_registry_find(&registry, hc->entry, key, c64);
	enum tv_error e = tv_registry_remove(&registry, hc->entry, key, c64, &scrub_sink);
	if (e == TV_OK)
		tv_world_destroy(pal);
	return e;
}

enum hypapp_result hypapp_hypercall(struct guest_regs *regs)
{
	struct tv_hc_regs in = { .rax = regs->rax, .rcx = regs->rcx, .rsi = regs->rsi, .rdi = regs->rdi,
				 .caller64 = caller64(), .l2 = nested_caller_is_l2() };
	struct tv_hypercall hc;
	if (tv_call_running()) /* a PAL makes no hypercall */
		return tv_call_fail(regs, TV_ERR_PAL_FAULT);
	tv_hc_decode(&in, &hc);
	switch (hc.kind) {
	case TV_HC_KIND_TEST: {
		char line[64];
		tv_hc_test_line(line, sizeof(line), hc.value);
		pr_info("trustvisor: cpu %u: %s", this_cpu_index(), line);
		regs->rax = TV_OK;
		break;
	}
	case TV_HC_KIND_REG:
		memprot_lock(&registry_lock);
		regs->rax = tv_register(&hc, in.caller64);
		spin_unlock(&registry_lock);
		break;
	case TV_HC_KIND_UNREG:
		memprot_lock(&registry_lock);
		regs->rax = tv_unregister(&hc, in.caller64);
		spin_unlock(&registry_lock);
		break;
	case TV_HC_KIND_ERROR:
		regs->rax = hc.error;
		break;
	}
	skip_instruction();
	return HYPAPP_DONE;
}

enum hypapp_result hypapp_cpuid(struct guest_regs *regs, u32 leaf, u32 subleaf)
{
	const struct tv_pal *pal = tv_call_running();
	if (pal && tv_call_overdue())
		return tv_call_fail(regs, TV_ERR_PAL_TIMEOUT);
	struct tv_cpuid_query q = { .eax = leaf, .ecx = subleaf, .caller64 = caller64(), .in_pal = pal != NULL,
				    .pal_id = pal ? pal->id : 0, .l2 = nested_caller_is_l2(), .ept12 = nested_caller_ept12() };
	struct tv_cpuid out;
	if (tv_cpuid_answer(&q, &out)) {
		regs->rax = out.eax;
		regs->rbx = out.ebx;
		regs->rcx = out.ecx;
		regs->rdx = out.edx;
	}
	return HYPAPP_PASS;
}

/* L0 takes these exits of L2 (nested VMX): TrustVisor's calls for L2 callers. */
bool hypapp_l2_vmcall_is_mine(const struct guest_regs *regs) { return tv_hc_is_l2_call(regs->rax, caller64()); }
bool hypapp_l2_cpuid_is_mine(u32 leaf, u32 subleaf) { return tv_cpuid_is_l2_leaf(leaf, subleaf); }
/* ... and L1's calls while it is in VMX root operation (e.g. with KVM loaded). */
bool hypapp_l1_root_vmcall_is_mine(const struct guest_regs *regs) { return tv_hc_is_l1_root_call(regs->rax, caller64()); }

/* Inside a PAL: an exit other than its return ends the call with an error for the caller. */
enum hypapp_result hypapp_io(struct guest_regs *regs, u16 port, u32 size, u32 flags)
{
	return tv_call_running() ? tv_call_fail(regs, TV_ERR_PAL_FAULT) : HYPAPP_PASS;
}

enum hypapp_result hypapp_exception(struct guest_regs *regs, u32 intr_info, u32 error_code)
{
	return tv_call_running() ? tv_call_fail(regs, TV_ERR_PAL_FAULT) : HYPAPP_PASS;
}

enum hypapp_result hypapp_isolation_timeout(struct guest_regs *regs)
{
	return tv_call_running() ? tv_call_fail(regs, TV_ERR_PAL_TIMEOUT) : HYPAPP_PASS;
}

/* A fetch of a lent page from user mode may be a PAL call; inside a PAL, its return or a fault. */
enum hypapp_result hypapp_ept_violation(struct guest_regs *regs, const struct hypapp_ept_violation *v)
{
	if (tv_call_running())
		return tv_call_exit(&caller_mem, regs, v);
	/* an L2 caller's: v->gpa is L1's (through EPT12 if L1 uses EPT, nested/l2_exit.c) */
	if ((v->access & HYPAPP_ACCESS_EXEC) && v->gva_valid && guest_cpl() == 3)
		return tv_call_enter(&registry, &registry_lock, &caller_mem, regs, v->gva);
	return HYPAPP_PASS;
}

void hypapp_guest_shutdown(void)
{
	memprot_lock(&registry_lock);
	for (u32 i = 0; i < TV_MAX_PALS; i++)
		if (registry.pals[i].used)
			tv_world_destroy(&registry.pals[i]);
	tv_registry_clear(&registry, &scrub_sink);
	spin_unlock(&registry_lock);
}
