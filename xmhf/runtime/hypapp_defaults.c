/* The core's default hypapp hooks (xmhf/hypapp.h): each passes. They are
 * weak symbols, so a hypapp defines only the hooks it uses and the linker
 * takes its definition instead; the core calls a hook directly either way. */
#include <xmhf/hypapp.h>

#define DEFAULT_HOOK __attribute__((weak))

DEFAULT_HOOK void hypapp_init(const struct hypapp_boot *boot) {}
DEFAULT_HOOK enum hypapp_result hypapp_hypercall(struct guest_regs *regs) { return HYPAPP_PASS; }
DEFAULT_HOOK enum hypapp_result hypapp_cpuid(struct guest_regs *regs, u32 leaf, u32 subleaf) { return HYPAPP_PASS; }
DEFAULT_HOOK enum hypapp_result hypapp_rdmsr(struct guest_regs *regs, u32 msr) { return HYPAPP_PASS; }
DEFAULT_HOOK enum hypapp_result hypapp_wrmsr(struct guest_regs *regs, u32 msr, u64 value) { return HYPAPP_PASS; }
DEFAULT_HOOK enum hypapp_result hypapp_io(struct guest_regs *regs, u16 port, u32 size, u32 flags)
{
	return HYPAPP_PASS;
}
DEFAULT_HOOK enum hypapp_result hypapp_ept_violation(struct guest_regs *regs, const struct hypapp_ept_violation *v)
{
	return HYPAPP_PASS;
}
DEFAULT_HOOK enum hypapp_result hypapp_exception(struct guest_regs *regs, u32 intr_info, u32 error_code)
{
	return HYPAPP_PASS;
}
DEFAULT_HOOK enum hypapp_result hypapp_isolation_timeout(struct guest_regs *regs) { return HYPAPP_PASS; }
DEFAULT_HOOK void hypapp_guest_shutdown(void) {}
DEFAULT_HOOK bool hypapp_l2_vmcall_is_mine(const struct guest_regs *regs) { return false; }
DEFAULT_HOOK bool hypapp_l2_cpuid_is_mine(u32 leaf, u32 subleaf) { return false; }
DEFAULT_HOOK bool hypapp_l1_root_vmcall_is_mine(const struct guest_regs *regs) { return false; }
DEFAULT_HOOK enum hypapp_result hypapp_nested_entry(struct guest_regs *regs) { return HYPAPP_PASS; }
DEFAULT_HOOK enum hypapp_result hypapp_nested_exit(struct guest_regs *regs, u32 exit_reason) { return HYPAPP_PASS; }
