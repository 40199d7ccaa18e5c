/* The core's services for nested VMX (xmhf/nested.h). */
#include <runtime/guest_ram.h>
#include <runtime/guest_regs.h>
#include <runtime/percpu.h>
#include <runtime/vmx_ops.h>
#include <xmhf/nested.h>
#include <xmhf/string.h>

u64 vmcs01_read(enum vmcs_field f) { return vmread(f); }
void vmcs01_write(enum vmcs_field f, u64 v) { vmwrite(f, v); }
u64 vmcs02_read(enum vmcs_field f) { return vmread(f); }
void vmcs02_write(enum vmcs_field f, u64 v) { vmwrite(f, v); }
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

bool guest_phys_read(l1_gpa_t gpa, void *buf, u64 len)
{
	const void *p = guest_ram_ptr(gpa, len);
	if (p)
		memcpy(buf, p, len);
	return p != NULL;
}

bool guest_phys_write(l1_gpa_t gpa, const void *buf, u64 len)
{
	void *p = guest_ram_ptr(gpa, len);
	if (p)
		memcpy(p, buf, len);
	return p != NULL;
}

void nested_invept(u64 eptp) { invept(INVEPT_SINGLE_CONTEXT, eptp); }
void nested_invvpid(u64 type, u16 vpid, u64 linear) { invvpid(type, vpid, linear); }
