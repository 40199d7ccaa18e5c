/* I/O exits. The guest owns every port; the I/O bitmap catches only the
 * ports through which it powers off or resets the machine, so that the
 * hypervisor can say so on its console before it happens, and the transmit
 * register of the console's UART, whose bytes the console sends under its
 * line lock (console_guest_write) so that the guest's lines and the
 * hypervisor's do not split each other. The access
 * itself is then done as the guest asked (SDM Vol. 3 Table 28-5 gives the
 * exit qualification), except a reset that is an INIT of the processors
 * (port 0x92 fast reset, 0xCF9 soft reset): the boot CPU cannot follow an
 * INIT (it would wait for a SIPI), so the hypervisor powers off. String
 * I/O runs natively as a one-instruction step with the port's bitmap bit
 * cleared. A device the hypervisor keeps for itself (the network log's NIC)
 * is absent for the guest: its configuration space through 0xCF8/0xCFC and
 * its I/O ports read all ones and ignore writes (PCI Local Bus 3.0 6.1: a
 * read of a function that does not exist ends in master abort, all ones). */
#include <runtime/exit_handlers.h>
#include <runtime/guest_step.h>
#include <runtime/percpu.h>
#include <runtime/vmx_ops.h>
#include <xmhf/acpi.h>
#include <xmhf/console.h>
#include <xmhf/cpu.h>
#include <xmhf/hypapp.h>
#include <xmhf/log.h>

#define PORT_RESET_CONTROL 0xcf9
#define PORT_KBC_COMMAND 0x64
#define PORT_SYSTEM_CONTROL_A 0x92
#define RESET_CONTROL_SYS_RST BIT(1) /* with RST_CPU: a hard (platform) reset */
#define RESET_CONTROL_RESET BIT(2)   /* RST_CPU */
#define SYSTEM_CONTROL_A_FAST_RESET BIT(0) /* a 0 -> 1 change: INIT */
#define KBC_PULSE_RESET 0xfe
#define PORT_PCI_CONFIG_ADDRESS 0xcf8
#define PORT_PCI_CONFIG_DATA 0xcfc /* 4 ports */
#define PCI_CONFIG_ENABLE BIT(31)
#define PCI_CONFIG_BDF(addr) (((addr) >> 8) & 0xffff)
#define IO_MAX_HIDDEN_PORTS 4

struct port_range {
	u16 base, count;
};

static u16 watched_ports[6];
static u32 n_watched;
static u16 pm1_cnt[2]; /* PM1a/PM1b control, 0 if absent */
static bool pci_hidden;
static u16 pci_hidden_bdf;
static struct port_range hidden_ports[IO_MAX_HIDDEN_PORTS + 1]; /* + the config data ports */
static u32 n_hidden_ports;

static void io_bitmap_set(u32 cpu, u16 port, bool intercept)
{
	u8 *bitmap = port < 0x8000 ? percpu_pages[cpu].io_bitmap_a : percpu_pages[cpu].io_bitmap_b;
	u16 bit = port & 0x7fff;
	if (intercept)
		bitmap[bit / 8] |= (u8)(1u << (bit % 8));
	else
		bitmap[bit / 8] &= (u8)~(1u << (bit % 8));
}

void io_watch_init(u16 pm1a_cnt, u16 pm1b_cnt)
{
	watched_ports[n_watched++] = PORT_RESET_CONTROL;
	watched_ports[n_watched++] = PORT_KBC_COMMAND;
	watched_ports[n_watched++] = PORT_SYSTEM_CONTROL_A;
	pm1_cnt[0] = pm1a_cnt;
	pm1_cnt[1] = pm1b_cnt;
	for (u32 i = 0; i < 2; i++)
		if (pm1_cnt[i])
			watched_ports[n_watched++] = pm1_cnt[i];
	if (console_uart_port())
		watched_ports[n_watched++] = console_uart_port();
}

bool io_hide_pci_function(u16 bdf)
{
	if (pci_hidden || n_hidden_ports == ARRAY_SIZE(hidden_ports))
		return false;
	pci_hidden = true;
	pci_hidden_bdf = bdf;
	hidden_ports[n_hidden_ports++] = (struct port_range){ PORT_PCI_CONFIG_DATA, 4 };
	return true;
}

bool io_hide_ports(u16 base, u16 count)
{
	if (n_hidden_ports == ARRAY_SIZE(hidden_ports) || !count || base + count > 0x10000)
		return false;
	hidden_ports[n_hidden_ports++] = (struct port_range){ base, count };
	return true;
}

/* Any access whose bytes include a watched port exits (26.6.4), e.g. a
 * 32-bit write of the PCI address to 0xcf8 covers 0xcf9: only the exact
 * register and width below mean reset or sleep. */
void io_watch_cpu(u32 cpu)
{
	for (u32 i = 0; i < n_watched; i++)
		io_bitmap_set(cpu, watched_ports[i], true);
	for (u32 i = 0; i < n_hidden_ports; i++)
		for (u32 p = hidden_ports[i].base; p < (u32)hidden_ports[i].base + hidden_ports[i].count; p++)
			io_bitmap_set(cpu, (u16)p, true);
}

/* Whether an access of size bytes at port reaches a hidden device: one of
 * its port ranges, or the configuration data ports while the address the
 * guest last latched in 0xCF8 (the register itself, shared by the CPUs as
 * on hardware) selects the hidden function. */
