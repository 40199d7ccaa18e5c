/* ACPI tables the hypervisor reads: RSDP -> RSDT/XSDT -> MADT (CPUs,
 * I/O APICs), FADT (PM timer, PM1 control, DSDT for \_S5) and MCFG (the
 * PCI Express configuration space's memory-mapped regions). The MP table
 * is never trusted. Physical memory is reached through a map function so
 * that the parsers run on fake memory in unit tests. */
#ifndef XMHF_ACPI_H
#define XMHF_ACPI_H

#include <xmhf/types.h>

/* Returns a pointer through which [pa, pa+len) can be read, or NULL. */
typedef const void *(*acpi_map_fn)(u64 pa, u64 len);

struct acpi_sdt_header {
	char signature[4];
	u32 length;
	u8 revision;
	u8 checksum;
	char oem_id[6];
	char oem_table_id[8];
	u32 oem_revision;
	u32 creator_id;
	u32 creator_revision;
} PACKED;

#define ACPI_MAX_CPUS 256
#define ACPI_MAX_IOAPICS 8

struct acpi_cpu {
	u32 apic_id;  /* xAPIC id (< 0xff) or x2APIC id */
	u32 uid;      /* ACPI processor UID */
	bool x2apic;  /* listed by a Processor Local x2APIC structure */
};

struct madt_info {
	u64 lapic_base;              /* after any Local APIC Address Override */
	struct acpi_cpu cpus[ACPI_MAX_CPUS];
	u32 n_cpus;                  /* enabled CPUs only, table order, no duplicate ids */
	u64 ioapic_base[ACPI_MAX_IOAPICS];
	u32 n_ioapics;
};

struct fadt_info {
	u64 dsdt;          /* X_DSDT if present and non-zero, else DSDT */
	u32 pm1a_cnt;      /* I/O port, 0 if absent */
	u32 pm1b_cnt;
	u32 pm_tmr;        /* I/O port, 0 if absent */
	bool pm_tmr_32bit; /* TMR_VAL_EXT */
};

/* Search the EBDA's first KiB and 0xE0000..0xFFFFF for a valid RSDP
 * (checksum; extended checksum for revision >= 2) that lies within the
 * searched area. Returns its address or 0. */
u64 acpi_find_rsdp(acpi_map_fn map);
/* Find a table by signature through the XSDT (revision >= 2 and non-zero
 * address) or the RSDT (also when the XSDT is invalid or lacks the table);
 * the table's checksum must be valid. Returns its physical address or 0. */
u64 acpi_find_table(u64 rsdp, const char sig[4], acpi_map_fn map);
/* Parse a MADT of 'len' bytes. Returns 0, or -1 if malformed. */
int acpi_parse_madt(const void *madt, u64 len, struct madt_info *out);
/* Parse a FADT of 'len' bytes. Returns 0, or -1 if malformed. */
int acpi_parse_fadt(const void *fadt, u64 len, struct fadt_info *out);
/* Find the \_S5 package in AML (DSDT or SSDT body) and return SLP_TYPa/b.
 * Returns 0, or -1 if not found. */
int acpi_find_s5(const u8 *aml, u64 len, u8 *slp_typa, u8 *slp_typb);

/* MCFG (PCI Firmware Specification 3.2 4.1.2): the ECAM regions, each a
 * segment's buses [bus_start, bus_end] at base + (bus << 20) (PCI Express
 * Base 6.0 7.2.2: a function's 4 KiB at bus << 20 | dev << 15 | fn << 12). */
#define MCFG_MAX_REGIONS 16

struct mcfg_region {
	u64 base;      /* the address of bus 0's space, 4 KiB aligned */
	u16 segment;
	u8 bus_start, bus_end;
};

struct mcfg_info {
	struct mcfg_region regions[MCFG_MAX_REGIONS];
	u32 n_regions; /* usable regions in table order; beyond MCFG_MAX_REGIONS dropped */
};

/* Parse an MCFG of 'len' bytes. Regions with a base that is 0 or not 4 KiB
 * aligned, bus_start > bus_end, or an end beyond 2^64 are skipped. Returns
 * 0, or -1 if malformed (length not a whole number of regions). */
int acpi_parse_mcfg(const void *mcfg, u64 len, struct mcfg_info *out);
/* The 4 KiB ECAM page of function bdf (bus << 8 | dev << 3 | fn) of
 * 'segment': in the first region that covers its bus; 0 if none does. */
u64 mcfg_function_page(const struct mcfg_info *m, u16 segment, u16 bdf);

/* PM1 control register (ACPI 6.5 Table 4.13) */
#define PM1_SLP_TYP_SHIFT 10
#define PM1_SLP_EN BIT(13)

#endif
