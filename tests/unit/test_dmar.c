/* xmhf/platform/dmar.c: DMAR table parsing (exactly sized heap copies, so
 * ASan reports reads past the table) and Protected Memory Region
 * programming against a fake VT-d remapping unit (its MMIO registers with
 * the read-back rules of the VT-d spec, chapter 11). */
#include "unit.h"
#include "table_bytes.h"
#include <xmhf/acpi.h>
#include <xmhf/dmar.h>

/* ---- the table ---- */

static u8 table[1024];
static u32 table_len;

static void table_begin(u8 haw)
{
	memset(table, 0, sizeof(table));
	memcpy(table, "DMAR", 4);
	table[8] = 1;
	table[DMAR_HAW_OFFSET] = haw;
	table_len = DMAR_STRUCTS_OFFSET;
}

static void table_end(void)
{
	put32(table + 4, table_len);
	fix_checksum(table, table_len, 9);
}

static u8 *add_struct(u16 type, u16 len)
{
	u8 *s = table + table_len;

	put16(s, type);
	put16(s + 2, len);
	table_len += len;
	return s;
}

static void add_drhd(u8 flags, u8 size, u16 segment, u64 base, u16 len)
{
	u8 *s = add_struct(DMAR_TYPE_DRHD, len);

	s[4] = flags;
	s[5] = size;
	put16(s + 6, segment);
	put64(s + 8, base);
}

static void add_rmrr(u64 base, u64 limit)
{
	u8 *s = add_struct(DMAR_TYPE_RMRR, DMAR_RMRR_LEN);

	put64(s + 8, base);
	put64(s + 16, limit);
}

static const char *parse(u32 len, struct dmar_info *out)
{
	u8 *copy = exact_copy(table, len);
	const char *err = dmar_parse(copy, len, out);

	free(copy);
	return err;
}

static void build_typical(void)
{
	table_begin(38);
	add_drhd(0, 0, 0, 0xfed90000, DMAR_DRHD_LEN + 8); /* one device scope entry */
	add_struct(3, 20);                                 /* RHSA: skipped */
	add_rmrr(0x3e000000, 0x3e7fffff);
	add_drhd(DMAR_DRHD_INCLUDE_PCI_ALL, 1, 0, 0xfed91000, DMAR_DRHD_LEN);
	table_end();
}

static void test_parse_typical(void **state)
{
	struct dmar_info info;

	(void)state;
	build_typical();
	assert_null(parse(table_len, &info));
	assert_int_equal(info.host_address_width, 39);
	assert_int_equal(info.n_units, 2);
	assert_int_equal(info.units[0].regs.v, 0xfed90000);
	assert_int_equal(info.units[0].regs_size, 0x1000);
	assert_false(info.units[0].include_pci_all);
	assert_int_equal(info.units[1].regs.v, 0xfed91000);
	assert_int_equal(info.units[1].regs_size, 0x2000);
	assert_true(info.units[1].include_pci_all);
	assert_int_equal(info.n_rmrrs, 1);
	assert_int_equal(info.rmrrs[0].base, 0x3e000000);
	assert_int_equal(info.rmrrs[0].end, 0x3e800000);
}

/* Every shorter buffer, with the header's length as written and as the
 * buffer's: an error or a prefix of the units, never a read past it. */
static void test_parse_truncated(void **state)
{
	struct dmar_info info;

	(void)state;
	build_typical();
	u32 full = table_len;
	for (u32 len = 0; len < full; len++)
		assert_non_null(parse(len, &info));
	for (u32 len = DMAR_STRUCTS_OFFSET; len < full; len++) {
		build_typical();
		put32(table + 4, len);
		if (!parse(len, &info))
			assert_true(info.n_units >= 1 && info.n_units <= 2);
	}
}

static void test_parse_malformed(void **state)
{
	struct dmar_info info;

	(void)state;
	table_begin(38);  /* no unit */
	table_end();
	assert_non_null(parse(table_len, &info));

	table_begin(38);  /* a zero-length structure would loop forever */
	add_drhd(0, 0, 0, 0xfed90000, DMAR_DRHD_LEN);
	add_struct(3, 0);
	table_len += 4;
	table_end();
	assert_non_null(parse(table_len, &info));

	table_begin(38);  /* DRHD shorter than its fields */
	add_drhd(0, 0, 0, 0xfed90000, DMAR_DRHD_LEN - 1);
	table_end();
	assert_non_null(parse(table_len, &info));

	table_begin(38);  /* RMRR shorter than its fields */
	add_drhd(0, 0, 0, 0xfed90000, DMAR_DRHD_LEN);
	add_struct(DMAR_TYPE_RMRR, DMAR_RMRR_LEN - 1);
	table_end();
	assert_non_null(parse(table_len, &info));

	table_begin(38);  /* register base not 4 KiB aligned, or 0 */
	add_drhd(0, 0, 0, 0xfed90800, DMAR_DRHD_LEN);
	table_end();
	assert_non_null(parse(table_len, &info));
	table_begin(38);
	add_drhd(0, 0, 0, 0, DMAR_DRHD_LEN);
	table_end();
	assert_non_null(parse(table_len, &info));

	table_begin(38);  /* more units than we can protect: refused, not cut */
	for (u32 i = 0; i <= DMAR_MAX_UNITS; i++)
		add_drhd(0, 0, 0, 0xfed00000 + i * 0x1000, DMAR_DRHD_LEN);
	table_end();
	assert_non_null(parse(table_len, &info));

	build_typical();  /* wrong signature */
	table[0] = 'X';
	assert_non_null(parse(table_len, &info));
}

