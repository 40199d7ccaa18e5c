/* ACPI table discovery and parsing (ACPI 6.5 chapter 5). All multi-byte
 * fields are read with memcpy: the tables are byte-packed. */
#include <xmhf/acpi.h>
#include <xmhf/string.h>

#define RSDP_V1_LEN 20
#define RSDP_V2_MIN_LEN 36
#define SDT_HEADER_LEN ((u32)sizeof(struct acpi_sdt_header))
#define BIOS_AREA_BASE 0xe0000
#define BIOS_AREA_SIZE 0x20000
#define EBDA_SEGMENT_PTR 0x40e
#define EBDA_SEARCH_SIZE 1024

static u16 rd16(const u8 *p) { u16 v; memcpy(&v, p, sizeof(v)); return v; }
static u32 rd32(const u8 *p) { u32 v; memcpy(&v, p, sizeof(v)); return v; }
static u64 rd64(const u8 *p) { u64 v; memcpy(&v, p, sizeof(v)); return v; }

static bool checksum_ok(const u8 *p, u64 len)
{
	u8 sum = 0;

	while (len--)
		sum = (u8)(sum + *p++);
	return sum == 0;
}

/* ACPI 6.5 5.2.5.3: the RSDP's checksum covers its first 20 bytes; from
 * revision 2 the extended checksum covers 'length' bytes. */
static bool rsdp_valid(u64 pa, acpi_map_fn map)
{
	const u8 *p = map(pa, RSDP_V1_LEN);
	u32 len;

	if (!p || memcmp(p, "RSD PTR ", 8) || !checksum_ok(p, RSDP_V1_LEN))
		return false;
	if (p[15] < 2)
		return true;
	p = map(pa, RSDP_V2_MIN_LEN);
	if (!p)
		return false;
	len = rd32(p + 20);
	if (len < RSDP_V2_MIN_LEN)
		return false;
	p = map(pa, len);
	return p && checksum_ok(p, len);
}

static u64 rsdp_scan(u64 base, u64 size, acpi_map_fn map)
{
	const u8 *p = map(base, size);

	if (!p)
		return 0;
	/* ACPI 6.5 5.2.5.1: the RSDP is on a 16-byte boundary. */
	for (u64 off = 0; off + RSDP_V1_LEN <= size; off += 16)
		if (!memcmp(p + off, "RSD PTR ", 8) && rsdp_valid(base + off, map))
			return base + off;
	return 0;
}

u64 acpi_find_rsdp(acpi_map_fn map)
{
	const u8 *ebda_ptr = map(EBDA_SEGMENT_PTR, 2);
	u64 rsdp = 0;

	if (ebda_ptr) {
		u64 ebda = (u64)rd16(ebda_ptr) << 4;

		if (ebda)
			rsdp = rsdp_scan(ebda, EBDA_SEARCH_SIZE, map);
	}
	if (!rsdp)
		rsdp = rsdp_scan(BIOS_AREA_BASE, BIOS_AREA_SIZE, map);
	return rsdp;
}

/* The whole table at pa if its length is sane and its checksum valid. */
static const u8 *map_table(u64 pa, acpi_map_fn map)
{
	const u8 *p = pa ? map(pa, SDT_HEADER_LEN) : NULL;
	u32 len;

	if (!p)
		return NULL;
	len = rd32(p + 4);
	if (len < SDT_HEADER_LEN)
		return NULL;
	p = map(pa, len);
	return p && checksum_ok(p, len) ? p : NULL;
}

/* Search the entries of an RSDT (entry_size 4) or XSDT (entry_size 8). */
static u64 find_in_sdt(u64 sdt_pa, const char *sdt_sig, u32 entry_size,
		       const char sig[4], acpi_map_fn map)
{
	const u8 *sdt = map_table(sdt_pa, map);

	if (!sdt || memcmp(sdt, sdt_sig, 4))
		return 0;
	u32 n = (rd32(sdt + 4) - SDT_HEADER_LEN) / entry_size;

	for (u32 i = 0; i < n; i++) {
		const u8 *entry = sdt + SDT_HEADER_LEN + i * entry_size;
		u64 pa = entry_size == 8 ? rd64(entry) : rd32(entry);
		const u8 *header = pa ? map(pa, SDT_HEADER_LEN) : NULL;

		if (header && !memcmp(header, sig, 4) && map_table(pa, map))
			return pa;
	}
	return 0;
}

