/* VT-d DMAR table parsing and Protected Memory Region programming (see
 * xmhf/dmar.h). Multi-byte table fields are read with memcpy (the table is
 * byte-packed); registers with aligned 32-bit accesses (VT-d spec 10.2). */
#include <xmhf/acpi.h>
#include <xmhf/cpu.h>
#include <xmhf/dmar.h>
#include <xmhf/paging.h>
#include <xmhf/power.h>
#include <xmhf/string.h>

#define POLL_US 10
#define POLL_TIMEOUT_US 1000000

static u16 rd16(const u8 *p) { u16 v; memcpy(&v, p, sizeof(v)); return v; }
static u32 rd32(const u8 *p) { u32 v; memcpy(&v, p, sizeof(v)); return v; }
static u64 rd64(const u8 *p) { u64 v; memcpy(&v, p, sizeof(v)); return v; }

static const char *parse_drhd(const u8 *s, struct dmar_info *out)
{
	struct dmar_unit *u = &out->units[out->n_units];
	u64 regs = rd64(s + 8);

	if (out->n_units == DMAR_MAX_UNITS)
		return "more remapping units than the hypervisor handles";
	if (!regs || !IS_ALIGNED(regs, PAGE_SIZE))
		return "a remapping unit's register base is 0 or not 4 KiB aligned";
	u->regs = hpa(regs);
	u->regs_size = PAGE_SIZE << (s[5] & DMAR_DRHD_SIZE_MASK);
	u->segment = rd16(s + 6);
	u->include_pci_all = s[4] & DMAR_DRHD_INCLUDE_PCI_ALL;
	out->n_units++;
	return NULL;
}

static void parse_rmrr(const u8 *s, struct dmar_info *out)
{
	u64 base = rd64(s + 8), limit = rd64(s + 16);

	if (limit >= base && out->n_rmrrs < DMAR_MAX_RMRRS)
		out->rmrrs[out->n_rmrrs++] = (struct dmar_range){ base, limit + 1 };
}

const char *dmar_parse(const void *dmar, u64 len, struct dmar_info *out)
{
	const u8 *p = dmar;
	u64 table_len;

	memset(out, 0, sizeof(*out));
	if (len < DMAR_STRUCTS_OFFSET || memcmp(p, "DMAR", 4))
		return "not a DMAR table";
	table_len = rd32(p + 4);
	if (table_len < DMAR_STRUCTS_OFFSET || table_len > len)
		return "the DMAR table's length is wrong";
	out->host_address_width = p[DMAR_HAW_OFFSET] + 1;
	for (u64 off = DMAR_STRUCTS_OFFSET; off < table_len;) {
		const u8 *s = p + off;
		u16 type, slen;
		const char *err = NULL;

		if (table_len - off < 4)
			return "a DMAR structure is truncated";
		type = rd16(s);
		slen = rd16(s + 2);
		if (slen < 4 || slen > table_len - off ||
		    (type == DMAR_TYPE_DRHD && slen < DMAR_DRHD_LEN) ||
		    (type == DMAR_TYPE_RMRR && slen < DMAR_RMRR_LEN))
			return "a DMAR structure has a wrong length";
		if (type == DMAR_TYPE_DRHD)
			err = parse_drhd(s, out);
		else if (type == DMAR_TYPE_RMRR)
			parse_rmrr(s, out);
		if (err)
			return err;
		off += slen;
	}
	return out->n_units ? NULL : "the DMAR table lists no remapping unit";
}

void dmar_hide(void *dmar)
{
	struct acpi_sdt_header *h = dmar;

	/* ACPI 6.5 5.2.6: all bytes sum to 0; the checksum absorbs the change */
	h->checksum = (u8)(h->checksum + h->signature[0] - 'X');
	h->signature[0] = 'X';
}

static u32 reg_read32(const struct dmar_unit *u, u32 reg) { return mmio_read32(u->regs.v + reg); }
static void reg_write32(const struct dmar_unit *u, u32 reg, u32 v) { mmio_write32(u->regs.v + reg, v); }

static u64 reg_read64(const struct dmar_unit *u, u32 reg)
{
	return reg_read32(u, reg) | (u64)reg_read32(u, reg + 4) << 32;
}

static void reg_write64(const struct dmar_unit *u, u32 reg, u64 v)
{
	reg_write32(u, reg, (u32)v);
	reg_write32(u, reg + 4, (u32)(v >> 32));
}

