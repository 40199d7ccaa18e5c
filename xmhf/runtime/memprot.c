/* The hypapps' memory protection API (xmhf/memprot.h) on EPT01. */
#include <runtime/ept01.h>
#include <runtime/percpu.h>
#include <runtime/vmx_ops.h>
#include <runtime/xcall.h>
#include <xmhf/memprot.h>
#include <xmhf/string.h>
#include <xmhf/vmx.h>


bool memprot_set(u32 cpu, l1_gpa_t gpa, u64 rwx)
{
	if (cpu == MEMPROT_ALL_CPUS)
		return ept01_set_prot_all(gpa, rwx);
	return cpu < cpu_count() && ept01_set_prot(cpu, gpa, rwx);
}

void memprot_lock(struct spinlock *l) { xcall_lock(l); }

u64 memprot_get(u32 cpu, l1_gpa_t gpa) { return cpu < cpu_count() ? ept01_get_prot(cpu, gpa) : 0; }
u64 memprot_page(u32 cpu, l1_gpa_t gpa) { return cpu < cpu_count() ? ept01_page_leaf(cpu, gpa) : 0; }

void memprot_flush(u32 flags)
{
	if (flags & (MEMPROT_FLUSH_ENTRIES | MEMPROT_FLUSH_MT))
		ept01_flush(this_cpu()->index);
}

static hpa_t ctx_root(const struct ept_ctx *c) { return hpa((u64)c->pool.pages[0]); }

bool ept_ctx_create(struct ept_ctx *c, u64 (*pages)[PT_ENTRIES], u32 n)
{
	hpa_t root;
	c->pool = (struct page_pool){ pages, n, 0 };
	struct pt_alloc a = page_pool_allocator(&c->pool);
	return n && a.alloc(a.ctx, &root);
}

bool ept_ctx_map(struct ept_ctx *c, l1_gpa_t gpa, u64 rwx)
{
	u32 cpu = this_cpu()->index;
	u64 page = ALIGN_DOWN(gpa.v, PAGE_SIZE);
	struct pt_alloc a = page_pool_allocator(&c->pool);
	u64 type = ept01_mem_type(cpu, l1_gpa(page));

	if (!ept01_prot_valid(cpu, l1_gpa(page), rwx) || type == EPT01_NOT_MAPPED)
		return false;
	u64 *e = ept_entry(&a, ctx_root(c), l1_gpa(page), 1);
	if (!e)
		return false;
	*e = page | rwx | (type << EPT_MT_SHIFT);
	return true;
}

bool ept_ctx_map_own(struct ept_ctx *c, const void *page)
{
	u64 pa = (u64)page; /* the hypervisor's memory is identity mapped */
	struct pt_alloc a = page_pool_allocator(&c->pool);
	if (!IS_ALIGNED(pa, PAGE_SIZE))
		return false;
	u64 *e = ept_entry(&a, ctx_root(c), l1_gpa(pa), 1);
	if (!e)
		return false;
	*e = pa | EPT_R | ((u64)MT_WB << EPT_MT_SHIFT);
	return true;
}

void ept_ctx_switch(const struct ept_ctx *c)
{
	u64 eptp = c ? ctx_root(c).v | EPTP_WB_4LEVEL : ept01_eptp(this_cpu()->index);
	vmwrite(VMCS_EPT_POINTER, eptp);
	invept(INVEPT_SINGLE_CONTEXT, eptp);
}

void ept_ctx_destroy(struct ept_ctx *c)
{
	memset(c->pool.pages, 0, (u64)c->pool.used * PAGE_SIZE); /* no other was handed out since creation */
	c->pool.used = 0;
}
