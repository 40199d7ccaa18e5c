/* xmhf/platform/acpi.c over fake physical memory. map() hands out an
 * exactly sized heap copy of the requested range, so ASan reports any read
 * beyond what the parser asked for. */
#include "unit.h"
#include "table_bytes.h"
#include <xmhf/acpi.h>

/* Fake physical memory: the first MiB, and 64 KiB above 4 GiB. */
#define HIGH_BASE 0x100000000ull
static u8 low_mem[0x100000];
static u8 high_mem[0x10000];

static void *mapped[4096];
static u32 n_mapped;

static u8 *phys(u64 pa, u64 len)
{
	if (pa <= sizeof(low_mem) && len <= sizeof(low_mem) - pa)
		return low_mem + pa;
	if (pa >= HIGH_BASE && pa - HIGH_BASE <= sizeof(high_mem) &&
	    len <= sizeof(high_mem) - (pa - HIGH_BASE))
		return high_mem + (pa - HIGH_BASE);
	return NULL;
}

static const void *map(u64 pa, u64 len)
{
	const u8 *src = phys(pa, len);

	if (!src || !len)
		return NULL;
	assert_true(n_mapped < sizeof(mapped) / sizeof(mapped[0]));
	mapped[n_mapped] = exact_copy(src, len);
	return mapped[n_mapped++];
}

static int reset(void **state)
{
	(void)state;
	memset(low_mem, 0, sizeof(low_mem));
	memset(high_mem, 0, sizeof(high_mem));
	return 0;
}

static int unmap_all(void **state)
{
	(void)state;
	while (n_mapped)
		free(mapped[--n_mapped]);
	return 0;
}

/* An RSDP at pa: revision 0 (20 bytes) or 2 (36 bytes). */
static void put_rsdp(u64 pa, u8 revision, u32 rsdt, u64 xsdt)
{
	u8 *p = phys(pa, revision >= 2 ? 36 : 20);

	memcpy(p, "RSD PTR ", 8);
	memcpy(p + 9, "XMHFTS", 6);
	p[15] = revision;
	put32(p + 16, rsdt);
	fix_checksum(p, 20, 8);
	if (revision >= 2) {
		put32(p + 20, 36);
		put64(p + 24, xsdt);
		fix_checksum(p, 36, 32);
	}
}

/* A system description table at pa: header then body. */
static void put_sdt(u64 pa, const char *sig, const void *body, u32 body_len)
{
	u32 len = 36 + body_len;
	u8 *p = phys(pa, len);

	assert_non_null(p);
	memset(p, 0, 36);
	memcpy(p, sig, 4);
	put32(p + 4, len);
	p[8] = 1;
	memcpy(p + 10, "XMHFTS", 6);
	memcpy(p + 36, body, body_len);
	fix_checksum(p, len, 9);
}

static void put_rsdt(u64 pa, const u32 *entries, u32 n)
{
	put_sdt(pa, "RSDT", entries, n * 4);
}

static void put_xsdt(u64 pa, const u64 *entries, u32 n)
{
	put_sdt(pa, "XSDT", entries, n * 8);
}

static void set_ebda_segment(u16 segment)
{
	put16(low_mem + 0x40e, segment);
}

/* ---- RSDP ---- */

static void test_rsdp_in_ebda_first(void **state)
{
	(void)state;
	set_ebda_segment(0x9fc0);
	put_rsdp(0x9fc00 + 0x3e0, 0, 0x80000, 0);  /* the last place it fits */
	put_rsdp(0xf0000, 0, 0x80000, 0);
	assert_int_equal(acpi_find_rsdp(map), 0x9fc00 + 0x3e0);
}

static void test_rsdp_beyond_ebda_first_kib_not_searched(void **state)
{
	(void)state;
	set_ebda_segment(0x9fc0);
	put_rsdp(0x9fc00 + 0x400, 0, 0x80000, 0);
	put_rsdp(0x9fc00 + 0x3f0, 0, 0x80000, 0);  /* would reach past 1 KiB */
	assert_int_equal(acpi_find_rsdp(map), 0);
	put_rsdp(0xfe000, 2, 0x80000, 0x90000);
	assert_int_equal(acpi_find_rsdp(map), 0xfe000);
}

static void test_rsdp_in_bios_area(void **state)
{
	(void)state;
	put_rsdp(0xe0000, 0, 0x80000, 0);  /* EBDA segment 0: not searched */
	assert_int_equal(acpi_find_rsdp(map), 0xe0000);
	reset(NULL);
	put_rsdp(0xfffe0, 0, 0x80000, 0);  /* v1 fits the last 32 bytes */
	assert_int_equal(acpi_find_rsdp(map), 0xfffe0);
}

static void test_rsdp_must_be_16_byte_aligned(void **state)
{
	(void)state;
	put_rsdp(0xf0008, 0, 0x80000, 0);
	assert_int_equal(acpi_find_rsdp(map), 0);
}