static bool io_hidden(u16 port, u32 size)
{
	for (u32 i = 0; i < n_hidden_ports; i++) {
		const struct port_range *r = &hidden_ports[i];
		if (port + size <= r->base || port >= r->base + r->count)
			continue;
		if (r->base != PORT_PCI_CONFIG_DATA || !pci_hidden)
			return true;
		u32 addr = inl(PORT_PCI_CONFIG_ADDRESS);
		return (addr & PCI_CONFIG_ENABLE) && PCI_CONFIG_BDF(addr) == pci_hidden_bdf;
	}
	return false;
}

static void announce(u16 port, u32 size, u32 value)
{
	u32 cpu = this_cpu()->index;
	bool pm1 = size >= 2 && port && (port == pm1_cnt[0] || port == pm1_cnt[1]);

	if (port == PORT_RESET_CONTROL && size == 1 && (value & RESET_CONTROL_RESET) &&
	    !(value & RESET_CONTROL_SYS_RST))
		guest_reset_power_off("port 0xcf9 soft reset (an INIT)");
	else if (port == PORT_SYSTEM_CONTROL_A && size == 1 && (value & SYSTEM_CONTROL_A_FAST_RESET) &&
		 !(inb(PORT_SYSTEM_CONTROL_A) & SYSTEM_CONTROL_A_FAST_RESET))
		guest_reset_power_off("port 0x92 fast reset (an INIT)");
	else if (port == PORT_RESET_CONTROL && size == 1 && (value & RESET_CONTROL_RESET))
		pr_info("xmhf: cpu %u: the guest resets the machine (port 0xcf9)", cpu);
	else if (port == PORT_KBC_COMMAND && size == 1 && value == KBC_PULSE_RESET)
		pr_info("xmhf: cpu %u: the guest resets the machine (keyboard controller)", cpu);
	else if (pm1 && (value & PM1_SLP_EN))
		pr_info("xmhf: cpu %u: the guest enters ACPI sleep state SLP_TYP %u (port 0x%x)", cpu,
			(value >> 10) & 7, port);
	else
		return;
	hypapp_guest_shutdown();
	vmexit_print_counts(pm1 ? "ACPI sleep" : "reset");
	console_drain();
}

static void string_step_done(bool completed)
{
	io_watch_cpu(this_cpu()->index);
}

/* String I/O: one native step with the port's bitmap bits cleared. */
static NOINLINE void string_io(u16 port, u32 size)
{
	u32 cpu = this_cpu()->index;
	pr_debug("xmhf: cpu %u: guest string I/O on port 0x%x", cpu, port);
	/* inside another step (INS writing the APIC page): steps do not nest */
	if (!guest_step_begin(string_step_done)) {
		pr_warn("xmhf: cpu %u: guest string I/O on port 0x%x inside a step: #GP(0)", cpu, port);
		inject_gp0();
		return;
	}
	for (u32 b = 0; b < size; b++)
		io_bitmap_set(cpu, (u16)(port + b), false);
}

static u32 size_mask(u32 size) { return size == 4 ? 0xffffffffu : (1u << (8 * size)) - 1; }

/* OUT: a byte to the console's UART goes through the console; others are
 * announced first (announce() may power off instead). */
static NOINLINE void port_out(struct guest_regs *regs, u16 port, u32 size)
{
	u32 v = (u32)regs->rax & size_mask(size);
	if (size == 1 && port == console_uart_port()) {
		console_guest_write(this_cpu()->index, (u8)v);
		skip_instruction();
		return;
	}
	announce(port, size, v);
	if (size == 1)
		outb(port, (u8)v);
	else if (size == 2)
		outw(port, (u16)v);
	else
		outl(port, v);
	skip_instruction();
}

/* An access to a hidden device: nothing answers, a read floats to all
 * ones, a write is lost; string I/O there is refused. */
static NOINLINE void hidden_io(struct guest_regs *regs, u64 q, u16 port, u32 size)
{
	if (q & IO_QUAL_STRING) {
		pr_warn("xmhf: cpu %u: guest string I/O on port 0x%x of a hidden device: #GP(0)",
			this_cpu()->index, port);
		inject_gp0();
		return;
	}
	if (q & IO_QUAL_IN)
		regs->rax = size == 4 ? size_mask(size) : regs->rax | size_mask(size);
	skip_instruction();
}

/* The core's I/O, out of line so that only q and regs live across the hook
 * call; IN (a guest polling a port) calls nothing else. */
static NOINLINE void core_io(struct guest_regs *regs, u64 q)
{
	u16 port = IO_QUAL_PORT(q);
	u32 size = IO_QUAL_SIZE(q);
	if (n_hidden_ports && io_hidden(port, size)) {
		hidden_io(regs, q, port, size);
	} else if (q & IO_QUAL_STRING) {
		string_io(port, size);
	} else if (q & IO_QUAL_IN) {
		u32 v = size == 1 ? inb(port) : size == 2 ? inw(port) : inl(port);
		/* AL, AX merge; EAX is zero-extended into RAX (Vol. 1 3.4.1.1) */
		regs->rax = size == 4 ? v : (regs->rax & ~(u64)size_mask(size)) | v;
		skip_instruction();
	} else {
		port_out(regs, port, size);
	}
}

void handle_io(struct guest_regs *regs)
{
	u64 q = vmread(VMCS_EXIT_QUALIFICATION);

	if (hypapp_io(regs, IO_QUAL_PORT(q), IO_QUAL_SIZE(q), (u32)q & (IO_QUAL_IN | IO_QUAL_STRING)) != HYPAPP_DONE)
		core_io(regs, q);
}
