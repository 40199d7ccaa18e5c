/* Local APIC access for the hypervisor's own IPIs (INIT/SIPI at boot, NMI
 * for stop-the-world). */
#include <xmhf/cpu.h>
#include <xmhf/lapic.h>
#include <xmhf/msr.h>

#define XAPIC_ID 0x020
#define XAPIC_ICR_LOW 0x300
#define XAPIC_ICR_HIGH 0x310
#define ICR_SPIN_LIMIT 1000000

static u64 base;

void lapic_init(void)
{
	base = rdmsr(MSR_IA32_APIC_BASE) & APIC_BASE_ADDR_MASK;
}

/* Per CPU: the guest may switch its APIC (= this CPU's) to x2APIC mode. */
bool lapic_x2apic_mode(void) { return rdmsr(MSR_IA32_APIC_BASE) & APIC_BASE_X2APIC; }
u64 lapic_base(void) { return base; }

u32 lapic_id(void)
{
	if (lapic_x2apic_mode())
		return (u32)rdmsr(MSR_X2APIC_ID);
	return mmio_read32(base + XAPIC_ID) >> 24;
}

void lapic_send_ipi(u32 dest_apic_id, u32 icr_low)
{
	if (lapic_x2apic_mode()) {
		/* 12.12.9: one 64-bit write, no delivery status to poll */
		wrmsr(MSR_X2APIC_ICR, ((u64)dest_apic_id << 32) | icr_low);
		return;
	}
	for (u32 i = 0; i < ICR_SPIN_LIMIT && (mmio_read32(base + XAPIC_ICR_LOW) & ICR_SEND_PENDING); i++)
		cpu_relax();
	mmio_write32(base + XAPIC_ICR_HIGH, dest_apic_id << 24);
	mmio_write32(base + XAPIC_ICR_LOW, icr_low);
}