static void test_rsdp_bad_checksums_skipped(void **state)
{
	(void)state;
	put_rsdp(0xe0000, 0, 0x80000, 0);
	low_mem[0xe0000 + 16]++;  /* RsdtAddress changed after the checksum */
	put_rsdp(0xe0100, 2, 0x80000, 0x90000);
	low_mem[0xe0100 + 24]++;  /* only the extended checksum is wrong now */
	assert_int_equal(sum(low_mem + 0xe0100, 20), 0);
	put_rsdp(0xe0200, 2, 0x80000, 0x90000);
	put32(low_mem + 0xe0200 + 20, 20);  /* length below 36 */
	fix_checksum(low_mem + 0xe0200, 20, 8);
	put_rsdp(0xe0300, 2, 0x80000, 0x90000);
	assert_int_equal(acpi_find_rsdp(map), 0xe0300);
}

static void test_rsdp_v2_straddling_the_end_rejected(void **state)
{
	(void)state;
	/* 36 bytes from 0xfffe0 would reach past 1 MiB: map refuses */
	memcpy(low_mem + 0xfffe0, "RSD PTR ", 8);
	low_mem[0xfffe0 + 15] = 2;
	fix_checksum(low_mem + 0xfffe0, 20, 8);
	assert_int_equal(acpi_find_rsdp(map), 0);
}

/* ---- RSDT / XSDT ---- */

static void test_find_table_through_rsdt(void **state)
{
	const u32 entries[] = { 0, 0x7fff0000, 0x81000, 0x82000 };
	const u8 body[8] = { 1, 2, 3 };

	(void)state;
	put_sdt(0x81000, "APIC", body, sizeof(body));
	put_sdt(0x82000, "FACP", body, sizeof(body));
	put_rsdt(0x80000, entries, 4);  /* a null and an unmapped entry first */
	put_rsdp(0xe0000, 0, 0x80000, 0);
	assert_int_equal(acpi_find_table(0xe0000, "FACP", map), 0x82000);
	assert_int_equal(acpi_find_table(0xe0000, "APIC", map), 0x81000);
	assert_int_equal(acpi_find_table(0xe0000, "HPET", map), 0);
}

/* A table 'sig' at HIGH_BASE + 0x1000 listed by an XSDT at HIGH_BASE, and
 * another at 0x81000 listed by an RSDT at 0x80000; a v2 RSDP at 0xe0000. */
static void put_xsdt_and_rsdt_tables(const char *sig)
{
	const u64 x_entries[] = { HIGH_BASE + 0x1000 };
	const u32 entries[] = { 0x81000 };
	const u8 body[4] = { 9 };

	put_sdt(HIGH_BASE + 0x1000, sig, body, sizeof(body));
	put_sdt(0x81000, sig, body, sizeof(body));
	put_xsdt(HIGH_BASE, x_entries, 1);
	put_rsdt(0x80000, entries, 1);
	put_rsdp(0xe0000, 2, 0x80000, HIGH_BASE);
}

static void test_find_table_through_xsdt_above_4g(void **state)
{
	(void)state;
	put_xsdt_and_rsdt_tables("APIC");
	assert_int_equal(acpi_find_table(0xe0000, "APIC", map), HIGH_BASE + 0x1000);
	/* revision 0: the XSDT address is not even there */
	put_rsdp(0xe0000, 0, 0x80000, HIGH_BASE);
	assert_int_equal(acpi_find_table(0xe0000, "APIC", map), 0x81000);
	/* revision 2 with a zero XSDT address: the RSDT */
	put_rsdp(0xe0000, 2, 0x80000, 0);
	assert_int_equal(acpi_find_table(0xe0000, "APIC", map), 0x81000);
}

static void test_invalid_xsdt_falls_back_to_rsdt(void **state)
{
	(void)state;
	put_xsdt_and_rsdt_tables("FACP");
	high_mem[40]++;  /* breaks the XSDT's checksum */
	assert_int_equal(acpi_find_table(0xe0000, "FACP", map), 0x81000);
}

static void test_table_with_bad_checksum_or_length_skipped(void **state)
{
	const u32 entries[] = { 0x81000, 0x82000, 0x83000 };
	const u8 body[4] = { 9 };

	(void)state;
	put_sdt(0x81000, "FACP", body, sizeof(body));
	low_mem[0x81000 + 36]++;
	put_sdt(0x82000, "FACP", body, sizeof(body));
	put32(low_mem + 0x82004, 8);  /* length shorter than a header */
	put_sdt(0x83000, "FACP", body, sizeof(body));
	put_rsdt(0x80000, entries, 3);
	put_rsdp(0xe0000, 0, 0x80000, 0);
	assert_int_equal(acpi_find_table(0xe0000, "FACP", map), 0x83000);
	put_rsdt(0x80000, entries, 2);
	assert_int_equal(acpi_find_table(0xe0000, "FACP", map), 0);
}

