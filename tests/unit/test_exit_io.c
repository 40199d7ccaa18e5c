/* xmhf/runtime/exit_io.c and guest_step.c: I/O-instruction exits on the
 * watched ports (SDM Vol. 3 Table 28-5 qualification, 26.1.3 I/O bitmaps),
 * done as the guest asked and announced when they reset or put the machine
 * to sleep; string I/O as a one-instruction step (19.2.4 single-step,
 * Table 28-1 DR6.BS in the #DB qualification). */
#include "fake_cpu.h"
#include "vmentry_check.h"
#include <runtime/guest_step.h>
#include <runtime/exit_handlers.h>
#include <xmhf/vmx.h>

#define CPU 2
#define RIP0 0x7c00
#define PM1A 0x604
#define RAX0 0x1122334455667788ull
#define QUAL_IN BIT(3)
#define QUAL_STRING BIT(4)
#define QUAL_REP BIT(5)
#define QUAL(size, port) (((u64)(size) - 1) | (u64)(port) << 16)
#define DR6_B0 BIT(0)
#define RFLAGS_FIXED BIT(1)
#define EXC_BITMAP0 (BIT(VECTOR_NMI) | BIT(18)) /* NMI, #MC: what else is intercepted stays */
#define NIC_BDF 0x0010   /* 00:02.0, the hypervisor's NIC */
#define NIC_IO 0xc040    /* its I/O BAR */
#define NIC_IO_SIZE 0x40
#define CONFIG_ADDR(bdf, reg) (BIT(31) | (u32)(bdf) << 8 | (reg))
#define COM1 0x3f8 /* the console's UART */

static struct guest_regs regs;
static char console_bytes[16];
static u32 n_console_bytes, console_cpu;

u16 console_uart_port(void) { return COM1; }

void console_guest_write(u32 cpu, u8 c)
{
	console_cpu = cpu;
	console_bytes[n_console_bytes++ % sizeof(console_bytes)] = (char)c;
}

static int group_setup(void **state)
{
	(void)state;
	io_watch_init(PM1A, 0); /* once: the hypervisor calls it once */
	assert_true(io_hide_pci_function(NIC_BDF));
	assert_false(io_hide_pci_function(NIC_BDF + 1)); /* one function */
	assert_true(io_hide_ports(NIC_IO, NIC_IO_SIZE));
	assert_false(io_hide_ports(0xfff0, 0x20));       /* past 0xffff */
	return 0;
}

static int setup(void **state)
{
	(void)state;
	fake_reset(CPU);
	vmentry_vmcs01(CPU);
	fake_port_io = true;
	fake_port_value = 0x12345678;
	guest_step_cancel(); /* no step left over from an earlier test */
	io_watch_cpu(CPU);
	vmcs_set(VMCS_GUEST_RIP, RIP0);
	vmcs_set(VMCS_GUEST_RFLAGS, RFLAGS_FIXED | RFLAGS_IF);
	vmcs_set(VMCS_EXCEPTION_BITMAP, EXC_BITMAP0);
	memset(&regs, 0, sizeof(regs));
	regs.rax = RAX0;
	return 0;
}

static bool intercepted(u16 port)
{
	const u8 *bitmap = port < 0x8000 ? percpu_pages[CPU].io_bitmap_a : percpu_pages[CPU].io_bitmap_b;
	return bitmap[(port & 0x7fff) / 8] & (1u << (port % 8));
}

/* An I/O exit with qualification q of an instruction of len bytes. */
static void io_exit(u64 q, u32 len)
{
	fake_n_log = 0;
	fake_n_port_accesses = 0;
	vmcs_set(VMCS_GUEST_RIP, RIP0);
	vmcs_set(VMCS_VM_EXIT_INSTRUCTION_LEN, len);
	vmcs_set(VMCS_EXIT_QUALIFICATION, q);
	handle_io(&regs);
	assert_vmentry_ok();
}

