/* The core's services for nested VMX (xmhf/nested.h). */
#include <runtime/guest_ram.h>
#include <runtime/vmx_ops.h>
#include <xmhf/nested.h>
#include <xmhf/string.h>

u64 vmcs01_read(enum vmcs_field f) { return vmread(f); }
void vmcs01_write(enum vmcs_field f, u64 v) { vmwrite(f, v); }

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