static void test_bad_rsdt_finds_nothing(void **state)
{
	const u32 entries[] = { 0x81000 };
	const u8 body[4] = { 9 };

	(void)state;
	put_sdt(0x81000, "FACP", body, sizeof(body));
	put_rsdt(0x80000, entries, 1);
	put_rsdp(0xe0000, 0, 0x80000, 0);
	memcpy(low_mem + 0x80000, "XSDT", 4);  /* wrong signature... */
	fix_checksum(low_mem + 0x80000, 40, 9); /* ...with a valid checksum */
	assert_int_equal(acpi_find_table(0xe0000, "FACP", map), 0);
	put_rsdt(0x80000, entries, 1);
	put32(low_mem + 0x80004, 0xfffff);  /* length beyond mapped memory */
	assert_int_equal(acpi_find_table(0xe0000, "FACP", map), 0);
	put_rsdp(0xe0000, 0, 0x7ffff000, 0);  /* RSDT not mapped */
	assert_int_equal(acpi_find_table(0xe0000, "FACP", map), 0);
	assert_int_equal(acpi_find_table(0x7ffff000, "FACP", map), 0);
}

/* ---- MADT ---- */

struct madt_builder {
	u8 b[8192];
	u32 len;
};

static void madt_begin(struct madt_builder *m, u32 lapic)
{
	memset(m, 0, sizeof(*m));
	memcpy(m->b, "APIC", 4);
	put32(m->b + 36, lapic);
	put32(m->b + 40, 1);  /* PCAT_COMPAT */
	m->len = 44;
	put32(m->b + 4, m->len);
}

static u8 *madt_entry(struct madt_builder *m, u8 type, u8 len)
{
	u8 *e = m->b + m->len;

	assert_true(m->len + len <= sizeof(m->b));
	e[0] = type;
	e[1] = len;
	m->len += len;
	put32(m->b + 4, m->len);
	return e;
}

static void madt_lapic(struct madt_builder *m, u8 uid, u8 id, u32 flags)
{
	u8 *e = madt_entry(m, 0, 8);

	e[2] = uid;
	e[3] = id;
	put32(e + 4, flags);
}

static void madt_ioapic(struct madt_builder *m, u8 id, u32 addr)
{
	u8 *e = madt_entry(m, 1, 12);

	e[2] = id;
	put32(e + 4, addr);
}

static void madt_lapic_override(struct madt_builder *m, u64 addr)
{
	put64(madt_entry(m, 5, 12) + 4, addr);
}

static void madt_x2apic(struct madt_builder *m, u32 id, u32 flags, u32 uid)
{
	u8 *e = madt_entry(m, 9, 16);

	put32(e + 4, id);
	put32(e + 8, flags);
	put32(e + 12, uid);
}

static struct madt_builder mb;
static struct madt_info info;

static int parse_madt(const struct madt_builder *m)
{
	u8 *copy = exact_copy(m->b, m->len);
	int r = acpi_parse_madt(copy, m->len, &info);
	free(copy);
	return r;
}

static void assert_cpu(u32 i, u32 apic_id, u32 uid, bool x2apic)
{
	assert_int_equal(info.cpus[i].apic_id, apic_id);
	assert_int_equal(info.cpus[i].uid, uid);
	assert_int_equal(info.cpus[i].x2apic, x2apic);
}

static void test_madt_typical(void **state)
{
	(void)state;
	madt_begin(&mb, 0xfee00000);
	madt_lapic(&mb, 0, 0, 1);
	madt_lapic(&mb, 1, 2, 1);
	madt_lapic(&mb, 2, 4, 0);  /* disabled */
	madt_lapic(&mb, 3, 6, 2);  /* online capable, not enabled */
	madt_lapic(&mb, 4, 0xff, 1);  /* broadcast id: not a CPU */
	madt_ioapic(&mb, 8, 0xfec00000);
	madt_entry(&mb, 2, 10);    /* interrupt source override: skipped */
	madt_entry(&mb, 0x7f, 3);  /* unknown type: skipped by its length */
	madt_lapic_override(&mb, 0x1fee00000ull);
	madt_x2apic(&mb, 2, 1, 1);      /* the same CPU as type 0 id 2 */
	madt_x2apic(&mb, 256, 1, 10);
	madt_x2apic(&mb, 0x10000, 3, 11);
	madt_x2apic(&mb, 300, 0, 12);   /* disabled */
	madt_ioapic(&mb, 9, 0xfec01000);
	assert_int_equal(parse_madt(&mb), 0);
	assert_int_equal(info.lapic_base, 0x1fee00000ull);
	assert_int_equal(info.n_cpus, 4);
	assert_cpu(0, 0, 0, false);
	assert_cpu(1, 2, 1, false);
	assert_cpu(2, 256, 10, true);
	assert_cpu(3, 0x10000, 11, true);
	assert_int_equal(info.n_ioapics, 2);
	assert_int_equal(info.ioapic_base[0], 0xfec00000);
	assert_int_equal(info.ioapic_base[1], 0xfec01000);
}

