/* Intel VT-d (Intel Virtualization Technology for Directed I/O
 * Architecture Specification): the ACPI DMA Remapping Reporting table
 * (DMAR, chapter 8) and the remapping units' Protected Memory Regions
 * (chapter 11, "Protected Memory Enable Register" .. "Protected High-Memory
 * Limit Register"), which block every device's DMA to a range. */
#ifndef XMHF_DMAR_H
#define XMHF_DMAR_H

#include <xmhf/types.h>

/* DMAR table (8.1): header, Host Address Width, Flags, 10 reserved bytes,
 * then remapping structures {u16 type, u16 length, ...}. */
#define DMAR_HAW_OFFSET 36
#define DMAR_STRUCTS_OFFSET 48
#define DMAR_TYPE_DRHD 0         /* 8.3 DMA Remapping Hardware Unit Definition */
#define DMAR_TYPE_RMRR 1         /* 8.4 Reserved Memory Region Reporting */
#define DMAR_DRHD_LEN 16         /* up to the Register Base Address */
#define DMAR_RMRR_LEN 24         /* up to the Limit Address */
#define DMAR_DRHD_INCLUDE_PCI_ALL BIT(0)
#define DMAR_DRHD_SIZE_MASK 0xf  /* register set of 2^N 4 KiB pages */

/* Remapping unit registers (11.4) */
#define VTD_REG_CAP 0x08
#define VTD_REG_ECAP 0x10
#define VTD_REG_GCMD 0x18
#define VTD_REG_GSTS 0x1c
#define VTD_REG_PMEN 0x64
#define VTD_REG_PLMBASE 0x68
#define VTD_REG_PLMLIMIT 0x6c
#define VTD_REG_PHMBASE 0x70
#define VTD_REG_PHMLIMIT 0x78
#define VTD_CAP_PLMR BIT(5)
#define VTD_CAP_PHMR BIT(6)
#define VTD_CAP_FRO(cap) ((((cap) >> 24) & 0x3ff) * 16)  /* fault-recording registers' offset */
#define VTD_CAP_NFR(cap) ((((cap) >> 40) & 0xff) + 1)    /* how many, 16 bytes each */
#define VTD_ECAP_IRO(ecap) ((((ecap) >> 8) & 0x3ff) * 16) /* IOTLB registers' offset, 16 bytes */
#define VTD_GCMD_TE BIT(31)
#define VTD_GSTS_TES BIT(31)
/* GSTS bits of one-shot GCMD commands (SRTP, SFL, WBF, SIRTP): cleared when
 * GSTS is written back to GCMD to change one bit (11.4.4). */
#define VTD_GSTS_ONE_SHOT (BIT(30) | BIT(29) | BIT(27) | BIT(24))
#define VTD_PMEN_EPM BIT(31)
#define VTD_PMEN_PRS BIT(0)

#define DMAR_MAX_UNITS 16
#define DMAR_MAX_RMRRS 16

struct dmar_unit {
	hpa_t regs;          /* Register Base Address, 4 KiB aligned */
	u64 regs_size;       /* bytes, from the DRHD's Size field */
	u16 segment;         /* PCI segment */
	bool include_pci_all;
};

struct dmar_range {
	u64 base, end;       /* [base, end) */
};

struct dmar_info {
	u8 host_address_width;  /* HAW + 1 = DMA address bits */
	struct dmar_unit units[DMAR_MAX_UNITS];
	u32 n_units;
	struct dmar_range rmrrs[DMAR_MAX_RMRRS]; /* memory devices DMA to */
	u32 n_rmrrs;            /* RMRRs beyond DMAR_MAX_RMRRS are dropped */
};

/* Parse a DMAR table of 'len' bytes (its checksum already checked). Returns
 * NULL, or why the table cannot be used. */
const char *dmar_parse(const void *dmar, u64 len, struct dmar_info *out);
/* Make the table invisible to an OS: signature "XMAR", checksum kept valid
 * (as Xen does for dom0). */
void dmar_hide(void *dmar);
/* The unit's register set in bytes: the DRHD's size, or more where CAP and
 * ECAP place the fault-recording or IOTLB registers beyond it. */
u64 dmar_regs_size(const struct dmar_unit *u);
/* Block all DMA through unit u to [lo, hi) (lo < hi <= 4 GiB) with the
 * protected low-memory region, after turning translation off (with it on,
 * remapped requests may bypass the regions); the high region is disabled.
 * The hardware rounds the region out to its alignment: *prot gets what is
 * blocked, [prot->base, prot->end). Returns NULL, or why the unit cannot
 * protect the range (then its regions are as the firmware left them or
 * disabled). */
const char *dmar_protect(const struct dmar_unit *u, u64 lo, u64 hi, struct dmar_range *prot);

#endif
