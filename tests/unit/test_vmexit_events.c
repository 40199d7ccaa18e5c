/* xmhf/runtime/vmexit.c and guest_step.c: events around VM exits.
 * - An exit during event delivery delivers the event again (SDM
 *   "Information for VM Exits During Event Delivery", "Reflecting
 *   Exceptions to Guest Software"), or combines it with the exception the
 *   delivery raised (6.15 Table 6-5).
 * - No NMI is injected in an STI shadow ("Checks on Guest Non-Register
 *   State"): NMI-window exiting instead.
 * - No event reaches the guest inside a one-instruction step: NMIs wait,
 *   an exception of the stepped instruction cancels the step first.
 * - An INIT signal to the boot CPU powers off (it cannot wait for a SIPI).
 * - An isolation (guest_isolate_begin/end, a PAL) holds guest NMIs: none injected, no NMI
 *   window asked for, each delivered once after it; its state is restored; a dropped vectored
 *   event is not redelivered (an NMI among them stays pending).
 * - An SS with B = 0 that is unusable or in 64-bit mode (a 64-bit kernel's
 *   NULL SS) goes back with B set, for Bochs' SYSRET that keeps SS's
 *   attributes (docs/bochs.md).
 * The guest runs on CPU 1 in 32-bit protected mode, paging off. */
#include "fake_ept01.h"
#include <runtime/guest_step.h>
#include <runtime/exit_handlers.h>
#include <runtime/vmexit.h>
#include <xmhf/paging.h>
#include <xmhf/vmx.h>
#include <xmhf/x86/segment.h>

#define SELF 1
#define APIC 0xfee00000ull
#define CODE 0x1000ull
#define RFLAGS_FIXED BIT(1)
#define EXT_INTR(v) (INTR_INFO_VALID | (EVENT_EXT_INTR << 8) | (v))
#define HW_EXC(v) (INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | (v))
#define HW_EXC_EC(v) (HW_EXC(v) | INTR_INFO_DELIVER_ERROR_CODE)
#define NMI_EVENT (INTR_INFO_VALID | INTR_TYPE_NMI | VECTOR_NMI)

static struct guest_regs regs;

static int setup(void **state)
{
	(void)state;
	fake_reset(SELF);
	fake_n_log = 0;
	guest_step_cancel();
	for (u32 i = 0; i < 2; i++) {
		cpu_register(i);
		percpu[i].in_guest = true;
		percpu[i].ept_apic_page = l1_gpa(APIC);
	}
	fake_apic_ept_entry = APIC | EPT_R;
	vmcs_set(VMCS_GUEST_CR0, CR0_PE);
	vmcs_set(VMCS_GUEST_CS_AR_BYTES, AR_CODE_RX_ACCESSED | AR_DB);
	vmcs_set(VMCS_GUEST_RIP, CODE);
	vmcs_set(VMCS_GUEST_RFLAGS, RFLAGS_FIXED | RFLAGS_IF);
	memset(&regs, 0, sizeof(regs));
	return 0;
}

static void vm_exit(u32 reason, u32 idt_info)
{
	vmcs_set(VMCS_VM_EXIT_REASON, reason);
	vmcs_set(VMCS_IDT_VECTORING_INFO, idt_info);
	vmcs_set(VMCS_VM_ENTRY_INTR_INFO, 0); /* VM exits clear its valid bit */
	vmexit_handler(&regs);
}

static u64 injected(void) { return vmcs_get(VMCS_VM_ENTRY_INTR_INFO); }
static bool nmi_window(void) { return vmcs_get(VMCS_CPU_BASED_VM_EXEC_CONTROL) & PROC_NMI_WINDOW_EXITING; }

/* A guest NMI is injected at once, but not with blocking by STI (nor MOV
 * SS, nor NMI): then the NMI window is awaited. */