static void test_madt_x2apic_listed_first_deduplicated(void **state)
{
	(void)state;
	madt_begin(&mb, 0xfee00000);
	madt_x2apic(&mb, 1, 1, 7);
	madt_lapic(&mb, 7, 1, 1);
	madt_lapic(&mb, 8, 3, 1);
	assert_int_equal(parse_madt(&mb), 0);
	assert_int_equal(info.lapic_base, 0xfee00000);
	assert_int_equal(info.n_cpus, 2);
	assert_cpu(0, 1, 7, true);
	assert_cpu(1, 3, 8, false);
}

static void test_madt_limits(void **state)
{
	(void)state;
	madt_begin(&mb, 0xfee00000);
	for (u32 i = 0; i < ACPI_MAX_CPUS + 20; i++)
		madt_x2apic(&mb, i, 1, i);
	for (u32 i = 0; i < ACPI_MAX_IOAPICS + 2; i++)
		madt_ioapic(&mb, (u8)i, 0xfec00000 + i * 0x1000);
	assert_int_equal(parse_madt(&mb), 0);
	assert_int_equal(info.n_cpus, ACPI_MAX_CPUS);
	assert_int_equal(info.cpus[ACPI_MAX_CPUS - 1].apic_id, ACPI_MAX_CPUS - 1);
	assert_int_equal(info.n_ioapics, ACPI_MAX_IOAPICS);
}

static void test_madt_malformed(void **state)
{
	static const u8 bad_lengths[][2] = {
		{ 0, 0 }, { 0x7f, 0 }, { 0x7f, 1 }, { 0, 7 }, { 1, 11 }, { 5, 11 }, { 9, 15 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad_lengths) / sizeof(bad_lengths[0]); i++) {
		madt_begin(&mb, 0xfee00000);
		madt_lapic(&mb, 0, 0, 1);
		madt_entry(&mb, bad_lengths[i][0], bad_lengths[i][1]);
		mb.len += 16;  /* room after it, so only the length is wrong */
		put32(mb.b + 4, mb.len);
		assert_int_equal(parse_madt(&mb), -1);
	}
	/* an entry running past the end of the table */
	madt_begin(&mb, 0xfee00000);
	madt_lapic(&mb, 0, 0, 1);
	mb.b[mb.len - 7] = 9;
	assert_int_equal(parse_madt(&mb), -1);
	/* a lone type byte at the end */
	madt_begin(&mb, 0xfee00000);
	madt_entry(&mb, 0x7f, 1);
	assert_int_equal(parse_madt(&mb), -1);
	/* header problems */
	madt_begin(&mb, 0xfee00000);
	put32(mb.b + 4, 43);
	assert_int_equal(parse_madt(&mb), -1);
	put32(mb.b + 4, 45);  /* claims more than the 44 bytes given */
	assert_int_equal(parse_madt(&mb), -1);
	madt_begin(&mb, 0xfee00000);
	memcpy(mb.b, "APIX", 4);
	assert_int_equal(parse_madt(&mb), -1);
	madt_begin(&mb, 0xfee00000);
	mb.len = 40;
	assert_int_equal(parse_madt(&mb), -1);
}

static void test_madt_truncations_and_garbage_never_overread(void **state)
{
	struct madt_builder full;

	(void)state;
	madt_begin(&full, 0xfee00000);
	madt_lapic(&full, 0, 0, 1);
	madt_ioapic(&full, 1, 0xfec00000);
	madt_lapic_override(&full, 0xfee00000);
	madt_x2apic(&full, 300, 1, 1);
	for (u32 len = 0; len <= full.len; len++) {
		mb = full;
		mb.len = len;
		put32(mb.b + 4, len);
		int r = parse_madt(&mb);

		/* entries end at 52, 64, 76 and 92 */
		assert_int_equal(r, len == 44 || len == 52 || len == 64 ||
				     len == 76 || len == 92 ? 0 : -1);
	}
	srand(3);
	for (int round = 0; round < 3000; round++) {
		mb = full;
		for (int i = 0; i < 4; i++)
			mb.b[44 + rand() % (full.len - 44)] = (u8)rand();
		if (parse_madt(&mb) == 0)
			assert_true(info.n_cpus <= ACPI_MAX_CPUS);
	}
}

/* ---- FADT ---- */

static u8 fadt[276];
static struct fadt_info fi;

static void fadt_begin(u32 len)
{
	memset(fadt, 0, sizeof(fadt));
	memcpy(fadt, "FACP", 4);
	put32(fadt + 4, len);
	put32(fadt + 40, 0x7ffe0000);  /* DSDT */
	put32(fadt + 56, 0x400);       /* PM1a_EVT_BLK: not wanted */
	put32(fadt + 64, 0x404);       /* PM1a_CNT_BLK */
	put32(fadt + 68, 0);           /* PM1b_CNT_BLK */
	put32(fadt + 72, 0x450);       /* PM2_CNT_BLK: not wanted */
	put32(fadt + 76, 0x408);       /* PM_TMR_BLK */
}

static void fadt_gas(u32 off, u8 space, u64 addr)
{
	fadt[off] = space;
	fadt[off + 1] = 32;
	put64(fadt + off + 4, addr);
}

