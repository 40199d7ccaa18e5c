/* Local APIC access for the hypervisor's own IPIs (INIT/SIPI at boot, NMI
 * for stop-the-world). */
#include <xmhf/cpu.h>
#include <xmhf/lapic.h>
#include <xmhf/msr.h>
#include <xmhf/fixup.h>

#define ICR_SPIN_LIMIT 1000000

/* Per CPU: the guest may disable its APIC (= this CPU's): then the MMIO
 * page at its base is no longer the APIC's (SDM Vol. 3 12.4.3). */
bool lapic_enabled(void) { return rdmsr(MSR_IA32_APIC_BASE) & APIC_BASE_ENABLE; }
/* Per CPU: the guest may switch its APIC (= this CPU's) to x2APIC mode. */
bool lapic_x2apic_mode(void) { return rdmsr(MSR_IA32_APIC_BASE) & APIC_BASE_X2APIC; }
/* Per CPU, like the mode: the guest may move its APIC (= this CPU's). */
u64 lapic_base(void) { return rdmsr(MSR_IA32_APIC_BASE) & APIC_BASE_ADDR_MASK; }

u32 lapic_id(void)
{
	if (lapic_x2apic_mode())
		return (u32)rdmsr(MSR_X2APIC_ID);
	return mmio_read32(lapic_base() + APIC_REG_ID) >> 24;
}

#define APIC_LVT_MASKED BIT(16)
#define APIC_SVR_AFTER_INIT 0xff /* vector 0xff, software disabled */
#define APIC_ISR_WORDS 8

u32 lapic_read(u32 reg)
{
	u64 v = 0;
	if (!lapic_enabled())
		return 0;
	if (lapic_x2apic_mode())
		return rdmsr_safe(X2APIC_MSR(reg), &v) ? (u32)v : 0;
	return mmio_read32(lapic_base() + reg);
}

/* A register that may not exist on this CPU (CMCI, thermal LVTs): x2APIC
 * MSR writes are fault-safe, xAPIC writes to absent registers are ignored. */
static void lapic_write(u32 reg, u32 v)
{
	if (lapic_x2apic_mode())
		wrmsr_safe(X2APIC_MSR(reg), v);
	else
		mmio_write32(lapic_base() + reg, v);
}

static bool lapic_in_service(void)
{
	for (u32 i = 0; i < APIC_ISR_WORDS; i++)
		if (lapic_read(APIC_REG_ISR0 + 0x10 * i))
			return true;
	return false;
}

void lapic_reset_for_init(void)
{
	if (!lapic_enabled())
		return;
	lapic_write(APIC_REG_LVT_CMCI, APIC_LVT_MASKED);
	for (u32 reg = APIC_REG_LVT_TIMER; reg <= APIC_REG_LVT_ERROR; reg += 0x10)
		lapic_write(reg, APIC_LVT_MASKED);
	lapic_write(APIC_REG_TIMER_INITIAL, 0);
	lapic_write(APIC_REG_TIMER_DIVIDE, 0);
	lapic_write(APIC_REG_TPR, 0);
	if (!lapic_x2apic_mode()) { /* x2APIC: LDR is read-only, there is no DFR */
		lapic_write(APIC_REG_LDR, 0);
		lapic_write(APIC_REG_DFR, 0xffffffffu);
	}
	for (u32 i = 0; i < 256 && lapic_in_service(); i++)
		lapic_write(APIC_REG_EOI, 0);
	lapic_write(APIC_REG_SVR, APIC_SVR_AFTER_INIT);
}

bool lapic_send_ipi(u32 dest_apic_id, u32 icr_low)
{
	if (!lapic_enabled())
		return false;
	if (lapic_x2apic_mode()) /* 12.12.9: one 64-bit write, no delivery status to poll */
		return wrmsr_safe(MSR_X2APIC_ICR, ((u64)dest_apic_id << 32) | icr_low);
	for (u32 i = 0; i < ICR_SPIN_LIMIT && (mmio_read32(lapic_base() + APIC_REG_ICR_LOW) & ICR_SEND_PENDING); i++)
		cpu_relax();
	mmio_write32(lapic_base() + APIC_REG_ICR_HIGH, dest_apic_id << 24);
	mmio_write32(lapic_base() + APIC_REG_ICR_LOW, icr_low);
	return true;
}
