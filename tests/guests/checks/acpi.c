/* ACPI tables (RSDP -> RSDT -> FADT/DSDT/MADT), PM timer delays, S5 power-off. ACPI 6.x refs. */
#include "kernel.h"

static const uint8_t *fadt, *madt, *dsdt;
static uint16_t pm1a_cnt, pm1b_cnt;
static uint16_t pm_tmr;
static uint32_t pm_tmr_mask = 0xFFFFFF;  /* 24-bit counter unless FADT.TMR_VAL_EXT */

static uint32_t rd32(const uint8_t *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }

static bool checksum_ok(const uint8_t *p, uint32_t len)
{
    uint8_t sum = 0;
    while (len--)
        sum += *p++;
    return sum == 0;
}

/* ACPI 5.2.5.1: "RSD PTR " on a 16-byte boundary in the first KiB of the EBDA or in E0000-FFFFF. */
static const uint8_t *find_rsdp(void)
{
    uint32_t ebda = (uint32_t)peek16(0x40E) << 4;
    uint32_t ranges[2][2] = { { ebda, ebda + 1024 }, { 0xE0000, 0x100000 } };
    for (int r = 0; r < 2; r++)
        for (uint32_t a = ranges[r][0]; a && a < ranges[r][1]; a += 16)
            if (!memcmp((const void *)a, "RSD PTR ", 8) && checksum_ok((const void *)a, 20))
                return (const uint8_t *)a;
    return NULL;
}

/* AML integer at *p (ACPI 20.2.3): ZeroOp, OneOp, BytePrefix, WordPrefix. */
static uint32_t aml_int(const uint8_t *p)
{
    switch (p[0]) {
    case 0x0A: return p[1];
    case 0x0B: return p[1] | p[2] << 8;
    case 0x01: return 1;
    default: return 0;
    }
}

/* \_S5 = Package { SLP_TYPa, SLP_TYPb, ... } in the DSDT (ACPI 7.4.2.6): NameOp "_S5_" PackageOp
 * PkgLength NumElements elements. Bochs' DSDT has SLP_TYPa = 0. */
static uint32_t s5_slp_typ(void)
{
    if (!dsdt)
        return 0;
    uint32_t len = rd32(dsdt + 4);
    for (uint32_t i = 38; i + 8 < len; i++) {
        const uint8_t *p = dsdt + i;
        if (memcmp(p, "_S5_", 4) || !(p[-1] == 0x08 || (p[-1] == '\\' && p[-2] == 0x08)) || p[4] != 0x12)
            continue;
        p += 5;
        p += (*p >> 6) + 1;              /* PkgLength: bits 7:6 of the lead byte = extra bytes */
        p += 1;                          /* NumElements */
        return aml_int(p) & 7;
    }
    return 0;
}

void acpi_init(void)
{
    const uint8_t *rsdp = find_rsdp();
    if (!rsdp)
        return;
    const uint8_t *rsdt = (const uint8_t *)rd32(rsdp + 16);
    if (memcmp(rsdt, "RSDT", 4))
        return;
    for (uint32_t off = 36; off + 4 <= rd32(rsdt + 4); off += 4) {
        const uint8_t *t = (const uint8_t *)rd32(rsdt + off);
        if (!memcmp(t, "FACP", 4))
            fadt = t;
        else if (!memcmp(t, "APIC", 4))
            madt = t;
    }
    if (!fadt)
        return;
    dsdt = (const uint8_t *)rd32(fadt + 40);
    if (memcmp(dsdt, "DSDT", 4))
        dsdt = NULL;
    pm1a_cnt = (uint16_t)rd32(fadt + 64);          /* FADT field offsets: ACPI 5.2.9 Table 5-34 */
    pm1b_cnt = (uint16_t)rd32(fadt + 68);
    pm_tmr = (uint16_t)rd32(fadt + 76);
    if (rd32(fadt + 112) & BIT(8))                 /* Flags.TMR_VAL_EXT: 32-bit PM timer */
        pm_tmr_mask = 0xFFFFFFFF;
}

/* MADT (ACPI 5.2.12): type 0 = Processor Local APIC (flags bit 0 = enabled), type 9 = x2APIC. */
int acpi_cpus(uint32_t *apic_ids, int max)
{
    if (!madt)
        return -1;
    int n = 0;
    uint32_t len = rd32(madt + 4);
    for (uint32_t off = 44; off + 2 <= len && madt[off + 1] >= 2; off += madt[off + 1]) {
        const uint8_t *e = madt + off;
        uint32_t id, flags;
        if (e[0] == 0) {
            id = e[3];
            flags = rd32(e + 4);
        } else if (e[0] == 9) {
            id = rd32(e + 4);
            flags = rd32(e + 8);
        } else {
            continue;
        }
        if ((flags & 1) && n < max)
            apic_ids[n++] = id;
    }
    return n;
}

/* ACPI PM timer: 3.579545 MHz free-running counter (ACPI 4.8.3.3). */
bool acpi_have_pm_timer(void) { return pm_tmr != 0; }
uint32_t pm_timer_read(void) { return pm_tmr ? inl(pm_tmr) & pm_tmr_mask : 0; }
uint32_t pm_ticks_elapsed(uint32_t start) { return (pm_timer_read() - start) & pm_tmr_mask; }

void udelay(uint32_t us)
{
    if (!pm_tmr) {                       /* no timer: crude spin (never seen on Bochs) */
        for (volatile uint32_t i = 0; i < us * 100; i++)
            ;
        return;
    }
    while (us) {
        uint32_t chunk = us > 100000 ? 100000 : us;     /* keeps ticks far below 2^24 */
        uint32_t ticks = chunk * 358 / 100 + 1;
        uint32_t start = pm_timer_read();
        while (pm_ticks_elapsed(start) < ticks)
            __asm__ volatile("pause");
        us -= chunk;
    }
}

/* S5: PM1x_CNT.SLP_TYP (bits 12:10) = \_S5 value, SLP_EN (bit 13) (ACPI 4.8.3.2.1, 7.4.2). */
void acpi_poweroff(void)
{
    uint16_t v = (uint16_t)(s5_slp_typ() << 10 | BIT(13));
    if (pm1a_cnt)
        outw(pm1a_cnt, v);
    if (pm1b_cnt)
        outw(pm1b_cnt, v);
}