static int parse_fadt(u32 len)
{
	u8 *copy = exact_copy(fadt, len);
	int r = acpi_parse_fadt(copy, len, &fi);
	free(copy);
	return r;
}

static void test_fadt_acpi1(void **state)
{
	(void)state;
	fadt_begin(116);
	put32(fadt + 112, 1u << 8);  /* TMR_VAL_EXT */
	assert_int_equal(parse_fadt(116), 0);
	assert_int_equal(fi.dsdt, 0x7ffe0000);
	assert_int_equal(fi.pm1a_cnt, 0x404);
	assert_int_equal(fi.pm1b_cnt, 0);
	assert_int_equal(fi.pm_tmr, 0x408);
	assert_true(fi.pm_tmr_32bit);
	put32(fadt + 112, ~(1u << 8));
	assert_int_equal(parse_fadt(116), 0);
	assert_false(fi.pm_tmr_32bit);
}

static void test_fadt_x_fields_preferred(void **state)
{
	(void)state;
	fadt_begin(276);
	put64(fadt + 140, 0x17ffe0000ull);    /* X_DSDT */
	fadt_gas(172, 1, 0x1804);             /* X_PM1a_CNT_BLK */
	fadt_gas(184, 1, 0x1805);             /* X_PM1b_CNT_BLK */
	fadt_gas(208, 1, 0x1808);             /* X_PM_TMR_BLK */
	assert_int_equal(parse_fadt(276), 0);
	assert_int_equal(fi.dsdt, 0x17ffe0000ull);
	assert_int_equal(fi.pm1a_cnt, 0x1804);
	assert_int_equal(fi.pm1b_cnt, 0x1805);
	assert_int_equal(fi.pm_tmr, 0x1808);
}

static void test_fadt_unusable_x_fields_ignored(void **state)
{
	(void)state;
	fadt_begin(276);
	fadt_gas(172, 0, 0xfed00000);  /* system memory space */
	fadt_gas(184, 1, 0);           /* zero */
	fadt_gas(208, 1, 0x10000);     /* not an I/O port */
	assert_int_equal(parse_fadt(276), 0);
	assert_int_equal(fi.dsdt, 0x7ffe0000);  /* X_DSDT zero */
	assert_int_equal(fi.pm1a_cnt, 0x404);
	assert_int_equal(fi.pm1b_cnt, 0);
	assert_int_equal(fi.pm_tmr, 0x408);
}

static void test_fadt_x_fields_beyond_length_ignored(void **state)
{
	(void)state;
	fadt_begin(208);  /* ends right before X_PM_TMR_BLK */
	put64(fadt + 140, 0x17ffe0000ull);
	fadt_gas(172, 1, 0x1804);
	fadt_gas(208, 1, 0x1808);
	assert_int_equal(parse_fadt(208), 0);
	assert_int_equal(fi.dsdt, 0x17ffe0000ull);
	assert_int_equal(fi.pm1a_cnt, 0x1804);
	assert_int_equal(fi.pm_tmr, 0x408);
	fadt_begin(147);  /* X_DSDT cut short */
	put64(fadt + 140, 0x17ffe0000ull);
	assert_int_equal(parse_fadt(147), 0);
	assert_int_equal(fi.dsdt, 0x7ffe0000);
}

static void test_fadt_malformed(void **state)
{
	(void)state;
	fadt_begin(115);
	assert_int_equal(parse_fadt(115), -1);
	fadt_begin(276);
	assert_int_equal(parse_fadt(200), -1);  /* header claims more */
	fadt_begin(116);
	memcpy(fadt, "FACS", 4);
	assert_int_equal(parse_fadt(116), -1);
	for (u32 len = 0; len < 116; len++) {
		fadt_begin(len);
		assert_int_equal(parse_fadt(len), -1);
	}
}

/* ---- \_S5 ---- */

static int find_s5(const u8 *aml, u64 len, u8 *a, u8 *b)
{
	u8 *copy = exact_copy(aml, len);
	int r = acpi_find_s5(copy, len, a, b);
	free(copy);
	return r;
}

#define S5(...) ((const u8[]){ __VA_ARGS__ })
#define EXPECT_S5(a_, b_, ...)                                              \
	do {                                                                \
		const u8 aml_[] = { __VA_ARGS__ };                          \
		u8 a = 0xee, b = 0xee;                                      \
		assert_int_equal(find_s5(aml_, sizeof(aml_), &a, &b), 0);   \
		assert_int_equal(a, a_);                                    \
		assert_int_equal(b, b_);                                    \
		/* every truncation loses the package */                    \
		for (u64 cut = 0; cut < sizeof(aml_); cut++)                \
			assert_int_equal(find_s5(aml_, cut, &a, &b), -1);   \
	} while (0)

