/* The boot CPU's path from the loader to "every CPU in VMX root". */
#include <config.h>
#include <runtime/dma_protect.h>
#include <runtime/ecam_hide.h>
#include <runtime/ept01.h>
#include <runtime/exit_handlers.h>
#include <runtime/guest_ram.h>
#include <runtime/hostpt.h>
#include <runtime/panic.h>
#include <runtime/percpu.h>
#include <runtime/smp.h>
#include <xmhf/acpi.h>
#include <xmhf/bootinfo.h>
#include <xmhf/cmdline.h>
#include <xmhf/evlog.h>
#include <xmhf/console.h>
#include <xmhf/cpu.h>
#include <xmhf/dmar.h>
#include <xmhf/hypapp.h>
#include <xmhf/lapic.h>
#include <xmhf/log.h>
#include <xmhf/netlog.h>
#include <xmhf/power.h>


extern const u8 __runtime_base[], __reserved_end[];

static struct cmdline cmdline;
static struct madt_info madt;
static struct fadt_info fadt;
static u64 acpi_rsdp;
struct e820_map guest_e820; /* the map the guest will see */

/* ACPI tables are read before the host page tables exist: the loader's
 * identity map covers [0, 4 GiB). */
static const void *acpi_map_low(u64 pa, u64 len)
{
	return pa + len <= GiB(4) && pa + len >= pa ? (const void *)pa : NULL;
}

static void read_acpi(const struct boot_info *bi)
{
	/* UEFI: from the configuration table (no RSDP in the BIOS areas) */
	acpi_rsdp = bi->uefi_rsdp ? bi->uefi_rsdp : acpi_find_rsdp(acpi_map_low);
	u64 rsdp = acpi_rsdp;
	if (!rsdp)
		panic("xmhf: no ACPI RSDP found: cannot enumerate CPUs");
	u64 madt_pa = acpi_find_table(rsdp, "APIC", acpi_map_low);
	if (!madt_pa)
		panic("xmhf: no valid ACPI MADT: cannot enumerate CPUs");
	const struct acpi_sdt_header *h = acpi_map_low(madt_pa, sizeof(*h));
	if (acpi_parse_madt(h, h->length, &madt) != 0 || madt.n_cpus == 0)
		panic("xmhf: the ACPI MADT is malformed or lists no enabled CPU");

	bool have_fadt = false, have_s5 = false;
	u8 typa = 0, typb = 0;
	u64 fadt_pa = acpi_find_table(rsdp, "FACP", acpi_map_low);
	if (fadt_pa) {
		h = acpi_map_low(fadt_pa, sizeof(*h));
		have_fadt = acpi_parse_fadt(h, h->length, &fadt) == 0;
	}
	if (have_fadt && fadt.dsdt) {
		const struct acpi_sdt_header *dsdt = acpi_map_low(fadt.dsdt, sizeof(*dsdt));
		if (dsdt && acpi_map_low(fadt.dsdt, dsdt->length))
			have_s5 = acpi_find_s5((const u8 *)(dsdt + 1), dsdt->length - sizeof(*dsdt), &typa, &typb) == 0;
	}
	pr_debug("xmhf: acpi: fadt %d pm1a_cnt 0x%x pm_tmr 0x%x dsdt 0x%llx s5 %d (%u, %u)", have_fadt,
		 fadt.pm1a_cnt, fadt.pm_tmr, fadt.dsdt, have_s5, typa, typb);
	if (!have_fadt)
		pr_warn("xmhf: no valid ACPI FADT: no PM timer, no S5 power-off");
	else if (!have_s5)
		pr_warn("xmhf: no \\_S5 in the DSDT: no S5 power-off");
	power_init(have_fadt ? &fadt : NULL, have_s5, typa, typb);
	dma_protect_probe(rsdp, acpi_map_low);
	io_watch_init(have_fadt ? (u16)fadt.pm1a_cnt : 0, have_fadt ? (u16)fadt.pm1b_cnt : 0);
}

