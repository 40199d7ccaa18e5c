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
static bool x2apic;

void lapic_init(void)
{
	u64 apic_base = rdmsr(MSR_IA32_APIC_BASE);
	base = apic_base & APIC_BASE_ADDR_MASK;
	x2apic = (apic_base & APIC_BASE_X2APIC) != 0;
}

bool lapic_x2apic_mode(void) { return x2apic; }
u64 lapic_base(void) { return base; }

u32 lapic_id(void)
{
	if (x2apic)
		return (u32)rdmsr(MSR_X2APIC_ID);
	return mmio_read32(base + XAPIC_ID) >> 24;
}

void lapic_send_ipi(u32 dest_apic_id, u32 icr_low)
{
	if (x2apic) {
		/* 12.12.9: one 64-bit write, no delivery status to poll */
		wrmsr(MSR_X2APIC_ICR, ((u64)dest_apic_id << 32) | icr_low);
		return;
	}
	for (u32 i = 0; i < ICR_SPIN_LIMIT && (mmio_read32(base + XAPIC_ICR_LOW) & ICR_SEND_PENDING); i++)
		cpu_relax();
	mmio_write32(base + XAPIC_ICR_HIGH, dest_apic_id << 24);
	mmio_write32(base + XAPIC_ICR_LOW, icr_low);
}
