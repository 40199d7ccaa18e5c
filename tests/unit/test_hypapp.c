/* The hypapp hooks (xmhf/hypapp.h) as the core calls them: each with the
 * exit's arguments, HYPAPP_PASS = the core goes on as without a hypapp,
 * HYPAPP_DONE = the core leaves the exit to the hypapp. The hypapp here
 * records its calls and answers `answer`. The guest runs on CPU 1 in
 * 32-bit protected mode. */
#include "fake_cpu.h"
#include <runtime/exit_handlers.h>
#include <runtime/vmexit.h>
#include <xmhf/e820.h>
#include <xmhf/hypapp.h>
#include <xmhf/vmx.h>

#define SELF 1
#define RIP0 0x1000ull
#define LEN 3
#define IO_QUAL(size, port) (((u64)(size) - 1) | (u64)(port) << 16)
#define GUEST_PAGE 0x5000ull

struct e820_map guest_e820; /* empty: the stub answers "no more entries" */

/* the recording hypapp */
enum hook { NONE, HYPERCALL, CPUID, IO, EPT, EXCEPTION, SHUTDOWN };
static struct {
	enum hook hook;
	u32 calls;
	struct guest_regs *regs;
	u64 a, b, c; /* the hook's arguments */
	struct hypapp_ept_violation ept;
	u64 rax_seen; /* CPUID: RAX when called (the core's answer) */
} rec;
static enum hypapp_result answer;

static enum hypapp_result record(enum hook h, struct guest_regs *regs, u64 a, u64 b, u64 c)
{
	rec.hook = h, rec.calls++, rec.regs = regs, rec.a = a, rec.b = b, rec.c = c;
	return answer;
}

enum hypapp_result hypapp_hypercall(struct guest_regs *regs) { return record(HYPERCALL, regs, regs->rax, 0, 0); }
enum hypapp_result hypapp_cpuid(struct guest_regs *regs, u32 leaf, u32 subleaf)
{
	rec.rax_seen = regs->rax;
	return record(CPUID, regs, leaf, subleaf, 0);
}
enum hypapp_result hypapp_io(struct guest_regs *regs, u16 port, u32 size, u32 flags)
{
	return record(IO, regs, port, size, flags);
}
enum hypapp_result hypapp_ept_violation(struct guest_regs *regs, const struct hypapp_ept_violation *v)
{
	rec.ept = *v;
	return record(EPT, regs, 0, 0, 0);
}
enum hypapp_result hypapp_exception(struct guest_regs *regs, u32 intr_info, u32 error_code)
{
	return record(EXCEPTION, regs, intr_info, error_code, 0);
}
void hypapp_guest_shutdown(void) { record(SHUTDOWN, NULL, 0, 0, 0); }
/* the other hooks: the core's defaults (hypapp_defaults.c) */

static struct guest_regs regs;

static int setup(void **state)
{
	(void)state;
	fake_reset(SELF);
	vmcs_set(VMCS_GUEST_CR0, CR0_PE);
	vmcs_set(VMCS_GUEST_RIP, RIP0);
	vmcs_set(VMCS_VM_EXIT_INSTRUCTION_LEN, LEN);
	memset(&regs, 0, sizeof(regs));
	memset(&rec, 0, sizeof(rec));
	answer = HYPAPP_PASS;
	return 0;
}

static void vm_exit(u32 reason, u64 qualification)
{
	vmcs_set(VMCS_VM_EXIT_REASON, reason);
	vmcs_set(VMCS_EXIT_QUALIFICATION, qualification);
	vmcs_set(VMCS_IDT_VECTORING_INFO, 0);
	vmcs_set(VMCS_VM_ENTRY_INTR_INFO, 0); /* VM exits clear its valid bit */
	vmexit_handler(&regs);
}

static u64 rip(void) { return vmcs_get(VMCS_GUEST_RIP); }
static u64 injected(void) { return vmcs_get(VMCS_VM_ENTRY_INTR_INFO); }
#define UD_EVENT (INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | VECTOR_UD)

/* VMCALL (not the E820 stub): the hypapp sees it; PASS is #UD with RIP
 * unchanged, DONE leaves RIP and the event to the hypapp. */
static void test_hypercall(void **state)
{
	(void)state;
	regs.rax = 0x7e570001;
	vm_exit(EXIT_REASON_VMCALL, 0);
	assert_int_equal(rec.hook, HYPERCALL);
	assert_ptr_equal(rec.regs, &regs);
	assert_int_equal(rec.a, 0x7e570001);
	assert_int_equal(injected(), UD_EVENT);
	assert_int_equal(rip(), RIP0);

	answer = HYPAPP_DONE;
	vm_exit(EXIT_REASON_VMCALL, 0);
	assert_int_equal(rec.calls, 2);
	assert_int_equal(injected(), 0);
	assert_int_equal(rip(), RIP0);
}