static void test_s5_encodings(void **state)
{
	(void)state;
	/* Name (_S5, Package (0x04) { 0x05, 0x05, Zero, Zero }) */
	EXPECT_S5(5, 5, 0x08, '_', 'S', '5', '_', 0x12, 0x08, 0x04,
		  0x0a, 0x05, 0x0a, 0x05, 0x00, 0x00);
	/* Name (\_S5, ...) with ZeroOp / OneOp */
	EXPECT_S5(0, 1, 0x08, '\\', '_', 'S', '5', '_', 0x12, 0x04, 0x02,
		  0x00, 0x01);
	/* bare small integers */
	EXPECT_S5(7, 3, 0x08, '_', 'S', '5', '_', 0x12, 0x04, 0x02, 0x07, 0x03);
	/* PkgLength in 2, 3 and 4 bytes */
	EXPECT_S5(6, 2, 0x08, '_', 'S', '5', '_', 0x12, 0x47, 0x00, 0x02,
		  0x0a, 0x06, 0x0a, 0x02);
	EXPECT_S5(6, 2, 0x08, '_', 'S', '5', '_', 0x12, 0x88, 0x00, 0x00, 0x02,
		  0x0a, 0x06, 0x0a, 0x02);
	EXPECT_S5(6, 2, 0x08, '_', 'S', '5', '_', 0x12, 0xc9, 0x00, 0x00, 0x00,
		  0x02, 0x0a, 0x06, 0x0a, 0x02);
}

static void test_s5_in_dsdt_after_other_aml(void **state)
{
	u8 aml[300];
	u8 a, b;
	const u8 s5[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x08, 0x04,
			  0x0a, 0x07, 0x0a, 0x07, 0x00, 0x00 };

	(void)state;
	memset(aml, 0xa3, sizeof(aml));  /* Local... opcodes as filler */
	/* a reference to _S5_ that is not a NameOp: skipped */
	memcpy(aml + 10, "\x70_S5_\x60", 6);
	/* Name (_S4_, ...) right before: a different name */
	memcpy(aml + 40, "\x08_S4_\x12\x06\x04\x0a\x06\x0a\x06\x00\x00", 13);
	memcpy(aml + 200, s5, sizeof(s5));
	assert_int_equal(find_s5(aml, sizeof(aml), &a, &b), 0);
	assert_int_equal(a, 7);
	assert_int_equal(b, 7);
}

static void test_s5_malformed_packages(void **state)
{
	static const struct {
		u8 aml[16];
		u8 len;
	} bad[] = {
		/* not a package */
		{ { 0x08, '_', 'S', '5', '_', 0x0a, 0x05 }, 7 },
		/* one element only */
		{ { 0x08, '_', 'S', '5', '_', 0x12, 0x04, 0x01, 0x0a, 0x05 }, 10 },
		/* PkgLength shorter than its elements */
		{ { 0x08, '_', 'S', '5', '_', 0x12, 0x03, 0x02, 0x0a, 0x05, 0x0a, 0x05 }, 12 },
		/* PkgLength of 0 */
		{ { 0x08, '_', 'S', '5', '_', 0x12, 0x00, 0x02, 0x00, 0x00 }, 10 },
		/* PkgLength beyond the AML */
		{ { 0x08, '_', 'S', '5', '_', 0x12, 0x3f, 0x02, 0x00, 0x00 }, 10 },
		/* an element that is not an integer (String prefix) */
		{ { 0x08, '_', 'S', '5', '_', 0x12, 0x06, 0x02, 0x0d, 'a', 0, 0 }, 12 },
		/* no NameOp */
		{ { 0x10, '_', 'S', '5', '_', 0x12, 0x04, 0x02, 0x00, 0x00 }, 10 },
		/* BytePrefix as the last byte of the package */
		{ { 0x08, '_', 'S', '5', '_', 0x12, 0x04, 0x02, 0x00, 0x0a, 0x05 }, 11 },
	};
	u8 a, b;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(find_s5(bad[i].aml, bad[i].len, &a, &b), -1);
	assert_int_equal(find_s5(S5(0), 0, &a, &b), -1);
	assert_int_equal(find_s5(S5('_', 'S', '5', '_'), 4, &a, &b), -1);
}

static void test_s5_garbage_never_overreads(void **state)
{
	u8 aml[64];
	u8 a, b;

	(void)state;
	srand(4);
	for (int round = 0; round < 20000; round++) {
		u64 len = (u64)rand() % sizeof(aml);

		for (u64 i = 0; i < len; i++)
			aml[i] = (u8)rand();
		if (len > 12 && rand() % 2)  /* plant a name */
			memcpy(aml + rand() % (len - 6), "\x08_S5_\x12", 6);
		find_s5(aml, len, &a, &b);
	}
}

/* ---- MCFG ---- */

static u8 mcfg[44 + 20 * 16];
static u32 mcfg_len;

static void mcfg_begin(void)
{
	memset(mcfg, 0, sizeof(mcfg));
	memcpy(mcfg, "MCFG", 4);
	mcfg_len = 44;
	put32(mcfg + 4, mcfg_len);
}

static void mcfg_region(u64 base, u16 segment, u8 bus_start, u8 bus_end)
{
	u8 *r = mcfg + mcfg_len;

	assert_true(mcfg_len + 16 <= sizeof(mcfg));
	put64(r, base);
	put16(r + 8, segment);
	r[10] = bus_start;
	r[11] = bus_end;
	mcfg_len += 16;
	put32(mcfg + 4, mcfg_len);
}