static void test_nmi_not_in_sti_shadow(void **state)
{
	(void)state;
	percpu[SELF].nmi_pending = 1;
	vmcs_set(VMCS_GUEST_INTERRUPTIBILITY_INFO, INTERRUPTIBILITY_STI);
	vm_exit(EXIT_REASON_NMI_WINDOW, 0);
	assert_int_equal(injected(), 0);
	assert_true(nmi_window());
	vmcs_set(VMCS_GUEST_INTERRUPTIBILITY_INFO, 0);
	vm_exit(EXIT_REASON_NMI_WINDOW, 0);
	assert_int_equal(injected(), NMI_EVENT);
	assert_int_equal(percpu[SELF].nmi_pending, 0);
	assert_false(nmi_window());
}

/* The event in the IDT-vectoring information is delivered again: its
 * error code, a software event's instruction length, an NMI with
 * virtual-NMI blocking clear. The exit here is an NMI's (another NMI
 * arrived during the delivery): it becomes pending. */
static void test_vectored_event_redelivered(void **state)
{
	(void)state;
	vmcs_set(VMCS_VM_EXIT_INTR_INFO, NMI_EVENT);
	vm_exit(EXIT_REASON_EXCEPTION_NMI, EXT_INTR(0x30));
	assert_int_equal(injected(), EXT_INTR(0x30));
	assert_int_equal(percpu[SELF].nmi_pending, 1);
	assert_true(nmi_window());
	percpu[SELF].nmi_pending = 0;

	vmcs_set(VMCS_VM_EXIT_INSTRUCTION_LEN, 2);
	vm_exit(EXIT_REASON_EXCEPTION_NMI, INTR_INFO_VALID | (EVENT_SW_INT << 8) | 0x80);
	assert_int_equal(injected(), INTR_INFO_VALID | (EVENT_SW_INT << 8) | 0x80);
	assert_int_equal(vmcs_get(VMCS_VM_ENTRY_INSTRUCTION_LEN), 2);
	percpu[SELF].nmi_pending = 0;

	vmcs_set(VMCS_IDT_VECTORING_ERROR_CODE, 0x6);
	vm_exit(EXIT_REASON_EXCEPTION_NMI, HW_EXC_EC(VECTOR_PF) | BIT(12) /* undefined bit */);
	assert_int_equal(injected(), HW_EXC_EC(VECTOR_PF));
	assert_int_equal(vmcs_get(VMCS_VM_ENTRY_EXCEPTION_ERROR_CODE), 0x6);
	percpu[SELF].nmi_pending = 0;

	vmcs_set(VMCS_GUEST_INTERRUPTIBILITY_INFO, INTERRUPTIBILITY_NMI);
	vm_exit(EXIT_REASON_EXCEPTION_NMI, NMI_EVENT);
	assert_int_equal(injected(), NMI_EVENT);
	assert_int_equal(vmcs_get(VMCS_GUEST_INTERRUPTIBILITY_INFO), 0);
}

/* An EPT violation on hypervisor memory while delivering an event (its
 * IDT or stack there) is #GP(0) during that delivery: #DF after a
 * contributory exception or #PF, a shutdown after #DF, else the #GP (an
 * NMI stays pending). */
static void blocked_delivery(u32 idt_info)
{
	vmcs_set(VMCS_GUEST_PHYSICAL_ADDRESS, FAKE_HV_BASE);
	vmcs_set(VMCS_EXIT_QUALIFICATION, EPT_QUAL_WRITE);
	vm_exit(EXIT_REASON_EPT_VIOLATION, idt_info);
}

