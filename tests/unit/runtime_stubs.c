/* Host stand-ins for what runtime code links against besides the sources
 * a test program tests: linker symbols (Makefile --defsym), the per-CPU
 * arrays of cpu_tables.c, panic and logging, and weak versions of the
 * runtime functions a test does not link (a linked source overrides
 * them): these fail the test when called, except the recording fakes. */
#include "fake_cpu.h"
#include <stdio.h>
#include <runtime/ept01.h>
#include <runtime/guest_step.h>
#include <runtime/panic.h>
#include <runtime/vmcs01.h>
#include <runtime/vmx_ops.h>
#include <runtime/exit_handlers.h>
#include <runtime/xcall.h>
#include <xmhf/console.h>
#include <xmhf/log.h>
#include <xmhf/nested.h>
#include <xmhf/netlog.h>
#include <xmhf/power.h>

struct percpu percpu[MAX_CPUS];
struct percpu_pages percpu_pages[MAX_CPUS] __attribute__((aligned(4096)));

/* Fatal paths of the hypervisor are CMocka assertions: expect_assert_failure
 * catches them, anything else fails the test. */
static NORETURN void fatal(const char *what)
{
	mock_assert(0, what, __FILE__, __LINE__);
	abort();
}

void panic(const char *fmt, ...)
{
	static char msg[256]; /* mock_assert reports it after longjmp */
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fatal(msg);
}

void halt_all_cpus(void) { fatal("halt_all_cpus"); }
void power_off(void) { fatal("power_off"); }
void vmcs_dump(void) {}
void nmi_unblock(void) {}
void vmexit_stub(void) {}
void vmx_launch(const struct guest_regs *regs) { (void)regs; fatal("vmx_launch"); }

/* Logging: formatted (so that UBSan/ASan see the arguments) and recorded. */
struct log_line fake_log[FAKE_LOG_LINES];
u32 fake_n_log;

void xlog(enum loglvl level, const char *fmt, ...)
{
	char line[LOG_LINE_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (fake_n_log < FAKE_LOG_LINES) {
		fake_log[fake_n_log].level = level;
		memcpy(fake_log[fake_n_log].text, line, sizeof(line));
	}
	fake_n_log++;
}

u32 fake_log_count(enum loglvl level, const char *needle)
{
	u32 n = 0;
	for (u32 i = 0; i < fake_n_log && i < FAKE_LOG_LINES; i++)
		n += fake_log[i].level == level && strstr(fake_log[i].text, needle);
	return n;
}

u32 fake_ept01_rebuild_calls, fake_ept01_rebuild_cpu, fake_ept01_build_calls;

WEAK u64 ept01_build(u32 cpu) { (void)cpu; fake_ept01_build_calls++; return FAKE_EPTP; }
WEAK void ept01_rebuild(u32 cpu) { fake_ept01_rebuild_calls++; fake_ept01_rebuild_cpu = cpu; }
WEAK u64 *ept01_apic_entry(u32 cpu) { (void)cpu; fatal("ept01_apic_entry"); }
u32 fake_ept01_moved_apic_cpu = ~0u;
u64 fake_ept01_moved_apic_page;
WEAK void ept01_move_apic(u32 cpu, l1_gpa_t page) { fake_ept01_moved_apic_cpu = cpu; fake_ept01_moved_apic_page = page.v; }
WEAK u64 ept01_eptp(u32 cpu) { (void)cpu; return FAKE_EPTP; }
WEAK void ept01_flush(u32 cpu) { invept(INVEPT_SINGLE_CONTEXT, ept01_eptp(cpu)); }
WEAK struct spinlock *ept01_lock(void) { fatal("ept01_lock"); }
WEAK bool gpa_is_hypervisor(l1_gpa_t gpa, u64 size) { (void)gpa, (void)size; fatal("gpa_is_hypervisor"); }
WEAK void vmcs01_guest_init_state(u16 cs, u16 ip) { (void)cs, (void)ip; fatal("vmcs01_guest_init_state"); }

#define UNEXPECTED_HANDLER(name) \
	WEAK void name(struct guest_regs *regs) { (void)regs; fatal(#name); }
UNEXPECTED_HANDLER(handle_cpuid)
UNEXPECTED_HANDLER(handle_rdmsr)
UNEXPECTED_HANDLER(handle_wrmsr)
UNEXPECTED_HANDLER(handle_cr_access)
UNEXPECTED_HANDLER(handle_xsetbv)
UNEXPECTED_HANDLER(handle_vmcall)
UNEXPECTED_HANDLER(handle_ept_violation)
UNEXPECTED_HANDLER(handle_io)
UNEXPECTED_HANDLER(apic_requests)
WEAK void console_drain(void) {}
WEAK u16 console_uart_port(void) { return 0; } /* no UART: nothing to watch */
WEAK void console_guest_write(u32 cpu, u8 c) { (void)cpu; (void)c; fail(); }
WEAK bool netlog_running; /* no network log in the tests: netlog_poll sends nothing */
WEAK void netlog_send_queued(void) {}
WEAK bool xcall_debug_hypercall(struct guest_regs *regs) { (void)regs; return false; }
WEAK void io_watch_cpu(u32 cpu) { (void)cpu; }
WEAK bool guest_step_begin(guest_step_done_fn done) { (void)done; fatal("guest_step_begin"); }
WEAK bool guest_step_active(void) { return false; }
WEAK void guest_step_db_exit(void) { fatal("guest_step_db_exit"); }
WEAK void guest_step_cancel(void) {}

/* nested/ not linked: what --no-nested answers (xmhf/nested.h's stubs) */
WEAK bool nested_vmx_offered(void) { return false; }
WEAK enum nested_msr_result nested_rdmsr(u32 msr, u64 *value) { (void)msr, (void)value; return NESTED_MSR_NOT_MINE; }
WEAK bool nested_cr_write_allowed(u64 new0, u64 new4) { (void)new0; return !(new4 & CR4_VMXE); }
WEAK bool nested_vmcall(const struct guest_regs *regs) { (void)regs; return false; }
WEAK void nested_ept01_changed(u32 cpu, const struct ept01_changes *changes) { (void)cpu, (void)changes; }
WEAK void nested_requests(void) {}
WEAK void nested_vmx_instruction(struct guest_regs *regs, u32 exit_reason)
{
	(void)regs, (void)exit_reason;
	fatal("nested_vmx_instruction");
}
WEAK bool nested_l2_exit(struct guest_regs *regs, u32 reason) { (void)regs, (void)reason; return false; }
WEAK void nested_isolation_begin(void) {}
WEAK bool nested_caller_ept12(void) { return false; }
/* apic_write.c not linked: the core owns no page, the hypapp handles none */
WEAK bool l0_offer_ept_violation(struct guest_regs *regs, l1_gpa_t gpa, u64 q)
{
	(void)regs, (void)gpa, (void)q;
	return false;
}
WEAK bool nested_l2_gpa_to_l1(l2_gpa_t gpa, u64 access, l1_gpa_t *out)
{
	(void)access;
	*out = l1_gpa(gpa.v);
	return true;
}
WEAK void nested_isolation_end(void) {}
WEAK bool nested_entry_failed(struct guest_regs *regs) { (void)regs; return false; }
WEAK bool nested_nmi_exit_to_l1(void) { return false; }
WEAK enum nested_init nested_init_signal(void) { return NESTED_INIT_NOT_MINE; }
WEAK void apic_init_unblock(void) {}