/* The first len bytes of mcfg, from an exact copy (ASan: no read beyond). */
static int parse_mcfg_bytes(u32 len, struct mcfg_info *m)
{
	u8 *copy = exact_copy(mcfg, len);
	int r = acpi_parse_mcfg(copy, len, m);

	free(copy);
	return r;
}

static int parse_mcfg(struct mcfg_info *m) { return parse_mcfg_bytes(mcfg_len, m); }

/* A function's page is base + (bus << 20 | dev << 15 | fn << 12), base
 * being bus 0's address even when the region starts at a later bus. */
static void test_mcfg_function_pages(void **state)
{
	struct mcfg_info m;

	(void)state;
	mcfg_begin();
	mcfg_region(0xe0000000, 0, 0, 0x3f);
	mcfg_region(0x4000000000, 1, 0, 0xff);
	mcfg_region(0xf0000000, 0, 0x80, 0xff);
	assert_int_equal(parse_mcfg(&m), 0);
	assert_int_equal(m.n_regions, 3);
	assert_int_equal(m.regions[0].base, 0xe0000000);
	assert_int_equal(m.regions[1].segment, 1);
	assert_int_equal(m.regions[2].bus_start, 0x80);
	assert_int_equal(mcfg_function_page(&m, 0, 0x0000), 0xe0000000);
	/* 00:03.0 (e1000 in QEMU), 3f:1f.7 */
	assert_int_equal(mcfg_function_page(&m, 0, 3 << 3), 0xe0018000);
	assert_int_equal(mcfg_function_page(&m, 0, 0x3f << 8 | 0x1f << 3 | 7), 0xe0000000 + (0x3full << 20 | 0x1f << 15 | 7 << 12));
	assert_int_equal(mcfg_function_page(&m, 0, 0x40 << 8), 0);   /* no region has bus 0x40 */
	assert_int_equal(mcfg_function_page(&m, 0, 0x80 << 8 | 1), 0xf0000000 + (0x80ull << 20) + 0x1000);
	assert_int_equal(mcfg_function_page(&m, 1, 0x0108), 0x4000000000 + (1ull << 20) + (1 << 15));
	assert_int_equal(mcfg_function_page(&m, 2, 0), 0);           /* no such segment */
}

/* Unusable regions are skipped, the rest kept; more than MCFG_MAX_REGIONS dropped. */
static void test_mcfg_bad_regions_skipped(void **state)
{
	struct mcfg_info m;

	(void)state;
	mcfg_begin();
	mcfg_region(0, 0, 0, 0xff);                        /* base 0 */
	mcfg_region(0xe0000800, 0, 0, 0xff);               /* not 4 KiB aligned */
	mcfg_region(0xe0000000, 0, 9, 8);                  /* start after end */
	mcfg_region(0xfffffffff0000000ull, 0, 0, 0xff);    /* beyond 2^64 */
	mcfg_region(0xfffffffff0000000ull, 0, 0, 0xfe);    /* ends 1 MiB below 2^64: kept */
	mcfg_region(0xe0000000, 0, 0, 0);
	assert_int_equal(parse_mcfg(&m), 0);
	assert_int_equal(m.n_regions, 2);
	assert_int_equal(m.regions[0].base, 0xfffffffff0000000ull);
	assert_int_equal(mcfg_function_page(&m, 0, 0x0100), 0xfffffffff0100000ull);
	assert_int_equal(m.regions[1].base, 0xe0000000);
	assert_int_equal(m.regions[1].bus_end, 0);

	mcfg_begin();
	for (u32 i = 0; i < MCFG_MAX_REGIONS + 4; i++)
		mcfg_region(0xe0000000 + i * MiB(256), (u16)i, 0, 0xff);
	assert_int_equal(parse_mcfg(&m), 0);
	assert_int_equal(m.n_regions, MCFG_MAX_REGIONS);
	assert_int_equal(mcfg_function_page(&m, MCFG_MAX_REGIONS, 0), 0);
}

/* Wrong signature, too short, a length beyond the bytes given or not a
 * whole number of regions: malformed, and nothing is read beyond len. */
static void test_mcfg_malformed(void **state)
{
	struct mcfg_info m;

	(void)state;
	mcfg_begin();
	assert_int_equal(parse_mcfg(&m), 0);                   /* no regions: valid, empty */
	assert_int_equal(m.n_regions, 0);
	mcfg_region(0xe0000000, 0, 0, 0xff);
	assert_int_equal(parse_mcfg_bytes(mcfg_len - 1, &m), -1);
	assert_int_equal(m.n_regions, 0);
	put32(mcfg + 4, mcfg_len - 4);
	assert_int_equal(parse_mcfg(&m), -1);                  /* 12 bytes of a region */
	put32(mcfg + 4, 40);
	assert_int_equal(parse_mcfg(&m), -1);                  /* shorter than the header + reserved */
	put32(mcfg + 4, mcfg_len);
	memcpy(mcfg, "MCFX", 4);
	assert_int_equal(parse_mcfg(&m), -1);
	memcpy(mcfg, "MCFG", 4);
	assert_int_equal(parse_mcfg_bytes(20, &m), -1);
	assert_int_equal(parse_mcfg(&m), 0);
	assert_int_equal(m.n_regions, 1);
}

