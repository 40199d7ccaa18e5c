/* See runtime/ecam_hide.h. Port I/O reaches segment 0 only, so the
 * function found by the PCI scan is segment 0's. */
#include <config.h>
#include <runtime/ecam_hide.h>
#include <runtime/ept01.h>
#include <runtime/panic.h>
#include <xmhf/log.h>
#include <xmhf/paging.h>
#include <xmhf/string.h>

void ecam_hide_function(u64 rsdp, acpi_map_fn map, u16 bdf)
{
	u64 mcfg_pa = acpi_find_table(rsdp, "MCFG", map);
	const struct acpi_sdt_header *h = mcfg_pa ? map(mcfg_pa, sizeof(*h)) : NULL;
	const void *table = h ? map(mcfg_pa, h->length) : NULL;
	struct mcfg_info mcfg;

	if (!mcfg_pa)
		return; /* no ECAM (e.g. Bochs' i440FX) */
	if (!table || acpi_parse_mcfg(table, h->length, &mcfg)) {
		pr_warn("xmhf: the ACPI MCFG is malformed: no ECAM page to hide");
		return;
	}
	u64 page = mcfg_function_page(&mcfg, 0, bdf);
	if (!page || page >= CONFIG_MEM) /* EPT01 maps nothing at or above --mem */
		return;
	if (!ept01_show_ones(l1_gpa(page)))
		panic("xmhf: cannot hide the ECAM page 0x%llx of PCI function %02x:%02x.%x", page, bdf >> 8,
		      (bdf >> 3) & 0x1f, bdf & 7);
	pr_info("xmhf: the ECAM page 0x%llx of PCI function %02x:%02x.%x reads as all ones for the guest", page,
		bdf >> 8, (bdf >> 3) & 0x1f, bdf & 7);
}

void ecam_hide_test_page(const struct cmdline *c)
{
	const char *v = cmdline_extra(c, "test_ecam_page");
	u64 page;

	if (!CONFIG_TEST_HYPERCALLS || !v)
		return;
	if (!parse_u64(v, strlen(v), &page) || !ept01_show_ones(l1_gpa(page))) {
		pr_warn("xmhf: test_ecam_page=%s: not a 4 KiB page the guest may have: ignored", v);
		return;
	}
	pr_info("xmhf: test_ecam_page=0x%llx: the page reads as all ones for the guest", page);
}