/* ACPI 6.5 5.2.5.3: XsdtAddress (offset 24) from revision 2 supersedes
 * RsdtAddress (offset 16). An invalid XSDT falls back to the RSDT. */
u64 acpi_find_table(u64 rsdp, const char sig[4], acpi_map_fn map)
{
	const u8 *p = map(rsdp, RSDP_V1_LEN);
	u64 rsdt, found = 0;

	if (!p)
		return 0;
	rsdt = rd32(p + 16);
	if (p[15] >= 2 && (p = map(rsdp, RSDP_V2_MIN_LEN)) && rd64(p + 24))
		found = find_in_sdt(rd64(p + 24), "XSDT", 8, sig, map);
	if (!found)
		found = find_in_sdt(rsdt, "RSDT", 4, sig, map);
	return found;
}

/* MADT (ACPI 6.5 5.2.12): header, Local Interrupt Controller Address (u32),
 * Flags (u32), then interrupt controller structures {type, length, ...}. */
#define MADT_ENTRIES_OFFSET 44
#define MADT_LAPIC 0
#define MADT_IOAPIC 1
#define MADT_LAPIC_OVERRIDE 5
#define MADT_X2APIC 9
#define MADT_CPU_ENABLED BIT(0)  /* Table 5.23; online-capable CPUs stay off */

static const u8 madt_min_len[] = {
	[MADT_LAPIC] = 8,            /* 5.2.12.2 */
	[MADT_IOAPIC] = 12,          /* 5.2.12.3 */
	[MADT_LAPIC_OVERRIDE] = 12,  /* 5.2.12.8 */
	[MADT_X2APIC] = 16,          /* 5.2.12.12 */
};

/* The length of the table at p if it has signature sig, is at least min_len
 * (>= 8) long and fits in the len bytes given; else 0. */
static u64 checked_length(const u8 *p, u64 len, const char *sig, u32 min_len)
{
	u64 table_len;

	if (len < min_len || memcmp(p, sig, 4))
		return 0;
	table_len = rd32(p + 4);
	return table_len >= min_len && table_len <= len ? table_len : 0;
}

static void add_cpu(struct madt_info *out, u32 apic_id, u32 uid, bool x2apic)
{
	for (u32 i = 0; i < out->n_cpus; i++)
		if (out->cpus[i].apic_id == apic_id)
			return;  /* listed twice, e.g. by both type 0 and 9 */
	if (out->n_cpus < ACPI_MAX_CPUS)
		out->cpus[out->n_cpus++] = (struct acpi_cpu){ apic_id, uid, x2apic };
}

static void parse_madt_entry(const u8 *e, struct madt_info *out)
{
	switch (e[0]) {
	case MADT_LAPIC:
		/* 0xff is the broadcast id, never a CPU's */
		if ((rd32(e + 4) & MADT_CPU_ENABLED) && e[3] != 0xff)
			add_cpu(out, e[3], e[2], false);
		break;
	case MADT_IOAPIC:
		if (out->n_ioapics < ACPI_MAX_IOAPICS)
			out->ioapic_base[out->n_ioapics++] = rd32(e + 4);
		break;
	case MADT_LAPIC_OVERRIDE:
		out->lapic_base = rd64(e + 4);
		break;
	case MADT_X2APIC:
		if (rd32(e + 8) & MADT_CPU_ENABLED)
			add_cpu(out, rd32(e + 4), rd32(e + 12), true);
		break;
	}
}

