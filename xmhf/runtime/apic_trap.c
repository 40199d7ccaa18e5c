/* The guest's INIT and SIPI IPIs. Real INIT/SIPI never reach a CPU that
 * runs the guest (Bochs holds INITs in VMX root and mishandles SIPI exits,
 * see docs/bochs.md); the hypervisor captures ICR writes instead:
 * - xAPIC: the LAPIC page is read-only in EPT01; writes are emulated or
 *   stepped (apic_write.c).
 * - x2APIC: WRMSR to the ICR (0x830) exits through the MSR bitmap.
 * INIT and SIPI are emulated (SDM Vol. 3 9.4, 12.6.1); every other IPI is
 * sent as the guest asked. */
#include <runtime/ept01.h>
#include <runtime/exit_handlers.h>
#include <runtime/guest_step.h>
#include <runtime/percpu.h>
#include <runtime/vmcs01.h>
#include <runtime/vmx_ops.h>
#include <runtime/xcall.h>
#include <xmhf/cpu.h>
#include <xmhf/lapic.h>
#include <xmhf/log.h>
#include <xmhf/nested.h>
#include <xmhf/paging.h>
#include <xmhf/vmx.h>

#define X2APIC_BROADCAST 0xffffffffu
#define XAPIC_BROADCAST 0xffu

static u32 n_ignored; /* INIT/SIPIs ignored, for the warning's rate limit */

/* An INIT must stop the target's guest at once: kick it out with an NMI.
 * A SIPI only matters to a CPU waiting for one, which polls. */
static void post_request(u32 cpu, u32 request)
{
	/* An INIT drops SIPIs that came before it; one that follows it stays
	 * posted even before the target has acted on the INIT. */
	if (request & REQUEST_INIT)
		__atomic_fetch_and(&percpu[cpu].requests, ~(u32)REQUEST_SIPI, __ATOMIC_SEQ_CST);
	xcall_post(cpu, request, (request & REQUEST_INIT) && percpu[cpu].in_guest);
}

/* 12.6.2.2: logical destinations. x2APIC: the logical ID is derived from
 * the x2APIC ID (12.12.10.2); xAPIC: flat (MDA & LDR) or cluster model. */
static bool logical_match(u32 cpu, u32 dest)
{
	if (lapic_x2apic_mode()) {
		u32 id = percpu[cpu].apic_id;
		u32 lid = ((id >> 4) << 16) | (1u << (id & 0xf));
		return dest == X2APIC_BROADCAST || ((dest >> 16) == (lid >> 16) && (dest & lid & 0xffff));
	}
	u32 mda = dest & 0xff, ldr = percpu[cpu].apic_ldr >> 24;
	if (mda == XAPIC_BROADCAST)
		return true;
	if ((percpu[cpu].apic_dfr >> 28) == APIC_DFR_FLAT)
		return (mda & ldr) != 0;
	return (mda >> 4) == (ldr >> 4) && (mda & ldr & 0xf);
}

static bool is_target(u32 cpu, u32 self, u32 low, u32 dest)
{
	switch (low & ICR_SHORTHAND_MASK) {
	case ICR_SHORTHAND_SELF: return cpu == self;
	case ICR_SHORTHAND_ALL: return true;
	case ICR_SHORTHAND_ALL_BUT_SELF: return cpu != self;
	default:
		if (low & ICR_DEST_LOGICAL)
			return logical_match(cpu, dest);
		/* 12.6.2.1: the all-ones physical destination is a broadcast */
		return cpu_index_of(&cpu_index, dest) == cpu ||
		       dest == (lapic_x2apic_mode() ? X2APIC_BROADCAST : XAPIC_BROADCAST);
	}
}