static void test_fault_during_delivery_combined(void **state)
{
	(void)state;
	blocked_delivery(HW_EXC_EC(VECTOR_GP));
	assert_int_equal(injected(), HW_EXC_EC(VECTOR_DF));
	assert_int_equal(vmcs_get(VMCS_VM_ENTRY_EXCEPTION_ERROR_CODE), 0);
	blocked_delivery(HW_EXC_EC(VECTOR_PF));
	assert_int_equal(injected(), HW_EXC_EC(VECTOR_DF));
	blocked_delivery(HW_EXC(VECTOR_DB)); /* benign */
	assert_int_equal(injected(), HW_EXC_EC(VECTOR_GP));
	blocked_delivery(EXT_INTR(0x40));
	assert_int_equal(injected(), HW_EXC_EC(VECTOR_GP));
	blocked_delivery(NMI_EVENT);
	assert_int_equal(injected(), HW_EXC_EC(VECTOR_GP));
	assert_int_equal(percpu[SELF].nmi_pending, 1);
	assert_true(nmi_window());
	expect_assert_failure(blocked_delivery(HW_EXC_EC(VECTOR_DF)));
	assert_int_equal(fake_log_count(LOG_INFO, "guest triple fault (shutdown): the guest reset; powering off"), 1);
}

/* A one-instruction step (a guest XCHG to the ICR: not emulated) blocks
 * NMIs: one that arrives waits for the step's end. */
static void begin_step(void)
{
	static const u8 xchg[] = { 0x87, 0x1d, 0x00, 0x03, 0xe0, 0xfe }; /* xchg [0xfee00300], ebx */
	memcpy(guest_mem(CODE, sizeof(xchg)), xchg, sizeof(xchg));
	vmcs_set(VMCS_GUEST_PHYSICAL_ADDRESS, APIC + 0x300);
	vmcs_set(VMCS_GUEST_LINEAR_ADDRESS, APIC + 0x300);
	vmcs_set(VMCS_EXIT_QUALIFICATION, EPT_QUAL_WRITE | EPT_QUAL_LINEAR_VALID | EPT_QUAL_LINEAR_TRANSLATED);
	vm_exit(EXIT_REASON_EPT_VIOLATION, 0);
	assert_true(guest_step_active());
	assert_int_equal(injected(), 0);
}

static void test_nmi_waits_for_step(void **state)
{
	(void)state;
	begin_step();
	vmcs_set(VMCS_VM_EXIT_INTR_INFO, NMI_EVENT);
	vm_exit(EXIT_REASON_EXCEPTION_NMI, 0);
	assert_int_equal(injected(), 0);
	assert_true(nmi_window());
	assert_true(guest_step_active());
	vmcs_set(VMCS_VM_EXIT_INTR_INFO, HW_EXC(VECTOR_DB));
	vmcs_set(VMCS_EXIT_QUALIFICATION, DR6_BS);
	vm_exit(EXIT_REASON_EXCEPTION_NMI, 0);
	assert_false(guest_step_active());
	assert_int_equal(injected(), NMI_EVENT);
	assert_int_equal(fake_apic_ept_entry, APIC | EPT_R);
}

/* The stepped instruction faults (#PF: the exit leaves CR2 to us): the
 * step is cancelled (RFLAGS, NMI blocking, exception bitmap, the APIC
 * page read-only) and the guest gets the #PF as raised. */
static void test_exception_cancels_step(void **state)
{
	(void)state;
	begin_step();
	vmcs_set(VMCS_VM_EXIT_INTR_INFO, HW_EXC_EC(VECTOR_PF));
	vmcs_set(VMCS_VM_EXIT_INTR_ERROR_CODE, 2);
	vmcs_set(VMCS_EXIT_QUALIFICATION, 0xc0001234);
	vm_exit(EXIT_REASON_EXCEPTION_NMI, 0);
	assert_false(guest_step_active());
	assert_int_equal(injected(), HW_EXC_EC(VECTOR_PF));
	assert_int_equal(vmcs_get(VMCS_VM_ENTRY_EXCEPTION_ERROR_CODE), 2);
	assert_int_equal(fake_cr[2], 0xc0001234);
	assert_int_equal(vmcs_get(VMCS_GUEST_RFLAGS), RFLAGS_FIXED | RFLAGS_IF);
	assert_int_equal(vmcs_get(VMCS_GUEST_INTERRUPTIBILITY_INFO), 0);
	assert_int_equal(vmcs_get(VMCS_EXCEPTION_BITMAP), 0);
	assert_int_equal(fake_apic_ept_entry, APIC | EPT_R);
	assert_int_equal(fake_n_ipis, 0); /* nothing was sent */

	/* an instruction breakpoint (#DB, not the single step) cancels it too */
	begin_step();
	vmcs_set(VMCS_VM_EXIT_INTR_INFO, HW_EXC(VECTOR_DB));
	vmcs_set(VMCS_EXIT_QUALIFICATION, DR6_B0_B3 & 1);
	vm_exit(EXIT_REASON_EXCEPTION_NMI, 0);
	assert_false(guest_step_active());
	assert_int_equal(injected(), HW_EXC(VECTOR_DB));
	assert_int_equal(vmcs_get(VMCS_GUEST_RFLAGS), RFLAGS_FIXED | RFLAGS_IF);
}