/* The E820 stub's VMCALL (real mode at 0040:00AC) is the core's own. */
static void test_e820_stub_vmcall_is_the_cores(void **state)
{
	(void)state;
	vmcs_set(VMCS_GUEST_CR0, 0);
	vmcs_set(VMCS_GUEST_CS_BASE, 0x400);
	vmcs_set(VMCS_GUEST_RIP, 0xac);
	regs.rax = 0xe820;
	regs.rdx = 0x534d4150;
	regs.rcx = 20;
	vm_exit(EXIT_REASON_VMCALL, 0);
	assert_int_equal(rec.calls, 0);
	assert_int_equal(regs.rax, 0x8620); /* answered: AH = 86h */
	assert_int_equal(injected(), 0);
}

/* CPUID: only the leaves the core does not define reach the hypapp (above
 * the highest basic leaf, outside the hypervisor's and the CPU's extended
 * leaves), with the subleaf the guest asked for, after the CPU's answer is
 * in the registers; PASS skips the instruction, DONE leaves RIP to the
 * hypapp. The core's own leaves never call it. */
static void test_cpuid_only_leaves_the_core_does_not_define(void **state)
{
	(void)state;
	cpuid_set(0, 0, (struct cpuid_regs){ 0x16, 1, 2, 3 });
	cpuid_set(0x80000000, 0, (struct cpuid_regs){ 0x80000008, 0, 0, 0 });
	cpuid_set(0x16, 7, (struct cpuid_regs){ 0x99, 1, 2, 3 }); /* what the CPU answers for undefined leaves */
	cpuid_limits_init();
	static const u32 cores[] = { 0, 1, 0x16, 0x40000000, 0x40000001, 0x400000ff, 0x80000000, 0x80000008 };
	for (u32 i = 0; i < sizeof(cores) / sizeof(cores[0]); i++) {
		vmcs_set(VMCS_GUEST_RIP, RIP0);
		regs.rax = cores[i];
		vm_exit(EXIT_REASON_CPUID, 0);
		assert_int_equal(rec.calls, 0);
		assert_int_equal(rip(), RIP0 + LEN);
	}

	vmcs_set(VMCS_GUEST_RIP, RIP0);
	regs.rax = 0x7e570000;
	regs.rcx = 7;
	vm_exit(EXIT_REASON_CPUID, 0);
	assert_int_equal(rec.hook, CPUID);
	assert_int_equal(rec.a, 0x7e570000);
	assert_int_equal(rec.b, 7);
	assert_int_equal(rec.rax_seen, 0x99);
	assert_int_equal(rip(), RIP0 + LEN);

	answer = HYPAPP_DONE;
	static const u32 hypapps[] = { 0x17, 0x40000100, 0x80000009 };
	for (u32 i = 0; i < sizeof(hypapps) / sizeof(hypapps[0]); i++) {
		vmcs_set(VMCS_GUEST_RIP, RIP0);
		regs.rax = hypapps[i];
		vm_exit(EXIT_REASON_CPUID, 0);
		assert_int_equal(rec.calls, 2 + i);
		assert_int_equal(rec.a, hypapps[i]);
		assert_int_equal(rip(), RIP0);
	}
}

/* I/O: port, size and direction; DONE: the core does not touch the port. */
static void test_io(void **state)
{
	(void)state;
	answer = HYPAPP_DONE;
	vm_exit(EXIT_REASON_IO, IO_QUAL(1, 0x64) | IO_QUAL_IN);
	assert_int_equal(rec.hook, IO);
	assert_int_equal(rec.a, 0x64);
	assert_int_equal(rec.b, 1);
	assert_int_equal(rec.c, HYPAPP_IO_IN);
	assert_int_equal(fake_n_port_accesses, 0);
	assert_int_equal(rip(), RIP0);

	answer = HYPAPP_PASS;
	fake_port_io = true;
	regs.rax = 0x12;
	vm_exit(EXIT_REASON_IO, IO_QUAL(2, 0xcf9));
	assert_int_equal(rec.a, 0xcf9);
	assert_int_equal(rec.b, 2);
	assert_int_equal(rec.c, 0);
	assert_int_equal(fake_n_port_accesses, 1);
	assert_int_equal(rip(), RIP0 + LEN);
}

/* An EPT violation on guest memory: GPA, GVA (when valid) and the access
 * kind; PASS is #GP(0). One on the hypervisor's memory is the core's. */