static void test_parse_garbage(void **state)
{
	struct dmar_info info;

	(void)state;
	srand(7);
	for (u32 round = 0; round < 2000; round++) {
		u32 len = DMAR_STRUCTS_OFFSET + (u32)rand() % 200;

		table_begin(38);
		for (u32 i = DMAR_STRUCTS_OFFSET; i < len; i++)
			table[i] = (u8)rand();
		table_len = len;
		table_end();
		if (!parse(len, &info))
			assert_true(info.n_units >= 1 && info.n_units <= DMAR_MAX_UNITS);
	}
}

static void test_hide(void **state)
{
	struct dmar_info info;

	(void)state;
	build_typical();
	dmar_hide(table);
	assert_memory_equal(table, "XMAR", 4);
	assert_int_equal(sum(table, table_len), 0);
	assert_non_null(parse(table_len, &info));
}

/* ---- a fake remapping unit ---- */

#define UNIT_BASE 0xfed90000ull

static struct fake_unit {
	u64 cap, ecap;
	u32 gsts, pmen;
	u32 plmbase, plmlimit;
	u64 phmbase, phmlimit;
	u32 plm_mask, plml_mask; /* implemented bits of PLMBASE, PLMLIMIT */
	u64 phm_mask;            /* of PHMBASE/PHMLIMIT, below HAW */
	bool pmen_stuck;         /* PRS never follows EPM */
	bool te_stuck;           /* TES never follows TE */
	u32 gcmd_writes, last_gcmd;
	u32 region_writes;
} unit;
static u32 udelays;

void udelay(u32 us) { (void)us; udelays++; }

static const struct dmar_unit dmar_unit = { { UNIT_BASE }, 0x1000, 0, true };

static void unit_reset(u32 plm_mask, u64 phm_mask)
{
	memset(&unit, 0, sizeof(unit));
	unit.cap = VTD_CAP_PLMR | VTD_CAP_PHMR;
	unit.plm_mask = unit.plml_mask = plm_mask;
	unit.phm_mask = phm_mask;
	udelays = 0;
}

static u32 half(u64 v, u32 off) { return (u32)(off & 4 ? v >> 32 : v); }

static void set_half(u64 *r, u32 off, u32 v, u64 mask)
{
	u64 x = off & 4 ? (*r & 0xffffffffull) | (u64)v << 32 : (*r & ~0xffffffffull) | v;

	*r = x & mask;
}

u32 mmio_read32(u64 addr)
{
	u32 off = (u32)(addr - UNIT_BASE);

	assert_true(addr >= UNIT_BASE && off < 0x1000 && !(off & 3));
	switch (off & ~4u) {
	case VTD_REG_CAP: return half(unit.cap, off);
	case VTD_REG_ECAP: return half(unit.ecap, off);
	case VTD_REG_PHMBASE: return half(unit.phmbase, off);
	case VTD_REG_PHMLIMIT: return half(unit.phmlimit, off);
	}
	switch (off) {
	case VTD_REG_GSTS: return unit.gsts;
	case VTD_REG_PMEN: return unit.pmen;
	case VTD_REG_PLMBASE: return unit.plmbase;
	case VTD_REG_PLMLIMIT: return unit.plmlimit;
	}
	fail_msg("read of unmodelled register 0x%x", off);
	return 0;
}