static void out(u32 size, u16 port, u64 rax)
{
	regs.rax = rax;
	io_exit(QUAL(size, port), 1);
	assert_int_equal(regs.rax, rax);
	assert_int_equal(vmcs_get(VMCS_GUEST_RIP), RIP0 + 1);
	assert_int_equal(fake_n_port_accesses, 1);
	assert_int_equal(fake_port_accesses[0].port, port);
	assert_int_equal(fake_port_accesses[0].size, size);
	assert_false(fake_port_accesses[0].in);
	assert_int_equal(fake_port_accesses[0].value, size == 4 ? (u32)rax : rax & ((1u << (8 * size)) - 1));
}

static u32 info_lines(const char *needle) { return fake_log_count(LOG_INFO, needle); }

static void test_watched_ports_intercepted(void **state)
{
	(void)state;
	assert_true(intercepted(0xcf9));
	assert_true(intercepted(0x64));
	assert_true(intercepted(PM1A));
	assert_true(intercepted(0x92));
	assert_false(intercepted(0xcf8));
	assert_true(intercepted(0xcfc)); /* a hidden PCI function: the data ports */
	assert_true(intercepted(0xcff));
	assert_false(intercepted(0xd00));
	assert_true(intercepted(NIC_IO));
	assert_true(intercepted(NIC_IO + NIC_IO_SIZE - 1));
	assert_false(intercepted(NIC_IO + NIC_IO_SIZE));
	assert_false(intercepted(0x60));
	assert_false(intercepted(PM1A + 1));
	assert_false(intercepted(0)); /* no PM1b */
	assert_true(intercepted(COM1)); /* the console's transmit register */
	assert_false(intercepted(COM1 + 5));
}

/* A byte to the console's transmit register goes through the console
 * (its line lock), not straight to the port; other widths and reads of
 * the port are the guest's as they were. */
static void test_console_byte_through_console(void **state)
{
	(void)state;
	n_console_bytes = 0;
	regs.rax = 0xaa00 | 'G';
	io_exit(QUAL(1, COM1), 1);
	assert_int_equal(n_console_bytes, 1);
	assert_int_equal(console_bytes[0], 'G');
	assert_int_equal(console_cpu, CPU);
	assert_int_equal(fake_n_port_accesses, 0);
	assert_int_equal(vmcs_get(VMCS_GUEST_RIP), RIP0 + 1);
	out(2, COM1, 0x0141);
	assert_int_equal(n_console_bytes, 1);
	io_exit(QUAL(1, COM1) | QUAL_IN, 1);
	assert_int_equal(fake_n_port_accesses, 1);
	assert_int_equal(regs.rax & 0xff, 0x78); /* fake_port_value's low byte */
	assert_int_equal(n_console_bytes, 1);
}

static void test_reset_control_write_announced(void **state)
{
	(void)state;
	out(1, 0xcf9, 0xdeadbeefcafe0006ull); /* SYS_RST | RST_CPU */
	assert_int_equal(info_lines("cpu 2: the guest resets the machine (port 0xcf9)"), 1);
	out(1, 0xcf9, 0x0e);                   /* full reset */
	assert_int_equal(info_lines("resets the machine"), 1);
	out(1, 0xcf9, 0x02);                   /* SYS_RST alone does not reset */
	assert_int_equal(fake_n_log, 0);
}

/* 0xCF8 is the PCI configuration address: a 32-bit write covers 0xCF9 and
 * exits, but is no reset, even with 0x06 in the byte of 0xCF9; nor is a
 * wider write at 0xCF9. */
static void test_pci_address_write_not_reset(void **state)
{
	(void)state;
	out(4, 0xcf8, 0xffffffff80000604ull);
	assert_int_equal(fake_n_log, 0);
	out(2, 0xcf8, 0x0604);
	assert_int_equal(fake_n_log, 0);
	out(2, 0xcf9, 0x0006); /* the reset register is a byte: only OUT AL counts */
	assert_int_equal(fake_n_log, 0);
}

