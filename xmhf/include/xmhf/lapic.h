/* The local APIC in xAPIC (MMIO) or x2APIC (MSR) mode, whichever the
 * firmware left enabled (SDM Vol. 3 chapter 12). The hypervisor never
 * changes the mode: the guest owns its APIC. */
#ifndef XMHF_LAPIC_H
#define XMHF_LAPIC_H

#include <xmhf/types.h>

/* ICR bits (SDM Vol. 3 12.6.1) */
#define ICR_DELIVERY_FIXED (0u << 8)
#define ICR_DELIVERY_NMI (4u << 8)
#define ICR_DELIVERY_INIT (5u << 8)
#define ICR_DELIVERY_STARTUP (6u << 8)
#define ICR_DELIVERY_MASK (7u << 8)
#define ICR_DEST_LOGICAL (1u << 11)
#define ICR_SEND_PENDING (1u << 12)
#define ICR_LEVEL_ASSERT (1u << 14)
#define ICR_TRIGGER_LEVEL (1u << 15)
#define ICR_SHORTHAND_SELF (1u << 18)
#define ICR_SHORTHAND_ALL (2u << 18)
#define ICR_SHORTHAND_ALL_BUT_SELF (3u << 18)
#define ICR_SHORTHAND_MASK (3u << 18)
/* x2APIC ICR reserved bits that #GP (12.12.9, Figure 12-28); bit 12, the
 * xAPIC delivery status, is reserved too but ignored by Intel CPUs. */
#define X2APIC_ICR_RESERVED (0xfff00000u | (3u << 16) | (1u << 13))

#define LAPIC_DEFAULT_BASE 0xfee00000ull

/* Whether this CPU's APIC is globally enabled (IA32_APIC_BASE.EN). */
bool lapic_enabled(void);
bool lapic_x2apic_mode(void);
u64 lapic_base(void);
u32 lapic_id(void);
/* xAPIC register offsets (SDM Vol. 3 Table 12-1); the x2APIC MSR of a
 * register is 0x800 + offset / 16 (12.12.1.2) */
#define APIC_REG_ID 0x020
#define APIC_REG_TPR 0x080
#define APIC_REG_EOI 0x0b0
#define APIC_REG_LDR 0x0d0
#define APIC_REG_DFR 0x0e0
#define APIC_REG_SVR 0x0f0
#define APIC_REG_ISR0 0x100
#define APIC_REG_LVT_CMCI 0x2f0
#define APIC_REG_ICR_LOW 0x300
#define APIC_REG_ICR_HIGH 0x310
#define APIC_REG_LVT_TIMER 0x320
#define APIC_REG_LVT_ERROR 0x370
#define APIC_REG_TIMER_INITIAL 0x380
#define APIC_REG_TIMER_DIVIDE 0x3e0
#define X2APIC_MSR(reg) (0x800 + ((reg) >> 4))
#define APIC_DFR_FLAT 0xf /* DFR bits 31:28 */

/* Read this CPU's APIC register at xAPIC offset reg (x2APIC: its MSR);
 * 0 while the APIC is disabled. */
u32 lapic_read(u32 reg);
/* Put this CPU's APIC into its state after INIT (12.4.7.3) for a guest
 * INIT that the hypervisor emulates: LVTs masked, timer stopped, TPR 0,
 * LDR 0, DFR flat, software disabled, in-service interrupts ended. A
 * disabled APIC is left alone. */
void lapic_reset_for_init(void);
/* Send an IPI: icr_low holds vector, delivery mode, level, shorthand.
 * False if it could not be sent (the guest disabled this CPU's APIC, or
 * the x2APIC ICR write faulted). */
bool lapic_send_ipi(u32 dest_apic_id, u32 icr_low);

#endif