void mmio_write32(u64 addr, u32 v)
{
	u32 off = (u32)(addr - UNIT_BASE);

	assert_true(addr >= UNIT_BASE && off < 0x1000 && !(off & 3));
	if (off >= VTD_REG_PLMBASE && off < VTD_REG_PHMLIMIT + 8) {
		/* 11.4: not to be modified while PRS is set */
		assert_false(unit.pmen & VTD_PMEN_PRS);
		unit.region_writes++;
	}
	if (off == VTD_REG_GCMD) {
		unit.gcmd_writes++;
		unit.last_gcmd = v;
		if (!unit.te_stuck)
			unit.gsts = (unit.gsts & ~VTD_GSTS_TES) | (v & VTD_GCMD_TE);
	} else if (off == VTD_REG_PMEN) {
		unit.pmen = (unit.pmen & VTD_PMEN_PRS) | (v & VTD_PMEN_EPM);
		if (!unit.pmen_stuck)
			unit.pmen = (v & VTD_PMEN_EPM) | (v & VTD_PMEN_EPM ? VTD_PMEN_PRS : 0);
	} else if (off == VTD_REG_PLMBASE) {
		unit.plmbase = unit.cap & VTD_CAP_PLMR ? v & unit.plm_mask : 0;
	} else if (off == VTD_REG_PLMLIMIT) {
		unit.plmlimit = unit.cap & VTD_CAP_PLMR ? v & unit.plml_mask : 0;
	} else if ((off & ~4u) == VTD_REG_PHMBASE) {
		set_half(&unit.phmbase, off, v, unit.cap & VTD_CAP_PHMR ? unit.phm_mask : 0);
	} else if ((off & ~4u) == VTD_REG_PHMLIMIT) {
		set_half(&unit.phmlimit, off, v, unit.cap & VTD_CAP_PHMR ? unit.phm_mask : 0);
	} else {
		fail_msg("write of 0x%x to register 0x%x", v, off);
	}
}

/* What the fake blocks: [PLMBASE, PLMLIMIT with its low bits ones]. */
static bool blocks(u64 pa)
{
	u64 limit = unit.plmlimit | ~unit.plml_mask;
	u64 hlimit = unit.phmlimit | (~unit.phm_mask & ((1ull << 39) - 1));

	if (!(unit.pmen & VTD_PMEN_PRS))
		return false;
	if (unit.plmlimit >= unit.plmbase && pa >= unit.plmbase && pa <= (u32)limit)
		return true;
	return unit.phmlimit >= unit.phmbase && pa >= unit.phmbase && pa <= hlimit;
}

static const u64 PHM_MASK_2M = ((1ull << 39) - 1) & ~(MiB(2) - 1);

static void test_protect_exact(void **state)
{
	struct dmar_range prot;

	(void)state;
	unit_reset(0xffe00000, PHM_MASK_2M);
	unit.phmlimit = PHM_MASK_2M; /* a high region over everything, left off */
	assert_null(dmar_protect(&dmar_unit, 0x10000000, 0x10400000, &prot));
	assert_int_equal(prot.base, 0x10000000);
	assert_int_equal(prot.end, 0x10400000);
	assert_int_equal(unit.plmbase, 0x10000000);
	assert_int_equal(unit.plmlimit, 0x10200000);
	assert_true(unit.pmen & VTD_PMEN_EPM);
	assert_true(blocks(0x10000000) && blocks(0x103fffff));
	assert_false(blocks(0x0fffffff) || blocks(0x10400000));
	/* the high region is off: nothing else is blocked */
	assert_true(unit.phmlimit < unit.phmbase);
	assert_false(blocks(0) || blocks(0x100000000ull) || blocks(0x7fffffffffull));
	assert_int_equal(unit.gcmd_writes, 0); /* translation was off */
}

/* A coarser alignment blocks more than asked: the result says how much. */
static void test_protect_rounds_out(void **state)
{
	struct dmar_range prot;

	(void)state;
	unit_reset(0xff000000, PHM_MASK_2M);
	assert_null(dmar_protect(&dmar_unit, 0x10200000, 0x10600000, &prot));
	assert_int_equal(prot.base, 0x10000000);
	assert_int_equal(prot.end, 0x11000000);
	assert_true(blocks(prot.base) && blocks(prot.end - 1));
	assert_false(blocks(prot.base - 1) || blocks(prot.end));

	/* base and limit of different alignments */
	unit_reset(0xfff00000, PHM_MASK_2M);
	unit.plml_mask = 0xffe00000;
	assert_null(dmar_protect(&dmar_unit, MiB(3), MiB(3) + KiB(512), &prot));
	assert_int_equal(prot.base, MiB(2));
	assert_int_equal(prot.end, MiB(4));
	assert_true(blocks(MiB(3)) && blocks(MiB(3) + KiB(511)));
	assert_true(unit.plmlimit >= unit.plmbase);

	/* up to 4 GiB */
	unit_reset(0xffe00000, PHM_MASK_2M);
	assert_null(dmar_protect(&dmar_unit, 0xffe00000, GiB(4), &prot));
	assert_int_equal(prot.end, GiB(4));
	assert_true(blocks(0xffffffff));
}

/* DMA remapping left on: turned off, other GCMD state kept, no one-shot
 * command repeated. */