static void test_kbc_reset_announced(void **state)
{
	(void)state;
	out(1, 0x64, 0xfe); /* pulse the reset line */
	assert_int_equal(info_lines("cpu 2: the guest resets the machine (keyboard controller)"), 1);
	out(1, 0x64, 0xd1); /* write output port: no reset */
	assert_int_equal(fake_n_log, 0);
}

/* Resets that are an INIT of the processors on hardware (port 0x92 bit 0
 * from 0 to 1, 0xCF9 RST_CPU without SYS_RST): the boot CPU cannot follow
 * an INIT, so the hypervisor powers off (the stub's power_off asserts). */
static void test_init_resets_power_off(void **state)
{
	(void)state;
	fake_port_value = 0x02; /* port 0x92 reads A20 on, no reset */
	regs.rax = 0x03;
	expect_assert_failure(io_exit(QUAL(1, 0x92), 1));
	assert_int_equal(info_lines("cpu 2: port 0x92 fast reset (an INIT): the guest reset; powering off"), 1);
	out(1, 0x92, 0x02); /* A20 alone */
	fake_port_value = 0x03;
	regs.rax = 0x03;
	io_exit(QUAL(1, 0x92), 1); /* bit 0 already set: no change, no reset */
	assert_int_equal(fake_n_log, 0);
	assert_int_equal(fake_n_port_accesses, 2);
	regs.rax = 0x04;
	expect_assert_failure(io_exit(QUAL(1, 0xcf9), 1));
	assert_int_equal(info_lines("cpu 2: port 0xcf9 soft reset (an INIT): the guest reset; powering off"), 1);
}

static void test_pm1_sleep_announced(void **state)
{
	(void)state;
	out(2, PM1A, 0xffff3401); /* SLP_EN | SLP_TYP 5 | SCI_EN */
	assert_int_equal(info_lines("cpu 2: the guest enters ACPI sleep state SLP_TYP 5 (port 0x604)"), 1);
	out(4, PM1A, 0x2000);
	assert_int_equal(info_lines("sleep state SLP_TYP 0 (port 0x604)"), 1);
	out(2, PM1A, 0x1401); /* SLP_TYP without SLP_EN */
	assert_int_equal(fake_n_log, 0);
}

static void in(u32 size, u16 port, u32 len, u64 want_rax)
{
	regs.rax = RAX0;
	io_exit(QUAL(size, port) | QUAL_IN, len);
	assert_int_equal(regs.rax, want_rax);
	assert_int_equal(vmcs_get(VMCS_GUEST_RIP), RIP0 + len);
	assert_int_equal(fake_n_port_accesses, 1);
	assert_true(fake_port_accesses[0].in);
	assert_int_equal(fake_port_accesses[0].port, port);
	assert_int_equal(fake_port_accesses[0].size, size);
	assert_int_equal(fake_n_log, 0);
}

/* AL and AX keep the rest of RAX; EAX is zero-extended into RAX (Vol. 1
 * 3.4.1.1; outside 64-bit mode the upper half is undefined). */
static void test_in_merged_into_rax(void **state)
{
	(void)state;
	in(1, 0x64, 1, 0x1122334455667778ull);
	in(1, 0xcf9, 2, 0x1122334455667778ull); /* IN AL, imm8 */
	in(2, 0xcf8, 1, 0x1122334455665678ull);
	in(4, 0xcf8, 1, 0x12345678ull);
	in(2, PM1A, 2, 0x1122334455665678ull);
}

/* A string I/O exit (REP OUTSB to 0xCF9; OUTSW to 0xCF8 covering 0xCF9)
 * is not emulated: the guest runs it as a single step with its ports'
 * bitmap bits clear, and the single-step #DB ends the step. */