int acpi_parse_madt(const void *madt, u64 len, struct madt_info *out)
{
	const u8 *p = madt;
	u64 table_len = checked_length(p, len, "APIC", MADT_ENTRIES_OFFSET);

	memset(out, 0, sizeof(*out));
	if (!table_len)
		return -1;
	out->lapic_base = rd32(p + 36);
	for (u64 off = MADT_ENTRIES_OFFSET; off < table_len; off += p[off + 1]) {
		const u8 *e = p + off;
		u8 min_len = 2;

		if (table_len - off < 2)
			return -1;
		if (e[0] < ARRAY_SIZE(madt_min_len) && madt_min_len[e[0]])
			min_len = madt_min_len[e[0]];
		if (e[1] < min_len || e[1] > table_len - off)
			return -1;
		parse_madt_entry(e, out);
	}
	return 0;
}

/* FADT field offsets (ACPI 6.5 Table 5.9). */
#define FADT_DSDT 40
#define FADT_PM1A_CNT_BLK 64
#define FADT_PM1B_CNT_BLK 68
#define FADT_PM_TMR_BLK 76
#define FADT_FLAGS 112
#define FADT_V1_LEN 116  /* ACPI 1.0 FADT ends after Flags */
#define FADT_X_DSDT 140
#define FADT_X_PM1A_CNT_BLK 172
#define FADT_X_PM1B_CNT_BLK 184
#define FADT_X_PM_TMR_BLK 208
#define FADT_TMR_VAL_EXT BIT(8)
#define GAS_LEN 12
#define GAS_SYSTEM_IO 1  /* ACPI 6.5 Table 5.1 */

/* The I/O port of a block: the X_ Generic Address Structure when the table
 * has it, it is in system I/O space and non-zero, else the legacy field. */
static u32 fadt_port(const u8 *fadt, u64 len, u32 legacy_off, u32 gas_off)
{
	if (len >= gas_off + GAS_LEN && fadt[gas_off] == GAS_SYSTEM_IO) {
		u64 port = rd64(fadt + gas_off + 4);

		if (port && port <= 0xffff)
			return (u32)port;
	}
	return rd32(fadt + legacy_off);
}

int acpi_parse_fadt(const void *fadt, u64 len, struct fadt_info *out)
{
	const u8 *p = fadt;
	u64 table_len = checked_length(p, len, "FACP", FADT_V1_LEN);

	memset(out, 0, sizeof(*out));
	if (!table_len)
		return -1;
	out->dsdt = rd32(p + FADT_DSDT);
	if (table_len >= FADT_X_DSDT + 8 && rd64(p + FADT_X_DSDT))
		out->dsdt = rd64(p + FADT_X_DSDT);
	out->pm1a_cnt = fadt_port(p, table_len, FADT_PM1A_CNT_BLK, FADT_X_PM1A_CNT_BLK);
	out->pm1b_cnt = fadt_port(p, table_len, FADT_PM1B_CNT_BLK, FADT_X_PM1B_CNT_BLK);
	out->pm_tmr = fadt_port(p, table_len, FADT_PM_TMR_BLK, FADT_X_PM_TMR_BLK);
	out->pm_tmr_32bit = (rd32(p + FADT_FLAGS) & FADT_TMR_VAL_EXT) != 0;
	return 0;
}

/* MCFG (PCI Firmware 3.2 Table 4-2, 4-3): header, 8 reserved bytes, then
 * 16-byte allocation structures {u64 base, u16 segment, u8 start bus, u8
 * end bus, u32 reserved}. */
#define MCFG_REGIONS_OFFSET 44
#define MCFG_REGION_LEN 16
#define ECAM_BUS_SHIFT 20

int acpi_parse_mcfg(const void *mcfg, u64 len, struct mcfg_info *out)
{
	const u8 *p = mcfg;
	u64 table_len = checked_length(p, len, "MCFG", MCFG_REGIONS_OFFSET);

	memset(out, 0, sizeof(*out));
	if (!table_len || (table_len - MCFG_REGIONS_OFFSET) % MCFG_REGION_LEN)
		return -1;
	for (u64 off = MCFG_REGIONS_OFFSET; off < table_len; off += MCFG_REGION_LEN) {
		struct mcfg_region r = { rd64(p + off), rd16(p + off + 8), p[off + 10], p[off + 11] };
		u64 span = (u64)(r.bus_end + 1) << ECAM_BUS_SHIFT;

		if (!r.base || !IS_ALIGNED(r.base, KiB(4)) || r.bus_start > r.bus_end || r.base > UINT64_MAX - span)
			continue;
		if (out->n_regions < MCFG_MAX_REGIONS)
			out->regions[out->n_regions++] = r;
	}
	return 0;
}