u64 dmar_regs_size(const struct dmar_unit *u)
{
	u64 cap = reg_read64(u, VTD_REG_CAP), ecap = reg_read64(u, VTD_REG_ECAP);
	u64 fault_end = VTD_CAP_FRO(cap) + VTD_CAP_NFR(cap) * 16;
	u64 iotlb_end = VTD_ECAP_IRO(ecap) + 16;
	u64 size = u->regs_size;

	if (fault_end > size)
		size = fault_end;
	if (iotlb_end > size)
		size = iotlb_end;
	return ALIGN_UP(size, PAGE_SIZE);
}

/* Wait until (reg & bit) == want; false on timeout. */
static bool wait_reg(const struct dmar_unit *u, u32 reg, u32 bit, u32 want)
{
	for (u32 t = 0; t <= POLL_TIMEOUT_US; t += POLL_US) {
		if ((reg_read32(u, reg) & bit) == want)
			return true;
		udelay(POLL_US);
	}
	return false;
}

/* A base or limit register's alignment: written with all ones, it reads
 * back ones in its implemented bits only, bits N+1 and up (to 31, or to the
 * host address width). Returns 2^(N+1), or 0 if that is not what it reads. */
static u64 reg_granule(const struct dmar_unit *u, u32 reg, bool wide)
{
	u64 v;

	if (wide) {
		reg_write64(u, reg, ~0ull);
		v = reg_read64(u, reg);
	} else {
		reg_write32(u, reg, ~0u);
		v = reg_read32(u, reg);
	}
	u64 granule = v & -v;
	return v && !((v + granule) & v) ? granule : 0; /* one run of ones */
}

const char *dmar_protect(const struct dmar_unit *u, u64 lo, u64 hi, struct dmar_range *prot)
{
	u64 cap = reg_read64(u, VTD_REG_CAP);

	if (!(cap & VTD_CAP_PLMR))
		return "no protected low-memory region (CAP.PLMR = 0)";
	if (!(lo < hi && hi <= GiB(4)))
		return "the range is not below 4 GiB";
	u32 gsts = reg_read32(u, VTD_REG_GSTS);
	if (gsts & VTD_GSTS_TES) {
		reg_write32(u, VTD_REG_GCMD, (gsts & ~VTD_GSTS_ONE_SHOT) & ~VTD_GCMD_TE);
		if (!wait_reg(u, VTD_REG_GSTS, VTD_GSTS_TES, 0))
			return "DMA remapping does not turn off (GSTS.TES stays 1)";
	}
	/* the region registers must not change while PRS is set */
	reg_write32(u, VTD_REG_PMEN, 0);
	if (!wait_reg(u, VTD_REG_PMEN, VTD_PMEN_PRS, 0))
		return "the firmware's protected regions do not turn off (PMEN.PRS stays 1)";
	u64 base_g = reg_granule(u, VTD_REG_PLMBASE, false), limit_g = reg_granule(u, VTD_REG_PLMLIMIT, false);
	if (!base_g || !limit_g)
		return "PLMBASE/PLMLIMIT read back no usable alignment";
	/* a base aligned to both granules is never above the limit */
	u32 base = (u32)ALIGN_DOWN(lo, base_g > limit_g ? base_g : limit_g);
	u32 limit = (u32)ALIGN_DOWN(hi - 1, limit_g);
	reg_write32(u, VTD_REG_PLMBASE, base);
	reg_write32(u, VTD_REG_PLMLIMIT, limit);
	if (cap & VTD_CAP_PHMR) {
		/* a limit below the base disables the high region */
		u64 high_g = reg_granule(u, VTD_REG_PHMBASE, true);
		if (!high_g)
			return "PHMBASE reads back no usable alignment";
		reg_write64(u, VTD_REG_PHMBASE, high_g);
		reg_write64(u, VTD_REG_PHMLIMIT, 0);
	}
	if (reg_read32(u, VTD_REG_PLMBASE) != base || reg_read32(u, VTD_REG_PLMLIMIT) != limit)
		return "PLMBASE/PLMLIMIT do not keep the values written";
	reg_write32(u, VTD_REG_PMEN, VTD_PMEN_EPM);
	if (!wait_reg(u, VTD_REG_PMEN, VTD_PMEN_PRS, VTD_PMEN_PRS))
		return "the protected regions do not turn on (PMEN.PRS stays 0)";
	*prot = (struct dmar_range){ base, (u64)limit + limit_g };
	return NULL;
}