static void string_io_step(u16 port, u32 size, u64 rflags)
{
	vmcs_set(VMCS_GUEST_RFLAGS, rflags);
	io_exit(QUAL(size, port) | QUAL_STRING | QUAL_REP, 2);
	assert_int_equal(fake_n_port_accesses, 0);
	assert_int_equal(vmcs_get(VMCS_GUEST_RIP), RIP0);
	assert_int_equal(fake_log_count(LOG_DEBUG, "cpu 2: guest string I/O on port"), 1);
	for (u32 b = 0; b < size; b++)
		assert_false(intercepted((u16)(port + b)));
	assert_true(intercepted(0x64));
	assert_true(intercepted(PM1A));
	assert_int_equal(vmcs_get(VMCS_GUEST_RFLAGS), (rflags | RFLAGS_TF) & ~RFLAGS_IF);
	/* no event inside the step: every exception exits, NMIs blocked */
	assert_int_equal(vmcs_get(VMCS_EXCEPTION_BITMAP), 0xffffffffu);
	assert_int_equal(vmcs_get(VMCS_GUEST_INTERRUPTIBILITY_INFO), INTERRUPTIBILITY_NMI);
	assert_true(guest_step_active());

	/* a #DB that is not the single step (an instruction breakpoint of the
	 * guest) ends nothing and goes to the guest with its DR6 bit */
	vmcs_set(VMCS_EXIT_QUALIFICATION, DR6_B0);
	guest_step_db_exit();
	assert_vmentry_ok();
	assert_true(guest_step_active());
	assert_false(intercepted(0xcf9));
	assert_int_equal(fake_dr6, DR6_B0);
	assert_int_equal(vmcs_get(VMCS_VM_ENTRY_INTR_INFO), INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | VECTOR_DB);
	vmcs_set(VMCS_VM_ENTRY_INTR_INFO, 0);
	fake_dr6 = 0;

	/* the instruction ran: RIP moved, RFLAGS as the guest left them */
	vmcs_set(VMCS_GUEST_RIP, RIP0 + 2);
	vmcs_set(VMCS_EXIT_QUALIFICATION, DR6_BS);
	guest_step_db_exit();
	assert_vmentry_ok();
	assert_false(guest_step_active());
	/* the guest's own single-stepping (TF was set) gets its trap too */
	bool guest_tf = rflags & RFLAGS_TF;
	assert_int_equal(fake_dr6, guest_tf ? DR6_BS : 0);
	assert_int_equal(vmcs_get(VMCS_VM_ENTRY_INTR_INFO),
			 guest_tf ? (INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | VECTOR_DB) : 0);
	assert_int_equal(vmcs_get(VMCS_GUEST_RFLAGS), rflags);
	assert_int_equal(vmcs_get(VMCS_EXCEPTION_BITMAP), EXC_BITMAP0);
	assert_int_equal(vmcs_get(VMCS_GUEST_INTERRUPTIBILITY_INFO), 0);
	assert_int_equal(vmcs_get(VMCS_GUEST_RIP), RIP0 + 2);
	assert_true(intercepted(0xcf9));
	assert_false(intercepted(0xcf8));
}

/* The hidden function's configuration space reads all ones and takes no
 * write (only 0xCF8 is read, to see what the guest selected); another
 * function's, or a disabled address, passes through. */
static void in_absent(u32 size, u16 port, u64 want_rax, u32 n_accesses)
{
	regs.rax = RAX0;
	io_exit(QUAL(size, port) | QUAL_IN, 1);
	assert_int_equal(regs.rax, want_rax);
	assert_int_equal(vmcs_get(VMCS_GUEST_RIP), RIP0 + 1);
	assert_int_equal(fake_n_port_accesses, n_accesses);
}

