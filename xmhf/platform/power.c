/* ACPI soft-off and microsecond delays. */
#include <xmhf/acpi.h>
#include <xmhf/console.h>
#include <xmhf/cpu.h>
#include <xmhf/log.h>
#include <xmhf/power.h>

#define PM_TIMER_HZ 3579545ull
#define PIT_HZ 1193182ull
#define PIT_CH2_DATA 0x42
#define PIT_MODE 0x43
#define PIT_PORT_B 0x61
#define PIT_MAX_TICKS 0xffffull

static struct fadt_info fadt;
static bool have_fadt, have_s5;
static u8 s5_typa, s5_typb;

void power_init(const struct fadt_info *f, bool s5_found, u8 slp_typa, u8 slp_typb)
{
	have_fadt = f != NULL;
	if (f)
		fadt = *f;
	have_s5 = s5_found;
	s5_typa = slp_typa;
	s5_typb = slp_typb;
}

static void pm_timer_delay(u64 ticks)
{
	u32 mask = fadt.pm_tmr_32bit ? 0xffffffffu : 0xffffffu;
	u32 last = inl((u16)fadt.pm_tmr) & mask;
	u64 elapsed = 0;
	while (elapsed < ticks) {
		u32 now = inl((u16)fadt.pm_tmr) & mask;
		elapsed += (now - last) & mask;
		last = now;
		cpu_relax();
	}
}

/* 8254 channel 2, mode 0, gated through port 0x61 (no speaker). */
static void pit_delay(u64 ticks)
{
	while (ticks) {
		u64 chunk = ticks > PIT_MAX_TICKS ? PIT_MAX_TICKS : ticks;
		outb(PIT_PORT_B, (inb(PIT_PORT_B) & ~0x02) | 0x01);
		outb(PIT_MODE, 0xb0); /* channel 2, lobyte/hibyte, mode 0 */
		outb(PIT_CH2_DATA, (u8)chunk);
		outb(PIT_CH2_DATA, (u8)(chunk >> 8));
		while (!(inb(PIT_PORT_B) & 0x20))
			cpu_relax();
		ticks -= chunk;
	}
}

void udelay(u32 us)
{
	if (have_fadt && fadt.pm_tmr)
		pm_timer_delay((us * PM_TIMER_HZ + 999999) / 1000000);
	else
		pit_delay((us * PIT_HZ + 999999) / 1000000);
}

void console_drain_and_halt(void)
{
	console_drain();
	cpu_halt_forever();
}

void power_off(void)
{
	console_drain();
	if (have_fadt && have_s5 && fadt.pm1a_cnt) {
		outw((u16)fadt.pm1a_cnt, (u16)((s5_typa << PM1_SLP_TYP_SHIFT) | PM1_SLP_EN));
		if (fadt.pm1b_cnt)
			outw((u16)fadt.pm1b_cnt, (u16)((s5_typb << PM1_SLP_TYP_SHIFT) | PM1_SLP_EN));
		udelay(100000);
	}
	pr_err("xmhf: ACPI S5 power-off unavailable or failed");
	pr_err("xmhf: halted");
	console_drain_and_halt();
}