/* Dense indexes: 0 is this CPU, then the MADT's CPUs in table order. */
static void enumerate_cpus(void)
{
	cpu_register(lapic_id());
	for (u32 i = 0; i < madt.n_cpus; i++) {
		u32 id = madt.cpus[i].apic_id;
		if (!lapic_x2apic_mode() && id > 0xfe) {
			pr_warn("xmhf: ignoring CPU apic %u: unreachable in xAPIC mode", id);
			continue;
		}
		if (cpu_register(id) == CPU_INDEX_NONE) {
			pr_warn("xmhf: ignoring CPU apic %u and later ones: built with --max-cpus %u", id, MAX_CPUS);
			break;
		}
	}
}

/* The LAPIC, IOAPIC and DMA-remapping unit pages and the network log's NIC
 * registers: uncached for the hypervisor, never guest RAM. */
static struct pt_range devices[1 + ACPI_MAX_IOAPICS + DMAR_MAX_UNITS + NETLOG_MAX_BARS];
static u32 n_devices;
_Static_assert(ARRAY_SIZE(devices) <= GUEST_RAM_MAX_DEVICES, "guest_ram_init takes every device page");

/* The network log's NIC is the hypervisor's: absent from the guest's PCI
 * configuration space (ports: exit_io.c; ECAM: all ones in EPT01), its I/O
 * ports and MMIO not reachable (exit_io.c, EPT01). */
static struct netlog_nic netlog_nic;
static bool netlog_nic_found;
static u32 n_dma_units; /* VT-d blocks DMA to the hypervisor's range: the NIC's rings too */

static void hide_netlog_nic(void)
{
	if (!netlog_probe(&netlog_nic))
		return;
	bool hidden = io_hide_pci_function(netlog_nic.bdf);
	ecam_hide_function(acpi_rsdp, acpi_map_low, netlog_nic.bdf);
	for (u32 i = 0; i < netlog_nic.n_bars && hidden; i++) {
		const struct netlog_bar *b = &netlog_nic.bars[i];
		u64 base = ALIGN_DOWN(b->base, PAGE_SIZE);
		struct pt_range pages = { base, ALIGN_UP(b->base + b->size, PAGE_SIZE) - base };
		if (b->io) {
			hidden = io_hide_ports((u16)b->base, (u16)b->size);
		} else {
			hidden = ept01_hide_device(pages);
			devices[n_devices++] = pages;
		}
	}
	if (!hidden)
		panic("xmhf: netlog: cannot hide the NIC's PCI function and BARs from the guest");
	netlog_nic_found = true;
}

static void setup_host_paging(void)
{
	devices[n_devices++] = (struct pt_range){ lapic_base(), PAGE_SIZE };
	for (u32 i = 0; i < madt.n_ioapics; i++)
		devices[n_devices++] = (struct pt_range){ madt.ioapic_base[i], PAGE_SIZE };
	n_dma_units = dma_protect_mmio(devices + n_devices, DMAR_MAX_UNITS);
	n_devices += n_dma_units;
	hide_netlog_nic();
	ecam_hide_test_page(&cmdline);
	hostpt_init(devices, n_devices);
}

static void revise_e820(const struct boot_info *bi)
{
	u64 base = (u64)__runtime_base, size = (u64)(__reserved_end - __runtime_base);

	guest_e820 = bi->e820;
	if (!e820_reserve(&guest_e820, base, size))
		panic("xmhf: the E820 map has no room to reserve the hypervisor range");
	u64 top = e820_top(&guest_e820);
	if (top > CONFIG_MEM) {
		pr_warn("xmhf: memory above --mem 0x%llx is hidden from the guest", (u64)CONFIG_MEM);
		if (!e820_reserve(&guest_e820, CONFIG_MEM, top - CONFIG_MEM))
			panic("xmhf: the E820 map has no room to hide memory above --mem");
	}
}

void hypapp_init_cpu(u32 index)
{
	struct hypapp_boot boot = {
		.cpu = index,
		.cpu_count = cpu_count(),
		.boot_drive = cmdline.boot_drive,
		.runtime_base = hpa((u64)__runtime_base),
		.runtime_end = hpa((u64)__reserved_end),
		.keys = cmdline.extra,
		.n_keys = cmdline.n_extra,
	};
	hypapp_init(&boot);
}