/* An INIT signal to the boot CPU (port 0x92, 0xCF9 soft reset, an IOAPIC
 * INIT on real hardware) powers off with a message. */
static void test_init_signal_to_boot_cpu(void **state)
{
	(void)state;
	fake_set_cpu(0);
	expect_assert_failure(vm_exit(EXIT_REASON_INIT, 0));
	assert_int_equal(fake_log_count(LOG_INFO, "cpu 0: INIT signal to the boot CPU: the guest reset; powering off"), 1);
}

static void test_isolation_holds_nmis(void **state)
{
	(void)state;
	struct guest_isolation save;
	vmcs_set(VMCS_GUEST_CR3, 0x5000);
	vmcs_set(VMCS_GUEST_IA32_EFER, EFER_SCE | EFER_LME | EFER_LMA);
	vmcs_set(VMCS_GUEST_SS_SELECTOR, 0x2b);
	vmcs_set(VMCS_EXCEPTION_BITMAP, 0);
	percpu[SELF].nmi_pending = 1;
	vmcs_set(VMCS_CPU_BASED_VM_EXEC_CONTROL, PROC_NMI_WINDOW_EXITING);
	vmcs_set(VMCS_GUEST_INTERRUPTIBILITY_INFO, INTERRUPTIBILITY_STI | INTERRUPTIBILITY_NMI);
	guest_isolate_begin(&save, 0x4000, 0x8000, 0x9000, 1000);
	assert_int_equal(vmcs_get(VMCS_GUEST_INTERRUPTIBILITY_INFO), INTERRUPTIBILITY_NMI); /* no STI shadow */
	vmcs_set(VMCS_GUEST_INTERRUPTIBILITY_INFO, 0);
	assert_int_equal(vmcs_get(VMCS_GUEST_RIP), 0x4000);
	assert_int_equal(vmcs_get(VMCS_GUEST_RSP), 0x8000);
	assert_int_equal(vmcs_get(VMCS_GUEST_CR3), 0x9000);
	assert_int_equal(vmcs_get(VMCS_GUEST_RFLAGS), RFLAGS_FIXED);
	assert_int_equal(vmcs_get(VMCS_GUEST_CR0), CR0_PE | CR0_EM | CR0_TS);
	assert_int_equal(vmcs_get(VMCS_GUEST_IA32_EFER), EFER_LME | EFER_LMA);
	assert_int_equal(vmcs_get(VMCS_EXCEPTION_BITMAP), 0xffffffffu);
	assert_true(guest_exception_intercepted(VECTOR_PF));
	assert_false(nmi_window());
	vmcs_set(VMCS_VM_EXIT_INTR_INFO, NMI_EVENT); /* another NMI arrives inside */
	vm_exit(EXIT_REASON_EXCEPTION_NMI, 0);
	assert_int_equal(injected(), 0);
	assert_false(nmi_window());
	assert_int_equal(percpu[SELF].nmi_pending, 2);
	vmcs_set(VMCS_IDT_VECTORING_INFO, NMI_EVENT); /* dropped: pending, not redelivered */
	guest_drop_vectored_event();
	vm_exit(EXIT_REASON_NMI_WINDOW, NMI_EVENT);
	assert_int_equal(injected(), 0);
	assert_int_equal(percpu[SELF].nmi_pending, 3);
	vmcs_set(VMCS_GUEST_SS_SELECTOR, 0);
	guest_isolate_end(&save);
	assert_int_equal(vmcs_get(VMCS_GUEST_INTERRUPTIBILITY_INFO), INTERRUPTIBILITY_STI | INTERRUPTIBILITY_NMI);
	vmcs_set(VMCS_GUEST_INTERRUPTIBILITY_INFO, 0);
	assert_int_equal(vmcs_get(VMCS_GUEST_RIP), CODE);
	assert_int_equal(vmcs_get(VMCS_GUEST_CR3), 0x5000);
	assert_int_equal(vmcs_get(VMCS_GUEST_CR0), CR0_PE);
	assert_int_equal(vmcs_get(VMCS_GUEST_RFLAGS), RFLAGS_FIXED | RFLAGS_IF);
	assert_int_equal(vmcs_get(VMCS_GUEST_IA32_EFER), EFER_SCE | EFER_LME | EFER_LMA);
	assert_int_equal(vmcs_get(VMCS_GUEST_SS_SELECTOR), 0x2b);
	assert_int_equal(vmcs_get(VMCS_EXCEPTION_BITMAP), 0);
	assert_false(guest_exception_intercepted(VECTOR_PF));
	for (u32 left = 3; left-- > 0;) { /* one each, at the exits after the isolation */
		vm_exit(EXIT_REASON_NMI_WINDOW, 0);
		assert_int_equal(injected(), NMI_EVENT);
		assert_int_equal(percpu[SELF].nmi_pending, left);
	}
	vm_exit(EXIT_REASON_NMI_WINDOW, 0);
	assert_int_equal(injected(), 0);
}