u64 mcfg_function_page(const struct mcfg_info *m, u16 segment, u16 bdf)
{
	u8 bus = bdf >> 8;

	for (u32 i = 0; i < m->n_regions; i++) {
		const struct mcfg_region *r = &m->regions[i];

		if (r->segment == segment && bus >= r->bus_start && bus <= r->bus_end)
			return r->base + ((u64)bdf << 12);
	}
	return 0;
}

/* AML encodings (ACPI 6.5 20.2). */
#define AML_NAME_OP 0x08
#define AML_BYTE_PREFIX 0x0a
#define AML_PACKAGE_OP 0x12
#define AML_ROOT_CHAR '\\'

/* PkgLength (20.2.4): bits 7:6 of the lead byte count the bytes that
 * follow; with none, bits 5:0 are the length, else bits 3:0 are its low
 * nibble and each following byte adds 8 bits. The length counts itself. */
static bool parse_pkg_length(const u8 *p, u64 avail, u64 *pkg_len, u32 *bytes)
{
	u32 follow;

	if (!avail)
		return false;
	follow = p[0] >> 6;
	if (avail < 1 + follow)
		return false;
	*bytes = 1 + follow;
	if (!follow) {
		*pkg_len = p[0] & 0x3f;
		return true;
	}
	*pkg_len = p[0] & 0x0f;
	for (u32 i = 1; i <= follow; i++)
		*pkg_len |= (u64)p[i] << (4 + 8 * (i - 1));
	return true;
}

/* An SLP_TYP element: BytePrefix byte, ZeroOp, OneOp or (as some firmware
 * writes it) a bare small integer. Returns the bytes used, 0 if none. */
static u32 parse_slp_typ(const u8 *p, u64 avail, u8 *value)
{
	if (avail >= 2 && p[0] == AML_BYTE_PREFIX) {
		*value = p[1];
		return 2;
	}
	if (avail >= 1 && p[0] < AML_BYTE_PREFIX) {  /* ZeroOp, OneOp, bare 2..9 */
		*value = p[0];
		return 1;
	}
	return 0;
}

/* The package after "_S5_" at aml[name], as Name(_S5, Package(){a, b, ...}). */
static bool parse_s5_package(const u8 *aml, u64 len, u64 name, u8 *a, u8 *b)
{
	u64 pos = name + 4, pkg_len, end;
	u32 used;

	if (pos >= len || aml[pos] != AML_PACKAGE_OP)
		return false;
	pos++;
	if (!parse_pkg_length(aml + pos, len - pos, &pkg_len, &used) ||
	    pkg_len > len - pos)
		return false;
	end = pos + pkg_len;
	pos += used;
	if (pos >= end || aml[pos] < 2)  /* NumElements */
		return false;
	pos++;
	used = parse_slp_typ(aml + pos, end - pos, a);
	if (!used)
		return false;
	pos += used;
	return pos < end && parse_slp_typ(aml + pos, end - pos, b);
}

static bool is_s5_name(const u8 *aml, u64 i)
{
	if (memcmp(aml + i, "_S5_", 4))
		return false;
	if (i >= 1 && aml[i - 1] == AML_NAME_OP)
		return true;
	return i >= 2 && aml[i - 1] == AML_ROOT_CHAR && aml[i - 2] == AML_NAME_OP;
}

int acpi_find_s5(const u8 *aml, u64 len, u8 *slp_typa, u8 *slp_typb)
{
	for (u64 i = 0; len >= 4 && i <= len - 4; i++) {
		u8 a, b;

		if (is_s5_name(aml, i) && parse_s5_package(aml, len, i, &a, &b)) {
			*slp_typa = a;
			*slp_typb = b;
			return 0;
		}
	}
	return -1;
}
