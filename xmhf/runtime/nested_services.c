/* The core's services for nested VMX (xmhf/nested.h). */
#include <runtime/ept01.h>
#include <runtime/guest_ram.h>
#include <runtime/guest_regs.h>
#include <runtime/percpu.h>
#include <runtime/vmx_ops.h>
#include <xmhf/memprot.h>
#include <xmhf/nested.h>
#include <xmhf/paging.h>
#include <xmhf/string.h>

hpa_t vmcs01_region(void) { return hpa((u64)percpu_pages[this_cpu_index()].vmcs01); }
/* The exit path offers exits to nested VMX only while a VMCS02 is current. */
bool vmcs_make_current(hpa_t region)
{
	this_cpu()->vmcs02_current = region.v != vmcs01_region().v;
	return vmptrld(region);
}
bool vmcs_clear(hpa_t region) { return vmclear(region); }
/* SDM Vol. 3 26.6.9: reads of 0-1FFFH, of C0000000H-C0001FFFH, then writes */
bool l0_msr_passed_through(u32 msr, bool write)
{
	const u8 *bitmap = percpu_pages[this_cpu_index()].msr_bitmap;
	u32 offset = write ? 2048 : 0;
	if (msr >= 0xc0000000u)
		offset += 1024, msr -= 0xc0000000u;
	return msr < 0x2000 && !(bitmap[offset + msr / 8] & (1u << (msr % 8)));
}

void vmcs_launch(const struct guest_regs *regs) { vmx_launch(regs); }

/* The hypervisor's pointer to [gpa, gpa + len) inside one page of L1's
 * guest RAM (guest_ram_ptr's rules), where this CPU's EPT01 maps it with
 * the rights 'need' (memprot_page: its host page, e.g. a relocated page);
 * NULL if not. */
static void *ept01_ptr(l1_gpa_t gpa, u64 len, u64 need)
{
	if (!guest_ram_ptr(gpa, len))
		return NULL;
	u64 leaf = memprot_page(this_cpu_index(), gpa);
	if ((leaf & need) != need)
		return NULL;
	return l1_gpa_to_ptr(l1_gpa((leaf & PT_ADDR_MASK) | (gpa.v & (PAGE_SIZE - 1))));
}

static u64 chunk(l1_gpa_t gpa, u64 left)
{
	u64 in_page = PAGE_SIZE - (gpa.v & (PAGE_SIZE - 1));
	return left < in_page ? left : in_page;
}

/* Page by page through EPT01, as L1's own accesses go; every page checked
 * before anything is copied. */
static bool guest_phys_copy(l1_gpa_t gpa, u8 *buf, u64 len, bool write)
{
	u64 need = write ? EPT_W : EPT_R, n;
	for (u64 done = 0; done < len; done += n)
		if (!ept01_ptr(l1_gpa(gpa.v + done), n = chunk(l1_gpa(gpa.v + done), len - done), need))
			return false;
	for (u64 done = 0; done < len; done += n) {
		u8 *p = ept01_ptr(l1_gpa(gpa.v + done), n = chunk(l1_gpa(gpa.v + done), len - done), need);
		if (!p)
			return false; /* a shootdown while copying took the page away */
		memcpy(write ? p : buf + done, write ? buf + done : p, n);
	}
	return len != 0;
}

bool guest_phys_read(l1_gpa_t gpa, void *buf, u64 len) { return guest_phys_copy(gpa, buf, len, false); }
bool guest_phys_write(l1_gpa_t gpa, const void *buf, u64 len) { return guest_phys_copy(gpa, (u8 *)buf, len, true); }

void nested_request_before_entry(void) { __atomic_fetch_or(&this_cpu()->requests, REQUEST_NESTED, __ATOMIC_SEQ_CST); }

void nested_invept(u64 eptp) { invept(INVEPT_SINGLE_CONTEXT, eptp); }
void nested_invvpid(u64 type, u16 vpid, u64 linear) { invvpid(type, vpid, linear); }