static void log_guest_e820(void)
{
	for (u32 i = 0; i < guest_e820.n; i++)
		pr_debug("xmhf: e820[%u] 0x%016llx-0x%016llx type %u", i, guest_e820.e[i].base,
			 guest_e820.e[i].base + guest_e820.e[i].length, guest_e820.e[i].type);
}

static void start_event_logger(void)
{
	if (!CONFIG_EVENT_LOGGER) {
		if (cmdline.evlog_period)
			pr_warn("xmhf: evlog_period=: the event logger is not built in (./build.sh --event-logger)");
		return;
	}
	evlog_set_period(cmdline.evlog_period);
	pr_info("xmhf: event logger on, a block per CPU every %llu ticks and at power-off", cmdline.evlog_period);
}

void runtime_main(struct boot_info *bi)
{
	percpu_cpu_init(0);
	log_set_cpu_index_fn(this_cpu_index);
	cmdline_parse(bi->cmdline, &cmdline);
	netlog_capture(&cmdline.netlog);
	console_init(&cmdline.serial, cmdline.e9);
	log_set_level(cmdline.loglvl);
	for (u32 i = 0; i < cmdline.n_warnings && i < CMDLINE_MAX_WARNINGS; i++)
		pr_warn("xmhf: %s", cmdline.warnings[i]);
	start_event_logger();
	pr_info("xmhf: runtime at [0x%llx, 0x%llx), up to %u CPUs, --mem 0x%llx, hypapp %s", (u64)__runtime_base,
		(u64)__reserved_end, MAX_CPUS, (u64)CONFIG_MEM, CONFIG_APP);

	percpu[0].state = CPU_STARTED;
	cpuid_limits_init();
	read_acpi(bi);
	setup_host_paging();
	revise_e820(bi);
	dma_protect_enable(&guest_e820);
	if (netlog_nic_found)
		netlog_start(&netlog_nic, n_dma_units > 0);
	guest_ram_init(&guest_e820, devices, n_devices);
	log_guest_e820();
	enumerate_cpus();
	pr_info("xmhf: %u CPUs (ACPI MADT lists %u enabled), %s mode", cpu_count(), madt.n_cpus,
		lapic_x2apic_mode() ? "x2APIC" : "xAPIC");

	cpu_enter_vmx_root(0);
	if (percpu[0].state != CPU_VMX_ROOT)
		halt_all_cpus();
	smp_start_aps();
	u32 in_root = smp_wait_vmx_root();
	if (in_root != cpu_count()) {
		pr_err("xmhf: only %u of %u CPUs entered VMX root", in_root, cpu_count());
		halt_all_cpus();
	}
	pr_info("xmhf: vmx root on %u/%u cpus", in_root, cpu_count());
	pr_info("xmhf: VMX root reached %llu TSC ticks after the loader started", rdtsc() - bi->loader_tsc);
	bool uefi = bi->guest_start == BOOT_GUEST_UEFI_RETURN;
	if (!uefi && !bi->has_guest_boot_sector) {
		pr_info("xmhf: no guest boot module (module --nounzip (hdN)+1): powering off");
		power_off();
	}
	guest_prepare_cpu(0);
	__atomic_store_n(&guest_go, true, __ATOMIC_RELEASE);
	pr_info("xmhf: start-up took %llu TSC ticks from the loader; hypervisor range %llu KiB",
		rdtsc() - bi->loader_tsc, (u64)(__reserved_end - __runtime_base) / 1024);
	if (uefi) {
		pr_info("xmhf: resuming the UEFI firmware as the guest at 0x%llx", bi->uefi.rip);
		guest_start_bsp_uefi(&bi->uefi);
	}
	pr_info("xmhf: starting the guest at 0000:7c00, boot drive 0x%x", cmdline.boot_drive);
	guest_start_bsp(cmdline.boot_drive, bi->guest_boot_sector);
}
