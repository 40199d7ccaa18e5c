/* ACPI tables in test memory for the code that finds one table through
 * RSDP (revision 0) -> RSDT: fake_acpi_mem is the physical memory that
 * fake_acpi_map gives the parser. */
#ifndef FAKE_ACPI_H
#define FAKE_ACPI_H

#include "table_bytes.h"
#include <xmhf/acpi.h>

#define FAKE_ACPI_MEM_SIZE 0x100000ull
#define FAKE_ACPI_SDT_LEN ((u32)sizeof(struct acpi_sdt_header))

static u8 fake_acpi_mem[FAKE_ACPI_MEM_SIZE];

static inline const void *fake_acpi_map(u64 pa, u64 len)
{
	return pa < FAKE_ACPI_MEM_SIZE && len <= FAKE_ACPI_MEM_SIZE - pa ? fake_acpi_mem + pa : NULL;
}

/* The header of the table at pa: signature, length, revision 1, checksum
 * over len bytes (the body is written before). */
static inline void fake_acpi_sdt(u64 pa, const char *sig, u32 len)
{
	u8 *p = fake_acpi_mem + pa;
	memcpy(p, sig, 4);
	put32(p + 4, len);
	p[8] = 1;
	fix_checksum(p, len, 9);
}

/* RSDP at rsdp_pa -> RSDT at rsdt_pa, which lists the table at table_pa if
 * listed (else nothing). */
static inline void fake_acpi_root(u64 rsdp_pa, u64 rsdt_pa, u64 table_pa, bool listed)
{
	u8 *rsdp = fake_acpi_mem + rsdp_pa;
	put32(fake_acpi_mem + rsdt_pa + FAKE_ACPI_SDT_LEN, (u32)table_pa);
	fake_acpi_sdt(rsdt_pa, "RSDT", FAKE_ACPI_SDT_LEN + (listed ? 4 : 0));
	memcpy(rsdp, "RSD PTR ", 8);
	put32(rsdp + 16, (u32)rsdt_pa);
	fix_checksum(rsdp, 20, 8);
}

#endif