/* Found through the XSDT like any table (its checksum valid). */
static void test_mcfg_found_and_parsed(void **state)
{
	const u64 x_entries[] = { HIGH_BASE + 0x1000 };
	struct mcfg_info m;

	(void)state;
	mcfg_begin();
	mcfg_region(0xb0000000, 0, 0, 0xff);
	put_sdt(HIGH_BASE + 0x1000, "MCFG", mcfg + 36, mcfg_len - 36);
	put_xsdt(HIGH_BASE, x_entries, 1);
	put_rsdp(0xf0000, 2, 0, HIGH_BASE);
	u64 pa = acpi_find_table(acpi_find_rsdp(map), "MCFG", map);
	assert_int_equal(pa, HIGH_BASE + 0x1000);
	assert_int_equal(acpi_parse_mcfg(map(pa, mcfg_len), mcfg_len, &m), 0);
	assert_int_equal(mcfg_function_page(&m, 0, 0x0018), 0xb0018000);
}

/* ---- all together ---- */

static void test_rsdp_to_fadt_to_dsdt_s5(void **state)
{
	const u8 s5[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x08, 0x04,
			  0x0a, 0x05, 0x0a, 0x05, 0x00, 0x00 };
	const u64 x_entries[] = { HIGH_BASE + 0x2000, HIGH_BASE + 0x1000 };
	struct fadt_info f;
	struct madt_info mi;
	u8 a, b;

	(void)state;
	put_sdt(HIGH_BASE + 0x3000, "DSDT", s5, sizeof(s5));
	fadt_begin(276);
	put64(fadt + 140, HIGH_BASE + 0x3000);
	put_sdt(HIGH_BASE + 0x1000, "FACP", fadt + 36, 276 - 36);
	madt_begin(&mb, 0xfee00000);
	madt_lapic(&mb, 0, 0, 1);
	put_sdt(HIGH_BASE + 0x2000, "APIC", mb.b + 36, mb.len - 36);
	put_xsdt(HIGH_BASE, x_entries, 2);
	set_ebda_segment(0x9fc0);
	put_rsdp(0xf0010, 2, 0, HIGH_BASE);

	u64 rsdp = acpi_find_rsdp(map);
	u64 fadt_pa = acpi_find_table(rsdp, "FACP", map);
	u64 madt_pa = acpi_find_table(rsdp, "APIC", map);

	assert_int_equal(rsdp, 0xf0010);
	assert_int_equal(fadt_pa, HIGH_BASE + 0x1000);
	assert_int_equal(acpi_parse_fadt(map(fadt_pa, 276), 276, &f), 0);
	assert_int_equal(f.dsdt, HIGH_BASE + 0x3000);
	assert_int_equal(acpi_parse_madt(map(madt_pa, mb.len), mb.len, &mi), 0);
	assert_int_equal(mi.n_cpus, 1);
	const u8 *dsdt = map(f.dsdt, 36 + sizeof(s5));
	assert_int_equal(acpi_find_s5(dsdt + 36, sizeof(s5), &a, &b), 0);
	assert_int_equal(a, 5);
	assert_int_equal(b, 5);
}

#define T(t) cmocka_unit_test_setup_teardown(t, reset, unmap_all)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_rsdp_in_ebda_first),
		T(test_rsdp_beyond_ebda_first_kib_not_searched),
		T(test_rsdp_in_bios_area),
		T(test_rsdp_must_be_16_byte_aligned),
		T(test_rsdp_bad_checksums_skipped),
		T(test_rsdp_v2_straddling_the_end_rejected),
		T(test_find_table_through_rsdt),
		T(test_find_table_through_xsdt_above_4g),
		T(test_invalid_xsdt_falls_back_to_rsdt),
		T(test_table_with_bad_checksum_or_length_skipped),
		T(test_bad_rsdt_finds_nothing),
		T(test_madt_typical),
		T(test_madt_x2apic_listed_first_deduplicated),
		T(test_madt_limits),
		T(test_madt_malformed),
		T(test_madt_truncations_and_garbage_never_overread),
		T(test_fadt_acpi1),
		T(test_fadt_x_fields_preferred),
		T(test_fadt_unusable_x_fields_ignored),
		T(test_fadt_x_fields_beyond_length_ignored),
		T(test_fadt_malformed),
		T(test_s5_encodings),
		T(test_s5_in_dsdt_after_other_aml),
		T(test_s5_malformed_packages),
		T(test_s5_garbage_never_overreads),
		T(test_mcfg_function_pages),
		T(test_mcfg_bad_regions_skipped),
		T(test_mcfg_malformed),
		T(test_mcfg_found_and_parsed),
		T(test_rsdp_to_fadt_to_dsdt_s5),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