/* The guest wrote ICR low (the IPI is sent on this write). */
void apic_icr_write(struct guest_regs *regs, u32 low, u32 dest)
{
	u32 self = this_cpu()->index;
	u32 mode = low & ICR_DELIVERY_MASK;
	bool init_deassert = mode == ICR_DELIVERY_INIT && !(low & ICR_LEVEL_ASSERT) && (low & ICR_TRIGGER_LEVEL);

	if ((mode != ICR_DELIVERY_INIT && mode != ICR_DELIVERY_STARTUP) || init_deassert) {
		if (init_deassert)
			return; /* 12.6.1: INIT level de-assert does nothing on current CPUs */
		lapic_send_ipi(dest, low);
		return;
	}
	pr_trace("xmhf: guest ICR 0x%x dest 0x%x", low, dest);
	for (u32 cpu = 0; cpu < cpu_count(); cpu++) {
		if (!is_target(cpu, self, low, dest))
			continue;
		/* the boot CPU cannot follow an INIT (it would wait for a SIPI) */
		if (cpu == 0 && mode == ICR_DELIVERY_INIT)
			guest_reset_power_off("guest INIT to the boot CPU");
		if (cpu == 0 || cpu == self) {
			if (guest_warning_due(&n_ignored))
				pr_warn("xmhf: guest %s to cpu %u (the boot CPU or itself) ignored (%u so far)",
					mode == ICR_DELIVERY_INIT ? "INIT" : "SIPI", cpu, n_ignored);
			continue;
		}
		if (mode == ICR_DELIVERY_INIT) {
			post_request(cpu, REQUEST_INIT);
		} else {
			percpu[cpu].sipi_vector = low & 0xff;
			post_request(cpu, REQUEST_SIPI);
		}
	}
}

/* Wait in VMX root, as the SDM's wait-for-SIPI state, for a SIPI; then
 * load the INIT state with CS:IP = vector << 8 : 0. */
static void wait_for_sipi(struct guest_regs *regs)
{
	struct percpu *p = this_cpu();
	/* an INIT while waiting changes nothing; other requests are served */
	for (;;) {
		u32 r = __atomic_fetch_and(&p->requests, ~(u32)(REQUEST_INIT | REQUEST_SIPI), __ATOMIC_SEQ_CST);
		if (r & REQUEST_SIPI)
			break;
		xcall_requests();
		cpu_relax();
	}
	u32 vector = p->sipi_vector;
	guest_step_cancel();
	vmcs01_guest_init_state((u16)(vector << 8), 0);
	vmwrite(VMCS_VM_ENTRY_INTR_INFO, 0); /* no event of the old state */
	*regs = (struct guest_regs){ .rdx = cpuid(1, 0).eax }; /* 10.1.4: EDX = signature */
	pr_debug("xmhf: cpu %u: guest SIPI vector 0x%x", p->index, vector);
}

/* Before each VM entry: apply what other CPUs posted. */
void apic_requests(struct guest_regs *regs)
{
	struct percpu *p = this_cpu();
	xcall_requests();
	u32 r = __atomic_load_n(&p->requests, __ATOMIC_SEQ_CST);
	if (!(r & REQUEST_INIT)) {
		if (r & REQUEST_SIPI) /* 9.4.2: a SIPI to a running CPU is ignored */
			__atomic_fetch_and(&p->requests, ~(u32)REQUEST_SIPI, __ATOMIC_SEQ_CST);
		return;
	}
	__atomic_fetch_and(&p->requests, ~(u32)REQUEST_INIT, __ATOMIC_SEQ_CST);
	switch (nested_init_signal()) {
	case NESTED_INIT_BLOCKED: p->init_blocked = true; return;
	case NESTED_INIT_EXITED: return;
	default: break;
	}
	pr_debug("xmhf: cpu %u: guest INIT", p->index);
	lapic_reset_for_init();
	p->apic_ldr = 0;
	p->apic_dfr = 0xffffffffu;
	wait_for_sipi(regs);
}

void apic_init_unblock(void)
{
	struct percpu *p = this_cpu();
	if (p->init_blocked) {
		p->init_blocked = false;
		xcall_post(p->index, REQUEST_INIT, false);
	}
}

NORETURN void guest_start_ap(void)
{
	struct guest_regs regs;
	wait_for_sipi(&regs);
	this_cpu()->in_guest = true;
	vmx_launch(&regs);
}
