/* May this CPU enter VMX operation (uefi_boot.h)? */
#include "uefi_boot.h"
#include <xmhf/msr.h>
#include <xmhf/vmx.h>

const char *uefi_vmx_unavailable(u32 cpuid1_ecx, u64 feature_control)
{
	if (!(cpuid1_ecx & CPUID1_ECX_VMX))
		return "the CPU reports no VMX (CPUID.1:ECX.VMX = 0)";
	if ((feature_control & FEATURE_CONTROL_LOCK) && !(feature_control & FEATURE_CONTROL_VMX_OUTSIDE_SMX))
		return "the firmware locked IA32_FEATURE_CONTROL with VMX outside SMX off (enable VT-x in its setup)";
	return NULL;
}