static void test_protect_translation_on(void **state)
{
	struct dmar_range prot;

	(void)state;
	unit_reset(0xffe00000, PHM_MASK_2M);
	unit.gsts = VTD_GSTS_TES | BIT(30) | BIT(26); /* RTPS, QIES */
	assert_null(dmar_protect(&dmar_unit, 0x10000000, 0x10200000, &prot));
	assert_int_equal(unit.gcmd_writes, 1);
	assert_int_equal(unit.last_gcmd, BIT(26));
	assert_false(unit.gsts & VTD_GSTS_TES);
	assert_true(blocks(0x10000000));

	unit_reset(0xffe00000, PHM_MASK_2M);
	unit.gsts = VTD_GSTS_TES;
	unit.te_stuck = true;
	assert_non_null(dmar_protect(&dmar_unit, 0x10000000, 0x10200000, &prot));
	assert_true(udelays > 0 && udelays <= 100001);
}

/* Regions the firmware enabled are turned off before they are changed. */
static void test_protect_firmware_regions(void **state)
{
	struct dmar_range prot;

	(void)state;
	unit_reset(0xffe00000, PHM_MASK_2M);
	unit.plmbase = 0;
	unit.plmlimit = 0x00e00000;
	unit.pmen = VTD_PMEN_EPM | VTD_PMEN_PRS;
	assert_null(dmar_protect(&dmar_unit, 0x10000000, 0x10200000, &prot));
	assert_true(blocks(0x10000000));
	assert_false(blocks(0));
}

static void test_protect_refused(void **state)
{
	struct dmar_range prot;

	(void)state;
	unit_reset(0xffe00000, PHM_MASK_2M);
	unit.cap = VTD_CAP_PHMR; /* no low region */
	assert_non_null(dmar_protect(&dmar_unit, 0x10000000, 0x10200000, &prot));
	assert_int_equal(unit.region_writes, 0);

	unit_reset(0xffe00000, PHM_MASK_2M);
	assert_non_null(dmar_protect(&dmar_unit, GiB(4), GiB(4) + MiB(2), &prot));
	assert_int_equal(unit.region_writes, 0);

	unit_reset(0, PHM_MASK_2M); /* PLMBASE reads back nothing */
	assert_non_null(dmar_protect(&dmar_unit, 0x10000000, 0x10200000, &prot));
	assert_false(unit.pmen & VTD_PMEN_EPM);

	unit_reset(0xf0f00000, PHM_MASK_2M); /* holes in the implemented bits */
	assert_non_null(dmar_protect(&dmar_unit, 0x10000000, 0x10200000, &prot));

	unit_reset(0xffe00000, PHM_MASK_2M);
	unit.pmen_stuck = true;
	assert_non_null(dmar_protect(&dmar_unit, 0x10000000, 0x10200000, &prot));
	assert_true(udelays > 0 && udelays <= 100001);
}

/* Without the high region, its registers are left alone. */
static void test_protect_low_only(void **state)
{
	struct dmar_range prot;

	(void)state;
	unit_reset(0xffe00000, 0);
	unit.cap = VTD_CAP_PLMR;
	assert_null(dmar_protect(&dmar_unit, 0x10000000, 0x10200000, &prot));
	assert_true(blocks(0x10000000));
	assert_int_equal(unit.region_writes, 4); /* PLMBASE, PLMLIMIT twice each */
}

static void test_regs_size(void **state)
{
	struct dmar_unit u = dmar_unit;

	(void)state;
	unit_reset(0xffe00000, PHM_MASK_2M);
	unit.cap = (0x22ull << 24) | (7ull << 40); /* 8 fault records at 0x220 */
	unit.ecap = 0x50ull << 8;                  /* IOTLB registers at 0x500 */
	assert_int_equal(dmar_regs_size(&u), 0x1000);
	unit.cap = (0xf8ull << 24) | (15ull << 40); /* 16 at 0xf80: to 0x1080 */
	assert_int_equal(dmar_regs_size(&u), 0x2000);
	unit.cap = 0;
	unit.ecap = 0x100ull << 8;                  /* IOTLB at 0x1000 */
	assert_int_equal(dmar_regs_size(&u), 0x2000);
	u.regs_size = 0x4000;                       /* the DRHD says more */
	assert_int_equal(dmar_regs_size(&u), 0x4000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_typical),
		cmocka_unit_test(test_parse_truncated),
		cmocka_unit_test(test_parse_malformed),
		cmocka_unit_test(test_parse_garbage),
		cmocka_unit_test(test_hide),
		cmocka_unit_test(test_protect_exact),
		cmocka_unit_test(test_protect_rounds_out),
		cmocka_unit_test(test_protect_translation_on),
		cmocka_unit_test(test_protect_firmware_regions),
		cmocka_unit_test(test_protect_refused),
		cmocka_unit_test(test_protect_low_only),
		cmocka_unit_test(test_regs_size),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