/* An unusable SS, or a usable one in 64-bit mode, gains B; a 16-bit stack
 * (B = 0) outside 64-bit mode stays one. */
static void test_null_ss_gets_b(void **state)
{
	(void)state;
	vmcs_set(VMCS_GUEST_SS_AR_BYTES, AR_UNUSABLE);
	vm_exit(EXIT_REASON_NMI_WINDOW, 0);
	assert_int_equal(vmcs_get(VMCS_GUEST_SS_AR_BYTES), AR_UNUSABLE | AR_DB);
	vmcs_set(VMCS_GUEST_SS_AR_BYTES, AR_DATA_RW_ACCESSED | (3 << AR_DPL_SHIFT));
	vm_exit(EXIT_REASON_NMI_WINDOW, 0);
	assert_int_equal(vmcs_get(VMCS_GUEST_SS_AR_BYTES), AR_DATA_RW_ACCESSED | (3 << AR_DPL_SHIFT));
	vmcs_set(VMCS_GUEST_CS_AR_BYTES, AR_CODE_RX_ACCESSED | AR_L);
	vmcs_set(VMCS_GUEST_SS_AR_BYTES, AR_DATA_RW_ACCESSED);
	vm_exit(EXIT_REASON_NMI_WINDOW, 0);
	assert_int_equal(vmcs_get(VMCS_GUEST_SS_AR_BYTES), AR_DATA_RW_ACCESSED | AR_DB);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_nmi_not_in_sti_shadow, setup),
		cmocka_unit_test_setup(test_isolation_holds_nmis, setup),
		cmocka_unit_test_setup(test_vectored_event_redelivered, setup),
		cmocka_unit_test_setup(test_fault_during_delivery_combined, setup),
		cmocka_unit_test_setup(test_nmi_waits_for_step, setup),
		cmocka_unit_test_setup(test_exception_cancels_step, setup),
		cmocka_unit_test_setup(test_init_signal_to_boot_cpu, setup),
		cmocka_unit_test_setup(test_null_ss_gets_b, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