static void test_ept_violation(void **state)
{
	(void)state;
	vmcs_set(VMCS_GUEST_PHYSICAL_ADDRESS, GUEST_PAGE + 0x10);
	vmcs_set(VMCS_GUEST_LINEAR_ADDRESS, 0x80005010);
	vm_exit(EXIT_REASON_EPT_VIOLATION, EPT_QUAL_WRITE | EPT_QUAL_LINEAR_VALID | EPT_QUAL_LINEAR_TRANSLATED);
	assert_int_equal(rec.hook, EPT);
	assert_int_equal(rec.ept.gpa.v, GUEST_PAGE + 0x10);
	assert_true(rec.ept.gva_valid);
	assert_int_equal(rec.ept.gva.v, 0x80005010);
	assert_int_equal(rec.ept.access, HYPAPP_ACCESS_WRITE);
	assert_int_equal(injected(), INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | INTR_INFO_DELIVER_ERROR_CODE | VECTOR_GP);

	answer = HYPAPP_DONE;
	vm_exit(EXIT_REASON_EPT_VIOLATION, EPT_QUAL_FETCH | EPT_QUAL_READ);
	assert_int_equal(rec.calls, 2);
	assert_false(rec.ept.gva_valid);
	assert_int_equal(rec.ept.access, HYPAPP_ACCESS_EXEC | HYPAPP_ACCESS_READ);
	assert_int_equal(injected(), 0);

	vmcs_set(VMCS_GUEST_PHYSICAL_ADDRESS, FAKE_HV_BASE);
	vm_exit(EXIT_REASON_EPT_VIOLATION, EPT_QUAL_READ);
	assert_int_equal(rec.calls, 2);
	assert_int_equal(injected() & INTR_INFO_TYPE_VECTOR, INTR_TYPE_HW_EXCEPTION | VECTOR_GP);
}

/* An exception the hypapp intercepts: the bitmap bit is set, the hook gets
 * the interruption information and error code; PASS reflects it, DONE
 * does not. Stopping the interception clears the bit. */
static void test_intercepted_exception(void **state)
{
	(void)state;
	u32 gp = INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | INTR_INFO_DELIVER_ERROR_CODE | VECTOR_GP;
	guest_intercept_exception(VECTOR_GP, true);
	assert_true(vmcs_get(VMCS_EXCEPTION_BITMAP) & BIT(VECTOR_GP));
	assert_true(guest_exception_intercepted(VECTOR_GP));
	vmcs_set(VMCS_VM_EXIT_INTR_INFO, gp);
	vmcs_set(VMCS_VM_EXIT_INTR_ERROR_CODE, 0x18);
	vm_exit(EXIT_REASON_EXCEPTION_NMI, 0);
	assert_int_equal(rec.hook, EXCEPTION);
	assert_int_equal(rec.a, gp);
	assert_int_equal(rec.b, 0x18);
	assert_int_equal(injected(), gp);
	assert_int_equal(vmcs_get(VMCS_VM_ENTRY_EXCEPTION_ERROR_CODE), 0x18);

	answer = HYPAPP_DONE;
	vm_exit(EXIT_REASON_EXCEPTION_NMI, 0);
	assert_int_equal(injected(), 0);

	guest_intercept_exception(VECTOR_GP, false);
	assert_false(vmcs_get(VMCS_EXCEPTION_BITMAP) & BIT(VECTOR_GP));
	assert_false(guest_exception_intercepted(VECTOR_GP));
	fake_set_cpu(0); /* per CPU */
	assert_false(guest_exception_intercepted(VECTOR_GP));
}

/* A guest reset the hypervisor announces (port 0xCF9 hard reset) reaches
 * the hypapp before the write goes out. */
static void test_shutdown_before_reset(void **state)
{
	(void)state;
	fake_port_io = true;
	regs.rax = 0x6; /* SYS_RST | RST_CPU: a hard reset */
	vm_exit(EXIT_REASON_IO, IO_QUAL(1, 0xcf9));
	assert_int_equal(rec.hook, SHUTDOWN);
	struct port_access *last = &fake_port_accesses[fake_n_port_accesses - 1];
	assert_int_equal(last->port, 0xcf9);
	assert_false(last->in);
	assert_int_equal(last->value, 0x6);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_hypercall, setup),
		cmocka_unit_test_setup(test_e820_stub_vmcall_is_the_cores, setup),
		cmocka_unit_test_setup(test_cpuid_only_leaves_the_core_does_not_define, setup),
		cmocka_unit_test_setup(test_io, setup),
		cmocka_unit_test_setup(test_ept_violation, setup),
		cmocka_unit_test_setup(test_intercepted_exception, setup),
		cmocka_unit_test_setup(test_shutdown_before_reset, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