static void test_hidden_pci_function_absent(void **state)
{
	(void)state;
	fake_port_value = CONFIG_ADDR(NIC_BDF, 0x10);
	in_absent(4, 0xcfc, 0xffffffffull, 1);
	assert_int_equal(fake_port_accesses[0].port, 0xcf8);
	in_absent(2, 0xcfe, 0x112233445566ffffull, 1);
	in_absent(1, 0xcfd, 0x11223344556677ffull, 1);
	regs.rax = 0x12345678;
	io_exit(QUAL(4, 0xcfc), 1);
	assert_int_equal(fake_n_port_accesses, 1); /* the write is dropped */
	assert_int_equal(vmcs_get(VMCS_GUEST_RIP), RIP0 + 1);

	fake_port_value = CONFIG_ADDR(NIC_BDF + 8, 0); /* 00:03.0 */
	io_exit(QUAL(4, 0xcfc) | QUAL_IN, 1);
	assert_int_equal(regs.rax, fake_port_value);
	assert_int_equal(fake_n_port_accesses, 2);
	assert_int_equal(fake_port_accesses[1].port, 0xcfc);
	fake_port_value = CONFIG_ADDR(NIC_BDF, 0) & ~BIT(31); /* no configuration cycle */
	io_exit(QUAL(4, 0xcfc) | QUAL_IN, 1);
	assert_int_equal(fake_n_port_accesses, 2);
}

/* Its I/O BAR: nothing answers, no port is touched; string I/O is #GP(0). */
static void test_hidden_io_ports_absent(void **state)
{
	(void)state;
	in_absent(1, NIC_IO + 5, 0x11223344556677ffull, 0);
	in_absent(4, NIC_IO + NIC_IO_SIZE - 2, 0xffffffffull, 0); /* overlapping the end */
	regs.rax = 0x55;
	io_exit(QUAL(1, NIC_IO), 1);
	assert_int_equal(fake_n_port_accesses, 0);
	io_exit(QUAL(4, NIC_IO) | QUAL_STRING | QUAL_REP, 2);
	assert_int_equal(fake_n_port_accesses, 0);
	assert_int_equal(vmcs_get(VMCS_VM_ENTRY_INTR_INFO) & (INTR_INFO_VALID | INTR_INFO_TYPE_VECTOR),
			 INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | VECTOR_GP);
	assert_int_equal(fake_log_count(LOG_WARN, "string I/O on port 0xc040 of a hidden device: #GP(0)"), 1);
	assert_int_equal(vmcs_get(VMCS_GUEST_RIP), RIP0);
	assert_false(guest_step_active());
}

static void test_string_io_single_step(void **state)
{
	(void)state;
	string_io_step(0xcf9, 1, RFLAGS_FIXED | RFLAGS_IF);
	string_io_step(0xcf8, 2, RFLAGS_FIXED | RFLAGS_IF | BIT(11) /* OF */);
	string_io_step(0xcf9, 1, RFLAGS_FIXED);                          /* IF stays 0 */
	string_io_step(0xcf9, 1, RFLAGS_FIXED | RFLAGS_TF | RFLAGS_IF);  /* the guest's TF stays */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_watched_ports_intercepted, setup),
		cmocka_unit_test_setup(test_console_byte_through_console, setup),
		cmocka_unit_test_setup(test_reset_control_write_announced, setup),
		cmocka_unit_test_setup(test_pci_address_write_not_reset, setup),
		cmocka_unit_test_setup(test_hidden_pci_function_absent, setup),
		cmocka_unit_test_setup(test_hidden_io_ports_absent, setup),
		cmocka_unit_test_setup(test_kbc_reset_announced, setup),
		cmocka_unit_test_setup(test_init_resets_power_off, setup),
		cmocka_unit_test_setup(test_pm1_sleep_announced, setup),
		cmocka_unit_test_setup(test_in_merged_into_rax, setup),
		cmocka_unit_test_setup(test_string_io_single_step, setup),
	};
	return cmocka_run_group_tests(tests, group_setup, NULL);
}
